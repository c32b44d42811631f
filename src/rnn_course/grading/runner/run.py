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
import hashlib
import json
import multiprocessing
import os
import shutil
import signal
import sys
import threading
import time
import uuid
import warnings
from pathlib import Path

from rnn_course.grading import database as gradebook_url
from rnn_course.grading.config import GradingLimits, Sandbox, load_config
from rnn_course.grading.runner import intake
from rnn_course.grading.runner.worker import Outcome, Task, grade_in_worker, init_worker
from rnn_course.grading.sandbox.host import check_sandbox
from rnn_course.grading.steps.restore import NOTE_HEADING

RUNS_DIR = ".runs"  # under the course folder: run reports, statuses, the run lock, staging areas


class GradebookLost(RuntimeError):
    """The gradebook's database stopped answering mid-run: no point grading what cannot be recorded."""


@dataclasses.dataclass
class Result:
    """What happened to one submission."""

    student: str
    status: str  # "graded", "failed" (reason says why) or "skipped" (reason says why)
    score: float | None = None
    max_score: float | None = None
    reason: str = ""  # filled for every outcome that is not a plain, clean grading
    seconds: float = 0.0
    needs_manual_grade: bool = False
    content_hash: str = ""  # of the submitted folder, as graded
    dropped: list[str] = dataclasses.field(default_factory=list)  # submitted files left behind


@dataclasses.dataclass
class RunReport:
    """The whole run: one Result per submission, the total time, and where its JSON copy lies."""

    assignment: str
    workers: int
    scheduler: str | None
    started: str
    results: list[Result] = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    gradebook_seconds: float = 0.0  # what this process, the gradebook's only writer, spent recording
    path: str = ""
    interrupted: bool = False  # Ctrl-C: what was recorded stays, the rest is listed as skipped
    sandboxed: bool = True  # False when graded with --no-sandbox

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
            f"autograde {self.assignment}{'' if self.sandboxed else ' (NO SANDBOX)'}: "
            f"{len(self.graded)} graded, {len(self.failed)} failed, "
            f"{len(self.results) - len(self.graded) - len(self.failed)} skipped, "
            f"{self.seconds:.1f} s with {self.workers} worker(s)"
        ]
        for result in self.failed:
            lines.append(f"  failed  {result.student}: {result.reason}")
        for result in self.results:
            if result.status == "skipped":
                lines.append(f"  skipped {result.student}: {result.reason}")
        for result in self.graded:
            if result.reason:
                lines.append(f"  note    {result.student}: {result.reason}")
            if result.dropped:
                lines.append(f"  dropped {result.student}: {', '.join(result.dropped[:5])}"
                             + (f" and {len(result.dropped) - 5} more" if len(result.dropped) > 5 else ""))
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
    workers: int, scheduler: str | None, sandboxed: bool, course_dir: str
) -> tuple[concurrent.futures.Executor, list]:
    """A concurrent.futures Executor (local processes, or a Dask cluster's) and what to close after it.

    Local workers are forked from this process (which has already imported nbgrader) and each starts its
    warm, sandboxed kernel host at once; Dask workers each start theirs on first use.
    """
    if scheduler:
        from distributed import Client

        client = Client(scheduler)
        return client.get_executor(pure=False), [client]
    pool = concurrent.futures.ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=init_worker,
        initargs=(sandboxed, course_dir),
    )
    return pool, []


