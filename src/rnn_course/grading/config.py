"""Grading settings from the course's nbgrader_config.py: what a kernel may use, and how it is contained.

    c.GradingLimits.memory_mb = 4096
    c.Sandbox.enabled = True
    c.GradebookSafety.busy_timeout = 30

Each setting is a traitlets trait with a default and a help text, as in nbgrader itself, and its default lives
here only: the course's nbgrader_config.py sets only what differs, and docs/instructors/config-reference.md
is generated from these classes (`reference_markdown`, `make config-reference`). A misspelt name is reported
with a suggestion ("Did you mean `memory_mb`?").
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from traitlets import Bool, Float, Int, Unicode
from traitlets.config import Config, Configurable

from rnn_course.grading.database import require_driver, set_busy_timeout


class GradingLimits(Configurable):
    """Per-notebook limits; a cell over one scores 0 and the run report says why."""

    notebook_timeout = Int(300, help="Seconds a whole notebook may run, kernel start included.").tag(
        config=True
    )
    memory_mb = Int(
        2048, help="MiB of address space a kernel may add to its warm start (RLIMIT_AS, held as root too)."
    ).tag(config=True)
    max_output_bytes = Int(
        1_000_000,
        help="Bytes of output one cell may produce: text, display data, updates of displays, error text and "
        "output metadata all count. Past it the cell is interrupted and scores 0.",
    ).tag(config=True)
    max_notebook_output_bytes = Int(
        5_000_000,
        help="Bytes of output a whole notebook may produce, counted as for max_output_bytes. Past it, the "
        "cell that crossed it scores 0 and keeps none of its output, as does each later cell with output.",
    ).tag(config=True)
    max_submission_bytes = Int(
        20_000_000,
        help="Bytes a submitted folder may hold in all, counted (with lstat) before anything is copied; a "
        "larger folder is refused with its reason.",
    ).tag(config=True)
    max_processes = Int(
        64, help="Threads a kernel may add (RLIMIT_NPROC of a user id of its own; it may start no process)."
    ).tag(config=True)
    scratch_mb = Int(
        256, help="MiB a kernel may write: its scratch folder is a tmpfs of this size (in memory)."
    ).tag(config=True)
    scratch_files = Int(10_000, help="Files and folders a kernel may make in its scratch folder.").tag(
        config=True
    )
    max_file_mb = Int(
        256, help="MiB one file a kernel writes may grow to (RLIMIT_FSIZE); past it the write fails."
    ).tag(config=True)


class Sandbox(Configurable):
    """Containment of every graded kernel (see sandbox/host.py)."""

    enabled = Bool(
        True,
        help="Run every kernel in a bubblewrap sandbox. False grades without one (a warning is printed and "
        "the run report and export say so); only for machines where no sandbox can be made.",
    ).tag(config=True)
    first_uid = Int(
        200_000,
        help="When grading as root, each kernel runs as its own user id, drawn from "
        "[first_uid, first_uid + 100000); no account needs to exist.",
    ).tag(config=True)


class FeedbackPages(Configurable):
    """How feedback pages link a named mistake to its lesson (see grading/workflow/feedback_pages.py)."""

    lesson_url = Unicode(
        "",
        help="Where the lesson notebooks are published, e.g. 'https://course.example.org/notebooks/' (pages "
        "as <notebook>.html) or a repository folder. A mistake's lesson becomes a link to "
        "<lesson_url><notebook><lesson_suffix>#<section>; empty: the lesson and section are named, unlinked.",
    ).tag(config=True)
    lesson_suffix = Unicode(
        ".html",
        help="What follows the notebook's name in a lesson link: '.html' for published pages, '.ipynb' for a "
        "repository's notebook viewer.",
    ).tag(config=True)


class GradebookSafety(Configurable):
    """How the grader waits for a busy gradebook, and the copies it keeps to come back from a damaged one."""

    busy_timeout = Int(
        30,
        help="Seconds to wait for a sqlite gradebook that another program (the formgrader saving a grade) "
        "holds locked, and for a PostgreSQL server restarting mid-batch, before giving up with one line; "
        "nothing is lost then, and a plain re-run goes on.",
    ).tag(config=True)
    backup_count = Int(
        5,
        help="Copies of the sqlite gradebook kept in .runs/backups/, one taken (with SQLite's online backup) "
        "before each run that writes to it; the oldest go first. 0 keeps none.",
    ).tag(config=True)
    backup_max_mb = Int(
        1024,
        help="MiB all the kept gradebook copies may take together; the oldest go first, and a gradebook "
        "larger than this is not copied.",
    ).tag(config=True)


# ---- the LMS road: deadlines and collecting submissions (rnn_course.grading.lms) ----


class LatePolicy(Configurable):
    """What a submission after its due date (extension included) costs; see grading/lms/deadlines.py."""

    penalty_per_day = Float(
        0.0,
        help="Share of a notebook's score taken off per started day late (0.1: 10% a day, so 2 h late costs "
        "10% and 25 h late 20%), never more than the score. 0 means no penalty (late is still reported).",
    ).tag(config=True)
    timezone = Unicode(
        "UTC",
        help="Time zone (IANA name, e.g. Europe/Berlin) of due dates given without one, and of the times "
        "in an LMS zip (zip entries carry the LMS server's local time).",
    ).tag(config=True)


class CollectLimits(Configurable):
    """What `rnn-course grade collect` accepts from an LMS zip before it refuses an entry, or the zip."""

    max_entries = Int(20_000, help="Entries one zip may hold; a zip with more is refused.").tag(config=True)
    max_file_bytes = Int(
        20_000_000, help="Bytes one file may hold once unpacked; a larger file gets a failed row."
    ).tag(config=True)
    max_total_bytes = Int(
        2_000_000_000, help="Bytes all files of one zip may hold once unpacked; a larger zip is refused."
    ).tag(config=True)
    max_ratio = Int(
        200, help="Unpacked size over packed size one entry may reach (zip bombs); past it, a failed row."
    ).tag(config=True)


# ---- end of the LMS road ----


# every class the reference lists
CONFIGURABLES = (GradingLimits, Sandbox, FeedbackPages, GradebookSafety, LatePolicy, CollectLimits)
REFERENCE = "docs/instructors/config-reference.md"  # relative to the repository root


def _default(value) -> str:
    return f"{value:_}" if type(value) is int and abs(value) >= 10_000 else repr(value)


def reference_markdown() -> str:
    """The configuration reference (docs/instructors/config-reference.md), generated from the traits as
    nbgrader's `--help-all` is: every setting with its class, name, type, default and help."""
    lines = [
        "# Configuration reference",
        "",
        "<!-- Generated from src/rnn_course/grading/config.py by `make config-reference`; do not edit. -->",
        "",
        "Every setting the grader adds to nbgrader's, with its default. Set one in the course's",
        "`nbgrader_config.py` only to change it, e.g. `c.GradingLimits.memory_mb = 4096`; nbgrader's own",
        "settings (`c.Execute.timeout`, `c.CourseDirectory.*`, ...) are in nbgrader's documentation.",
    ]
    for cls in CONFIGURABLES:
        lines += ["", f"## {cls.__name__}", "", " ".join((cls.__doc__ or "").split())]
        for name, trait in sorted(cls.class_traits(config=True).items()):
            lines += [
                "",
                f"### `c.{cls.__name__}.{name}`",
                "",
                f"{type(trait).__name__}, default `{_default(trait.default_value)}`. "
                + " ".join(trait.help.split()),
            ]
    return "\n".join(lines) + "\n"


