"""Per-submission limits: wall time per cell and per notebook, memory, output size and process count.

The defaults below hold unless the course's `nbgrader_config.py` overrides them:

    c.Execute.timeout = 30                  # seconds per cell (nbgrader's own setting)
    c.GradingLimits.notebook_timeout = 300  # seconds per notebook, kernel start included
    c.GradingLimits.memory_mb = 2048        # address space a kernel may add on top of its warm start
    c.GradingLimits.max_output_bytes = 1_000_000  # output one cell may produce
    c.GradingLimits.max_processes = 64      # processes a kernel may add (RLIMIT_NPROC; see below)

A cell over a limit ends with an error output, so nbgrader scores it 0, and the reason is reported;
the rest of the notebook and of the batch goes on. RLIMIT_NPROC is not enforced for root (uid 0) by
Linux, whatever the capabilities: run the grader as a normal user to cap process count. As root the
kernel's whole process group is still killed when its notebook ends, so nothing it spawned outlives it.
Memory and process counts are capped in the kernels the runner forks (fork_server.py); the time and output
limits hold wherever LimitedExecute runs, stock `nbgrader autograde` included.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import time

from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute

from rnn_course.grading.preprocessors import error_output


@dataclasses.dataclass(frozen=True)
class Limits:
    cell_timeout: int = 30
    notebook_timeout: int = 300
    memory_mb: int = 2048
    max_output_bytes: int = 1_000_000
    max_processes: int = 64

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


# Whether LimitedExecute forks kernels from the warm server. Off by default, so that stock
# `nbgrader autograde` with a config naming LimitedExecute starts kernels the stock way;
# the runner's workers turn it on.
WARM_KERNELS = False


def load_limits(config) -> Limits:
    """Read the limits from a traitlets Config (the course's nbgrader_config.py), keeping the defaults."""
    section = config.get("GradingLimits", {})
    values = {
        field.name: section[field.name] for field in dataclasses.fields(Limits) if field.name in section
    }
    timeout = config.get("Execute", {}).get("timeout", Limits.cell_timeout)
    values.setdefault("cell_timeout", timeout if timeout and timeout > 0 else Limits.notebook_timeout)
    return Limits(**{key: int(value) for key, value in values.items()})


def _cell_name(cell: NotebookNode, index: int) -> str:
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return f"cell {grade_id}" if grade_id else f"cell {index}"


class LimitedExecute(Execute):
    """nbgrader's Execute plus a notebook deadline and an output cap; a dead kernel is scored, not fatal."""

    def __init__(self, *args, **kwargs):
        if WARM_KERNELS:
            from rnn_course.grading.kernels import ForkKernelManager

            kwargs.setdefault("kernel_manager_class", ForkKernelManager)
            kwargs.setdefault("shutdown_kernel", "immediate")  # a graded kernel has nothing left to save
        super().__init__(*args, **kwargs)

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
