"""What an instructor's machine does to a course, made for real: a gradebook another program holds locked, a
full disk, a damaged gradebook, a write cut off part-way. Each gives one line (or a wait, then success),
loses nothing, and a plain re-run afterwards grades everyone right.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rnn_course.grading import atomic, errors
from rnn_course.grading.config import GradebookSafety, load_config
from rnn_course.grading.faults import backups
from rnn_course.grading.workflow.export import export
from rnn_course.grading.workflow.feedback import feedback
from tests.helpers import runner_demo
from tests.helpers.runner_demo import gradebook_rows, published
from tests.helpers.tiers import REQUIRE_SANDBOX, skip_tier_or_fail
from tests.helpers.waiting import wait_for

pytestmark = [pytest.mark.grading, pytest.mark.slow]

STUDENTS = runner_demo.TINY_STUDENTS  # 9


def make_course(folder: Path, busy_timeout: int | None = None) -> Path:
    course = runner_demo.tiny_course(folder)
    with open(course / "nbgrader_config.py", "a") as config:
        config.write(runner_demo.FEEDBACK_CONFIG)  # the course's own: no hidden test code in a feedback page
        if busy_timeout is not None:
            config.write(f"c.GradebookSafety.busy_timeout = {busy_timeout}\n")
    for student in STUDENTS:
        runner_demo.make_submission(course, "tiny", student, student.split("_")[1])
    return course


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    """A course graded once (so a copy of its gradebook was kept before it was written), and exported."""
    course = make_course(tmp_path_factory.mktemp("graded") / "course")
    assert cli(course, "autograde", "--quiet")[0] == 0
    assert cli(course, "export")[0] == 0
    return course


def copy_of(course: Path, target: Path) -> Path:
    shutil.copytree(course, target, symlinks=True)
    return target


def cli(course: Path, step: str, *args: str, timeout: float = 300) -> tuple[int, str, str]:
    """`rnn-course grade STEP` as an instructor runs it."""
    command = [
        sys.executable,
        "-m",
        "rnn_course.cli",
        "grade",
        step,
        *(["tiny"] if step not in ("export", "reset", "check") else []),
        "--course-dir",
        str(course),
        *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    return done.returncode, done.stdout, done.stderr


def start_cli(course: Path, *args: str) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "rnn_course.cli",
        "grade",
        "autograde",
        "tiny",
        "--course-dir",
        str(course),
        "--quiet",
        *args,
    ]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in folder.rglob("*") if path.is_file()}


def assert_sound_and_whole(course: Path) -> None:
    """The gradebook passes SQLite's integrity check; every recorded submission has every score, right."""
    with contextlib.closing(sqlite3.connect(course / "gradebook.db")) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    for student, got in gradebook_rows(course).items():
        assert None not in got and sum(got) == STUDENTS[student], (student, got)


def assert_everyone_right(course: Path) -> None:
    assert_sound_and_whole(course)
    assert sorted(gradebook_rows(course)) == sorted(STUDENTS)
    assert published(course) == set(STUDENTS)


@contextlib.contextmanager
def write_lock(db: Path, kind: str = "IMMEDIATE"):
    """A second program holding the gradebook's write lock (BEGIN IMMEDIATE, as the formgrader saving)."""
    connection = sqlite3.connect(db, timeout=60, isolation_level=None)
    connection.execute(f"BEGIN {kind}")
    try:
        yield
    finally:
        connection.execute("ROLLBACK")
        connection.close()


def hold_lock_from_the_first_grade(course: Path, seconds: float) -> threading.Thread:
    """Take the write lock as soon as the run has recorded one submission, and keep it `seconds`."""

    def hold():
        wait_for(lambda: len(published(course)) >= 1, "the first recorded submission", timeout=180)
        with write_lock(course / "gradebook.db"):
            time.sleep(seconds)

    thread = threading.Thread(target=hold)
    thread.start()
    return thread


