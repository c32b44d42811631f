"""PyTorch's own RNN, switched off inside a grading sandbox.

The assignment asks for an RNN written from scratch, so while a submission is graded every RNN kernel of
PyTorch (`nn.RNN`, `nn.RNNCell`, `nn.LSTM`, `nn.GRU`, `torch.rnn_tanh`, `torch.ops.aten.*`, TorchScript,
quantized and fused variants) raises `ForbiddenRNN`. The switch is made in PyTorch's operator dispatcher,
which every thread of the process shares: a thread started before the tests, or a reference to an op saved
early, reaches the same raising kernel. Building an `nn.RNN` (to borrow its parameters) is refused as well,
at the Python level. The handle that holds the override is leaked on purpose, so no
Python object can undo it. The sandbox also loads this module into every other Python that imports torch
(see sandbox.py), so a subprocess meets the same wall.
"""

from __future__ import annotations

import ctypes

import torch

MARKER = "PyTorch's RNN kernels are switched off while grading"
# Every aten op that runs a whole RNN, one of its cells, or a fused piece of one.
OPS = (
    "rnn_tanh",
    "rnn_relu",
    "rnn_tanh_cell",
    "rnn_relu_cell",
    "lstm",
    "lstm_cell",
    "gru",
    "gru_cell",
    "quantized_lstm",
    "quantized_gru",
    "quantized_lstm_cell",
    "quantized_gru_cell",
    "quantized_rnn_tanh_cell",
    "quantized_rnn_relu_cell",
    "_thnn_fused_lstm_cell",
    "_thnn_fused_gru_cell",
    "mkldnn_rnn_layer",
    "_cudnn_rnn",
    "miopen_rnn",
    "_lstm_mps",
)
KEYS = (
    "CompositeImplicitAutograd",
    "CompositeExplicitAutograd",
    "CPU",
    "CUDA",
    "AutogradCPU",
    "AutogradCUDA",
)


class ForbiddenRNN(RuntimeError):
    """Raised by every PyTorch RNN kernel inside the grading sandbox."""


def _refuse(*args, **kwargs):
    raise ForbiddenRNN(f"{MARKER}: write the recurrence yourself (nn.RNN, nn.RNNCell, LSTM and GRU included)")


def _overloads(name: str) -> list[str]:
    packet = getattr(torch.ops.aten, name, None)
    if packet is None:
        return []
    return [name if overload == "default" else f"{name}.{overload}" for overload in packet.overloads()]


def switch_off_rnn_kernels() -> int:
    """Replace every RNN kernel with one that raises; returns how many were replaced. Cannot be undone."""
    handle = torch._C._dispatch_library("IMPL", "aten", "", __file__, 0)
    count = 0
    for name in OPS:
        for overload in _overloads(name):
            for key in KEYS:
                if torch._C._dispatch_has_kernel_for_dispatch_key(f"aten::{overload}", key):
                    handle.impl(overload, key, _refuse, False)
                    count += 1
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(handle))  # never freed: nothing can deregister the override
    for base in (torch.nn.RNNBase, torch.nn.RNNCellBase):  # building one (for its parameters) is refused too
        base.__init__ = _refuse
    return count
