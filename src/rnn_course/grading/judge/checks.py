"""The helpers that the assignment's test cells call: run the learner's code on fixed inputs.

    checks.check_myrnn(MyRNN, num_layers=2, bidirectional=True)

In the learner's own notebook (and in `nbgrader validate`) a check compares the result with a real nn.RNN at
once and raises GradingError saying what differs, and which known mistake explains it if one does (the
grader's message, word for word). While grading (NBGRADER_EXECUTION=autograde) it only
reports what the learner's code returned; the grader, in its own process, rebuilds the same inputs, runs its
own nn.RNN and decides (steps/). Nothing in this module is trusted by the grader, so nothing in it needs
guarding: a learner who patches it only loses their own points. For MyRNN it reports the class's MRO and the
parameter tensors themselves, so the grader judges their names, shapes and initialisation on the values.

The grader's reference code (judging, mistakes) is imported only in the learner's own notebook: while grading
the sandbox mounts the kernel-side modules alone (sandbox/kernel_side.py).
"""

from __future__ import annotations

import os
import re

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from rnn_course.grading.judge import cases
from rnn_course.grading.judge.cases import (
    CHECKS,  # noqa: F401 (read by whoever plans a test cell)
    random_configs,  # noqa: F401 (test cells call checks.random_configs)
)
from rnn_course.grading.judge.encoding import RESULT_MIME, Raised, decode, encode

FORBIDDEN_OPS = frozenset(
    {"rnn_tanh", "rnn_relu", "rnn_tanh_cell", "rnn_relu_cell", "lstm", "lstm_cell", "gru", "gru_cell"}
)


class GradingError(AssertionError):
    """A check failed: the message tells the learner what differs."""


class ForbiddenCall(GradingError):
    """The learner's code used PyTorch's own RNN."""


def _end_kernel_now(change) -> None:
    """`exit()` stops an IPython kernel 0.1 s later, racing the next cells; end it at once, so the tests
    after it deterministically get no result."""
    if change["new"]:
        os._exit(0)


# The checks passed so far in the running cell, with the learner's code that passed them: what rules a
# mistake out (judging.diagnose), as the grader does with the checks before a failing one in the same cell.
PASSED: list[tuple[object, str, dict]] = []


def new_cell(*_) -> None:
    """Forget the checks passed so far (IPython calls it before every cell)."""
    PASSED.clear()


try:
    get_ipython().observe(_end_kernel_now, names="exit_now")  # noqa: F821 (defined inside IPython)
    get_ipython().events.register("pre_run_cell", new_cell)  # noqa: F821
except NameError:
    pass  # imported outside a notebook


def grading() -> bool:
    return os.environ.get("NBGRADER_EXECUTION") == "autograde"


class _SpotRnnOps(TorchFunctionMode):
    """In the learner's own notebook: say early that PyTorch's RNN is not allowed (grading enforces it)."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if str(getattr(func, "__name__", "")).split(".")[0] in FORBIDDEN_OPS:
            raise ForbiddenCall(f"torch.{func.__name__} is PyTorch's own RNN; write the recurrence yourself")
        return func(*args, **(kwargs or {}))


def _call(function, *args, **kwargs):
    if grading():
        return function(*args, **kwargs)
    with _SpotRnnOps():
        return function(*args, **kwargs)


_CAUGHT: list[Exception] = []  # what the learner's code raised during the running check


def _caught(error: Exception) -> Raised:
    """The learner's exception as a value; kept too, so that the learner's own notebook can show it."""
    _CAUGHT.append(error)
    return Raised(type(error).__name__, str(error))


# The initial state handed to the learner's code in the running check, as it is after the call: the grader
# compares it with the state it gave (changing it in place is a mistake).
_STATE: list = []


def _given(state):
    """A copy of an initial state for the learner's code, remembered so that it can be reported."""
    copy = None if state is None else state.clone()
    _STATE[:] = [copy]
    return copy


def _run(kind: str, learner, kw: dict):
    """The learner's result for one check (a value, or Raised where the learner's code raised)."""
    try:
        if kind == "rnn_cell":
            case = cases.cell_case(**kw)
            return _call(
                learner,
                case["x"].clone(),
                _given(case["h"]),
                *case["weights"],
                nonlinearity=case["nonlinearity"],
            )
        if kind == "rnn_forward":
            case = cases.forward_case(**kw)
            h0 = _given(case["h"])
            return _call(learner, case["x"].clone(), h0, *case["weights"], nonlinearity=case["nonlinearity"])
        return _run_module(kind, learner, kw)
    except Exception as error:
        return _caught(error)


