"""The parallel autograde runner: nbgrader's own pipeline, many submissions at once, warm kernels, limits.

    report = autograde(Path("grader"), "rnn_from_scratch", workers=2)

Workers (a process pool, or a Dask cluster with `scheduler=`) sanitize and execute submissions in parallel,
each in a fresh kernel forked from a warm one that has already imported torch (sandbox/kernels.py), within the
limits of steps/execute.py. This process alone writes the gradebook: one transaction per submission, then the
autograded folder moves into place. Kill it at any moment and run it again: what was recorded stays, what
was not is graded again, and nothing is recorded twice or by halves.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import os
import shutil
import signal
import sys
import threading
import time
import uuid
from pathlib import Path

from rnn_course.grading import atomic, database
from rnn_course.grading.config import Sandbox, load_config
from rnn_course.grading.errors import CourseError, GradebookError, GradebookLost, RunRefused
from rnn_course.grading.faults import backups, messages
from rnn_course.grading.faults.explain import explained
from rnn_course.grading.runner.plan import plan, snapshot_db
from rnn_course.grading.runner.pool import default_workers, run_tasks
from rnn_course.grading.runner.record import Stopped, finish
from rnn_course.grading.runner.report import INTERRUPTED, RUNS_DIR, Result, RunReport, Status, write_status
from rnn_course.grading.runner.worker import Task
from rnn_course.grading.sandbox.host import check_sandbox


@explained("autograde")
def autograde(
    course_dir: Path,
    assignment: str,
    *,
    workers: int | None = None,
    students: list[str] | None = None,
    scheduler: str | None = None,
    progress: bool = True,
    force: bool = False,
    sandbox: bool = True,
) -> RunReport:
    """Autograde every submission of `assignment` in `course_dir` (or only `students`); see the module doc."""
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.coursedir import CourseDirectory
    from tqdm import tqdm

    start = time.monotonic()
    course_dir = Path(course_dir).resolve()
    config = load_config(course_dir)
    coursedir = CourseDirectory(config=config)
    if workers is not None and workers < 1:
        raise RunRefused(f"--workers must be at least 1, not {workers}")
    sources = Path(coursedir.format_path(coursedir.source_directory, ".", "."))
    if not (course_dir / "nbgrader_config.py").exists() and not sources.is_dir():
        raise RunRefused(f"{course_dir} is not an nbgrader course (no nbgrader_config.py, no source/)")
    workers = workers or default_workers()
    report = RunReport(
        assignment=assignment,
        workers=workers,
        scheduler=scheduler,
        started=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    )
    runs = course_dir / RUNS_DIR
    sandbox = sandbox and Sandbox(config=config).enabled
    if sandbox:
        check_sandbox()  # refuse at once, in one line, where no sandbox can be made
    else:
        print(
            "autograde: WARNING: grading WITHOUT a sandbox: every submission runs with your own rights "
            "(--no-sandbox); never do this for untrusted work",
            file=sys.stderr,
        )
    report.sandboxed = sandbox
    backups.require_sound(coursedir.db_url, course_dir)  # a damaged gradebook: one line, the copy to restore
    with (
        _ctrl_c_in_this_process_only(),
        _run_lock(runs),
        Gradebook(coursedir.db_url, coursedir.course_id) as gradebook,
    ):
        try:
            notebooks = tuple(notebook.name for notebook in gradebook.find_assignment(assignment).notebooks)
        except MissingEntry:
            raise GradebookError(
                f"assignment {assignment!r} is not in the gradebook {coursedir.db_url}: "
                "generate it first (`rnn-course grade release`)"
            ) from None

        todo, why = plan(gradebook, coursedir, assignment, students, force, report, notebooks)
        shutil.rmtree(runs / "staging", ignore_errors=True)  # what a killed run left half done
        run_id = uuid.uuid4().hex[:8]
        staging = runs / "staging" / run_id
        staging.mkdir(parents=True)
        if todo:
            backups.keep(coursedir.db_url, course_dir, config)  # a way back, before anything is written
        db_for_workers = snapshot_db(coursedir.db_url, staging)
        staging_rel = os.path.relpath(staging / "autograded", course_dir)
        tasks = [
            Task(str(course_dir), assignment, student, db_for_workers, staging_rel, notebooks, sandbox)
            for student in todo
        ]

        bar = tqdm(total=len(tasks), unit="submission", disable=not progress or not tasks, file=sys.stderr)
        outcomes = run_tasks(tasks, workers, scheduler, sandbox, str(course_dir))
        done = set()
        try:
            for outcome in outcomes:
                writing = time.monotonic()
                report.results.append(
                    finish(gradebook, coursedir, config, assignment, outcome, *why[outcome.student])
                )
                report.gradebook_seconds += time.monotonic() - writing
                done.add(outcome.student)
                bar.set_postfix_str(f"{outcome.student} {'ok' if outcome.ok else 'failed'}", refresh=False)
                bar.update()
        except KeyboardInterrupt:  # what was recorded stays; the rest is named, and graded by the next run
            report.interrupted = True
            report.results += [
                Result(student, Status.SKIPPED, reason=INTERRUPTED) for student in todo if student not in done
            ]
        except GradebookLost as error:
            raise GradebookLost(
                f"the gradebook {database.shown(coursedir.db_url)} stopped answering ({error}); "
                f"{len(done) + error.recorded} of {len(tasks)} submission(s) were recorded before it did, "
                "the rest were not: "
                "run autograde again once the database answers"
            ) from None
        except Stopped as stop:  # a full disk, a gradebook locked too long: at the first one
            raise _stopped(stop, coursedir, len(done) + stop.recorded, len(tasks)) from stop.__cause__
        finally:
            outcomes.close()  # stop the workers now, not when the generator is collected
            bar.close()
        shutil.rmtree(staging, ignore_errors=True)

    report.seconds = time.monotonic() - start
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = runs / f"{stamp}-{run_id}.json"
    report.path = str(path)
    atomic.write_text(path, report.to_json())
    write_status(course_dir, assignment, report)
    if report.interrupted:
        raise Interrupted(report)
    if progress:
        print(report.summary())
    return report


def _stopped(stop: Stopped, coursedir, recorded: int, total: int) -> CourseError:
    """One line for a batch stopped part-way: what stopped it, what was kept, and that a re-run goes on."""
    kept = f"{recorded} of {total} submission(s) were graded and recorded"
    if stop.disk_full:
        return messages.disk_full(
            Path(coursedir.root) / coursedir.autograded_directory,
            f"{kept}, nothing was recorded for the other {total - recorded}: "
            "free some space and run autograde again to grade them",
        )
    db = database.sqlite_path(coursedir.db_url) or coursedir.db_url
    return messages.locked(
        db,
        database.busy_timeout(),
        f"{kept}, the rest were not; run autograde again when it is done to grade them",
    )


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a run: its report is written (what was recorded, what was not) and carried here."""

    def __init__(self, report: RunReport):
        super().__init__(report.path)
        self.report = report


@contextlib.contextmanager
def _ctrl_c_in_this_process_only():
    """Ctrl-C reaches the whole process group; only this process acts on it (the report is written here).

    Worker processes forked during the run inherit this handler and so ignore it: they print no traceback,
    and the run's own bookkeeping decides what was recorded.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    parent = os.getpid()

    def interrupt(signum, frame):
        if os.getpid() == parent:
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def _run_lock(runs: Path):
    """One grading run per course at a time; the OS drops the lock if the run is killed."""
    runs.mkdir(parents=True, exist_ok=True)
    with open(runs / "lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunRefused(f"another autograde run holds {runs / 'lock'}") from None
        yield
