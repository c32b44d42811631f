"""HideHiddenTests (feedback step): the learner's feedback never shows a hidden test's source or traceback."""

from __future__ import annotations

from nbgrader.preprocessors import NbGraderPreprocessor as Preprocessor

from rnn_course.grading.steps.regions import HIDDEN_BEGIN, HIDDEN_END, cut

HIDDEN_NOTE = "# (hidden tests run here; their code is not shown)"


class HideHiddenTests(Preprocessor):
    """For feedback: cut hidden test regions from the source and hidden code from tracebacks."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or HIDDEN_BEGIN not in cell.source:
            return cell, resources
        cell.source = cut(cell.source, HIDDEN_BEGIN, HIDDEN_END, HIDDEN_NOTE, whole_lines=True)
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output.traceback = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return cell, resources
