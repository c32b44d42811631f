"""A submitted folder taken as data: checked with lstat, then only its notebooks copied, links never followed.

A submission comes from an LMS zip or a tar and can hold anything a file system can: symbolic links (to
source/, or to another learner's folder), hard links (to the gradebook), device nodes, FIFOs, sockets or a
file of gigabytes. Before anything is read, `refusal` walks the folder with lstat and names the first such
thing; the runner then refuses the submission with that reason and the batch goes on. `copy_submission`
copies only the assignment's notebooks, timestamp.txt and nbgrader's submission_secret.txt, each opened
without following links and checked again on the open file, and returns every other file it left behind,
for the run report.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

TIMESTAMP = "timestamp.txt"
SECRET = "submission_secret.txt"  # nbgrader's exchange: release_feedback names the feedback with it
_KINDS = {
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
}


class Refused(Exception):
    """The submitted folder is not accepted; the message says why."""


def _problem(path: str, shown: str, info: os.stat_result) -> str | None:
    """Why one entry of a submission is not accepted (None for a plain folder or a regular file)."""
    kind = stat.S_IFMT(info.st_mode)
    if kind == stat.S_IFLNK:
        return f"{shown} is a symbolic link (links are not accepted)"
    if kind == stat.S_IFREG and info.st_nlink > 1:
        return f"{shown} is a hard link ({info.st_nlink} names for one file; links are not accepted)"
    if kind not in (stat.S_IFREG, stat.S_IFDIR):
        return f"{shown} is {_KINDS.get(kind, 'not a regular file')} (only regular files are accepted)"
    return None


def refusal(submitted: Path, student: str, assignment: str, max_bytes: int) -> str | None:
    """Why submitted/<student>/<assignment>/ is refused, or None; nothing in it is opened or followed."""
    folder = Path(submitted) / student / assignment
    for path, shown in ((folder.parent, f"{student}/"), (folder, f"{student}/{assignment}/")):
        info = os.lstat(path)
        problem = _problem(str(path), shown, info)
        if problem is None and not stat.S_ISDIR(info.st_mode):
            problem = f"{shown} is not a folder"
        if problem:
            return f"the submission was refused: {problem}"
    total = 0
    for root, dirs, files in os.walk(folder):  # never descends into a linked folder (followlinks=False)
        for name in sorted(dirs + files):
            path = os.path.join(root, name)
            info = os.lstat(path)
            problem = _problem(path, os.path.relpath(path, folder), info)
            if problem:
                return f"the submission was refused: {problem}"
            if stat.S_ISREG(info.st_mode):
                total += info.st_size
                if total > max_bytes:
                    return (
                        f"the submission was refused: its files hold more than the {max_bytes} byte "
                        "limit (c.GradingLimits.max_submission_bytes)"
                    )
    return None


def _copy_regular(source: str, dest: str, max_bytes: int) -> None:
    """Copy one regular, singly linked file, opened without following a link and checked once open."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        handle = os.open(source, flags)
    except OSError as error:
        name = os.path.basename(source)
        raise Refused(f"{name} could not be opened as a plain file ({error.strerror})") from None
    with os.fdopen(handle, "rb") as reader:
        problem = _problem(source, os.path.basename(source), os.fstat(handle))
        if problem:
            raise Refused(problem)
        data = reader.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise Refused(f"{os.path.basename(source)} is over the {max_bytes} byte limit")
    with open(dest, "xb") as writer:
        writer.write(data)


def copy_submission(folder: Path, dest: Path, notebooks: tuple[str, ...], max_bytes: int) -> list[str]:
    """Copy the assignment's notebooks (and TIMESTAMP, SECRET) from `folder` into `dest`; return the paths,
    relative to `folder`, of every file left behind. Raises Refused for anything that is not a plain file."""
    keep = {f"{name}.ipynb" for name in notebooks} | {TIMESTAMP, SECRET}
    dest.mkdir(parents=True, exist_ok=True)
    dropped = []
    for root, dirs, files in os.walk(folder):
        for name in sorted(files):
            path = os.path.join(root, name)
            shown = os.path.relpath(path, folder)
            if root == str(folder) and name in keep:
                _copy_regular(path, str(dest / name), max_bytes)
            else:
                dropped.append(shown)
        dirs[:] = [name for name in dirs if not os.path.islink(os.path.join(root, name))]
    return sorted(dropped)