def _run_module(kind: str, MyRNN, kw: dict) -> dict:
    sizes = (kw.get("input_size", 3), kw.get("hidden_size", 4))
    options = cases.module_options(kw)
    seeds = cases.parameter_seeds(kw)
    report: dict = {}
    try:
        mine = _build(MyRNN, sizes, options, seeds[0])
        report["module"] = _describe_module(mine, with_values=kind == "parameters")
    except Exception as error:
        report["module"] = _caught(error)
        return report
    if not isinstance(mine, nn.Module):
        return report
    if kind == "parameters":
        report["draws"] = _draws(MyRNN, sizes, options, seeds[1:], report["module"]["parameters"])
    case = (
        None if kind == "parameters" else (cases.packed_case if kind == "packed" else cases.module_case)(**kw)
    )
    weights = (
        case["weights"]
        if case
        else cases.rnn_weights(
            *sizes,
            seed=kw.get("seed", 0),
            **{key: kw[key] for key in ("num_layers", "bias", "bidirectional") if key in kw},
        )
    )
    try:
        _call(mine.double)
        _call(mine.load_state_dict, {name: w.clone() for name, w in weights.items()})
        _call(mine.eval)
        report["loaded"] = True
    except Exception as error:
        report["loaded"] = Raised(type(error).__name__, str(error))
        if kind == "parameters" or not _load_by_position(mine, weights):
            return report
        report["loaded"], report["loaded_by"] = True, "position"
    if case is None:
        return report
    args = [case["input"]] + ([] if case["hx"] is None else [_given(case["hx"])])
    report["result"] = _guarded_result(mine, args)
    return report


_KINDS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def _kind_of(name: str) -> str | None:
    """Which of nn.RNN's kinds a parameter's own name says it is (`w_ih.0`, `b_hh.1`, ...), else None."""
    low = name.lower()
    part = "hh" if "hh" in low else "ih" if ("ih" in low or "xh" in low) else None
    bias = "bias" in low or re.search(r"(^|[._])b", low) is not None
    return None if part is None else f"{'bias' if bias else 'weight'}_{part}"


def _load_by_position(mine: nn.Module, weights: dict) -> bool:
    """Put nn.RNN's weights into parameters named otherwise (a ParameterList, one bias vector, ...) when their
    shapes, in registration order, are nn.RNN's: matched by the kind their names say, else in nn.RNN's order;
    one bias per layer and direction gets bias_ih + bias_hh, the same update. The names themselves are the
    parameters test's to judge."""
    try:
        named = list(mine.named_parameters())
        for targets in (weights, _one_bias(weights)):
            order = _order(named, targets)
            if [tuple(p.shape) for _, p in named] == [tuple(targets[name].shape) for name in order]:
                with torch.no_grad():
                    for (_, parameter), name in zip(named, order, strict=True):
                        parameter.copy_(targets[name])
                _call(mine.eval)
                return True
    except Exception:
        pass
    return False


def _order(named: list, targets: dict) -> list[str]:
    """nn.RNN's names in the order of the learner's parameters, where their names say each one's kind."""
    by_kind = {kind: [name for name in targets if name.split("_l")[0] == kind] for kind in _KINDS}
    guessed = [_kind_of(name) for name, _ in named]
    if all(guessed) and all(guessed.count(kind) == len(by_kind[kind]) for kind in _KINDS):
        return [by_kind[kind][guessed[:index].count(kind)] for index, kind in enumerate(guessed)]
    return list(targets)


def _one_bias(weights: dict) -> dict:
    """nn.RNN's weights with the two biases of each layer and direction added into one (`bias_l0`, ...)."""
    merged = {}
    for name, weight in weights.items():
        if name.startswith("bias_hh"):
            continue
        if name.startswith("bias_ih"):
            merged[name.replace("bias_ih", "bias")] = weight + weights[name.replace("bias_ih", "bias_hh")]
        else:
            merged[name] = weight
    return merged


