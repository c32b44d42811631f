"""The reference answers (a real nn.RNN in float64) and the verdict on what a learner's code returned.

Used by the grader, outside the learner's kernel (steps/verdicts.py), and by the checks in the learner's own
notebook (checks.py), so both say the same thing. A verdict is None (passed) or (error name, message).
"""

from __future__ import annotations

import json
import math

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence

from rnn_course.grading.judge import cases, mistakes
from rnn_course.grading.judge.encoding import Opaque, Raised

TOLERANCE = 1e-9  # float64 against float64: a correct loop agrees to ~1e-15
FORBIDDEN = "ForbiddenCall"
Verdict = tuple[str, str] | None


def _reference_rnn(input_size, hidden_size, weights: dict, options: dict) -> nn.RNN:
    """A real nn.RNN in float64 holding `weights`, in eval mode."""
    reference = nn.RNN(input_size, hidden_size, dtype=torch.float64, **cases.module_options(options))
    reference.load_state_dict(weights)
    return reference.eval()


describe = cases.describe  # kernel-side too: checks.py names a check without importing this module


_ANSWERS: dict[str, object] = {}  # (kind, arguments) -> nn.RNN's answer: every submission asks the same
_ANSWERS_KEPT = 4096  # at most this many answers a process (a few MB); then the cache starts again


def expected(kind: str, kw: dict):
    """nn.RNN's answer for a check, computed once a process from the check's own arguments (read-only)."""
    try:
        key = json.dumps([kind, kw], sort_keys=True)
    except (TypeError, ValueError):  # arguments that are not plain data: computed every time
        return _computed(kind, kw)
    if key not in _ANSWERS:
        if len(_ANSWERS) >= _ANSWERS_KEPT:
            _ANSWERS.clear()
        _ANSWERS[key] = _computed(kind, kw)
    return _ANSWERS[key]


def _computed(kind: str, kw: dict):
    """nn.RNN's answer for a check, computed from the check's own arguments."""
    with torch.no_grad():
        if kind in ("rnn_cell", "rnn_forward"):
            builder = cases.cell_case if kind == "rnn_cell" else cases.forward_case
            case = builder(**kw)
            options = {"nonlinearity": kw.get("nonlinearity", "tanh"), "bias": kw.get("bias", True)}
            weights = {
                name: w
                for name, w in zip(
                    ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"), case["weights"], strict=True
                )
                if w is not None
            }
            reference = _reference_rnn(kw.get("input_size", 3), kw.get("hidden_size", 4), weights, options)
            if kind == "rnn_cell":
                _, h_n = reference(case["x"].unsqueeze(0), case["h"].unsqueeze(0))  # (1, B, H)
                return h_n[0]  # (B, H)
            h0 = None if case["h"] is None else case["h"].unsqueeze(0)  # (1, B, H)
            output, h_n = reference(case["x"], h0)  # (L, B, H), (1, B, H)
            return output, h_n[0]
        input_size, hidden_size = kw.get("input_size", 3), kw.get("hidden_size", 4)
        shapes = cases.parameter_shapes(kw)
        if kind == "parameters":
            return {"parameters": shapes}
        case = (cases.packed_case if kind == "packed" else cases.module_case)(**kw)
        reference = _reference_rnn(input_size, hidden_size, case["weights"], kw)
        return {"parameters": shapes, "result": reference(case["input"], case["hx"])}


def judge(kind: str, kw: dict, actual, passed: tuple = (), later: tuple = (), state=None) -> Verdict:
    """None if the learner's result equals nn.RNN's, else (error name, what differs).

    When one catalogued mistake (mistakes.py) explains the failure and every other observation of the same
    test cell (the checks `passed` before this one, and the results `later` checks returned: (kind, kw,
    value) each), the message names it and links the lesson; where several would, and they all agree on
    what was observed, it says only that. `state` is the initial state the learner's code was given, as it
    was after the call: where the check says `keeps_h0=True`, changing it in place fails the check.
    """
    what = describe(kind, kw)
    try:
        verdict = _judge(kind, kw, actual, what)
    except (
        Exception
    ) as error:  # a value shaped unlike any answer: a plain failure, never a crash of the grader
        return "GradingError", f"{what}: could not compare the result ({type(error).__name__})"
    if verdict is None:
        return _state_changed(kind, kw, state, what)
    if verdict[0] != "GradingError":
        return verdict
    try:
        mistake = diagnose(kind, kw, _returned(kind, actual), passed, later) or _parameter_mistake(
            kind, kw, actual
        )
    except Exception:  # an odd value: no diagnosis, the plain message stands
        mistake = None
    return verdict if mistake is None else (verdict[0], verdict[1] + mistake.says())


