"""The kernel needs none of the grader's reference code: only the KERNEL_SIDE modules are mounted there."""

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import rnn_course.grading
from rnn_course.grading.judge import judging
from rnn_course.grading.judge.encoding import decode
from rnn_course.grading.sandbox.kernel_side import KERNEL_SIDE
from tests.helpers import submissions

pytestmark = pytest.mark.grading

GRADING = Path(rnn_course.grading.__file__).parent
# ipykernel: the kernel itself (fork_server); pyseccomp: its syscall filter (syscalls)
THIRD_PARTY = {"pyseccomp", "torch", "numpy", "IPython", "ipykernel"}
# Imported inside a function, in the learner's own notebook only (never while grading; tested below).
NOTEBOOK_ONLY = {
    ("judge/checks.py", "rnn_course.grading.judge.judging"),
    ("judge/checks.py", "rnn_course.grading.judge.mistakes"),
}

# _compat.py holds every private touchpoint; those of nbgrader and nbformat (and fastjsonschema, which
# compiles nbformat's schema) are imported inside the functions the grader's worker calls, never in a kernel.
WORKER_ONLY = {("_compat.py", "nbgrader"), ("_compat.py", "nbformat"), ("_compat.py", "fastjsonschema")}


def _on_the_way(path: str) -> set[str]:
    parts = path.split("/")[:-1]
    return {"/".join([*parts[:depth], "__init__.py"]) for depth in range(len(parts) + 1)}


MOUNTED = set(KERNEL_SIDE) | {init for path in KERNEL_SIDE for init in _on_the_way(path)}


def module_path(name: str) -> str:
    """rnn_course.grading.judge.cases -> judge/cases.py (a package: its __init__.py)."""
    parts = name.split(".")[2:]
    return (
        "/".join(parts) + ".py"
        if (GRADING / "/".join(parts)).with_suffix(".py").is_file()
        else "/".join([*parts, "__init__.py"])
    )


def _is_module(name: str) -> bool:
    return (GRADING.parent.parent / name.replace(".", "/")).with_suffix(".py").is_file()


def _imports(tree: ast.Module):
    """(module imported, whether inside a function) for every import statement of a module."""
    functions = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]
    inside = {id(child) for function in functions for child in ast.walk(function)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            names = [
                f"{base}.{alias.name}" if _is_module(f"{base}.{alias.name}") else base for alias in node.names
            ]
        else:
            continue
        for name in names:
            yield name, id(node) in inside


@pytest.mark.parametrize("module", KERNEL_SIDE)
def test_a_kernel_side_module_imports_only_the_standard_library_torch_numpy_ipython_and_kernel_side(module):
    tree = ast.parse((GRADING / module).read_text())
    for name, in_function in _imports(tree):
        top = name.split(".")[0]
        if top in sys.stdlib_module_names or top in THIRD_PARTY or top == "__future__":
            continue
        if in_function and (module, top) in WORKER_ONLY:
            continue
        assert name.startswith("rnn_course.grading."), name
        if in_function and (module, name) in NOTEBOOK_ONLY:
            continue
        assert module_path(name) in MOUNTED, f"{module} imports {name}"


RECURRENCE = {"tanh", "relu", "matmul", "mm", "bmm", "addmm", "linear", "RNN", "RNNCell"}


@pytest.mark.parametrize("module", ["judge/checks.py", "judge/cases.py", "judge/encoding.py"])
def test_the_kernel_side_holds_no_reference_rnn(module):
    """Inputs and weights only: no matrix product, no nonlinearity, no nn.RNN to copy an answer from."""
    tree = ast.parse((GRADING / module).read_text())
    for node in ast.walk(tree):
        assert not isinstance(node, ast.MatMult), f"{module} multiplies matrices"
        assert not (isinstance(node, ast.Attribute) and node.attr in RECURRENCE), f"{module}: {node.attr}"


# In a fresh Python, as in a grading kernel: importing judging or mistakes raises; each kind of check runs on
# the instructor's solution and prints what it would send to the grader.
KERNEL = textwrap.dedent("""
    import importlib.abc, json, os, sys
    from contextlib import redirect_stdout
    from io import StringIO

    class Refuse(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name in ("rnn_course.grading.judge.judging", "rnn_course.grading.judge.mistakes"):
                raise ImportError(f"{name} is the grader's code")
            return None

    sys.meta_path.insert(0, Refuse())
    answers = json.loads(sys.stdin.read())
    namespace = {}
    for source in answers:
        exec(source, namespace)
    checks = namespace["checks"]
    sent = []
    import IPython.display
    IPython.display.display = lambda data, raw: sent.append(data[checks.RESULT_MIME])
    checks.check_rnn_cell(namespace["rnn_cell"], nonlinearity="relu")
    checks.check_rnn_forward(namespace["rnn_forward"])
    checks.check_parameters(namespace["MyRNN"], num_layers=2, bidirectional=True)
    checks.check_myrnn(namespace["MyRNN"], num_layers=2, batch_first=True, with_h0=True)
    checks.check_packed(namespace["MyRNN"], bidirectional=True)
    loaded = sorted(name for name in sys.modules if name.startswith("rnn_course"))
    print(json.dumps({"sent": sent, "loaded": loaded}))
""")


def test_a_grading_kernel_runs_every_check_without_importing_the_graders_code():
    setup = next(
        cell.source for cell in submissions.source_notebook().cells if submissions.grade_id(cell) == "setup"
    )
    answers = [setup] + [submissions.CORRECT[grade_id] for grade_id in ("rnn_cell", "rnn_forward", "my_rnn")]
    run = subprocess.run(
        [sys.executable, "-c", KERNEL],
        input=json.dumps(answers),
        capture_output=True,
        text=True,
        timeout=300,
        env={"NBGRADER_EXECUTION": "autograde", "PATH": "/usr/bin"},
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout.strip().splitlines()[-1])
    loaded = {module_path(name) for name in report["loaded"] if name.startswith("rnn_course.grading.")}
    assert loaded <= MOUNTED, loaded
    assert [result["kind"] for result in report["sent"]] == [
        "rnn_cell",
        "rnn_forward",
        "parameters",
        "myrnn",
        "packed",
    ]
    for result in report["sent"]:  # and the grader passes every one
        assert judging.judge(result["kind"], result["args"], decode(result["value"])) is None, result["kind"]
