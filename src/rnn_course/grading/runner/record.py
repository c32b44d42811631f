"""The single gradebook writer: one transaction per submission, then its autograded folder put in place."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import time
import warnings
from pathlib import Path

from rnn_course.grading import _compat, database
from rnn_course.grading.errors import GradebookLost
from rnn_course.grading.faults import messages
from rnn_course.grading.lms import deadlines
from rnn_course.grading.runner.report import Result, Status
from rnn_course.grading.runner.worker import Outcome
from rnn_course.grading.steps.cells import grade_id
from rnn_course.grading.steps.restore import restored_cells


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


class _FetchedOnce:
    """The gradebook, with one submitted notebook's grades and comments read in one query each.

    nbgrader's SaveAutoGrades asks `find_grade` or `find_comment` once a cell, a query joining six tables each
    time; here those come from what was read up front (any other lookup goes to the gradebook).
    """

    def __init__(self, gradebook, notebook: str, assignment: str, student: str):
        from nbgrader.api import Comment, Grade, GradeCell, SolutionCell, TaskCell

        self.gradebook, self.key = gradebook, (notebook, assignment, student)
        # as find_grade and find_comment look: grade (or solution) cells before task cells
        self.grades = self._by_cell_name(Grade, (TaskCell, GradeCell))
        self.comments = self._by_cell_name(Comment, (TaskCell, SolutionCell))

    def _by_cell_name(self, model, kinds: tuple) -> dict:
        """This notebook's rows of `model` by their cell's name, without loading the notebook itself (its
        score, a SQL expression, is read later and must see the new grades)."""
        from nbgrader.api import Assignment, Notebook, SubmittedAssignment, SubmittedNotebook
        from sqlalchemy.orm import joinedload

        notebook, assignment, student = self.key
        rows = (
            self.gradebook.db.query(model)
            .options(joinedload(model.cell))
            .join(SubmittedNotebook, SubmittedNotebook.id == model.notebook_id)
            .join(Notebook, Notebook.id == SubmittedNotebook.notebook_id)
            .join(SubmittedAssignment, SubmittedAssignment.id == SubmittedNotebook.assignment_id)
            .join(Assignment, Assignment.id == SubmittedAssignment.assignment_id)
            .filter(
                Notebook.name == notebook,
                Assignment.name == assignment,
                SubmittedAssignment.student_id == student,
            )
            .all()
        )
        found = {}
        for kind in kinds:  # the later kind wins a shared name, as it is the one nbgrader looks up first
            found.update({row.cell.name: row for row in rows if isinstance(row.cell, kind)})
        return found

    def find_grade(self, cell: str, *notebook_assignment_student: str):
        if notebook_assignment_student == self.key and cell in self.grades:
            return self.grades[cell]
        return self.gradebook.find_grade(cell, *notebook_assignment_student)

    def find_comment(self, cell: str, *notebook_assignment_student: str):
        if notebook_assignment_student == self.key and cell in self.comments:
            return self.comments[cell]
        return self.gradebook.find_comment(cell, *notebook_assignment_student)

    def __getattr__(self, name: str):
        return getattr(self.gradebook, name)


def _save_grades(gradebook, notebook, resources) -> None:
    """nbgrader's SaveAutoGrades and AssignLatePenalties, on our open gradebook instead of a new one."""
    from nbgrader.preprocessors import AssignLatePenalties, SaveAutoGrades
    from nbgrader.preprocessors.base import NbGraderPreprocessor

    save = SaveAutoGrades(config=resources["config"])
    save.notebook_id, save.assignment_id, save.student_id = (
        resources["nbgrader"][key] for key in ("notebook", "assignment", "student")
    )
    save.gradebook = _FetchedOnce(gradebook, save.notebook_id, save.assignment_id, save.student_id)
    flush = gradebook.db.commit  # _OneTransaction's: SaveAutoGrades "commits" after every cell
    gradebook.db.commit = lambda: None  # nothing reads the gradebook between cells: one flush after them
    try:
        NbGraderPreprocessor.preprocess(save, notebook, resources)
    finally:
        gradebook.db.commit = flush
    flush()

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
            scored.late_submission_penalty = _compat.late_penalty(late, scored, penalty)


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
        deadlines.apply_extension(gradebook, coursedir.root, assignment, outcome.student)  # lms: extensions
        if not outcome.ok:
            return
        for notebook in gradebook.find_assignment(assignment).notebooks:  # not submitted: zero, as nbgrader
            if notebook.name not in outcome.notebooks:
                for grade in gradebook.find_submission_notebook(
                    notebook.name, assignment, outcome.student
                ).grades:
                    grade.auto_score = 0
                    grade.needs_manual_grade = False
        graded_before = coursedir.format_path(coursedir.autograded_directory, outcome.student, assignment)
        for name in outcome.notebooks:
            notebook = nbformat.read(
                os.path.join(outcome.staged, f"{name}.ipynb"), as_version=nbformat.NO_CONVERT
            )
            before = _cell_sources(os.path.join(graded_before, f"{name}.ipynb"))
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
            _keep_hand_grades(gradebook, name, assignment, outcome.student, notebook, before)


