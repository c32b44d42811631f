"""`make setup` builds the virtual environment in place, keeping the previous one aside until it succeeded.

Nothing in a built environment is rewritten: its scripts name the path it was built at, its final one.
"""

import os
import subprocess

import pytest

from tests.helpers.paths import ROOT


def make_setup(venv, *args):
    return subprocess.run(
        ["make", "-s", "setup", f"VENV={venv}", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


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
    assert not (tmp_path / "venv.old").exists(), "the previous environment was left aside"


@pytest.mark.slow
def test_a_failed_first_install_leaves_no_venv(tmp_path):
    venv = tmp_path / "venv"
    result = make_setup(venv, "TORCH=rnn-course-no-such-package==0.0.1", "TORCH_PIP_ARGS=--no-index")
    assert result.returncode != 0 and f"install failed; no {venv} was made" in result.stdout
    assert not venv.exists() and not (tmp_path / "venv.old").exists()


@pytest.mark.slow
def test_a_rebuild_that_was_cut_off_gets_the_previous_venv_back(tmp_path):
    previous = stale_venv(tmp_path)
    previous.rename(tmp_path / "venv.old")  # cut off while the new one was being built: no stamp in it yet
    venv = tmp_path / "venv"
    subprocess.run(["python3", "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    result = make_setup(venv, "TORCH=rnn-course-no-such-package==0.0.1", "TORCH_PIP_ARGS=--no-index")
    assert result.returncode != 0 and f"install failed; {venv} was kept as it was" in result.stdout
    assert (venv / "marker").read_text() == "the environment that worked"


@pytest.mark.slow
def test_a_successful_reinstall_builds_the_venv_in_place_with_scripts_that_name_its_path(tmp_path):
    venv = stale_venv(tmp_path)
    # pip is already in a fresh venv: installing it again is quick, offline, and stands for the real steps
    result = make_setup(venv, "TORCH=pip", "TORCH_PIP_ARGS=--no-index", "PACKAGE=pip")
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (venv / "marker").exists() and (venv / ".rnn-course-installed").exists()
    assert not (tmp_path / "venv.old").exists()
    pip = venv / "bin" / "pip"
    assert pip.read_text().splitlines()[0].startswith(f"#!{venv}/bin/python")
    ran = subprocess.run([str(pip), "--version"], capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0 and str(venv) in ran.stdout
    again = make_setup(venv, "TORCH=pip", "TORCH_PIP_ARGS=--no-index", "PACKAGE=pip")
    assert again.returncode == 0 and "building" not in again.stdout, "a second run rebuilt an up-to-date venv"


def test_the_makefile_rewrites_no_script():
    makefile = (ROOT / "Makefile").read_text()
    assert "sed -i" not in makefile and ".venv.new" not in makefile


def test_cli_lists_its_commands():
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "rnn-course"), "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "usage: rnn-course" in result.stdout
