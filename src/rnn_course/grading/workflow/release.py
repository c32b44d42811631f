"""The instructor workflow on an nbgrader course folder: release, autograde, feedback, export, demo, reset."""

from __future__ import annotations

import copy
import csv
import html
import json
import logging
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat

from rnn_course.grading.config import load_config
from rnn_course.grading.runner import run as runner
from rnn_course.grading.runner.run import RUNS_DIR, read_status
from rnn_course.grading.steps.cells import HIDDEN_BEGIN, HIDDEN_END, grade_id, is_test_cell
from rnn_course.grading.workflow import release_check

EXPECTED_SCORES = "expected_scores.json"  # in demo_submissions/: {student: auto score}


def nbgrader_api(course_dir: Path):
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    config = load_config(course_dir)
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


class WorkflowError(RuntimeError):
    """A step that cannot go on: one line that says why and what to do."""


def _raise_on_failure(result: dict, what: str) -> None:
    if not result.get("success"):
        text = (result.get("error") or result.get("log") or "").strip().splitlines()
        why = [line for line in text if line.strip() and "see the above traceback" not in line]
        raise WorkflowError(f"{what} failed: {why[-1].strip() if why else 'no reason given'}")


# -------------------------------------------------------------------------------- release


def release(course_dir: Path, assignment: str) -> list[str]:
    """Generate the student version of `assignment`, check it, and only then put it into release/.

    It is generated into a staging folder first, without touching the gradebook. If the check finds a
    problem, nothing changes (release/ and the gradebook keep the last good release) and the problems are
    returned. Otherwise it is generated again with the gradebook, and replaces release/<assignment>.
    """
    course_dir = Path(course_dir).resolve()
    config = load_config(course_dir)
    source_dir = course_dir / "source" / assignment
    if not sorted(source_dir.glob("*.ipynb")):
        raise WorkflowError(f"no notebook in {source_dir}: is {assignment!r} the assignment's name?")
    blocked = edit_blocked(config, assignment)
    if blocked:
        raise WorkflowError(blocked)
    staging = course_dir / RUNS_DIR / "release-staging"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        _generate(config, assignment, staging, database=False)
        problems = check_release(course_dir, assignment, staging / assignment)
        if problems:
            return problems
        _generate(config, assignment, staging, database=True)
        final = course_dir / "release" / assignment
        old = staging / "previous"
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            os.replace(final, old)
        os.replace(staging / assignment, final)
        return []
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _generate(config, assignment: str, into: Path, *, database: bool) -> None:
    """nbgrader's generate_assignment, writing into `into` (and the gradebook only if `database`)."""
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory

    config = copy.deepcopy(config)
    config.CourseDirectory.release_directory = os.path.relpath(into, config.CourseDirectory.root)
    config.CourseDirectory.assignment_id = assignment
    config.GenerateAssignment.no_database = not database
    config.SaveCells.enabled = database  # what `nbgrader generate_assignment --no-db` sets
    config.GenerateAssignment.force = True
    converter = GenerateAssignment(coursedir=CourseDirectory(config=config), config=config)
    messages = _LastError()
    converter.log.addHandler(messages)
    try:
        converter.start()
    except Exception as error:
        raise WorkflowError(f"generate_assignment failed: {messages.last or _first_line(error)}") from None
    finally:
        converter.log.removeHandler(messages)


