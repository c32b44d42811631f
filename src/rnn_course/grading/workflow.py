"""The instructor workflow on an nbgrader course folder: release, autograde, feedback, export, demo."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from rnn_course.grading.preprocessors import HIDDEN_BEGIN, HIDDEN_END, is_test_cell

EXPECTED_SCORES = "expected_scores.json"  # in demo_submissions/: {student: auto score}


def load_config(course_dir: Path):
    """The course's nbgrader_config.py, rooted at course_dir wherever it lies."""
    from traitlets.config import Config, PyFileConfigLoader

    # nbgrader runs the `alembic` command to create a gradebook: find it beside this Python, venv or not.
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")

    course_dir = Path(course_dir).resolve()
    config = Config()
    if (course_dir / "nbgrader_config.py").exists():
        config = PyFileConfigLoader("nbgrader_config.py", path=str(course_dir)).load_config()
    config.CourseDirectory.root = str(course_dir)
    return config


def nbgrader_api(course_dir: Path):
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    config = load_config(course_dir)
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def _raise_on_failure(result: dict, what: str) -> None:
    if not result.get("success"):
        raise RuntimeError(f"{what} failed:\n{result.get('error') or result.get('log', '')}")


# -------------------------------------------------------------------------------- release


def release(course_dir: Path, assignment: str) -> list[str]:
    """Generate the student version of `assignment`; return the problems `check_release` finds."""
    api = nbgrader_api(course_dir)
    _raise_on_failure(api.generate_assignment(assignment, force=True, create=True), "generate_assignment")
    return check_release(course_dir, assignment)


def _region_lines(source: nbformat.NotebookNode, begin: str, end: str, whole_cell=None) -> list[str]:
    """Stripped lines inside begin/end regions (or whole cells picked by whole_cell) and nowhere else."""
    inside_lines, outside_lines = [], []
    for cell in source.cells:
        whole = whole_cell is not None and whole_cell(cell) and begin not in cell.source
        inside = False
        for line in cell.source.splitlines():
            if begin in line:
                inside = True
            elif end in line:
                inside = False
            elif line.strip():
                (inside_lines if inside or whole else outside_lines).append(line.strip())
    outside = "\n".join(outside_lines)
    return [line for line in inside_lines if line not in outside]


def hidden_test_lines(source: nbformat.NotebookNode) -> list[str]:
    """The lines only hidden tests have: none of them may reach a learner."""
    return _region_lines(source, HIDDEN_BEGIN, HIDDEN_END)


def solution_lines(source: nbformat.NotebookNode) -> list[str]:
    """The lines only solutions have (solution regions, and answer cells without one)."""
    return _region_lines(source, "### BEGIN SOLUTION", "### END SOLUTION",
                         whole_cell=lambda cell: cell.metadata.get("nbgrader", {}).get("solution", False))


def _paths(course_dir: Path, assignment: str) -> tuple[Path, Path]:
    course_dir = Path(course_dir)
    return course_dir / "source" / assignment, course_dir / "release" / assignment


def check_release(course_dir: Path, assignment: str) -> list[str]:
    """The release has no solution line, no hidden test and fails every test cell (Validator, inverted)."""
    from nbgrader.validator import Validator

    source_dir, release_dir = _paths(course_dir, assignment)
    problems = []
    for source_path in sorted(source_dir.glob("*.ipynb")):
        release_path = release_dir / source_path.name
        if not release_path.exists():
            problems.append(f"{release_path} is missing")
            continue
        source = nbformat.read(source_path, as_version=4)
        released = nbformat.read(release_path, as_version=4)
        text = {line.strip() for cell in released.cells for line in cell.source.splitlines()}
        secret = {"solution": solution_lines(source), "hidden test": hidden_test_lines(source)}
        if any(HIDDEN_BEGIN in cell.source or "BEGIN SOLUTION" in cell.source for cell in released.cells):
            problems.append(f"{release_path.name}: a solution or hidden test marker is left in the release")
        for kind, lines in secret.items():
            leaked = [line for line in lines if line in text]
            if leaked:
                problems.append(f"{release_path.name}: {kind} code in the release, e.g. {leaked[0]!r}")
        results = Validator(invert=True, ignore_checksums=True).validate(str(release_path))
        passing = results.get("passed", [])
        if passing:
            problems.append(f"{release_path.name}: {len(passing)} test cell(s) pass on the blank release")
        tests = sum(is_test_cell(cell) for cell in released.cells)
        if tests != sum(is_test_cell(cell) for cell in source.cells):
            problems.append(f"{release_path.name}: test cells differ in number from the source")
    return problems


