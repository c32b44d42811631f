"""The helpers that test cells import, run in this process against the instructor's solution and bad ones."""

import builtins
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy
import pytest
import torch
from torch import nn

from rnn_course.grading import checks
from tests.grading import submissions

pytestmark = pytest.mark.grading


def load(answers: dict[str, str]) -> dict:
    """The setup cell, then the answer cells, executed like a notebook would."""
    namespace: dict = {}
    for cell in submissions.source_notebook().cells:
        if submissions.grade_id(cell) == "setup":
            exec(cell.source, namespace)
    for grade_id in ("rnn_cell", "rnn_forward", "my_rnn"):
        exec(answers[grade_id], namespace)
    return namespace


@pytest.fixture(scope="module")
def solution() -> dict:
    return load(submissions.CORRECT)


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
    wrong = load({**submissions.CORRECT, "rnn_cell": submissions.RNN_CELL_ALWAYS_TANH})
    checks.check_rnn_cell(wrong["rnn_cell"], nonlinearity="tanh")
    with pytest.raises(checks.GradingError, match=r"rnn_cell \(relu.*differ from nn.RNN's"):
        checks.check_rnn_cell(wrong["rnn_cell"], nonlinearity="relu")
    one_direction = load({**submissions.CORRECT, "my_rnn": submissions.MYRNN_ONE_DIRECTION})
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


KERNEL_CHEATS = {
    "kernel called directly": submissions.RNN_CELL_KERNEL,
    "kernel through torch.ops": submissions.RNN_CELL_DEF
    + "    return torch.ops.aten.rnn_tanh_cell.default(x, h, weight_ih, weight_hh, bias_ih, bias_hh)\n",
    "kernel captured before the guard": "_captured = torch.rnn_tanh_cell\n" + submissions.RNN_CELL_DEF
    + "    return _captured(x, h, weight_ih, weight_hh, bias_ih, bias_hh)\n",
    "kernel error swallowed": submissions.RNN_CELL_DEF + """    try:
        torch.rnn_tanh_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh)
    except Exception:
        pass
    return torch.tanh(x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh)
""",
    "nn.RNNCell with the weights": submissions.RNN_CELL_DEF + """
    cell = nn.RNNCell(x.shape[1], h.shape[1], dtype=x.dtype)
    weights = dict(weight_ih=weight_ih, weight_hh=weight_hh, bias_ih=bias_ih, bias_hh=bias_hh)
    cell.load_state_dict(weights)
    return cell(x, h)
""",
}


@pytest.mark.parametrize("cheat", KERNEL_CHEATS, ids=list(KERNEL_CHEATS))
def test_pytorchs_own_rnn_inside_the_learners_code_is_caught(cheat):
    namespace = load({**submissions.CORRECT, "rnn_cell": KERNEL_CHEATS[cheat]})
    with pytest.raises(checks.ForbiddenCall, match="used PyTorch's own RNN|kernel"):
        checks.check_rnn_cell(namespace["rnn_cell"])


def test_a_worker_thread_running_the_kernel_is_caught_on_every_call():
    pool = ThreadPoolExecutor(max_workers=1)

    def rnn_cell(x, h, weight_ih, weight_hh, bias_ih=None, bias_hh=None, nonlinearity="tanh"):
        return pool.submit(torch.rnn_tanh_cell, x, h, weight_ih, weight_hh, bias_ih, bias_hh).result()

    try:
        for _ in range(2):  # the second call reuses the thread started during the first
            with pytest.raises(checks.ForbiddenCall, match="rnn_tanh_cell"):
                checks.check_rnn_cell(rnn_cell)
    finally:
        pool.shutdown()
    assert threading.getprofile() is None


def test_subclassing_or_wrapping_nn_rnn_is_caught():
    subclass = load({**submissions.CORRECT, "my_rnn": submissions.MYRNN_SUBCLASS})
    with pytest.raises(checks.ForbiddenCall):
        checks.check_myrnn(subclass["MyRNN"])
    wrapper = load({**submissions.CORRECT, "my_rnn": submissions.MYRNN_WRAPS})
    with pytest.raises(checks.ForbiddenCall, match="torch/nn/modules/rnn.py"):
        checks.check_parameters(wrapper["MyRNN"])


def test_the_guard_leaves_no_hook_behind(solution):
    checks.check_rnn_forward(solution["rnn_forward"])
    assert torch._C._len_torch_function_stack() == 0
    assert sys.getprofile() is None and threading.getprofile() is None


