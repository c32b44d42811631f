"""Export: the gradebook as CSV, with each submission's status and reason."""

from __future__ import annotations

import csv
from pathlib import Path

from rnn_course.grading.config import load_config
from rnn_course.grading.runner.report import Status, read_status

EXPORT_COLUMNS = ("status", "reason")  # added to nbgrader's own columns


def export(course_dir: Path, to: Path | None = None) -> Path:
    """Write the gradebook as CSV (nbgrader's columns, then status and reason) to grades.csv.

    status is graded, hand-grading pending, failed (reason says why: a 0 there is not a real 0) or
    no submission; students who failed before reaching the gradebook get a row too, with no score.
    """
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.plugins import CsvExportPlugin


    config = load_config(course_dir)
    coursedir = CourseDirectory(config=config)
    to = Path(to or Path(course_dir) / "grades.csv")
    plain = to.with_name(f".{to.name}.nbgrader")
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        CsvExportPlugin(config=config, to=str(plain)).export(gradebook)
        with plain.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        plain.unlink()
        statuses = {}
        for row in rows:
            assignment, student = row["assignment"], row["student_id"]
            statuses.setdefault(assignment, read_status(course_dir, assignment))
            last = statuses[assignment].get(student, {})
            try:
                submission = gradebook.find_submission(assignment, student)
            except MissingEntry:
                submission = None
            if last.get("status") == Status.FAILED:
                row["status"], row["reason"] = "failed", last.get("reason", "")
            elif submission is None:
                row["status"], row["reason"] = "no submission", last.get("reason", "")
            elif submission.needs_manual_grade:
                row["status"], row["reason"] = "hand-grading pending", last.get("reason", "")
            else:
                row["status"], row["reason"] = "graded", last.get("reason", "")
        listed = {(row["assignment"], row["student_id"]) for row in rows}
        names = [assignment.name for assignment in gradebook.assignments]
    for assignment in names:  # failed before the gradebook knew them (no folder, wrong file name)
        for student, last in sorted(read_status(course_dir, assignment).items()):
            if (assignment, student) not in listed and last.get("status") == Status.FAILED:
                rows.append({"assignment": assignment, "student_id": student, "status": "failed",
                             "reason": last.get("reason", "")})
    fields = list(rows[0]) if rows else ["assignment", "student_id", "score", "max_score", *EXPORT_COLUMNS]
    with to.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return to


def hand_grading_pending(course_dir: Path, assignment: str | None = None) -> tuple[int, int]:
    """(submissions that still need hand-grading, all submissions), of one assignment or of all."""
    from nbgrader.api import Gradebook
    from nbgrader.coursedir import CourseDirectory

    coursedir = CourseDirectory(config=load_config(course_dir))
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        submissions = [submission for known in gradebook.assignments for submission in known.submissions
                       if assignment is None or known.name == assignment]
        return sum(bool(submission.needs_manual_grade) for submission in submissions), len(submissions)


def pending_warning(course_dir: Path, assignment: str | None = None) -> str | None:
    """One line while hand-grading is pending (feedback and export show those points as 0 until then)."""
    pending, total = hand_grading_pending(course_dir, assignment)
    if not pending:
        return None
    return (f"{pending} of {total} submission(s) still need hand-grading (formgrader: Manual Grading); "
            "until then their hand-graded points count as 0 here")
