"""Lesson 3's memory task with nn.RNN, nn.LSTM or nn.GRU swapped in: how far back does each recall the cue?"""

import torch
import torch.nn as nn

from rnn_course.memory_task import memory_batch
from rnn_course.threads import one_thread

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def make_cell(kind: str, hidden_size: int, keep_gate_bias: float = 2.0) -> nn.Module:
    """A one-layer recurrent module with input_size 1; an LSTM's forget or a GRU's update gate starts open.

    PyTorch stacks the gates in the biases: LSTM [input, forget, cell, output], GRU [reset, update, new].
    Both keep the old state more when their second gate is high, so its bias is set to `keep_gate_bias`.
    """
    if kind not in CELLS:
        raise ValueError(f"kind must be one of {sorted(CELLS)}, not {kind!r}")
    module = CELLS[kind](1, hidden_size)
    if kind != "rnn":
        H = hidden_size
        with torch.no_grad():
            module.bias_ih_l0[H : 2 * H].fill_(keep_gate_bias)  # (H,), the keep gate's slice
            module.bias_hh_l0[H : 2 * H].zero_()  # (H,)
    return module


def final_state(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The top layer's last hidden state (N, H): LSTM returns (h_n, c_n) where RNN and GRU return h_n."""
    _, state = module(x)
    h_n = state[0] if isinstance(module, nn.LSTM) else state  # (num_layers, N, H)
    return h_n[-1]  # (N, H)


def train_recall(
    kind: str,
    steps: int,
    iterations: int = 200,
    hidden_size: int = 16,
    batch: int = 64,
    noise: float = 0.3,
    seed: int = 0,
) -> float:
    """Train `kind` on sequences of `steps` steps (Adam, clipping, no curriculum); return test accuracy."""
    if not (2 <= steps <= 200 and 1 <= iterations <= 2000 and 1 <= hidden_size <= 64):
        raise ValueError("keep steps in [2, 200], iterations <= 2000 and hidden_size <= 64")
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    module = make_cell(kind, hidden_size)
    readout = nn.Linear(hidden_size, 1)
    parameters = [*module.parameters(), *readout.parameters()]
    optimizer = torch.optim.Adam(parameters, lr=1e-2)
    with one_thread():
        for _ in range(iterations):
            x, y = memory_batch(batch, steps, noise, generator)  # (T, B, 1), (B,)
            logits = readout(final_state(module, x)).squeeze(-1)  # (B,)
            loss = nn.functional.binary_cross_entropy_with_logits(logits, y)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(parameters, 1.0)
            optimizer.step()
        x, y = memory_batch(512, steps, noise, torch.Generator().manual_seed(seed + 1))  # held-out draws
        with torch.no_grad():
            guess = readout(final_state(module, x)).squeeze(-1) > 0  # (512,)
    return (guess.float() == y).float().mean().item()


def memory_reach(kinds=("rnn", "lstm", "gru"), lengths=(10, 30, 50), **options) -> dict[str, list[float]]:
    """Test accuracy for every kind and sequence length, each model trained from scratch the same way."""
    return {kind: [train_recall(kind, steps, **options) for steps in lengths] for kind in kinds}
