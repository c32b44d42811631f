"""`make setup` on a failing install leaves no half-made virtual environment behind."""

import subprocess

import pytest

from tests.conftest import ROOT


@pytest.mark.slow
def test_an_old_venv_is_rebuilt_and_a_failed_install_removes_it(tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    old_python = venv / "bin" / "python"
    old_python.write_text("#!/bin/sh\nexit 1\n")  # stands for a broken or pre-3.11 interpreter
    old_python.chmod(0o755)
    result = subprocess.run(
        ["make", "-s", "setup", f"VENV={venv}", "TORCH=rnn-course-no-such-package==0.0.1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert "older than Python 3.11; rebuilding it" in result.stdout
    assert "install failed" in result.stdout
    assert not venv.exists(), "a half-made venv was left behind"


def test_cli_lists_its_commands():
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "rnn-course"), "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "usage: rnn-course" in result.stdout
