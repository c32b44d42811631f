"""Bad submissions graded by the real pipeline (release, parallel runner, nbgrader): each gets an exact score.

One batch, graded once for the module: correct, blank, cheats (PyTorch's own RNN, patched comparisons or
helpers, hidden errors, a kernel that ends) and tampered cells (edited, deleted, duplicated, re-labelled).
"""

import base64
import csv
import pickle
import re

import nbformat
import pytest
from torch import nn

from rnn_course.grading.judge.encoding import RESULT_MIME
from rnn_course.grading.runner import run as runner
from rnn_course.grading.steps import verdicts
from rnn_course.grading.workflow.export import export
from rnn_course.grading.workflow.feedback import feedback, leaked_lines, visible_text
from rnn_course.grading.workflow.release_check import hidden_test_lines
from tests.helpers import submissions as s

pytestmark = [pytest.mark.grading, pytest.mark.slow]

PARTS_1_2 = s.PART1 + s.PART2
PARAMETERS = s.POINTS["test_my_rnn_parameters"] + s.POINTS["test_my_rnn_parameters_bidirectional"]


def _cells(notebook, predicate):
    return [cell for cell in notebook.cells if predicate(cell)]


def _is_test(cell):
    return (s.grade_id(cell) or "").startswith("test_")


def edit_tests(notebook):
    for cell in _cells(notebook, _is_test):
        cell.source = "pass  # no test here any more"


def delete_tests(notebook):
    notebook.cells = [cell for cell in notebook.cells if not _is_test(cell)]


def duplicate_tests(notebook):
    twins = []
    for cell in notebook.cells:
        twins.append(cell)
        if _is_test(cell):
            twins.append(nbformat.v4.new_code_cell(cell.source, metadata=cell.metadata))
    notebook.cells = twins


def relabel_tests(notebook):
    for cell in _cells(notebook, _is_test):
        cell.metadata.nbgrader.update(solution=True, locked=False, points=100)


def add_bonus_cell(notebook):
    nbgrader = {"grade": True, "solution": False, "locked": True, "points": 50, "grade_id": "bonus"}
    notebook.cells.append(nbformat.v4.new_code_cell("pass", metadata={"nbgrader": nbgrader}))


def delete_setup(notebook):
    notebook.cells = [cell for cell in notebook.cells if s.grade_id(cell) != "setup"]


