"""The runner grades exactly as stock `nbgrader autograde` does, and reports what it could not grade."""

from __future__ import annotations

import json
import shutil

import pytest

from rnn_course.grading.runner import run as runner
from tests.helpers import runner_demo

pytestmark = [pytest.mark.grading, pytest.mark.slow]

KINDS = ["correct", "partial", "wrong", "timeout", "broken", "not_a_notebook", "correct"]


@pytest.fixture(scope="module")
def courses(tmp_path_factory):
    """Two identical copies of a tiny released course with the same submissions: stock's and ours."""
    base = runner_demo.tiny_course(tmp_path_factory.mktemp("parity") / "base", cell_timeout=3)
    for index, kind in enumerate(KINDS):
        runner_demo.make_submission(base, "tiny", f"s{index}_{kind}", kind)
    stock = shutil.copytree(base, base.parent / "stock")
    runner_demo.stock_autograde(stock, "tiny")
    report = runner.autograde(base, "tiny", workers=2, progress=False)
    return base, stock, report


def test_grades_identical_to_stock_nbgrader(courses):
    ours, stock, _ = courses
    our_grades, stock_grades = runner_demo.grades(ours, "tiny"), runner_demo.grades(stock, "tiny")
    assert our_grades == stock_grades
    # The comparison means something only if the grades differ between submissions.
    totals = {student: sum(score or 0 for score in scores.values()) for student, scores in our_grades.items()}
    assert totals == {
        "s0_correct": 5,
        "s1_partial": 2,
        "s2_wrong": 0,
        "s3_timeout": 3,
        "s4_broken": 0,
        "s5_not_a_notebook": 0,
        "s6_correct": 5,
    }


def errors_by_cell(notebook: dict) -> list[list[str | None]]:
    return [[output.get("ename") for output in cell.get("outputs", [])] for cell in notebook["cells"]]


def test_autograded_notebooks_match_stock(courses):
    ours, stock, _ = courses
    for student in ("s0_correct", "s1_partial", "s3_timeout"):
        mine = json.loads((ours / "autograded" / student / "tiny" / "tiny.ipynb").read_text())
        theirs = json.loads((stock / "autograded" / student / "tiny" / "tiny.ipynb").read_text())
        assert [cell["source"] for cell in mine["cells"]] == [cell["source"] for cell in theirs["cells"]]
        assert errors_by_cell(mine) == errors_by_cell(theirs)
    assert not (ours / "autograded" / "s4_broken").exists()


def test_report_names_every_submission_with_reasons(courses):
    ours, _, report = courses
    by_student = {result.student: result for result in report.results}
    assert set(by_student) == {f"s{index}_{kind}" for index, kind in enumerate(KINDS)}
    assert {student for student, result in by_student.items() if result.status == "failed"} == {
        "s4_broken",
        "s5_not_a_notebook",
    }
    assert "JSON" in by_student["s4_broken"].reason
    assert "notebook" in by_student["s5_not_a_notebook"].reason.lower()
    assert "time limit" in by_student["s3_timeout"].reason
    assert by_student["s0_correct"].score == 5 and by_student["s0_correct"].max_score == 5
    saved = json.loads(open(report.path).read())
    assert saved["assignment"] == "tiny" and len(saved["results"]) == len(KINDS)
    assert report.path.startswith(str(ours / ".runs"))


def test_second_run_skips_what_is_graded_and_retries_failures(courses):
    ours, _, _ = courses
    again = runner.autograde(ours, "tiny", workers=2, progress=False)
    status = {result.student: result.status for result in again.results}
    assert status["s0_correct"] == "skipped" and status["s4_broken"] == "failed"
    assert {result.student: result.score for result in again.results}["s1_partial"] == 2


def test_bad_arguments_are_clear_errors(courses, tmp_path):
    ours, _, _ = courses
    with pytest.raises(RuntimeError, match="not in the gradebook"):
        runner.autograde(ours, "no_such_assignment", workers=1, progress=False)
    with pytest.raises(RuntimeError, match="at least 1"):
        runner.autograde(ours, "tiny", workers=0, progress=False)
    with pytest.raises(RuntimeError, match="not an nbgrader course"):
        runner.autograde(tmp_path, "tiny", progress=False)


def test_one_run_at_a_time(courses):
    import fcntl

    ours, _, _ = courses
    with open(ours / ".runs" / "lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(RuntimeError, match="another autograde run"):
            runner.autograde(ours, "tiny", workers=1, progress=False)