def given_state(kind: str, kw: dict):
    """The initial state a check gives the learner's code (h, h0 or hx), or None where it gives none."""
    if kind == "rnn_cell":
        return cases.cell_case(**kw)["h"]
    if kind == "rnn_forward":
        return cases.forward_case(**kw)["h"]
    if kind in ("myrnn", "packed") and kw.get("with_h0"):
        return (cases.packed_case if kind == "packed" else cases.module_case)(**kw)["hx"]
    return None


def _state_changed(kind: str, kw: dict, state, what: str) -> Verdict:
    """A failure naming the mistake when the learner's code changed the state it was given in place."""
    given = given_state(kind, kw) if kw.get("keeps_h0") else None
    if given is None or type(state) is not torch.Tensor:
        return None  # no state given, or none reported: nothing to compare
    if state.shape == given.shape and state.dtype == given.dtype and torch.equal(state, given):
        return None
    return "GradingError", (
        f"{what}: the initial state it was given holds other values after the call"
        + mistakes.BY_KEY["hx_changed_in_place"].says()
    )


# ------------------------------------------------------------------------------------------ diagnosis

NOTHING = Opaque("no result")  # what a check returned when it never got to run the learner's forward


def _returned(kind: str, actual):
    """What the learner's function or forward returned (or Raised), NOTHING if it never ran."""
    if kind in ("rnn_cell", "rnn_forward"):
        return actual
    if kind in ("myrnn", "packed") and type(actual) is dict and actual.get("loaded") is True:
        return actual.get("result", NOTHING)
    return NOTHING


def answer(kind: str, kw: dict):
    """nn.RNN's result for a check that runs the learner's code: a tensor, or a pair (output, h_n)."""
    reference = expected(kind, kw)
    return reference["result"] if kind in ("myrnn", "packed") else reference


def matches(kind: str, actual, reference) -> bool:
    """Whether `actual` passes as `reference` in the grader's own comparison (shapes, dtype, atol 1e-9)."""
    if kind == "rnn_cell":
        return expect_tensor(actual, reference, kind) is None
    return expect_pair(actual, reference, kind, packed=kind == "packed") is None


def _shows(key: str, kind: str, kw: dict) -> bool:
    """Whether code with mistake `key` would fail this check (so passing it rules the mistake out)."""
    if kind not in ("rnn_cell", "rnn_forward", "myrnn", "packed"):
        return False
    mine = mistakes.variant(key, kind, kw)
    return mine is None or not matches(kind, mine, answer(kind, kw))


def _explains(key: str, kind: str, kw: dict, returned) -> bool:
    """Whether code with mistake `key` returns (or raises) what the learner's code did on this check."""
    if returned is NOTHING:
        return True  # no evidence either way
    mine = mistakes.variant(key, kind, kw)
    if type(returned) is Raised:  # code with the mistake cannot run here either, or raises just this
        return mine is None or mistakes.explains_error(key, kind, kw, returned)
    return mine is not None and matches(kind, returned, mine)


def diagnose(kind: str, kw: dict, returned, passed: tuple = (), later: tuple = ()) -> mistakes.Mistake | None:
    """The catalogued mistake that explains what the learner returned (or raised) on this failing check and on
    every other check of the cell, else what all such mistakes agree was observed, else None."""
    if returned is NOTHING:
        return None
    if type(returned) is Raised:
        found = [m for m in mistakes.CATALOGUE if mistakes.explains_error(m.key, kind, kw, returned)]
    else:
        reference = answer(kind, kw)
        found = []
        for mistake in mistakes.CATALOGUE:
            mine = mistakes.variant(mistake.key, kind, kw)
            if mine is not None and not matches(kind, mine, reference) and matches(kind, returned, mine):
                found.append(mistake)
    found = [m for m in found if not any(_shows(m.key, k, earlier) for k, earlier in passed)]
    found = [
        m for m in found if all(_explains(m.key, k, other, _returned(k, value)) for k, other, value in later)
    ]
    return mistakes.observed(found)


