"""The graded kernel's seccomp filter, loaded for real into a child Python: what it refuses, what it keeps."""

from __future__ import annotations

import subprocess
import sys
import textwrap

PROBE = textwrap.dedent(
    """
    import ctypes, os, subprocess, threading
    import torch
    from rnn_course.grading.sandbox import syscalls

    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(38, 1, 0, 0, 0) == 0  # no_new_privs, as the fork server sets it
    syscalls.lock_down()

    def verdict(call):
        try:
            result = call()
        except OSError as error:
            return f"refused {error.errno}"
        return "refused -1" if result == -1 else "allowed"

    checks = {
        "fork": lambda: (lambda pid: os._exit(0) if pid == 0 else os.waitpid(pid, 0))(os.fork()),
        "exec": lambda: os.execv("/bin/true", ["true"]),
        "subprocess": lambda: subprocess.run(["/bin/true"]),
        "unshare": lambda: libc.unshare(0x10000000),
        "ptrace": lambda: libc.ptrace(16, os.getppid(), 0, 0),
        "memfd": lambda: os.memfd_create("x"),
        "shmget": lambda: libc.shmget(0, 4096, 0o1000 | 0o600),
        "chmod": lambda: os.chmod(".", 0o755),
    }
    for name, call in checks.items():
        print(name, verdict(call))
    box = []
    thread = threading.Thread(target=lambda: box.append(torch.ones(3).sum().item()))
    thread.start()
    thread.join()
    print("thread", box)
    """
)


def run_probe(code: str, folder) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", code]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=folder)


def test_the_filter_refuses_processes_programs_namespaces_tracing_and_shared_memory(tmp_path):
    run = run_probe(PROBE, tmp_path)
    assert run.returncode == 0, run.stderr
    lines = dict(line.split(" ", 1) for line in run.stdout.splitlines())
    for name in ("fork", "exec", "subprocess", "unshare", "ptrace", "memfd", "shmget", "chmod"):
        assert lines[name].startswith("refused"), (name, run.stdout)
    assert lines["thread"] == "[3.0]", run.stdout  # a thread still runs torch


def test_without_the_filter_the_same_calls_work(tmp_path):
    """The probe itself can fail: unfiltered, fork and a subprocess succeed."""
    probe = PROBE.replace("syscalls.lock_down()", "pass").replace('os.execv("/bin/true", ["true"])', "0")
    run = run_probe(probe, tmp_path)
    assert run.returncode == 0, run.stderr
    lines = dict(line.split(" ", 1) for line in run.stdout.splitlines() if not line.startswith("thread"))
    assert lines["fork"] == "allowed" and lines["subprocess"] == "allowed", run.stdout
