"""`rnn-course grade release|autograde|feedback|export|mistakes|similar|demo|reset|check`: instructors' steps.

A step that fails in a way the instructor can act on (a CourseError, or what the machine throws that
faults/explain.py names: a locked, damaged or full gradebook or disk) prints one line and exits 1; with
`--debug` it shows the full traceback instead, and nbgrader's and the workers' debug log. Any other
exception is a bug and keeps its traceback either way.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from rnn_course.grading.errors import CourseError

DEFAULT_COURSE = Path("grader")


def register(subparsers) -> None:
    """Add `grade` and its sub-commands to the `rnn-course` parser."""
    grade = subparsers.add_parser(
        "grade",
        help="release, autograde, feedback, export, mistakes, similar, demo, reset, check",
        description=__doc__,
    )
    steps = grade.add_subparsers(dest="step", required=True)

    def step(name: str, run, help: str, assignment: bool = True) -> argparse.ArgumentParser:
        parser = steps.add_parser(name, help=help, description=help)
        if assignment:
            parser.add_argument("assignment", nargs="?", default="rnn_from_scratch", help="assignment name")
        parser.add_argument("--course-dir", type=Path, default=DEFAULT_COURSE, help="nbgrader course folder")
        parser.add_argument("--debug", action="store_true", help="full tracebacks and debug logs on failure")
        parser.set_defaults(run=_one_line_errors(name, run))
        return parser

    step("release", run_release, "generate the student version into release/ and check it")
    autograde = step("autograde", run_autograde, "grade every submission in submitted/ (in parallel)")
    autograde.add_argument("--workers", type=int, default=None, help="parallel workers (default: cores)")
    autograde.add_argument("--student", action="append", dest="students", metavar="ID", help="only this one")
    autograde.add_argument("--scheduler", default=None, metavar="ADDRESS", help="a Dask scheduler address")
    autograde.add_argument("--force", action="store_true", help="grade again what was already graded")
    autograde.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    autograde.add_argument(
        "--no-sandbox",
        action="store_true",
        help="grade without the bubblewrap sandbox (trusted work only; reported)",
    )
    step("feedback", run_feedback, "write HTML feedback into feedback/ (hidden tests never shown)")
    export = step(
        "export",
        run_export,
        "write the grades as CSV (default: grades.csv in the course folder)",
        assignment=False,
    )
    export.add_argument("assignment", nargs="?", help=argparse.SUPPRESS)  # accepted, not needed
    export.add_argument("--to", type=Path, default=None, help="CSV file to write")
    mistakes = step("mistakes", run_mistakes, "count the graded submissions that made each known mistake")
    mistakes.add_argument("--to", type=Path, default=None, help="CSV file (default: mistakes.csv beside it)")
    mistakes.add_argument("--by-learner", action="store_true", help="list the learners under each mistake")
    similar = step("similar", run_similar, "flag pairs of submissions whose answers are near-identical")
    similar.add_argument("--threshold", type=float, default=None, help="similarity to flag (default: 0.9)")
    demo = step("demo", run_demo, "release, grade the demo submissions, feedback, export; print the grades")
    demo.add_argument("--workers", type=int, default=None, help="parallel workers (default: cores)")
    demo.add_argument("--no-sandbox", action="store_true", help="grade without the bubblewrap sandbox")
    reset = step(
        "reset",
        run_reset,
        "remove the demo students (or --student ID) from the gradebook, "
        "submitted/, autograded/, feedback/ and grades.csv",
        assignment=False,
    )
    reset.add_argument(
        "--student",
        action="append",
        dest="students",
        metavar="ID",
        help="remove this student instead of the demo's (repeatable)",
    )
    step(
        "check",
        run_check,
        "check the gradebook, the folders, the releases and the sandbox; print each problem with its fix",
        assignment=False,
    )

    from rnn_course.grading.lms import cli as lms_cli  # collect, roster, deadline, extension, export --for

    lms_cli.register(step, export, run_export, _one_line_errors)


def _one_line_errors(step: str, run):
    """`run`, with the package's own errors printed as one line (unless --debug)."""

    def guarded(args) -> int:
        if args.debug:
            log = logging.getLogger("traitlets")
            log.setLevel(logging.DEBUG)
            log.addHandler(logging.StreamHandler(sys.stderr))
            return run(args)
        logging.getLogger("traitlets").setLevel(logging.ERROR)
        from sqlalchemy.exc import DBAPIError

        from rnn_course.grading.faults.explain import explain

        try:
            return run(args)
        except CourseError as error:
            return _fail(step, error)
        except Exception as error:  # a locked, damaged or full gradebook or disk: faults/explain.py
            known = explain(error, args.course_dir, step)
            if known is not None:
                return _fail(step, known)
            if isinstance(error, DBAPIError):  # another fault of the gradebook: say which, not the SQL
                why = str(error.orig).splitlines()[0] if error.orig else type(error).__name__
                return _fail(step, f"the gradebook could not be used ({why}); --debug shows the traceback")
            if isinstance(error, OSError):
                where = f" ({error.filename})" if error.filename else ""
                return _fail(step, f"{error.strerror or error}{where}; --debug shows the traceback")
            raise

    return guarded


