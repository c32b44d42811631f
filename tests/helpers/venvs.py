"""Virtual environments an unprivileged local user can run: hard links to this venv's packages."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import rnn_course

SYSTEM_PYTHON = "/usr/bin/python3.11"  # .ci/run installs Debian's python3 where it is missing


def site_packages(prefix: Path) -> Path:
    return prefix / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"


def link(source, target) -> None:
    """A hard link where the folders share a file system, a copy where they do not."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def ordinary_venv(root: Path) -> Path:
    """A venv the unprivileged user can run: hard links to every package here, this package's source too."""
    venv = root / "venv"
    subprocess.run([SYSTEM_PYTHON, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = site_packages(venv)
    shutil.rmtree(site)
    shutil.copytree(site_packages(Path(sys.prefix)), site, copy_function=link, symlinks=True)
    source = root / "src"
    shutil.copytree(
        Path(rnn_course.__file__).parent,
        source / "rnn_course",
        copy_function=link,
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (site / "rnn_course_sandbox.pth").unlink(missing_ok=True)  # its owner's grader writes its own
    for pth in site.glob("__editable__*rnn_course*.pth"):
        pth.unlink()  # a hard link: never write through it into the real venv
        pth.write_text(f"{source}\n")
    return venv
