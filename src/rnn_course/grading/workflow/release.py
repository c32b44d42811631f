"""Release: generate the learner's version of an assignment, check it, and only then put it into release/."""

from __future__ import annotations

import copy
import logging
import os
import shutil
from pathlib import Path

import nbformat

from rnn_course.grading.config import course_path, load_config
from rnn_course.grading.errors import WorkflowError
from rnn_course.grading.faults import backups
from rnn_course.grading.faults.explain import explained
from rnn_course.grading.runner.report import RUNS_DIR
from rnn_course.grading.steps.cells import grade_id
from rnn_course.grading.steps.regions import Markers
from rnn_course.grading.workflow import release_check


@explained("release")
def release(course_dir: Path, assignment: str) -> list[str]:
    """Generate the student version of `assignment`, check it, and only then put it into release/.

    It is generated into a staging folder first, without touching the gradebook. If the check finds a
    problem, nothing changes (release/ and the gradebook keep the last good release) and the problems are
    returned. Otherwise it is generated again with the gradebook, and replaces release/<assignment>.
    """
    from nbgrader.coursedir import CourseDirectory

    course_dir = Path(course_dir).resolve()
    config = load_config(course_dir)
    source_dir = course_path(config, "source", ".", assignment)
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
        backups.keep(CourseDirectory(config=config).db_url, course_dir, config)  # before nbgrader writes
        _generate(config, assignment, staging, database=True)
        final = course_path(config, "release", ".", assignment)
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
    from nbgrader.coursedir import CourseDirectory

    coursedir = CourseDirectory(config=config)  # its defaults too (db_url) where the course sets none
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        try:
            known = gradebook.find_assignment(assignment)
        except MissingEntry:
            return None
        submitted = len(known.submissions)
        if not submitted:
            return None
        old_notebooks = {notebook.name: notebook for notebook in known.notebooks}
        new_paths = sorted(course_path(config, "source", ".", assignment).glob("*.ipynb"))
        new_names = {path.stem for path in new_paths}
        changes = [f"notebook {name} added" for name in sorted(new_names - set(old_notebooks))]
        changes += [f"notebook {name} removed" for name in sorted(set(old_notebooks) - new_names)]
        for path in new_paths:
            if path.stem not in old_notebooks:
                continue
            notebook = old_notebooks[path.stem]
            old = {
                cell.name
                for kind in ("grade_cells", "solution_cells", "task_cells", "source_cells")
                for cell in getattr(notebook, kind)
            }
            new = {
                grade_id(cell)
                for cell in nbformat.read(path, as_version=4).cells
                if cell.get("metadata", {}).get("nbgrader") and grade_id(cell)
            }
            changes += [f"cell {name} added" for name in sorted(new - old)]
            changes += [f"cell {name} removed" for name in sorted(old - new)]
    if not changes:
        return None
    return (
        f"{assignment} already has {submitted} graded submission(s), and nbgrader cannot add or remove "
        f"cells after that ({', '.join(changes)}). Keep the cells (change the code of an existing test "
        "cell, release, then `rnn-course grade autograde --force`), or, if they are only the demo's, "
        "run `rnn-course grade reset` first. Nothing was changed."
    )


def check_release(
    course_dir: Path, assignment: str, release_dir: Path | None = None, *, run_tests: bool = True
) -> list[str]:
    """Every problem of the released notebooks (see release_check), one line each: notebook, cell, line.
    With run_tests=False only what can be seen without running a kernel."""
    config = load_config(Path(course_dir))
    source_dir = course_path(config, "source", ".", assignment)
    release_dir = Path(release_dir or course_path(config, "release", ".", assignment))
    text_stub = config.ClearSolutions.get("text_stub", "YOUR ANSWER HERE")
    markers = Markers.from_config(config)
    problems: list[object] = []
    for source_path in sorted(source_dir.glob("*.ipynb")):
        release_path = release_dir / source_path.name
        if not release_path.exists():
            problems.append(f"{source_path.name}: missing from the release")
            continue
        source = nbformat.read(source_path, as_version=4)
        released = nbformat.read(release_path, as_version=4)
        found = release_check.check_notebook(
            source, released, source_path.name, text_stub=text_stub, markers=markers
        )
        if found or not run_tests:
            problems += found
        else:
            problems += release_check.passing_tests(str(release_path), source_path.name)
    return [str(problem) for problem in problems]