def _by_grade_id(cells) -> dict[str, str]:
    """The sources of the cells that have a grade id, by grade id."""
    return {grade_id(cell): cell.source for cell in cells if grade_id(cell)}


def _cell_sources(path: str) -> dict[str, str]:
    """The cells of an earlier autograded notebook by grade id ({} where there is none, or none readable)."""
    import nbformat

    try:
        return _by_grade_id(nbformat.read(path, as_version=4).cells)
    except Exception:  # none yet, or damaged: no hand grade is kept on its word
        return {}


def _keep_hand_grades(gradebook, name: str, assignment: str, student: str, notebook, before: dict) -> None:
    """A hand grade stays final when its cell is the one it was given for: nbgrader sends every hand-graded
    cell back to review on each grading, though neither the learner's answer nor the cell changed."""
    now = _by_grade_id(notebook.cells)
    for grade in gradebook.find_submission_notebook(name, assignment, student).grades:
        unchanged = grade.name in before and before[grade.name] == now.get(grade.name)
        if grade.manual_score is not None and unchanged:
            grade.needs_manual_grade = False


def _across_a_restart(gradebook, coursedir, action):
    """action(), tried again on a fresh connection while a restarting database server comes back (up to the
    busy timeout): a restart then costs nothing; a server that stays down stops the run. An sqlite gradebook
    waits for its lock by itself."""
    deadline = time.monotonic() + database.busy_timeout()
    server = database.sqlite_path(coursedir.db_url) is None
    while True:
        try:
            return action()
        except Exception as error:  # nbgrader re-raises a database error as InvalidEntry: look beneath
            dropped = any(database.unreachable(each) for each in messages.chain(error))
            if not (server and dropped) or time.monotonic() > deadline:
                raise
            with contextlib.suppress(Exception):  # the pool drops the dead connection; a new one follows
                gradebook.db.rollback()
            time.sleep(1)


class Stopped(Exception):
    """A fault that waiting or going on would not help (a full disk, an sqlite gradebook locked past the busy
    timeout): the run stops at this submission, raised from the fault."""

    def __init__(self, error: BaseException, recorded: bool):
        super().__init__(str(error))
        self.disk_full = messages.is_disk_full(error)
        self.recorded = recorded  # the submission in hand was recorded before the fault


def _publish(staged: str, final: str) -> None:
    """Move the staged autograded folder into place (a rename: it appears whole or not at all)."""
    if os.path.exists(final):
        shutil.rmtree(final)
    os.makedirs(os.path.dirname(final), exist_ok=True)
    os.replace(staged, final)


