"""The parameters check, judged on the tensors themselves: names, shapes, dtype, MRO and initialisation.

Fast: the kernel's side runs in-process (as in the learner's own notebook) and the grader's side is called
directly; the graded batch in test_bad_submissions.py holds the same routes to the real pipeline.
"""

import base64
import importlib.util
import json
import math
import pickle

import pytest
import torch
from torch import nn

from rnn_course.grading.judge import cases, checks, judging
from rnn_course.grading.judge.encoding import decode, encode
from rnn_course.grading.steps import verdicts
from tests.helpers import submissions

# The assignment's own parameter checks, read from its test cell.
ASSIGNMENT_CONFIGS = [
    kw
    for cell in submissions.source_notebook().cells
    if (submissions.grade_id(cell) or "").startswith("test_my_rnn_parameters")
    for _, kw in verdicts.plan(cell.source)
]
INIT = submissions.CORRECT["my_rnn"].split("    def forward")[0]  # the solution's class, __init__ only


@pytest.fixture(scope="module")
def solution() -> dict:
    return submissions.run_answers(submissions.CORRECT)


def with_init(draw: str) -> type:
    """The solution's MyRNN, its parameters drawn by `draw` (an expression of shape, bound, dtype)."""
    source = INIT.replace("torch.empty(shape, device=device, dtype=dtype).uniform_(-bound, bound)", draw)
    assert source != INIT
    namespace = {"math": math, "torch": torch, "nn": nn}
    exec(source, namespace)
    return namespace["MyRNN"]


def grader_verdict(MyRNN, kw: dict):
    """What the grader decides from the kernel's report on MyRNN, after the trip through JSON."""
    report = json.loads(json.dumps(encode(checks._run("parameters", MyRNN, kw))))
    return judging.judge("parameters", kw, decode(report))


def test_the_assignment_checks_three_configurations():
    assert len(ASSIGNMENT_CONFIGS) == 3


@pytest.mark.parametrize("kw", ASSIGNMENT_CONFIGS + list(checks.random_configs(6, seed=5)), ids=str)
def test_a_correct_initialisation_passes(solution, kw):
    assert grader_verdict(solution["MyRNN"], kw) is None
    checks.check_parameters(solution["MyRNN"], **kw)  # the learner's notebook agrees


BAD_INITS = {
    "randn * 0.01": ("torch.randn(shape, dtype=dtype) * 0.01", "far smaller than U"),
    "all zeros": ("torch.zeros(shape, dtype=dtype)", "all zero"),
    "a constant": ("torch.full(shape, 0.1, dtype=dtype)", "same parameter values"),
    "U(0, bound)": ("torch.empty(shape, dtype=dtype).uniform_(0, bound)", "not spread like U"),
    "U(0, 0.01)": ("torch.empty(shape, dtype=dtype).uniform_(0, 0.01)", "far smaller than U"),
    "U(-b/2, b/2)": ("torch.empty(shape, dtype=dtype).uniform_(-bound / 2, bound / 2)", "not spread like U"),
    "U(-2b, 2b)": ("torch.empty(shape, dtype=dtype).uniform_(-2 * bound, 2 * bound)", "outside ±"),
    "float64": ("torch.empty(shape, dtype=torch.float64).uniform_(-bound, bound)", "torch.float64"),
    "reseeded": ("(torch.manual_seed(0), torch.empty(shape).uniform_(-bound, bound))[1]", "same parameter"),
}


@pytest.mark.parametrize("name", BAD_INITS)
@pytest.mark.parametrize("kw", ASSIGNMENT_CONFIGS, ids=str)
def test_a_wrong_initialisation_fails_in_every_assignment_configuration(name, kw):
    draw, says = BAD_INITS[name]
    MyRNN = with_init(draw)
    ename, message = grader_verdict(MyRNN, kw)
    assert ename == "GradingError" and says in message, message
    with pytest.raises(checks.GradingError) as raised:  # the learner reads the grader's message word for word
        checks.check_parameters(MyRNN, **kw)
    assert str(raised.value) == message


def test_the_spread_test_has_the_statistic_and_threshold_it_claims():
    assert judging.ks_uniform(torch.zeros(10), 1.0) == 0.5
    grid = (torch.arange(1000, dtype=torch.float64) + 0.5) / 1000 * 2 - 1  # (1000,) evenly over (-1, 1)
    assert judging.ks_uniform(grid, 1.0) == pytest.approx(0.0005)
    assert judging.ks_uniform(grid[:500], 1.0) == pytest.approx(0.5, abs=1e-3)  # only the negative half
    # Under 2 exp(-2 n t^2) = 1e-12 (Massart's DKW bound) for the 1,000-odd values a check draws.
    assert 0.11 < judging.ks_threshold(1000) < 0.12
    generator = torch.Generator().manual_seed(0)
    worst = max(judging.ks_uniform(torch.rand(1000, generator=generator) * 2 - 1, 1.0) for _ in range(200))
    assert worst < judging.ks_threshold(1000) / 2  # right draws stay far below it


