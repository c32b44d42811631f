"""Grading at course scale: generated submissions, 1 Dask worker process then 2, a PostgreSQL gradebook.

Starts Debian's PostgreSQL (default settings, fsync on) and a Dask scheduler on loopback, exactly as the
scale tests do (tests/scale/servers.py). Generates small submissions of the course assignment (every tenth
one blank, so that each test fails at its first call; the others correct, so that every test runs), grades
them through `--scheduler` with one worker process and then, into a fresh database, with two, both in the
sandbox, then some of them once more with one worker and no sandbox. It prints the throughput of each, the
scaling ratio and where the time goes (medians per submission):

- the gradebook: what the runner's single writer spends per submission (record, publish, read back);
- kernel start: what the worker waits for its kernel, from asking for it to its answer to kernel_info (the
  runner's own figure, Result.kernel_seconds); a kernel prepared before its notebook was due costs only
  the wait that is left;
- the cells: the notebook's cells (the learner's code and the tests), from the kernel's execution timestamps;
- the rest of a worker's time per submission (nbgrader's preprocessors, kernel stop, files);
- the sandbox: a worker's time per submission with it, less without it.

Then it measures the single writer alone: the 2-worker run's graded notebooks are recorded again into a
fresh database, one after the other, by the runner's own recording step (`finish`, an internal).
"""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

import nbformat
from nbgrader.coursedir import CourseDirectory

from rnn_course.grading.config import load_config
from rnn_course.grading.runner import run as runner
from rnn_course.grading.runner.record import finish
from rnn_course.grading.runner.worker import Outcome
from rnn_course.grading.workflow.release import release
from tests.helpers import submissions
from tests.helpers.course import copy_course
from tests.helpers.servers import DaskCluster, Postgres, postgres_missing

ASSIGNMENT = submissions.ASSIGNMENT
BLANK_EVERY = 10
UNSANDBOXED = 60  # submissions graded once more without the sandbox, with one worker, to measure its cost
BENCH_CONFIG = """
# bench-scale only: the gradebook, and the kernel's execution timestamps kept in the autograded notebooks
c.CourseDirectory.db_url = {db_url!r}
c.ClearMetadataPreprocessor.preserve_cell_metadata_mask = {{"execution"}}
"""


def make_course(target: Path, db_url: str, count: int) -> None:
    """A released course copy grading into db_url, with `count` generated submissions."""
    copy_course(target)
    with open(target / "nbgrader_config.py", "a") as config:
        config.write(BENCH_CONFIG.format(db_url=db_url))
    assert release(target, ASSIGNMENT) == []
    correct = submissions.build({**submissions.CORRECT, "answer_padding": submissions.PADDING_ANSWER})
    blank = submissions.build()
    for index in range(count):
        submissions.write(blank if index % BLANK_EVERY == 0 else correct, target, f"learner{index:04d}")


def _seconds(cell, start: str, end: str) -> float:
    timing = cell.metadata.get("execution", {})
    if start not in timing or end not in timing:
        return 0.0
    start_time, end_time = (datetime.datetime.fromisoformat(timing[key]) for key in (start, end))
    return (end_time - start_time).total_seconds()


def cells_seconds(course_dir: Path) -> float:
    """Median seconds per submission the kernel spent in the cells, from the autograded notebooks."""
    cells = []
    for path in sorted((course_dir / "autograded").glob(f"*/{ASSIGNMENT}/{ASSIGNMENT}.ipynb")):
        code = [cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]
        cells.append(sum(_seconds(cell, "iopub.execute_input", "shell.execute_reply") for cell in code))
    return median(cells)


