"""Scale tier fixtures: one PostgreSQL server for the session, a Dask cluster per test, course copies."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import ROOT, skip_tier_or_fail
from tests.grading.conftest import copy_course, sandbox_ready  # noqa: F401 (the tier grades sandboxed too)
from tests.scale import servers

ASSIGNMENT = "rnn_from_scratch"
DEMO = ROOT / "grader" / "demo_submissions"


def _missing_postgres() -> None:
    skip_tier_or_fail("scale", servers.postgres_missing(), servers.REQUIRE_ENV)


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server for the whole session; each test grades into a database of its own."""
    _missing_postgres()
    server = servers.Postgres()
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def dask_cluster(tmp_path):
    """A scheduler and two worker processes on loopback, each worker in a folder of its own."""
    cluster = servers.DaskCluster(workers=2, folder=tmp_path / "dask")
    try:
        yield cluster
    finally:
        cluster.close()


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
            submission.student_id: {grade.name: grade.auto_score for notebook in submission.notebooks
                                    for grade in notebook.grades}
            for submission in gradebook.assignment_submissions(ASSIGNMENT)
        }


def totals(by_cell: dict[str, dict[str, float | None]]) -> dict[str, float]:
    return {student: sum(score or 0.0 for score in cells.values()) for student, cells in by_cell.items()}


def row_counts(server: servers.Postgres, database: str) -> dict[str, int]:
    """Rows per nbgrader table that holds one row per submission, notebook or grade."""
    tables = ("submitted_assignment", "submitted_notebook", "grade")
    return {table: server.query(database, f"SELECT count(*) FROM {table}")[0][0] for table in tables}


@pytest.fixture(scope="session")
def sqlite_grades(tmp_path_factory) -> dict[str, dict[str, float | None]]:
    """The demo graded the default way (sqlite gradebook, local workers): every test's reference."""
    from rnn_course.grading.runner import run as runner

    course_dir = tmp_path_factory.mktemp("sqlite-course")
    make_course(course_dir)
    report = runner.autograde(course_dir, ASSIGNMENT, workers=2, progress=False)
    assert len(report.graded) == len(report.results), report.summary()
    return grades(course_dir)
