"""Hidden states of a one-layer nn.RNN over time, and how much h_T depends on each earlier h_t."""

import math

import numpy as np
import torch
import torch.nn as nn

SIGNALS = ("sine", "step", "impulse", "noise")


def make_signal(kind: str, steps: int, seed: int = 0) -> torch.Tensor:
    """A 1-D test input, shape (steps,); the same kind and seed always give the same signal."""
    t = torch.arange(steps, dtype=torch.float32)  # (T,)
    if kind == "sine":
        return torch.sin(2 * torch.pi * t / 25)  # (T,)
    if kind == "step":
        return (t >= steps // 4).float()  # (T,)
    if kind == "impulse":
        return (t == 0).float()  # (T,)
    if kind == "noise":
        generator = torch.Generator().manual_seed(seed)
        return torch.randn(steps, generator=generator)  # (T,)
    raise ValueError(f"signal must be one of {SIGNALS}, not {kind!r}")


def spectral_radius(weight: torch.Tensor) -> float:
    """Largest absolute eigenvalue of a square matrix such as W_hh."""
    return torch.linalg.eigvals(weight.detach().double()).abs().max().item()


def make_rnn(
    hidden_size: int,
    nonlinearity: str = "tanh",
    radius: float | None = None,
    input_size: int = 1,
    seed: int = 0,
    bias: bool = True,
) -> nn.RNN:
    """A one-layer nn.RNN with reproducible weights; W_hh rescaled to spectral radius `radius` if given."""
    torch.manual_seed(seed)
    rnn = nn.RNN(input_size, hidden_size, nonlinearity=nonlinearity, bias=bias)
    if radius is not None:
        set_radius(rnn, rnn.weight_hh_l0.detach().clone(), radius)
    return rnn


def set_radius(
    rnn: nn.RNN, base_weight: torch.Tensor, radius: float, base_radius: float | None = None
) -> None:
    """Set W_hh to `base_weight` scaled to spectral radius `radius`; `base_radius` is its own, if known."""
    base_radius = spectral_radius(base_weight) if base_radius is None else base_radius
    with torch.no_grad():
        rnn.weight_hh_l0.copy_(base_weight * (radius / base_radius))  # (H, H)


def with_nonlinearity(rnn: nn.RNN, nonlinearity: str) -> nn.RNN:
    """The same weights under another nonlinearity (nn.RNN fixes its nonlinearity at construction)."""
    if rnn.nonlinearity == nonlinearity:
        return rnn
    twin = nn.RNN(
        rnn.input_size,
        rnn.hidden_size,
        num_layers=rnn.num_layers,
        nonlinearity=nonlinearity,
        bias=rnn.bias,
        bidirectional=rnn.bidirectional,
    )
    twin.load_state_dict(rnn.state_dict())
    return twin


def check_single_layer(rnn: nn.RNN) -> None:
    """The explorer follows one unidirectional layer; say so plainly for anything else."""
    if not isinstance(rnn, nn.RNN) or rnn.num_layers != 1 or rnn.bidirectional or rnn.batch_first:
        raise ValueError(
            "the hidden-state explorer needs a one-layer, unidirectional nn.RNN with batch_first=False"
        )


def hidden_states(rnn: nn.RNN, signal: torch.Tensor) -> torch.Tensor:
    """Run `rnn` on a 1-D signal (T,) fed to input feature 0; return every h_t, shape (T, H)."""
    check_single_layer(rnn)
    T = signal.shape[0]
    x = torch.zeros(T, rnn.input_size, dtype=rnn.weight_hh_l0.dtype)  # (T, H_in), unbatched
    x[:, 0] = signal
    with torch.no_grad():
        output, h_n = rnn(x)  # (T, H), (1, H)
    return output


def check_finite(states: torch.Tensor) -> None:
    """Raise OverflowError at the first h_t, or ||h_t||, that float32 cannot hold; states (T, H)."""
    finite = torch.isfinite(states).all(dim=1) & torch.isfinite(states.norm(dim=1))  # (T,)
    if bool(finite.all()):
        return
    t = int((~finite).nonzero()[0])
    shown = ", ".join(f"{v:.3g}" for v in states[t, :4].tolist())  # (4,)
    raise OverflowError(
        f"nn.RNN returned h_{t} = [{shown}, ...], ||h_{t}|| = {states[t].norm().item():.3g}: from t = {t} on "
        f"the hidden state does not fit in float32 (largest value {torch.finfo(states.dtype).max:.3g})."
    )


def gradient_norms(rnn: nn.RNN, states: torch.Tensor) -> torch.Tensor:
    """Frobenius norm of dh_T/dh_t for every t, shape (T,), from the chain of step Jacobians.

    h_t = f(a_t) with a_t = x_t W_ih^T + h_{t-1} W_hh^T + b, so dh_t/dh_{t-1} = diag(f'(a_t)) W_hh.
    The running product is renormalised each step and its size kept as a log, so tiny or huge values neither
    underflow (denormals are very slow) nor overflow.
    """
    W = rnn.weight_hh_l0.detach().double().numpy()  # (H, H)
    h = states.detach().double().numpy()  # (T, H)
    slope = 1 - h**2 if rnn.nonlinearity == "tanh" else (h > 0).astype(np.float64)  # (T, H), f'(a_t)
    steps = slope[:, :, None] * W  # (T, H, H): dh_t/dh_{t-1} for every t, in one go
    T, H = h.shape
    log_norms = np.empty(T)  # (T,), log ||dh_T/dh_t||
    direction = np.eye(H) / math.sqrt(H)  # (H, H), dh_T/dh_t divided by its norm (||I||_F = sqrt(H))
    log_size = 0.5 * math.log(H)
    log_norms[T - 1] = log_size
    for t in range(T - 1, 0, -1):  # numpy: on 32x32 matrices its per-call cost is a third of torch's
        direction = direction @ steps[t]  # (H, H)
        size = math.sqrt(float(np.vdot(direction, direction)))  # Frobenius norm
        if size == 0.0:  # every path is cut (relu units all off): no gradient reaches earlier steps
            log_norms[:t] = -math.inf
            break
        direction /= size
        log_size += math.log(size)
        log_norms[t - 1] = log_size
    return torch.from_numpy(np.exp(log_norms))  # (T,)
