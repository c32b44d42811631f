"""Throwaway copies of the nbgrader course, and the command line run on them."""

import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers.paths import ROOT

ASSIGNMENT = "rnn_from_scratch"
DEMO = ROOT / "grader" / "demo_submissions"


def copy_course(target: Path, *, demo: bool = False) -> Path:
    """grader/'s config and source (and the demo submissions if asked) under target; nothing generated."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "grader" / "nbgrader_config.py", target)
    shutil.copytree(ROOT / "grader" / "source", target / "source")
    if demo:
        shutil.copytree(DEMO, target / "demo_submissions")
    return target


def run_cli(*args, cwd=ROOT, env=None) -> subprocess.CompletedProcess:
    """`rnn-course ARGS` in a fresh Python, as an instructor types it."""
    return subprocess.run(
        [sys.executable, "-m", "rnn_course.cli", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
