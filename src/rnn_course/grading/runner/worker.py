"""The worker side of the runner: sanitize and execute one submission with nbgrader's own pipeline.

The worker never writes the gradebook. It reads the assignment's source cells (from a read-only snapshot of
the sqlite gradebook, or from the shared database), runs nbgrader's sanitizing and executing preprocessors
and writes the autograded notebook into a private staging folder. The parent then saves the grades in one
transaction and moves the folder into place, so a crash never leaves half a submission behind.
"""

from __future__ import annotations

import contextvars
import dataclasses
import glob
import json
import os
import shutil
import threading
import time
import traceback
from pathlib import Path

import fastjsonschema
import jsonschema
import torch
from nbconvert.writers import FilesWriter
from nbgrader.converters import Autograde
from nbgrader.converters.base import BaseConverter, NbGraderException
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import AssignLatePenalties, Execute, SaveAutoGrades
from nbgrader.utils import find_all_files

from rnn_course.grading import _compat, database
from rnn_course.grading.config import GradingLimits, Sandbox, load_config
from rnn_course.grading.faults import messages
from rnn_course.grading.runner import intake
from rnn_course.grading.sandbox.host import host_for_this_thread
from rnn_course.grading.steps import overwrite
from rnn_course.grading.steps.execute import LimitedExecute
from rnn_course.grading.steps.sanitise import SanitiseOutputs

# Saving grades is the parent's job; everything else in nbgrader's autograde list runs here unchanged.
PARENT_PREPROCESSORS = (SaveAutoGrades, AssignLatePenalties)


@dataclasses.dataclass(frozen=True)
class Task:
    """Everything a worker needs to grade one submission; plain data, so it travels to any executor."""

    course_dir: str
    assignment: str
    student: str
    db_url: str  # where the worker reads source cells: a snapshot for sqlite, the shared database otherwise
    staging: str  # folder under the course root, used in place of autograded/
    notebooks: tuple[str, ...]  # the assignment's notebooks known to the gradebook
    sandbox: bool = True  # run every kernel in the bubblewrap sandbox (sandbox/host.py)


@dataclasses.dataclass
class Outcome:
    student: str
    ok: bool
    reason: str = ""
    seconds: float = 0.0
    kernel_seconds: float = 0.0  # of those, waiting for its kernels to start (LimitedExecute)
    staged: str = ""  # the staged autograded folder, when ok
    notebooks: tuple[str, ...] = ()  # notebooks written there
    dropped: tuple[str, ...] = ()  # the submission's other files, left behind
    disk_full: bool = False  # a write failed for want of space: the run stops rather than fail the rest
    database_lost: bool = False  # the database server did not answer (restarting?): graded again once it does


class StagedAutograde(Autograde):
    """nbgrader's Autograde, minus the gradebook writes, writing into a staging folder."""

    known_notebooks: tuple[str, ...] = ()
    sandboxed_runner = True  # the one converter runner_only.RunnerOnlyExporter serves
    intake_directory = ""  # under the course root: the vetted copy of submitted/ (intake.py) that is graded
    source_cells: dict  # (db_url, notebook, assignment) -> overwrite.SourceCells, for this run

    @property
    def _input_directory(self) -> str:
        return self.intake_directory if self._sanitizing else self.coursedir.autograded_directory

    def init_assignment(self, assignment_id: str, student_id: str) -> None:
        # Only the notebooks travel (intake.py copied them, and timestamp.txt, into the intake folder): the
        # graded folder gets those and the instructor's source files, never the learner's other files.
        dest_path = self._format_dest(assignment_id, student_id)
        os.makedirs(dest_path, exist_ok=True)
        for name in (intake.TIMESTAMP, intake.SECRET):  # the secret: for nbgrader's release_feedback
            kept = os.path.join(self._format_source(assignment_id, student_id), name)
            if os.path.isfile(kept):
                shutil.copyfile(kept, os.path.join(dest_path, name))
        source_path = self.coursedir.format_path(self.coursedir.source_directory, ".", assignment_id)
        source_files = set(find_all_files(source_path, self.coursedir.ignore + ["*.ipynb"]))
        source_files -= {
            os.path.join(source_path, name) for name in self.exclude_overwriting.get(assignment_id, [])
        }
        for filename in source_files:
            dest = os.path.join(dest_path, os.path.relpath(filename, source_path))
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            if os.path.exists(dest):
                os.remove(dest)
            shutil.copy(filename, dest)
        self.notebooks = [
            path
            for path in self.notebooks
            if os.path.splitext(os.path.basename(path))[0] in self.known_notebooks
        ]
        if not self.notebooks:
            raise NbGraderException("no notebook of the assignment was submitted")

    def init_single_notebook_resources(self, notebook_filename: str) -> dict:
        """nbgrader's resources, plus the notebook's source cells, read from the gradebook once a run."""
        resources = super().init_single_notebook_resources(notebook_filename)
        found = resources["nbgrader"]
        key = (found["db_url"], found["notebook"], found["assignment"])
        if key not in self.source_cells:
            self.source_cells[key] = overwrite.SourceCells(*key)
        found[overwrite.KEY] = self.source_cells[key]
        return resources

    def convert_single_notebook(self, notebook_filename: str) -> None:
        """Autograde's two passes (sanitize, then execute), as nbgrader runs them.

        nbgrader sets NBGRADER_EXECUTION around the second pass and deletes it after, which races when
        threads share a process (a Dask worker); here it stays set for the worker's whole life.
        """
        os.environ["NBGRADER_EXECUTION"] = "autograde"
        self._sanitizing = True
        self._init_preprocessors()
        BaseConverter.convert_single_notebook(self, notebook_filename)
        sanitized = os.path.join(self.writer.build_directory, os.path.basename(notebook_filename))
        self._sanitizing = False
        self._init_preprocessors()
        try:
            BaseConverter.convert_single_notebook(self, sanitized)
        finally:
            self._sanitizing = True


