"""A tiny RNN trained in seconds to remember the sign of its first input through a stretch of noise."""

from dataclasses import dataclass

import torch
import torch.nn as nn
from tqdm.auto import tqdm

from rnn_course.threads import one_thread


def memory_batch(batch: int, steps: int, noise: float, generator: torch.Generator):
    """x (T, B, 1): a +-1 cue at t=0, then noise; y (B,): 1.0 when the cue was +1."""
    cue = torch.randint(0, 2, (batch,), generator=generator).float()  # (B,)
    x = noise * torch.randn(steps, batch, 1, generator=generator)  # (T, B, 1)
    x[0, :, 0] = 2 * cue - 1
    return x, cue


@dataclass
class MemoryModel:
    """The trained recurrent layer, its linear read-out and the training curve."""

    rnn: nn.RNN
    readout: nn.Linear
    losses: list[float]

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Probability that the cue was +1, shape (B,), from x (T, B, 1)."""
        with torch.no_grad():
            _, h_n = self.rnn(x)  # (1, B, H)
            return torch.sigmoid(self.readout(h_n[-1])).squeeze(-1)  # (B,)

    def accuracy(self, batch: int = 512, steps: int = 20, noise: float = 0.3, seed: int = 1) -> float:
        x, y = memory_batch(batch, steps, noise, torch.Generator().manual_seed(seed))
        return ((self.predict(x) > 0.5).float() == y).float().mean().item()


def train_memory_task(
    hidden_size: int = 16,
    steps: int = 20,
    iterations: int = 200,
    batch: int = 64,
    noise: float = 0.3,
    seed: int = 0,
    progress: bool = True,
) -> MemoryModel:
    """Train nn.RNN + Linear with Adam to recall the cue after `steps` steps; about a second on a CPU."""
    if not (1 <= hidden_size <= 64 and 2 <= steps <= 100 and 1 <= iterations <= 2000 and 1 <= batch <= 512):
        raise ValueError("keep hidden_size <= 64, steps in [2, 100], iterations <= 2000 and batch <= 512")
    with one_thread():  # the model is tiny: more threads only add waiting, badly so on a busy machine
        return _train(hidden_size, steps, iterations, batch, noise, seed, progress)


def _train(hidden_size, steps, iterations, batch, noise, seed, progress) -> MemoryModel:
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    rnn = nn.RNN(1, hidden_size)
    with torch.no_grad():
        nn.init.orthogonal_(
            rnn.weight_hh_l0
        )  # spectral radius 1: the cue neither fades nor blows up at first
    readout = nn.Linear(hidden_size, 1)
    parameters = [*rnn.parameters(), *readout.parameters()]
    optimizer = torch.optim.Adam(parameters, lr=1e-2)
    losses = []
    bar = tqdm(range(iterations), desc="training", disable=not progress)
    for iteration in bar:
        # Curriculum: short gaps first, the full gap from half-way; without it training often misses the cue.
        length = min(steps, 3 + steps * iteration // max(1, iterations // 2))
        x, y = memory_batch(batch, length, noise, generator)  # (T, B, 1), (B,)
        _, h_n = rnn(x)  # (1, B, H)
        logits = readout(h_n[-1]).squeeze(-1)  # (B,)
        loss = nn.functional.binary_cross_entropy_with_logits(logits, y)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(parameters, 1.0)  # one exploding step must not wreck the weights
        optimizer.step()
        losses.append(loss.item())
        if len(losses) % 25 == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}")
    return MemoryModel(rnn, readout, losses)
