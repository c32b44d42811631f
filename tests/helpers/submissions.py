"""Submissions for the grading tests and the demo, built from the source notebook.

A submission starts as the learner sees the release (solutions cleared, hidden tests removed); `answers` then
fills answer cells, `extra_cells` adds the learner's own cells, and `edit` may change anything else.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path

import nbformat

from tests.helpers.paths import ROOT

ASSIGNMENT = "rnn_from_scratch"
SOURCE = ROOT / "grader" / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
MAX_AUTO = 22.0  # points of the autograded test cells
MAX_TOTAL = 24.0  # with the hand-graded answer
POINTS = {  # one property per test cell, one point each
    "test_rnn_cell": 1,
    "test_rnn_cell_relu": 1,
    "test_rnn_cell_no_bias": 1,
    "test_rnn_cell_more": 1,
    "test_rnn_forward": 1,
    "test_rnn_forward_relu": 1,
    "test_rnn_forward_no_h0": 1,
    "test_rnn_forward_no_bias": 1,
    "test_my_rnn_parameters": 1,
    "test_my_rnn_parameters_bidirectional": 1,
    "test_my_rnn_one_layer": 1,
    "test_my_rnn_relu": 1,
    "test_my_rnn_no_bias": 1,
    "test_my_rnn_layers": 1,
    "test_my_rnn_batch_first": 1,
    "test_my_rnn_unbatched": 1,
    "test_my_rnn_bidirectional": 1,
    "test_my_rnn_more": 1,
    "test_my_rnn_packed": 1,
    "test_my_rnn_packed_bidirectional": 1,
    "test_my_rnn_packed_sorted": 1,
    "test_my_rnn_packed_more": 1,
}
PART1 = sum(POINTS[name] for name in POINTS if name.startswith("test_rnn_cell"))
PART2 = sum(POINTS[name] for name in POINTS if name.startswith("test_rnn_forward"))
PART3 = sum(POINTS[name] for name in POINTS if name.startswith("test_my_rnn") and "packed" not in name)
PART4 = sum(POINTS[name] for name in POINTS if name.startswith("test_my_rnn_packed"))


def grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def source_notebook():
    return nbformat.read(SOURCE, as_version=4)


def correct_answers() -> dict[str, str]:
    """The instructor's solutions, as a learner would have written them (no solution markers)."""
    answers = {}
    for cell in source_notebook().cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            lines = [
                line
                for line in cell.source.splitlines()
                if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line
            ]
            answers[grade_id(cell)] = "\n".join(lines)
    return answers


def _as_released(cell):
    cell = copy.deepcopy(cell)
    nbgrader = cell.metadata.get("nbgrader", {})
    if nbgrader.get("solution"):
        if cell.cell_type == "markdown":
            cell.source = "YOUR ANSWER HERE"
        else:
            stub = r"\1# YOUR CODE HERE\n\1raise NotImplementedError()"
            cell.source = re.sub(r"( *)### BEGIN SOLUTION.*?### END SOLUTION", stub, cell.source, flags=re.S)
    cell.source = re.sub(r"\n?### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS", "", cell.source, flags=re.S)
    return cell


def build(
    answers: dict[str, str] | None = None,
    *,
    extra_cells: dict[str, list[str]] | None = None,
    edit: Callable | None = None,
):
    """A submission notebook: answers by grade id, learner cells after a grade id ('' = at the very top)."""
    notebook = source_notebook()
    cells = []
    extra_cells = extra_cells or {}
    for source in extra_cells.get("", []):
        cells.append(nbformat.v4.new_code_cell(source))
    for cell in notebook.cells:
        cell = _as_released(cell)
        if answers and grade_id(cell) in answers:
            cell.source = answers[grade_id(cell)]
        cells.append(cell)
        for source in extra_cells.get(grade_id(cell), []):
            cells.append(nbformat.v4.new_code_cell(source))
    notebook.cells = cells
    if edit is not None:
        edit(notebook)
    return notebook


def write(notebook, course_dir: Path, student: str) -> Path:
    path = Path(course_dir) / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


# ------------------------------------------------------------------------------------------- answer variants

CORRECT = correct_answers()
RNN_CELL_DEF = CORRECT["rnn_cell"].splitlines()[0] + "\n"  # def rnn_cell(x, h, ...):

# MyRNN for one direction, time-first, batched input only: no bidirectional, batch_first, unbatched, packing.
MYRNN_ONE_DIRECTION = (
    CORRECT["my_rnn"].split("    def forward")[0].rstrip()
    + '''

    def forward(self, input, hx=None):
        """Only time-first batched input, one direction."""
        x = input  # (L, B, H_in)
        if hx is None:
            hx = x.new_zeros(self.num_layers, x.shape[1], self.hidden_size)  # (layers, B, H)
        last_states = []
        for layer in range(self.num_layers):
            weights = [getattr(self, f"{kind}_l{layer}", None)
                       for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            x, h = rnn_forward(x, hx[layer], *weights, self.nonlinearity)  # (L, B, H), (B, H)
            last_states.append(h)
        return x, torch.stack(last_states)  # (L, B, H), (layers, B, H)
'''
)

