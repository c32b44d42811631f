"""The demo: release, collect the demo submissions, autograde, feedback and export, then check the scores."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat

from rnn_course.grading.config import course_path, load_config
from rnn_course.grading.errors import WorkflowError
from rnn_course.grading.faults.explain import explained
from rnn_course.grading.runner.record import plain_errors
from rnn_course.grading.runner.run import autograde
from rnn_course.grading.steps.cells import is_test_cell
from rnn_course.grading.workflow.export import export
from rnn_course.grading.workflow.feedback import feedback
from rnn_course.grading.workflow.release import release

EXPECTED_SCORES = "expected_scores.json"  # in demo_submissions/: {student: auto score}


def demo_students(course_dir: Path) -> list[str]:
    """The students `grade demo` adds (named in demo_submissions/expected_scores.json)."""
    path = Path(course_dir) / "demo_submissions" / EXPECTED_SCORES
    return sorted(json.loads(path.read_text())) if path.exists() else []


@dataclass
class DemoRow:
    student: str
    expected: float
    score: float | None
    max_score: float | None
    reason: str

    @property
    def ok(self) -> bool:
        return self.score is not None and abs(self.score - self.expected) < 1e-6


def collect_demo(course_dir: Path, assignment: str) -> dict[str, float]:
    """Copy demo_submissions/<student>/ into submitted/; return the expected auto scores."""
    course_dir = Path(course_dir)
    config = load_config(course_dir)
    demo = course_dir / "demo_submissions"
    expected = json.loads((demo / EXPECTED_SCORES).read_text())
    for student in expected:
        target = course_path(config, "submitted", student, assignment)
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(demo / student / assignment, target)
    return {student: float(score) for student, score in expected.items()}


@explained("demo")
def demo(
    course_dir: Path,
    assignment: str,
    *,
    workers: int | None = None,
    progress: bool = True,
    sandbox: bool = True,
):
    """Release, collect the demo submissions, autograde, feedback, export; return the grade table's rows."""
    problems = release(course_dir, assignment)
    if problems:
        raise WorkflowError("the release is not sound:\n" + "\n".join(problems))
    expected = collect_demo(course_dir, assignment)
    report = autograde(
        course_dir,
        assignment,
        workers=workers,
        students=sorted(expected),
        force=True,
        sandbox=sandbox,
        progress=progress,
    )
    feedback(course_dir, assignment)
    export(course_dir)
    by_student = {result.student: result for result in report.results}
    rows = []
    for student, score in sorted(expected.items()):
        result = by_student.get(student)
        got, top = getattr(result, "score", None), getattr(result, "max_score", None)
        reason = getattr(result, "reason", "not graded") or test_errors(course_dir, assignment, student)
        rows.append(DemoRow(student, score, got, top, reason))
    return rows


def test_errors(course_dir: Path, assignment: str, student: str) -> str:
    """Why test cells lost points, from the autograded notebooks, in words: "PyTorch's own RNN used in 4 test
    cell(s), a wrong or missing result in 2 test cell(s)"."""
    counts: dict[str, int] = {}
    folder = course_path(load_config(course_dir), "autograded", student, assignment)
    for path in sorted(folder.glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if is_test_cell(cell):
                names = {output.get("ename") for output in cell.get("outputs", []) if output.get("ename")}
                for name in names:
                    counts[name] = counts.get(name, 0) + 1
    return ", ".join(plain_errors(counts))


def format_table(rows: list[DemoRow]) -> str:
    lines = [f"{'student':<24} {'expected':>8} {'score':>8}  {'':4} reason"]
    for row in rows:
        score = "-" if row.score is None else f"{row.score:g}/{row.max_score:g}"
        lines.append(
            f"{row.student:<24} {row.expected:>8g} {score:>8}  {'ok' if row.ok else 'DIFF':4} "
            f"{row.reason[:70]}"
        )
    return "\n".join(lines)
