"""Feedback: HTML pages for every graded submission (hidden tests never shown), and for every failed one."""

from __future__ import annotations

import copy
import html
import os
import re
import shutil
from pathlib import Path

import nbformat

from rnn_course.grading import atomic
from rnn_course.grading.config import FeedbackPages, course_path, load_config, student_folders
from rnn_course.grading.errors import WorkflowError
from rnn_course.grading.faults import backups, messages
from rnn_course.grading.faults.explain import explained
from rnn_course.grading.runner.report import RUNS_DIR, Status, read_status
from rnn_course.grading.steps.regions import Markers
from rnn_course.grading.workflow import feedback_pages, release_check


def nbgrader_api(course_dir: Path, config=None):
    """nbgrader's API on the course (or on `config`, the course's settings changed)."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    config = config or load_config(course_dir)
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def _raise_on_failure(result: dict, what: str, writes_to: Path) -> None:
    if not result.get("success"):
        said = f"{result.get('error')} {result.get('log')}"
        if "no space left on device" in said.lower() or "[errno 28]" in said.lower():
            raise messages.disk_full(
                writes_to,
                "nothing was half-written: free some space and run `rnn-course grade feedback` again",
            )
        text = (result.get("error") or result.get("log") or "").strip().splitlines()
        why = [line for line in text if line.strip() and "see the above traceback" not in line]
        raise WorkflowError(f"{what} failed: {why[-1].strip() if why else 'no reason given'}")


@explained("feedback")
def feedback(course_dir: Path, assignment: str) -> list[Path]:
    """HTML feedback for every autograded submission (polished for the learner, see feedback_pages.py;
    refusing one that shows hidden test code), and a page that says why for every submission that could not
    be graded.

    nbgrader writes the pages into a staging folder, where they are polished and checked; each then replaces
    its old page in one rename, so a failure part-way (a full disk) leaves the old page, never a truncated
    one."""
    config = load_config(course_dir)
    root = Path(config.CourseDirectory.root)
    final = course_path(config, "feedback")
    staging = root / RUNS_DIR / "feedback-staging"
    staged = copy.deepcopy(config)
    staged.CourseDirectory.feedback_directory = os.path.relpath(staging, root)
    api = nbgrader_api(course_dir, staged)
    backups.require_sound(api.coursedir.db_url, root)
    source_dir = course_path(config, "source", ".", assignment)
    shutil.rmtree(staging, ignore_errors=True)
    try:
        _raise_on_failure(api.generate_feedback(assignment, force=True), "generate_feedback", final)
        sources = [nbformat.read(path, as_version=4) for path in source_dir.glob("*.ipynb")]
        markers = Markers.from_config(config)
        hidden = [line for source in sources for line in release_check.hidden_test_lines(source, markers)]
        titles = {
            cell: title for source in sources for cell, title in feedback_pages.cell_titles(source).items()
        }
        settings = FeedbackPages(config=config)
        for folder in student_folders(staged, "feedback", assignment):
            for page in sorted(folder.glob("*.html")):
                page.write_text(feedback_pages.polish(page.read_text(), titles, settings))
                leaked = leaked_lines(page.read_text(), hidden)
                if leaked:
                    shown = final / page.relative_to(staging)
                    shown.unlink(missing_ok=True)
                    raise WorkflowError(f"{shown} showed hidden test code ({leaked[0]!r}); it was removed")
        atomic.move_tree(staging, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    pages = [
        page
        for folder in student_folders(config, "feedback", assignment)
        for page in sorted(folder.glob("*.html"))
    ]
    names = [path.stem for path in sorted(source_dir.glob("*.ipynb"))]
    return pages + not_graded_pages(course_dir, assignment, names)


NOT_GRADED = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{assignment}: not graded</title></head>
<body><h1>{assignment}: your submission could not be graded</h1>
<p>{reason}.</p>
<p>Fix this and submit again; nothing of this submission was scored.</p></body></html>
"""


def not_graded_pages(course_dir: Path, assignment: str, notebooks: list[str]) -> list[Path]:
    """A short page, where a learner looks for feedback, for each submission that failed before grading."""
    pages = []
    config = load_config(course_dir)
    for student, last in sorted(read_status(course_dir, assignment).items()):
        if last.get("status") != Status.FAILED:
            continue
        folder = course_path(config, "feedback", student, assignment)
        folder.mkdir(parents=True, exist_ok=True)
        reason = feedback_pages.inline_markdown(last.get("reason", ""))
        text = NOT_GRADED.format(assignment=html.escape(assignment), reason=reason)
        for name in notebooks:
            atomic.write_text(folder / f"{name}.html", text)
            pages.append(folder / f"{name}.html")
    return pages


def visible_text(page: str) -> str:
    """What a reader of an HTML page sees: no tags, entities decoded, whitespace collapsed."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", page)).split())


def leaked_lines(page: str, lines: list[str]) -> list[str]:
    text = visible_text(page)
    return [line for line in lines if " ".join(line.split()) in text]