def content_hash(folder: Path) -> str:
    """sha256 of a submitted folder's files (names, bytes; not timestamp.txt): a resubmission changes it."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.name != "timestamp.txt" and ".ipynb_checkpoints" not in path.parts:
            digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _why_grade(gradebook, coursedir, assignment: str, student: str, force: bool, digest: str,
               last: dict) -> str | None:
    """Why this submission must be graded now ("" for a first grading), or None if it is graded and unchanged.

    The gradebook, autograded/ and the content hash of the last grading must all agree; any disagreement
    is graded again, and said.
    """
    from nbgrader.api import MissingEntry

    final = coursedir.format_path(coursedir.autograded_directory, student, assignment)
    try:
        gradebook.find_submission(assignment, student)
        in_gradebook = True
    except MissingEntry:
        in_gradebook = False
    if force:
        return ""  # asked for: not worth a note
    if not os.path.exists(final):
        return "graded again: the gradebook has it but autograded/ does not" if in_gradebook else ""
    if not in_gradebook:
        return "graded again: autograded/ has it but the gradebook does not"
    if last.get("content_hash") and last["content_hash"] != digest:
        return "graded again: the submission's content changed since it was graded"
    submitted = coursedir.format_path(coursedir.submitted_directory, student, assignment)
    new = coursedir.get_existing_timestamp(submitted)
    old = coursedir.get_existing_timestamp(final)
    if new is not None and old is not None and new > old:
        return "graded again: resubmitted (newer timestamp.txt)"
    return None


def submission_problem(folder: Path, notebooks: tuple[str, ...]) -> str | None:
    """Why a submitted folder cannot be graded at all (no notebook of the assignment in it), or None."""
    if any((folder / f"{name}.ipynb").is_file() for name in notebooks):
        return None
    expected = ", ".join(f"`{name}.ipynb`" for name in notebooks)
    found = sorted(path.name for path in folder.iterdir() if path.name != "timestamp.txt")
    return f"expected {expected}, found " + (", ".join(f"`{name}`" for name in found) or "an empty folder")


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


STATUS_FILE = "status-{assignment}.json"  # under RUNS_DIR: each student's last outcome, for the export


def read_status(course_dir: Path, assignment: str) -> dict[str, dict]:
    """{student: the last Result of that student, as a dict}; empty before the first run."""
    path = Path(course_dir) / RUNS_DIR / STATUS_FILE.format(assignment=assignment)
    return json.loads(path.read_text()) if path.exists() else {}


def _write_status(course_dir: Path, assignment: str, report: RunReport) -> None:
    status = read_status(course_dir, assignment)
    for result in report.results:
        entry = dataclasses.asdict(result)
        if result.status == "skipped" and result.student in status:  # keep what the grading itself found
            entry = status[result.student]
        status[result.student] = entry
    path = Path(course_dir) / RUNS_DIR / STATUS_FILE.format(assignment=assignment)
    path.with_suffix(".tmp").write_text(json.dumps(status, indent=2, sort_keys=True))
    os.replace(path.with_suffix(".tmp"), path)


def _plan(gradebook, coursedir, assignment: str, students, force: bool, report: RunReport,
          notebooks: tuple[str, ...]) -> tuple[list[str], dict[str, tuple[str, str]]]:
    """The students to grade now, with (why, content hash) each; every other one goes into the report with
    its reason: no folder for the assignment, no notebook of it, or graded and unchanged."""
    submitted = Path(coursedir.root) / coursedir.submitted_directory
    folders = sorted(path for path in submitted.iterdir() if path.is_dir()) if submitted.is_dir() else []
    last = read_status(coursedir.root, assignment)
    max_bytes = GradingLimits(config=coursedir.config).max_submission_bytes
    todo, why = [], {}
    for student in students if students is not None else [folder.name for folder in folders]:
        folder = submitted / student / assignment
        if not folder.is_dir():
            home = submitted / student
            there = sorted(path.name for path in home.iterdir()) if home.is_dir() else []
            reason = (f"no {assignment}/ folder in {coursedir.submitted_directory}/{student}/"
                      + (f" (found: {', '.join(there)})" if there else ""))
            report.results.append(Result(student, "failed", reason=reason))
            continue
        refused = intake.refusal(submitted, student, assignment, max_bytes)
        if refused:  # before anything in it is read
            report.results.append(Result(student, "failed", reason=refused))
            continue
        problem = submission_problem(folder, notebooks)
        digest = content_hash(folder)
        if problem:
            report.results.append(Result(student, "failed", reason=problem, content_hash=digest))
            continue
        reason = _why_grade(gradebook, coursedir, assignment, student, force, digest, last.get(student, {}))
        if reason is None:
            skipped = Result(student, "skipped", content_hash=digest,
                             reason="already graded and unchanged (--force grades it again)")
            report.results.append(_scored(gradebook, assignment, skipped))
        else:
            todo.append(student)
            why[student] = (reason, digest)
    return todo, why


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
    sandbox = sandbox and Sandbox(config=config).enabled
    if sandbox:
        check_sandbox()  # refuse at once, in one line, where no sandbox can be made
    else:
        print("autograde: WARNING: grading WITHOUT a sandbox: every submission runs with your own rights "
              "(--no-sandbox); never do this for untrusted work", file=sys.stderr)
    report.sandboxed = sandbox
    with (
        _ctrl_c_in_this_process_only(),
        _run_lock(runs),
        Gradebook(coursedir.db_url, coursedir.course_id) as gradebook,
    ):
        try:
            notebooks = tuple(notebook.name for notebook in gradebook.find_assignment(assignment).notebooks)
        except MissingEntry:
            raise RuntimeError(
                f"assignment {assignment!r} is not in the gradebook {coursedir.db_url}: "
                "generate it first (`rnn-course grade release`)"
            ) from None

        todo, why = _plan(gradebook, coursedir, assignment, students, force, report, notebooks)
        shutil.rmtree(runs / "staging", ignore_errors=True)  # what a killed run left half done
        run_id = uuid.uuid4().hex[:8]
        staging = runs / "staging" / run_id
        staging.mkdir(parents=True)
        db_for_workers = _snapshot_db(coursedir.db_url, staging)
        staging_rel = os.path.relpath(staging / "autograded", course_dir)
        tasks = [
            Task(str(course_dir), assignment, student, db_for_workers, staging_rel, notebooks, sandbox)
            for student in todo
        ]

        bar = tqdm(total=len(tasks), unit="submission", disable=not progress or not tasks, file=sys.stderr)
        outcomes = _run_tasks(tasks, workers, scheduler, sandbox, str(course_dir))
        done = set()
        try:
            for outcome in outcomes:
                writing = time.monotonic()
                report.results.append(_finish(gradebook, coursedir, config, assignment, outcome,
                                              *why[outcome.student]))
                report.gradebook_seconds += time.monotonic() - writing
                done.add(outcome.student)
                bar.set_postfix_str(f"{outcome.student} {'ok' if outcome.ok else 'failed'}", refresh=False)
                bar.update()
        except KeyboardInterrupt:  # what was recorded stays; the rest is named, and graded by the next run
            report.interrupted = True
            report.results += [
                Result(student, "skipped", reason="not graded: the run was interrupted (Ctrl-C)")
                for student in todo if student not in done
            ]
        except GradebookLost as error:
            raise GradebookLost(
                f"the gradebook {gradebook_url.shown(coursedir.db_url)} stopped answering ({error}); "
                f"{len(done)} of {len(tasks)} submission(s) were recorded before it did, the rest were not: "
                "run autograde again once the database answers"
            ) from None
        finally:
            outcomes.close()  # stop the workers now, not when the generator is collected
            bar.close()
        shutil.rmtree(staging, ignore_errors=True)

    report.seconds = time.monotonic() - start
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = runs / f"{stamp}-{run_id}.json"
    report.path = str(path)
    path.write_text(report.to_json())
    _write_status(course_dir, assignment, report)
    if report.interrupted:
        raise Interrupted(report)
    if progress:
        print(report.summary())
    return report


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a run: its report is written (what was recorded, what was not) and carried here."""

    def __init__(self, report: RunReport):
        super().__init__(report.path)
        self.report = report


