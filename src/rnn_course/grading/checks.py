"""Helpers that the assignment's test cells import.

The locked setup cell imports this module before any learner code runs, so the originals of everything the
tests rely on (torch.allclose, torch.testing, numpy, builtins, IPython's error display, this module itself)
are captured here at import time. Every check then:

1. verifies that none of them was replaced (`verify_integrity`),
2. runs the learner's code under a guard that forbids PyTorch's own RNN (`forbid_torch_rnn`),
3. builds a real `nn.RNN` with the same weights and compares in float64, using the captured originals.

This is a best effort inside one Python process: it stops the shortcuts a learner is likely to try, and the
grader adds two checks outside the kernel (see `rnn_course.grading.preprocessors`).
"""

from __future__ import annotations

import builtins
import itertools
import math
import operator
import os
import sys
import threading
import types

import numpy
import numpy.testing
import torch
import torch.testing
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence
from torch.overrides import TorchFunctionMode

TOLERANCE = 1e-9  # float64 against float64: a correct loop agrees to ~1e-15


class GradingError(AssertionError):
    """A check failed: the message tells the learner what differs."""


class IntegrityError(GradingError):
    """Something the tests rely on was replaced or patched."""


class ForbiddenCall(GradingError):
    """The learner's code used PyTorch's own RNN."""


# ----------------------------------------------------------------------------------------------------
# Originals, captured at import time (the locked setup cell runs before any learner code).

_WATCHED = (
    # (label, root object, attribute path)
    *[
        ("torch", torch, name)
        for name in (
            "allclose", "isclose", "equal", "testing", "tensor",  # comparisons
            "randn", "randint", "Generator", "float64", "no_grad",  # what makes the test inputs
        )
    ],
    *[("torch.testing", torch.testing, name) for name in ("assert_close", "assert_allclose")],
    *[
        ("torch.Tensor", torch.Tensor, name)
        for name in (
            "__eq__",
            "__sub__",
            "abs",
            "max",
            "item",
            "double",
            "allclose",
            "equal",
            "size",
            "__bool__",
        )
    ],
    *[("torch.nn", nn, name) for name in ("RNN", "RNNBase", "Module", "Parameter")],
    *[("torch.nn.RNN", nn.RNN, name) for name in ("forward", "__init__")],
    *[("torch.nn.RNNBase", nn.RNNBase, name) for name in ("forward", "__init__", "flatten_parameters")],
    *[("torch.nn.Module", nn.Module, name) for name in ("__call__", "_call_impl", "load_state_dict")],
    *[("torch._VF", torch._VF, name) for name in ("rnn_tanh", "rnn_relu")],
    ("torch.nn.utils.rnn", torch.nn.utils.rnn, "pack_padded_sequence"),
    *[("numpy", numpy, name) for name in ("allclose", "isclose", "array_equal", "testing", "ndarray")],
    *[("numpy.testing", numpy.testing, name) for name in ("assert_allclose", "assert_array_equal")],
    *[
        ("builtins", builtins, name)
        for name in (
            "isinstance",
            "issubclass",
            "type",
            "len",
            "abs",
            "all",
            "any",
            "min",
            "max",
            "sum",
            "float",
            "int",
            "bool",
            "range",
            "zip",
            "enumerate",
            "getattr",
            "setattr",
            "hasattr",
            "print",
            "repr",
            "str",
            "tuple",
            "list",
            "dict",
            "set",
            "sorted",
            "round",
            "id",
            "iter",
            "next",
            "callable",
            "compile",
            "exec",
            "eval",
            "__import__",
            "super",
            "object",
            "AssertionError",
            "Exception",
            "BaseException",
        )
    ],
    *[("sys", sys, name) for name in ("excepthook", "displayhook", "stdout", "stderr", "exit")],
)

# The parts of IPython that decide whether a failing test shows as an error.
_IPYTHON_HOOKS = (
    "showtraceback",
    "_showtraceback",
    "showsyntaxerror",
    "run_cell",
    "run_cell_async",
    "_run_cell",
    "run_ast_nodes",
    "run_code",
    "transform_cell",
    "should_run_async",
    "set_custom_exc",
    "CustomTB",
    "custom_exceptions",
    "displayhook",
    "display_pub",
    "excepthook",
    "ask_exit",
    "kernel",
)
_KERNEL_HOOKS = ("do_execute", "execute_request", "send_response", "_publish_execute_input")