CAPTURED_KERNEL = (
    "_kernel = torch.rnn_tanh_cell\n\n\n"
    + s.RNN_CELL_DEF
    + "    return _kernel(x, h, weight_ih, weight_hh, bias_ih, bias_hh)\n"
)
SWALLOWED_KERNEL = (
    s.RNN_CELL_DEF
    + """    try:
        return torch.rnn_tanh_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh) * 0 + 1
    except Exception:
        pass
"""
    + "\n".join(s.CORRECT["rnn_cell"].splitlines()[2:])
)
FORWARD_WITH_NN_RNN = (
    s.CORRECT["rnn_forward"].splitlines()[0]
    + """
    rnn = nn.RNN(weight_ih.shape[1], weight_hh.shape[0], nonlinearity=nonlinearity, bias=bias_ih is not None,
                 dtype=x.dtype)
    weights = {"weight_ih_l0": weight_ih, "weight_hh_l0": weight_hh,
               "bias_ih_l0": bias_ih, "bias_hh_l0": bias_hh}
    rnn.load_state_dict({name: value for name, value in weights.items() if value is not None})
    output, h_n = rnn(x, None if h0 is None else h0.unsqueeze(0))
    return output, h_n[0]
"""
)
STEALS_REFERENCE = (
    s.CORRECT["my_rnn"].split("    def forward")[0].rstrip()
    + '''

    def forward(self, input, hx=None):
        """Look for the grader's own nn.RNN in the calling frames and let it answer."""
        import sys

        frame = sys._getframe(1)
        while frame is not None:
            for value in list(frame.f_locals.values()):
                if isinstance(value, nn.RNN):
                    return value(input, hx)
            frame = frame.f_back
        raise RuntimeError("no reference found")
'''
)
ZEROES_THE_REFERENCE = (
    s.CORRECT["my_rnn"].split("    def forward")[0].rstrip()
    + '''

    def forward(self, input, hx=None):
        """Zero every nn.RNN's weights in memory (the grader's too), then answer with zeros."""
        import gc

        for thing in gc.get_objects():
            if type(thing) is nn.RNN:
                for parameter in thing.parameters():
                    parameter.data.zero_()
        steps, batch = input.shape[0], input.shape[1]
        hidden = self.hidden_size * (2 if self.bidirectional else 1)
        states = self.num_layers * (2 if self.bidirectional else 1)
        return input.new_zeros(steps, batch, hidden), input.new_zeros(states, batch, self.hidden_size)
'''
)
AGREEABLE_TENSOR = (
    '''class Agreeable(torch.Tensor):
    """Says yes to every comparison."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.allclose, torch.equal, torch.Tensor.__eq__):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})


'''
    + s.RNN_CELL_DEF
    + "    return torch.zeros_like(h).as_subclass(Agreeable)\n"
)
FAKE_CHECKS = """import types

checks = types.SimpleNamespace(**{name: (lambda *args, **kwargs: None) for name in dir(checks)})"""
FAKE_MODULE = """import sys
import types

sys.modules["rnn_course.grading.checks"] = types.ModuleType("rnn_course.grading.checks")"""
FAKE_RESULTS = '''from IPython.display import display


def _fake(kind, learner, kw):
    """Send the grader a made-up result for every check: it still judges it against its own nn.RNN."""
    value = {"module": {"is_module": True, "is_rnn_base": False, "parameters": {}, "types": {},
                        "largest": 0.1}}
    display({checks.RESULT_MIME: {"kind": kind, "args": kw, "value": checks.encode(value)}}, raw=True)


checks._check = _fake'''
FABRICATED_PARAMETERS = '''from IPython.display import display


def _claims(MyRNN, **kw):
    """Claim nn.RNN's names, shapes and initialisation for MyRNN, which is never built."""
    shapes = checks.cases.parameter_shapes(kw)
    module = {"mro": [["__main__", "MyRNN"], ["torch.nn.modules.module", "Module"], ["builtins", "object"]],
              "parameters": shapes, "is_module": True, "is_rnn_base": False, "largest": 0.4,
              "types": {name: "Parameter" for name in shapes}}
    value = {"module": module, "loaded": True}
    display({checks.RESULT_MIME: {"kind": "parameters", "args": kw, "value": checks.encode(value)}}, raw=True)


checks.check_parameters = _claims'''
SECOND_COPY_OF_NN_RNN = '''import importlib.util

_spec = importlib.util.spec_from_file_location("torch.nn.modules.rnn_again", torch.nn.modules.rnn.__file__)
_again = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_again)


class MyRNN(_again.RNN):
    """nn.RNN from a second copy of its module, whose classes the ban on nn.RNNBase does not know."""
'''
RANDN_INIT = s.CORRECT["my_rnn"].replace(
    "torch.empty(shape, device=device, dtype=dtype).uniform_(-bound, bound)",
    "torch.randn(shape, device=device, dtype=dtype) * 0.01",
)


def unpickled_parameters() -> str:
    """MyRNN takes its parameters from nn.RNN objects pickled into the notebook (one per parameter check)."""
    configs = [
        kw
        for cell in s.source_notebook().cells
        if (s.grade_id(cell) or "").startswith("test_my_rnn_parameters")
        for _, kw in verdicts.plan(cell.source)
    ]
    pickled = {}
    for kw in configs:
        full = {"input_size": 3, "hidden_size": 4, **kw}
        options = {key: value for key, value in kw.items() if key not in ("input_size", "hidden_size")}
        pickled[repr(sorted(full.items()))] = nn.RNN(full["input_size"], full["hidden_size"], **options)
    blob = base64.b64encode(pickle.dumps(pickled)).decode()
    return f'''import base64
import pickle

PICKLED = {blob!r}


class MyRNN(nn.Module):
    """Registers the parameters of an unpickled nn.RNN under its own names."""

    def __init__(self, input_size, hidden_size, **options):
        super().__init__()
        key = repr(sorted(dict(input_size=input_size, hidden_size=hidden_size, **options).items()))
        for name, parameter in pickle.loads(base64.b64decode(PICKLED))[key].named_parameters():
            setattr(self, name, parameter)
'''