# -------------------------------------------------------------------------------- autograde


def autograde(course_dir: Path, assignment: str, **options):
    """Grade every submission with the parallel runner; returns its report."""
    from rnn_course.grading.runner import autograde as run  # the runner is heavy: import it only when used

    return run(Path(course_dir), assignment, **options)


# -------------------------------------------------------------------------------- feedback


def feedback(course_dir: Path, assignment: str) -> list[Path]:
    """HTML feedback for every autograded submission; refuses to leave one that shows hidden test code."""
    api = nbgrader_api(course_dir)
    _raise_on_failure(api.generate_feedback(assignment, force=True), "generate_feedback")
    source_dir, _ = _paths(course_dir, assignment)
    sources = [nbformat.read(path, as_version=4) for path in source_dir.glob("*.ipynb")]
    hidden = [line for source in sources for line in hidden_test_lines(source)]
    pages = sorted(Path(course_dir, "feedback").glob(f"*/{assignment}/*.html"))
    for page in pages:
        leaked = leaked_lines(page.read_text(), hidden)
        if leaked:
            page.unlink()
            raise RuntimeError(f"{page} showed hidden test code ({leaked[0]!r}); it was removed")
    return pages


def visible_text(page: str) -> str:
    """What a reader of an HTML page sees: no tags, entities decoded, whitespace collapsed."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", page)).split())


def leaked_lines(page: str, lines: list[str]) -> list[str]:
    text = visible_text(page)
    return [line for line in lines if " ".join(line.split()) in text]


# -------------------------------------------------------------------------------- export


def export(course_dir: Path, to: Path | None = None) -> Path:
    """Write the gradebook as CSV (nbgrader's own format) to grades.csv in the course folder."""
    from nbgrader.api import Gradebook
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.plugins import CsvExportPlugin

    config = load_config(course_dir)
    coursedir = CourseDirectory(config=config)
    to = Path(to or Path(course_dir) / "grades.csv")
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        CsvExportPlugin(config=config, to=str(to)).export(gradebook)
    return to


# -------------------------------------------------------------------------------- demo


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
    demo = course_dir / "demo_submissions"
    expected = json.loads((demo / EXPECTED_SCORES).read_text())
    for student in expected:
        target = course_dir / "submitted" / student / assignment
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(demo / student / assignment, target)
    return {student: float(score) for student, score in expected.items()}


def demo(course_dir: Path, assignment: str, *, workers: int | None = None, progress: bool = True):
    """Release, collect the demo submissions, autograde, feedback, export; return the grade table's rows."""
    problems = release(course_dir, assignment)
    if problems:
        raise RuntimeError("the release is not sound:\n" + "\n".join(problems))
    expected = collect_demo(course_dir, assignment)
    report = autograde(course_dir, assignment, workers=workers, students=sorted(expected), force=True,
                       progress=progress)
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
    """Why test cells lost points, from the autograded notebooks: 'ForbiddenCall x4, GradingError x2'."""
    counts: dict[str, int] = {}
    for path in sorted(Path(course_dir, "autograded", student, assignment).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if is_test_cell(cell):
                names = {output.get("ename") for output in cell.get("outputs", []) if output.get("ename")}
                for name in names:
                    counts[name] = counts.get(name, 0) + 1
    return ", ".join(f"{name} x{count}" for name, count in sorted(counts.items(), key=lambda item: -item[1]))


def format_table(rows: list[DemoRow]) -> str:
    lines = [f"{'student':<24} {'expected':>8} {'score':>8}  {'':4} reason"]
    for row in rows:
        score = "-" if row.score is None else f"{row.score:g}/{row.max_score:g}"
        lines.append(f"{row.student:<24} {row.expected:>8g} {score:>8}  {'ok' if row.ok else 'DIFF':4} "
                     f"{row.reason[:70]}")
    return "\n".join(lines)