def _unwrap(value):
    """Bound methods are new objects on every access; compare the function underneath."""
    return getattr(value, "__func__", value)


def _read(root, name):
    try:
        return _unwrap(getattr(root, name))
    except Exception as error:  # a deleted attribute counts as tampering, not as a crash of the check
        return ("missing", type(error).__name__)


def _shell():
    get = getattr(builtins, "get_ipython", None)
    return get() if get is not None else None


def _shell_state(shell):
    if shell is None:
        return {}
    state = {f"IPython.{name}": _read(shell, name) for name in _IPYTHON_HOOKS}
    kernel = getattr(shell, "kernel", None)
    if kernel is not None:
        state.update({f"kernel.{name}": _read(kernel, name) for name in _KERNEL_HOOKS})
    state["IPython.input_transformers_post"] = tuple(map(id, shell.input_transformers_post))
    state["IPython.input_transformers_cleanup"] = tuple(map(id, shell.input_transformers_cleanup))
    state["IPython.ast_transformers"] = tuple(map(id, shell.ast_transformers))
    state["IPython.custom_exceptions"] = tuple(shell.custom_exceptions)
    return state


_ORIGINAL_VALUES = types.MappingProxyType(
    {f"{label}.{name}": _read(root, name) for label, root, name in _WATCHED}
)
_ORIGINAL_SHELL = _shell()
_ORIGINAL_SHELL_STATE = types.MappingProxyType(_shell_state(_ORIGINAL_SHELL))



def _end_kernel_now(change) -> None:
    """`exit()` stops an IPython kernel 0.1 s later, racing the next cells; end it at once instead."""
    if change["new"]:
        os._exit(0)


if _ORIGINAL_SHELL is not None and hasattr(_ORIGINAL_SHELL, "observe"):
    _ORIGINAL_SHELL.observe(_end_kernel_now, names="exit_now")

# The originals the checks themselves use, whatever the learner does to the public names later.
_allclose = torch.allclose
_manual_seed = torch.manual_seed
_rnn_forward = nn.RNN.forward
_equal = torch.equal
_isinstance = builtins.isinstance
_type = builtins.type
_tensor_type = torch.Tensor
_float64 = torch.float64


def _namespace_entry(label: str, root) -> tuple:
    """(label, live namespace, its snapshot, and the snapshot's stable names and values as two tuples)."""
    original = types.MappingProxyType(dict(vars(root)))
    stable = [(name, value) for name, value in original.items() if f"{label}.{name}" not in _VOLATILE]
    return label, vars(root), original, tuple(name for name, _ in stable), tuple(value for _, value in stable)


# Rebound by PyTorch itself: set_default_dtype swaps torch.Storage, importing torch._dynamo wraps manual_seed.
_VOLATILE = frozenset({"torch.Storage", "torch.manual_seed"})

# Whole namespaces the comparisons and the reference run through: any name rebound in them is noticed.
_NAMESPACES = tuple(
    _namespace_entry(label, root)
    for label, root in (
        ("torch", torch),
        ("torch.Tensor", torch.Tensor),
        ("torch._C.TensorBase", torch._C.TensorBase),
        ("torch.testing", torch.testing),
        ("torch.nn", nn),
        ("torch.nn.functional", nn.functional),
        ("torch.nn.utils.rnn", torch.nn.utils.rnn),
        ("torch.nn.Module", nn.Module),
        ("torch.nn.RNNBase", nn.RNNBase),
        ("torch.nn.RNN", nn.RNN),
        ("numpy", numpy),
        ("numpy.testing", numpy.testing),
    )
)
_GONE = object()
_any, _map, _repeat, _is_not = any, map, itertools.repeat, operator.is_not


