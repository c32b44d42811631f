"""Stock `nbgrader autograde` and the formgrader's Autograde button on this course: refused, in one line.

Both would copy a submission's files as nbgrader does (following links, reading devices) before any kernel
starts, with none of the runner's checks. The course config names `RunnerOnlyExporter` as the autograde
exporter, so they stop before they touch a submission; the runner (StagedAutograde) is the one
converter that may build it.
"""

from __future__ import annotations

from nbconvert.exporters import NotebookExporter
from nbgrader.converters.base import NbGraderException

REFUSAL = (
    "this course grades only in its sandbox: run `rnn-course grade autograde <assignment>` "
    "(or `make autograde`), not stock `nbgrader autograde` or the formgrader's Autograde button"
)


class RunnerOnlyExporter(NotebookExporter):
    """nbgrader's notebook exporter, for the grading runner only."""

    def __init__(self, *args, parent=None, **kwargs):
        if not getattr(type(parent), "sandboxed_runner", False):
            if parent is not None:
                parent.log.error(REFUSAL)  # stock nbgrader prints only what was logged
            raise NbGraderException(REFUSAL)
        super().__init__(*args, parent=parent, **kwargs)