class _LastError(logging.Handler):
    """Keeps the last error nbgrader logged: its exceptions often say only 'see the above traceback'."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.last = ""

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.last = _first_line(record.exc_info[1])
            return
        lines = [line.strip() for line in record.getMessage().splitlines() if line.strip()]
        if lines and "above traceback" not in lines[-1] and "There was an error processing" not in lines[-1]:
            self.last = lines[-1]


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}"


def edit_blocked(config, assignment: str) -> str | None:
    """Why nbgrader would refuse to re-release after grading (cells added or removed), or None.

    nbgrader keeps every submission's grades per cell, so once a notebook has submissions it refuses to
    add or remove its cells (and it would delete release/ on the way out). Editing the code or text of
    existing cells is fine. This says so up front, in one line, and what to do.
    """
    from nbgrader.api import Gradebook, MissingEntry

    root = Path(config.CourseDirectory.root)
    with Gradebook(config.CourseDirectory.db_url, config.CourseDirectory.course_id) as gradebook:
        try:
            known = gradebook.find_assignment(assignment)
        except MissingEntry:
            return None
        submitted = len(known.submissions)
        if not submitted:
            return None
        old_notebooks = {notebook.name: notebook for notebook in known.notebooks}
        new_paths = sorted((root / "source" / assignment).glob("*.ipynb"))
        new_names = {path.stem for path in new_paths}
        changes = [f"notebook {name} added" for name in sorted(new_names - set(old_notebooks))]
        changes += [f"notebook {name} removed" for name in sorted(set(old_notebooks) - new_names)]
        for path in new_paths:
            if path.stem not in old_notebooks:
                continue
            notebook = old_notebooks[path.stem]
            old = {cell.name for kind in ("grade_cells", "solution_cells", "task_cells", "source_cells")
                   for cell in getattr(notebook, kind)}
            new = {grade_id(cell) for cell in nbformat.read(path, as_version=4).cells
                   if cell.get("metadata", {}).get("nbgrader") and grade_id(cell)}
            changes += [f"cell {name} added" for name in sorted(new - old)]
            changes += [f"cell {name} removed" for name in sorted(old - new)]
    if not changes:
        return None
    return (f"{assignment} already has {submitted} graded submission(s), and nbgrader cannot add or remove "
            f"cells after that ({', '.join(changes)}). Keep the cells (change the code of an existing test "
            "cell, release, then `rnn-course grade autograde --force`), or, if they are only the demo's, "
            "run `rnn-course grade reset` first. Nothing was changed.")


def check_release(course_dir: Path, assignment: str, release_dir: Path | None = None) -> list[str]:
    """Every problem of the released notebooks (see release_check), one line each: notebook, cell, line."""
    course_dir = Path(course_dir)
    source_dir = course_dir / "source" / assignment
    release_dir = Path(release_dir or course_dir / "release" / assignment)
    text_stub = load_config(course_dir).ClearSolutions.get("text_stub", "YOUR ANSWER HERE")
    problems: list[object] = []
    for source_path in sorted(source_dir.glob("*.ipynb")):
        release_path = release_dir / source_path.name
        if not release_path.exists():
            problems.append(f"{source_path.name}: missing from the release")
            continue
        source = nbformat.read(source_path, as_version=4)
        released = nbformat.read(release_path, as_version=4)
        found = release_check.check_notebook(source, released, source_path.name, text_stub=text_stub)
        problems += found or release_check.passing_tests(str(release_path), source_path.name)
    return [str(problem) for problem in problems]


def hidden_test_lines(source: nbformat.NotebookNode) -> list[str]:
    """The code lines only hidden tests have: none of them may reach a learner."""
    key = release_check.code_key
    code = [cell.source for cell in source.cells if cell.cell_type == "code"]
    parts = [release_check.regions(text, HIDDEN_BEGIN, HIDDEN_END) for text in code]
    shown = "\n".join(key(line) for _, outside in parts for line in outside)
    return [line.strip() for inside, _ in parts for line in inside
            if len(key(line)) >= release_check.MIN_SECRET and key(line) not in shown]


# -------------------------------------------------------------------------------- autograde


def autograde(course_dir: Path, assignment: str, **options):
    """Grade every submission with the parallel runner; returns its report."""
    return runner.autograde(Path(course_dir), assignment, **options)


# -------------------------------------------------------------------------------- feedback


def feedback(course_dir: Path, assignment: str) -> list[Path]:
    """HTML feedback for every autograded submission (refusing one that shows hidden test code), and a page
    that says why for every submission that could not be graded."""
    api = nbgrader_api(course_dir)
    _raise_on_failure(api.generate_feedback(assignment, force=True), "generate_feedback")
    source_dir = Path(course_dir) / "source" / assignment
    sources = [nbformat.read(path, as_version=4) for path in source_dir.glob("*.ipynb")]
    hidden = [line for source in sources for line in hidden_test_lines(source)]
    pages = sorted(Path(course_dir, "feedback").glob(f"*/{assignment}/*.html"))
    for page in pages:
        leaked = leaked_lines(page.read_text(), hidden)
        if leaked:
            page.unlink()
            raise RuntimeError(f"{page} showed hidden test code ({leaked[0]!r}); it was removed")
    names = [path.stem for path in sorted(source_dir.glob("*.ipynb"))]
    return pages + not_graded_pages(course_dir, assignment, names)


NOT_GRADED = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{assignment}: not graded</title></head>
<body><h1>{assignment}: your submission could not be graded</h1>
<p>{reason}.</p>
<p>Fix this and submit again; nothing of this submission was scored.</p></body></html>
"""