def grade(workdir: Path, server: Postgres, workers: int, count: int, sandbox: bool = True) -> dict:
    """One batch through a fresh Dask cluster of `workers` worker processes; its figures."""
    name = f"{workers}{'' if sandbox else '-no-sandbox'}"
    course_dir = workdir / f"course-{name}"
    make_course(course_dir, server.create_database(f"bench{name}".replace("-", "_")), count)
    cluster = DaskCluster(workers=workers, folder=workdir / f"dask-{name}")
    try:
        print(
            f"grading {count} submissions with {workers} Dask worker process(es)"
            f"{'' if sandbox else ', no sandbox'} ...",
            flush=True,
        )
        start = time.monotonic()
        report = runner.autograde(
            course_dir, ASSIGNMENT, scheduler=cluster.address, progress=False, sandbox=sandbox
        )
        seconds = time.monotonic() - start
    finally:
        cluster.close()
    graded = report.graded
    assert len(graded) == count and report.sandboxed == sandbox, report.summary()
    return {
        "workers": workers,
        "sandbox": sandbox,
        "seconds": seconds,
        "throughput": count / seconds,
        "gradebook": report.gradebook_seconds / count,
        "worker": median(result.seconds for result in graded),
        "kernel start": median(result.kernel_seconds for result in graded),
        "the cells": cells_seconds(course_dir),
    }


def replay(workdir: Path, server: Postgres, graded: Path, count: int) -> float:
    """Submissions/s the single writer records alone (graded's notebooks again, into a new database)."""
    from nbgrader.api import Gradebook

    course_dir = workdir / "replay"
    make_course(course_dir, server.create_database("replay"), count)
    outcomes = []
    for folder in sorted((graded / "autograded").iterdir()):
        staged = workdir / "staged" / folder.name / ASSIGNMENT
        shutil.copytree(folder / ASSIGNMENT, staged)
        outcomes.append(Outcome(folder.name, True, staged=str(staged), notebooks=(ASSIGNMENT,)))
    config = load_config(course_dir)
    coursedir = CourseDirectory(config=config)
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        finish(gradebook, coursedir, config, ASSIGNMENT, outcomes.pop())  # connected before the clock
        start = time.monotonic()
        results = [finish(gradebook, coursedir, config, ASSIGNMENT, outcome) for outcome in outcomes]
        seconds = time.monotonic() - start
    assert all(result.status == "graded" for result in results), [result.reason for result in results]
    return len(results) / seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=200)
    args = parser.parse_args()
    logging.getLogger("traitlets").setLevel(logging.ERROR)
    missing = postgres_missing()
    if missing:
        print(f"bench-scale: {missing}", file=sys.stderr)
        return 1

    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        server = Postgres(durable=True)
        try:
            server.start()
            runs = [grade(Path(tmp), server, workers, args.submissions) for workers in (1, 2)]
            bare = grade(Path(tmp), server, 1, min(args.submissions, UNSANDBOXED), sandbox=False)
            print("recording the graded notebooks again, writers only ...", flush=True)
            alone = replay(Path(tmp), server, Path(tmp) / "course-2", args.submissions)
        finally:
            server.close()

    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"\nbench-scale: load average {load} on {os.cpu_count()} cores (other work slows it)")
    print(
        f"bench-scale: {args.submissions} submissions (1 in {BLANK_EVERY} blank, the rest correct), "
        "PostgreSQL gradebook, Dask worker processes on this machine"
    )
    for run in [*runs, bare]:
        rest = run["worker"] - run["kernel start"] - run["the cells"]
        label = f"{run['workers']} worker(s){'' if run['sandbox'] else ', no sandbox'}"
        print(
            f"  {label}: {run['seconds']:.1f} s, {run['throughput']:.2f} submissions/s; "
            f"per submission (medians): worker {run['worker']:.3f} s = "
            f"kernel start {run['kernel start']:.3f} s + "
            f"the cells {run['the cells']:.3f} s + the rest {rest:.3f} s; "
            f"gradebook {run['gradebook']:.3f} s (the single writer)"
        )
    one, two = runs
    print(f"  scaling 1 -> 2 workers: {two['throughput'] / one['throughput']:.2f}x throughput")
    print(
        f"  the sandbox: {one['worker'] - bare['worker']:+.3f} s of worker time per submission "
        f"({one['worker']:.3f} s with it, {bare['worker']:.3f} s without, 1 worker)"
    )
    print(
        f"  the single writer alone records {alone:.1f} submissions/s; at {one['worker']:.2f} s of worker "
        f"time per submission (1 worker) it keeps up with about {alone * one['worker']:.0f} workers"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
