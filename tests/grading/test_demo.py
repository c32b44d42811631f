"""`rnn-course grade ...` from the command line, and the demo an instructor runs first."""

import csv
import json

import nbformat
import pytest

from rnn_course.grading.judge import mistakes
from rnn_course.grading.workflow.demo import EXPECTED_SCORES, DemoRow, format_table
from rnn_course.grading.workflow.feedback import visible_text
from tests.helpers import submissions
from tests.helpers.course import copy_course, run_cli
from tests.helpers.paths import ROOT

pytestmark = pytest.mark.grading

DEMO = ROOT / "grader" / "demo_submissions"
MISTAKES_PAGE = (ROOT / "docs" / "instructors" / "feedback-and-mistakes.md").read_text()


def test_grade_lists_its_five_steps():
    result = run_cli("grade", "--help")
    assert result.returncode == 0
    for step in ("release", "autograde", "feedback", "export", "mistakes", "demo"):
        assert step in result.stdout


def test_the_shipped_demo_submissions_are_the_ones_the_tests_describe():
    expected = json.loads((DEMO / EXPECTED_SCORES).read_text())
    assert expected == {student: score for student, (_, score) in submissions.DEMO.items()}
    for student, (make, _) in submissions.DEMO.items():
        shipped = nbformat.read(DEMO / student / "rnn_from_scratch" / "rnn_from_scratch.ipynb", as_version=4)
        assert [cell.source for cell in shipped.cells] == [cell.source for cell in make().cells], student
        assert not any(cell.get("outputs") for cell in shipped.cells if cell.cell_type == "code")


def test_an_unknown_assignment_is_one_clear_error(tmp_path):
    result = run_cli("grade", "release", "no_such_assignment", "--course-dir", copy_course(tmp_path))
    assert result.returncode == 1
    assert result.stderr.startswith("grade release:") and "Traceback" not in result.stderr.splitlines()[0]


def test_a_score_that_differs_from_the_expected_one_is_marked():
    rows = [
        DemoRow("a", 22, 22.0, 24.0, ""),
        DemoRow("b", 6, 8.0, 24.0, ""),
        DemoRow("c", 0, None, None, "failed: not a notebook"),
    ]
    table = format_table(rows).splitlines()
    assert [row.ok for row in rows] == [True, False, False]
    assert table[1].split()[-1] == "ok" and "DIFF" in table[2] and "DIFF" in table[3]


@pytest.mark.slow
def test_make_demo_runs_the_whole_pipeline_and_prints_the_expected_grades(tmp_path):
    course_dir = copy_course(tmp_path / "course", demo=True)
    result = run_cli("grade", "demo", "rnn_from_scratch", "--course-dir", course_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    expected = json.loads((DEMO / EXPECTED_SCORES).read_text())
    lines = {line.split()[0]: line.split() for line in result.stdout.splitlines() if line.split()}
    for student, score in expected.items():
        assert lines[student][1:4] == [f"{score:g}", f"{score:g}/{submissions.MAX_TOTAL:g}", "ok"]
    assert "all 8 scores as expected" in result.stdout
    assert "PyTorch's own RNN used in 14 test cell(s)" in " ".join(lines["student_wraps_nn_rnn"])  # in words
    assert lines["student_patches_allclose"][2] == lines["student_hides_errors"][2]  # patching earns nothing
    rows = csv.DictReader((course_dir / "grades.csv").open())
    grades = {row["student_id"]: float(row["score"]) for row in rows}
    assert grades == expected
    pages = sorted((course_dir / "feedback").glob("*/rnn_from_scratch/rnn_from_scratch.html"))
    assert [page.parts[-3] for page in pages] == sorted(expected)
    named = {
        "student_wrong": ["always_tanh"],
        "student_partial": ["bidirectional_ignored", "packed_not_handled"],
    }
    for student, keys in named.items():  # the wrong and partial submissions are told what their mistake is
        text = visible_text(pages[sorted(expected).index(student)].read_text())
        for key in keys:
            assert f"Mistake: {mistakes.BY_KEY[key].name}. {mistakes.BY_KEY[key].explanation}" in text
    excerpt = MISTAKES_PAGE.split("# Feedback that names the mistake")[1].split("```")[1]  # the docs' example
    partial = visible_text(pages[sorted(expected).index("student_partial")].read_text())
    assert " ".join(excerpt.split()) in partial


@pytest.mark.slow
def test_each_step_runs_on_its_own_from_the_command_line(tmp_path):
    course_dir = copy_course(tmp_path / "course")
    steps = [
        ("release", "no solution, no hidden test"),
        ("autograde", "1 graded, 0 failed"),
        ("feedback", "wrote 1 feedback page(s)"),
        ("export", "grades.csv"),
    ]
    for step, said in steps:
        if step == "autograde":
            submissions.write(submissions.build(submissions.CORRECT), course_dir, "solo")
        result = run_cli(
            "grade",
            step,
            "rnn_from_scratch",
            "--course-dir",
            course_dir,
            *(["--workers", "1"] if step == "autograde" else []),
        )
        assert result.returncode == 0 and said in result.stdout, (step, result.stdout, result.stderr)
    rows = list(csv.DictReader((course_dir / "grades.csv").open()))
    assert [(row["student_id"], float(row["score"])) for row in rows] == [("solo", submissions.MAX_AUTO)]
