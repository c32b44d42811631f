"""Per-submission limits: wall time per cell and per notebook, memory, output size and process count.

The defaults below hold unless the course's `nbgrader_config.py` overrides them:

    c.Execute.timeout = 30                  # seconds per cell (nbgrader's own setting)
    c.GradingLimits.notebook_timeout = 300  # seconds per notebook, kernel start included
    c.GradingLimits.memory_mb = 2048        # address space a kernel may add on top of its warm start
    c.GradingLimits.max_output_bytes = 1_000_000  # output one cell may produce
    c.GradingLimits.max_processes = 64      # processes a kernel may add (RLIMIT_NPROC; see below)

A cell over a limit ends with an error output, so nbgrader scores it 0, and the reason is reported;
the rest of the notebook and of the batch goes on. Memory and process counts are capped in the sandboxed
kernels the runner starts (fork_server.py; no kernel runs as uid 0, so RLIMIT_NPROC holds even when the
grader is root); the time and output limits hold wherever LimitedExecute runs, stock `nbgrader autograde`
included.
"""

from __future__ import annotations

import asyncio
import math
import time
from types import SimpleNamespace

from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute

from rnn_course.grading.config import limits_as_dict
from rnn_course.grading.kernels import SandboxKernelManager
from rnn_course.grading.preprocessors import error_output


def load_limits(config) -> SimpleNamespace:
    """The limits of the course's config (GradingLimits traits, plus the cell timeout) as attributes."""
    return SimpleNamespace(**limits_as_dict(config))


def _cell_name(cell: NotebookNode, index: int) -> str:
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return f"cell {grade_id}" if grade_id else f"cell {index}"


class LimitedExecute(Execute):
    """nbgrader's Execute in sandboxed kernels, plus a notebook deadline and an output cap; a dead kernel is
    scored, not fatal. Wherever the course's config names it (stock `nbgrader autograde`, the formgrader's
    Autograde button, the runner), kernels come from the sandbox, never the stock way."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kernel_manager_class = SandboxKernelManager  # whatever nbgrader or a config asked for

    def preprocess(self, nb, resources=None, km=None):
        self.limits = load_limits(self.config)
        self.reasons: list[str] = []
        self._deadline = time.monotonic() + self.limits.notebook_timeout
        self._current = 0
        self._output_bytes: dict[int, int] = {}
        self._flooded: set[int] = set()
        self._notebook_bound = self._out_of_time = False
        try:
            return super().preprocess(nb, resources, km)
        except DeadKernelError:
            self._score_unrun_cells(
                nb,
                self._current,
                "KernelDied",
                (f"the kernel died (over the {self.limits.memory_mb} MiB memory limit, crashed or exited)"),
            )
            return nb, resources

    def _get_timeout(self, cell):
        """A cell gets the cell limit, or whatever is left of the notebook's, whichever is less."""
        timeout = super()._get_timeout(cell)
        left = math.ceil(self._deadline - time.monotonic())
        self._notebook_bound = timeout is None or left < timeout
        return max(1, left if self._notebook_bound else timeout)

    def preprocess_cell(self, cell, resources, index):
        self._current = index
        late = self._out_of_time or time.monotonic() > self._deadline
        if cell.cell_type == "code" and cell.source.strip() and late:
            self._score_unrun_cells(
                self.nb,
                index,
                "NotebookTimeout",
                f"the notebook ran past its {self.limits.notebook_timeout} s limit",
            )
            return cell, self.resources
        return super().preprocess_cell(cell, resources, index)

    def _score_unrun_cells(self, nb, start: int, ename: str, why: str) -> None:
        """Give every code cell from `start` on an error (so graded ones score 0) and note why once."""
        for cell in nb.cells[start:]:
            if (
                cell.cell_type == "code"
                and cell.source.strip()
                and not any(output.get("ename") == ename for output in cell.get("outputs", []))
            ):
                cell.outputs = [error_output(ename, why), *cell.get("outputs", [])]
        reason = f"{_cell_name(nb.cells[start], start)}: {why}"
        if reason not in self.reasons:
            self.reasons.append(reason)

    def output(self, outs, msg, display_id, cell_index):
        """Drop output past the cap and interrupt the cell that floods it."""
        content = msg.get("content", {})
        size = len(content.get("text", "")) + sum(
            len(str(value)) for value in content.get("data", {}).values()
        )
        self._output_bytes[cell_index] = self._output_bytes.get(cell_index, 0) + size
        if self._output_bytes[cell_index] <= self.limits.max_output_bytes:
            return super().output(outs, msg, display_id, cell_index)
        if cell_index not in self._flooded:
            self._flooded.add(cell_index)
            self._interrupt = asyncio.ensure_future(self.km.interrupt_kernel())
        return None

    def on_cell_executed(self, **kwargs):
        super().on_cell_executed(**kwargs)
        cell, index = kwargs["cell"], kwargs["cell_index"]
        name = _cell_name(cell, index)
        if index in self._flooded:
            why = f"output over the {self.limits.max_output_bytes} byte limit"
            cell.outputs.insert(0, error_output("OutputLimitExceeded", why))
            self.reasons.append(f"{name}: {why}")
        content = kwargs["execute_reply"]["content"]
        if content.get("status") != "error":
            return
        ename, evalue = content.get("ename", ""), str(content.get("evalue", ""))
        if ename == "CellTimeoutError" and self._notebook_bound:
            self._out_of_time = True  # the cells after it are not run
            self.reasons.append(f"{name}: over the notebook's {self.limits.notebook_timeout} s time limit")
        elif ename == "CellTimeoutError":
            self.reasons.append(
                f"{name}: over the time limit ({self.limits.cell_timeout} s a cell, "
                f"{self.limits.notebook_timeout} s a notebook)"
            )
        elif ename == "MemoryError" or "can't allocate memory" in evalue:
            self.reasons.append(f"{name}: out of memory (limit {self.limits.memory_mb} MiB)")
        elif ename == "BlockingIOError":  # fork() over RLIMIT_NPROC
            self.reasons.append(f"{name}: over the process limit")
