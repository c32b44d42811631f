"""The bank ships with the package: the wheel carries quiz_bank/ as package data, and `quiz("practice")` runs
outside the checkout."""

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from rnn_course.quiz.bank import default_bank
from tests.helpers.paths import ROOT


def test_the_checkout_bank_is_the_default_in_a_checkout():
    assert default_bank() == ROOT / "quiz_bank"


def test_the_package_data_is_a_link_to_the_top_bank():
    link = ROOT / "src" / "rnn_course" / "quiz_bank"
    assert link.is_symlink() and link.resolve() == ROOT / "quiz_bank"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the sources (the checkout's own build/ stays untouched)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for folder in ("src", "quiz_bank"):
        shutil.copytree(
            ROOT / folder, source / folder, ignore=shutil.ignore_patterns("*.egg-info", "__pycache__")
        )
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (path,) = out.glob("rnn_course-*.whl")
    return path


@pytest.mark.slow
def test_the_wheel_carries_every_bank_file(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    shipped = sorted(n.rsplit("/", 1)[1] for n in names if n.startswith("rnn_course/quiz_bank/"))
    assert shipped == sorted(p.name for p in (ROOT / "quiz_bank").glob("*.yaml"))
    assert not [n for n in names if ".data/" in n], "data files outside the package"


@pytest.mark.slow
def test_quiz_practice_runs_from_an_installed_package_outside_the_checkout(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site_packages = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    # The dependencies (torch, ipywidgets, ...) come from this environment, the course itself from the wheel.
    (site_packages / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # pip runs inside the new venv, and --ignore-installed leaves this environment's editable install alone.
    subprocess.run(
        [python, "-m", "pip", "install", "--no-deps", "--ignore-installed", "-q", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    script = (
        "import rnn_course, sys\n"
        "from rnn_course.quiz import quiz, quiz_widget\n"
        "from rnn_course.quiz.bank import default_bank\n"
        "quiz('practice', seed=1, learner='learner_a')\n"
        "w = quiz_widget('practice', seed=1, learner='learner_a')\n"
        "print(rnn_course.__file__, default_bank(), w.session.total, sep='\\n')\n"
    )
    run = subprocess.run(
        [python, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={"RNN_COURSE_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert run.returncode == 0, run.stderr
    module, bank, total = run.stdout.strip().splitlines()[-3:]
    assert module.startswith(str(venv)) and bank == str(Path(module).parent / "quiz_bank")
    assert int(total) == 5