def write_reference(root: Path) -> Path:
    """Write the reference under the repository root."""
    path = Path(root) / REFERENCE
    path.write_text(reference_markdown(), encoding="utf-8")
    return path


CELL_TIMEOUT_DEFAULT = 30  # c.Execute.timeout, nbgrader's own setting, when the course does not set one


def load_config(course_dir: Path) -> Config:
    """The course's nbgrader_config.py, rooted at course_dir wherever it lies."""
    from traitlets.config import PyFileConfigLoader

    # nbgrader runs the `alembic` command to create a gradebook: find it beside this Python, venv or not.
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")

    course_dir = Path(course_dir).resolve()
    config = Config()
    if (course_dir / "nbgrader_config.py").exists():
        config = PyFileConfigLoader("nbgrader_config.py", path=str(course_dir)).load_config()
    config.CourseDirectory.root = str(course_dir)
    if "db_url" in config.CourseDirectory:
        require_driver(config.CourseDirectory.db_url)  # one clear line, not a traceback from deep in nbgrader
    set_busy_timeout(GradebookSafety(config=config).busy_timeout)
    return config


def course_path(config: Config, step: str, student: str = ".", assignment: str = ".") -> Path:
    """A folder of the course as nbgrader's CourseDirectory names it (format_path): step is "source",
    "release", "submitted", "autograded" or "feedback", whose name is its `<step>_directory` setting
    (c.CourseDirectory.autograded_directory = "graded"); student may be "*" for a glob."""
    from nbgrader.coursedir import CourseDirectory

    coursedir = CourseDirectory(config=config)
    return Path(coursedir.format_path(getattr(coursedir, f"{step}_directory"), student, assignment))


def student_folders(config: Config, step: str, assignment: str) -> list[Path]:
    """Every student's folder of `assignment` at a step (e.g. autograded/<student>/<assignment>), sorted."""
    import glob

    parts = str(course_path(config, step, "\0", assignment)).split("\0")  # student: "*", the rest literal
    return [
        Path(path)
        for path in sorted(glob.glob("*".join(glob.escape(part) for part in parts)))
        if Path(path).is_dir()
    ]


def limits_as_dict(config: Config) -> dict:
    """The limits a kernel is started with: GradingLimits plus the cell timeout, as plain data."""
    limits = GradingLimits(config=config)
    timeout = config.get("Execute", {}).get("timeout", CELL_TIMEOUT_DEFAULT)
    return {
        "cell_timeout": int(timeout) if timeout and timeout > 0 else limits.notebook_timeout,
        "notebook_timeout": limits.notebook_timeout,
        "memory_mb": limits.memory_mb,
        "max_output_bytes": limits.max_output_bytes,
        "max_processes": limits.max_processes,
        "scratch_mb": limits.scratch_mb,
        "scratch_files": limits.scratch_files,
        "max_file_mb": limits.max_file_mb,
    }


if __name__ == "__main__":  # `python -m rnn_course.grading.config`, run in the repository root
    print(write_reference(Path.cwd()))