def _build(MyRNN, sizes: tuple, options: dict, seed: int):
    """MyRNN(*sizes, **options) under torch.manual_seed(seed); the learner's random state is left alone."""
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(seed)  # the CPU's, as torch.manual_seed, minus its lazy GPU calls
        return _call(MyRNN, *sizes, **options)


def _describe_module(mine, with_values: bool) -> dict:
    """The class's MRO as (module, qualname), and for an nn.Module its parameters (values, or shapes)."""
    mro = [[str(cls.__module__), str(cls.__qualname__)] for cls in type(mine).__mro__]
    if not isinstance(mine, nn.Module):
        return {"mro": mro}
    return {"mro": mro, "parameters": _parameters(mine, with_values)}


def _parameters(mine: nn.Module, with_values: bool) -> dict:
    """Parameters by name: a copy of each tensor (up to MAX_PARAMETER_NUMBERS values), else its shape."""
    parameters = dict(mine.named_parameters())
    if with_values and sum(p.numel() for p in parameters.values()) <= cases.MAX_PARAMETER_NUMBERS:
        return {name: p.detach().clone() for name, p in parameters.items()}
    return {name: list(p.shape) for name, p in parameters.items()}


def _numbers(parameters: dict) -> int:
    return sum(value.numel() for value in parameters.values() if isinstance(value, torch.Tensor))


def _draws(MyRNN, sizes: tuple, options: dict, seeds: list[int], first: dict):
    """MyRNN's parameter values built again under each further seed, while the values sent stay capped."""
    draws, sent = [], _numbers(first)
    if sent == 0:
        return draws
    try:
        for seed in seeds:
            values = _parameters(_build(MyRNN, sizes, options, seed), with_values=True)
            sent += _numbers(values)
            if sent > cases.MAX_PARAMETER_NUMBERS:
                break
            draws.append(values)
    except Exception as error:
        return _caught(error)
    return draws


def _guarded_result(mine, args):
    try:
        return _call(mine, *args)
    except Exception as error:
        return _caught(error)


def _check(kind: str, learner, kw: dict) -> None:
    _CAUGHT.clear()
    _STATE.clear()
    value = _run(kind, learner, kw)
    state = _STATE[0] if _STATE else None
    if grading():
        from IPython.display import display

        display(
            {
                RESULT_MIME: {"kind": kind, "args": kw, "value": encode(value), "state": encode(state)},
                "text/plain": f"{cases.describe(kind, kw)}: result sent to the grader",
            },
            raw=True,
        )
        return
    from rnn_course.grading.judge import (  # the learner's own notebook only: not in the sandbox
        judging,
        mistakes,
    )

    passed = tuple((k, args) for code, k, args in PASSED if code is learner)
    verdict = judging.judge(kind, kw, decode(encode(value)), passed=passed, state=decode(encode(state)))
    if verdict:
        ename, message = verdict
        error = _CAUGHT[0] if _CAUGHT else None
        if error is not None and mistakes.MARK not in message and ename != judging.FORBIDDEN:
            raise error  # the learner's own exception and traceback, unless the verdict says more
        raise (ForbiddenCall if ename == judging.FORBIDDEN else GradingError)(message) from error
    PASSED.append((learner, kind, kw))


def check_rnn_cell(rnn_cell, **kw) -> None:
    """rnn_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity) == one step of nn.RNN."""
    _check("rnn_cell", rnn_cell, kw)


def check_rnn_forward(rnn_forward, **kw) -> None:
    """rnn_forward(x, h0, weights..., nonlinearity) == a one-layer nn.RNN: output (L, B, H) and h_n (B, H)."""
    _check("rnn_forward", rnn_forward, kw)


def check_parameters(MyRNN, **kw) -> None:
    """Names, shapes, dtype and U(-1/sqrt(H), 1/sqrt(H)) initialisation of MyRNN's parameters.

    MyRNN is built under fixed seeds (cases.parameter_seeds), as often as it takes to draw about 1,000 values.
    """
    _check("parameters", MyRNN, kw)


def check_myrnn(MyRNN, **kw) -> None:
    """MyRNN(...) with nn.RNN's weights gives nn.RNN's output and h_n for the same input and h0."""
    _check("myrnn", MyRNN, kw)


def check_packed(MyRNN, **kw) -> None:
    """MyRNN on a PackedSequence returns nn.RNN's packed output and h_n (each sequence's last valid step)."""
    _check("packed", MyRNN, kw)
