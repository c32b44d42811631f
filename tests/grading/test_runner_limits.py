"""Limits: a submission over a limit scores 0 for the affected part, with a reason; the batch goes on."""

from __future__ import annotations

import pytest

from rnn_course.grading.runner import run as runner
from tests.helpers import runner_demo

pytestmark = [pytest.mark.grading, pytest.mark.slow]

# The tiny course: test_double (2 points) needs the first answer, test_square (3 points) the second.
# Every misbehaving kind breaks the first answer and keeps the second.
EXPECTED = {
    "correct": (5, "graded", ""),
    "timeout": (3, "graded", "time limit"),
    "memory": (3, "graded", "out of memory"),
    "flood": (3, "graded", "output over"),
    "spawn": (3, "graded", "PermissionError"),  # no process may start: that answer cell fails
    "exit": (0, "graded", "kernel died"),
    "broken": (0, "failed", "JSON"),
}
SLEEPER = "4321"  # the spawn kind starts `sleep 4321` children: none may outlive its notebook


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    course = runner_demo.tiny_course(tmp_path_factory.mktemp("limits") / "course", cell_timeout=3)
    for kind in EXPECTED:
        runner_demo.make_submission(course, "tiny", kind, kind)
    return runner.autograde(course, "tiny", workers=2, progress=False)


@pytest.mark.parametrize("kind", EXPECTED)
def test_each_limit_costs_only_the_affected_part(report, kind):
    score, status, reason = EXPECTED[kind]
    result = next(result for result in report.results if result.student == kind)
    assert (result.score, result.status) == (score, status), result
    if reason:
        assert reason in result.reason
    else:
        assert result.reason == ""


def test_nothing_a_kernel_spawned_outlives_it(report):
    assert runner_demo.MISCHIEF["spawn"].count(SLEEPER) == 1
    assert runner_demo.sleepers(SLEEPER) == []


def test_notebook_wall_time(tmp_path):
    """A cell limit longer than the notebook's: the notebook limit stops the loop; what is left scores 0."""
    course = runner_demo.tiny_course(tmp_path / "course", cell_timeout=60, notebook_timeout=6)
    runner_demo.make_submission(course, "tiny", "looper", "timeout")
    runner_demo.make_submission(course, "tiny", "fine", "correct")
    results = {result.student: result for result in runner.autograde(course, "tiny", progress=False).results}
    assert results["fine"].score == 5
    assert results["looper"].score == 0 and results["looper"].status == "graded"
    assert "notebook" in results["looper"].reason and results["looper"].seconds < 30


def test_a_fork_bomb_cannot_fork_even_when_the_grader_is_root(tmp_path):
    """No kernel runs as uid 0 (a user id of its own as root, a user namespace otherwise): the cap holds."""
    course = runner_demo.tiny_course(tmp_path / "course", cell_timeout=10)
    runner_demo.make_submission(course, "tiny", "bomber", "fork")
    [result] = runner.autograde(course, "tiny", progress=False).results
    assert result.score == 3 and "PermissionError" in result.reason  # the seccomp filter refuses fork()
