"""Checks in the learner's notebook, the grader's verdicts outside the kernel, PyTorch's RNN switched off."""

import json
import subprocess
import sys
import textwrap

import nbformat
import pytest
import torch
from torch import nn

from rnn_course.grading.judge import checks, judging
from rnn_course.grading.judge.encoding import Opaque, Raised, decode, encode
from rnn_course.grading.steps import verdicts
from tests.helpers import submissions


@pytest.fixture(scope="module")
def solution() -> dict:
    return submissions.run_answers(submissions.CORRECT)


def test_the_solution_passes_every_check_including_the_hidden_configurations(solution):
    for nonlinearity in ("tanh", "relu"):
        checks.check_rnn_cell(solution["rnn_cell"], nonlinearity=nonlinearity, bias=nonlinearity == "tanh")
        checks.check_rnn_forward(solution["rnn_forward"], nonlinearity=nonlinearity, with_h0=False)
    checks.check_parameters(solution["MyRNN"], num_layers=3, bidirectional=True, bias=False)
    for config in checks.random_configs(16, seed=11):
        checks.check_myrnn(solution["MyRNN"], **config)
    for config in checks.random_configs(10, seed=23, packed=True):
        checks.check_packed(solution["MyRNN"], **config)


def test_random_configs_cover_every_option():
    configs = list(checks.random_configs(16, seed=11)) + list(checks.random_configs(10, seed=23, packed=True))
    for key in ("bias", "batch_first", "bidirectional", "with_h0"):
        assert {config[key] for config in configs} == {True, False}, key
    assert {config["nonlinearity"] for config in configs} == {"tanh", "relu"}
    assert {config["num_layers"] for config in configs} == {1, 2, 3}
    assert any(config.get("unbatched") for config in configs)
    assert any(config.get("enforce_sorted") for config in configs)


def test_a_wrong_answer_fails_with_a_message_that_says_what_differs():
    wrong = submissions.run_answers({**submissions.CORRECT, "rnn_cell": submissions.RNN_CELL_ALWAYS_TANH})
    checks.check_rnn_cell(wrong["rnn_cell"], nonlinearity="tanh")
    with pytest.raises(checks.GradingError, match=r"rnn_cell \(relu.*differ from nn.RNN's"):
        checks.check_rnn_cell(wrong["rnn_cell"], nonlinearity="relu")
    one_direction = submissions.run_answers(
        {**submissions.CORRECT, "my_rnn": submissions.MYRNN_ONE_DIRECTION}
    )
    checks.check_myrnn(one_direction["MyRNN"], num_layers=2)
    with pytest.raises(checks.GradingError, match="expected shape"):
        checks.check_myrnn(one_direction["MyRNN"], bidirectional=True)


def test_wrong_parameter_names_and_float32_outputs_are_reported(solution):
    class Renamed(nn.Module):
        def __init__(self, input_size, hidden_size, **options):
            super().__init__()
            self.weight_ih = nn.Parameter(torch.zeros(hidden_size, input_size))

    with pytest.raises(checks.GradingError, match="missing .*weight_ih_l0.*unexpected.*weight_ih"):
        checks.check_parameters(Renamed)

    def float32_cell(x, h, *weights, nonlinearity="tanh"):
        return solution["rnn_cell"](x, h, *weights, nonlinearity=nonlinearity).float()

    with pytest.raises(checks.GradingError, match="dtype"):
        checks.check_rnn_cell(float32_cell)


