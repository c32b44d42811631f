"""lms.json in the course folder: the LMS facts nbgrader's gradebook has no column for.

{"students": {id: {"section", "sis_user_id", "sis_login_id", "lms"}},
 "assignments": {name: {"canvas_id"}},
 "submissions": {assignment: {id: {"moodle_participant", "moodle_name", "late_flag", "timestamp"}}},
 "extensions": {assignment: {id: hours}}}
"""

from __future__ import annotations

import json
from pathlib import Path

from rnn_course.grading import atomic

FILE = "lms.json"
SECTIONS = ("students", "assignments", "submissions", "extensions")


def load(course_dir: Path) -> dict:
    """The course's lms.json (empty sections when there is none)."""
    path = Path(course_dir) / FILE
    data = {}
    if path.exists():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise RuntimeError(f"{path}: not readable as JSON ({error})") from None
        if not isinstance(data, dict):
            raise RuntimeError(f"{path}: expected a JSON object")
    return {section: dict(data.get(section) or {}) for section in SECTIONS}


def save(course_dir: Path, data: dict) -> Path:
    """Write lms.json atomically."""
    path = Path(course_dir) / FILE
    atomic.write_text(path, json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False))
    return path
