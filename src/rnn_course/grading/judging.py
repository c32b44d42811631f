"""The reference answers (a real nn.RNN in float64) and the verdict on what a learner's code returned.

Used by the grader, outside the learner's kernel (verdicts.py), and by the checks in the learner's own
notebook (checks.py), so both say the same thing. A verdict is None (passed) or (error name, message).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence

from rnn_course.grading import cases, mistakes
from rnn_course.grading.encoding import Opaque, Raised

TOLERANCE = 1e-9  # float64 against float64: a correct loop agrees to ~1e-15
FORBIDDEN = "ForbiddenCall"
Verdict = tuple[str, str] | None


def _reference_rnn(input_size, hidden_size, weights: dict, options: dict) -> nn.RNN:
    """A real nn.RNN in float64 holding `weights`, in eval mode."""
    reference = nn.RNN(input_size, hidden_size, dtype=torch.float64, **cases.module_options(options))
    reference.load_state_dict(weights)
    return reference.eval()


def describe(kind: str, kw: dict) -> str:
    """How messages name a check: `rnn_cell (relu, bias=True)`, `MyRNN(3, 4, num_layers=2)`, ..."""
    if kind == "rnn_cell":
        return f"rnn_cell ({kw.get('nonlinearity', 'tanh')}, bias={kw.get('bias', True)})"
    if kind == "rnn_forward":
        return (
            f"rnn_forward ({kw.get('nonlinearity', 'tanh')}, bias={kw.get('bias', True)}, "
            f"h0={'given' if kw.get('with_h0', True) else 'None'})"
        )
    options = ", ".join(f"{key}={value!r}" for key, value in cases.module_options(kw).items())
    if kind == "packed":
        return f"MyRNN({options}) on a PackedSequence with lengths {list(kw.get('lengths', (2, 1, 3)))}"
    sizes = f"{kw.get('input_size', 3)}, {kw.get('hidden_size', 4)}"
    return f"MyRNN({sizes}{', ' + options if options else ''}){' unbatched' if kw.get('unbatched') else ''}"


def expected(kind: str, kw: dict):
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
        shapes = {
            name: list(w.shape)
            for name, w in cases.rnn_weights(
                input_size,
                hidden_size,
                **{key: kw[key] for key in ("num_layers", "bias", "bidirectional") if key in kw},
            ).items()
        }
        if kind == "parameters":
            return {"parameters": shapes, "bound": 1.0 / math.sqrt(hidden_size)}
        case = (cases.packed_case if kind == "packed" else cases.module_case)(**kw)
        reference = _reference_rnn(input_size, hidden_size, case["weights"], kw)
        return {"parameters": shapes, "result": reference(case["input"], case["hx"])}


def judge(kind: str, kw: dict, actual, passed: tuple = ()) -> Verdict:
    """None if the learner's result equals nn.RNN's, else (error name, what differs).

    When one catalogued mistake (mistakes.py) explains the failure, and none of the checks `passed` before
    this one in the same test cell rules it out, the message names it and links the lesson.
    """
    what = describe(kind, kw)
    try:
        verdict = _judge(kind, kw, actual, what)
    except (
        Exception
    ) as error:  # a value shaped unlike any answer: a plain failure, never a crash of the grader
        return "GradingError", f"{what}: could not compare the result ({type(error).__name__})"
    if verdict is None or verdict[0] != "GradingError":
        return verdict
    try:
        mistake = diagnose(kind, kw, _returned(kind, actual), passed) or _parameter_mistake(kind, kw, actual)
    except Exception:  # an odd value: no diagnosis, the plain message stands
        mistake = None
    return verdict if mistake is None else (verdict[0], verdict[1] + mistake.says())


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


def diagnose(kind: str, kw: dict, returned, passed: tuple = ()) -> mistakes.Mistake | None:
    """The one catalogued mistake whose output is exactly what the learner returned (or raised), else None."""
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
    return found[0] if len(found) == 1 else None


def _parameter_mistake(kind: str, kw: dict, actual) -> mistakes.Mistake | None:
    """The one catalogued mistake that explains MyRNN's parameter shapes, else None."""
    if kind not in ("parameters", "myrnn", "packed") or type(actual) is not dict:
        return None
    ours = actual.get("module", {}).get("parameters") if type(actual.get("module")) is dict else None
    if type(ours) is not dict:
        return None
    theirs = expected(kind, kw)["parameters"]
    found = [m for m in mistakes.CATALOGUE if mistakes.explains_parameters(m.key, ours, theirs)]
    return found[0] if len(found) == 1 else None


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
    if module.get("is_rnn_base"):
        return FORBIDDEN, "MyRNN subclasses PyTorch's RNN; write it from scratch as an nn.Module"
    if not module.get("is_module"):
        return FORBIDDEN, "MyRNN must be an nn.Module written from scratch, not an nn.RNN"
    verdict = expect_same_parameters(module.get("parameters"), reference["parameters"])
    if verdict or kind == "parameters":
        return verdict or _judge_initialisation(module, reference["bound"], actual.get("loaded"))
    if type(actual.get("loaded")) is Raised:
        return _raised(actual["loaded"], f"{what}: load_state_dict")
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


def _judge_initialisation(module: dict, bound: float, loaded) -> Verdict:
    for name, kind in module.get("types", {}).items():
        if kind != "Parameter":
            return "GradingError", f"{name} must be an nn.Parameter"
    largest = float(module.get("largest", 0.0))
    if largest > bound:
        return (
            "GradingError",
            f"the parameters are not initialised from U(-{bound:.3g}, {bound:.3g}) like nn.RNN",
        )
    if largest < bound / 2:
        return "GradingError", f"the parameters look unset: initialise them from U(-{bound:.3g}, {bound:.3g})"
    if type(loaded) is Raised:
        return _raised(loaded, "load_state_dict(nn.RNN(...).state_dict())")
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
