"""Copies of the sqlite gradebook, taken with SQLite's online backup before a run writes to it.

    .runs/backups/gradebook-20250301T101500123456Z.db    the newest last; c.GradebookSafety keeps a few

SQLite's backup API copies a consistent database even while another program (the formgrader) writes to it,
which a file copy does not. A damaged gradebook is never copied, so it cannot push out the good copies.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import sqlite3
from pathlib import Path

from rnn_course.grading import database
from rnn_course.grading.config import GradebookSafety
from rnn_course.grading.faults import messages

BACKUPS = Path(".runs") / "backups"  # under the course folder
PATTERN = "gradebook-*.db"


def folder(course_dir: Path) -> Path:
    return Path(course_dir) / BACKUPS


def newest(course_dir: Path) -> Path | None:
    """The most recent copy, or None."""
    copies = sorted(folder(course_dir).glob(PATTERN))
    return copies[-1] if copies else None


def read_only_uri(path: str | os.PathLike) -> str:
    return Path(path).resolve().as_uri() + "?mode=ro"


def _connect(name: str, uri: bool = True):
    return contextlib.closing(sqlite3.connect(name, uri=uri, timeout=database.busy_timeout()))


def copy(source: str | os.PathLike, target: str | os.PathLike) -> None:
    """A consistent copy of the database `source` into `target` (written aside, then renamed into place)."""
    partial = Path(f"{target}.partial")
    partial.unlink(missing_ok=True)
    try:
        with _connect(read_only_uri(source)) as reader, _connect(str(partial), uri=False) as writer:
            reader.backup(writer)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def damage(db_file: str | os.PathLike, check: str = "quick_check") -> str | None:
    """What SQLite's quick check (or `integrity_check`) finds wrong with the database, its first line; None
    when it is sound. A lock held longer than the busy timeout raises sqlite3.OperationalError."""
    try:
        with _connect(read_only_uri(db_file)) as connection:
            found = [row[0] for row in connection.execute(f"PRAGMA {check}")]
    except sqlite3.DatabaseError as error:
        if messages.is_locked(error):
            raise
        return str(error)
    return None if found == ["ok"] else found[0]


def require_sound(db_url: str, course_dir: Path) -> None:
    """Raise GradebookDamaged, naming the copy to restore, if the sqlite gradebook fails its quick check."""
    db_file = database.sqlite_path(db_url)
    if not db_file or not os.path.exists(db_file):
        return
    try:
        why = damage(db_file)
    except sqlite3.OperationalError:
        raise messages.locked(db_file, database.busy_timeout()) from None
    if why:
        raise messages.damaged(db_file, why, newest(course_dir))


def keep(db_url: str, course_dir: Path, config) -> Path | None:
    """Check the sqlite gradebook, then keep a copy of it; drop the oldest copies past the count or size cap.

    Returns the copy: None for another database, no gradebook yet, copies turned off or one too large.
    """
    settings = GradebookSafety(config=config)
    db_file = database.sqlite_path(db_url)
    if not db_file or not os.path.exists(db_file) or settings.backup_count < 1:
        return None
    require_sound(db_url, course_dir)
    cap = settings.backup_max_mb * 2**20
    if os.path.getsize(db_file) > cap:
        return None
    folder(course_dir).mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = folder(course_dir) / f"gradebook-{stamp}.db"
    try:
        copy(db_file, target)
    except sqlite3.OperationalError as error:
        if messages.is_locked(error):
            raise messages.locked(db_file, database.busy_timeout()) from None
        if messages.is_disk_full(error):
            raise messages.disk_full(
                target.parent, "nothing was changed: free some space and run the command again"
            ) from None
        raise
    _prune(course_dir, settings.backup_count, cap)
    return target


def _prune(course_dir: Path, count: int, cap: int) -> None:
    """Keep the newest `count` copies whose sizes add up to at most `cap` bytes."""
    total = 0
    for index, path in enumerate(sorted(folder(course_dir).glob(PATTERN), reverse=True)):
        total += path.stat().st_size
        if index >= count or total > cap:
            path.unlink()
