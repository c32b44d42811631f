"""The grading kernel skips ipykernel's empty flushes (sandbox/quick_cells.py) and loses no output for it.

The same notebook runs in a stock ipykernel and in a sandboxed grading kernel; every cell's outputs must be
the same, in the same order: prints, stderr, a print from a thread, bytes written straight to file
descriptor 1, displays, and a print followed by an error.
"""

from __future__ import annotations

import os

import nbformat
from nbclient import NotebookClient
from traitlets.config import Config

from rnn_course.grading.sandbox.kernels import SandboxKernelManager
from tests.helpers.kernel_cells import CELLS, merged


def outputs(manager_class, config: Config, folder) -> list[list[dict]]:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in CELLS])
    client = NotebookClient(
        notebook,
        kernel_manager_class=manager_class,
        config=config,
        kernel_name="python3",
        allow_errors=True,
    )
    # ipykernel reads file descriptor 1 only outside pytest: the stock kernel gets the grading kernel's view
    env = {name: value for name, value in os.environ.items() if name != "PYTEST_CURRENT_TEST"}
    client.execute(cwd=str(folder), env=env)
    return [merged(cell.outputs) for cell in notebook.cells]


def test_a_grading_kernel_gives_every_output_a_stock_kernel_gives_in_the_same_order(tmp_path, monkeypatch):
    from jupyter_client.manager import AsyncKernelManager

    stock = outputs(AsyncKernelManager, Config(), tmp_path)
    config = Config()
    config.Sandbox.enabled = True
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")  # as the runner sets it; this test's only
    graded = outputs(SandboxKernelManager, config, tmp_path)
    assert graded == stock
    assert graded[2][0]["text"] == "".join(f"{i}\n" for i in range(2000))  # not just equal: all there
    assert graded[4][0]["text"] == "straight to fd 1\nand a print\n"
    assert graded[8][-1]["ename"] == "ValueError" and graded[9][0]["text"] == "after the error\n"


def test_the_grading_kernel_skips_only_the_flushes_with_nothing_to_send(tmp_path):
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "import sys\nprint(type(sys.stdout).flush.__name__, get_ipython().kernel._execute_sleep)"
            )
        ]
    )
    config = Config()
    config.Sandbox.enabled = True
    NotebookClient(
        notebook, kernel_manager_class=SandboxKernelManager, config=config, kernel_name="python3"
    ).execute(cwd=str(tmp_path))
    assert notebook.cells[0].outputs[0]["text"] == "_flush_if_buffered 0.0\n"  # ours, and no sleep


CHECKS_IN_THE_KERNEL = """
import json, logging, sys
from ipykernel import ipkernel, kernelbase
kernel = get_ipython().kernel
run_cell = get_ipython().run_cell
names = ["cell_id", "cell_meta", "no_such_parameter"]
stock = kernelbase._accepts_parameters
print(json.dumps({
    "logger": kernel.log.level,
    "handlers": [handler.level for handler in kernel.log.handlers],
    "checked_once": ipkernel._accepts_parameters.__name__,
    "same_answer": ipkernel._accepts_parameters(run_cell, names) == stock(run_cell, names),
    "twice": ipkernel._accepts_parameters(run_cell, names) == ipkernel._accepts_parameters(run_cell, names),
    "preloaded": [name in sys.modules for name in ("rnn_course.grading.judge.cases", "torch.nn.utils.rnn")],
    "checks": "rnn_course.grading.judge.checks" in sys.modules,
}))
"""


def test_the_grading_kernel_drops_debug_records_reads_a_signature_once_and_has_the_checks_imports(tmp_path):
    import json

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CHECKS_IN_THE_KERNEL)])
    config = Config()
    config.Sandbox.enabled = True
    NotebookClient(
        notebook, kernel_manager_class=SandboxKernelManager, config=config, kernel_name="python3"
    ).execute(cwd=str(tmp_path))
    seen = json.loads(notebook.cells[0].outputs[0]["text"])
    assert seen["logger"] == min(seen["handlers"]) > 10  # records below what the handler shows: never made
    assert seen["checked_once"] == "_accepts_parameters_once"
    assert seen["same_answer"] and seen["twice"]
    assert seen["preloaded"] == [True, True]  # by the fork server: a notebook's first cell imports them free
    assert not seen["checks"]  # imported by the notebook, so that it attaches to the kernel's IPython
