"""The parallel autograde runner: nbgrader's own pipeline, many submissions at once, warm kernels, limits.

    report = autograde(Path("grader"), "rnn_from_scratch", workers=2)

Workers (a process pool, or a Dask cluster with `scheduler=`) sanitize and execute submissions in parallel,
each in a fresh kernel forked from a warm one that has already imported torch (kernels.py), within the
limits of limits.py. This process alone writes the gradebook: one transaction per submission, then the
autograded folder moves into place. Kill it at any moment and run it again: what was recorded stays, what
was not is graded again, and nothing is recorded twice or by halves.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import datetime
import fcntl
import json
import multiprocessing
import os
import shutil
import sys
import time
import uuid
import warnings
from pathlib import Path

from rnn_course.grading import kernels
from rnn_course.grading.runner_worker import Outcome, Task, grade_in_worker, init_worker
from rnn_course.grading.workflow import load_config

RUNS_DIR = ".runs"  # under the course folder: run reports, the run lock and the staging area


@dataclasses.dataclass
class Result:
    """What happened to one submission."""

    student: str
    status: str  # "graded", "failed" or "skipped" (already graded and unchanged)
    score: float | None = None
    max_score: float | None = None
    reason: str = ""
    seconds: float = 0.0
    needs_manual_grade: bool = False


@dataclasses.dataclass
class RunReport:
    """The whole run: one Result per submission, the total time, and where its JSON copy lies."""

    assignment: str
    workers: int
    scheduler: str | None
    started: str
    results: list[Result] = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    path: str = ""

    @property
    def graded(self) -> list[Result]:
        return [result for result in self.results if result.status == "graded"]

    @property
    def failed(self) -> list[Result]:
        return [result for result in self.results if result.status == "failed"]

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2)

    def summary(self, slowest: int = 3) -> str:
        lines = [
            f"autograde {self.assignment}: {len(self.graded)} graded, {len(self.failed)} failed, "
            f"{len(self.results) - len(self.graded) - len(self.failed)} skipped, "
            f"{self.seconds:.1f} s with {self.workers} worker(s)"
        ]
        for result in self.failed:
            lines.append(f"  failed  {result.student}: {result.reason}")
        for result in self.graded:
            if result.reason:
                lines.append(f"  limited {result.student}: {result.reason}")
        ran = [result for result in self.graded + self.failed if result.seconds > 0]
        ran = sorted(ran, key=lambda result: -result.seconds)[:slowest]
        if ran:
            lines.append(
                "  slowest: " + ", ".join(f"{result.student} {result.seconds:.1f} s" for result in ran)
            )
        return "\n".join(lines)


# ---------------------------------------------------------------- the gradebook, written by this process only


class _OneTransaction:
    """Route nbgrader's many commits on a gradebook into a single one (or none, if anything fails)."""

    def __init__(self, gradebook):
        self.gradebook = gradebook

    def __enter__(self):
        self.gradebook.db.commit = self.gradebook.db.flush
        return self.gradebook

    def __exit__(self, kind, error, trace):
        del self.gradebook.db.commit
        if kind is None:
            self.gradebook.db.commit()
        else:
            self.gradebook.db.rollback()


def _save_grades(gradebook, notebook, resources) -> None:
    """nbgrader's SaveAutoGrades and AssignLatePenalties, on our open gradebook instead of a new one."""
    from nbgrader.preprocessors import AssignLatePenalties, SaveAutoGrades
    from nbgrader.preprocessors.base import NbGraderPreprocessor

    save = SaveAutoGrades(config=resources["config"])
    save.notebook_id, save.assignment_id, save.student_id = (
        resources["nbgrader"][key] for key in ("notebook", "assignment", "student")
    )
    save.gradebook = gradebook
    NbGraderPreprocessor.preprocess(save, notebook, resources)

    late = AssignLatePenalties(config=resources["config"])
    late.init_plugin()
    submission = gradebook.find_submission(save.assignment_id, save.student_id)
    scored = gradebook.find_submission_notebook(save.notebook_id, save.assignment_id, save.student_id)
    scored.late_submission_penalty = None
    if submission.total_seconds_late > 0:
        penalty = late.plugin_inst.late_submission_penalty(
            save.student_id, scored.score, submission.total_seconds_late
        )
        if penalty is not None:
            scored.late_submission_penalty = late._check_late_penalty(scored, penalty)