# ---------------------------------------------------------------------------------- a locked gradebook


def test_a_gradebook_locked_for_a_few_seconds_is_waited_for(tmp_path):
    course = make_course(tmp_path / "course")
    submitted = snapshot(course / "submitted")
    run = start_cli(course, "--workers", "1")
    holder = hold_lock_from_the_first_grade(course, 8)  # longer than sqlite3's own 5 s wait
    out, err = run.communicate(timeout=300)
    holder.join()
    assert run.returncode == 0, err
    assert "locked" not in err
    report = json.loads(max((course / ".runs").glob("*Z-*.json")).read_text())
    assert report["gradebook_seconds"] > 5, "no write waited past sqlite3's own 5 s: the lock came too late"
    assert_everyone_right(course)
    assert snapshot(course / "submitted") == submitted


def test_a_gradebook_locked_past_the_busy_timeout_stops_in_one_line_and_a_re_run_finishes(tmp_path):
    course = make_course(tmp_path / "course", busy_timeout=3)
    submitted = snapshot(course / "submitted")
    run = start_cli(course, "--workers", "1")
    holder = hold_lock_from_the_first_grade(course, 12)
    out, err = run.communicate(timeout=300)
    assert run.returncode == 1, err
    line = one_line(err)
    db = course / "gradebook.db"
    assert line.startswith(
        f"grade autograde: the gradebook {db} is locked by another program "
        "(is the formgrader saving?); waited 3 s; "
    ), line
    recorded = int(
        re.search(
            r"; (\d+) of 9 submission\(s\) were graded and recorded, the rest were not; "
            r"run autograde again when it is done to grade them$",
            line,
        ).group(1)
    )
    holder.join()
    assert 1 <= recorded < 9 and len(gradebook_rows(course)) == recorded == len(published(course))
    assert_sound_and_whole(course)
    assert snapshot(course / "submitted") == submitted
    assert cli(course, "autograde", "--quiet")[0] == 0
    assert_everyone_right(course)


def test_export_waits_for_a_lock_then_says_so_in_one_line(graded, tmp_path):
    course = copy_of(graded, tmp_path / "course")
    with open(course / "nbgrader_config.py", "a") as config:
        config.write("c.GradebookSafety.busy_timeout = 2\n")
    before = (course / "grades.csv").read_bytes()
    with write_lock(course / "gradebook.db", "EXCLUSIVE"):  # not even a reader gets in
        started = time.monotonic()
        code, _, err = cli(course, "export")
        assert time.monotonic() - started > 2
    assert code == 1
    assert one_line(err) == (
        f"grade export: the gradebook {course / 'gradebook.db'} is locked by another "
        "program (is the formgrader saving?); waited 2 s; run again when it is done"
    )
    assert (course / "grades.csv").read_bytes() == before
    assert cli(course, "export")[0] == 0


# ---------------------------------------------------------------------------------- a full disk


@pytest.fixture
def small_disk(tmp_path):
    """A 24 MiB tmpfs of its own, and a way to fill it to the last byte. Mounting it needs root: CI runs as
    root, and there (RNN_COURSE_REQUIRE_SANDBOX=1) a run without root fails rather than skip the test."""
    not_root = "mounting a small tmpfs needs root" if os.geteuid() != 0 else None
    skip_tier_or_fail("grading", not_root, REQUIRE_SANDBOX)
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    """Fill `disk` until a write fails; returns the filler to remove."""
    filler = disk / "filler"
    with contextlib.suppress(OSError), open(filler, "wb") as handle:
        while True:
            handle.write(b"\0" * 4096)
            handle.flush()
    for name in range(1000):  # the last few bytes and inodes of partly used blocks
        try:
            (disk / f"filler{name}").write_bytes(b"\0" * 512)
        except OSError:
            break
    return filler


def unfill(disk: Path) -> None:
    for path in disk.glob("filler*"):
        path.unlink()