def test_a_tensor_subclass_cannot_talk_its_way_past_the_comparison(solution):
    class Agreeable(torch.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            if func in (torch.allclose, torch.equal):
                return True
            return super().__torch_function__(func, types, args, kwargs or {})

    def liar(x, h, *weights, nonlinearity="tanh"):
        return torch.zeros_like(h).as_subclass(Agreeable)

    with pytest.raises(checks.GradingError, match="expected a torch.Tensor, got Agreeable"):
        checks.check_rnn_cell(liar)


def test_the_learners_notebook_spots_pytorchs_rnn_early():
    """Advice only, in the learner's own notebook; while grading the sandbox enforces the rule."""
    namespace = submissions.run_answers({**submissions.CORRECT, "rnn_cell": submissions.RNN_CELL_KERNEL})
    with pytest.raises(checks.ForbiddenCall, match="PyTorch's own RNN"):
        checks.check_rnn_cell(namespace["rnn_cell"])


# ---------------------------------------------------------------- the grader's side


def test_values_survive_the_trip_out_of_the_kernel_exactly():
    output = torch.randn(5, 2, 8, dtype=torch.float64)
    packed = torch.nn.utils.rnn.pack_padded_sequence(output, torch.tensor([5, 3]))
    value = {"pair": (output, packed), "n": 3, "nan": float("nan"), "error": Raised("ValueError", "no")}
    back = decode(json.loads(json.dumps(encode(value))))
    assert torch.equal(back["pair"][0], output) and back["pair"][0].dtype == torch.float64
    assert torch.equal(back["pair"][1].data, packed.data) and back["pair"][1].batch_sizes.tolist() == [
        2,
        2,
        2,
        1,
        1,
    ]
    assert back["n"] == 3 and back["error"] == Raised("ValueError", "no") and back["nan"] != back["nan"]
    assert decode(
        {"t": "tensor", "dtype": "os.system", "shape": [1], "bytes": "AACAPw=="}
    ).type_name  # malformed: Opaque


@pytest.mark.parametrize(
    "value",
    [torch.randn(3, 4).t(), torch.randn(5).half(), torch.randn(5).bfloat16(), torch.arange(6).reshape(2, 3),
     torch.tensor([True, False]), torch.empty(0, 3), torch.tensor(float("-inf"))],
)  # fmt: skip
def test_every_dtype_and_shape_comes_back_bit_for_bit(value):
    back = decode(json.loads(json.dumps(encode(value))))
    assert back.dtype == value.dtype and back.shape == value.shape
    assert torch.equal(back.view(-1).view(torch.uint8), value.contiguous().view(-1).view(torch.uint8))


@pytest.mark.parametrize(
    "fields",
    [
        {"shape": [2], "bytes": "AACAPw=="},  # 4 bytes for 2 float32
        {"shape": [-1], "bytes": ""},
        {"shape": [1], "bytes": "!!!!"},  # not base64
        {"shape": [10**9], "bytes": ""},  # more numbers than any check returns
        {"shape": ["x"], "bytes": "AACAPw=="},
    ],
)
def test_tensor_bytes_that_do_not_fit_their_shape_are_malformed(fields):
    assert decode({"t": "tensor", "dtype": "torch.float32", **fields}) == Opaque("a malformed result")


def test_a_bool_tensor_is_rebuilt_from_its_bytes_as_true_or_false_only():
    back = decode({"t": "tensor", "dtype": "torch.bool", "shape": [3], "bytes": "AgD/"})  # bytes 2, 0, 255
    assert back.tolist() == [True, False, True] and back.view(torch.uint8).tolist() == [1, 0, 1]


def test_the_plan_of_every_test_cell_matches_what_its_checks_call():
    cells = [
        cell
        for cell in submissions.source_notebook().cells
        if (submissions.grade_id(cell) or "").startswith("test_")
    ]
    planned = {submissions.grade_id(cell): verdicts.plan(cell.source) for cell in cells}
    assert planned["test_rnn_cell"][0] == ("rnn_cell", {"nonlinearity": "tanh"})  # then three hidden sizes
    assert all(kw.get("nonlinearity", "tanh") == "tanh" for _, kw in planned["test_rnn_cell"])  # one property
    assert all(kw["nonlinearity"] == "relu" for _, kw in planned["test_rnn_cell_relu"])
    assert all(kw["bias"] is False for _, kw in planned["test_rnn_cell_no_bias"])
    assert len(planned["test_my_rnn_more"]) == 1 + 16  # one visible check, sixteen hidden configurations
    assert all(kind == "packed" for kind, _ in planned["test_my_rnn_packed_more"])


def _cell(source: str, results: list[dict]) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "t", "points": 1}
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={checks.RESULT_MIME: result}) for result in results
    ]
    return cell


def _result(kind, kw, value):
    return {"kind": kind, "args": kw, "value": encode(value)}