def _fail(step: str, error: Exception | str) -> int:
    print(f"grade {step}: {error}", file=sys.stderr)
    return 1


def _warn_pending(step: str, args) -> None:
    from rnn_course.grading.workflow.export import pending_warning

    warning = pending_warning(args.course_dir, getattr(args, "assignment", None))
    if warning:
        print(f"grade {step}: warning: {warning}", file=sys.stderr)


def run_release(args) -> int:
    from rnn_course.grading.workflow.release import release

    problems = release(args.course_dir, args.assignment)
    for problem in problems:
        print(f"release problem: {problem}", file=sys.stderr)
    if not problems:
        print(
            f"released {args.assignment} into {args.course_dir / 'release' / args.assignment}: "
            "no solution, no hidden test, every test fails on the blank notebook"
        )
    return 1 if problems else 0


def run_autograde(args) -> int:
    from rnn_course.grading.runner.report import INTERRUPTED
    from rnn_course.grading.runner.run import Interrupted, autograde

    try:
        report = autograde(
            args.course_dir,
            args.assignment,
            workers=args.workers,
            students=args.students,
            scheduler=args.scheduler,
            force=args.force,
            progress=not args.quiet,
            sandbox=not args.no_sandbox,
        )
    except Interrupted as stop:
        report = stop.report
        left = sum(result.reason == INTERRUPTED for result in report.results)
        print(
            f"grade autograde: interrupted (Ctrl-C); {len(report.graded)} graded and recorded, {left} not "
            f"graded (run it again to grade them); report: {report.path}",
            file=sys.stderr,
        )
        return 130
    except KeyboardInterrupt:
        print(
            "grade autograde: interrupted (Ctrl-C) before any submission was graded; nothing was recorded",
            file=sys.stderr,
        )
        return 130
    if not args.quiet:
        print(f"report: {report.path}")
    return 1 if report.failed else 0


def run_feedback(args) -> int:
    from rnn_course.grading.workflow.feedback import feedback

    pages = feedback(args.course_dir, args.assignment)
    _warn_pending("feedback", args)
    print(f"wrote {len(pages)} feedback page(s) under {args.course_dir / 'feedback'}")
    return 0


def run_export(args) -> int:
    from rnn_course.grading.workflow.export import export

    path = export(args.course_dir, args.to)
    _warn_pending("export", args)
    print(f"wrote {path}")
    return 0


def run_mistakes(args) -> int:
    from rnn_course.grading.reports import mistake_report

    report = mistake_report.count(args.course_dir, args.assignment)
    if not report.students:
        from rnn_course.grading.config import course_path, load_config

        where = course_path(load_config(args.course_dir), "autograded")
        return _fail("mistakes", f"no autograded {args.assignment} in {where}; autograde first")
    print(mistake_report.format_report(report, by_learner=args.by_learner))
    print(f"wrote {mistake_report.write_csv(report, args.to or args.course_dir / 'mistakes.csv')}")
    return 0


def run_similar(args) -> int:
    from rnn_course.grading.reports import similar

    learners = similar.collect(args.course_dir, args.assignment)
    submissions = len(learners) - (similar.MODEL_ANSWER in learners)
    if len(learners) < 2:  # nothing to compare
        from rnn_course.grading.config import course_path, load_config

        where = course_path(load_config(args.course_dir), "submitted")
        return _fail("similar", f"no submissions of {args.assignment} in {where}")
    pairs = similar.similar_pairs(learners, args.threshold or similar.THRESHOLD)
    print(similar.format_pairs(pairs, submissions))
    return 0


def run_demo(args) -> int:
    from rnn_course.grading.workflow import demo

    rows = demo.demo(args.course_dir, args.assignment, workers=args.workers, sandbox=not args.no_sandbox)
    print(demo.format_table(rows))
    wrong = [row.student for row in rows if not row.ok]
    if wrong:
        print(
            f"demo: {len(wrong)} score(s) differ from {demo.EXPECTED_SCORES}: {', '.join(wrong)}",
            file=sys.stderr,
        )
        return 1
    print(
        f"demo: all {len(rows)} scores as expected; feedback in {args.course_dir / 'feedback'}, "
        f"grades in {args.course_dir / 'grades.csv'}"
    )
    return 0


def run_reset(args) -> int:
    from rnn_course.grading.workflow.reset import reset

    removed = reset(args.course_dir, args.students)
    names = ", ".join(removed) or "none were there"
    print(f"removed {len(removed)} student(s) from {args.course_dir}: {names}")
    return 0


def run_check(args) -> int:
    from rnn_course.grading.workflow.check import check

    problems = check(args.course_dir)
    for problem in problems:
        print(f"grade check: {problem}", file=sys.stderr)
    if not problems:
        print(f"{args.course_dir}: the gradebook, the folders, the releases and the sandbox are sound")
    return 1 if problems else 0
