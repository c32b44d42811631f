"""The course-wide view: how many graded submissions made each catalogued mistake, from autograded/.

Reads the verdicts the grader wrote into the autograded notebooks (a diagnosed one names its mistake), so it
needs no gradebook and can be run at any time after `rnn-course grade autograde`.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from rnn_course.grading import atomic
from rnn_course.grading.config import load_config, student_folders
from rnn_course.grading.judge import mistakes
from rnn_course.grading.steps.cells import is_test_cell

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class MistakeReport:
    assignment: str
    students: list[str] = field(default_factory=list)  # every graded submission
    cells: dict[str, dict[str, int]] = field(default_factory=dict)  # mistake key -> student -> test cells

    def submissions(self, key: str) -> int:
        return len(self.cells.get(key, {}))


def named_mistakes(notebook) -> dict[str, int]:
    """The catalogued mistakes named in a notebook's test verdicts, with how many test cells name each."""
    found: dict[str, int] = {}
    for cell in notebook.cells:
        if not is_test_cell(cell):
            continue
        text = " ".join(ANSI.sub("", output.get("evalue", "")) for output in cell.get("outputs", []))
        for mistake in mistakes.NAMED.values():
            if f"{mistakes.MARK}{mistake.name}." in text:
                found[mistake.key] = found.get(mistake.key, 0) + 1
    return found


def count(course_dir: Path, assignment: str) -> MistakeReport:
    """Every autograded submission of `assignment`, and which mistakes its verdicts name."""
    report = MistakeReport(assignment)
    for folder in student_folders(load_config(course_dir), "autograded", assignment):
        notebooks = sorted(folder.glob("*.ipynb"))
        if not notebooks:
            continue
        student = folder.parent.name
        report.students.append(student)
        for path in notebooks:
            for key, cells in named_mistakes(nbformat.read(path, as_version=4)).items():
                per_student = report.cells.setdefault(key, {})
                per_student[student] = per_student.get(student, 0) + cells
    return report


def format_report(report: MistakeReport, by_learner: bool = False) -> str:
    """A table, most common mistake first; with `by_learner`, the learners who made each one under it."""
    named = {student for students in report.cells.values() for student in students}
    lines = [
        f"{report.assignment}: {len(report.students)} graded submission(s), "
        f"{len(named)} with a named mistake",
        f"{'submissions':>11} {'tests':>5}  {'mistake':<52} lesson",
    ]
    for mistake in sorted(mistakes.NAMED.values(), key=lambda m: -report.submissions(m.key)):
        if report.submissions(mistake.key):
            cells, submissions = sum(report.cells[mistake.key].values()), report.submissions(mistake.key)
            lines.append(f"{submissions:>11} {cells:>5}  {mistake.name:<52} {mistake.link}")
            if by_learner:
                lines.append(f"{'':>19}{', '.join(sorted(report.cells[mistake.key]))}")
    return "\n".join(lines)


def write_csv(report: MistakeReport, to: Path) -> Path:
    """One row per catalogued mistake (zero counts included) and per observation made: key, name,
    submissions, test cells, lesson, and the learners who made it (separated by spaces)."""
    with atomic.replacing(to, newline="") as handle:  # the old file stays until this one is whole
        writer = csv.writer(handle)
        writer.writerow(["mistake", "name", "submissions", "test_cells", "lesson", "learners"])
        for mistake in mistakes.NAMED.values():
            if mistake.key not in mistakes.BY_KEY and not report.submissions(mistake.key):
                continue
            cells = sum(report.cells.get(mistake.key, {}).values())
            writer.writerow(
                [
                    mistake.key,
                    mistake.name,
                    report.submissions(mistake.key),
                    cells,
                    mistake.link,
                    " ".join(sorted(report.cells.get(mistake.key, {}))),
                ]
            )
    return Path(to)