def scored(gradebook, assignment: str, result: Result) -> Result:
    from nbgrader.api import MissingEntry

    try:
        submission = gradebook.find_submission(assignment, result.student)
    except MissingEntry:
        return result
    result.score, result.max_score = float(submission.score), float(submission.max_score)
    result.needs_manual_grade = bool(submission.needs_manual_grade)
    return result


def finish(
    gradebook,
    coursedir,
    config,
    assignment: str,
    outcome: Outcome,
    why: str = "",
    digest: str = "",
    release: str = "",
) -> Result:
    """Record one outcome, then publish its autograded folder. A gradebook error fails only this one; a full
    disk or a lock held past the busy timeout stops the run (Stopped), a lost database too (GradebookLost).
    digest and release: the content hashes of the submission and of the release it was graded against."""
    result = Result(
        outcome.student,
        Status.GRADED if outcome.ok else Status.FAILED,
        reason=outcome.reason,
        seconds=round(outcome.seconds, 3),
        kernel_seconds=round(outcome.kernel_seconds, 3),
        content_hash=digest,
        release_hash=release,
        dropped=list(outcome.dropped),
    )
    recorded = False
    try:
        if outcome.disk_full:  # the worker could not write: nor will the next one
            raise OSError(errno.ENOSPC, f"No space left on device ({outcome.reason})")
        _across_a_restart(
            gradebook, coursedir, lambda: _record(gradebook, coursedir, config, assignment, outcome)
        )
        recorded = True
        if outcome.ok:
            final = coursedir.format_path(coursedir.autograded_directory, outcome.student, assignment)
            _publish(outcome.staged, final)
            late = _across_a_restart(
                gradebook,
                coursedir,  # lms: "late: 1 day 2 h ..."
                lambda: deadlines.late_note(gradebook, assignment, outcome.student),
            )
            parts = (why, outcome.reason, graded_notes(Path(final)), late)
            result.reason = "; ".join(part for part in parts if part)
        return _across_a_restart(gradebook, coursedir, lambda: scored(gradebook, assignment, result))
    except Exception as error:
        if messages.is_disk_full(error) or messages.is_locked(error):
            raise Stopped(error, recorded) from error
        if any(database.unreachable(each) for each in messages.chain(error)):
            raise GradebookLost(str(error).strip().splitlines()[0], recorded) from None
        result.status, result.reason = Status.FAILED, f"could not record: {type(error).__name__}: {error}"
    return scored(gradebook, assignment, result)


CLEAN_ERRORS = {"GradingError", "AssertionError", "NotImplementedError"}  # a wrong or missing answer
PLAIN_ERRORS = {  # what a test cell's error means, in words an instructor reads
    "GradingError": "a wrong or missing result",
    "AssertionError": "a wrong or missing result",
    "NotImplementedError": "no answer",
    "ForbiddenCall": "PyTorch's own RNN used",
    "KernelDied": "the kernel stopped",
    "CellTimeoutError": "over the time limit",
    "OutputLimitExceeded": "too much output",
}


def plain_errors(errors: dict[str, int]) -> list[str]:
    """{error name: test cells} in words, most cells first: "PyTorch's own RNN used in 4 test cell(s)"."""
    return [
        f"{PLAIN_ERRORS.get(name, name)} in {count} test cell(s)"
        for name, count in sorted(errors.items(), key=lambda item: -item[1])
    ]


def graded_notes(folder: Path) -> str:
    """What was not clean in an autograded folder: cells the grader restored, and test errors that are not
    a plain wrong answer ("PyTorch's own RNN used in 4 test cell(s)"), so the report says why points were
    lost."""
    import nbformat

    restored, errors = 0, {}
    for path in sorted(folder.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        restored += restored_cells(notebook)
        for cell in notebook.cells:
            names = {output.get("ename") for output in cell.get("outputs", []) if output.get("ename")}
            for name in names - CLEAN_ERRORS:
                errors[name] = errors.get(name, 0) + 1
    notes = [f"{restored} cell(s) restored from the source"] if restored else []
    notes += plain_errors(errors)
    return ", ".join(notes)