class _SchemaCheckedOnce:
    """`jsonschema.validate` as nbgrader calls it for each cell's metadata, minus the schema's self-check.

    jsonschema.validate first checks the schema against its meta-schema, for every cell (a tenth of a
    second per notebook here). nbgrader's schema is the same file each time: check it once, and compile it
    once with fastjsonschema, which passes what it passes; a cell it refuses is validated exactly as before
    (same validator class, same best-match error).
    """

    def __init__(self):
        self._validators: dict[str, tuple] = {}

    def validate(self, instance, schema) -> None:
        key = json.dumps(schema, sort_keys=True)
        if key not in self._validators:
            cls = jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)
            self._validators[key] = (fastjsonschema.compile(schema), cls(schema))
        quick, full = self._validators[key]
        try:
            quick(instance)
            return
        except fastjsonschema.JsonSchemaException:
            pass
        error = jsonschema.exceptions.best_match(full.iter_errors(instance))
        if error is not None:
            raise error


_converters: dict[tuple[Task, int], StagedAutograde] = {}
_converters_lock = threading.Lock()


def _converter(task: Task) -> StagedAutograde:
    """One converter per course, run and thread (built once, then reused for every submission)."""
    key = (dataclasses.replace(task, student=""), threading.get_ident())
    with _converters_lock:
        if key not in _converters:
            _compat.validate_metadata_with(_SchemaCheckedOnce())
            _compat.validate_outputs_compiled()
            config = load_config(task.course_dir)
            config.CourseDirectory.db_url = task.db_url
            config.CourseDirectory.autograded_directory = task.staging
            config.Sandbox.enabled = task.sandbox
            config.LimitedExecute.shutdown_kernel = "immediate"  # a graded kernel has nothing to save
            config.Exporter.optimistic_validation = True  # the notebook checked once a pass, not once a step
            coursedir = CourseDirectory(config=config)
            converter = StagedAutograde(coursedir=coursedir, config=config)
            converter.known_notebooks = task.notebooks
            converter.source_cells = {}
            converter.intake_directory = os.path.join(os.path.dirname(task.staging), "intake")
            converter.max_submission_bytes = GradingLimits(config=config).max_submission_bytes
            converter.autograde_preprocessors = [
                LimitedExecute if pp is Execute else pp
                for pp in converter.autograde_preprocessors
                if pp not in PARENT_PREPROCESSORS
            ]
            converter.sanitize_preprocessors = [  # the same steps, the gradebook read once a run
                overwrite.STOCK.get(pp, pp) for pp in converter.sanitize_preprocessors
            ]
            if SanitiseOutputs not in converter.autograde_preprocessors:  # a course config without it
                converter.autograde_preprocessors.append(SanitiseOutputs)
            converter.writer = FilesWriter(parent=converter, config=config)
            converter.exporter = converter.exporter_class(parent=converter, config=config)
            _converters[key] = converter
        return _converters[key]


def _short(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:300]


def _faults(error: BaseException) -> tuple[bool, bool]:
    """(a write failed for want of space, the database server did not answer), from `error` or beneath it."""
    return messages.is_disk_full(error), any(database.unreachable(each) for each in messages.chain(error))


_thread_state = threading.local()


