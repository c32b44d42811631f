"""`grade similar`: near-identical answers are flagged whatever their names, comments and layout."""

import subprocess
import sys

import pytest

from rnn_course.grading.reports import similar
from rnn_course.grading.workflow.release import release
from tests.helpers import submissions as s
from tests.helpers.course import copy_course

pytestmark = pytest.mark.grading

# The solution's rnn_cell with other names, comments and blank lines: the same code.
RENAMED_CELL = (
    s.RNN_CELL_DEF
    + """    # my own version
    z = x @ weight_ih.T + h @ weight_hh.T

    if bias_ih is not None:
        z = z + bias_ih   # input bias
    if bias_hh is not None:
        z = z + bias_hh
    if nonlinearity == "tanh":
        return torch.tanh(z)
    if nonlinearity == "relu":
        return torch.relu(z)
    raise ValueError(f"unknown nonlinearity {nonlinearity!r}")
"""
)
OTHER_CELL = (
    s.RNN_CELL_DEF
    + """    total = torch.addmm(h @ weight_hh.t(), x, weight_ih.t())
    for bias in (bias_ih, bias_hh):
        total = total if bias is None else total + bias
    return {"tanh": torch.tanh, "relu": torch.relu}[nonlinearity](total)
"""
)
OWN_WORDS = (
    "The last column is a pad for short sequences, so it holds a state that ran over padding; "
    "take h_n from a packed run instead, and both final states when bidirectional."
)


def test_renamed_and_recommented_code_is_flagged_and_different_code_is_not(tmp_path):
    course_dir = copy_course(tmp_path)
    assert release(course_dir, s.ASSIGNMENT) == []
    s.write(s.build({"rnn_cell": s.CORRECT["rnn_cell"], "answer_padding": OWN_WORDS}), course_dir, "ada")
    s.write(s.build({"rnn_cell": RENAMED_CELL, "answer_padding": s.PADDING_ANSWER}), course_dir, "ben")
    s.write(s.build({"rnn_cell": OTHER_CELL, "answer_padding": s.PADDING_ANSWER}), course_dir, "cy")
    learners = similar.collect(course_dir, s.ASSIGNMENT)
    flagged = {(pair.first, pair.second, pair.cell) for pair in similar.similar_pairs(learners)}
    assert ("ada", "ben", "rnn_cell") in flagged  # renaming and comments change nothing
    assert ("ben", "cy", "answer_padding") in flagged  # the same written answer, word for word
    assert ("(model answer)", "ada", "rnn_cell") in flagged  # the model answer itself
    assert not any("cy" in pair and cell == "rnn_cell" for *pair, cell in flagged)  # other code: no flag
    assert not any(cell in ("my_rnn", "rnn_forward") for *_, cell in flagged)  # stubs left as released
    shown = subprocess.run(
        [
            sys.executable,
            "-m",
            "rnn_course.cli",
            "grade",
            "similar",
            s.ASSIGNMENT,
            "--course-dir",
            course_dir,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert shown.returncode == 0 and "among 3 submission(s)" in shown.stdout, shown.stderr
    assert any(
        line.split()[1:3] == ["ada", "ben:"] and "rnn_cell 100%" in line for line in shown.stdout.splitlines()
    ), shown.stdout