def test_a_full_disk_stops_the_batch_at_the_first_failed_write_and_a_re_run_grades_the_rest(
    tmp_path, small_disk
):
    course = make_course(tmp_path / "made")
    course = Path(shutil.copytree(course, small_disk / "course"))
    submitted = snapshot(course / "submitted")
    run = start_cli(course, "--workers", "1")
    wait_for(
        lambda: len(published(course)) >= 2 or run.poll() is not None, "two recorded submissions", timeout=180
    )
    fill(small_disk)
    out, err = run.communicate(timeout=300)
    assert run.returncode == 1, err
    line = one_line(err)
    match = re.fullmatch(
        rf"grade autograde: no space left on the disk that holds {course / 'autograded'} "
        r"\(\d+ (?:bytes|KiB) free\); "
        r"(\d+) of 9 submission\(s\) were graded and recorded, nothing was recorded for the other (\d+): "
        r"free some space and run autograde again to grade them",
        line,
    )
    assert match, line
    recorded = int(match.group(1))
    assert 2 <= recorded < 9 and recorded + int(match.group(2)) == 9
    assert len(gradebook_rows(course)) == recorded
    assert_sound_and_whole(course)
    assert snapshot(course / "submitted") == submitted

    unfill(small_disk)
    code, _, err = cli(course, "autograde", "--quiet")
    assert code == 0, err
    assert_everyone_right(course)
    assert cli(course, "export")[0] == 0 and cli(course, "feedback")[0] == 0

    # Full again: the export and the feedback say so in one line and keep their old files, whole.
    grades, pages = (course / "grades.csv").read_bytes(), snapshot(course / "feedback")
    fill(small_disk)
    for step in ("export", "feedback"):
        code, _, err = cli(course, step)
        assert code == 1, err
        assert one_line(err).startswith(f"grade {step}: no space left on the disk that holds "), err
    assert (course / "grades.csv").read_bytes() == grades
    assert snapshot(course / "feedback") == pages
    assert not list(course.glob(".grades.csv*")), "a temporary file was left behind"
    unfill(small_disk)


# ---------------------------------------------------------------------------------- nothing half-written


def test_an_export_cut_off_mid_write_leaves_the_old_file(graded, tmp_path, monkeypatch):
    course = copy_of(graded, tmp_path / "course")
    before = (course / "grades.csv").read_bytes()
    written = csv.DictWriter.writerows

    def cut_off(self, rows):
        written(self, rows[:1])
        raise OSError("the write was cut off")

    monkeypatch.setattr(csv.DictWriter, "writerows", cut_off)
    with pytest.raises(OSError, match="cut off"):
        export(course)
    assert (course / "grades.csv").read_bytes() == before
    assert sorted(path.name for path in course.iterdir() if path.name.startswith(".grades")) == []


def test_a_feedback_page_cut_off_mid_write_leaves_the_old_page(graded, tmp_path, monkeypatch):
    course = copy_of(graded, tmp_path / "course")
    assert cli(course, "feedback")[0] == 0
    pages = snapshot(course / "feedback")
    assert pages
    moved = atomic.move_tree

    def cut_off(staged, final):  # the staged pages are written; the move into place fails part-way
        page = sorted(Path(staged).rglob("*.html"))[0]
        page.write_text(page.read_text()[:100])
        raise OSError("cut off")

    monkeypatch.setattr(atomic, "move_tree", cut_off)
    with pytest.raises(OSError, match="cut off"):
        feedback(course, "tiny")
    assert snapshot(course / "feedback") == pages
    monkeypatch.setattr(atomic, "move_tree", moved)


