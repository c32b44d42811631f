"""nbgrader's db_url: a missing database driver, or a database lost mid-run, said in one clear line; and how
long an sqlite gradebook is waited for while another program (the formgrader saving a grade) holds it."""

from __future__ import annotations

import logging
import sqlite3

from rnn_course.grading.errors import GradebookError

POSTGRES_HINT = (
    "for PostgreSQL install the postgres extra (pip install -e '.[postgres]') "
    "and write db_url as postgresql+psycopg://user@host/gradebook"
)


def shown(db_url: str) -> str:
    """The URL as it may be printed: any password masked."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(db_url).render_as_string(hide_password=True)
    except Exception:  # not a URL at all: SQLAlchemy reports that when the gradebook is opened
        return db_url


def require_driver(db_url: str) -> None:
    """Raise GradebookError (one line) if SQLAlchemy cannot load the database driver `db_url` names."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        make_url(db_url).get_dialect().import_dbapi()
    except ImportError as error:
        raise GradebookError(
            f"gradebook {shown(db_url)}: its driver (Python module {error.name!r}) is not installed; "
            + POSTGRES_HINT
        ) from None
    except (NoSuchModuleError, ArgumentError) as error:
        raise GradebookError(
            f"gradebook {shown(db_url)!r}: not a database URL SQLAlchemy knows ({error}); " + POSTGRES_HINT
        ) from None


def unreachable(error: BaseException) -> bool:
    """True if `error` says the database itself is gone (stopped, unreachable, connection dropped)."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    return isinstance(error, OperationalError | InterfaceError) or (
        isinstance(error, DBAPIError) and error.connection_invalidated
    )


def sqlite_path(db_url: str) -> str | None:
    """The file an sqlite URL names, or None (another database, or one in memory)."""
    prefix = "sqlite:///"
    if not db_url.startswith(prefix) or ":memory:" in db_url:
        return None
    return db_url[len(prefix) :].split("?", 1)[0]


_busy = {"seconds": 5.0}  # sqlite3's own wait, until load_config sets c.GradebookSafety.busy_timeout


def busy_timeout() -> float:
    """Seconds an sqlite connection waits for a lock that another program holds, before it gives up."""
    return _busy["seconds"]


def set_busy_timeout(seconds: float) -> None:
    """Make every sqlite connection SQLAlchemy opens from now on (nbgrader's too) wait `seconds` for a
    lock."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    _busy["seconds"] = float(seconds)
    if not event.contains(Engine, "connect", _wait_for_locks):
        event.listen(Engine, "connect", _wait_for_locks)


def _wait_for_locks(dbapi_connection, record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute(f"PRAGMA busy_timeout = {int(busy_timeout() * 1000)}")


class _RaisedAnyway(logging.Filter):
    """nbgrader logs a whole traceback with its SQL for a database error that it then raises anyway; the
    raised error is what the grader reports, once, in its own line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Rolling back session due to database error")


logging.getLogger("tornado.application").addFilter(_RaisedAnyway())  # nbgrader.api's app_log
