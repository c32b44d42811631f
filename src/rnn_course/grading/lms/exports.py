"""Grades out: grades.csv with one fixed header, the files Moodle and Canvas import, Moodle's feedback zip.

grades.csv        COLUMNS, whatever the gradebook holds (no grade yet, no submission, failed ones)
moodle-worksheet  the assignment's offline grading worksheet (Grading action: Upload grading worksheet)
moodle-gradebook  the gradebook's CSV import (Grades: Import: CSV file), as Moodle's own export names it
canvas            the Canvas gradebook CSV (Grades: Import), one assignment column and Points Possible
"""

from __future__ import annotations

import csv
import datetime
import zipfile
from pathlib import Path

from rnn_course.grading import atomic
from rnn_course.grading.faults import backups
from rnn_course.grading.lms import deadlines, extras

COLUMNS = (
    "assignment",
    "duedate",
    "timestamp",
    "student_id",
    "last_name",
    "first_name",
    "email",
    "lms_user_id",
    "section",
    "raw_score",
    "late_submission_penalty",
    "score",
    "max_score",
    "late",
    "seconds_late",
    "status",
    "reason",
)
MOODLE_WORKSHEET = (
    "Identifier",
    "Full name",
    "Email address",
    "Status",
    "Grade",
    "Maximum Grade",
    "Grade can be changed",
    "Last modified (submission)",
    "Last modified (grade)",
    "Feedback comments",
)
MOODLE_GRADEBOOK = (
    "First name",
    "Last name",
    "ID number",
    "Email address",
    "Assignment: {assignment} (Real)",
)
CANVAS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section", "{assignment} ({canvas_id})")
MOODLE_DATE = "%A, %d %B %Y, %I:%M %p"  # Moodle's strftimedaydatetime, as its own worksheet writes dates
FORMATS = ("moodle-worksheet", "moodle-gradebook", "canvas")


def _text(value) -> str:
    return "" if value is None else str(value)


def _status(last: dict, submission) -> str:
    if last.get("status") == "failed":
        return "failed"
    if submission is None:
        return "no submission"
    return "hand-grading pending" if submission.needs_manual_grade else "graded"


def grade_rows(course_dir: Path) -> list[dict]:
    """One row per learner and assignment, with COLUMNS; a learner that failed before the gradebook knew
    them (no folder, a wrong file name) gets a row with no score."""
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.coursedir import CourseDirectory

    from rnn_course.grading.config import load_config
    from rnn_course.grading.runner.report import read_status

    coursedir = CourseDirectory(config=load_config(course_dir))
    backups.require_sound(coursedir.db_url, Path(course_dir))  # a damaged gradebook is named, not read
    sections = {
        student: entry.get("section", "") for student, entry in extras.load(course_dir)["students"].items()
    }
    rows = []
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        for assignment in gradebook.assignments:
            statuses = read_status(course_dir, assignment.name)
            late = deadlines.lateness(course_dir, assignment.name)
            for student in gradebook.students:
                try:
                    submission = gradebook.find_submission(assignment.name, student.id)
                except MissingEntry:
                    submission = None
                last = statuses.get(student.id, {})
                penalty = float(submission.late_submission_penalty or 0) if submission else 0.0
                raw = float(submission.score) if submission else 0.0
                flag, seconds = late.get(student.id, ("", None))
                rows.append(
                    {
                        "assignment": assignment.name,
                        "duedate": _text(assignment.duedate),
                        "timestamp": _text(submission.timestamp if submission else None),
                        "student_id": student.id,
                        "last_name": _text(student.last_name),
                        "first_name": _text(student.first_name),
                        "email": _text(student.email),
                        "lms_user_id": _text(student.lms_user_id),
                        "section": sections.get(student.id, ""),
                        "raw_score": raw if submission else 0.0,
                        "late_submission_penalty": penalty,
                        "score": max(0.0, raw - penalty),
                        "max_score": float(assignment.max_score),
                        "late": flag,
                        "seconds_late": "" if seconds is None else round(seconds),
                        "status": _status(last, submission),
                        "reason": last.get("reason", ""),
                    }
                )
            listed = {row["student_id"] for row in rows if row["assignment"] == assignment.name}
            for student, last in sorted(statuses.items()):
                if student not in listed and last.get("status") == "failed":
                    flag, seconds = late.get(student, ("", None))
                    rows.append(
                        {
                            "assignment": assignment.name,
                            "duedate": _text(assignment.duedate),
                            "student_id": student,
                            "max_score": float(assignment.max_score),
                            "late": flag,
                            "seconds_late": "" if seconds is None else round(seconds),
                            "status": "failed",
                            "reason": last.get("reason", ""),
                        }
                    )
    return rows