def grade_in_worker(task: Task) -> Outcome:
    """Sanitize and execute one submission into the staging folder; never raises.

    Each thread grades in a context of its own. jupyter_client keeps "this thread's event loop" in a
    context variable, and an executor that copies the caller's context into its threads (Dask's does)
    would hand two threads one loop: the second then fails with "This event loop is already running".
    """
    if not hasattr(_thread_state, "context"):
        _thread_state.context = contextvars.Context()
    return _thread_state.context.run(_grade_while_the_database_comes_back, task)


def _grade_while_the_database_comes_back(task: Task) -> Outcome:
    """_grade, again while a restarting database server comes back (up to the busy timeout): a restart then
    costs no submission; a server that stays down fails it, and the parent says so."""
    deadline = None
    while True:
        outcome = _grade(task)
        if not outcome.database_lost:
            return outcome
        deadline = deadline or time.monotonic() + database.busy_timeout()  # the course's, once it is read
        if time.monotonic() > deadline:
            return outcome
        time.sleep(1)


def _grade(task: Task) -> Outcome:
    start = time.monotonic()
    outcome = Outcome(student=task.student, ok=False)
    try:
        converter = _converter(task)
        dest = converter._format_dest(task.assignment, task.student)
        shutil.rmtree(dest, ignore_errors=True)
        converter.writer.build_directory = ""  # the writer makes its folder only when this value changes
        submitted = converter.coursedir.format_path(converter.coursedir.submitted_directory, ".", ".")
        cap = converter.max_submission_bytes
        refused = intake.refusal(Path(submitted), task.student, task.assignment, cap)
        if refused:  # checked by the parent too; a folder changed since then is checked again here
            outcome.reason = refused
            return outcome
        taken = Path(converter._format_source(task.assignment, task.student))
        shutil.rmtree(taken, ignore_errors=True)
        try:
            outcome.dropped = tuple(
                intake.copy_submission(
                    Path(submitted, task.student, task.assignment), taken, task.notebooks, cap
                )
            )
        except intake.Refused as error:
            shutil.rmtree(taken, ignore_errors=True)
            outcome.reason = f"the submission was refused: {error}"
            return outcome
        converter.notebooks = sorted(glob.glob(os.path.join(taken, "*.ipynb")))
        reasons: list[str] = []
        try:
            converter.coursedir.student_id = task.student
            converter.run_pre_convert_hook()
            converter.init_assignment(task.assignment, task.student)
            for notebook in converter.notebooks:
                converter.convert_single_notebook(notebook)
                name = os.path.splitext(os.path.basename(notebook))[0]
                for pp in _compat.exporter_preprocessors(converter.exporter):
                    if isinstance(pp, LimitedExecute):
                        reasons += [f"{name} {reason}" for reason in pp.reasons]
                        outcome.kernel_seconds += pp.kernel_seconds
            converter.set_permissions(task.assignment, task.student)
            converter.run_post_convert_hook()
        except Exception as error:  # a broken submission: report it, keep the batch going
            shutil.rmtree(dest, ignore_errors=True)
            outcome.reason = _short(error)
            outcome.disk_full, outcome.database_lost = _faults(error)
            if not isinstance(error, NbGraderException | ValueError | OSError | KeyError):
                converter.log.debug(traceback.format_exc())
            return outcome
        finally:
            converter._sanitizing = True
            shutil.rmtree(taken, ignore_errors=True)
        outcome.ok = True
        outcome.reason = "; ".join(reasons)
        outcome.staged = dest
        outcome.notebooks = tuple(os.path.splitext(os.path.basename(nb))[0] for nb in converter.notebooks)
        return outcome
    except Exception as error:  # the worker itself failed (config, database): still a result, not a crash
        outcome.reason = f"worker error: {_short(error)}"
        outcome.disk_full, outcome.database_lost = _faults(error)
        return outcome
    finally:
        outcome.seconds = time.monotonic() - start


def init_worker(sandboxed: bool, course_dir: str) -> None:
    """Pool initializer: start this worker's warm host now (it imports torch while the run plans), and leave
    if the parent dies."""
    # The worker judges with its own nn.RNN (in steps/). Forked from a parent whose OpenMP pool already ran,
    # a multi-threaded torch op hangs or crashes; one thread a worker is safe, and each worker has a core.
    torch.set_num_threads(1)
    try:
        host_for_this_thread(sandboxed, (course_dir,), Sandbox(config=load_config(course_dir)).first_uid)
    except Exception:  # noqa: S110 - only a warm-up: the first kernel tries again and reports why it failed
        pass
    parent = os.getppid()

    def watch_parent() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch_parent, daemon=True).start()
