"""Containment, round three: what a kernel could do before and now cannot (CI runs this as root).

Every submission answers the tiny course correctly (5 points) and adds one attack in a cell of its own. Each
attack prints ALLOWED for anything that worked and `refused` for anything that did not. Each submission must
keep exactly its 5 points, and no attack may print ALLOWED.
"""

from __future__ import annotations

import base64
import pickle
import textwrap

import pytest
import torch

from rnn_course.grading.runner import run as runner
from tests.helpers import runner_demo
from tests.helpers.runner_demo import add_cell, outputs

pytestmark = [pytest.mark.grading, pytest.mark.slow]

# Each route prints "refused <what>" when it is stopped, "ALLOWED <what>" when it gets through.
TRY = """
def attempt(what, action):
    try:
        result = action()
    except BaseException as error:
        print("refused", what, type(error).__name__)
        return
    print("ALLOWED", what, repr(result)[:200])
"""


def attacks() -> dict[str, str]:
    """student -> the code of the extra cell; each names the routes it tries."""
    pickled_rnn = base64.b64encode(pickle.dumps(torch.nn.RNN(2, 3))).decode()
    return {
        "programs": """
            import os, subprocess, sys
            attempt("fork", lambda: os.fork() or os._exit(0))
            attempt("exec", lambda: os.execv("/bin/true", ["true"]))
            attempt("python -S", lambda: subprocess.run([sys.executable, "-S", "-c", "print(1)"]))
            attempt("base python", lambda: subprocess.run([sys._base_executable, "-c", "print(1)"]))
            attempt("gcc", lambda: subprocess.run(["gcc", "--version"]))
            attempt("compiler present", lambda: [p for p in ("/usr/lib/gcc",) if os.listdir(p)] or 1 / 0)
            """,
        "namespaces": """
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            for name, flags in (("user+mount", 0x10000000 | 0x00020000), ("ipc", 0x08000000)):
                attempt("unshare " + name, lambda: libc.unshare(flags) == 0 or 1 / 0)
            attempt("ptrace", lambda: libc.ptrace(16, 1, 0, 0) == 0 or 1 / 0)
            """,
        "shared_memory": """
            import ctypes, os
            libc = ctypes.CDLL(None, use_errno=True)
            attempt("memfd", lambda: os.memfd_create("hoard"))
            attempt("SysV shm", lambda: libc.shmget(0, 256 << 20, 0o1000 | 0o666) >= 0 or 1 / 0)
            attempt("SysV msg", lambda: libc.msgget(0, 0o1000 | 0o666) >= 0 or 1 / 0)
            rt = ctypes.CDLL("librt.so.1", use_errno=True)
            attempt("mq_open", lambda: rt.mq_open(b"/left-for-later", 0o100 | 2, 0o666, None) >= 0 or 1 / 0)
            attempt("POSIX shm", lambda: open("/dev/shm/left-for-later", "w"))
            """,
        "scratch_budget": """
            import os
            def many_files():
                os.mkdir("many")
                for index in range(20000):
                    open(f"many/{index}", "w").close()
            attempt("20000 files", many_files)
            def many_mib():
                for index in range(40):
                    with open(f"chunk{index}", "wb") as handle:
                        handle.write(bytes(16 * 2**20))
            attempt("640 MiB in small files", many_mib)
            attempt("a file beside the kernel folder", lambda: open("../../planted", "w"))
            attempt("chmod the run folder", lambda: os.chmod("../../run", 0o700))
            """,
        "runs_from_scratch": """
            import ctypes, shutil
            shutil.copyfile("/usr/lib/x86_64-linux-gnu/libz.so.1", "mine.so")
            attempt("a library written to the scratch", lambda: ctypes.CDLL("./mine.so"))
            """,
        "grader_modules": """
            import importlib
            for name in ("judge.mistakes", "judge.judging", "steps.verdicts", "runner.run",
                         "workflow.release"):
                attempt("import " + name, lambda: importlib.import_module("rnn_course.grading." + name))
            attempt("viz", lambda: importlib.import_module("rnn_course.viz.hidden"))
            """,
        "python_rnn": """
            import importlib.util, inspect, torch
            x, h = torch.zeros(4, 1, 2), torch.zeros(1, 1, 3)
            w = [torch.zeros(3, 2), torch.zeros(3, 3), torch.zeros(3), torch.zeros(3)]
            attempt("decompose", lambda: torch.ops.aten.rnn_tanh.input.decompose(
                x, h, w, True, 1, 0.0, False, False, False))
            from torch._decomp import decompositions
            attempt("decomposition", lambda: decompositions.rnn_tanh_input(
                x, h, w, True, 1, 0.0, False, False, False))
            attempt("rnn.py source", lambda: open(torch.nn.modules.rnn.__file__).read() or 1 / 0)
            attempt("getsource", lambda: inspect.getsource(decompositions) or 1 / 0)
            def second_copy():
                path = torch.nn.modules.rnn.__file__
                spec = importlib.util.spec_from_file_location("torch.nn.modules.rnn_copy", path)
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                return module.RNN(2, 3)(x)
            attempt("second rnn.py", second_copy)
            def dispatcher():
                from torch._dispatch.python import enable_python_dispatcher
                with enable_python_dispatcher():
                    return torch._VF.rnn_tanh(x, h, w, True, 1, 0.0, False, False, False)
            attempt("python dispatcher", dispatcher)
            """,
        "unpickles": f"""
            import base64, pickle
            attempt("unpickled nn.RNN", lambda: pickle.loads(base64.b64decode("{pickled_rnn}")))
            """,
    }


# How many routes each attack tries (each prints one line).
ROUTES = {"programs": 6, "namespaces": 3, "shared_memory": 5, "scratch_budget": 4, "runs_from_scratch": 1,
          "grader_modules": 6, "python_rnn": 6, "unpickles": 1}  # fmt: skip


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = runner_demo.tiny_course(tmp_path_factory.mktemp("containment") / "course", cell_timeout=60)
    cells = attacks()
    for student, code in cells.items():
        runner_demo.make_submission(course, "tiny", student, "correct")
        add_cell(course, student, TRY + textwrap.dedent(code))
    report = runner.autograde(course, "tiny", workers=2, progress=False)
    yield course, {result.student: result for result in report.results}, cells


def test_every_route_keeps_exactly_the_grade_its_answers_earn(graded):
    _, results, cells = graded
    assert set(results) == set(cells)
    for student, result in results.items():
        assert (result.status, result.score) == ("graded", 5), (student, result)


@pytest.mark.parametrize("student", sorted(attacks()))
def test_no_route_gets_through(graded, student):
    course, _, cells = graded
    text = outputs(course, student)
    assert "ALLOWED" not in text, text
    assert text.count("refused") == ROUTES[student], text