def write_csv(path: Path, header: list[str], rows: list[dict]) -> Path:
    """Write `rows` under `header`; the old file stays until the new one is whole."""
    with atomic.replacing(path, newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, restval="", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return Path(path)


def write_grades(course_dir: Path, to: Path) -> Path:
    """grades.csv: COLUMNS, in every state of the gradebook."""
    return write_csv(to, list(COLUMNS), grade_rows(course_dir))


def _points(value) -> str:
    return "" if value in ("", None) else f"{float(value):.2f}"


def _comment(row: dict) -> str:
    """What the learner reads beside the grade: why it is missing or what it lost."""
    parts = []
    if row["status"] == "failed":
        parts.append(f"Not graded: {row['reason']}")
    elif row["status"] == "hand-grading pending":
        parts.append("The written answer is not graded yet.")
    if row.get("late") == "yes":
        late = (
            f"Late by {deadlines.duration(float(row['seconds_late']))}"
            if row.get("seconds_late") != ""
            else "Late"
        )
        penalty = row.get("late_submission_penalty")
        parts.append(
            late + (f", penalty {float(penalty):g} point(s)." if penalty not in ("", 0, 0.0) else ".")
        )
    return " ".join(parts)


def _grade(row: dict) -> str:
    return _points(row["score"]) if row["status"] in ("graded", "hand-grading pending") else ""


def moodle_worksheet(course_dir: Path, assignment: str, rows: list[dict]) -> tuple[list[dict], list[str]]:
    """The worksheet's rows (learners Moodle numbered when their zip was collected), and who was left out."""
    collected = extras.load(course_dir)["submissions"].get(assignment, {})
    now = datetime.datetime.now().strftime(MOODLE_DATE)
    out, left_out = [], []
    for row in rows:
        entry = collected.get(row["student_id"], {})
        if not entry.get("moodle_participant"):
            left_out.append(
                f"{row['student_id']}: no Moodle participant number (not collected from a Moodle zip)"
            )
            continue
        stamp = datetime.datetime.fromisoformat(entry["timestamp"]) if entry.get("timestamp") else None
        out.append(
            {
                "Identifier": f"Participant {entry['moodle_participant']}",
                "Full name": entry.get("moodle_name")
                or f"{row.get('first_name', '')} {row.get('last_name', '')}".strip(),
                "Email address": row.get("email", ""),
                "Status": "Submitted for grading" if row["status"] != "no submission" else "No submission",
                "Grade": _grade(row),
                "Maximum Grade": _points(row["max_score"]),
                "Grade can be changed": "Yes",
                "Last modified (submission)": stamp.strftime(MOODLE_DATE) if stamp else "-",
                "Last modified (grade)": now,
                "Feedback comments": _comment(row),
            }
        )
    return out, left_out


def moodle_gradebook(rows: list[dict], assignment: str) -> list[dict]:
    """Rows as Moodle's own gradebook export writes them: learners by e-mail and ID number."""
    column = MOODLE_GRADEBOOK[-1].format(assignment=assignment)
    return [
        {
            "First name": row.get("first_name", ""),
            "Last name": row.get("last_name", ""),
            "ID number": row["student_id"],
            "Email address": row.get("email", ""),
            column: _grade(row),
        }
        for row in rows
    ]


def canvas(
    course_dir: Path, rows: list[dict], assignment: str, canvas_id: str | None
) -> tuple[list[str], list[dict]]:
    """The Canvas header and rows: Points Possible first, then each learner with a Canvas user ID."""
    data = extras.load(course_dir)
    canvas_id = canvas_id or data["assignments"].get(assignment, {}).get("canvas_id")
    if not canvas_id:
        raise RuntimeError(
            f"no Canvas id for {assignment}: give --canvas-id (the number in the assignment's "
            "address), or import Canvas's gradebook export as the roster"
        )
    header = [*CANVAS[:-1], CANVAS[-1].format(assignment=assignment, canvas_id=canvas_id)]
    points = {name: "" for name in header} | {
        "Student": "    Points Possible",
        header[-1]: _points(rows[0]["max_score"]) if rows else "",
    }
    out = [points]
    for row in rows:
        if not row.get("lms_user_id"):
            continue
        extra = data["students"].get(row["student_id"], {})
        out.append(
            {
                "Student": f"{row.get('last_name', '')}, {row.get('first_name', '')}",
                "ID": row["lms_user_id"],
                "SIS User ID": extra.get("sis_user_id", ""),
                "SIS Login ID": extra.get("sis_login_id", ""),
                "Section": row.get("section", ""),
                header[-1]: _grade(row),
            }
        )
    return header, out


def export_for(
    course_dir: Path, lms: str, assignment: str, to: Path | None = None, canvas_id: str | None = None
) -> tuple[Path, list[str]]:
    """Write `assignment`'s grades for `lms` (one of FORMATS); returns the file and who was left out."""
    rows = [row for row in grade_rows(course_dir) if row["assignment"] == assignment]
    if not rows:
        raise RuntimeError(
            f"no learner has a row for {assignment!r} in {course_dir}'s gradebook: release it and "
            "import the roster first"
        )
    to = Path(to or Path(course_dir) / f"{lms}-{assignment}.csv")
    if lms == "moodle-worksheet":
        out, left_out = moodle_worksheet(course_dir, assignment, rows)
        return write_csv(to, list(MOODLE_WORKSHEET), out), left_out
    if lms == "moodle-gradebook":
        header = [*MOODLE_GRADEBOOK[:-1], MOODLE_GRADEBOOK[-1].format(assignment=assignment)]
        return write_csv(to, header, moodle_gradebook(rows, assignment)), []
    if lms == "canvas":
        header, out = canvas(course_dir, rows, assignment, canvas_id)
        left_out = [
            f"{row['student_id']}: no Canvas user ID on the roster"
            for row in rows
            if not row.get("lms_user_id")
        ]
        return write_csv(to, header, out), left_out
    raise RuntimeError(f"--for {lms!r}: give one of {', '.join(FORMATS)}")


def feedback_zip(course_dir: Path, assignment: str, to: Path | None = None) -> tuple[Path, list[str]]:
    """The feedback pages, named as Moodle's "Upload multiple feedback files in a zip" reads them:
    `Full Name_1234567_assignsubmission_file_<page>.html`. Returns the zip and who was left out."""
    from rnn_course.grading.config import load_config, student_folders

    course_dir = Path(course_dir)
    collected = extras.load(course_dir)["submissions"].get(assignment, {})
    to = Path(to or course_dir / f"feedback-{assignment}.zip")
    left_out = []
    with atomic.replacing(to, "wb") as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
        for folder in student_folders(load_config(course_dir), "feedback", assignment):
            student = folder.parent.name
            entry = collected.get(student, {})
            if not entry.get("moodle_participant"):
                left_out.append(f"{student}: no Moodle participant number (not collected from a Moodle zip)")
                continue
            name = entry.get("moodle_name", student).replace("_", " ")
            for page in sorted(folder.glob("*.html")):
                archive.write(page, f"{name}_{entry['moodle_participant']}_assignsubmission_file_{page.name}")
    return to, left_out
