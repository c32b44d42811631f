"""What the machine threw, said for the course as one CourseError: a locked or damaged sqlite gradebook, a
full disk, a database server that is down or refuses the password.

    @explained("export")
    def export(course_dir, ...): ...       # raises a CourseError for each of those, the original beneath it
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from rnn_course.grading import database
from rnn_course.grading.config import load_config
from rnn_course.grading.errors import CourseError
from rnn_course.grading.faults import backups, messages


def _db_url(course_dir: Path) -> str:
    """The course's gradebook (nbgrader's default where its config cannot be read)."""
    from nbgrader.coursedir import CourseDirectory

    try:
        return CourseDirectory(config=load_config(Path(course_dir))).db_url
    except Exception:
        return f"sqlite:///{Path(course_dir).resolve() / 'gradebook.db'}"


def explain(error: BaseException, course_dir: str | os.PathLike, step: str = "") -> CourseError | None:
    """The CourseError that says what `error` means for this course, or None for an error of another kind."""
    if isinstance(error, CourseError):
        return error
    again = f"run `rnn-course grade {step}` again" if step else "run the command again"
    if messages.is_disk_full(error):
        failed = getattr(error, "filename", None)  # often a temporary file: name its folder
        where = Path(failed).parent if failed else Path(course_dir)
        return messages.disk_full(where, f"nothing was half-written: free some space and {again}")
    db_url = _db_url(course_dir)
    db_file = database.sqlite_path(db_url)
    if db_file is None:
        return messages.server(error, db_url)
    if messages.is_locked(error):
        return messages.locked(db_file, database.busy_timeout())
    damage = messages.sqlite_error(error, *messages.DAMAGED)
    if damage is not None:
        return messages.damaged(db_file, str(damage), backups.newest(Path(course_dir)))
    return None


def explained(step: str):
    """Decorate a function whose first argument is the course folder: the faults above become CourseErrors."""

    def decorate(function):
        @functools.wraps(function)
        def wrapper(course_dir, *args, **kwargs):
            try:
                return function(course_dir, *args, **kwargs)
            except CourseError:
                raise
            except Exception as error:
                known = explain(error, course_dir, step)
                if known is None:
                    raise
                raise known from error

        return wrapper

    return decorate