def _namespace_changes() -> list[str]:
    """Every rebound or deleted name; a namespace whose stable names all hold their old values is skipped
    after one pass in C (the check runs a few hundred times per notebook)."""
    changed = [
        f"{label}.{name}"
        for label, namespace, original, names, values in _NAMESPACES
        if _any(_map(_is_not, _map(namespace.get, names, _repeat(_GONE)), values))  # in C: no change, fast
        for name, value in original.items()
        if namespace.get(name, _GONE) is not value
    ]
    return [name for name in changed if name not in _VOLATILE]


def _changed() -> list[str]:
    """Names of everything that no longer is what it was at import time."""
    changed = [key for key, value in _current_values().items() if not _same(value, _ORIGINAL_VALUES[key])]
    changed += _namespace_changes()
    shell_now = _shell_state(_ORIGINAL_SHELL)
    changed += [key for key, value in _ORIGINAL_SHELL_STATE.items() if shell_now.get(key) != value]
    if _ORIGINAL_SHELL is not None and _shell() is not _ORIGINAL_SHELL:
        changed.append("get_ipython")
    changed += _module_changes()
    return changed


def _same(now, then) -> bool:
    return now is then or (_type(now) is tuple and _type(then) is tuple and now == then)


def _current_values():
    return {f"{label}.{name}": _read(root, name) for label, root, name in _WATCHED}


def verify_integrity() -> None:
    """Raise IntegrityError if anything the tests rely on was replaced since the setup cell ran."""
    changed = _changed()
    if changed:
        raise IntegrityError(
            "the grading environment was modified, so no test in this notebook can be trusted: "
            + ", ".join(sorted(changed)[:8])
        )


# ----------------------------------------------------------------------------------------------------
# The guard: no nn.RNN and no RNN kernel may run inside the learner's code.

FORBIDDEN_OPS = frozenset(
    {
        "rnn_tanh",
        "rnn_relu",
        "rnn_tanh_cell",
        "rnn_relu_cell",
        "lstm",
        "lstm_cell",
        "gru",
        "gru_cell",
        "quantized_rnn_tanh_cell",
        "quantized_rnn_relu_cell",
        "quantized_lstm_cell",
        "quantized_gru_cell",
        "_thnn_fused_lstm_cell",
        "_thnn_fused_gru_cell",
        "mkldnn_rnn_layer",
        "mkldnn_rnn",
        "_cudnn_rnn",
        "miopen_rnn",
        "_use_cudnn_rnn_flatten_weight",
    }
)
# Python files whose code must not run inside the learner's function (nn.RNN's forward, TorchScript).
FORBIDDEN_FILES = ("torch/nn/modules/rnn.py", "torch/jit/", "torch/ao/nn/quantized/")


class _ForbidRnnOps(TorchFunctionMode):
    """Sees every torch function call, even through references captured before the guard started."""

    def __init__(self, found: list[str]):
        super().__init__()
        self.found = found

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = str(getattr(func, "__name__", "")).split(".")[0]  # torch.ops overloads: "rnn_tanh.input"
        if name in FORBIDDEN_OPS:
            self.found.append(f"torch.{name}")
            raise ForbiddenCall(f"torch.{name} is PyTorch's own RNN kernel; write the recurrence yourself")
        return func(*args, **(kwargs or {}))


_FINDINGS: list[str] = []  # what the profile hook saw during the current guarded call (any thread)
_FORBIDDEN_FILENAMES: dict[str, str] = {}  # a code object's file name -> how findings name it ("" if allowed)


def _is_forbidden_file(filename: str) -> str:
    """How a finding names `filename` if code from it may not run in the learner's function, else ""."""
    filename = str.replace(filename, "\\", "/")
    if any(part in filename for part in FORBIDDEN_FILES):
        return filename.split("site-packages/")[-1]
    return ""


