"""The inputs and weights of every check, built the same way in the kernel and in the grader.

Everything here is a pure function of a check's arguments (sizes, options, a seed), so the grader can rebuild
exactly what the learner's code was given without trusting anything the kernel says about it. The kernel
imports this module (sandbox/kernel_side.py), so it holds inputs and weights only, never a reference answer.
"""

from __future__ import annotations

import math

import torch
from torch.nn.utils.rnn import pack_padded_sequence


def randn(*shape: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=generator, dtype=torch.float64)


def rnn_weights(input_size, hidden_size, *, num_layers=1, bias=True, bidirectional=False, seed=0) -> dict:
    """nn.RNN's parameters by name, in its order, drawn from U(-1/sqrt(H), 1/sqrt(H)) in float64."""
    generator = torch.Generator().manual_seed(seed)
    bound = 1.0 / math.sqrt(hidden_size)
    directions = 2 if bidirectional else 1
    weights = {}
    for layer in range(num_layers):
        layer_input = input_size if layer == 0 else hidden_size * directions
        for suffix in ["", "_reverse"][:directions]:
            shapes = {
                f"weight_ih_l{layer}{suffix}": (hidden_size, layer_input),
                f"weight_hh_l{layer}{suffix}": (hidden_size, hidden_size),
            }
            if bias:
                shapes[f"bias_ih_l{layer}{suffix}"] = (hidden_size,)
                shapes[f"bias_hh_l{layer}{suffix}"] = (hidden_size,)
            for name, shape in shapes.items():
                weight = torch.empty(shape, dtype=torch.float64)
                weights[name] = weight.uniform_(-bound, bound, generator=generator)  # (H, in) or (H,)
    return weights


CHECKS = {  # what a test cell calls -> the kind of check it is
    "check_rnn_cell": "rnn_cell",
    "check_rnn_forward": "rnn_forward",
    "check_parameters": "parameters",
    "check_myrnn": "myrnn",
    "check_packed": "packed",
}
PARAMETER_SEED = 2024  # the parameters check builds MyRNN under torch.manual_seed(PARAMETER_SEED + k)
PARAMETER_SAMPLE = 1000  # it builds MyRNN again until it has drawn at least this many values
PARAMETER_BUILDS = 100  # but never more often than this
MAX_PARAMETER_NUMBERS = 20_000  # values sent per check at most; the assignment's checks send under 1,200


def parameter_shapes(kw: dict) -> dict:
    """nn.RNN's parameter shapes by name, in its order, for a check's arguments."""
    options = {key: kw[key] for key in ("num_layers", "bias", "bidirectional") if key in kw}
    weights = rnn_weights(kw.get("input_size", 3), kw.get("hidden_size", 4), **options)
    return {name: list(weight.shape) for name, weight in weights.items()}


def parameter_seeds(kw: dict) -> list[int]:
    """The seeds the parameters check builds MyRNN under: enough builds for PARAMETER_SAMPLE values."""
    per_build = sum(math.prod(shape) for shape in parameter_shapes(kw).values())
    builds = min(PARAMETER_BUILDS, max(1, math.ceil(PARAMETER_SAMPLE / max(per_build, 1))))
    first = PARAMETER_SEED + 1000 * kw.get("seed", 0)
    return list(range(first, first + builds))


def describe(kind: str, kw: dict) -> str:
    """How messages name a check: `rnn_cell (relu, bias=True)`, `MyRNN(3, 4, num_layers=2)`, ..."""
    if kind == "rnn_cell":
        return f"rnn_cell ({kw.get('nonlinearity', 'tanh')}, bias={kw.get('bias', True)})"
    if kind == "rnn_forward":
        return (
            f"rnn_forward ({kw.get('nonlinearity', 'tanh')}, bias={kw.get('bias', True)}, "
            f"h0={'given' if kw.get('with_h0', True) else 'None'})"
        )
    options = ", ".join(f"{key}={value!r}" for key, value in module_options(kw).items())
    if kind == "packed":
        return f"MyRNN({options}) on a PackedSequence with lengths {list(kw.get('lengths', (2, 1, 3)))}"
    sizes = f"{kw.get('input_size', 3)}, {kw.get('hidden_size', 4)}"
    return f"MyRNN({sizes}{', ' + options if options else ''}){' unbatched' if kw.get('unbatched') else ''}"


def module_options(options: dict) -> dict:
    """The nn.RNN constructor options among a check's arguments."""
    keys = ("num_layers", "nonlinearity", "bias", "batch_first", "bidirectional")
    return {key: options[key] for key in keys if key in options}


