"""The package's own errors: each says in one line what went wrong and what to do.

`rnn-course grade` prints a CourseError as that line and exits 1; any other exception is a bug and keeps its
traceback. Each subclass is a RuntimeError too, as the failures it names were before they had a class.
(Not to be confused with checks.GradingError, the AssertionError a learner's test cell raises.)
"""


class CourseError(Exception):
    """A failure the instructor can act on, said in one line."""


class SandboxUnavailable(CourseError, RuntimeError):
    """No sandbox can be made here; the message says why and what to do."""


class GradebookError(CourseError, RuntimeError):
    """The gradebook cannot be used: its driver is missing, or it lacks what the step needs."""


class GradebookLost(GradebookError):
    """The gradebook's database stopped answering mid-run: no point grading what cannot be recorded."""

    def __init__(self, message: str, recorded: bool = False):
        super().__init__(message)
        self.recorded = recorded  # the submission in hand was recorded before the database went


class RunRefused(CourseError, RuntimeError):
    """An autograde run that cannot start: bad options, not a course, or another run holds the lock."""


class WorkflowError(CourseError, RuntimeError):
    """A workflow step that cannot go on (release, feedback, demo)."""


class IncompatibleVersion(CourseError, RuntimeError):
    """An installed library is outside the versions whose private parts this package was checked against."""


class GradebookLocked(GradebookError):
    """Another program held the sqlite gradebook's write lock for longer than the busy timeout."""


class GradebookDamaged(GradebookError):
    """The sqlite gradebook is not a database, or fails SQLite's integrity check."""


class DatabaseUnreachable(GradebookError):
    """The gradebook's database server is down, unreachable, or refuses the login."""


class DiskFull(CourseError, RuntimeError):
    """A write failed for want of space on the disk."""
