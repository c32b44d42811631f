"""The sandbox for an instructor who is not root: bubblewrap in a user namespace of its own.

CI runs as root, so this test grades as an ordinary user (uid 65534) itself. That user cannot read the
checkout (CI clones into a 0700 folder), so it gets a venv of its own: Debian's python3.11 with hard links to
this venv's packages and this package's source (no copy, no download), in a folder it owns.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.helpers import runner_demo
from tests.helpers.venvs import ordinary_venv

pytestmark = [pytest.mark.grading, pytest.mark.slow]

NOBODY = 65534


@pytest.fixture(scope="module")
def graded_as_nobody():
    if os.getuid() != 0:
        pytest.fail("this test drops to an ordinary user and so runs as root (as CI does)")
    root = Path(tempfile.mkdtemp(prefix="rnn-ordinary-", dir="/tmp"))
    try:
        venv = ordinary_venv(root)
        course = runner_demo.tiny_course(root / "course")
        runner_demo.make_submission(course, "tiny", "correct", "correct")
        runner_demo.make_submission(course, "tiny", "bomber", "fork")
        for path in [root, *root.rglob("*")]:
            if not path.is_symlink() and path.stat().st_nlink == 1 or path.is_dir():
                os.lchown(path, NOBODY, NOBODY)  # its own files; hard links stay the real venv's
        command = [
            str(venv / "bin" / "python"),
            "-m",
            "rnn_course.cli",
            "grade",
            "autograde",
            "tiny",
            "--course-dir",
            str(course),
            "--workers",
            "2",
            "--quiet",
        ]
        env = {"HOME": str(root), "PATH": f"{venv / 'bin'}:/usr/bin:/bin", "LANG": "C.UTF-8"}
        result = subprocess.run(
            command,
            env=env,
            cwd=root,
            capture_output=True,
            text=True,
            timeout=600,
            user=NOBODY,
            group=NOBODY,
            extra_groups=[],
        )
        reports = sorted((course / ".runs").glob("[0-9]*.json"))  # run reports are named by time
        yield result, json.loads(reports[-1].read_text()) if reports else {}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_an_ordinary_user_grades_in_the_sandbox_with_its_caps(graded_as_nobody):
    result, report = graded_as_nobody
    assert result.returncode == 0, result.stderr[-2000:]
    scores = {entry["student"]: (entry["status"], entry["score"]) for entry in report["results"]}
    assert scores == {"correct": ("graded", 5), "bomber": ("graded", 3)}, report
    bomber = next(entry for entry in report["results"] if entry["student"] == "bomber")
    assert "PermissionError" in bomber["reason"]  # fork() refused by the seccomp filter
    assert report["sandboxed"] is True
