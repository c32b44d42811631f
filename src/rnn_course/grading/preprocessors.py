"""nbgrader preprocessors that run in the grader's process, outside the learner's kernel, and their helpers.

(RestoreFromSource is in restore.py, HideHiddenTests in hide_hidden.py, TrimTracebacks in tracebacks.py.)

- AddPassMarkers / CheckPassMarkers (around Execute): a test cell earns its points only if it ran to its last
  line, which the grader appends with a fresh random token. Hiding errors (a patched traceback display, a
  swallowed exception, a kernel that ends early) leaves the token missing, so the cell scores 0.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from nbformat import NotebookNode
from nbgrader import utils
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor as Preprocessor  # enabled by default

PASS_MIME = "application/vnd.rnn-course.pass+json"
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


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


class AddPassMarkers(Preprocessor):
    """Append `passed(<fresh token>)` to every test cell; the token never exists before execution starts."""

    def preprocess(self, nb, resources):
        markers = resources.setdefault("rnn_course_markers", {})
        for index, cell in enumerate(nb.cells):
            if is_test_cell(cell):
                token = secrets.token_hex(16)
                markers[index] = (token, cell.source)
                cell.source = (
                    f"{cell.source}\n"
                    f'__import__("rnn_course.grading.checks", fromlist=["passed"]).passed("{token}")'
                )
        return nb, resources


class CheckPassMarkers(Preprocessor):
    """Score 0 for a test cell without its token; then drop the markers and give the cell its source back."""

    def preprocess(self, nb, resources):
        markers = resources.pop("rnn_course_markers", {})
        for index, (token, original_source) in markers.items():
            cell = nb.cells[index]
            outputs = cell.get("outputs", [])
            found = any(
                output.get("output_type") == "display_data"
                and output.get("data", {}).get(PASS_MIME, {}).get("token") == token
                for output in outputs
            )
            cell.outputs = [output for output in outputs if PASS_MIME not in output.get("data", {})]
            cell.source = original_source
            for output in cell.outputs:  # tracebacks quote the cell's lines: drop the one the grader added
                if output.get("output_type") == "error":
                    output.traceback = [
                        "\n".join(line for line in entry.split("\n") if token not in line)
                        for entry in output.get("traceback", [])
                    ]
            if not found and not any(output.get("output_type") == "error" for output in cell.outputs):
                cell.outputs.append(error_output(
                    "TestDidNotFinish",
                    "this test did not run to its end (an error was hidden, the kernel stopped, "
                    "or the grading environment was modified), so it earns no points",
                ))
        tampered = [index for index in markers if _has_error(nb.cells[index], "IntegrityError")]
        if tampered:  # no test of this notebook can be trusted, not even those that ran before the tampering
            for index in markers:
                if not _has_error(nb.cells[index], "IntegrityError"):
                    nb.cells[index].outputs.insert(0, error_output(
                        "IntegrityError",
                        f"the grading environment was modified in this notebook (see cell {tampered[0]}), "
                        "so none of its tests earns points",
                    ))
        return nb, resources


def _has_error(cell: NotebookNode, ename: str) -> bool:
    return any(output.get("ename") == ename for output in cell.get("outputs", []))