# rnn_cell that ignores `nonlinearity`: always tanh.
RNN_CELL_ALWAYS_TANH = (
    RNN_CELL_DEF
    + """    pre_activation = x @ weight_ih.T + h @ weight_hh.T  # (B, H)
    if bias_ih is not None:
        pre_activation = pre_activation + bias_ih + bias_hh  # (B, H)
    return torch.tanh(pre_activation)  # (B, H)
"""
)

# A typo in MyRNN.forward: every forward call fails, the constructor works.
MYRNN_TYPO = CORRECT["my_rnn"].replace("self.hidden_size)  # (D*l, B, H)", "self.hiden_size)  # (D*l, B, H)")

# Cheats: PyTorch's own RNN behind the learner's names.
RNN_CELL_KERNEL = (
    RNN_CELL_DEF
    + """    kernels = {"tanh": torch.rnn_tanh_cell, "relu": torch.rnn_relu_cell}
    kernel = kernels[nonlinearity]
    return kernel(x, h, weight_ih, weight_hh, bias_ih, bias_hh)
"""
)
MYRNN_SUBCLASS = '''class MyRNN(nn.RNN):
    """nn.RNN under another name."""
'''
MYRNN_WRAPS = '''class MyRNN(nn.Module):
    """Holds an nn.RNN's parameters under the right names and calls PyTorch's kernel in forward."""

    def __init__(self, *args, **kwargs):
        super().__init__()
        inner = nn.RNN(*args, **kwargs)
        self.options = (inner.mode, inner.num_layers, inner.batch_first, inner.bidirectional, inner.bias)
        for name, parameter in inner.named_parameters():
            setattr(self, name, parameter)
        self.__dict__["inner"] = inner  # not a submodule, so not in state_dict

    def forward(self, input, hx=None):
        for name, _ in self.inner.named_parameters():
            setattr(self.inner, name, getattr(self, name))
        return self.inner(input, hx)
'''

PADDING_ANSWER = (
    "Position -1 is padding for every shorter sequence: the state there has run over pads (or is zero after "
    "packing and padding again). Pack the batch and use h_n[-1], or gather out[i, length_i - 1]; for a "
    "bidirectional RNN concatenate h_n[-2] and h_n[-1]."
)
HIDE_TRACEBACKS = "import IPython\n\nIPython.get_ipython().showtraceback = lambda *args, **kwargs: None"
PATCH_ALLCLOSE = "torch.allclose = lambda *args, **kwargs: True"

ALWAYS_TANH_SCORE = MAX_AUTO - 6  # the relu cells of parts 1 to 3, and the three mixed "more" cells
TYPO_SCORE = PART1 + PART2 + 5  # MyRNN fails without h0: parameters, relu, no bias and packed h0 cells score

# The demo shipped in grader/demo_submissions: student -> (submission, expected auto score).
DEMO = {
    "student_correct": (lambda: build({**CORRECT, "answer_padding": PADDING_ANSWER}), MAX_AUTO),
    # one direction, time first, batched: the parameters, one layer, relu, no bias and layers score
    "student_partial": (lambda: build({**CORRECT, "my_rnn": MYRNN_ONE_DIRECTION}), PART1 + PART2 + 6),
    # always tanh: every cell that uses relu fails, the others score
    "student_wrong": (lambda: build({**CORRECT, "rnn_cell": RNN_CELL_ALWAYS_TANH}), ALWAYS_TANH_SCORE),
    "student_blank": (lambda: build(), 0),
    "student_broken": (lambda: build({**CORRECT, "my_rnn": MYRNN_TYPO}), TYPO_SCORE),
    "student_wraps_nn_rnn": (lambda: build({**CORRECT, "my_rnn": MYRNN_WRAPS}), PART1 + PART2),
    "student_patches_allclose": (
        lambda: build({**CORRECT, "my_rnn": MYRNN_TYPO}, extra_cells={"my_rnn": [PATCH_ALLCLOSE]}),
        TYPO_SCORE,
    ),  # patching earns nothing: the grader decides outside the kernel
    "student_hides_errors": (
        lambda: build({**CORRECT, "my_rnn": MYRNN_TYPO}, extra_cells={"": [HIDE_TRACEBACKS]}),
        TYPO_SCORE,
    ),  # hidden tracebacks too
}


def run_answers(answers: dict[str, str]) -> dict:
    """The setup cell, then the answer cells, executed like a notebook would."""
    namespace: dict = {}
    for cell in source_notebook().cells:
        if grade_id(cell) == "setup":
            exec(cell.source, namespace)
    for name in ("rnn_cell", "rnn_forward", "my_rnn"):
        exec(answers[name], namespace)
    return namespace