TAMPERING = {
    "torch.allclose": (torch, "allclose", lambda *args, **kwargs: True),
    "torch.testing.assert_close": (torch.testing, "assert_close", lambda *args, **kwargs: None),
    "torch.randn": (torch, "randn", lambda *shape, **kwargs: torch.zeros(*shape)),  # all-zero inputs
    "torch.Tensor.__eq__": (torch.Tensor, "__eq__", lambda self, other: True),
    "torch.Tensor.detach": (torch.Tensor, "detach", lambda self: torch.zeros(())),
    "torch.nn.functional.pad": (nn.functional, "pad", lambda *args, **kwargs: None),
    "nn.RNN.forward": (nn.RNN, "forward", lambda self, input, hx=None: (input, hx)),
    "numpy.allclose": (numpy, "allclose", lambda *args, **kwargs: True),
    "numpy.testing": (numpy, "testing", object()),
    # same behaviour, another object: a wrapper is enough to be noticed (and keeps pytest itself working)
    "builtins.isinstance": (builtins, "isinstance", lambda obj, kind, real=isinstance: real(obj, kind)),
    "checks.check_myrnn": (checks, "check_myrnn", lambda *args, **kwargs: None),
    "checks.expect_tensor": (checks, "expect_tensor", lambda *args, **kwargs: None),
    "checks.TOLERANCE": (checks, "TOLERANCE", 1e9),
}


@pytest.mark.parametrize("target", TAMPERING, ids=list(TAMPERING))
def test_replacing_what_the_tests_rely_on_is_detected(target, monkeypatch, solution):
    owner, name, replacement = TAMPERING[target]
    checks.verify_integrity()
    monkeypatch.setattr(owner, name, replacement)
    with pytest.raises(checks.IntegrityError, match=name):
        checks.verify_integrity()
    monkeypatch.undo()
    checks.verify_integrity()


def test_a_patched_helper_function_body_is_detected(monkeypatch):
    monkeypatch.setattr(checks.expect_tensor, "__code__", (lambda actual, expected, what: None).__code__)
    with pytest.raises(checks.IntegrityError, match="expect_tensor"):
        checks.verify_integrity()


def test_changing_the_graders_own_tensors_is_detected(solution):
    import gc

    def vandal(x, h, weight_ih, weight_hh, bias_ih=None, bias_hh=None, nonlinearity="tanh"):
        for thing in gc.get_objects():  # find the grader's nn.RNN and make it agree with a zero answer
            if type(thing) is nn.RNN:
                for parameter in thing.parameters():
                    parameter.data.zero_()
        return torch.zeros_like(h)

    with pytest.raises(checks.IntegrityError, match="reference weights or inputs"):
        checks.check_rnn_cell(vandal)

    class LoadsByZeroing(solution["MyRNN"]):
        def load_state_dict(self, state_dict, strict=True, assign=False):
            for tensor in state_dict.values():
                tensor.zero_()  # only the grader's copies: the reference itself stays intact
            return super().load_state_dict(state_dict, strict)

    with pytest.raises(checks.GradingError, match="values differ"):  # its own weights are zero, not nn.RNN's
        checks.check_myrnn(LoadsByZeroing)


def test_a_global_module_hook_cannot_rewrite_the_reference(solution):
    wrong = load({**submissions.CORRECT, "rnn_cell": submissions.RNN_CELL_ALWAYS_TANH})

    def agree_with_the_learner(module, inputs, output):
        if type(module) is nn.RNN and module.nonlinearity == "relu":
            weights = list(module.parameters())
            output, h_n = wrong["rnn_forward"](inputs[0], inputs[1][0], *weights, nonlinearity="relu")
            return output, h_n.unsqueeze(0)  # (L, B, H), (1, B, H): what nn.RNN returns
        return output

    handle = nn.modules.module.register_module_forward_hook(agree_with_the_learner)
    try:
        with pytest.raises(checks.GradingError, match="differ from nn.RNN's"):
            checks.check_rnn_cell(wrong["rnn_cell"], nonlinearity="relu")
    finally:
        handle.remove()


def test_what_pytorch_itself_rebinds_is_not_tampering():
    default = torch.get_default_dtype()
    try:
        torch.set_default_dtype(torch.float64)  # swaps torch.Storage
        checks.verify_integrity()
    finally:
        torch.set_default_dtype(default)
