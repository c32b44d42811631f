"""nbgrader's OverwriteKernelspec and OverwriteCells, asking the gradebook once a run instead of once a cell.

Stock, each submission opens the gradebook twice and runs two queries for every graded cell. The runner
reads a notebook's source cells once (SourceCells) and hands them over in the resources; both steps then
do exactly what nbgrader's do, with the same checks and warnings, against that copy. Without it in the
resources (any other converter), they are nbgrader's own.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import NbGraderPreprocessor, OverwriteCells, OverwriteKernelspec

KEY = "source_cells"  # resources["nbgrader"][KEY]: a SourceCells, when the runner read them


class SourceCells:
    """What both steps ask the gradebook about one notebook, read in one visit."""

    def __init__(self, db_url: str, notebook_id: str, assignment_id: str):
        with Gradebook(db_url) as gradebook:
            notebook = gradebook.find_notebook(notebook_id, assignment_id)
            self.kernelspec = notebook.kernelspec
            self._source = {
                cell.name: SimpleNamespace(
                    name=cell.name,
                    cell_type=cell.cell_type,
                    locked=cell.locked,
                    checksum=cell.checksum,
                    source=cell.source,
                )
                for cell in notebook.source_cells
            }
            self._graded = {
                cell.name: SimpleNamespace(name=cell.name, max_score=cell.max_score)
                for cell in notebook.grade_cells
            }

    def __deepcopy__(self, memo) -> SourceCells:
        """Itself: read once a run and never changed, so nbconvert's copies of the resources (four a
        submission) share it instead of copying every source cell."""
        return self

    def find_source_cell(self, name: str, notebook_id: str, assignment_id: str) -> SimpleNamespace:
        if name not in self._source:
            raise MissingEntry()
        return self._source[name]

    def find_graded_cell(self, name: str, notebook_id: str, assignment_id: str) -> SimpleNamespace:
        if name not in self._graded:
            raise MissingEntry()
        return self._graded[name]


class OverwriteKernelspecOnce(OverwriteKernelspec):
    """OverwriteKernelspec, from the source cells the runner read."""

    def preprocess(self, nb, resources):
        cells = resources["nbgrader"].get(KEY)
        if cells is None:
            return super().preprocess(nb, resources)
        if cells.kernelspec is not None and json.loads(cells.kernelspec):
            nb.metadata["kernelspec"] = json.loads(cells.kernelspec)
        return nb, resources


class OverwriteCellsOnce(OverwriteCells):
    """OverwriteCells, each cell checked against the source cells the runner read."""

    def preprocess(self, nb, resources):
        cells = resources["nbgrader"].get(KEY)
        if cells is None or self.add_missing_cells:  # adding cells reads more of the gradebook: stock
            return super().preprocess(nb, resources)
        self.notebook_id = resources["nbgrader"]["notebook"]
        self.assignment_id = resources["nbgrader"]["assignment"]
        self.db_url = resources["nbgrader"]["db_url"]
        self.gradebook = cells
        return NbGraderPreprocessor.preprocess(self, nb, resources)  # each cell through preprocess_cell


STOCK = {OverwriteKernelspec: OverwriteKernelspecOnce, OverwriteCells: OverwriteCellsOnce}
