"""`make setup` builds a new virtual environment aside and swaps it in only when the install succeeded."""

import os
import subprocess

import pytest

from tests.conftest import ROOT


def make_setup(venv, *args):
    return subprocess.run(["make", "-s", "setup", f"VENV={venv}", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def stale_venv(tmp_path):
    """A working environment (a marker in it) whose stamp is older than pyproject.toml, so make reinstalls."""
    venv = tmp_path / "venv"
    subprocess.run(["python3", "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    (venv / "marker").write_text("the environment that worked")
    stamp = venv / ".rnn-course-installed"
    stamp.write_text("")
    os.utime(stamp, (0, 0))
    return venv


@pytest.mark.slow
def test_a_failed_reinstall_keeps_the_working_venv(tmp_path):
    venv = stale_venv(tmp_path)
    result = make_setup(venv, "TORCH=rnn-course-no-such-package==0.0.1", "TORCH_PIP_ARGS=--no-index")
    assert result.returncode != 0
    assert f"install failed; {venv} was kept as it was" in result.stdout
    assert (venv / "marker").read_text() == "the environment that worked"
    assert (venv / "bin" / "python").exists()
    assert not (tmp_path / "venv.new").exists(), "a half-made environment was left behind"


@pytest.mark.slow
def test_a_successful_reinstall_swaps_in_a_venv_whose_scripts_name_its_final_path(tmp_path):
    venv = stale_venv(tmp_path)
    # pip is already in a fresh venv: installing it again is quick, offline, and stands for the real steps
    result = make_setup(venv, "TORCH=pip", "TORCH_PIP_ARGS=--no-index", "PACKAGE=pip")
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (venv / "marker").exists() and (venv / ".rnn-course-installed").exists()
    assert not (tmp_path / "venv.new").exists() and not (tmp_path / "venv.old").exists()
    pip = venv / "bin" / "pip"
    assert pip.read_text().splitlines()[0].startswith(f"#!{venv}/bin/python")
    ran = subprocess.run([str(pip), "--version"], capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0 and str(venv) in ran.stdout


def test_cli_lists_its_commands():
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "rnn-course"), "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "usage: rnn-course" in result.stdout
