"""What a run grades: every submitted folder checked, and each one graded now, or skipped with its reason."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from rnn_course.grading import database
from rnn_course.grading.config import GradingLimits
from rnn_course.grading.faults import backups
from rnn_course.grading.runner import intake
from rnn_course.grading.runner.record import scored
from rnn_course.grading.runner.report import Result, RunReport, Status, read_status


def content_hash(folder: Path) -> str:
    """sha256 of a submitted folder's files (names, bytes; not timestamp.txt): a resubmission changes it."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.name != "timestamp.txt" and ".ipynb_checkpoints" not in path.parts:
            digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def submission_problem(folder: Path, notebooks: tuple[str, ...]) -> str | None:
    """Why a submitted folder cannot be graded at all (no notebook of the assignment in it), or None."""
    if any((folder / f"{name}.ipynb").is_file() for name in notebooks):
        return None
    expected = ", ".join(f"`{name}.ipynb`" for name in notebooks)
    found = sorted(path.name for path in folder.iterdir() if path.name != "timestamp.txt")
    return f"expected {expected}, found " + (", ".join(f"`{name}`" for name in found) or "an empty folder")


def release_hash(coursedir, assignment: str) -> str:
    """sha256 of the release a grade comes from (release/<assignment>/), "" before the first release."""
    folder = Path(coursedir.format_path(coursedir.release_directory, ".", assignment))
    return content_hash(folder) if folder.is_dir() else ""


def _why_grade(
    gradebook, coursedir, assignment: str, student: str, force: bool, digest: str, last: dict, release: str
) -> str | None:
    """Why this submission must be graded now ("" for a first grading), or None if it is graded and unchanged.

    The gradebook, autograded/ and the last grading's hashes of the submission and of the release must all
    agree with what is there now; any disagreement is graded again, and said.
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
    if last.get("release_hash") and last["release_hash"] != release:
        return "graded again: the assignment was released again since it was graded"
    submitted = coursedir.format_path(coursedir.submitted_directory, student, assignment)
    new = coursedir.get_existing_timestamp(submitted)
    old = coursedir.get_existing_timestamp(final)
    if new is not None and old is not None and new > old:
        return "graded again: resubmitted (newer timestamp.txt)"
    return None


def plan(
    gradebook,
    coursedir,
    assignment: str,
    students,
    force: bool,
    report: RunReport,
    notebooks: tuple[str, ...],
) -> tuple[list[str], dict[str, tuple[str, str, str]]]:
    """The students to grade now, with (why, content hash, release hash) each; every other one goes into the
    report with its reason: no folder for the assignment, no notebook of it, or graded and unchanged."""
    submitted = Path(coursedir.root) / coursedir.submitted_directory
    folders = sorted(path for path in submitted.iterdir() if path.is_dir()) if submitted.is_dir() else []
    last = read_status(coursedir.root, assignment)
    release = release_hash(coursedir, assignment)
    max_bytes = GradingLimits(config=coursedir.config).max_submission_bytes
    todo, why = [], {}
    for student in students if students is not None else [folder.name for folder in folders]:
        folder = submitted / student / assignment
        if not folder.is_dir():
            home = submitted / student
            there = sorted(path.name for path in home.iterdir()) if home.is_dir() else []
            reason = f"no {assignment}/ folder in {coursedir.submitted_directory}/{student}/" + (
                f" (found: {', '.join(there)})" if there else ""
            )
            report.results.append(Result(student, Status.FAILED, reason=reason))
            continue
        refused = intake.refusal(submitted, student, assignment, max_bytes)
        if refused:  # before anything in it is read
            report.results.append(Result(student, Status.FAILED, reason=refused))
            continue
        problem = submission_problem(folder, notebooks)
        digest = content_hash(folder)
        if problem:
            report.results.append(Result(student, Status.FAILED, reason=problem, content_hash=digest))
            continue
        reason = _why_grade(
            gradebook, coursedir, assignment, student, force, digest, last.get(student, {}), release
        )
        if reason is None:
            skipped = Result(
                student,
                Status.SKIPPED,
                content_hash=digest,
                reason="already graded and unchanged (--force grades it again)",
            )
            report.results.append(scored(gradebook, assignment, skipped))
        else:
            todo.append(student)
            why[student] = (reason, digest, release)
    return todo, why


def snapshot_db(db_url: str, staging: Path) -> str:
    """Workers read source cells from a private copy of an sqlite gradebook, never blocking its writer."""
    db_file = database.sqlite_path(db_url)
    if db_file is None:
        return db_url
    copy = staging / "gradebook-snapshot.db"
    backups.copy(db_file, copy)  # SQLite's online backup: consistent while another program writes
    return f"sqlite:///{copy}"
