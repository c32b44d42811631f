"""Contained grading: hostile submissions against the real runner with its sandbox on (CI runs this as root).

Every submission answers the tiny course correctly (5 points) and adds one attack in a cell of its own. Each
must keep exactly its 5 points, and nothing outside its scratch copy may change, whatever the attack.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

import rnn_course
from rnn_course.grading.runner import run as runner
from tests.helpers import runner_demo
from tests.helpers.course import run_cli
from tests.helpers.runner_demo import add_cell, outputs

pytestmark = [pytest.mark.grading, pytest.mark.slow]

SECRET = "instructor-token-7f3a"  # in the grader's environment: no kernel may see it
SLEEPER = "4322"  # detached `sleep 4322` processes: none may outlive the batch


def attacks(course: Path, port: int) -> dict[str, str]:
    """student -> code of the extra cell; paths and the port are the grader's real ones."""
    home = Path.home()
    targets = [
        course / "PWNED",
        course / "submitted" / "writes" / "tiny" / "PWNED",
        course / "source" / "PWNED",
        Path(rnn_course.__file__).parent / "PWNED.py",
        home / "PWNED-rnn-course",
        Path("/tmp/PWNED-rnn-course"),
        Path(sys.prefix) / "PWNED",
    ]
    secrets = [
        course / "source" / "tiny" / "tiny.ipynb",
        course / "gradebook.db",
        course / "release" / "tiny" / "tiny.ipynb",
        course / "submitted" / "reads" / "tiny" / "tiny.ipynb",
        course / "nbgrader_config.py",
        home / ".bashrc",
        Path("/etc/shadow"),
    ]
    return {
        "writes": f"""
            import os
            extra = ["/dev/shm/planted", os.path.join(os.getcwd(), "..", "..", "planted-for-the-next-kernel")]
            for path in {[str(path) for path in targets]!r} + extra:
                try:
                    open(path, "w").write("x")
                    print("WROTE", path)
                except OSError as error:
                    print("refused", path, type(error).__name__)
            """,
        "reads": f"""
            for path in {[str(path) for path in secrets]!r}:
                try:
                    print("READ", path, open(path, errors="replace").read()[:5000])
                except OSError as error:
                    print("refused", path, type(error).__name__)
            """,
        "environment": """
            import os
            print(dict(os.environ))
            """,
        "network": f"""
            import socket
            for host in ("127.0.0.1", "::1", "10.0.2.2"):
                try:
                    socket.create_connection((host, {port}), timeout=2)
                    print("CONNECTED", host)
                except OSError as error:
                    print("refused", host, type(error).__name__)
            """,
        "fills_the_disk": """
            try:
                with open("big", "wb") as handle:
                    for _ in range(300):
                        handle.write(bytes(2**20))
                print("WROTE 300 MiB")
            except OSError as error:
                print("refused", error.errno)
            """,
        "identity": """
            import os
            print("UID", os.getuid(), "GID", os.getgid())
            """,
        "detaches": f"""
            import os, subprocess
            subprocess.Popen(["setsid", "sleep", "{SLEEPER}"])
            if os.fork() == 0:  # double fork: the grandchild belongs to nobody
                os.setsid()
                if os.fork() == 0:
                    os.execvp("sleep", ["sleep", "{SLEEPER}"])
                os._exit(0)
            """,
        "nn_rnn_in_a_subprocess": """
            import subprocess, sys
            code = "import torch; print(torch.nn.RNN(2, 3)(torch.zeros(4, 2))[0].shape)"
            for flags in ([], ["-I"], ["-E", "-s"]):
                run = subprocess.run([sys.executable, *flags, "-c", code], capture_output=True, text=True)
                print("SUBPROCESS", flags, run.returncode, run.stdout.strip(), run.stderr.strip()[-200:])
            """,
        "forks_from_an_early_thread": """
            import os, threading
            from IPython import get_ipython
            done, box = threading.Event(), []
            def attempt():
                try:
                    pid = os.fork()
                    if pid == 0:
                        os.execvp("sleep", ["sleep", "{SLEEPER}"])
                    box.append("FORKED")
                except OSError as error:
                    box.append(f"refused {type(error).__name__}")
                done.set()
            get_ipython().kernel.iopub_thread.schedule(attempt)  # a thread the kernel made before its filter
            done.wait(10)
            tasks = os.listdir("/proc/self/task")
            status = [open(f"/proc/self/task/{task}/status").read() for task in tasks]
            modes = {text.split("Seccomp:")[1].split()[0] for text in status}
            print("EARLY THREAD", box, "THREADS", len(tasks), "SECCOMP MODES", sorted(modes))
            """.replace("{SLEEPER}", SLEEPER),
        "nn_rnn_in_a_thread": """
            import threading, torch
            box = []
            def work():
                try:
                    box.append(torch.nn.RNN(2, 3)(torch.zeros(4, 2))[0].shape)
                except Exception as error:
                    box.append(repr(error))
            thread = threading.Thread(target=work)
            thread.start(); thread.join()
            print("THREAD", box)
            """,
    }