def _run_tasks(tasks: list[Task], workers: int, scheduler: str | None, sandboxed: bool, course_dir: str):
    """Yield each task's Outcome as it completes. Tasks lost with a dead worker get one more try."""
    for attempt in range(2):
        if not tasks:
            return
        executor, to_close = _make_executor(min(workers, len(tasks)), scheduler, sandboxed, course_dir)
        futures = {executor.submit(grade_in_worker, task): task for task in tasks}
        lost, interrupted = [], False
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
        except (KeyboardInterrupt, GeneratorExit):  # Ctrl-C: don't wait for the submissions in flight
            interrupted = True
            raise
        finally:
            if interrupted and isinstance(executor, concurrent.futures.ProcessPoolExecutor):
                # Stop the workers; the pool then fails every pending future itself. Cancelling them first
                # would make Python 3.11's pool print an InvalidStateError traceback as it does so.
                for process in list((executor._processes or {}).values()):
                    process.terminate()
            else:
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


def _finish(gradebook, coursedir, config, assignment: str, outcome: Outcome, why: str = "",
            digest: str = "") -> Result:
    """Record one outcome, then publish its autograded folder; a gradebook error fails only this one."""
    result = Result(
        outcome.student,
        "graded" if outcome.ok else "failed",
        reason=outcome.reason,
        seconds=round(outcome.seconds, 3),
        content_hash=digest,
        dropped=list(outcome.dropped),
    )
    try:
        _record(gradebook, coursedir, config, assignment, outcome)
        if outcome.ok:
            final = coursedir.format_path(coursedir.autograded_directory, outcome.student, assignment)
            _publish(outcome.staged, final)
            parts = (why, outcome.reason, graded_notes(Path(final)))
            result.reason = "; ".join(part for part in parts if part)
        return _scored(gradebook, assignment, result)
    except Exception as error:
        if gradebook_url.unreachable(error):
            raise GradebookLost(str(error).strip().splitlines()[0]) from None
        result.status, result.reason = "failed", f"could not record: {type(error).__name__}: {error}"
    return _scored(gradebook, assignment, result)


CLEAN_ERRORS = {"GradingError", "AssertionError", "NotImplementedError"}  # a wrong or missing answer


def graded_notes(folder: Path) -> str:
    """What was not clean in an autograded folder: cells the grader restored, and test errors that are not
    a plain wrong answer ('ForbiddenCall x4'), so the report says why points were lost."""
    import nbformat

    restored, errors = 0, {}
    for path in sorted(folder.glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "markdown" and cell.source.startswith(NOTE_HEADING):
                restored += cell.source.count("\n- ")
            names = {output.get("ename") for output in cell.get("outputs", []) if output.get("ename")}
            for name in names - CLEAN_ERRORS:
                errors[name] = errors.get(name, 0) + 1
    notes = [f"{restored} cell(s) restored from the source"] if restored else []
    notes += [f"{name} x{count}" for name, count in sorted(errors.items(), key=lambda item: -item[1])]
    return ", ".join(notes)
