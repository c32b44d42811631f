"""Lesson 3's memory task with nn.RNN, nn.LSTM or nn.GRU swapped in, compared fairly: the same budget for
every model, a stated start for each, several seeds."""

import json
from importlib import resources

import torch
import torch.nn as nn

from rnn_course.memory_task import memory_batch
from rnn_course.threads import one_thread

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
KEEP_GATE_BIAS = 2.0
# The two starts compared, said in words. "default" is PyTorch's own; "good" is the usual help for each kind.
STARTS = {
    ("rnn", "default"): "PyTorch's default",
    ("rnn", "good"): "orthogonal W_hh",
    ("lstm", "default"): "PyTorch's default",
    ("lstm", "good"): f"forget-gate bias {KEEP_GATE_BIAS:g}",
    ("gru", "default"): "PyTorch's default",
    ("gru", "good"): f"update-gate bias {KEEP_GATE_BIAS:g}",
}
CACHE = "data/memory_compare.json"  # compare()'s results, made by `python -m rnn_course.recall`


def make_cell(kind: str, hidden_size: int, start: str = "default") -> nn.Module:
    """A one-layer recurrent module with input_size 1, started as `start` says (see STARTS).

    PyTorch stacks the gates in the biases: LSTM [input, forget, cell, output], GRU [reset, update, new].
    Both keep the old state more when their second gate is high, so "good" sets that gate's bias.
    """
    if kind not in CELLS:
        raise ValueError(f"kind must be one of {sorted(CELLS)}, not {kind!r}")
    if start not in ("default", "good"):
        raise ValueError(f"start must be 'default' or 'good', not {start!r}")
    module = CELLS[kind](1, hidden_size)
    if start == "good":
        H = hidden_size
        with torch.no_grad():
            if kind == "rnn":
                nn.init.orthogonal_(module.weight_hh_l0)  # (H, H), every singular value 1
            else:
                module.bias_ih_l0[H : 2 * H].fill_(KEEP_GATE_BIAS)  # (H,), the keep gate's slice
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
    start: str = "default",
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
    module = make_cell(kind, hidden_size, start)
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


def compare(steps: int = 50, seeds=(0, 1, 2, 3, 4), **options) -> dict[str, list[float]]:
    """Test accuracy per seed for every kind and start: 'rnn/default' -> [one accuracy per seed], ..."""
    return {
        f"{kind}/{start}": [train_recall(kind, steps, start, seed=seed, **options) for seed in seeds]
        for kind, start in STARTS
    }


def cached_comparison() -> dict:
    """The lesson's comparison as `compare()` computed it: {'steps', 'seeds', 'accuracy'}."""
    return json.loads(resources.files("rnn_course").joinpath(CACHE).read_text(encoding="utf-8"))


def cue_gradient(kind: str, start: str, steps: int, seeds=(0, 1, 2), hidden_size: int = 16) -> float:
    """How much an untrained model's final state depends on the cue: mean |d sum(h_T) / d x_0|."""
    sizes = []
    for seed in seeds:
        torch.manual_seed(seed)
        module = make_cell(kind, hidden_size, start)
        x, _ = memory_batch(64, steps, 0.3, torch.Generator().manual_seed(seed))  # (T, B, 1)
        x.requires_grad_(True)
        (grad,) = torch.autograd.grad(final_state(module, x).sum(), x)  # (T, B, 1)
        sizes.append(grad[0].abs().mean().item())
    return sum(sizes) / len(sizes)


if __name__ == "__main__":  # rebuild the cache the lesson reads (a few minutes on a CPU)
    result = {"steps": 50, "seeds": [0, 1, 2, 3, 4]}
    result["accuracy"] = compare(result["steps"], result["seeds"])
    print(json.dumps(result, indent=1))
