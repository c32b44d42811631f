"""A roster from an LMS participant export (Moodle, Canvas) or nbgrader's student CSV, into the gradebook.

    Moodle:   First name, Last name, Email address [, ID number, Username, Groups]
    Canvas:   Student ("Last, First"), ID, SIS User ID, SIS Login ID, Section [, assignment columns]
    nbgrader: id, first_name, last_name, email [, lms_user_id, section]

The student id is nbgrader's, and names folders: Moodle's ID number, else its username, else the e-mail's
local part; Canvas's SIS User ID, else its SIS Login ID, else `canvas<ID>`. Anything the gradebook has no
column for (section, SIS ids) goes into lms.json (extras.py).
"""

from __future__ import annotations

import csv
import dataclasses
import re
import unicodedata
from pathlib import Path

from rnn_course.grading.lms import extras

CANVAS_TEST_STUDENT = "Student, Test"  # Canvas's "student view" account: never a learner
CANVAS_COLUMN = re.compile(r"^(?P<name>.+?) \((?P<id>\d+)\)$")  # "rnn_from_scratch (4711)"
SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


@dataclasses.dataclass
class Learner:
    """One learner, as the LMS knows them."""

    id: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    lms_user_id: str = ""  # Canvas's user ID; empty for Moodle (its participant number is per assignment)
    section: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    lms: str = ""  # moodle, canvas or nbgrader

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)


def safe_id(text: str) -> str:
    """A student id that is safe as a folder name: letters, digits, '.', '_' and '-' only."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"[^A-Za-z0-9._-]+", "_", text.strip()).strip("._-")
    return text[:128]


def name_key(text: str) -> str:
    """A name as compared across LMS files: case, accents and spacing ignored."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.casefold()).split())


def sortable_key(last: str, first: str) -> str:
    """Canvas's sortable name as its zip writes it: 'doejane'."""
    return name_key(f"{last}{first}").replace(" ", "")


def _rows(path: Path) -> tuple[list[str], list[dict]]:
    try:
        with Path(path).open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            rows = [
                {(key or "").strip(): (value or "").strip() for key, value in row.items()} for row in reader
            ]
            return [name.strip() for name in reader.fieldnames or []], rows
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise RuntimeError(f"{path}: cannot read it as a CSV file ({error})") from None


def _moodle(row: dict) -> Learner:
    email = row.get("Email address", "")
    chosen = row.get("ID number") or row.get("Username") or email.split("@")[0]
    return Learner(
        safe_id(chosen),
        row.get("First name", ""),
        row.get("Last name", ""),
        email,
        section=row.get("Groups", ""),
        lms="moodle",
    )


def _canvas(row: dict) -> Learner | None:
    name = row.get("Student", "")
    if not row.get("ID", "").isdigit() or name == CANVAS_TEST_STUDENT:
        return None  # "Points Possible", posting-policy rows, Canvas's test student
    last, _, first = name.partition(",")
    login = row.get("SIS Login ID", "")
    chosen = row.get("SIS User ID") or login.split("@")[0] or f"canvas{row['ID']}"
    return Learner(
        safe_id(chosen),
        first.strip(),
        last.strip(),
        login if "@" in login else "",
        lms_user_id=row["ID"],
        section=row.get("Section", ""),
        sis_user_id=row.get("SIS User ID", ""),
        sis_login_id=login,
        lms="canvas",
    )


def _nbgrader(row: dict) -> Learner:
    return Learner(
        row["id"],
        row.get("first_name", ""),
        row.get("last_name", ""),
        row.get("email", ""),
        lms_user_id=row.get("lms_user_id", ""),
        section=row.get("section", ""),
        lms="nbgrader",
    )


def read(path: Path) -> tuple[list[Learner], dict[str, str]]:
    """The learners of a participant export, and {assignment: Canvas id} from a Canvas gradebook's columns."""
    fields, rows = _rows(path)
    if {"Student", "ID", "SIS Login ID"} <= set(fields):
        parse, kind = _canvas, "canvas"
    elif {"First name", "Last name", "Email address"} <= set(fields):
        parse, kind = _moodle, "moodle"
    elif "id" in fields:
        parse, kind = _nbgrader, "nbgrader"
    else:
        raise RuntimeError(
            f"{path}: not a Moodle or Canvas participant export, nor an nbgrader student CSV "
            f"(columns: {', '.join(fields[:8]) or 'none'})"
        )
    learners, seen = [], {}
    for number, row in enumerate(rows, start=2):
        learner = parse(row)
        if learner is None:
            continue
        if not SAFE_ID.match(learner.id):
            raise RuntimeError(
                f"{path}: line {number}: no usable student id for {learner.full_name or row!r}"
            )
        if learner.id in seen:
            raise RuntimeError(
                f"{path}: line {number}: student id {learner.id!r} again (first on line "
                f"{seen[learner.id]}); give each learner an ID number or SIS User ID"
            )
        seen[learner.id] = number
        learners.append(learner)
    canvas_ids = {}
    if kind == "canvas":
        for field in fields:
            match = CANVAS_COLUMN.match(field)
            if match:
                canvas_ids[match["name"]] = match["id"]
    return learners, canvas_ids


def import_roster(course_dir: Path, path: Path) -> list[Learner]:
    """Add or update every learner of `path` in the gradebook (and lms.json); returns them."""
    from nbgrader.api import Gradebook
    from nbgrader.coursedir import CourseDirectory

    from rnn_course.grading.config import load_config

    learners, canvas_ids = read(path)
    coursedir = CourseDirectory(config=load_config(course_dir))
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        for learner in learners:
            gradebook.update_or_create_student(
                learner.id,
                first_name=learner.first_name,
                last_name=learner.last_name,
                email=learner.email or None,
                lms_user_id=learner.lms_user_id or None,
            )
    data = extras.load(course_dir)
    for learner in learners:
        data["students"][learner.id] = {
            "section": learner.section,
            "sis_user_id": learner.sis_user_id,
            "sis_login_id": learner.sis_login_id,
            "lms": learner.lms,
        }
    for assignment, canvas_id in canvas_ids.items():
        data["assignments"].setdefault(assignment, {})["canvas_id"] = canvas_id
    extras.save(course_dir, data)
    return learners


def learners(course_dir: Path) -> list[Learner]:
    """Every learner of the course: the gradebook's students with lms.json's extras."""
    from nbgrader.api import Gradebook
    from nbgrader.coursedir import CourseDirectory

    from rnn_course.grading.config import load_config

    known = extras.load(course_dir)["students"]
    coursedir = CourseDirectory(config=load_config(course_dir))
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        found = []
        for student in gradebook.students:
            extra = known.get(student.id, {})
            found.append(
                Learner(
                    student.id,
                    student.first_name or "",
                    student.last_name or "",
                    student.email or "",
                    student.lms_user_id or "",
                    extra.get("section", ""),
                    extra.get("sis_user_id", ""),
                    extra.get("sis_login_id", ""),
                    extra.get("lms", ""),
                )
            )
    return found