def snapshot(folder: Path) -> dict[str, float]:
    return {str(path): path.stat().st_mtime for path in folder.rglob("*") if path.is_file()}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = runner_demo.tiny_course(tmp_path_factory.mktemp("sandbox") / "course", cell_timeout=20)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    cells = attacks(course, listener.getsockname()[1])
    for student, code in cells.items():
        runner_demo.make_submission(course, "tiny", student, "correct")
        add_cell(course, student, code)
    package = snapshot(Path(rnn_course.__file__).parent)
    source = snapshot(course / "source")
    os.environ["RNN_COURSE_TEST_SECRET"] = SECRET
    try:
        report = runner.autograde(course, "tiny", workers=2, progress=False)
    finally:
        del os.environ["RNN_COURSE_TEST_SECRET"]
    try:
        accepted = listener.accept()
    except BlockingIOError:
        accepted = None
    listener.close()
    yield course, {result.student: result for result in report.results}, cells, accepted, package, source


def test_every_attack_keeps_exactly_the_grade_its_answers_earn(graded):
    _, results, cells, *_ = graded
    assert set(results) == set(cells)
    for student, result in results.items():
        assert (result.status, result.score) == ("graded", 5), (student, result)


def test_nothing_outside_the_scratch_copy_can_be_written(graded):
    course, _, _, _, package, source = graded
    text = outputs(course, "writes")
    assert "WROTE" not in text and text.count("refused") == 9, text
    assert not list(course.rglob("PWNED*")) and not Path("/tmp/PWNED-rnn-course").exists()
    assert not (Path.home() / "PWNED-rnn-course").exists()
    assert snapshot(Path(rnn_course.__file__).parent) == package  # the editable install is untouched
    assert snapshot(course / "source") == source


def test_source_gradebook_release_and_other_submissions_cannot_be_read(graded):
    course, *_ = graded
    text = outputs(course, "reads")
    assert "READ" not in text and text.count("refused") == 7, text
    assert "square(torch.tensor(-2.0))" not in text  # the hidden test


def test_the_kernel_sees_none_of_the_graders_environment(graded):
    course, *_ = graded
    text = outputs(course, "environment")
    assert SECRET not in text and "RNN_COURSE_TEST_SECRET" not in text
    assert "'NBGRADER_EXECUTION': 'autograde'" in text  # the allow-list itself is there


def test_there_is_no_network_not_even_loopback(graded):
    course, _, _, accepted, *_ = graded
    text = outputs(course, "network")
    assert "CONNECTED" not in text and text.count("refused") == 3, text
    assert accepted is None


def test_no_kernel_may_write_past_its_scratch_budget(graded):
    course, *_ = graded
    text = outputs(course, "fills_the_disk")
    assert "WROTE" not in text and "refused 28" in text, text  # ENOSPC: the scratch tmpfs is full


def test_kernels_run_as_an_unprivileged_user(graded):
    course, *_ = graded
    text = outputs(course, "identity")
    uid = int(text.split("UID", 1)[1].split()[0])
    assert uid != 0 and uid != os.getuid() or os.getuid() != 0


def test_no_process_can_be_started_to_outlive_its_notebook(graded):
    course, *_ = graded
    assert "PermissionError" in outputs(course, "detaches")  # Popen and fork are refused (seccomp)
    assert runner_demo.sleepers(SLEEPER) == []


def test_every_thread_of_the_kernel_is_filtered_even_those_made_before_the_first_cell(graded):
    course, *_ = graded
    text = outputs(course, "forks_from_an_early_thread")
    assert "EARLY THREAD ['refused PermissionError']" in text, text
    assert "SECCOMP MODES ['2']" in text and "THREADS 1 " not in text, text  # all filtered, and several
    assert runner_demo.sleepers(SLEEPER) == []


def test_pytorchs_rnn_is_off_in_threads_and_no_other_python_can_start(graded):
    course, *_ = graded
    threads, processes = outputs(course, "nn_rnn_in_a_thread"), outputs(course, "nn_rnn_in_a_subprocess")
    assert "switched off while grading" in threads and "torch.Size" not in threads, threads
    assert "'stream'" not in processes and "PermissionError" in processes, processes  # nothing ran


def test_without_bubblewrap_grading_refuses_in_one_line_naming_the_fix(tmp_path):
    course = runner_demo.tiny_course(tmp_path / "course")
    runner_demo.make_submission(course, "tiny", "someone", "correct")
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}  # no /usr/bin: no bwrap
    result = run_cli("grade", "autograde", "tiny", "--course-dir", str(course), "--quiet", env=env)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "apt-get install bubblewrap" in lines[0] and "--no-sandbox" in lines[0], lines
    assert not (course / "autograded").exists()


def test_the_explicit_opt_out_grades_warns_and_says_so_in_the_report(tmp_path):
    course = runner_demo.tiny_course(tmp_path / "course")
    runner_demo.make_submission(course, "tiny", "someone", "correct")
    result = run_cli("grade", "autograde", "tiny", "--course-dir", str(course), "--no-sandbox")
    assert result.returncode == 0, result.stderr
    assert "WITHOUT a sandbox" in result.stderr and "NO SANDBOX" in result.stdout
    report_path = result.stdout.split("report: ", 1)[1].split()[0]
    assert '"sandboxed": false' in Path(report_path).read_text()
