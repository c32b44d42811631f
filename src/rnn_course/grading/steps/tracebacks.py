"""TrimTracebacks (feedback step): a traceback shows the learner's cells and the failing test line, not the
grader's internals or PyTorch's, and no path of the grading machine."""

from __future__ import annotations

import re

from nbgrader.preprocessors import NbGraderPreprocessor as Preprocessor

ANSI = re.compile(r"\x1b\[[0-9;]*m")
CELL_FRAME = re.compile(r"^(Cell In ?\[\d*\]|Input In ?\[\d*\]|<ipython-input-)")
PATH = re.compile(r"(?:/[\w.+@-]+)+/([\w.+@-]+)")  # an absolute path: only its last part is kept
LEFT_OUT = "(frames outside your notebook left out)"


def trim(traceback: list[str]) -> list[str]:
    """Keep the frames of notebook cells and the final error line; drop library frames and paths."""
    if not traceback:
        return traceback
    *frames, last = traceback
    kept, dropped = [], False
    for frame in frames:
        plain = ANSI.sub("", frame).strip()
        if CELL_FRAME.match(plain) or plain.startswith("-----") or "most recent call last" in plain:
            kept.append(frame)
        else:
            dropped = True
    if dropped:
        kept.append(LEFT_OUT)
    return [PATH.sub(r"\1", entry) for entry in [*kept, last]]


class TrimTracebacks(Preprocessor):
    """For feedback: error outputs keep only what the learner can act on."""

    def preprocess_cell(self, cell, resources, index):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output.traceback = trim(output.get("traceback", []))
                output.evalue = PATH.sub(r"\1", output.get("evalue", ""))
            elif output.get("output_type") == "stream" and output.get("name") == "stderr":
                output.text = PATH.sub(r"\1", output.get("text", ""))
        return cell, resources
