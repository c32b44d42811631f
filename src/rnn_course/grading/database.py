"""nbgrader's db_url: a missing database driver, or a database lost mid-run, said in one clear line."""

from __future__ import annotations

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
        raise GradebookError(f"gradebook {shown(db_url)!r}: not a database URL SQLAlchemy knows ({error}); "
                           + POSTGRES_HINT) from None


def unreachable(error: BaseException) -> bool:
    """True if `error` says the database itself is gone (stopped, unreachable, connection dropped)."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    return isinstance(error, OperationalError | InterfaceError) or (
        isinstance(error, DBAPIError) and error.connection_invalidated
    )
