"""HideHiddenTests (feedback step): the learner's feedback never shows a hidden test's source or traceback."""

from __future__ import annotations

from nbgrader.preprocessors import NbGraderPreprocessor as Preprocessor

from rnn_course.grading.steps.regions import Markers, cut

HIDDEN_NOTE = "# (hidden tests run here; their code is not shown)"


class HideHiddenTests(Preprocessor):
    """For feedback: cut hidden test regions from the source and hidden code from tracebacks."""

    def preprocess(self, nb, resources):
        self._markers = Markers.from_config(self.config)  # the course's ClearHiddenTests delimiters
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        markers = getattr(self, "_markers", None) or Markers.from_config(self.config)
        if cell.cell_type != "code" or markers.hidden_begin not in cell.source:
            return cell, resources
        begin, end = markers.hidden_begin, markers.hidden_end
        cell.source = cut(cell.source, begin, end, HIDDEN_NOTE, whole_lines=True)
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output.traceback = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return cell, resources