def _parameter_mistake(kind: str, kw: dict, actual) -> mistakes.Mistake | None:
    """The one catalogued mistake that explains MyRNN's parameter shapes, else None."""
    if kind not in ("parameters", "myrnn", "packed") or type(actual) is not dict:
        return None
    ours = _shapes(actual["module"].get("parameters")) if type(actual.get("module")) is dict else None
    if ours is None:
        return None
    theirs = expected(kind, kw)["parameters"]
    found = [m for m in mistakes.CATALOGUE if mistakes.explains_parameters(m.key, ours, theirs)]
    if not found and kind == "parameters" and ours == theirs:
        found = _value_mistakes(kw, actual)
    return found[0] if len(found) == 1 else None


def _value_mistakes(kw: dict, actual) -> list[mistakes.Mistake]:
    """The catalogued mistakes that explain the values of MyRNN's parameters (all builds together)."""
    builds = [actual["module"]["parameters"]] + (
        list(actual["draws"]) if type(actual.get("draws")) is tuple else []
    )
    tensors = [value for build in builds if type(build) is dict for value in build.values()]
    if not tensors or not all(type(value) is torch.Tensor for value in tensors):
        return []
    values = torch.cat([value.reshape(-1).double() for value in tensors])  # (n,)
    bound = 1.0 / math.sqrt(kw.get("hidden_size", 4))
    return [m for m in mistakes.CATALOGUE if mistakes.explains_values(m.key, bound, values)]


def _judge(kind, kw, actual, what) -> Verdict:
    if type(actual) is Raised:
        return _raised(actual, what)
    reference = expected(kind, kw)
    if kind == "rnn_cell":
        return expect_tensor(actual, reference, what)
    if kind == "rnn_forward":
        return expect_pair(actual, reference, what)
    if type(actual) is not dict or "module" not in actual:
        return "GradingError", f"{what}: the check's result was lost"
    module = actual["module"]
    if type(module) is Raised:
        return _raised(module, f"MyRNN({kw.get('input_size', 3)}, {kw.get('hidden_size', 4)}, ...)")
    if type(module) is not dict:
        return "GradingError", f"{what}: the check's result was lost"
    verdict = expect_own_module(module, what)
    if verdict:
        return verdict
    verdict = expect_same_parameters(_shapes(module.get("parameters")), reference["parameters"])
    if verdict and not (kind in ("myrnn", "packed") and actual.get("loaded_by") == "position"):
        return verdict  # once the weights went in by position, the names are the parameters test's to judge
    if kind == "parameters":
        verdict = expect_initialised(kw, module["parameters"], actual.get("draws"), what)
        if verdict:
            return verdict
    if type(actual.get("loaded")) is Raised:
        where = "load_state_dict(nn.RNN(...).state_dict())" if kind == "parameters" else "load_state_dict"
        return _raised(actual["loaded"], where if kind == "parameters" else f"{what}: {where}")
    if kind == "parameters":
        return None
    if kind == "packed":
        return expect_pair(actual.get("result"), reference["result"], what, packed=True)
    return expect_pair(actual.get("result"), reference["result"], what)


def _raised(raised: Raised, what: str) -> Verdict:
    if raised.ename == "ForbiddenRNN":
        return (
            FORBIDDEN,
            f"{what} used PyTorch's own RNN ({raised.evalue}); this part must be written from scratch",
        )
    if raised.ename in ("ForbiddenCall", "GradingError"):
        return raised.ename, raised.evalue
    return "GradingError", f"{what} raised {raised.ename}: {raised.evalue}"


# ------------------------------------------------------------------------------ MyRNN and its parameters

TORCH_RNN_CLASSES = ("RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase")
MODULE_CLASS = ("torch.nn.modules.module", "Module")
PARAMETER_DTYPE = torch.float32  # nn.RNN's, built with torch's default dtype
INIT_FALSE_ALARM = 1e-12  # at most this chance that a correct initialisation fails the spread test


def _classes(module: dict) -> list[tuple[str, str]]:
    """MyRNN's MRO as (module, qualname) pairs; [] when the report holds none (lists arrive as tuples)."""
    mro = module.get("mro")
    pairs = (list, tuple)
    if type(mro) not in pairs or any(type(pair) not in pairs or len(pair) != 2 for pair in mro):
        return []
    return [(str(name), str(qualname)) for name, qualname in mro]