def test_the_grader_passes_only_results_equal_to_its_own_nn_rnn(solution):
    kw = {"nonlinearity": "relu", "bias": False}
    from rnn_course.grading.judge import cases

    case = cases.cell_case(**kw)
    right = solution["rnn_cell"](case["x"], case["h"], *case["weights"], nonlinearity="relu")
    source = 'checks.check_rnn_cell(rnn_cell, nonlinearity="relu", bias=False)'
    assert verdicts.decide(_cell(source, [_result("rnn_cell", kw, right)])) is None
    ename, message = verdicts.decide(_cell(source, [_result("rnn_cell", kw, right + 1e-6)]))
    assert ename == "GradingError" and "differ from nn.RNN's" in message
    # A result for other arguments, or none at all, is no result for this check.
    assert verdicts.decide(_cell(source, [_result("rnn_cell", {"nonlinearity": "relu"}, right)]))
    assert "no result came back" in verdicts.decide(_cell(source, []))[1]
    # Extra results printed by the learner's code do not stand in for a missing one either.
    two = "checks.check_rnn_cell(rnn_cell)\n" + source
    assert verdicts.decide(_cell(two, [_result("rnn_cell", kw, right), _result("rnn_cell", kw, right)]))


def test_a_failing_cell_gets_one_error_output_and_a_passing_one_none():
    cell = _cell("checks.check_rnn_cell(rnn_cell)", [])
    cell.outputs.append(nbformat.v4.new_output("error", ename="NameError", evalue="rnn_cell", traceback=[]))
    notebook = nbformat.v4.new_notebook(cells=[cell])
    verdicts.DecideVerdicts().preprocess(notebook, {})
    names = [output.get("ename") for output in notebook.cells[0].outputs]
    assert names == ["NameError", "GradingError"]  # the kernel's own error says more, the verdict scores


def test_judging_names_pytorchs_rnn_as_forbidden():
    verdict = judging.judge("rnn_cell", {}, Raised("ForbiddenRNN", "PyTorch's RNN kernels are switched off"))
    assert verdict[0] == judging.FORBIDDEN


SWITCHED_OFF = textwrap.dedent("""
    import queue, threading, warnings
    warnings.simplefilter("ignore")
    import torch
    from torch import nn
    captured = torch.rnn_tanh_cell  # saved before the switch
    pool_in, pool_out = queue.Queue(), queue.Queue()
    def worker():  # a thread started before the switch
        while True:
            pool_out.put(_try(pool_in.get()))
    def _try(call):
        try:
            call()
            return "RAN"
        except Exception as error:
            return type(error).__name__
    threading.Thread(target=worker, daemon=True).start()
    from rnn_course.grading.sandbox.forbid import switch_off_rnn_kernels
    switch_off_rnn_kernels()
    x, h = torch.zeros(2, 3, dtype=torch.float64), torch.zeros(2, 4, dtype=torch.float64)
    w_ih, w_hh = torch.zeros(4, 3, dtype=torch.float64), torch.zeros(4, 4, dtype=torch.float64)
    calls = {
        "nn.RNN": lambda: nn.RNN(3, 4)(x.float().unsqueeze(0)),
        "nn.RNNCell": lambda: nn.RNNCell(3, 4)(x.float()),
        "nn.LSTM": lambda: nn.LSTM(3, 4)(x.float().unsqueeze(0)),
        "nn.GRU": lambda: nn.GRU(3, 4)(x.float().unsqueeze(0)),
        "torch.rnn_tanh_cell": lambda: torch.rnn_tanh_cell(x, h, w_ih, w_hh),
        "captured early": lambda: captured(x, h, w_ih, w_hh),
        "torch.ops.aten": lambda: torch.ops.aten.rnn_tanh_cell.default(x, h, w_ih, w_hh),
        "torch._VF": lambda: torch._VF.rnn_relu_cell(x, h, w_ih, w_hh),
        "with autograd": lambda: torch.rnn_tanh_cell(x.requires_grad_(), h, w_ih, w_hh),
    }
    seen = {name: _try(call) for name, call in calls.items()}
    pool_in.put(calls["torch.rnn_tanh_cell"])
    seen["thread started before"] = pool_out.get()
    seen["plain maths"] = _try(lambda: torch.tanh(x @ w_ih.T))
    print(seen)
""")


def test_switching_off_pytorchs_rnn_holds_for_every_route_and_thread():
    run = subprocess.run([sys.executable, "-c", SWITCHED_OFF], capture_output=True, text=True, timeout=120)
    seen = eval(run.stdout.strip().splitlines()[-1])  # a dict literal printed by the child
    assert seen.pop("plain maths") == "RAN"
    assert set(seen.values()) == {"ForbiddenRNN"}, seen
