"""Feedback pages a learner reads: messages that wrap, the lesson as a link, cells named by what they test.

nbgrader writes each page; `polish` then rewrites it in place:
- error messages wrap at the page's edge instead of running off it in a `<pre>` line;
- "Lesson: notebooks/02_shapes.ipynb#5...." becomes a link to the lesson where the course publishes it
  (`c.FeedbackPages.lesson_url`), or, without one, the lesson's and section's names;
- the summary names each test cell by its first comment ("relu: one step ...") instead of "Test cell".
"""

from __future__ import annotations

import html
import re

from rnn_course.grading.config import FeedbackPages
from rnn_course.grading.judge import mistakes
from rnn_course.grading.steps.cells import grade_id, is_test_cell

WRAP_STYLE = """<style type="text/css">
/* rnn-course: messages wrap at the page's edge */
.output_error pre, .output_stderr pre, .output_text pre, .jp-OutputArea-output pre {
  white-space: pre-wrap; overflow-wrap: anywhere; }
</style>
"""


def lesson(mistake: mistakes.Mistake, settings: FeedbackPages) -> str:
    """The lesson of a mistake as HTML: a link where the course is published, else its names."""
    stem = mistake.notebook.removesuffix(".ipynb")
    section = html.escape(mistake.section.replace("`", ""))
    if not settings.lesson_url:
        return f"Lesson: {html.escape(stem)}, section \u201c{section}\u201d"
    page = f"{settings.lesson_url.rstrip('/')}/{stem}{settings.lesson_suffix}"
    url = f"{page}#{mistakes.anchor(mistake.section)}"
    return f'Lesson: <a href="{html.escape(url, quote=True)}">{section}</a> ({html.escape(stem)})'


def cell_titles(source_notebook) -> dict[str, str]:
    """Each test cell's grade id -> what it tests: its first comment line, without `#`."""
    titles = {}
    for cell in source_notebook.cells:
        if is_test_cell(cell) and cell.source.lstrip().startswith("#"):
            first = cell.source.lstrip().splitlines()[0].lstrip("#").strip()
            titles[grade_id(cell)] = first.rstrip(".")
    return titles


def polish(page: str, titles: dict[str, str], settings: FeedbackPages) -> str:
    """The page with wrapping messages, lesson links and named test cells."""
    if WRAP_STYLE not in page:
        page = page.replace("</head>", WRAP_STYLE + "</head>", 1)
    for mistake in mistakes.NAMED.values():
        for written in {html.escape(mistake.link), html.escape(mistake.link, quote=False)}:
            page = page.replace(f"Lesson: {written}", lesson(mistake, settings))
    for cell, title in titles.items():
        named = html.escape(title).replace("\\", "\\\\")  # a replacement string: backslashes doubled
        page = re.sub(rf'(<a href="#{re.escape(cell)}">)Test cell(</a>)', rf"\g<1>{named}\g<2>", page)
    return page


def inline_markdown(text: str) -> str:
    """A one-line reason as HTML: escaped, with `code` spans rendered (nothing else is markup)."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))
