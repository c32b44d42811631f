"""HideHiddenTests (feedback step): the learner's feedback never shows a hidden test's source or traceback."""

from __future__ import annotations

import re

from nbgrader.preprocessors import NbGraderPreprocessor as Preprocessor

from rnn_course.grading.steps.cells import HIDDEN_BEGIN, HIDDEN_END

HIDDEN_NOTE = "# (hidden tests run here; their code is not shown)"
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
