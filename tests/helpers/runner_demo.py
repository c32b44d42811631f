"""Generated submissions for the runner's tests and benchmark, plus a tiny torch course to grade them on.

A submission is the student release with some solution cells answered from the source notebook:
`correct` answers all of them, `partial` the first half, `wrong` none. The kinds in MISCHIEF answer all of
them but put misbehaving code first in the first answer. `broken` is not JSON, `not_a_notebook` is JSON.
"""

from __future__ import annotations

import os
import re
import shutil
import textwrap
from pathlib import Path

import nbformat

KINDS = (
    "correct",
    "partial",
    "wrong",
    "broken",
    "not_a_notebook",
    "timeout",
    "memory",
    "flood",
    "spawn",
    "exit",
    "fork",
)

# What each misbehaving kind runs before the first correct answer.
MISCHIEF = {
    "timeout": "while True:\n    pass\n",
    "memory": "hog = [bytearray(64 * 2**20) for _ in range(10**6)]\n",
    "flood": "while True:\n    print('x' * 100)\n",
    "spawn": "import subprocess\nsleepers = [subprocess.Popen(['sleep', '4321']) for _ in range(5)]\n",
    "exit": "import os\nos._exit(3)\n",
    "fork": (
        "import os, time\nfor _ in range(500):\n    if os.fork() == 0:\n        time.sleep(20)\n"
        "        os._exit(0)\n"
    ),
}

_MARKERS = re.compile(r"^\s*### (BEGIN|END) (SOLUTION|HIDDEN TESTS)\s*$\n?", re.MULTILINE)


def _grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _is_solution(cell) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution"))


def _answer(source: str) -> str:
    """The source cell's text as a student would have typed it (no nbgrader markers)."""
    return _MARKERS.sub("", source)


def make_submission(course_dir: Path, assignment: str, student: str, kind: str, timestamp: str = "") -> Path:
    """Write submitted/<student>/<assignment>/ for every notebook of the release, answered as `kind` says."""
    course_dir = Path(course_dir)
    release = course_dir / "release" / assignment
    source = course_dir / "source" / assignment
    dest = course_dir / "submitted" / student / assignment
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    if timestamp:
        (dest / "timestamp.txt").write_text(timestamp)
    for path in sorted(release.glob("*.ipynb")):
        if kind == "broken":
            (dest / path.name).write_text('{"cells": [ this is not json')
            continue
        if kind == "not_a_notebook":
            (dest / path.name).write_text('{"hello": "a JSON file, but not a notebook"}')
            continue
        notebook = nbformat.read(path, as_version=4)
        source_cells = nbformat.read(source / path.name, as_version=4).cells
        answers = {_grade_id(cell): _answer(cell.source) for cell in source_cells if _is_solution(cell)}
        solution_cells = [cell for cell in notebook.cells if _grade_id(cell) in answers]
        answered = {"wrong": 0, "partial": len(solution_cells) // 2}.get(kind, len(solution_cells))
        for index, cell in enumerate(solution_cells[:answered]):
            cell.source = answers[_grade_id(cell)]
            if index == 0 and kind in MISCHIEF:
                cell.source = MISCHIEF[kind] + cell.source
        nbformat.write(notebook, dest / path.name)
    return dest


TINY_SOURCE = [
    ("markdown", None, "# Doubling with torch\nWrite `double` and `square`."),
    ("code", None, "import torch"),
    (
        "code",
        {"solution": True, "grade": False, "grade_id": "double", "locked": False},
        "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION",
    ),
    (
        "code",
        {"solution": False, "grade": True, "grade_id": "test_double", "points": 2, "locked": True},
        "assert torch.equal(double(torch.ones(3)), torch.full((3,), 2.0))",
    ),
    (
        "code",
        {"solution": True, "grade": False, "grade_id": "square", "locked": False},
        "def square(x):\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION",
    ),
    (
        "code",
        {"solution": False, "grade": True, "grade_id": "test_square", "points": 3, "locked": True},
        "assert torch.equal(square(torch.arange(3.0)), torch.tensor([0.0, 1.0, 4.0]))\n"
        "### BEGIN HIDDEN TESTS\nassert square(torch.tensor(-2.0)).item() == 4.0\n### END HIDDEN TESTS",
    ),
]

TINY_CONFIG = textwrap.dedent("""\
    c = get_config()  # noqa: F821
    c.CourseDirectory.course_id = "tiny"
    c.Execute.timeout = {cell_timeout}
    c.GradingLimits.notebook_timeout = {notebook_timeout}
    c.GradingLimits.memory_mb = 1024
    c.GradingLimits.max_output_bytes = 200_000
""")


def tiny_course(
    course_dir: Path, assignment: str = "tiny", cell_timeout: int = 5, notebook_timeout: int = 60
) -> Path:
    """A one-notebook nbgrader course (torch import, two answers, two graded tests), released."""
    course_dir = Path(course_dir)
    (course_dir / "source" / assignment).mkdir(parents=True, exist_ok=True)
    (course_dir / "nbgrader_config.py").write_text(
        TINY_CONFIG.format(cell_timeout=cell_timeout, notebook_timeout=notebook_timeout)
    )
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for kind, nbgrader, text in TINY_SOURCE:
        cell = nbformat.v4.new_markdown_cell(text) if kind == "markdown" else nbformat.v4.new_code_cell(text)
        if nbgrader:
            cell.metadata["nbgrader"] = {"schema_version": 3, **nbgrader}
        notebook.cells.append(cell)
    nbformat.write(notebook, course_dir / "source" / assignment / f"{assignment}.ipynb")
    release(course_dir, assignment)
    return course_dir


def release(course_dir: Path, assignment: str) -> None:
    """nbgrader generate_assignment, through its API (it also fills the gradebook)."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    from rnn_course.grading.config import load_config

    config = load_config(Path(course_dir))
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    result = api.generate_assignment(assignment, force=True)
    if not result["success"]:
        raise RuntimeError(f"generate_assignment failed: {result['error']}\n{result['log']}")


# Nine learners of the tiny course, three of each kind, with the auto score each earns (of 5).
TINY_SCORES = {"correct": 5, "partial": 2, "wrong": 0}
TINY_STUDENTS = {
    f"learner{index}_{kind}": TINY_SCORES[kind] for index, kind in enumerate(list(TINY_SCORES) * 3)
}

# The course's own feedback filter, for a course config: no hidden test code in a feedback page.
FEEDBACK_CONFIG = """
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import GetGrades
from rnn_course.grading.steps.hide_hidden import HideHiddenTests
c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor]
"""


def gradebook_rows(course: Path, assignment: str = "tiny") -> dict[str, list]:
    """{student: [auto scores]} straight from an sqlite gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{Path(course) / 'gradebook.db'}", "tiny") as gradebook:
        return {
            submission.student.id: [
                grade.auto_score for notebook in submission.notebooks for grade in notebook.grades
            ]
            for submission in gradebook.find_assignment(assignment).submissions
        }


