"""Run a real nn.RNN for one configuration and report every tensor's shape, or PyTorch's own error."""

from dataclasses import dataclass

import torch
import torch.nn as nn

# Every knob is bounded, so no configuration can use much memory or time.
LIMITS = {
    "input_size": (1, 16),
    "feature_size": (1, 16),
    "hidden_size": (1, 16),
    "num_layers": (1, 4),
    "batch": (1, 8),
    "seq_len": (1, 20),
}
INPUT_KINDS = ("batched 3-D", "unbatched 2-D", "4-D (invalid)")
H0_KINDS = ("none (zeros)", "matching", "one layer too many (invalid)")


@dataclass(frozen=True)
class ShapeConfig:
    """One setting of the shape explorer; defaults are a small valid batched RNN."""

    input_size: int = 8
    hidden_size: int = 4
    num_layers: int = 1
    bidirectional: bool = False
    batch_first: bool = False
    nonlinearity: str = "tanh"
    input_kind: str = "batched 3-D"
    batch: int = 3
    seq_len: int = 5
    feature_size: int = 8
    h0_kind: str = "none (zeros)"

    def check(self) -> None:
        """Raise ValueError for a value outside the explorer's bounds (not an nn.RNN error)."""
        for name, (low, high) in LIMITS.items():
            value = getattr(self, name)
            if not low <= value <= high:
                raise ValueError(f"{name}={value} is outside [{low}, {high}]")
        if self.nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', not {self.nonlinearity!r}")
        if self.input_kind not in INPUT_KINDS:
            raise ValueError(f"input_kind must be one of {INPUT_KINDS}")
        if self.h0_kind not in H0_KINDS:
            raise ValueError(f"h0_kind must be one of {H0_KINDS}")


@dataclass
class ShapeReport:
    """What the explorer shows: shapes and axis names of each tensor, or the error and why."""

    shapes: dict  # name -> tuple of ints, e.g. {"output": (5, 3, 8)}
    axes: dict  # name -> tuple of axis meanings, same length as the shape
    error: str | None = None
    explanation: str | None = None


def _input_axes(c: ShapeConfig) -> tuple:
    if c.input_kind == "unbatched 2-D":
        return ("L", "H_in")
    if c.input_kind == "4-D (invalid)":
        return ("?", "L", "N", "H_in")
    return ("N", "L", "H_in") if c.batch_first else ("L", "N", "H_in")


def _input_shape(c: ShapeConfig) -> tuple:
    sizes = {"L": c.seq_len, "N": c.batch, "H_in": c.feature_size, "?": 2}
    return tuple(sizes[a] for a in _input_axes(c))


def _h0_shape(c: ShapeConfig) -> tuple | None:
    """h0 is (D*num_layers, N, H) whatever batch_first says; (D*num_layers, H) for unbatched input."""
    if c.h0_kind == "none (zeros)":
        return None
    D = 2 if c.bidirectional else 1
    layers = c.num_layers + (1 if c.h0_kind.startswith("one layer too many") else 0)
    first = D * layers  # a layer is D rows of h0: one per direction
    if c.input_kind == "unbatched 2-D":
        return (first, c.hidden_size)
    return (first, c.batch, c.hidden_size)


def explain(error: str) -> str:
    """One line that says why PyTorch refused, keyed on its own message."""
    if "must be equal to input_size" in error:
        return (
            "The input's last axis is the feature size H_in and must equal input_size "
            "(input_size is not the sequence length)."
        )
    if "Expected input to be 2D or 3D" in error:
        return (
            "nn.RNN takes (L, H_in) unbatched or (L, N, H_in) batched input ((N, L, H_in) with "
            "batch_first=True); there is no room for a 4th axis."
        )
    if "Expected hidden size" in error or "hx should also be" in error:
        return (
            "h0 must be (D*num_layers, N, H), or (D*num_layers, H) for unbatched input, "
            "whatever batch_first says."
        )
    return "nn.RNN rejects this combination of settings."


def shape_report(c: ShapeConfig) -> ShapeReport:
    """Build the nn.RNN, run it on zeros of the configured shape and collect shapes or the error."""
    c.check()
    torch.manual_seed(0)
    rnn = nn.RNN(
        c.input_size,
        c.hidden_size,
        num_layers=c.num_layers,
        nonlinearity=c.nonlinearity,
        batch_first=c.batch_first,
        bidirectional=c.bidirectional,
    )
    x = torch.zeros(_input_shape(c))  # (L, N, H_in), (N, L, H_in), (L, H_in) or a 4-D mistake
    h0_shape = _h0_shape(c)
    h0 = None if h0_shape is None else torch.zeros(h0_shape)  # (D*num_layers, N, H)
    shapes, axes = {"input": tuple(x.shape)}, {"input": _input_axes(c)}
    if h0 is not None:
        shapes["h0"] = tuple(h0.shape)
        axes["h0"] = ("D*num_layers", "H") if h0.dim() == 2 else ("D*num_layers", "N", "H")
    try:
        with torch.no_grad():
            output, h_n = rnn(x, h0)  # (L, N, D*H) and (D*num_layers, N, H)
    except (RuntimeError, ValueError) as err:
        return ShapeReport(shapes, axes, error=str(err), explanation=explain(str(err)))
    unbatched = c.input_kind == "unbatched 2-D"
    shapes["output"] = tuple(output.shape)
    if unbatched:
        axes["output"] = ("L", "D*H")
    else:
        axes["output"] = ("N", "L", "D*H") if c.batch_first else ("L", "N", "D*H")
    shapes["h_n"] = tuple(h_n.shape)
    axes["h_n"] = ("D*num_layers", "H") if unbatched else ("D*num_layers", "N", "H")
    return ShapeReport(shapes, axes)