def _profile(frame, event, arg):
    """A sys.setprofile hook: flags Python frames of nn.RNN / TorchScript and C calls of RNN kernels.

    One function for every thread and every call: a thread started during an earlier call keeps this hook
    and still reports into the current call's findings.
    """
    if event == "call":
        filename = frame.f_code.co_filename
        if _type(filename) is not str:  # only plain strings are trusted as dictionary keys
            forbidden = _is_forbidden_file(filename)
        else:
            forbidden = _FORBIDDEN_FILENAMES.get(filename)
            if forbidden is None:  # the first call from this file: decide once, then one dict lookup
                forbidden = _FORBIDDEN_FILENAMES[filename] = _is_forbidden_file(filename)
        if forbidden:
            _FINDINGS.append(f"{forbidden}:{frame.f_code.co_name}")
    elif event == "c_call" and str(getattr(arg, "__name__", "")).split(".")[0] in FORBIDDEN_OPS:
        _FINDINGS.append(f"torch.{arg.__name__}")


def call_guarded(function, *args, _protect=(), **kwargs):
    """Call the learner's function; fail if it used nn.RNN or an RNN kernel, even if it caught the error,
    or if it changed any of the grader's tensors in `_protect` (the reference's weights and inputs)."""
    verify_integrity()
    protected = [(tensor, tensor.detach().clone()) for tensor in _protect]
    _FINDINGS.clear()
    _FORBIDDEN_FILENAMES.clear()  # decided afresh in every call: nothing the learner ran before counts
    found: list[str] = []
    previous_profile, previous_thread_profile = sys.getprofile(), threading.getprofile()
    sys.setprofile(_profile)
    threading.setprofile(_profile)
    try:
        with _ForbidRnnOps(found):
            result = function(*args, **kwargs)
        profile_after = sys.getprofile()
    finally:
        sys.setprofile(previous_profile)
        threading.setprofile(previous_thread_profile)
    found += _FINDINGS
    _FINDINGS.clear()
    if found:
        raise ForbiddenCall(
            f"{getattr(function, '__qualname__', function)} used PyTorch's own RNN "
            f"({', '.join(sorted(set(found)))}); this part must be written from scratch"
        )
    if profile_after is not _profile:
        raise IntegrityError("the learner's code replaced the interpreter's profile hook while it ran")
    if not all(_equal(tensor.detach(), copy) for tensor, copy in protected):
        raise IntegrityError("the learner's code changed the grader's reference weights or inputs")
    verify_integrity()
    return result


# ----------------------------------------------------------------------------------------------------
# Comparisons in float64, with the originals.


def expect_tensor(actual, expected: torch.Tensor, what: str) -> None:
    """`actual` must be a plain tensor with `expected`'s shape and values (float64, atol 1e-9)."""
    if _type(actual) is not _tensor_type:
        raise GradingError(f"{what}: expected a torch.Tensor, got {_type(actual).__name__}")
    if tuple(actual.shape) != tuple(expected.shape):
        raise GradingError(f"{what}: expected shape {tuple(expected.shape)}, got {tuple(actual.shape)}")
    if actual.dtype != _float64:
        raise GradingError(f"{what}: expected dtype torch.float64 (the input's dtype), got {actual.dtype}")
    actual, expected = actual.detach(), expected.detach()
    if not _allclose(actual, expected, rtol=0.0, atol=TOLERANCE):
        worst = (actual - expected).abs().max().item()
        raise GradingError(f"{what}: values differ from nn.RNN's by up to {worst:.3g}")


def expect_packed(actual, expected: PackedSequence, what: str) -> None:
    """A PackedSequence equal to `expected`: same data, batch_sizes and index permutations."""
    if _type(actual) is not PackedSequence:
        raise GradingError(f"{what}: expected a PackedSequence, got {_type(actual).__name__}")
    expect_tensor(actual.data, expected.data, f"{what}.data")
    for field in ("batch_sizes", "sorted_indices", "unsorted_indices"):
        mine, theirs = getattr(actual, field), getattr(expected, field)
        if (mine is None) != (theirs is None) or (
            theirs is not None and (_type(mine) is not _tensor_type or mine.tolist() != theirs.tolist())
        ):
            raise GradingError(f"{what}.{field}: expected {theirs}, got {mine}")


# ----------------------------------------------------------------------------------------------------
# Reference nn.RNN and random configurations.