THREAD_RNN = (
    "import queue\nimport threading\n\njobs, answers = queue.Queue(), queue.Queue()\n\n\n"
    + """def _answer_with_nn_rnn():
    while True:
        module, input, hx = jobs.get()
        try:
            rnn = nn.RNN(module.input_size, module.hidden_size, module.num_layers, module.nonlinearity,
                         module.bias, module.batch_first, 0.0, module.bidirectional, dtype=torch.float64)
            rnn.load_state_dict(module.state_dict())
            answers.put(rnn(input, hx))
        except Exception as error:
            answers.put(error)


threading.Thread(target=_answer_with_nn_rnn, daemon=True).start()  # before any test runs


"""
    + s.CORRECT["my_rnn"].split("    def forward")[0].rstrip()
    + '''

    def forward(self, input, hx=None):
        """Hand the work to the thread, which calls PyTorch's nn.RNN."""
        jobs.put((self, input, hx))
        return answers.get()
'''
)
BLANK_TEST_CELLS = "import IPython\n\nIPython.get_ipython().input_transformers_post.append(lambda lines: [])"
CUSTOM_EXCEPTION = (
    "import IPython\n\n"
    "IPython.get_ipython().set_custom_exc((Exception,), lambda shell, kind, value, tb, tb_offset=None: None)"
)

ALWAYS_TANH = {**s.CORRECT, "rnn_cell": s.RNN_CELL_ALWAYS_TANH}  # see the demo's student_wrong

