"""nbgrader preprocessors that run in the grader's process, outside the learner's kernel.

- RestoreFromSource (sanitize step): locked and test cells come back from the source notebook, in its order;
  deleted ones are put back, duplicates dropped, and every change is reported.
- DecideVerdicts (verdicts.py, after Execute): the grader, not the kernel, decides whether each test passed.
- HideHiddenTests (feedback step): the learner's feedback never shows a hidden test's source or traceback.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbgrader import utils
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor as Preprocessor  # enabled by default

HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
HIDDEN_NOTE = "# (hidden tests run here; their code is not shown)"


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


def restore_cells(submission: NotebookNode, source: NotebookNode) -> tuple[list[NotebookNode], list[str]]:
    """Rebuild a submission on the source's skeleton; return the cells and a list of what was changed."""
    source_ids = [grade_id(cell) for cell in source.cells]
    kind = {grade_id(cell): cell for cell in source.cells}
    first_answer = next(i for i, cell in enumerate(source.cells) if utils.is_solution(cell))
    setup_anchor = source_ids[max(first_answer - 1, 0)]  # learner cells never run before the setup cell

    answers: dict[str, NotebookNode] = {}
    extras: dict[str | None, list[NotebookNode]] = {}
    seen: set[str] = set()
    changes: list[str] = []
    anchor = setup_anchor
    for cell in submission.cells:
        cell_id = grade_id(cell)
        if cell_id in kind and cell_id not in seen:
            seen.add(cell_id)
            if utils.is_solution(kind[cell_id]):
                answer = copy.deepcopy(kind[cell_id])
                answer.source = cell.source
                if cell.cell_type != answer.cell_type:
                    changes.append(f"answer cell {cell_id}: cell type restored to {answer.cell_type}")
                answers[cell_id] = answer
            elif _shown(cell) != _shown(kind[cell_id]):
                changes.append(f"{_role(kind[cell_id])} cell {cell_id}: edited, restored from the source")
            if source_ids.index(cell_id) >= source_ids.index(setup_anchor):
                anchor = cell_id
            continue
        if cell_id in kind and not utils.is_solution(kind[cell_id]):
            changes.append(f"{_role(kind[cell_id])} cell {cell_id}: duplicate removed")
            continue
        if cell_id is not None:
            what = "duplicate answer kept as a plain cell" if cell_id in kind else "unknown metadata removed"
            changes.append(f"cell {cell_id}: {what}")
        extra = copy.deepcopy(cell)
        extra.metadata.pop("nbgrader", None)
        extras.setdefault(anchor, []).append(extra)

    cells = []
    for cell_id, cell in zip(source_ids, source.cells, strict=True):
        if cell_id in answers:
            cells.append(answers[cell_id])
        elif utils.is_solution(cell):
            changes.append(f"answer cell {cell_id}: deleted, put back empty")
            cells.append(_empty_answer(cell))
        else:
            if cell_id not in seen:
                changes.append(f"{_role(cell)} cell {cell_id}: deleted, restored from the source")
            cells.append(copy.deepcopy(cell))
        cells.extend(extras.get(cell_id, []))
    return cells, changes


def _shown(cell: NotebookNode) -> tuple[str, str]:
    """A cell as the release shows it: its type, and its text without hidden tests."""
    text = re.sub(rf"{re.escape(HIDDEN_BEGIN)}.*?{re.escape(HIDDEN_END)}", "", cell.source, flags=re.S)
    return cell.cell_type, text.strip()


def _role(cell: NotebookNode) -> str:
    return "test" if utils.is_grade(cell) else "locked"


def _empty_answer(cell: NotebookNode) -> NotebookNode:
    empty = copy.deepcopy(cell)
    if cell.cell_type == "code":
        empty.source = 'raise NotImplementedError("this answer cell was deleted from the submission")'
    else:
        empty.source = "(this answer cell was deleted from the submission)"
    return empty


class RestoreFromSource(Preprocessor):
    """Put locked and test cells back exactly as the source has them; keep the learner's answers and cells."""

    def preprocess(self, nb, resources):
        source = nbformat.read(source_notebook_path(self.config, resources), as_version=4)
        cells, changes = restore_cells(nb, source)
        nb.cells = cells
        for change in changes:
            self.log.warning("%s/%s: %s", resources["nbgrader"]["student"], resources["nbgrader"]["notebook"],
                             change)
        if changes:  # said where both the learner (feedback) and the instructor (autograded notebook) read
            note = "**Note from the grader:** this submission was changed before grading:\n\n" + "\n".join(
                f"- {change}" for change in changes)
            nb.cells.insert(0, nbformat.v4.new_markdown_cell(note))
        return nb, resources


_HIDDEN_REGION = re.compile(rf"[ \t]*{re.escape(HIDDEN_BEGIN)}.*?{re.escape(HIDDEN_END)}[^\n]*", re.S)


class HideHiddenTests(Preprocessor):
    """For feedback: cut hidden test regions from the source and hidden code from tracebacks."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or HIDDEN_BEGIN not in cell.source:
            return cell, resources
        cell.source = _HIDDEN_REGION.sub(HIDDEN_NOTE, cell.source)
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output.traceback = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return cell, resources