def not_graded_pages(course_dir: Path, assignment: str, notebooks: list[str]) -> list[Path]:
    """A short page, where a learner looks for feedback, for each submission that failed before grading."""
    pages = []
    for student, last in sorted(read_status(course_dir, assignment).items()):
        if last.get("status") != "failed":
            continue
        folder = Path(course_dir, "feedback", student, assignment)
        folder.mkdir(parents=True, exist_ok=True)
        reason = html.escape(last.get("reason", ""))
        text = NOT_GRADED.format(assignment=html.escape(assignment), reason=reason)
        for name in notebooks:
            (folder / f"{name}.html").write_text(text)
            pages.append(folder / f"{name}.html")
    return pages


def visible_text(page: str) -> str:
    """What a reader of an HTML page sees: no tags, entities decoded, whitespace collapsed."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", page)).split())


def leaked_lines(page: str, lines: list[str]) -> list[str]:
    text = visible_text(page)
    return [line for line in lines if " ".join(line.split()) in text]


# -------------------------------------------------------------------------------- export

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
            if last.get("status") == "failed":
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
            if (assignment, student) not in listed and last.get("status") == "failed":
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


# -------------------------------------------------------------------------------- reset


def demo_students(course_dir: Path) -> list[str]:
    """The students `grade demo` adds (named in demo_submissions/expected_scores.json)."""
    path = Path(course_dir) / "demo_submissions" / EXPECTED_SCORES
    return sorted(json.loads(path.read_text())) if path.exists() else []


def reset(course_dir: Path, students: list[str] | None = None) -> list[str]:
    """Remove students (default: the demo's) completely: gradebook, submitted/, autograded/, feedback/, run
    statuses; grades.csv is written again if it was there. Returns the students that were found."""
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.coursedir import CourseDirectory

    course_dir = Path(course_dir).resolve()
    students = demo_students(course_dir) if students is None else students
    coursedir = CourseDirectory(config=load_config(course_dir))
    removed = set()
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        for student in students:
            try:
                gradebook.remove_student(student)
                removed.add(student)
            except MissingEntry:
                pass
    for student in students:
        for folder in ("submitted", "autograded", "feedback"):
            if (course_dir / folder / student).exists():
                shutil.rmtree(course_dir / folder / student)
                removed.add(student)
    for path in (course_dir / RUNS_DIR).glob("status-*.json"):
        status = json.loads(path.read_text())
        kept = {student: entry for student, entry in status.items() if student not in students}
        if kept != status:
            path.write_text(json.dumps(kept, indent=2, sort_keys=True))
    if (course_dir / "grades.csv").exists():
        export(course_dir)
    return sorted(removed)


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


def demo(course_dir: Path, assignment: str, *, workers: int | None = None, progress: bool = True,
         sandbox: bool = True):
    """Release, collect the demo submissions, autograde, feedback, export; return the grade table's rows."""
    problems = release(course_dir, assignment)
    if problems:
        raise RuntimeError("the release is not sound:\n" + "\n".join(problems))
    expected = collect_demo(course_dir, assignment)
    report = autograde(course_dir, assignment, workers=workers, students=sorted(expected), force=True,
                       sandbox=sandbox, progress=progress)
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