def _record(gradebook, coursedir, config, assignment: str, outcome: Outcome) -> None:
    """Write one submission to the gradebook in a single transaction, as nbgrader's autograde would."""
    import nbformat

    source = coursedir.format_path(coursedir.submitted_directory, outcome.student, assignment)
    timestamp = coursedir.get_existing_timestamp(source)
    with warnings.catch_warnings(), _OneTransaction(gradebook):
        warnings.simplefilter("ignore", category=Warning)  # nbgrader's own SQLAlchemy chatter, seen stock too
        gradebook.update_or_create_student(outcome.student)
        if timestamp:
            gradebook.update_or_create_submission(assignment, outcome.student, timestamp=timestamp)
        else:
            gradebook.update_or_create_submission(assignment, outcome.student)
        if not outcome.ok:
            return
        for notebook in gradebook.find_assignment(assignment).notebooks:  # not submitted: zero, as nbgrader
            if notebook.name not in outcome.notebooks:
                for grade in gradebook.find_submission_notebook(
                    notebook.name, assignment, outcome.student
                ).grades:
                    grade.auto_score = 0
                    grade.needs_manual_grade = False
        for name in outcome.notebooks:
            notebook = nbformat.read(
                os.path.join(outcome.staged, f"{name}.ipynb"), as_version=nbformat.NO_CONVERT
            )
            resources = {
                "config": config,
                "nbgrader": {
                    "notebook": name,
                    "assignment": assignment,
                    "student": outcome.student,
                    "db_url": "",
                },
            }
            _save_grades(gradebook, notebook, resources)


def _publish(staged: str, final: str) -> None:
    """Move the staged autograded folder into place (a rename: it appears whole or not at all)."""
    if os.path.exists(final):
        shutil.rmtree(final)
    os.makedirs(os.path.dirname(final), exist_ok=True)
    os.replace(staged, final)


# ---------------------------------------------------------------- planning and running


def _default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _make_executor(
    workers: int, scheduler: str | None, kernel_server: str
) -> tuple[concurrent.futures.Executor, list]:
    """A concurrent.futures Executor (local processes, or a Dask cluster's) and what to close after it.

    Local workers are forked from this process (which has already imported nbgrader) and share the
    run's warm kernel server; Dask workers each start their own on first use.
    """
    if scheduler:
        from distributed import Client

        client = Client(scheduler)
        return client.get_executor(pure=False), [client]
    pool = concurrent.futures.ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=init_worker,
        initargs=(kernel_server,),
    )
    return pool, []


@contextlib.contextmanager
def _warm_kernel_server(wanted: bool):
    """The run's fork server for warm kernels (None if not wanted); stopped when the run ends."""
    server = kernels.ForkServer() if wanted else None
    try:
        yield server
    finally:
        if server:
            server.close()


def _needs_grading(coursedir, assignment: str, student: str, force: bool) -> bool:
    """As nbgrader decides: not autograded yet, resubmitted since, or forced."""
    final = coursedir.format_path(coursedir.autograded_directory, student, assignment)
    if force or not os.path.exists(final):
        return True
    new = coursedir.get_existing_timestamp(
        coursedir.format_path(coursedir.submitted_directory, student, assignment)
    )
    old = coursedir.get_existing_timestamp(final)
    return new is not None and old is not None and new > old