def cell_case(*, input_size=3, hidden_size=4, batch=2, nonlinearity="tanh", bias=True, seed=0) -> dict:
    """One step: x (B, H_in), h (B, H) and one layer's four weights (biases None without bias)."""
    weights = rnn_weights(input_size, hidden_size, bias=bias, seed=seed)
    return {
        "x": randn(batch, input_size, seed=seed + 1),  # (B, H_in)
        "h": randn(batch, hidden_size, seed=seed + 2),  # (B, H)
        "weights": [
            weights.get(name) for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
        ],
        "nonlinearity": nonlinearity,
    }


def forward_case(
    *, input_size=3, hidden_size=4, seq_len=5, batch=2, nonlinearity="tanh", bias=True, with_h0=True, seed=0
) -> dict:
    """A sequence: x (L, B, H_in), h0 (B, H) or None, and one layer's weights."""
    case = cell_case(
        input_size=input_size,
        hidden_size=hidden_size,
        batch=batch,
        nonlinearity=nonlinearity,
        bias=bias,
        seed=seed,
    )
    case["x"] = randn(seq_len, batch, input_size, seed=seed + 1)  # (L, B, H_in)
    case["h"] = case["h"] if with_h0 else None  # (B, H) or None
    return case


def _initial_state(options, batch, hidden_size, seed):
    """A seeded h0 for nn.RNN(**options): (D*layers, B, H), or (D*layers, H) when batch is None."""
    rows = options.get("num_layers", 1) * (2 if options.get("bidirectional") else 1)  # D*layers
    shape = (rows, hidden_size) if batch is None else (rows, batch, hidden_size)
    return randn(*shape, seed=seed + 2)  # (D*layers, H) or (D*layers, B, H)


def module_case(
    *, input_size=3, hidden_size=4, seq_len=5, batch=2, unbatched=False, with_h0=False, seed=0, **options
) -> dict:
    """A whole module: its weights, an input (L, B, H_in) / (B, L, H_in) / (L, H_in) and an h0 or None."""
    if unbatched:
        x = randn(seq_len, input_size, seed=seed + 1)  # (L, H_in)
    else:
        shape = (batch, seq_len) if options.get("batch_first") else (seq_len, batch)
        x = randn(*shape, input_size, seed=seed + 1)  # (L, B, H_in) or (B, L, H_in)
    return {
        "weights": _module_weights(input_size, hidden_size, seed, options),
        "input": x,
        "hx": _initial_state(options, None if unbatched else batch, hidden_size, seed) if with_h0 else None,
    }


def packed_case(
    *, lengths=(2, 1, 3), input_size=3, hidden_size=4, enforce_sorted=False, with_h0=False, seed=0, **options
) -> dict:
    """A module on a PackedSequence of `lengths` (padded to the longest, then packed)."""
    batch_first = options.get("batch_first", False)
    batch, longest = len(lengths), max(lengths)
    shape = (batch, longest) if batch_first else (longest, batch)
    padded = randn(*shape, input_size, seed=seed + 1)  # (B, L, H_in) or (L, B, H_in)
    packed = pack_padded_sequence(
        padded, torch.tensor(lengths), batch_first=batch_first, enforce_sorted=enforce_sorted
    )
    return {
        "weights": _module_weights(input_size, hidden_size, seed, options),
        "input": packed,
        "hx": _initial_state(options, batch, hidden_size, seed) if with_h0 else None,  # (D*layers, B, H)
    }


def _module_weights(input_size, hidden_size, seed, options) -> dict:
    return rnn_weights(
        input_size,
        hidden_size,
        num_layers=options.get("num_layers", 1),
        bias=options.get("bias", True),
        bidirectional=options.get("bidirectional", False),
        seed=seed,
    )


def random_configs(count: int, seed: int, *, packed=False):
    """Fixed-seed random nn.RNN configurations for the hidden tests."""
    generator = torch.Generator().manual_seed(seed)

    def pick(choices):
        return choices[int(torch.randint(len(choices), (1,), generator=generator))]

    for index in range(count):
        config = {
            "input_size": pick([1, 2, 5]),
            "hidden_size": pick([1, 3, 6]),
            "num_layers": pick([1, 2, 3]),
            "nonlinearity": pick(["tanh", "relu"]),
            "bias": pick([True, False]),
            "batch_first": pick([True, False]),
            "bidirectional": pick([True, False]),
            "with_h0": pick([True, False]),
            "seed": seed * 100 + index,
        }
        if packed:
            config["lengths"] = tuple(pick([[4, 2, 3], [1], [3, 3, 1, 2], [5, 1]]))
            config["enforce_sorted"] = sorted(config["lengths"], reverse=True) == list(
                config["lengths"]
            ) and pick([True, False])
        else:
            config["unbatched"] = pick([True, False, False])
            config["seq_len"] = pick([1, 4, 7])
            config["batch"] = pick([1, 3])
        yield config
