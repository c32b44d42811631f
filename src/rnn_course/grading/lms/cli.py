"""`rnn-course grade collect|roster|deadline|extension` and `grade export --for LMS`: the LMS road."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_ASSIGNMENT = "rnn_from_scratch"


def register(step, export: argparse.ArgumentParser, plain_export, guard) -> None:
    """Add the LMS steps with grading.cli's `step` helper, and the LMS options of `export` (whose plain
    form, `plain_export`, still writes grades.csv)."""
    export.set_defaults(plain_export=plain_export)
    collect = step(
        "collect",
        run_collect,
        "map an LMS zip (Moodle, Canvas) or a folder of notebooks onto "
        "submitted/, through the roster; every file gets a row",
        assignment=False,
    )
    collect.add_argument("source", type=Path, help="the LMS's 'download all submissions' zip, or a folder")
    collect.add_argument("--assignment", default=DEFAULT_ASSIGNMENT, help="assignment name")
    roster = step(
        "roster",
        run_roster,
        "import a Moodle or Canvas participant export (CSV) into the gradebook",
        assignment=False,
    )
    roster.add_argument("action", choices=("import",), help="what to do")
    roster.add_argument("file", type=Path, help="the participant export (CSV)")
    deadline = step("deadline", run_deadline, "set the assignment's due date (nbgrader's duedate)")
    deadline.add_argument(
        "when", nargs="?", help="e.g. 2026-12-01T23:59 (c.LatePolicy.timezone) or with +01:00"
    )
    deadline.add_argument("--clear", action="store_true", help="remove the due date")
    extension = step("extension", run_extension, "give one learner more time (0 hours removes it)")
    extension.add_argument("student", help="student id")
    extension.add_argument("--hours", type=float, default=0.0, help="hours after the due date")
    extension.add_argument("--days", type=float, default=0.0, help="days after the due date")
    export.add_argument(
        "--for",
        dest="lms",
        choices=("moodle-worksheet", "moodle-gradebook", "canvas"),
        help="write the file this LMS imports (for the assignment; default rnn_from_scratch)",
    )
    export.add_argument("--canvas-id", default=None, help="the Canvas assignment's id (else from the roster)")
    export.add_argument(
        "--feedback-zip",
        action="store_true",
        help="also bundle the feedback pages as Moodle's 'multiple feedback files' zip",
    )
    export.set_defaults(run=guard("export", run_export))  # one line per error, as every step


def _fail(step: str, error: Exception) -> int:
    print(f"grade {step}: {error}", file=sys.stderr)
    return 1


def run_collect(args) -> int:
    from rnn_course.grading.lms import collect

    try:
        rows, path = collect.collect(args.course_dir, args.source, args.assignment)
    except (RuntimeError, OSError) as error:
        return _fail("collect", error)
    learners = {row.student_id for row in rows if row.status == "collected"}
    failed = [row for row in rows if row.status == "failed"]
    for row in rows:
        if row.status == "failed" or row.reason:
            print(
                f"  {row.status:9} {row.entry}"
                + (f" ({row.student_id})" if row.student_id else "")
                + f": {row.reason}"
            )
    print(
        f"collect {args.assignment}: {len(rows)} file(s), {len(rows) - len(failed)} collected for "
        f"{len(learners)} learner(s), {len(failed)} failed; report: {path}"
    )
    return 0


def run_roster(args) -> int:
    from rnn_course.grading.lms import roster

    try:
        learners = roster.import_roster(args.course_dir, args.file)
    except (RuntimeError, OSError) as error:
        return _fail("roster", error)
    print(f"roster: {len(learners)} learner(s) from {args.file} in the gradebook of {args.course_dir}")
    return 0


def run_deadline(args) -> int:
    from rnn_course.grading.lms import deadlines

    if not args.clear and not args.when:
        return _fail("deadline", RuntimeError("give a date and time (2026-12-01T23:59) or --clear"))
    try:
        due = deadlines.set_due_date(args.course_dir, args.assignment, None if args.clear else args.when)
    except (RuntimeError, OSError) as error:
        return _fail("deadline", error)
    print(f"{args.assignment}: " + (f"due {due:%Y-%m-%d %H:%M} UTC" if due else "no due date"))
    return 0


def run_extension(args) -> int:
    from rnn_course.grading.lms import deadlines

    hours = args.hours + 24 * args.days
    try:
        deadlines.grant_extension(args.course_dir, args.assignment, args.student, hours)
    except (RuntimeError, OSError) as error:
        return _fail("extension", error)
    print(f"{args.assignment}: {args.student} " + (f"has {hours:g} h more" if hours else "has no extension"))
    return 0


def run_export(args) -> int:
    from rnn_course.grading.lms import exports

    if not args.lms and not args.feedback_zip:
        return args.plain_export(args)
    assignment = args.assignment or DEFAULT_ASSIGNMENT
    try:
        written = []
        if args.lms:
            path, left_out = exports.export_for(
                args.course_dir, args.lms, assignment, args.to, args.canvas_id
            )
            written.append((path, left_out))
        if args.feedback_zip:
            written.append(exports.feedback_zip(args.course_dir, assignment))
    except (RuntimeError, OSError) as error:
        return _fail("export", error)
    from rnn_course.grading.workflow.export import pending_warning

    warning = pending_warning(args.course_dir, assignment)
    if warning:
        print(f"grade export: warning: {warning}", file=sys.stderr)
    for path, left_out in written:
        for line in left_out:
            print(f"grade export: left out {line}", file=sys.stderr)
        print(f"wrote {path}")
    return 0
