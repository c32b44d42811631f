"""Reset: remove students (by default the demo's) from the gradebook and every course folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from rnn_course.grading import atomic
from rnn_course.grading.config import load_config
from rnn_course.grading.faults import backups
from rnn_course.grading.faults.explain import explained
from rnn_course.grading.runner.report import RUNS_DIR
from rnn_course.grading.workflow.demo import demo_students
from rnn_course.grading.workflow.export import export


@explained("reset")
def reset(course_dir: Path, students: list[str] | None = None) -> list[str]:
    """Remove students (default: the demo's) completely: gradebook, submitted/, autograded/, feedback/, run
    statuses; grades.csv is written again if it was there. Returns the students that were found."""
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.coursedir import CourseDirectory

    course_dir = Path(course_dir).resolve()
    students = demo_students(course_dir) if students is None else students
    config = load_config(course_dir)
    coursedir = CourseDirectory(config=config)
    removed = set()
    backups.keep(coursedir.db_url, course_dir, config)
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        for student in students:
            try:
                gradebook.remove_student(student)
                removed.add(student)
            except MissingEntry:
                pass
    for student in students:
        for step in ("submitted", "autograded", "feedback"):
            folder = Path(coursedir.format_path(getattr(coursedir, f"{step}_directory"), student, "."))
            if folder.exists():
                shutil.rmtree(folder)
                removed.add(student)
    for path in (course_dir / RUNS_DIR).glob("status-*.json"):
        status = json.loads(path.read_text())
        kept = {student: entry for student, entry in status.items() if student not in students}
        if kept != status:
            atomic.write_text(path, json.dumps(kept, indent=2, sort_keys=True))
    if (course_dir / "grades.csv").exists():
        export(course_dir)
    return sorted(removed)