# student -> (submission, exact auto score)
CASES = {
    "correct": (lambda: s.build(s.CORRECT), s.MAX_AUTO),
    "blank": (lambda: s.build(), 0),
    # PyTorch's own RNN in the learner's code: those parts earn nothing.
    "kernel_captured_early": (lambda: s.build({**s.CORRECT, "rnn_cell": CAPTURED_KERNEL}), PARAMETERS),
    "kernel_error_swallowed": (lambda: s.build({**s.CORRECT, "rnn_cell": SWALLOWED_KERNEL}), s.MAX_AUTO),
    "subclasses_nn_rnn": (lambda: s.build({**s.CORRECT, "my_rnn": s.MYRNN_SUBCLASS}), PARTS_1_2),
    "forward_uses_nn_rnn": (
        lambda: s.build({**s.CORRECT, "rnn_forward": FORWARD_WITH_NN_RNN}),
        s.MAX_AUTO - s.PART2,
    ),
    "calls_the_graders_reference": (
        lambda: s.build({**s.CORRECT, "my_rnn": STEALS_REFERENCE}),
        PARTS_1_2 + PARAMETERS,
    ),
    "zeroes_the_reference": (
        lambda: s.build({**s.CORRECT, "my_rnn": ZEROES_THE_REFERENCE}),
        PARTS_1_2 + PARAMETERS,
    ),
    "tensor_that_agrees": (lambda: s.build({**s.CORRECT, "rnn_cell": AGREEABLE_TENSOR}), PARAMETERS),
    # Patching what runs in the kernel changes nothing: the grader decides outside it, so the grade is what
    # the answers earn (a right answer keeps its points, a wrong one gains none).
    "patches_allclose_before_setup": (
        lambda: s.build(s.CORRECT, extra_cells={"": ["import torch\n\ntorch.allclose = lambda *a: 1"]}),
        s.MAX_AUTO,
    ),
    "patches_torch_testing": (
        lambda: s.build(
            s.CORRECT, extra_cells={"my_rnn": ["torch.testing.assert_close = lambda *args, **kwargs: None"]}
        ),
        s.MAX_AUTO,
    ),
    "patches_numpy": (
        lambda: s.build(
            s.CORRECT,
            extra_cells={"my_rnn": ["import numpy\n\nnumpy.allclose = lambda *args, **kwargs: True"]},
        ),
        s.MAX_AUTO,
    ),
    "patches_builtins": (
        lambda: s.build(
            s.CORRECT,
            extra_cells={
                "my_rnn": ["import builtins\n\nbuiltins.round = lambda number, digits=None: number"]
            },
        ),
        s.MAX_AUTO,
    ),
    "patches_nn_rnn_forward": (
        lambda: s.build(
            {**s.CORRECT, "my_rnn": s.MYRNN_TYPO},
            extra_cells={
                "my_rnn": ["nn.RNN.forward = lambda self, input, hx=None: MyRNN.forward(self, input, hx)"]
            },
        ),
        s.TYPO_SCORE,
    ),
    "patches_a_helper": (
        lambda: s.build(
            {**s.CORRECT, "my_rnn": s.MYRNN_TYPO},
            extra_cells={"my_rnn": ["checks.check_myrnn = lambda *args, **kwargs: None"]},
        ),
        PARTS_1_2 + PARAMETERS + 1,
    ),  # and the packed cell with an h0 (the typo not run)
    "replaces_the_helper_module": (
        lambda: s.build(s.CORRECT, extra_cells={"my_rnn": [FAKE_CHECKS]}),
        PARTS_1_2,
    ),
    "fakes_results": (
        lambda: s.build({**s.CORRECT, "my_rnn": s.MYRNN_TYPO}, extra_cells={"my_rnn": [FAKE_RESULTS]}),
        PARTS_1_2,
    ),
    # The parameters, judged by the grader on the tensors MyRNN holds (test_parameters.py has the details).
    "fabricates_the_parameters_report": (
        lambda: s.build(
            {key: s.CORRECT[key] for key in ("rnn_cell", "rnn_forward")},
            extra_cells={"my_rnn": [FABRICATED_PARAMETERS]},
        ),
        PARTS_1_2,
    ),
    "subclasses_a_second_copy_of_nn_rnn": (
        lambda: s.build({**s.CORRECT, "my_rnn": SECOND_COPY_OF_NN_RNN}),
        PARTS_1_2,
    ),
    "takes_unpickled_nn_rnn_parameters": (
        lambda: s.build({**s.CORRECT, "my_rnn": unpickled_parameters()}),
        PARTS_1_2,
    ),
    "initialises_with_randn": (lambda: s.build({**s.CORRECT, "my_rnn": RANDN_INIT}), s.MAX_AUTO - PARAMETERS),
    "thread_started_before_the_tests": (
        lambda: s.build({**s.CORRECT, "my_rnn": THREAD_RNN}),
        PARTS_1_2 + PARAMETERS,
    ),
    "swaps_sys_modules": (lambda: s.build(s.CORRECT, extra_cells={"my_rnn": [FAKE_MODULE]}), s.MAX_AUTO),
    # Hiding errors, or stopping the kernel: the affected tests earn nothing.
    "hides_tracebacks": (
        lambda: s.build({**s.CORRECT, "my_rnn": s.MYRNN_TYPO}, extra_cells={"": [s.HIDE_TRACEBACKS]}),
        s.TYPO_SCORE,
    ),
    "custom_exception_handler": (
        lambda: s.build({**s.CORRECT, "my_rnn": s.MYRNN_TYPO}, extra_cells={"my_rnn": [CUSTOM_EXCEPTION]}),
        s.TYPO_SCORE,
    ),
    "blanks_later_test_cells": (
        lambda: s.build(s.CORRECT, extra_cells={"my_rnn": [BLANK_TEST_CELLS]}),
        PARTS_1_2,
    ),
    "exits_the_kernel": (
        lambda: s.build(s.CORRECT, extra_cells={"test_rnn_forward_no_bias": ["import os\n\nos._exit(0)"]}),
        PARTS_1_2,
    ),
    "calls_exit": (
        lambda: s.build(s.CORRECT, extra_cells={"test_rnn_forward_no_bias": ["exit()"]}),
        PARTS_1_2,
    ),
    "raises_system_exit": (
        lambda: s.build(s.CORRECT, extra_cells={"my_rnn": ["raise SystemExit(0)"]}),
        s.MAX_AUTO,
    ),
    # Tampered cells: put back from the source, so the grade is what the answers earn.
    "edits_test_cells": (lambda: s.build(ALWAYS_TANH, edit=edit_tests), s.ALWAYS_TANH_SCORE),
    "deletes_test_cells": (lambda: s.build(ALWAYS_TANH, edit=delete_tests), s.ALWAYS_TANH_SCORE),
    "duplicates_test_cells": (lambda: s.build(s.CORRECT, edit=duplicate_tests), s.MAX_AUTO),
    "relabels_test_cells": (lambda: s.build(ALWAYS_TANH, edit=relabel_tests), s.ALWAYS_TANH_SCORE),
    "adds_a_bonus_cell": (lambda: s.build(s.CORRECT, edit=add_bonus_cell), s.MAX_AUTO),
    "deletes_the_setup_cell": (lambda: s.build(s.CORRECT, edit=delete_setup), s.MAX_AUTO),
}


