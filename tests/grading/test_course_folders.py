"""A course that renames its folders and its markers in nbgrader_config.py is released, graded and given
feedback in the folders it names (nbgrader's CourseDirectory), with the markers it names (nbgrader's
ClearSolutions / ClearHiddenTests delimiters)."""

from pathlib import Path

import nbformat

from rnn_course.grading.runner.run import autograde
from rnn_course.grading.workflow.feedback import feedback
from rnn_course.grading.workflow.release import release
from tests.helpers import runner_demo

FOLDERS = {
    "source": "masters",
    "release": "handout",
    "submitted": "handins",
    "autograded": "graded",
    "feedback": "comments",
}
MARKERS = {
    "### BEGIN SOLUTION": "# <<ANSWER>>",
    "### END SOLUTION": "# <</ANSWER>>",
    "### BEGIN HIDDEN TESTS": "# <<SECRET>>",
    "### END HIDDEN TESTS": "# <</SECRET>>",
}
CONFIG = (
    "".join(f'c.CourseDirectory.{step}_directory = "{name}"\n' for step, name in FOLDERS.items())
    + """
c.ClearSolutions.begin_solution_delimeter = "<<ANSWER>>"
c.ClearSolutions.end_solution_delimeter = "<</ANSWER>>"
c.ClearHiddenTests.begin_test_delimeter = "<<SECRET>>"
c.ClearHiddenTests.end_test_delimeter = "<</SECRET>>"
"""
    + runner_demo.FEEDBACK_CONFIG
)


def _renamed(text: str) -> str:
    for old, new in MARKERS.items():
        text = text.replace(old, new)
    return text


def test_a_course_with_renamed_folders_and_markers(tmp_path):
    course = Path(tmp_path) / "course"
    (course / "masters" / "tiny").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(
        runner_demo.TINY_CONFIG.format(cell_timeout=10, notebook_timeout=120) + CONFIG
    )
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for kind, nbgrader, text in runner_demo.TINY_SOURCE:
        text = _renamed(text)
        cell = nbformat.v4.new_markdown_cell(text) if kind == "markdown" else nbformat.v4.new_code_cell(text)
        if nbgrader:
            cell.metadata["nbgrader"] = {"schema_version": 3, **nbgrader}
        notebook.cells.append(cell)
    nbformat.write(notebook, course / "masters" / "tiny" / "tiny.ipynb")

    assert release(course, "tiny") == []
    handout = (course / "handout" / "tiny" / "tiny.ipynb").read_text()
    assert "<<ANSWER>>" not in handout and "<<SECRET>>" not in handout and "-2.0" not in handout

    submission = nbformat.read(course / "handout" / "tiny" / "tiny.ipynb", as_version=4)
    answers = {"double": "def double(x):\n    return 2 * x", "square": "def square(x):\n    return x * x"}
    for cell in submission.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    (course / "handins" / "ada" / "tiny").mkdir(parents=True)
    nbformat.write(submission, course / "handins" / "ada" / "tiny" / "tiny.ipynb")

    report = autograde(course, "tiny", workers=1, progress=False)
    assert [(result.student, result.score, result.max_score) for result in report.results] == [("ada", 5, 5)]
    assert (course / "graded" / "ada" / "tiny" / "tiny.ipynb").exists()

    pages = feedback(course, "tiny")
    assert pages == [course / "comments" / "ada" / "tiny" / "tiny.html"]
    page = pages[0].read_text()
    assert "-2.0" not in page and "<<SECRET>>" not in page  # the custom hidden region is hidden
    for default in ("source", "release", "submitted", "autograded", "feedback"):
        assert not (course / default).exists(), default
