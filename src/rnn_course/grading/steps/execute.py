"""Per-submission limits: wall time per cell and per notebook, memory, output size and process count.

The limits are nbgrader's c.Execute.timeout (seconds per cell) and the GradingLimits traits of
rnn_course.grading.config (seconds per notebook, memory a kernel may add on top of its warm start, output per
cell and per notebook, threads, scratch space, file size); their defaults live there only, and the course's
`nbgrader_config.py` overrides them.

A cell over a limit ends with an error output, so nbgrader scores it 0, and the reason is reported;
the rest of the notebook and of the batch goes on. A cell that does not stop when interrupted at its time
limit (it ignores SIGINT) costs that cell only too: its kernel is killed and a fresh one runs the cells
after it, which then lack what the cells before defined. Output counts every message a cell sends (text,
display data and its updates, error text, metadata) against the cell's cap and the notebook's.

Memory and process counts are capped in the sandboxed kernels the runner starts (fork_server.py; no kernel
runs as uid 0, so RLIMIT_NPROC holds even when the grader is root); the time and output limits hold wherever
LimitedExecute runs, stock `nbgrader autograde` included.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from types import SimpleNamespace

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_sync
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute

from rnn_course.grading.config import GradingLimits, limits_as_dict
from rnn_course.grading.sandbox.kernels import SandboxKernelManager
from rnn_course.grading.steps import verdicts
from rnn_course.grading.steps.cells import error_output

UNCOUNTED = frozenset({"status", "execute_input", "clear_output"})  # add nothing to the notebook


def load_limits(config) -> SimpleNamespace:
    """The limits of the course's config (GradingLimits traits, plus the cell timeout) as attributes."""
    notebook_cap = GradingLimits(config=config).max_notebook_output_bytes
    return SimpleNamespace(**limits_as_dict(config), max_notebook_output_bytes=notebook_cap)


