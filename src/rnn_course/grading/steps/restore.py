"""RestoreFromSource (sanitize step): locked and test cells come back from the source notebook, in its order.

Missing ones are put back, duplicates dropped, changed ones replaced, and every change is listed in a note
at the top of the graded notebook (and so of its feedback). A cell that still carries the checksum the release
gave it, unedited, was changed by the instructor after the learner got the notebook, and the note says the
assignment changed; any other difference is worded neutrally (the learner may have edited it).
"""

from __future__ import annotations

import copy

import nbformat
from nbformat import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor as Preprocessor

from rnn_course.grading.steps.cells import grade_id, source_notebook_path
from rnn_course.grading.steps.regions import Markers, regions

NOTE_HEADING = "**Note from the grader:**"
MISSING_ANSWER = "this answer cell was not in the submission"
DIFFERS = "differs from the assignment; the assignment's version was used"
MISSING = "not in the submission; taken from the assignment"
ASSIGNMENT_CHANGED = "the assignment changed since your copy was released; its new version was used"


def restore_cells(
    submission: NotebookNode, source: NotebookNode, markers: Markers | None = None
) -> tuple[list[NotebookNode], list[str]]:
    """Rebuild a submission on the source's skeleton; return the cells and a list of what was changed.
    markers: the course's (Markers.from_config); nbgrader's defaults if not given."""
    markers = markers or Markers.from_config()
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
            elif _shown(cell, markers) != _shown(kind[cell_id], markers):
                why = ASSIGNMENT_CHANGED if _as_released(cell) else DIFFERS
                changes.append(f"{_role(kind[cell_id])} cell {cell_id}: {why}")
            if source_ids.index(cell_id) >= source_ids.index(setup_anchor):
                anchor = cell_id
            continue
        if cell_id in kind and not utils.is_solution(kind[cell_id]):
            changes.append(f"{_role(kind[cell_id])} cell {cell_id}: appeared twice; the copy was left out")
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
            changes.append(f"answer cell {cell_id}: not in the submission; graded as an empty answer")
            cells.append(_empty_answer(cell))
        else:
            if cell_id not in seen:
                changes.append(f"{_role(cell)} cell {cell_id}: {MISSING}")
            cells.append(copy.deepcopy(cell))
        cells.extend(extras.get(cell_id, []))
    return cells, changes


def _shown(cell: NotebookNode, markers: Markers) -> tuple[str, str]:
    """A cell as the release shows it: its type, and its text without hidden tests (and their marker lines,
    which nbgrader's ClearHiddenTests drops too)."""
    _, outside = regions(cell.source, markers.hidden_begin, markers.hidden_end)
    return cell.cell_type, "\n".join(outside).strip()


def _as_released(cell: NotebookNode) -> bool:
    """Whether a submitted cell is as its release made it (its nbgrader checksum still matches)."""
    checksum = cell.get("metadata", {}).get("nbgrader", {}).get("checksum")
    try:
        return bool(checksum) and utils.compute_checksum(cell) == checksum
    except Exception:  # odd metadata: not known to be untouched
        return False


def _role(cell: NotebookNode) -> str:
    return "test" if utils.is_grade(cell) else "locked"


def _empty_answer(cell: NotebookNode) -> NotebookNode:
    empty = copy.deepcopy(cell)
    if cell.cell_type == "code":
        empty.source = f'raise NotImplementedError("{MISSING_ANSWER}")'
    else:
        empty.source = f"({MISSING_ANSWER})"
    return empty


def restored_cells(notebook: NotebookNode) -> int:
    """How many changes the grader's notes in a graded notebook list (0 when it was matched as it came)."""
    notes = [cell.source for cell in notebook.cells if cell.cell_type == "markdown"]
    return sum(note.count("\n- ") for note in notes if note.startswith(NOTE_HEADING))


class RestoreFromSource(Preprocessor):
    """Put locked and test cells back exactly as the source has them; keep the learner's answers and cells."""

    def preprocess(self, nb, resources):
        source = nbformat.read(source_notebook_path(self.config, resources), as_version=4)
        cells, changes = restore_cells(nb, source, Markers.from_config(self.config))
        nb.cells = cells
        for change in changes:
            self.log.warning(
                "%s/%s: %s", resources["nbgrader"]["student"], resources["nbgrader"]["notebook"], change
            )
        if changes:  # said where both the learner (feedback) and the instructor (autograded notebook) read
            listed = "\n".join(f"- {change}" for change in changes)
            note = f"{NOTE_HEADING} before grading, this notebook was matched to the assignment:\n\n{listed}"
            nb.cells.insert(0, nbformat.v4.new_markdown_cell(note))
        return nb, resources
