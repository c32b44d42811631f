"""`rnn-course grade check`: what is wrong with a course, each with its fix, before grading finds out.

The gradebook (its integrity, a lock held now, the database server), the folders (writable, room on the
disk), each release against its source, and the sandbox. Nothing in the course is changed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
from pathlib import Path

from rnn_course.grading import database
from rnn_course.grading.config import Sandbox, course_path, load_config
from rnn_course.grading.errors import CourseError
from rnn_course.grading.faults import backups, messages
from rnn_course.grading.runner.report import RUNS_DIR
from rnn_course.grading.sandbox.host import check_sandbox
from rnn_course.grading.workflow.release import check_release

LOW_SPACE = 100 * 2**20  # bytes: below this a batch may fill the disk part-way
STEPS = ("source", "release", "submitted", "autograded", "feedback")


def check(course_dir: Path) -> list[str]:
    """One line per problem, each ending in its fix; empty when the course is sound."""
    from nbgrader.coursedir import CourseDirectory

    course_dir = Path(course_dir).resolve()
    config_file = course_dir / "nbgrader_config.py"
    if not config_file.exists():
        return [
            f"{messages.shown_path(course_dir)} has no nbgrader_config.py: is it the course folder? "
            "(--course-dir names it)"
        ]
    try:
        config = load_config(course_dir)
    except CourseError as error:
        return [str(error)]
    except Exception as error:
        why = f"{type(error).__name__}: {error}"
        return [f"{messages.shown_path(config_file)} cannot be read ({why}): fix it"]
    problems = gradebook_problems(CourseDirectory(config=config).db_url, course_dir)
    problems += folder_problems(config, course_dir) + release_problems(config, course_dir)
    if Sandbox(config=config).enabled:
        problems += sandbox_problems()
    return problems


def gradebook_problems(db_url: str, course_dir: Path) -> list[str]:
    db_file = database.sqlite_path(db_url)
    if db_file is None:
        return server_problems(db_url)
    shown = messages.shown_path(db_file)
    if not os.path.exists(db_file):
        return [f"there is no gradebook {shown} yet: run `rnn-course grade release` to make it"]
    locked_now = [
        f"the gradebook {shown} is locked by another program now (is the formgrader saving?): "
        "grading waits for it up to c.GradebookSafety.busy_timeout seconds; close that program "
        "if the lock stays"
    ]
    try:
        why = backups.damage(db_file, "integrity_check")
    except sqlite3.OperationalError:
        return locked_now
    if why:
        return [str(messages.damaged(db_file, why, backups.newest(course_dir)))]
    with contextlib.closing(sqlite3.connect(db_file, timeout=0, isolation_level=None)) as connection:
        try:
            connection.execute("BEGIN IMMEDIATE")  # what a writer needs; given back at once
            connection.execute("ROLLBACK")
        except sqlite3.OperationalError:
            return locked_now
    return []


def server_problems(db_url: str) -> list[str]:
    """The database server answers and takes the login, or one line that names it (no password)."""
    from sqlalchemy import create_engine, text

    options = {"connect_timeout": 5} if db_url.startswith("postgresql") else {}
    engine = create_engine(db_url, connect_args=options)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:
        problem = messages.server(error, db_url)
        return [str(problem) if problem else f"the gradebook {database.shown(db_url)} failed: {error}"]
    finally:
        engine.dispose()
    return []


def folder_problems(config, course_dir: Path) -> list[str]:
    problems = []
    source = course_path(config, "source")
    if not source.is_dir():
        problems.append(
            f"{messages.shown_path(source)} is missing: put each assignment's source notebooks "
            "in it, one folder per assignment"
        )
    for folder in [course_path(config, step) for step in STEPS] + [course_dir / RUNS_DIR]:
        if folder.exists() and not os.access(folder, os.W_OK | os.X_OK):
            shown = messages.shown_path(folder)
            problems.append(
                f"{shown} is not writable by this user: `chown -R {os.getuid()} {shown}` or "
                "grade as its owner"
            )
    if shutil.disk_usage(course_dir).free < LOW_SPACE:
        problems.append(
            f"only {messages.free_space(course_dir)} on the disk that holds "
            f"{messages.shown_path(course_dir)}: grading writes notebooks, the gradebook and its "
            "copies; free some space first"
        )
    return problems


def release_problems(config, course_dir: Path) -> list[str]:
    """Each assignment's release is there, not older than its source, and passes the release check."""
    problems = []
    source = course_path(config, "source")
    for source_dir in sorted(path for path in source.glob("*") if path.is_dir()):
        assignment = source_dir.name
        release = f"run `rnn-course grade release {assignment}`"
        missing = False
        for notebook in sorted(source_dir.glob("*.ipynb")):
            released = course_path(config, "release", ".", assignment) / notebook.name
            if not released.exists():
                problems.append(f"{messages.shown_path(released)} is missing: {release}")
                missing = True
            elif notebook.stat().st_mtime > released.stat().st_mtime:
                problems.append(f"{messages.shown_path(notebook)} changed after it was released: {release}")
        if missing:
            continue
        try:
            found = check_release(course_dir, assignment, run_tests=False)
        except Exception as error:  # a notebook that is not one: say which, and go on with the rest
            found = [f"cannot be read ({type(error).__name__}: {error})"]
        problems += [f"{assignment}: {problem}: fix the source, then {release}" for problem in found]
    return problems


def sandbox_problems() -> list[str]:
    try:
        check_sandbox()
    except CourseError as error:
        return [str(error)]
    return []