@contextlib.contextmanager
def _run_lock(runs: Path):
    """One grading run per course at a time; the OS drops the lock if the run is killed."""
    runs.mkdir(parents=True, exist_ok=True)
    with open(runs / "lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RuntimeError(f"another autograde run holds {runs / 'lock'}") from None
        yield


def _snapshot_db(db_url: str, staging: Path) -> str:
    """Workers read source cells from a private copy of an sqlite gradebook, never blocking its writer."""
    prefix = "sqlite:///"
    if not db_url.startswith(prefix) or ":memory:" in db_url:
        return db_url
    copy = staging / "gradebook-snapshot.db"
    shutil.copyfile(db_url[len(prefix) :], copy)
    return prefix + str(copy)


def _plan(gradebook, coursedir, assignment: str, students, force: bool, report: RunReport) -> list[str]:
    """The students to grade now; the others go straight into the report (skipped, or no submission)."""
    submitted = Path(coursedir.format_path(coursedir.submitted_directory, "*", assignment)).parent.parent
    found = sorted(path.parent.name for path in submitted.glob(f"*/{assignment}") if path.is_dir())
    todo = []
    for student in students if students is not None else found:
        if student not in found:
            report.results.append(Result(student, "failed", reason=f"no submission in {submitted}"))
        elif _needs_grading(coursedir, assignment, student, force):
            todo.append(student)
        else:
            report.results.append(_scored(gradebook, assignment, Result(student, "skipped")))
    return todo


def autograde(
    course_dir: Path,
    assignment: str,
    *,
    workers: int | None = None,
    students: list[str] | None = None,
    scheduler: str | None = None,
    progress: bool = True,
    force: bool = False,
    warm: bool = True,
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
        raise RuntimeError(f"--workers must be at least 1, not {workers}")
    if not (course_dir / "nbgrader_config.py").exists() and not (course_dir / "source").is_dir():
        raise RuntimeError(f"{course_dir} is not an nbgrader course (no nbgrader_config.py, no source/)")
    workers = workers or _default_workers()
    report = RunReport(
        assignment=assignment,
        workers=workers,
        scheduler=scheduler,
        started=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    )
    runs = course_dir / RUNS_DIR
    local_warm = warm and not scheduler
    with (
        _run_lock(runs),
        _warm_kernel_server(local_warm) as server,  # first, so its torch import overlaps what follows
        Gradebook(coursedir.db_url, coursedir.course_id) as gradebook,
    ):
        try:
            notebooks = tuple(notebook.name for notebook in gradebook.find_assignment(assignment).notebooks)
        except MissingEntry:
            raise RuntimeError(
                f"assignment {assignment!r} is not in the gradebook {coursedir.db_url}: "
                "generate it first (`rnn-course grade release`)"
            ) from None

        todo = _plan(gradebook, coursedir, assignment, students, force, report)
        shutil.rmtree(runs / "staging", ignore_errors=True)  # what a killed run left half done
        run_id = uuid.uuid4().hex[:8]
        staging = runs / "staging" / run_id
        staging.mkdir(parents=True)
        db_for_workers = _snapshot_db(coursedir.db_url, staging)
        staging_rel = os.path.relpath(staging / "autograded", course_dir)
        tasks = [
            Task(str(course_dir), assignment, student, db_for_workers, staging_rel, notebooks, warm)
            for student in todo
        ]

        bar = tqdm(total=len(tasks), unit="submission", disable=not progress or not tasks, file=sys.stderr)
        try:
            for outcome in _run_tasks(tasks, workers, scheduler, server.address if server else ""):
                report.results.append(_finish(gradebook, coursedir, config, assignment, outcome))
                bar.set_postfix_str(f"{outcome.student} {'ok' if outcome.ok else 'failed'}", refresh=False)
                bar.update()
        finally:
            bar.close()
        shutil.rmtree(staging, ignore_errors=True)

    report.seconds = time.monotonic() - start
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = runs / f"{stamp}-{run_id}.json"
    report.path = str(path)
    path.write_text(report.to_json())
    if progress:
        print(report.summary())
    return report


def _run_tasks(tasks: list[Task], workers: int, scheduler: str | None, kernel_server: str):
    """Yield each task's Outcome as it completes. Tasks lost with a dead worker get one more try."""
    for attempt in range(2):
        if not tasks:
            return
        executor, to_close = _make_executor(min(workers, len(tasks)), scheduler, kernel_server)
        futures = {executor.submit(grade_in_worker, task): task for task in tasks}
        lost = []
        try:
            for future in concurrent.futures.as_completed(futures):
                try:
                    yield future.result()  # grade_in_worker never raises: an error here is a lost worker
                except Exception as error:
                    if attempt == 0:
                        lost.append(futures[future])
                    else:
                        reason = f"worker lost: {type(error).__name__}: {error}"
                        yield Outcome(student=futures[future].student, ok=False, reason=reason)
        finally:
            for future in futures:  # only left undone if the run itself was interrupted
                future.cancel()
            executor.shutdown(wait=True)
            for thing in to_close:
                thing.close()
        tasks = lost


def _scored(gradebook, assignment: str, result: Result) -> Result:
    from nbgrader.api import MissingEntry

    try:
        submission = gradebook.find_submission(assignment, result.student)
    except MissingEntry:
        return result
    result.score, result.max_score = float(submission.score), float(submission.max_score)
    result.needs_manual_grade = bool(submission.needs_manual_grade)
    return result


def _finish(gradebook, coursedir, config, assignment: str, outcome: Outcome) -> Result:
    """Record one outcome, then publish its autograded folder; a gradebook error fails only this one."""
    result = Result(
        outcome.student,
        "graded" if outcome.ok else "failed",
        reason=outcome.reason,
        seconds=round(outcome.seconds, 3),
    )
    try:
        _record(gradebook, coursedir, config, assignment, outcome)
        if outcome.ok:
            _publish(
                outcome.staged,
                coursedir.format_path(coursedir.autograded_directory, outcome.student, assignment),
            )
    except Exception as error:
        result.status, result.reason = "failed", f"could not record: {type(error).__name__}: {error}"
    return _scored(gradebook, assignment, result)
