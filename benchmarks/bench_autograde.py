"""Autograde throughput: stock `nbgrader autograde` against the parallel runner, same submissions and machine.

Generates 40 submissions of the course assignment (correct, partial, wrong, one stuck in a loop, one that is
not JSON) into two fresh copies of the course, grades one copy with stock nbgrader and the other with
`rnn_course.grading.runner.run.autograde` (sandbox on, as by default), checks every auto score
matches, and prints the ratio. A third copy is graded by the runner without its sandbox, to price the
sandbox per submission.

Both copies use the course's own nbgrader_config.py, with the cell time limit lowered to CELL_TIMEOUT seconds
so that the one stuck submission does not dominate either run.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from rnn_course.grading.runner import run as runner
from tests.helpers import runner_demo
from tests.helpers.paths import ROOT

CELL_TIMEOUT = 10


def kinds_for(count: int) -> list[str]:
    """One timeout, one broken, the rest correct, partial and wrong in turn."""
    rest = ["correct", "partial", "correct", "wrong"]
    kinds = [rest[index % len(rest)] for index in range(count - 2)]
    kinds.insert(count // 3, "timeout")
    kinds.insert(2 * count // 3, "broken")
    return kinds


def prepare(workdir: Path, assignment: str, count: int) -> tuple[Path, Path, Path]:
    """Release the assignment once, write the submissions, then make three identical course copies."""
    base = runner_demo.copy_without_state(ROOT / "grader", workdir / "base")
    with open(base / "nbgrader_config.py", "a") as config:
        config.write(f"\n# benchmark only\nc.Execute.timeout = {CELL_TIMEOUT}\n")
    runner_demo.release(base, assignment)
    for index, kind in enumerate(kinds_for(count)):
        runner_demo.make_submission(base, assignment, f"learner{index:02d}_{kind}", kind)
    return tuple(shutil.copytree(base, workdir / name) for name in ("stock", "ours", "unsandboxed"))


def seccomp_cost_ms(children: int = 50) -> float:
    """The seccomp filter's cost: build and load it in forked children, as the fork server does."""
    import ctypes
    import statistics

    from rnn_course.grading.sandbox import syscalls

    costs = []
    for _ in range(children):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            ctypes.CDLL(None).prctl(38, 1, 0, 0, 0)  # no_new_privs, as in the kernel
            start = time.perf_counter()
            syscalls.lock_down()
            os.write(write, f"{time.perf_counter() - start}".encode())
            os._exit(0)
        os.close(write)
        costs.append(float(os.read(read, 64)) * 1000)
        os.close(read)
        os.waitpid(pid, 0)
    return statistics.median(costs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default="rnn_from_scratch")
    parser.add_argument("--submissions", type=int, default=40)
    parser.add_argument("--workers", type=int, default=None, help="runner workers (default: number of cores)")
    args = parser.parse_args()
    logging.getLogger("traitlets").setLevel(logging.ERROR)

    with tempfile.TemporaryDirectory(prefix="bench-autograde-") as tmp:
        stock_dir, ours_dir, bare_dir = prepare(Path(tmp), args.assignment, args.submissions)
        print(f"grading {args.submissions} submissions with stock nbgrader autograde ...", flush=True)
        stock_seconds = runner_demo.stock_autograde(stock_dir, args.assignment)
        print(f"stock: {stock_seconds:.1f} s; now the runner ...", flush=True)
        start = time.monotonic()
        report = runner.autograde(ours_dir, args.assignment, workers=args.workers, progress=True)
        ours_seconds = time.monotonic() - start
        print("and the runner without its sandbox ...", flush=True)
        start = time.monotonic()
        bare = runner.autograde(
            bare_dir, args.assignment, workers=args.workers, progress=False, sandbox=False
        )
        bare_seconds = time.monotonic() - start

        stock_grades = runner_demo.grades(stock_dir, args.assignment)
        our_grades = runner_demo.grades(ours_dir, args.assignment)
        differ = sorted(
            student
            for student in stock_grades.keys() | our_grades.keys()
            if stock_grades.get(student) != our_grades.get(student)
        )
        for student in differ:
            print(f"  differs: {student}: stock {stock_grades.get(student)} ours {our_grades.get(student)}")
        graded = [result for result in report.results if result.status == "graded"]
        per_submission = sum(result.seconds for result in graded) / max(len(graded), 1)
        bare_graded = [result for result in bare.results if result.status == "graded"]
        bare_per_submission = sum(result.seconds for result in bare_graded) / max(len(bare_graded), 1)
        print(
            f"runner: {len(graded)} graded, {len(report.failed)} failed, {report.workers} workers, "
            f"{per_submission:.2f} s of worker time per graded submission"
        )
        print(
            f"sandbox: {ours_seconds:.1f} s with it, {bare_seconds:.1f} s without (wall); "
            f"{per_submission - bare_per_submission:+.2f} s of worker time per submission"
        )
        filter_ms = seccomp_cost_ms()
        print(f"seccomp filter: {filter_ms:.2f} ms to build and load per kernel (median of 50 children)")
        verdict = "grades identical" if not differ else f"GRADES DIFFER for {len(differ)} submissions"
        print(
            f"autograde: {args.submissions} submissions, stock {stock_seconds:.1f} s, "
            f"ours {ours_seconds:.1f} s, speedup {stock_seconds / ours_seconds:.1f}x, {verdict}"
        )
        return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
