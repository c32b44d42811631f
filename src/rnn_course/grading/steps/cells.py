"""What the steps ask of a cell: its grade id, whether it is a test cell, an error output that scores it 0,
and the source notebook it came from."""

from __future__ import annotations

from pathlib import Path

from nbformat import NotebookNode
from nbgrader import utils
from nbgrader.coursedir import CourseDirectory


def grade_id(cell: NotebookNode) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def is_test_cell(cell: NotebookNode) -> bool:
    """An autograded test cell: code, graded, not an answer."""
    return cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell)


def error_output(ename: str, evalue: str) -> NotebookNode:
    """An error output like the kernel's own, which makes nbgrader score the cell 0."""
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def source_notebook_path(config, resources) -> Path:
    """The instructor's source notebook for the notebook being graded."""
    coursedir = CourseDirectory(config=config)
    info = resources["nbgrader"]
    folder = coursedir.format_path(coursedir.source_directory, ".", info["assignment"])
    return Path(folder) / f"{info['notebook']}.ipynb"
