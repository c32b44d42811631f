"""Grading at course scale: a real PostgreSQL gradebook and Dask workers as separate processes, on loopback.

Every test grades the course's demo submissions and compares each cell's score with a sqlite run of the
same submissions (the `sqlite_grades` fixture), and checks that nothing was lost or recorded twice.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rnn_course.grading.runner import run as runner
from tests.helpers import submissions
from tests.helpers.course import copy_course
from tests.helpers.scale import ASSIGNMENT, grades, make_course, row_counts, totals
from tests.helpers.servers import free_port
from tests.helpers.waiting import wait_for

pytestmark = [pytest.mark.scale, pytest.mark.slow]

GRADE_CELLS = len(submissions.POINTS)  # autograded test cells; with the hand-graded answer, the grade rows


def autograde_cli(course_dir: Path, *args: str) -> subprocess.Popen:
    """`rnn-course grade autograde` as an instructor runs it, in a process of its own."""
    command = [
        sys.executable,
        "-m",
        "rnn_course.cli",
        "grade",
        "autograde",
        ASSIGNMENT,
        "--course-dir",
        str(course_dir),
        "--quiet",
        *args,
    ]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen, timeout: float = 300) -> tuple[int, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out + err


def assert_same_as_sqlite(course_dir: Path, sqlite_grades: dict, expected: dict) -> None:
    reports = sorted((course_dir / ".runs").glob("*Z-*.json"))  # <time>-<id>.json: the run reports
    assert reports and json.loads(reports[-1].read_text())["sandboxed"] is True  # graded in the sandbox
    got = grades(course_dir)
    assert sorted(got) == sorted(expected), "a submission is missing from the gradebook, or one too many"
    for student, cells in got.items():
        assert cells == sqlite_grades[student], student
    assert totals(got) == expected


def assert_each_recorded_once(postgres, database: str, students: int) -> None:
    counts = row_counts(postgres, database)
    assert counts == {
        "submitted_assignment": students,
        "submitted_notebook": students,
        "grade": students * (GRADE_CELLS + 1),
    }, counts


def published(course_dir: Path) -> int:
    """Submissions whose autograded folder is in place (the runner moves it there after recording)."""
    return len(list((course_dir / "autograded").glob(f"*/{ASSIGNMENT}")))


def test_a_postgresql_gradebook_gives_the_sqlite_grades(postgres, sqlite_grades, tmp_path):
    course_dir = tmp_path / "course"
    expected = make_course(course_dir, postgres.create_database("parity"))
    report = runner.autograde(course_dir, ASSIGNMENT, workers=2, progress=False)
    assert len(report.graded) == len(expected), report.summary()
    assert_same_as_sqlite(course_dir, sqlite_grades, expected)
    assert_each_recorded_once(postgres, "parity", len(expected))


def test_two_dask_worker_processes_give_the_same_grades(postgres, sqlite_grades, dask_cluster, tmp_path):
    course_dir = tmp_path / "course"
    expected = make_course(course_dir, postgres.create_database("dask"))
    code, output = finish(autograde_cli(course_dir, "--scheduler", dask_cluster.address))
    assert code == 0, output
    assert_same_as_sqlite(course_dir, sqlite_grades, expected)
    assert_each_recorded_once(postgres, "dask", len(expected))
    assert dask_cluster.graded_on() == {"worker0": True, "worker1": True}  # both processes took submissions


def test_a_worker_killed_mid_batch_loses_no_grade_and_records_none_twice(
    postgres, sqlite_grades, dask_cluster, tmp_path
):
    course_dir = tmp_path / "course"
    expected = make_course(course_dir, postgres.create_database("killed"))
    run = autograde_cli(course_dir, "--scheduler", dask_cluster.address)
    wait_for(lambda: published(course_dir) >= 2 or run.poll() is not None, "two recorded submissions")
    assert run.poll() is None and published(course_dir) < len(expected), "the batch ended before the kill"
    dask_cluster.kill_worker(0)
    code, output = finish(run)
    if code != 0:  # what the first run could not grade, a second run grades
        code, output = finish(autograde_cli(course_dir, "--scheduler", dask_cluster.address))
    assert code == 0, output
    assert_same_as_sqlite(course_dir, sqlite_grades, expected)
    assert_each_recorded_once(postgres, "killed", len(expected))


def test_a_database_stopped_mid_batch_is_reported_and_a_second_run_loses_nothing(
    postgres, sqlite_grades, tmp_path
):
    course_dir = tmp_path / "course"
    expected = make_course(course_dir, postgres.create_database("stopped"))
    run = autograde_cli(course_dir, "--workers", "2")
    wait_for(lambda: published(course_dir) >= 2 or run.poll() is not None, "two recorded submissions")
    assert run.poll() is None and published(course_dir) < len(expected), "the batch ended before the stop"
    postgres.stop()
    try:
        code, output = finish(run)
    finally:
        postgres.start()
    assert code != 0, output
    assert "Traceback" not in output, output
    said = [line for line in output.splitlines() if "stopped answering" in line]
    assert len(said) == 1 and said[0].startswith(f"grade autograde: the gradebook {postgres.url('stopped')} ")
    assert said[0].endswith("the rest were not: run autograde again once the database answers")
    recorded = f"; {published(course_dir)} of {len(expected)} submission(s) were recorded before it did"
    assert recorded in said[0]
    code, output = finish(autograde_cli(course_dir, "--workers", "2"))
    assert code == 0, output
    assert_same_as_sqlite(course_dir, sqlite_grades, expected)
    assert_each_recorded_once(postgres, "stopped", len(expected))


@pytest.mark.parametrize(
    "db_url, module",
    [
        ("postgresql+psycopg://grader@db.example/gradebook", "psycopg"),
        ("postgresql+psycopg2://grader:secret@db.example/gradebook", "psycopg2"),
    ],
)
def test_a_missing_database_driver_is_one_line_that_names_the_extra(tmp_path, db_url, module):
    course_dir = copy_course(tmp_path / "course")
    with open(course_dir / "nbgrader_config.py", "a") as config:
        config.write(f"\nc.CourseDirectory.db_url = {db_url!r}\n")
    without_driver = (
        f"import sys; sys.modules[{module!r}] = None; from rnn_course.cli import main; "
        "sys.exit(main(sys.argv[1:]))"
    )  # as if the driver were not installed
    for step in ("release", "autograde") if module == "psycopg" else ("release",):
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                without_driver,
                "grade",
                step,
                ASSIGNMENT,
                "--course-dir",
                str(course_dir),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode != 0
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert f"Python module {module!r}" in done.stderr and "pip install -e '.[postgres]'" in done.stderr
        assert "secret" not in done.stderr


def test_a_database_restarted_mid_batch_costs_at_most_the_submissions_in_flight(
    postgres, sqlite_grades, tmp_path
):
    course_dir = tmp_path / "course"
    expected = make_course(course_dir, postgres.create_database("restarted"))
    run = autograde_cli(course_dir, "--workers", "2")
    wait_for(lambda: published(course_dir) >= 2 or run.poll() is not None, "two recorded submissions")
    assert run.poll() is None and published(course_dir) < len(expected), "the batch ended before the restart"
    postgres.stop()
    postgres.start()
    code, output = finish(run)
    assert "Traceback" not in output and "stopped answering" not in output, output
    report = json.loads(sorted((course_dir / ".runs").glob("*Z-*.json"))[-1].read_text())
    lost = [result for result in report["results"] if result["status"] != "graded"]
    # the two workers' submissions in flight at most, each with its reason
    assert len(lost) <= 2, [(each["student"], each["reason"]) for each in lost]
    assert code == (1 if lost else 0), output
    code, output = finish(autograde_cli(course_dir, "--workers", "2"))
    assert code == 0, output
    assert_same_as_sqlite(course_dir, sqlite_grades, expected)
    assert_each_recorded_once(postgres, "restarted", len(expected))


def test_a_server_down_or_refusing_the_password_is_one_line_naming_it_not_the_password(postgres, tmp_path):
    import psycopg

    postgres.create_database("guarded")
    hba = postgres.data / "pg_hba.conf"
    hba.write_text("host all grader 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
    with psycopg.connect(
        host="127.0.0.1", port=postgres.port, user="postgres", dbname="postgres", autocommit=True
    ) as connection:
        connection.execute("CREATE ROLE grader LOGIN PASSWORD 'right-one'")
        connection.execute("SELECT pg_reload_conf()")
    port = postgres.port
    refused = f"postgresql+psycopg://grader:wrong-one@127.0.0.1:{port}/guarded"
    down = f"postgresql+psycopg://grader:wrong-one@127.0.0.1:{free_port()}/guarded"
    for db_url, why in ((refused, "refused the password"), (down, "cannot be reached")):
        course_dir = copy_course(tmp_path / why.replace(" ", "-"))
        with open(course_dir / "nbgrader_config.py", "a") as config:
            config.write(f"\nc.CourseDirectory.db_url = {db_url!r}\n")
        for step in ("autograde", "export", "check"):
            done = subprocess.run(
                [sys.executable, "-m", "rnn_course.cli", "grade", step, "--course-dir", str(course_dir)],
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == 1, done.stderr
            lines = done.stderr.strip().splitlines()
            said = [line for line in lines if "the gradebook's database server" in line]
            assert len(said) == 1 and "Traceback" not in done.stderr, done.stderr
            assert len(lines) == 1 or step == "check", done.stderr  # check lists the unreleased course too
            assert f"the gradebook's database server {db_url.replace('wrong-one', '***')} {why}" in said[0]
            assert "wrong-one" not in done.stderr