def _run_reference(reference: nn.RNN, input, hx):
    """nn.RNN's own forward, called directly: no module hooks (global or not) and no instance overrides."""
    if [id(weight) for weight in reference._flat_weights] != [id(p) for p in reference.parameters()]:
        raise IntegrityError("the reference nn.RNN does not compute with its own parameters")
    return _rnn_forward(reference, input, hx)


def reference_rnn(input_size, hidden_size, seed=0, **options) -> nn.RNN:
    """A real nn.RNN in float64 with seeded weights."""
    _manual_seed(seed)
    reference = nn.RNN(input_size, hidden_size, dtype=_float64, **options)
    asked = {
        "mode": "RNN_RELU" if options.get("nonlinearity") == "relu" else "RNN_TANH",
        "input_size": input_size,
        "hidden_size": hidden_size,
        "num_layers": options.get("num_layers", 1),
        "bias": options.get("bias", True),
        "batch_first": options.get("batch_first", False),
        "bidirectional": options.get("bidirectional", False),
    }
    built = {key: getattr(reference, key, None) for key in asked}
    if _type(reference) is not nn.RNN or built != asked:
        raise IntegrityError("the reference nn.RNN was not built as asked")
    return reference


def _randn(*shape, seed):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=generator, dtype=_float64)


def check_rnn_cell(rnn_cell, *, input_size=3, hidden_size=4, batch=2, nonlinearity="tanh", bias=True, seed=0):
    """rnn_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity) == one step of nn.RNN."""
    reference = reference_rnn(input_size, hidden_size, seed, nonlinearity=nonlinearity, bias=bias)
    x = _randn(batch, input_size, seed=seed + 1)  # (B, H_in)
    h = _randn(batch, hidden_size, seed=seed + 2)  # (B, H)
    weights = [p.detach().clone() for p in reference.parameters()]
    if not bias:
        weights += [None, None]
    protect = [x, h, *reference.parameters()]
    actual = call_guarded(
        rnn_cell, x.clone(), h.clone(), *weights, nonlinearity=nonlinearity, _protect=protect
    )
    with torch.no_grad():
        _, expected = _run_reference(reference, x.unsqueeze(0), h.unsqueeze(0))  # (1, B, H)
    expect_tensor(actual, expected[0], f"rnn_cell ({nonlinearity}, bias={bias})")


def check_rnn_forward(
    rnn_forward,
    *,
    input_size=3,
    hidden_size=4,
    seq_len=5,
    batch=2,
    nonlinearity="tanh",
    bias=True,
    with_h0=True,
    seed=0,
):
    """rnn_forward(x, h0, weights..., nonlinearity) == a one-layer nn.RNN: output (L, B, H) and h_n (B, H)."""
    reference = reference_rnn(input_size, hidden_size, seed, nonlinearity=nonlinearity, bias=bias)
    x = _randn(seq_len, batch, input_size, seed=seed + 1)  # (L, B, H_in)
    h0 = _randn(batch, hidden_size, seed=seed + 2) if with_h0 else None  # (B, H)
    weights = [p.detach().clone() for p in reference.parameters()]
    if not bias:
        weights += [None, None]
    protect = [x, *([] if h0 is None else [h0]), *reference.parameters()]
    result = call_guarded(
        rnn_forward, x.clone(), None if h0 is None else h0.clone(), *weights, nonlinearity=nonlinearity,
        _protect=protect,
    )
    with torch.no_grad():
        output, h_n = _run_reference(reference, x, None if h0 is None else h0.unsqueeze(0))  # (1, B, H)
    what = f"rnn_forward ({nonlinearity}, bias={bias}, h0={'given' if with_h0 else 'None'})"
    _expect_pair(result, what)
    expect_tensor(result[0], output, f"{what} output")
    expect_tensor(result[1], h_n[0], f"{what} h_n")


def _expect_pair(result, what):
    if _type(result) not in (tuple, list) or len(result) != 2:
        raise GradingError(f"{what}: expected a pair (output, h_n), got {_type(result).__name__}")


