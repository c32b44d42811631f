"""Export: the gradebook as CSV, with each submission's status and reason."""

from __future__ import annotations

from pathlib import Path

from rnn_course.grading.config import load_config
from rnn_course.grading.faults.explain import explained


@explained("export")
def export(course_dir: Path, to: Path | None = None) -> Path:
    """Write the gradebook as CSV to grades.csv, one fixed header in every state (lms/exports.py COLUMNS).

    status is graded, hand-grading pending, failed (reason says why: its 0 is not a real 0) or
    no submission; students who failed before reaching the gradebook get a row too; late says yes or no.
    """
    from rnn_course.grading.lms import exports

    return exports.write_grades(course_dir, Path(to or Path(course_dir) / "grades.csv"))


def hand_grading_pending(course_dir: Path, assignment: str | None = None) -> tuple[int, int]:
    """(submissions that still need hand-grading, all submissions), of one assignment or of all."""
    from nbgrader.api import Gradebook
    from nbgrader.coursedir import CourseDirectory

    coursedir = CourseDirectory(config=load_config(course_dir))
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        submissions = [
            submission
            for known in gradebook.assignments
            for submission in known.submissions
            if assignment is None or known.name == assignment
        ]
        return sum(bool(submission.needs_manual_grade) for submission in submissions), len(submissions)


def pending_warning(course_dir: Path, assignment: str | None = None) -> str | None:
    """One line while hand-grading is pending (feedback and export hold the hand grades given so far)."""
    pending, total = hand_grading_pending(course_dir, assignment)
    if not pending:
        return None
    return (
        f"{pending} of {total} submission(s) still need hand-grading (formgrader: Manual Grading); "
        "until then their scores here hold only the hand grades given so far"
    )
