"""Prepared kernels: each notebook's kernel was started before its notebook was due, and is still its own.

The host prepares the next kernel as soon as the last one is swept (sandbox/host.py). These tests run
notebooks one after the other on the real sandbox and check that the prepared kernel is the one used, that
it sees its own submission and nothing of the kernel before it, and that one prepared with other limits is
never used.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from traitlets.config import Config

from rnn_course.grading.sandbox.host import host_for_this_thread
from rnn_course.grading.sandbox.kernels import SandboxKernelManager

REPORT = """
import json, os, resource
report = {
    "pid": os.getpid(),
    "uid": os.getuid(),
    "mine": open("mine.txt").read(),
    "planted_before": "planted" in globals(),
    "files": sorted(os.listdir(".")),
    "left_by_the_last": os.path.exists(os.path.expanduser("~/left-by-the-last-kernel")),
    "scratch_mb": os.statvfs(".").f_blocks * os.statvfs(".").f_frsize // 2**20,
}
planted = True
open(os.path.expanduser("~/left-by-the-last-kernel"), "w").write("x")
print(json.dumps(report))
"""


def run_notebook(folder: Path, marker: str, scratch_mb: int = 64) -> dict:
    """One notebook in `folder` (with its own mine.txt) on this thread's host; what its kernel reported."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mine.txt").write_text(marker)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(REPORT)])
    config = Config()
    config.GradingLimits.scratch_mb = scratch_mb
    client = NotebookClient(
        notebook, kernel_manager_class=SandboxKernelManager, config=config, kernel_name="python3"
    )
    client.execute(cwd=str(folder))
    return json.loads(notebook.cells[0].outputs[0]["text"])


def host():
    from rnn_course.grading.config import Sandbox

    return host_for_this_thread(True, (), Sandbox.first_uid.default_value)


def test_each_kernel_after_the_first_was_prepared_and_sees_only_its_own_submission(tmp_path):
    first = run_notebook(tmp_path / "a", "submission a")
    prepared = host().prepared  # once the first kernel's end, in the background, is over
    assert prepared is not None  # prepared as soon as the first kernel was swept
    assert host().request({"op": "alive", "pid": first["pid"]}) == {"alive": False}
    assert os.listdir(host().scratch) == [os.path.basename(prepared.folder)]  # the first one's folder went
    second = run_notebook(tmp_path / "b", "submission b")
    third_prepared = host().prepared
    third = run_notebook(tmp_path / "c", "submission c")
    assert (second["pid"], third["pid"]) == (prepared.pid, third_prepared.pid)
    assert [report["mine"] for report in (first, second, third)] == [
        "submission a",
        "submission b",
        "submission c",
    ]
    for report in (second, third):  # nothing of the kernel before: no variable, no file in its home
        assert not report["planted_before"] and not report["left_by_the_last"], report
        assert report["files"] == ["mine.txt"], report
    if os.getuid() == 0:  # graded as root: every kernel is a user of its own
        assert len({first["uid"], second["uid"], third["uid"]}) == 3 and 0 not in {
            second["uid"],
            third["uid"],
        }


def test_a_kernel_prepared_with_other_limits_is_dropped_and_never_used(tmp_path):
    run_notebook(tmp_path / "a", "a", scratch_mb=64)
    stale = host().prepared
    assert stale is not None and stale.limits["scratch_mb"] == 64
    report = run_notebook(tmp_path / "b", "b", scratch_mb=32)
    assert report["pid"] != stale.pid and report["mine"] == "b"
    assert 28 <= report["scratch_mb"] <= 32  # the new limit, not the prepared kernel's
    assert host().request({"op": "alive", "pid": stale.pid}) == {"alive": False}
    assert not Path(stale.folder).exists()


def test_the_run_report_says_how_long_each_submission_waited_for_its_kernels(tmp_path):
    from rnn_course.grading.runner import run as runner
    from tests.helpers import runner_demo

    course = runner_demo.tiny_course(tmp_path / "course")
    for student in ("ann", "bob", "cy"):
        runner_demo.make_submission(course, "tiny", student, "correct")
    report = runner.autograde(course, "tiny", workers=1, progress=False)
    assert [result.status for result in report.results] == ["graded"] * 3
    assert all(0 < result.kernel_seconds < result.seconds for result in report.results), report.results
    assert '"kernel_seconds"' in Path(report.path).read_text()


