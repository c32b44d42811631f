"""`make setup` on a failing install leaves no half-made virtual environment behind."""

import subprocess

import pytest

from tests.conftest import ROOT


@pytest.mark.slow
def test_failed_install_removes_the_venv(tmp_path):
    venv = tmp_path / "venv"
    result = subprocess.run(
        ["make", "-s", "setup", f"VENV={venv}", "TORCH=rnn-course-no-such-package==0.0.1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert "install failed" in result.stdout
    assert not venv.exists(), "a half-made venv was left behind"


def test_cli_lists_its_commands():
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "rnn-course"), "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "usage: rnn-course" in result.stdout