def _build_pair(MyRNN, input_size, hidden_size, seed, options):
    """The learner's module with the reference's weights loaded through load_state_dict."""
    if _isinstance(MyRNN, type) and issubclass(MyRNN, nn.RNNBase):
        raise ForbiddenCall("MyRNN subclasses PyTorch's RNN; write it from scratch as an nn.Module")
    reference = reference_rnn(input_size, hidden_size, seed, **options)
    mine = call_guarded(MyRNN, input_size, hidden_size, **options)
    if not _isinstance(mine, nn.Module) or _isinstance(mine, nn.RNNBase):
        raise ForbiddenCall("MyRNN must be an nn.Module written from scratch, not an nn.RNN")
    expect_same_parameters(mine, reference)
    call_guarded(mine.double)
    state = {name: tensor.clone() for name, tensor in reference.state_dict().items()}
    call_guarded(mine.load_state_dict, state, _protect=list(reference.parameters()))
    call_guarded(mine.eval)
    reference.eval()
    return mine, reference


def expect_same_parameters(mine: nn.Module, reference: nn.RNN) -> None:
    """Same parameter names and shapes as nn.RNN, so that load_state_dict works both ways."""
    ours = {name: tuple(p.shape) for name, p in mine.named_parameters()}
    theirs = {name: tuple(p.shape) for name, p in reference.named_parameters()}
    if ours != theirs:
        missing = sorted(set(theirs) - set(ours))
        extra = sorted(set(ours) - set(theirs))
        wrong = sorted(name for name in set(ours) & set(theirs) if ours[name] != theirs[name])
        raise GradingError(
            f"parameters differ from nn.RNN's: missing {missing}, unexpected {extra}, "
            f"wrong shape {[(n, ours[n], theirs[n]) for n in wrong]}"
        )


def check_parameters(MyRNN, *, input_size=3, hidden_size=4, seed=0, **options):
    """Names, shapes and U(-1/sqrt(H), 1/sqrt(H)) initialisation of MyRNN's parameters."""
    reference = reference_rnn(input_size, hidden_size, seed, **options)
    mine = call_guarded(MyRNN, input_size, hidden_size, **options)
    if not _isinstance(mine, nn.Module) or _isinstance(mine, nn.RNNBase):
        raise ForbiddenCall("MyRNN must be an nn.Module written from scratch, not an nn.RNN")
    expect_same_parameters(mine, reference)
    bound = 1.0 / math.sqrt(hidden_size)
    largest = 0.0
    for name, parameter in mine.named_parameters():
        if _type(parameter) is not nn.Parameter:
            raise GradingError(f"{name} must be an nn.Parameter")
        largest = max(largest, parameter.abs().max().item())
        if largest > bound:
            raise GradingError(f"{name} is not initialised from U(-{bound:.3g}, {bound:.3g}) like nn.RNN")
    if largest < bound / 2:
        raise GradingError(f"the parameters look unset: initialise them from U(-{bound:.3g}, {bound:.3g})")
    mine.load_state_dict(reference.state_dict())  # must not raise


def _initial_state(options, batch, hidden_size, seed):
    """A seeded h0 for nn.RNN(**options): (D*layers, B, H), or (D*layers, H) when batch is None."""
    rows = options.get("num_layers", 1) * (2 if options.get("bidirectional") else 1)  # D*layers
    shape = (rows, hidden_size) if batch is None else (rows, batch, hidden_size)
    return _randn(*shape, seed=seed + 2)  # (D*layers, H) or (D*layers, B, H)


def check_myrnn(
    MyRNN,
    *,
    input_size=3,
    hidden_size=4,
    seq_len=5,
    batch=2,
    unbatched=False,
    with_h0=False,
    seed=0,
    **options,
):
    """MyRNN(...) with nn.RNN's weights gives nn.RNN's output and h_n for the same input and h0."""
    mine, reference = _build_pair(MyRNN, input_size, hidden_size, seed, options)
    if unbatched:
        x = _randn(seq_len, input_size, seed=seed + 1)  # (L, H_in)
    else:
        shape = (batch, seq_len) if options.get("batch_first") else (seq_len, batch)
        x = _randn(*shape, input_size, seed=seed + 1)  # (L, B, H_in) or (B, L, H_in)
    h0 = _initial_state(options, None if unbatched else batch, hidden_size, seed) if with_h0 else None
    protect = [x, *([] if h0 is None else [h0]), *reference.parameters()]
    result = call_guarded(mine, x.clone(), *([] if h0 is None else [h0.clone()]), _protect=protect)
    with torch.no_grad():
        output, h_n = _run_reference(reference, x, h0)
    what = f"MyRNN({input_size}, {hidden_size}, {_describe(options)}){' unbatched' if unbatched else ''}"
    _expect_pair(result, what)
    expect_tensor(result[0], output, f"{what} output")
    expect_tensor(result[1], h_n, f"{what} h_n")


