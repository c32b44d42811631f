"""The grading tier: every test needs the sandbox; one released course copy shared by the tier."""

from pathlib import Path

import pytest

from tests.helpers.course import ASSIGNMENT, copy_course


@pytest.fixture(scope="session", autouse=True)
def _sandboxed(sandbox_ready):
    """Every grading test grades in the sandbox."""


@pytest.fixture(scope="session")
def released_course(tmp_path_factory) -> Path:
    """A course copy with the assignment released (so it is in the gradebook); shared, so only add to it."""
    from rnn_course.grading.workflow.release import release

    course_dir = copy_course(tmp_path_factory.mktemp("course"))
    assert release(course_dir, ASSIGNMENT) == []
    return course_dir
