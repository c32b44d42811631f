"""Kill -9 in the middle of a run, run again: the batch completes, no grade lost, doubled or half-written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from rnn_course.grading.runner import run as runner
from tests.helpers import runner_demo
from tests.helpers.runner_demo import gradebook_rows, published

pytestmark = [pytest.mark.grading, pytest.mark.slow]

STUDENTS = runner_demo.TINY_STUDENTS
RUN = (
    "import sys; from pathlib import Path; from rnn_course.grading.runner import run as runner; "
    "runner.autograde(Path(sys.argv[1]), 'tiny', workers=2, progress=False)"
)


def test_kill_then_resume_completes_the_batch(tmp_path):
    course = runner_demo.tiny_course(tmp_path / "course")
    for student in STUDENTS:
        runner_demo.make_submission(course, "tiny", student, student.split("_")[1])

    run = subprocess.Popen(
        [sys.executable, "-c", RUN, str(course)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 180
    while len(published(course)) < 2 and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    done_before = published(course)
    assert 2 <= len(done_before) < len(STUDENTS), "the kill must land in the middle of the batch"

    # Whatever the gradebook holds now is whole: every recorded submission has every score.
    rows = gradebook_rows(course)
    for student, scores in rows.items():
        assert None not in scores and sum(scores) == STUDENTS[student], (student, scores)
    assert done_before <= set(rows)

    time.sleep(3)  # the killed run's workers notice their parent is gone and leave
    report = runner.autograde(course, "tiny", workers=2, progress=False)
    status = {result.student: result.status for result in report.results}
    assert {student for student, state in status.items() if state == "skipped"} == done_before
    assert set(status.values()) <= {"graded", "skipped"}
    assert {result.student: result.score for result in report.results} == STUDENTS

    rows = gradebook_rows(course)
    assert {student: sum(scores) for student, scores in rows.items()} == STUDENTS
    assert all(len(scores) == 2 and None not in scores for scores in rows.values())
    assert published(course) == set(STUDENTS)
    assert not (course / ".runs" / "staging").exists() or not any((course / ".runs" / "staging").iterdir())


def pool_workers() -> list[int]:
    """The runner's worker processes: this process's children forked from it (same command line)."""
    me = os.getpid()
    with open(f"/proc/{me}/cmdline", "rb") as cmdline:
        my_command = cmdline.read()
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                same_command = cmdline.read() == my_command  # not the kernel server, not a tracker
        except (OSError, ValueError, IndexError):
            continue
        if parent == me and same_command:
            found.append(int(pid))
    return found


@pytest.mark.filterwarnings("ignore:resource_tracker:UserWarning")
def test_a_dead_worker_does_not_stop_the_batch(tmp_path):
    import threading

    course = runner_demo.tiny_course(tmp_path / "course")
    students = {f"learner{index}": 5 for index in range(4)}
    for student in students:
        runner_demo.make_submission(course, "tiny", student, "correct")
    killed = []

    def kill_one_worker() -> None:
        deadline = time.monotonic() + 60
        while not killed and time.monotonic() < deadline:
            workers = pool_workers()
            if workers:
                time.sleep(1.0)  # let it start grading
                os.kill(workers[0], signal.SIGKILL)
                killed.append(workers[0])
            time.sleep(0.05)

    killer = threading.Thread(target=kill_one_worker)
    killer.start()
    report = runner.autograde(course, "tiny", workers=2, progress=False)
    killer.join()
    assert killed, "no worker was found to kill"
    assert {result.student: (result.status, result.score) for result in report.results} == {
        student: ("graded", score) for student, score in students.items()
    }
