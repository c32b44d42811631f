"""What each fault of the instructor's machine says: one line that names the file and the next step.

is_locked(error), is_disk_full(error), sqlite_error(error, *DAMAGED)    what an error (or one beneath) means
locked(...), damaged(...), disk_full(...), server(...)                  the CourseError that says so
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
from pathlib import Path

from rnn_course.grading import database
from rnn_course.grading.errors import DatabaseUnreachable, DiskFull, GradebookDamaged, GradebookLocked


def shown_path(path: str | os.PathLike) -> str:
    """A path as an instructor typed it: relative to the current folder when under it."""
    path = os.path.abspath(path)
    here = os.getcwd()
    return os.path.relpath(path, here) if path.startswith(here + os.sep) else path


def free_space(path: str | os.PathLike) -> str:
    """'12 KiB free' on the disk that holds `path` (its nearest existing folder)."""
    folder = Path(path)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        free = float(shutil.disk_usage(folder).free)
    except OSError:
        return "free space unknown"
    for unit in ("bytes", "KiB", "MiB"):
        if free < 1024:
            return f"{free:.0f} {unit} free" if unit != "MiB" else f"{free:.1f} MiB free"
        free /= 1024
    return f"{free:.1f} GiB free"


def chain(error: BaseException | None):
    """`error` and every error beneath it: the one it was raised from, a driver's error SQLAlchemy wraps."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        orig = getattr(error, "orig", None)
        error = orig if isinstance(orig, BaseException) else (error.__cause__ or error.__context__)


DAMAGED = ("file is not a database", "database disk image is malformed")  # what SQLite says of a damaged file


def sqlite_error(error: BaseException, *words: str) -> sqlite3.Error | None:
    """The error of SQLite itself (not a learner's text) beneath `error` that says one of `words`, or None."""
    for each in chain(error):
        if isinstance(each, sqlite3.Error) and any(word in str(each).lower() for word in words):
            return each
    return None


def is_disk_full(error: BaseException) -> bool:
    return (
        any(isinstance(each, OSError) and each.errno == errno.ENOSPC for each in chain(error))
        or sqlite_error(error, "database or disk is full") is not None
    )


def is_locked(error: BaseException) -> bool:
    return sqlite_error(error, "database is locked") is not None


def locked(db_file: str, waited: float, then: str = "run again when it is done") -> GradebookLocked:
    return GradebookLocked(
        f"the gradebook {shown_path(db_file)} is locked by another program (is the "
        f"formgrader saving?); waited {waited:g} s; {then}"
    )


def damaged(db_file: str, why: str, copy: Path | None) -> GradebookDamaged:
    """The gradebook is damaged: the line names `copy`, the newest one kept, and how to put it back."""
    db = shown_path(db_file)
    if copy is None:
        fix = (
            "no copy of it was kept: move it aside and release again "
            f"(`mv {db} {db}.damaged && rnn-course grade release`), then autograde --force"
        )
    else:
        fix = (
            f"restore the copy kept before the last run: `mv {db} {db}.damaged && cp {shown_path(copy)} "
            f"{db}`, then run the command again (a plain autograde regrades what the copy lacks)"
        )
    return GradebookDamaged(f"the gradebook {db} is damaged ({why}); {fix}")


def disk_full(where: str | os.PathLike, then: str) -> DiskFull:
    return DiskFull(f"no space left on the disk that holds {shown_path(where)} ({free_space(where)}); {then}")


def server(error: BaseException, db_url: str) -> DatabaseUnreachable | None:
    """One line for a database server that is down, unreachable or refuses the login (no password shown);
    None for an error of another kind."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    if not isinstance(error, OperationalError | InterfaceError):
        return None
    text = " | ".join(str(each) for each in chain(error)).lower()
    if "password authentication failed" in text or "no password supplied" in text:
        why, fix = "refused the password", "fix the password in db_url or ~/.pgpass"
    elif "does not exist" in text and "database" in text:
        why, fix = "has no such database", "create it (`createdb`) or fix db_url"
    elif "could not translate host name" in text or "name or service not known" in text:
        why, fix = "has a host name that does not resolve", "fix the host in db_url"
    elif "timeout" in text or "timed out" in text:
        why, fix = "did not answer in time", "check the network and that the server runs"
    else:
        why = "cannot be reached (down, or refusing connections)"
        fix = "start it, or fix the host and port in db_url"
    return DatabaseUnreachable(
        f"the gradebook's database server {database.shown(db_url)} {why}; {fix} "
        "(nbgrader_config.py), then run the command again"
    )
