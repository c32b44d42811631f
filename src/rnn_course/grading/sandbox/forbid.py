"""PyTorch's own RNN, switched off inside a grading sandbox.

The assignment asks for an RNN written from scratch, so while a submission is graded every RNN kernel of
PyTorch (`nn.RNN`, `nn.RNNCell`, `nn.LSTM`, `nn.GRU`, `torch.rnn_tanh`, `torch.ops.aten.*`, TorchScript,
quantized and fused variants) raises `ForbiddenRNN`. The switch is made in PyTorch's operator dispatcher,
which every thread of the process shares: a thread started before the tests, or a reference to an op saved
early, reaches the same raising kernel. PyTorch's RNN written in Python (the decompositions in
`torch._decomp`, which `OpOverload.decompose()` and the Python dispatcher run) is replaced by the same
refusal, so a second copy of `torch/nn/modules/rnn.py` finds no way to compute. Building an `nn.RNN` (to
borrow its parameters), or unpickling one, is refused as well, at the Python level. The handle that holds the
override is leaked on purpose, so no Python object can undo it. Every Python in the sandbox that imports
torch loads this module too (site_hook.py); a graded kernel cannot start another Python anyway.
"""

from __future__ import annotations

import ctypes

import torch
import torch._decomp
import torch._decomp.decompositions
from torch._C import DispatchKey

from rnn_course.grading import _compat

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


def _is_rnn_function(name: str) -> bool:
    return any(word in name.lower() for word in ("rnn", "lstm", "gru"))


def _switch_off_python_rnn() -> int:
    """PyTorch's RNN in Python: the decompositions, their table entries and their dispatcher kernels."""
    count = 0
    for name in OPS:
        packet = getattr(torch.ops.aten, name, None)
        for overload in () if packet is None else packet.overloads():
            op = getattr(packet, overload)
            kernels = _compat.python_kernels(op)
            for key in list(kernels) + [DispatchKey.CompositeImplicitAutograd, DispatchKey.Autograd]:
                kernels[key] = _refuse  # what decompose() and the Python dispatcher run
                count += 1
            _compat.clear_dispatch_cache(op)
            for table in _compat.decomposition_tables():
                table.pop(op, None)
    module = torch._decomp.decompositions
    for name in dir(module):
        if _is_rnn_function(name) and callable(getattr(module, name)):
            setattr(module, name, _refuse)
            count += 1
    return count


def switch_off_rnn_kernels() -> int:
    """Replace every RNN kernel with one that raises; returns how many were replaced. Cannot be undone."""
    if torch.nn.RNNBase.__init__ is _refuse:
        return 0  # already off in this process
    handle = _compat.dispatch_library(__file__)
    count = 0
    for name in OPS:
        for overload in _overloads(name):
            for key in KEYS:
                if _compat.has_kernel(f"aten::{overload}", key):
                    handle.impl(overload, key, _refuse, False)
                    count += 1
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(handle))  # never freed: nothing can deregister the override
    count += _switch_off_python_rnn()
    for base in (torch.nn.RNNBase, torch.nn.RNNCellBase):  # building one (for its parameters) is refused too
        base.__init__ = _refuse
        base.__setstate__ = _refuse  # and so is unpickling one
    return count