def published(course: Path, assignment: str = "tiny") -> set[str]:
    """The students whose autograded folder is in place (the runner moves it there after recording)."""
    folder = Path(course) / "autograded"
    if not folder.exists():
        return set()
    return {path.name for path in folder.iterdir() if (path / assignment).is_dir()}


def sleepers(seconds: str) -> list[int]:
    """The pids of every `sleep <seconds>` process still alive on the machine."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                if handle.read().split(b"\0")[:2] == [b"sleep", seconds.encode()]:
                    found.append(int(pid))
        except OSError:
            pass
    return found


def copy_without_state(source: Path, dest: Path) -> Path:
    """A fresh copy of a course without any grading state (submissions are regenerated per run)."""
    skip = {"submitted", "autograded", "feedback", ".runs", "gradebook.db", "release"}
    shutil.copytree(
        source,
        dest,
        ignore=lambda folder, names: [n for n in names if n in skip and os.path.samefile(folder, source)],
    )
    return dest


# Appended to a course's config to grade it with stock nbgrader, as a baseline: nbgrader's own exporter and
# Execute, none of the course's containment. Only for submissions the tests generate themselves.
STOCK_BASELINE = """
# stock nbgrader baseline (benchmarks and parity tests; generated submissions only)
from nbconvert.exporters import NotebookExporter as _StockExporter
from nbgrader.preprocessors import Execute as _StockExecute
c.Autograde.exporter_class = _StockExporter
if "autograde_preprocessors" in c.Autograde:
    c.Autograde.autograde_preprocessors = [
        _StockExecute if getattr(step, "__name__", "") == "LimitedExecute" else step
        for step in c.Autograde.autograde_preprocessors
    ]
"""


def stock_autograde(course_dir: Path, assignment: str, students: list[str] | None = None) -> float:
    """Run stock `nbgrader autograde` on the course (made stock: STOCK_BASELINE); returns the seconds."""
    import subprocess
    import sys
    import time

    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    config = Path(course_dir) / "nbgrader_config.py"
    if STOCK_BASELINE not in config.read_text():
        config.write_text(config.read_text() + STOCK_BASELINE)
    command = [str(bin_dir / "nbgrader"), "autograde", f"--assignment={assignment}", "--log-level=ERROR"]
    for student in students or []:
        command.append(f"--student={student}")
    start = time.monotonic()
    subprocess.run(command, cwd=course_dir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - start  # its exit code is 1 whenever one submission failed: not our business


def grades(course_dir: Path, assignment: str) -> dict[str, dict[str, float | None]]:
    """Every auto score in the course's gradebook: {student: {notebook/grade_id: score}}."""
    from nbgrader.api import Gradebook
    from nbgrader.coursedir import CourseDirectory

    from rnn_course.grading.config import load_config

    coursedir = CourseDirectory(config=load_config(Path(course_dir)))
    table: dict[str, dict[str, float | None]] = {}
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        for submission in gradebook.find_assignment(assignment).submissions:
            scores = table.setdefault(submission.student.id, {})
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    scores[f"{notebook.name}/{grade.name}"] = grade.auto_score
    return table


def add_cell(course: Path, student: str, code: str) -> None:
    path = course / "submitted" / student / "tiny" / "tiny.ipynb"
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.insert(3, nbformat.v4.new_code_cell(textwrap.dedent(code)))  # after the first answer
    nbformat.write(notebook, path)


def outputs(course: Path, student: str) -> str:
    path = course / "autograded" / student / "tiny" / "tiny.ipynb"
    notebook = nbformat.read(path, as_version=4)
    return "\n".join(str(output) for cell in notebook.cells for output in cell.get("outputs", []))
