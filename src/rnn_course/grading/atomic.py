"""Write a file whole or not at all: into a temporary file beside it, then renamed into place.

    with atomic.replacing(Path("grader/grades.csv"), newline="") as handle:
        handle.write(...)

A failure part-way (an exception, a full disk) leaves the old file, or none, and no temporary file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


@contextlib.contextmanager
def replacing(path: str | os.PathLike, mode: str = "w", **open_args):
    """Yield an open temporary file; on a clean exit it is flushed, synced and renamed to `path`."""
    path = Path(path)
    handle_fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with open(handle_fd, mode, **open_args) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def write_text(path: str | os.PathLike, text: str) -> None:
    with replacing(path, encoding="utf-8") as handle:
        handle.write(text)


def move_tree(staged: str | os.PathLike, final: str | os.PathLike) -> list[Path]:
    """Move every file under `staged` to the same place under `final`, each in one rename; the files moved."""
    moved = []
    for source in sorted(Path(staged).rglob("*")):
        if source.is_file():
            target = Path(final) / source.relative_to(staged)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
            moved.append(target)
    return moved