def test_an_atomic_write_that_fails_leaves_the_old_file_or_none(tmp_path):
    target = tmp_path / "grades.csv"
    with pytest.raises(RuntimeError), atomic.replacing(target) as handle:
        handle.write("half")
        raise RuntimeError("cut off")
    assert not target.exists() and list(tmp_path.iterdir()) == []
    atomic.write_text(target, "old\n")
    with pytest.raises(RuntimeError), atomic.replacing(target) as handle:
        handle.write("new, half")
        raise RuntimeError("cut off")
    assert target.read_text() == "old\n" and list(tmp_path.iterdir()) == [target]


# ---------------------------------------------------------------------------------- a damaged gradebook


def garbage(db: Path) -> str:
    db.write_bytes(os.urandom(db.stat().st_size))
    return "file is not a database"


def truncated(db: Path) -> str:
    with open(db, "r+b") as handle:
        handle.truncate(db.stat().st_size // 2)
    return "database disk image is malformed"


@pytest.mark.parametrize("damage", [garbage, truncated])
def test_a_damaged_gradebook_is_named_with_the_copy_to_restore(graded, tmp_path, damage):
    course = copy_of(graded, tmp_path / "course")
    copies = sorted((course / ".runs" / "backups").glob("gradebook-*.db"))
    assert copies, "no copy of the gradebook was kept before the run wrote to it"
    db = course / "gradebook.db"
    what = damage(db)
    lines = {}
    for step in ("autograde", "export"):
        code, _, err = cli(course, step)
        assert code == 1, err
        lines[step] = one_line(err)
        restore = f"`mv {db} {db}.damaged && cp {copies[-1]} {db}`"
        assert lines[step] == (
            f"grade {step}: the gradebook {db} is damaged ({what}); restore the copy kept before the last "
            f"run: {restore}, then run the command again (a plain autograde regrades what the copy lacks)"
        )
    code, _, err = cli(course, "check")
    assert code == 1 and f"the gradebook {db} is damaged" in err, err
    with pytest.raises(errors.GradebookDamaged, match="is damaged"):  # the Python API says the same
        export(course)

    command = re.search(r"`([^`]+)`", lines["export"]).group(1)  # do what it says
    subprocess.run(command, shell=True, check=True)
    code, _, err = cli(course, "autograde", "--quiet")
    assert code == 0, err
    assert_everyone_right(course)
    assert cli(course, "export")[0] == 0


def test_debug_shows_the_traceback_instead(graded, tmp_path):
    course = copy_of(graded, tmp_path / "course")
    garbage(course / "gradebook.db")
    code, _, err = cli(course, "export", "--debug")
    assert code == 1 and "Traceback" in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("rnn_course.grading.errors.GradebookDamaged: the gradebook "), last


def test_only_the_last_copies_are_kept_within_the_size_cap(graded, tmp_path):
    course = copy_of(graded, tmp_path / "course")
    config = load_config(course)
    config.GradebookSafety.backup_count = 2
    db_url = f"sqlite:///{course / 'gradebook.db'}"
    made = [backups.keep(db_url, course, config) for _ in range(4)]
    kept = sorted((course / ".runs" / "backups").glob("gradebook-*.db"))
    assert kept == made[-2:]
    with contextlib.closing(sqlite3.connect(kept[-1])) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    config.GradebookSafety.backup_max_mb = 0
    assert backups.keep(db_url, course, config) is None  # larger than the cap: not copied
    assert GradebookSafety().busy_timeout == 30


# ---------------------------------------------------------------------------------- grade check


def test_check_says_a_sound_course_is_sound_and_names_each_problem_with_its_fix(graded, tmp_path):
    course = copy_of(graded, tmp_path / "course")
    code, out, err = cli(course, "check")
    assert code == 0 and "sound" in out, err
    (course / "release" / "tiny" / "tiny.ipynb").unlink()
    with write_lock(course / "gradebook.db"):
        code, _, err = cli(course, "check")
    assert code == 1
    lines = err.strip().splitlines()
    assert any("is locked by another program now" in line for line in lines), err
    assert any(line.endswith("tiny.ipynb is missing: run `rnn-course grade release tiny`") for line in lines)