def message_bytes(msg: dict) -> int:
    """What a kernel message can add to the notebook: its whole content (text, data, metadata, error text)."""
    return len(json.dumps(msg.get("content", {}), default=str))


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

    async def async_start_new_kernel(self, **kwargs) -> None:
        started = time.monotonic()
        await super().async_start_new_kernel(**kwargs)
        self.kernel_seconds += time.monotonic() - started

    async def async_start_new_kernel_client(self):
        started = time.monotonic()
        try:
            client = await super().async_start_new_kernel_client()
        finally:
            self.kernel_seconds += time.monotonic() - started
        self._early = None
        if self._may_send_early():
            client.shell_channel.on_message = self._send_next_early
        return client

    start_new_kernel = run_sync(async_start_new_kernel)
    start_new_kernel_client = run_sync(async_start_new_kernel_client)

    def preprocess(self, nb, resources=None, km=None):
        self.limits = load_limits(self.config)
        self.kernel_seconds = 0.0  # waiting for kernels to start (until each answered kernel_info)
        self.reasons: list[str] = []
        self._deadline = time.monotonic() + self.limits.notebook_timeout
        self._current = 0
        self._output_bytes: dict[int, int] = {}
        self._notebook_bytes = 0
        self._flooded: dict[int, str] = {}  # cell index -> which cap it went over
        self._notebook_bound = self._out_of_time = False
        self._early: int | None = None  # the cell sent to the kernel before it was due
        self._answered: set[int] = set()  # cells whose reply has arrived: interrupting now would hit the next
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

    def _may_send_early(self) -> bool:
        """Sending a cell early changes nothing the notebook shows: no cell stops the rest on an error (so
        the kernel never drops a queued request), and no hook must run before a cell is sent."""
        hooks = (self.on_cell_start, self.on_cell_execute, self.on_cell_complete)
        return self.allow_errors and not self.force_raise_errors and all(hook is None for hook in hooks)

    def _late(self) -> bool:
        return self._out_of_time or time.monotonic() > self._deadline

    def _send_next_early(self, msg: dict) -> None:
        """When the running cell's reply arrives, send the next code cell at once: the kernel runs it while
        this process reads the last cell's output and judges it (steps/verdicts.py), not after.

        An interrupt (time or output limit) is only ever sent before its cell's reply has arrived, so before
        the next cell was sent: it can never hit the next cell."""
        if msg.get("msg_type") != "execute_reply" or msg["parent_header"].get("msg_id") != self.kc.awaited:
            return
        self._answered.add(self._current)
        if self._late():
            return
        for index in range(self._current + 1, len(self.nb.cells)):
            cell = self.nb.cells[index]
            if cell.cell_type == "code" and cell.source.strip():
                if self.skip_cells_with_tag not in cell.metadata.get("tags", []):
                    self.kc.send_early(cell.source)
                    self._early = index
                return

    def preprocess_cell(self, cell, resources, index):
        self._current = index
        late = self._late() and index != self._early  # a cell sent early is running: it is waited for
        if cell.cell_type == "code" and cell.source.strip() and late:
            self._score_unrun_cells(
                self.nb,
                index,
                "NotebookTimeout",
                f"the notebook ran past its {self.limits.notebook_timeout} s limit",
            )
            return cell, self.resources
        try:
            return super().preprocess_cell(cell, resources, index)
        except CellTimeoutError:  # past its limit, interrupted, and still running: it ignores SIGINT
            self._stuck(cell, index)
            return cell, self.resources

    def _stuck(self, cell, index: int) -> None:
        """A cell that did not stop when interrupted scores 0; a fresh kernel runs the cells after it."""
        name = _cell_name(cell, index)
        if self._notebook_bound:
            self._out_of_time = True  # the cells after it are not run; the kernel is killed at the end
            why = f"over the notebook's {self.limits.notebook_timeout} s time limit"
        else:
            run_sync(self._async_replace_kernel)()
            why = (
                f"over the {self.limits.cell_timeout} s time limit of a cell and it did not stop when "
                "interrupted: the kernel was restarted, so the cells after it ran without what the cells "
                "before had defined"
            )
        cell.outputs.append(error_output("CellTimeoutError", why))
        self.reasons.append(f"{name}: {why}")

    async def _async_replace_kernel(self) -> None:
        await self._async_cleanup_kernel()
        self.create_kernel_manager()
        await self.async_start_new_kernel()
        await self.async_start_new_kernel_client()

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

    def process_message(self, msg, cell, cell_index):
        """Count every message that can add to the notebook against the cell's and the notebook's caps; past
        either, drop it and interrupt the cell."""
        kind = msg.get("msg_type")
        if kind in UNCOUNTED:
            return super().process_message(msg, cell, cell_index)
        if cell_index not in self._flooded:
            size = message_bytes(msg) * (1 + self._copies(msg))
            self._output_bytes[cell_index] = self._output_bytes.get(cell_index, 0) + size
            self._notebook_bytes += size
            if self._output_bytes[cell_index] > self.limits.max_output_bytes:
                self._flood(cell_index, f"output over the {self.limits.max_output_bytes} byte limit", kind)
            elif self._notebook_bytes > self.limits.max_notebook_output_bytes:
                cap = self.limits.max_notebook_output_bytes
                self._flood(cell_index, f"output over the notebook's {cap} byte limit", kind)
        if cell_index in self._flooded:
            return None
        return super().process_message(msg, cell, cell_index)

    def _copies(self, msg) -> int:
        """How many outputs shown earlier a display message rewrites (each gets a copy of its data)."""
        transient = msg.get("content", {}).get("transient") or {}
        shown = self._display_id_map.get(transient.get("display_id") if isinstance(transient, dict) else None)
        return sum(len(indices) for indices in shown.values()) if shown else 0

    def _flood(self, cell_index: int, why: str, kind: str) -> None:
        self._flooded[cell_index] = why
        if kind not in ("error", "execute_result") and cell_index not in self._answered:  # else it has ended
            self._interrupt = asyncio.ensure_future(self.km.interrupt_kernel())

    def on_cell_executed(self, **kwargs):
        super().on_cell_executed(**kwargs)
        cell, index = kwargs["cell"], kwargs["cell_index"]
        name = _cell_name(cell, index)
        if index in self._flooded:
            why = self._flooded[index]
            cell.outputs = [error_output("OutputLimitExceeded", why)]  # none of what it printed is kept
            self.reasons.append(f"{name}: {why}")
        verdicts.decide_early(cell, index, self.resources)  # while the kernel runs the next cell
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