def test_the_check_builds_myrnn_under_fixed_seeds_and_leaves_the_learners_random_state_alone(solution):
    torch.manual_seed(7)
    before = torch.random.get_rng_state()
    first = checks._run("parameters", solution["MyRNN"], {})
    assert torch.equal(torch.random.get_rng_state(), before)
    again = checks._run("parameters", solution["MyRNN"], {})
    assert all(
        torch.equal(first["module"]["parameters"][n], again["module"]["parameters"][n])
        for n in first["module"]["parameters"]
    )
    assert len(first["draws"]) + 1 == len(cases.parameter_seeds({})) > 1


def test_a_report_without_the_tensors_earns_nothing():
    """A patched helper's report: the right names and shapes, the old self-description, no MyRNN."""
    kw = {"num_layers": 2, "bidirectional": True}
    shapes = cases.parameter_shapes(kw)
    module = {
        "mro": [["__main__", "MyRNN"], ["torch.nn.modules.module", "Module"], ["builtins", "object"]],
        "parameters": shapes,
    }
    fabricated = {
        "module": {
            **module,
            "is_module": True,
            "is_rnn_base": False,
            "largest": 0.4,
            "types": {name: "Parameter" for name in shapes},
        },
        "loaded": True,
    }
    ename, message = judging.judge("parameters", kw, decode(encode(fabricated)))
    assert ename == "GradingError" and "values did not come back" in message
    old_style = {"module": {"is_module": True, "is_rnn_base": False, "parameters": shapes, "largest": 0.4}}
    assert "not an nn.Module" in judging.judge("parameters", kw, decode(encode(old_style)))[1]


def test_a_report_with_fewer_builds_than_the_seeds_fails(solution):
    report = decode(encode(checks._run("parameters", solution["MyRNN"], {})))
    report["draws"] = report["draws"][:-1]
    assert "built again" in judging.judge("parameters", {}, report)[1]


def test_too_many_parameter_values_are_not_sent(solution):
    kw = {"input_size": 100, "hidden_size": 100}  # 20,400 numbers, past the cap
    report = checks._run("parameters", solution["MyRNN"], kw)
    assert report["module"]["parameters"]["weight_hh_l0"] == [100, 100] and report["draws"] == []
    assert len(json.dumps(encode(report))) < 10_000
    assert "values did not come back" in judging.judge("parameters", kw, decode(encode(report)))[1]


def second_copy_of_torchs_rnn(name: str):
    """torch/nn/modules/rnn.py executed again under another module name: classes PyTorch does not know."""
    spec = importlib.util.spec_from_file_location(name, torch.nn.modules.rnn.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("kind", ["parameters", "myrnn", "packed"])
def test_pytorchs_rnn_from_a_second_copy_or_a_pickle_is_refused_by_its_mro(kind):
    copy = second_copy_of_torchs_rnn("torch.nn.modules.rnn_again")
    assert not issubclass(copy.RNN, nn.RNNBase)  # what the kernel's isinstance test missed

    class MyRNN(copy.RNN):
        pass

    blob = base64.b64encode(pickle.dumps(nn.RNN(3, 4)))

    def unpickled(*args, **kwargs):
        return pickle.loads(base64.b64decode(blob))

    for learner in (copy.RNN, MyRNN, unpickled):
        ename, message = judging.judge(kind, {}, decode(encode(checks._run(kind, learner, {}))))
        assert ename == judging.FORBIDDEN and "PyTorch's own RNN may not be used" in message, message
        with pytest.raises(checks.ForbiddenCall, match="PyTorch's own RNN may not be used"):
            getattr(
                checks,
                {"parameters": "check_parameters", "myrnn": "check_myrnn", "packed": "check_packed"}[kind],
            )(learner)


def test_the_mro_refusal_names_only_pytorchs_rnn_classes():
    assert judging.pytorch_rnn_class([("torch_copy", "LSTM"), ("torch.nn.modules.module", "Module")])
    assert judging.pytorch_rnn_class([("torch.nn.modules.rnn", "RNNCellBase")])
    assert judging.pytorch_rnn_class([("__main__", "RNN"), ("torch.nn.modules.module", "Module")]) is None
    assert judging.pytorch_rnn_class([("torch.nn.modules.container", "Sequential")]) is None


def test_a_myrnn_that_is_not_a_module_is_told_so():
    ename, message = judging.judge("myrnn", {}, decode(encode(checks._run("myrnn", lambda *a, **k: 3, {}))))
    assert ename == "GradingError" and "built builtins.int, not an nn.Module" in message
