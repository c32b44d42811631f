"""The workers: a process pool (or a Dask cluster's), each grading task yielded as it completes."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os

from rnn_course.grading import _compat
from rnn_course.grading.runner.worker import Outcome, Task, grade_in_worker, init_worker


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _make_executor(
    workers: int, scheduler: str | None, sandboxed: bool, course_dir: str
) -> tuple[concurrent.futures.Executor, list]:
    """A concurrent.futures Executor (local processes, or a Dask cluster's) and what to close after it.

    Local workers are forked from this process (which has already imported nbgrader) and each starts its
    warm, sandboxed kernel host at once; Dask workers each start theirs on first use.
    """
    if scheduler:
        from distributed import Client

        client = Client(scheduler)
        return client.get_executor(pure=False), [client]
    pool = concurrent.futures.ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=init_worker,
        initargs=(sandboxed, course_dir),
    )
    return pool, []


def run_tasks(tasks: list[Task], workers: int, scheduler: str | None, sandboxed: bool, course_dir: str):
    """Yield each task's Outcome as it completes. Tasks lost with a dead worker get one more try."""
    for attempt in range(2):
        if not tasks:
            return
        executor, to_close = _make_executor(min(workers, len(tasks)), scheduler, sandboxed, course_dir)
        futures = {executor.submit(grade_in_worker, task): task for task in tasks}
        lost, interrupted = [], False
        try:
            for future in concurrent.futures.as_completed(futures):
                try:
                    yield future.result()  # grade_in_worker never raises: an error here is a lost worker
                except Exception as error:
                    if attempt == 0:
                        lost.append(futures[future])
                    else:
                        reason = f"worker lost: {type(error).__name__}: {error}"
                        yield Outcome(student=futures[future].student, ok=False, reason=reason)
        except (KeyboardInterrupt, GeneratorExit):  # Ctrl-C: don't wait for the submissions in flight
            interrupted = True
            raise
        finally:
            if interrupted and isinstance(executor, concurrent.futures.ProcessPoolExecutor):
                # Stop the workers; the pool then fails every pending future itself. Cancelling them first
                # would make Python 3.11's pool print an InvalidStateError traceback as it does so.
                for process in _compat.pool_processes(executor):
                    process.terminate()
            else:
                for future in futures:  # only left undone if the run itself was interrupted
                    future.cancel()
            executor.shutdown(wait=True)
            for thing in to_close:
                thing.close()
        tasks = lost
