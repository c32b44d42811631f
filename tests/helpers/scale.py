"""Course copies for the scale tier and the benchmark, and the grades read back from their gradebooks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.helpers import servers
from tests.helpers.course import ASSIGNMENT, DEMO, copy_course

__all__ = ["ASSIGNMENT", "grades", "make_course", "row_counts", "totals"]


def make_course(target: Path, db_url: str | None = None) -> dict[str, float]:
    """A released course copy with the demo submissions; returns their expected auto scores.

    The gradebook is `db_url` (sqlite in the course folder if None).
    """
    from rnn_course.grading.workflow.release import release

    copy_course(target)
    if db_url:
        with open(target / "nbgrader_config.py", "a") as config:
            config.write(f"\n# the scale tier's gradebook\nc.CourseDirectory.db_url = {db_url!r}\n")
    assert release(target, ASSIGNMENT) == []
    expected = {}
    for student, score in json.loads((DEMO / "expected_scores.json").read_text()).items():
        shutil.copytree(DEMO / student / ASSIGNMENT, target / "submitted" / student / ASSIGNMENT)
        expected[student] = float(score)
    return expected


def grades(course_dir: Path) -> dict[str, dict[str, float | None]]:
    """Every recorded submission's auto score per graded cell, read back from the course's gradebook."""
    from nbgrader.api import Gradebook
    from nbgrader.coursedir import CourseDirectory

    from rnn_course.grading.config import load_config

    coursedir = CourseDirectory(config=load_config(course_dir))
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        return {
            submission.student_id: {
                grade.name: grade.auto_score for notebook in submission.notebooks for grade in notebook.grades
            }
            for submission in gradebook.assignment_submissions(ASSIGNMENT)
        }


def totals(by_cell: dict[str, dict[str, float | None]]) -> dict[str, float]:
    return {student: sum(score or 0.0 for score in cells.values()) for student, cells in by_cell.items()}


def row_counts(server: servers.Postgres, database: str) -> dict[str, int]:
    """Rows per nbgrader table that holds one row per submission, notebook or grade."""
    tables = ("submitted_assignment", "submitted_notebook", "grade")
    return {table: server.query(database, f"SELECT count(*) FROM {table}")[0][0] for table in tables}
