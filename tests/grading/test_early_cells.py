"""Cells sent early: LimitedExecute sends the next cell the moment a cell's reply arrives (steps/execute.py).

The kernel then runs it while the grader still reads the last cell's output. Nothing a notebook shows may
change for it: every output stays with its own cell, in order; a cell stopped at the output limit is
interrupted only while it runs, never the cell after it; and each test cell's verdict, decided while the
kernel runs on, is the one the grader would decide at the end.
"""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient
from traitlets.config import Config

from rnn_course.grading.sandbox.kernels import QuickReadyClient, SandboxKernelManager
from rnn_course.grading.steps import verdicts
from rnn_course.grading.steps.execute import LimitedExecute
from tests.helpers.kernel_cells import CELLS, merged

pytestmark = [pytest.mark.grading]


@pytest.fixture
def sent_early(monkeypatch):
    """The code of every cell sent early, in order (the real method runs)."""
    sent: list[str] = []
    send = QuickReadyClient.send_early

    def recording(client, code):
        sent.append(code)
        send(client, code)

    monkeypatch.setattr(QuickReadyClient, "send_early", recording)
    return sent


def run_limited(sources: list[str], folder, config: Config | None = None) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in sources])
    LimitedExecute(config=config or Config()).preprocess(notebook, {"metadata": {"path": str(folder)}})
    return notebook


def test_every_output_stays_with_its_own_cell_in_order(tmp_path, sent_early, monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in CELLS])
    NotebookClient(  # one cell after the other, as stock nbclient runs them
        notebook, kernel_manager_class=SandboxKernelManager, kernel_name="python3", allow_errors=True
    ).execute(cwd=str(tmp_path))
    one_by_one = [merged(cell.outputs) for cell in notebook.cells]
    early = run_limited(CELLS, tmp_path)
    assert sent_early == CELLS[1:]  # every cell after the first went early
    assert [merged(cell.outputs) for cell in early.cells] == one_by_one


def test_an_output_flood_interrupts_only_the_cell_that_floods(tmp_path, sent_early):
    config = Config()
    config.GradingLimits.max_output_bytes = 10_000
    flood = "print('x' * 2_000_000)\nprint('done flooding')"  # over the cap in one go, then it ends by itself
    after = "import time\ntime.sleep(0.3)\nprint('the next cell ran to its end')"
    notebook = run_limited([flood, after, "print('and the one after')"], tmp_path, config)
    assert [output.get("ename") for output in notebook.cells[0].outputs] == ["OutputLimitExceeded"]
    assert merged(notebook.cells[1].outputs) == [
        {"output_type": "stream", "name": "stdout", "text": "the next cell ran to its end\n"}
    ]
    assert notebook.cells[2].outputs[0]["text"] == "and the one after\n"
    assert sent_early == [after, "print('and the one after')"]


def test_a_cell_past_its_time_limit_is_stopped_and_the_next_runs(tmp_path, sent_early):
    config = Config()
    config.Execute.timeout = 2
    slow = "import time\nwhile True:\n    time.sleep(0.01)"
    notebook = run_limited([slow, "print('next')"], tmp_path, config)
    assert notebook.cells[0].outputs[-1]["ename"] == "CellTimeoutError"
    assert notebook.cells[1].outputs[0]["text"] == "next\n"
    assert sent_early == []  # the timed-out cell never replied in time: the next went the usual way


def _test_cell(source: str, outputs: list) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source, outputs=outputs)
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "t", "points": 1}
    return cell


def test_a_verdict_decided_early_is_kept_only_while_what_it_read_is_unchanged():
    cell = _test_cell("checks.check_rnn_cell(rnn_cell)", [])
    notebook = nbformat.v4.new_notebook(cells=[cell])
    resources: dict = {}
    verdicts.decide_early(cell, 0, resources)
    early_key, early_verdict = resources[verdicts.EARLY][0]
    assert early_verdict == verdicts.decide(cell)  # no result arrived: a grading error, either way
    planted = ("PlantedVerdict", "decided early")  # stands for the early verdict, to see which one is used
    resources[verdicts.EARLY][0] = (early_key, planted)
    verdicts.DecideVerdicts().preprocess(notebook, resources)
    assert notebook.cells[0].outputs[-1]["ename"] == "PlantedVerdict"  # unchanged: kept

    changed = _test_cell("checks.check_rnn_cell(rnn_cell)", [])
    changed.outputs = [nbformat.v4.new_output("error", ename="NameError", evalue="rnn_cell", traceback=[])]
    notebook = nbformat.v4.new_notebook(cells=[changed])
    verdicts.DecideVerdicts().preprocess(notebook, {verdicts.EARLY: {0: (early_key, planted)}})
    assert notebook.cells[0].outputs[-1]["ename"] == "GradingError"  # changed since: decided again
    assert "NameError" in notebook.cells[0].outputs[-1]["evalue"]
