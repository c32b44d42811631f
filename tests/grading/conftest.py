"""A throwaway copy of the course (config and source only) for every test that runs nbgrader."""

import shutil
from pathlib import Path

import pytest

from tests.conftest import ROOT, skip_tier_or_fail

REQUIRE_SANDBOX = "RNN_COURSE_REQUIRE_SANDBOX"  # set by .ci/run: there a missing bwrap fails the tier


@pytest.fixture(scope="session", autouse=True)
def sandbox_ready():
    """Grading runs in a bubblewrap sandbox: without bwrap the tier is skipped in one line, or fails in CI."""
    missing = "bubblewrap is not installed (Debian/Ubuntu: sudo apt-get install bubblewrap)"
    skip_tier_or_fail("grading", None if shutil.which("bwrap") else missing, REQUIRE_SANDBOX)


def copy_course(target: Path, *, demo: bool = False) -> Path:
    """grader/'s config and source (and the demo submissions if asked) under target; nothing generated."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "grader" / "nbgrader_config.py", target)
    shutil.copytree(ROOT / "grader" / "source", target / "source")
    if demo:
        shutil.copytree(ROOT / "grader" / "demo_submissions", target / "demo_submissions")
    return target


@pytest.fixture(scope="session")
def released_course(tmp_path_factory) -> Path:
    """A course copy with the assignment released (so it is in the gradebook); shared, so only add to it."""
    from rnn_course.grading.workflow.release import release

    course_dir = copy_course(tmp_path_factory.mktemp("course"))
    assert release(course_dir, "rnn_from_scratch") == []
    return course_dir