def check_packed(
    MyRNN,
    *,
    lengths=(2, 1, 3),
    input_size=3,
    hidden_size=4,
    enforce_sorted=False,
    with_h0=False,
    seed=0,
    **options,
):
    """MyRNN on a PackedSequence returns nn.RNN's packed output and h_n (each sequence's last valid step)."""
    mine, reference = _build_pair(MyRNN, input_size, hidden_size, seed, options)
    batch_first = options.get("batch_first", False)
    batch, longest = len(lengths), max(lengths)
    shape = (batch, longest) if batch_first else (longest, batch)
    padded = _randn(*shape, input_size, seed=seed + 1)  # (B, L, H_in) or (L, B, H_in)
    packed = pack_padded_sequence(
        padded, torch.tensor(lengths), batch_first=batch_first, enforce_sorted=enforce_sorted
    )
    h0 = _initial_state(options, batch, hidden_size, seed) if with_h0 else None  # (D*layers, B, H)
    protect = [field for field in (*packed, h0) if field is not None] + list(reference.parameters())
    copy = PackedSequence(*(None if field is None else field.clone() for field in packed))
    result = call_guarded(mine, copy, *([] if h0 is None else [h0.clone()]), _protect=protect)
    with torch.no_grad():
        output, h_n = _run_reference(reference, packed, h0)
    what = f"MyRNN({_describe(options)}) on a PackedSequence with lengths {list(lengths)}"
    _expect_pair(result, what)
    expect_packed(result[0], output, f"{what}: output")
    expect_tensor(result[1], h_n, f"{what}: h_n")


def _describe(options):
    return ", ".join(f"{key}={value!r}" for key, value in options.items())


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


def passed(token: str) -> None:
    """Last line of every test cell, added by the grader: proves the cell ran to its end in a sound kernel."""
    verify_integrity()
    from IPython.display import display

    display({"application/vnd.rnn-course.pass+json": {"token": token}, "text/plain": "test passed"}, raw=True)


# ----------------------------------------------------------------------------------------------------
# This module checks itself: its own functions and names must be the ones it was imported with.

_MODULE = sys.modules[__name__]


def _module_changes() -> list[str]:
    namespace = vars(_MODULE)
    changed = [
        f"{__name__}.{name}" for name, value in _SNAPSHOT.items() if namespace.get(name, _MODULE) is not value
    ]
    changed += [
        f"{__name__}.{name}" for name in namespace.keys() - _SNAPSHOT.keys() - {"_SNAPSHOT", "_CODES"}
    ]
    for name, (code, defaults, kwdefaults) in _CODES.items():
        function = namespace.get(name)
        if (
            getattr(function, "__code__", None) is not code
            or function.__defaults__ is not defaults
            or (function.__kwdefaults__ != kwdefaults)
        ):
            changed.append(f"{__name__}.{name}")
    if sys.modules.get(__name__) is not _MODULE:
        changed.append(f"sys.modules[{__name__!r}]")
    shell = _ORIGINAL_SHELL
    if shell is not None and shell.user_ns.get("checks", _MODULE) is not _MODULE:
        changed.append("the name `checks` in the notebook")
    return changed


_SNAPSHOT = types.MappingProxyType(dict(vars(_MODULE)))
_CODES = types.MappingProxyType(
    {
        name: (value.__code__, value.__defaults__, value.__kwdefaults__)
        for name, value in _SNAPSHOT.items()
        if _type(value) is types.FunctionType
    }
)
