"""Due dates, extensions and the late penalty, kept where nbgrader keeps them.

The due date is nbgrader's `Assignment.duedate` (UTC). An extension is nbgrader's
`SubmittedAssignment.extension`; nbgrader keeps it on a submission, so it also waits in lms.json until the
learner's submission is recorded (the runner then applies it). The penalty is a LateSubmissionPlugin
(penalty.py), set in nbgrader_config.py:

    c.AssignLatePenalties.plugin_class = PenaltyPerDay
    c.LatePolicy.penalty_per_day = 0.1       # 10% of the score per started day late; 0: none
"""

from __future__ import annotations

import datetime
import math
from pathlib import Path

from rnn_course.grading.lms import extras


def parse_time(text: str, zone: str) -> datetime.datetime:
    """A date and time as UTC without a zone (nbgrader's way); one given without a zone is in `zone`."""
    from zoneinfo import ZoneInfo

    try:
        when = datetime.datetime.fromisoformat(text.strip())
    except ValueError:
        raise RuntimeError(
            f"{text!r} is not a date and time (e.g. 2026-12-01T23:59 or 2026-12-01T23:59+01:00)"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(zone))
    return when.astimezone(datetime.UTC).replace(tzinfo=None)


def _gradebook(course_dir: Path):
    from nbgrader.api import Gradebook
    from nbgrader.coursedir import CourseDirectory

    from rnn_course.grading.config import load_config

    coursedir = CourseDirectory(config=load_config(course_dir))
    return Gradebook(coursedir.db_url, coursedir.course_id)


def set_due_date(course_dir: Path, assignment: str, when: str | None) -> datetime.datetime | None:
    """Set (or, with None, clear) the assignment's due date; penalties of graded submissions follow it."""
    from rnn_course.grading.config import LatePolicy, load_config

    due = parse_time(when, LatePolicy(config=load_config(course_dir)).timezone) if when else None
    with _gradebook(course_dir) as gradebook:
        gradebook.update_or_create_assignment(assignment, duedate=due)
    reapply_penalties(course_dir, assignment)
    return due


def grant_extension(course_dir: Path, assignment: str, student: str, hours: float) -> None:
    """Give `student` `hours` more for `assignment` (0 removes it); kept in lms.json and in the gradebook."""
    from nbgrader.api import MissingEntry

    if hours < 0:
        raise RuntimeError(f"an extension of {hours:g} hours: give 0 or more")
    data = extras.load(course_dir)
    extensions = data["extensions"].setdefault(assignment, {})
    if hours:
        extensions[student] = hours
    else:
        extensions.pop(student, None)
    with _gradebook(course_dir) as gradebook:
        try:
            gradebook.find_student(student)
        except MissingEntry:
            raise RuntimeError(
                f"{student!r} is not a student of the gradebook (import the roster first)"
            ) from None
        apply_extension(gradebook, course_dir, assignment, student, data)
        gradebook.db.commit()
    extras.save(course_dir, data)
    reapply_penalties(course_dir, assignment)


def apply_extension(
    gradebook, course_dir: Path, assignment: str, student: str, data: dict | None = None
) -> None:
    """Put lms.json's extension of `student` on their submission, if the gradebook has one (no commit)."""
    from nbgrader.api import MissingEntry

    hours = (data or extras.load(course_dir))["extensions"].get(assignment, {}).get(student)
    try:
        submission = gradebook.find_submission(assignment, student)
    except MissingEntry:
        return
    submission.extension = datetime.timedelta(hours=hours) if hours else None


def reapply_penalties(course_dir: Path, assignment: str) -> int:
    """The late penalty of every recorded notebook of `assignment`, from its due date and extension now."""
    from nbgrader.api import MissingEntry
    from nbgrader.preprocessors import AssignLatePenalties

    from rnn_course.grading.config import load_config

    late = AssignLatePenalties(config=load_config(course_dir))
    late.init_plugin()
    changed = 0
    with _gradebook(course_dir) as gradebook:
        try:
            submissions = gradebook.find_assignment(assignment).submissions
        except MissingEntry:
            return 0
        for submission in submissions:
            seconds = submission.total_seconds_late
            for notebook in submission.notebooks:
                penalty = None
                if seconds > 0:
                    found = late.plugin_inst.late_submission_penalty(
                        submission.student.id, notebook.score, seconds
                    )
                    penalty = None if found is None else late._check_late_penalty(notebook, found)
                changed += penalty != notebook.late_submission_penalty
                notebook.late_submission_penalty = penalty
        gradebook.db.commit()
    return changed


def duration(seconds: float) -> str:
    """'1 day 2 h', '3 h 5 min', '12 min'."""
    minutes = math.ceil(seconds / 60)
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{days} day{'s' * (days != 1)}"] if days else []
    parts += [f"{hours} h"] if hours else []
    parts += [f"{minutes} min"] if minutes and not days else []
    return " ".join(parts) or "0 min"


def late_note(gradebook, assignment: str, student: str) -> str:
    """'late: 1 day 2 h after the due date (extension included), penalty 2.4' for the run report, or ''."""
    from nbgrader.api import MissingEntry

    try:
        submission = gradebook.find_submission(assignment, student)
    except MissingEntry:
        return ""
    seconds = submission.total_seconds_late
    if seconds <= 0:
        return ""
    penalty = float(submission.late_submission_penalty or 0)
    return f"late: {duration(seconds)} after the due date" + (f", penalty {penalty:g}" if penalty else "")


def lateness(course_dir: Path, assignment: str) -> dict[str, tuple[str, float | None]]:
    """{student: ("yes"/"no"/"", seconds late or None)} for every learner collected or recorded.

    With a due date: from the gradebook's submission, else from the time collect kept. Without one: "yes"
    where the LMS marked the file late (Canvas's LATE), else "" (unknown).
    """
    from nbgrader.api import MissingEntry
    from nbgrader.utils import parse_utc

    data = extras.load(course_dir)
    collected = data["submissions"].get(assignment, {})
    extensions = data["extensions"].get(assignment, {})
    found = {}
    with _gradebook(course_dir) as gradebook:
        try:
            known = gradebook.find_assignment(assignment)
        except MissingEntry:
            known = None
        recorded = {submission.student.id: submission for submission in (known.submissions if known else [])}
        due = known.duedate if known else None
        for student in sorted(set(collected) | set(recorded)):
            flag = bool(collected.get(student, {}).get("late_flag"))
            if due is None:
                found[student] = ("yes" if flag else "", None)
                continue
            if student in recorded and recorded[student].timestamp is not None:
                seconds = recorded[student].total_seconds_late
            elif collected.get(student, {}).get("timestamp"):
                deadline = due + datetime.timedelta(hours=extensions.get(student, 0))
                seconds = max(0.0, (parse_utc(collected[student]["timestamp"]) - deadline).total_seconds())
            else:
                found[student] = ("", None)
                continue
            found[student] = ("yes" if seconds > 0 else "no", seconds)
    return found