def test_a_folder_with_links_still_runs_and_no_link_reaches_the_kernel(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("the grader's own file")
    folder = tmp_path / "linked"
    folder.mkdir()
    (folder / "to_outside.txt").symlink_to(outside)
    (folder / "to_mine.txt").symlink_to(folder / "mine.txt")
    (folder / "to_a_folder").symlink_to(tmp_path, target_is_directory=True)
    report = run_notebook(folder, "mine")
    assert report["mine"] == "mine" and report["files"] == ["mine.txt"], report


def test_a_process_forked_from_one_with_a_warm_host_leaves_that_host_alone(tmp_path):
    run_notebook(tmp_path / "a", "a")
    parent = host()
    pid = os.fork()
    if pid == 0:  # as a pool worker does: its own host, then exit with atexit's clean-up
        code = 1
        try:
            child = host()
            code = 0 if child is not parent else 2
            child.close()
        finally:
            import atexit

            atexit._run_exitfuncs()
            os._exit(code)
    assert os.waitpid(pid, 0)[1] == 0
    assert host() is parent and parent.alive() and Path(parent.scratch).is_dir()
    assert run_notebook(tmp_path / "b", "b")["mine"] == "b"


PROBE_ANOTHER_KERNEL = """
import json, os, signal, socket
pid, connection_file, scratch = {pid}, {connection_file!r}, {scratch!r}
tries = {{}}
def attempt(what, action):
    try:
        action()
        tries[what] = "allowed"
    except PermissionError:
        tries[what] = "refused"
    except OSError as error:
        tries[what] = type(error).__name__
attempt("signal", lambda: os.kill(pid, signal.SIGCONT))
attempt("environ", lambda: open(f"/proc/{{pid}}/environ", "rb").read())
attempt("memory", lambda: open(f"/proc/{{pid}}/mem", "rb").read(1))
attempt("scratch", lambda: os.listdir(scratch))
attempt("run folder", lambda: os.listdir(os.path.dirname(connection_file)))
attempt("connection file", lambda: open(connection_file).read())
shell = os.path.join(os.path.dirname(connection_file), "kernel-1")
attempt("shell socket", lambda: socket.socket(socket.AF_UNIX).connect(shell))
print(json.dumps({{"uid": os.getuid(), "seen": str(pid) in os.listdir("/proc"), "tries": tries}}))
"""


def test_the_next_kernel_prepared_beside_a_running_one_is_out_of_its_reach(tmp_path):
    """As root every kernel is a user of its own, so the next kernel is prepared while the last one runs;
    the running one's code can see it, and must be refused everything it tries on it. Where kernels share
    a user id the next kernel is prepared only once the last one is swept: none is there while it runs."""
    run_notebook(tmp_path / "a", "a")  # the host warm, and the kernel for the next notebook prepared
    (tmp_path / "b").mkdir()
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import os; os.getpid()")])
    client = NotebookClient(notebook, kernel_manager_class=SandboxKernelManager, kernel_name="python3")
    with client.setup_kernel(cwd=str(tmp_path / "b")):
        client.execute_cell(notebook.cells[0], 0)
        running = int(notebook.cells[0].outputs[0]["data"]["text/plain"])
        next_kernel = host().prepared  # its start-up, in the background, over
        if not host().users_apart:
            assert next_kernel is None
            return
        assert next_kernel is not None and next_kernel.pid != running
        probe = PROBE_ANOTHER_KERNEL.format(
            pid=next_kernel.pid, connection_file=next_kernel.connection_file, scratch=host().scratch
        )
        notebook.cells.append(nbformat.v4.new_code_cell(probe))
        client.execute_cell(notebook.cells[1], 1)
    report = json.loads(notebook.cells[1].outputs[0]["text"])
    assert report["seen"] and report["uid"] != next_kernel.uid, report
    refused = ["signal", "environ", "memory", "scratch", "run folder", "connection file", "shell socket"]
    assert report["tries"] == dict.fromkeys(refused, "refused"), report
    assert host().prepared.pid == next_kernel.pid  # and it is still the one the next notebook gets


def test_the_next_kernel_never_gets_the_running_kernels_user_id(tmp_path, monkeypatch):
    run_notebook(tmp_path / "a", "a")
    if not host().users_apart:
        assert host().new_kernel_folder()[1] == -1  # kernels share the sandbox's user
        return
    draws = iter([7, 7, 7, 8])  # the running kernel's user id drawn three times, then another
    monkeypatch.setattr("rnn_course.grading.sandbox.host.random.randrange", lambda _: next(draws))
    monkeypatch.setattr(host(), "running_uid", host().first_uid + 7)
    folder, uid = host().new_kernel_folder()
    assert uid == host().first_uid + 8
    shutil.rmtree(folder)  # never sealed: the grader's own