def pytorch_rnn_class(classes: list[tuple[str, str]]) -> str | None:
    """The first class of PyTorch's RNN family (from any module named torch...) in an MRO, else None."""
    for name, qualname in classes:
        if name.startswith("torch") and qualname.rsplit(".", 1)[-1] in TORCH_RNN_CLASSES:
            return f"{name}.{qualname}"
    return None


def expect_own_module(module: dict, what: str) -> Verdict:
    """MyRNN builds an nn.Module of its own: no class of PyTorch's RNN (or of a copy of it) in its MRO."""
    classes = _classes(module)
    found = pytorch_rnn_class(classes)
    if found:
        return FORBIDDEN, (
            f"{what} is built on PyTorch's own RNN ({found}); PyTorch's own RNN may not be used: "
            "write MyRNN from scratch as an nn.Module"
        )
    if MODULE_CLASS not in classes:
        built = ".".join(classes[0]) if classes else "nothing"
        return "GradingError", f"{what} built {built}, not an nn.Module: write MyRNN as an nn.Module"
    if type(module.get("parameters")) is not dict:
        return "GradingError", f"{what}: the check's result was lost"
    return None


def _shapes(parameters) -> dict | None:
    """Parameter shapes by name, from the tensors (or the shapes sent where the values were too many)."""
    if type(parameters) is not dict:
        return None
    shapes = {}
    for name, value in parameters.items():
        if type(value) is torch.Tensor:
            shapes[name] = list(value.shape)
        else:
            shapes[name] = list(value) if type(value) in (list, tuple) else ["?"]
    return shapes


def ks_uniform(values: torch.Tensor, bound: float) -> float:
    """The Kolmogorov-Smirnov statistic of `values` (n,) against U(-bound, bound): the largest CDF gap."""
    ordered = values.double().sort().values  # (n,)
    cdf = ((ordered + bound) / (2 * bound)).clamp(0.0, 1.0)  # (n,): the uniform CDF at each value
    levels = torch.arange(ordered.numel() + 1, dtype=torch.float64) / ordered.numel()  # (n + 1,)
    return float(torch.maximum(levels[1:] - cdf, cdf - levels[:-1]).max())


def ks_threshold(n: int) -> float:
    """A KS distance that n draws from the right uniform exceed with chance INIT_FALSE_ALARM at most (DKW)."""
    return math.sqrt(math.log(2 / INIT_FALSE_ALARM) / (2 * n))


def expect_initialised(kw: dict, parameters: dict, draws, what: str) -> Verdict:
    """Each build of MyRNN under the check's seeds holds float32 tensors named and shaped like nn.RNN's,
    drawn afresh from U(-1/sqrt(H), 1/sqrt(H)): all within the bound, and spread like it."""
    bound = 1.0 / math.sqrt(kw.get("hidden_size", 4))
    law = f"U(-1/sqrt(H), 1/sqrt(H)) = U(-{bound:.3g}, {bound:.3g}) like nn.RNN"
    shapes = cases.parameter_shapes(kw)
    if not all(type(value) is torch.Tensor for value in parameters.values()):
        count = sum(math.prod(shape) for shape in shapes.values())
        return "GradingError", (
            f"{what}: the parameters' values did not come back ({count} numbers; the check sends "
            f"{cases.MAX_PARAMETER_NUMBERS} at most)"
        )
    for name, value in parameters.items():
        if value.dtype != PARAMETER_DTYPE:
            return "GradingError", f"{what}: {name} is {value.dtype}; nn.RNN's are {PARAMETER_DTYPE}"
    if type(draws) is Raised:
        return _raised(draws, f"{what}, built again under another seed,")
    builds = [parameters] + (list(draws) if type(draws) is tuple else [])
    if len(builds) != len(cases.parameter_seeds(kw)) or any(
        type(build) is not dict
        or _shapes(build) != shapes
        or any(type(value) is not torch.Tensor or value.dtype != PARAMETER_DTYPE for value in build.values())
        for build in builds
    ):
        return "GradingError", f"{what}: built again under another seed, MyRNN had other parameters"
    values = torch.cat([value.reshape(-1).double() for build in builds for value in build.values()])  # (n,)
    if values.numel() == 0:
        return None
    if not bool(torch.isfinite(values).all()) or float(values.abs().max()) > bound * (1 + 1e-6):
        return "GradingError", f"{what}: some parameters lie outside ±{bound:.3g}; initialise them from {law}"
    if float(values.abs().max()) == 0.0:
        return "GradingError", f"{what}: the parameters are all zero; initialise them from {law}"
    if len(builds) > 1 and all(
        all(torch.equal(build[name], parameters[name]) for name in shapes) for build in builds[1:]
    ):
        return "GradingError", (
            f"{what}: built again under another seed, MyRNN has the same parameter values; draw them at "
            f"random in __init__ from {law}"
        )
    if float(values.abs().max()) < mistakes.TOO_SMALL * bound:
        return "GradingError", (
            f"{what}: the parameters are far smaller than U(-{bound:.3g}, {bound:.3g}): the largest is "
            f"{float(values.abs().max()):.2g}; initialise them from {law}"
        )
    distance, threshold = ks_uniform(values, bound), ks_threshold(values.numel())
    if distance > threshold:
        return "GradingError", (
            f"{what}: the parameter values are not spread like {law} (Kolmogorov-Smirnov distance "
            f"{distance:.3f} over {values.numel()} values; a correct initialisation stays under "
            f"{threshold:.3f})"
        )
    return None


