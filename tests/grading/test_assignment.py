"""The assignment itself: the source passes its tests, the release fails them and hides what it must."""

import shutil

import nbformat
import pytest
from nbgrader.validator import Validator

from rnn_course.grading.workflow.release import check_release
from tests.helpers import submissions
from tests.helpers.course import copy_course

pytestmark = [pytest.mark.grading, pytest.mark.slow]

RELEASE = "release/rnn_from_scratch/rnn_from_scratch.ipynb"


def test_the_source_notebook_passes_every_test():
    assert Validator().validate(str(submissions.SOURCE)) == {}


def test_the_points_add_up_to_what_the_tests_expect():
    graded = {
        submissions.grade_id(cell): cell.metadata.nbgrader["points"]
        for cell in submissions.source_notebook().cells
        if cell.metadata.get("nbgrader", {}).get("grade")
    }
    assert {name: points for name, points in graded.items() if name.startswith("test_")} == submissions.POINTS
    assert sum(graded.values()) == submissions.MAX_TOTAL
    parts = [submissions.PART1, submissions.PART2, submissions.PART3, submissions.PART4]
    assert sum(parts) == submissions.MAX_AUTO


def test_the_release_fails_every_test_and_has_no_solution_nor_hidden_test(released_course):
    released = nbformat.read(released_course / RELEASE, as_version=4)
    text = "\n".join(cell.source for cell in released.cells)
    assert "BEGIN HIDDEN TESTS" not in text and "random_configs" not in text
    assert "uniform_(-bound, bound)" not in text and "YOUR CODE HERE" in text
    failed = Validator(invert=True).validate(str(released_course / RELEASE))
    assert failed == {}  # inverted: every test cell fails on the blank notebook
    assert check_release(released_course, "rnn_from_scratch") == []


def test_the_release_check_notices_a_leaked_solution_and_hidden_test(released_course, tmp_path):
    leaky = copy_course(tmp_path / "leaky")
    shutil.copytree(released_course / "release", leaky / "release")
    released = nbformat.read(leaky / RELEASE, as_version=4)
    for cell in released.cells:
        if submissions.grade_id(cell) == "rnn_cell":
            cell.source = submissions.CORRECT["rnn_cell"]  # a solution left in the release
        if submissions.grade_id(cell) == "test_my_rnn_packed_more":
            cell.source += "\nfor config in checks.random_configs(10, seed=23, packed=True):"
    nbformat.write(released, leaky / RELEASE)
    problems = check_release(leaky, "rnn_from_scratch")
    where = {problem.split(": ")[1] for problem in problems}
    assert "cell rnn_cell, line 3" in where and "cell test_my_rnn_packed_more, line 3" in where, problems