@pytest.fixture(scope="module")
def graded(released_course):
    for student, (make, _) in CASES.items():
        s.write(make(), released_course, student)
    report = runner.autograde(released_course, s.ASSIGNMENT, workers=2, progress=False)
    return released_course, {result.student: result for result in report.results}


@pytest.mark.parametrize("student", CASES, ids=list(CASES))
def test_each_bad_submission_gets_its_exact_score(graded, student):
    _, results = graded
    result = results[student]
    assert result.status == "graded", result.reason
    assert (result.score, result.max_score) == (CASES[student][1], s.MAX_TOTAL), result.reason


def _autograded(course_dir, student):
    path = course_dir / "autograded" / student / s.ASSIGNMENT / f"{s.ASSIGNMENT}.ipynb"
    return nbformat.read(path, as_version=4)


def test_a_correct_submission_writes_nothing_to_stderr_and_keeps_no_marker(graded):
    course_dir, _ = graded
    notebook = _autograded(course_dir, "correct")
    source = {s.grade_id(cell): cell.source for cell in s.source_notebook().cells}
    for cell in _cells(notebook, _is_test):
        assert cell.source == source[s.grade_id(cell)]  # the original test, not the grader's extra line
        for output in cell.outputs:
            assert output.get("name") != "stderr" and output.output_type != "error", output
            assert RESULT_MIME not in output.get("data", {})  # the results stay with the grader


def test_the_reason_for_a_zero_is_written_where_the_learner_reads_it(graded):
    course_dir, _ = graded
    errors = {
        student: {
            output.get("ename")
            for cell in _autograded(course_dir, student).cells
            for output in cell.get("outputs", [])
        }
        for student in ("patches_numpy", "blanks_later_test_cells", "exits_the_kernel")
    }
    assert errors["patches_numpy"] <= {None}  # no error anywhere: its right answers kept their points
    assert "GradingError" in errors["blanks_later_test_cells"]  # no result came back for the blanked tests
    assert "KernelDied" in errors["exits_the_kernel"]


def test_pytorchs_rnn_is_named_as_the_reason_a_part_scored_zero(graded):
    course_dir, _ = graded
    messages = [
        re.sub(r"\x1b\[[0-9;]*m", "", output.get("evalue", ""))
        for cell in _autograded(course_dir, "subclasses_nn_rnn").cells
        for output in cell.get("outputs", [])
        if output.get("ename") == "ForbiddenCall"
    ]
    assert messages and all("PyTorch's" in message for message in messages)


def test_feedback_never_shows_a_hidden_test(graded):
    course_dir, _ = graded
    pages = feedback(course_dir, s.ASSIGNMENT)
    assert len(pages) == len(CASES)
    hidden = hidden_test_lines(s.source_notebook())
    assert hidden and "checks.check_packed(MyRNN, **config)" in hidden
    for page in pages:
        text = visible_text(page.read_text())
        assert "checks.check_myrnn(MyRNN, input_size=2, hidden_size=3" in text  # visible tests are shown
        assert leaked_lines(page.read_text(), hidden) == [], page


def test_export_writes_one_row_per_submission(graded):
    course_dir, results = graded
    path = export(course_dir)
    rows = {row["student_id"]: row for row in csv.DictReader(path.open())}
    assert set(rows) == set(CASES)
    for student, (_, score) in CASES.items():
        assert float(rows[student]["score"]) == score and float(rows[student]["max_score"]) == s.MAX_TOTAL