def expect_same_parameters(ours, theirs: dict) -> Verdict:
    """Same parameter names and shapes as nn.RNN, so that load_state_dict works both ways."""
    ours = {name: list(shape) for name, shape in (ours or {}).items()}
    if ours == theirs:
        return None
    missing = sorted(set(theirs) - set(ours))
    extra = sorted(set(ours) - set(theirs))
    wrong = sorted(name for name in set(ours) & set(theirs) if ours[name] != theirs[name])
    return "GradingError", (
        f"parameters differ from nn.RNN's: missing {missing}, unexpected {extra}, "
        f"wrong shape {[(n, tuple(ours[n]), tuple(theirs[n])) for n in wrong]}"
    )


def _type_name(value) -> str:
    return value.type_name if type(value) is Opaque else type(value).__name__


def expect_tensor(actual, expected_tensor: torch.Tensor, what: str) -> Verdict:
    """`actual` must be a plain tensor with the expected shape and values (float64, atol 1e-9)."""
    if type(actual) is Raised:
        return _raised(actual, what)
    if type(actual) is not torch.Tensor:
        return "GradingError", f"{what}: expected a torch.Tensor, got {_type_name(actual)}"
    if tuple(actual.shape) != tuple(expected_tensor.shape):
        return (
            "GradingError",
            f"{what}: expected shape {tuple(expected_tensor.shape)}, got {tuple(actual.shape)}",
        )
    if actual.dtype != torch.float64:
        return "GradingError", f"{what}: expected dtype torch.float64 (the input's dtype), got {actual.dtype}"
    if not torch.allclose(actual, expected_tensor, rtol=0.0, atol=TOLERANCE, equal_nan=False):
        worst = (actual - expected_tensor).abs().max().item()
        return "GradingError", f"{what}: values differ from nn.RNN's by up to {worst:.3g}"
    return None


def expect_packed(actual, expected_packed: PackedSequence, what: str) -> Verdict:
    """A PackedSequence equal to the expected one: same data, batch_sizes and index permutations."""
    if type(actual) is not PackedSequence:
        return "GradingError", f"{what}: expected a PackedSequence, got {_type_name(actual)}"
    verdict = expect_tensor(actual.data, expected_packed.data, f"{what}.data")
    if verdict:
        return verdict
    for field in ("batch_sizes", "sorted_indices", "unsorted_indices"):
        mine, theirs = getattr(actual, field), getattr(expected_packed, field)
        if (mine is None) != (theirs is None) or (
            theirs is not None and (type(mine) is not torch.Tensor or mine.tolist() != theirs.tolist())
        ):
            return "GradingError", f"{what}.{field}: expected {theirs}, got {mine}"
    return None


def expect_pair(actual, expected_pair, what: str, packed: bool = False) -> Verdict:
    """(output, h_n) like nn.RNN's: output compared as a tensor (or PackedSequence), then h_n."""
    if type(actual) is Raised:
        return _raised(actual, what)
    if type(actual) is not tuple or len(actual) != 2:
        return "GradingError", f"{what}: expected a pair (output, h_n), got {_type_name(actual)}"
    if packed:
        verdict = expect_packed(actual[0], expected_pair[0], f"{what}: output")
        return verdict or expect_tensor(actual[1], expected_pair[1], f"{what}: h_n")
    return expect_tensor(actual[0], expected_pair[0], f"{what} output") or expect_tensor(
        actual[1], expected_pair[1], f"{what} h_n"
    )
