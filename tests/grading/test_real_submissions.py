"""Code in the styles learners really write, graded by the real pipeline: each score and each diagnosis exact.

A flaw costs the points of the properties it breaks, and the feedback names it only where it explains every
result of the cell (or says only what was observed).
"""

import nbformat
import pytest

from rnn_course.grading.judge import mistakes
from rnn_course.grading.reports import mistake_report
from rnn_course.grading.runner.run import autograde
from rnn_course.grading.workflow import feedback_pages
from rnn_course.grading.workflow.feedback import feedback, visible_text
from rnn_course.grading.workflow.release import release
from tests.helpers import chromium
from tests.helpers import mistake_submissions as ms
from tests.helpers import real_submissions as r
from tests.helpers import submissions as s
from tests.helpers.course import copy_course

pytestmark = [pytest.mark.grading, pytest.mark.slow]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course_dir = copy_course(tmp_path_factory.mktemp("real"))
    assert release(course_dir, s.ASSIGNMENT) == []
    for student, (changes, _, _) in r.REAL.items():
        s.write(s.build(ms.answers(changes)), course_dir, student)
    report = autograde(course_dir, s.ASSIGNMENT, workers=2, progress=False)
    return course_dir, {result.student: result for result in report.results}


def messages(course_dir, student) -> dict[str, str]:
    path = course_dir / "autograded" / student / s.ASSIGNMENT / f"{s.ASSIGNMENT}.ipynb"
    return {
        s.grade_id(cell): mistake_report.ANSI.sub("", output.evalue)
        for cell in nbformat.read(path, as_version=4).cells
        for output in cell.get("outputs", [])
        if output.get("ename") == "GradingError"
    }


@pytest.mark.parametrize("student", r.REAL, ids=list(r.REAL))
def test_each_style_gets_its_exact_score_and_only_true_diagnoses(graded, student):
    course_dir, results = graded
    _, score, named = r.REAL[student]
    assert results[student].status == "graded" and results[student].score == score, results[student].reason
    found = {
        key
        for message in messages(course_dir, student).values()
        for key, mistake in mistakes.NAMED.items()
        if f"{mistakes.MARK}{mistake.name}." in message
    }
    assert found == named


def test_the_textbook_rnn_keeps_the_points_of_what_it_gets_right(graded):
    course_dir, _ = graded
    failing = set(messages(course_dir, "r_textbook_one_bias"))
    assert {
        "test_rnn_cell_no_bias",
        "test_rnn_forward_no_bias",
        "test_my_rnn_one_layer",
        "test_my_rnn_bidirectional",
        "test_my_rnn_packed",
    }.isdisjoint(failing)
    assert (
        "Mistake: one bias vector instead of bias_ih and bias_hh."
        in messages(course_dir, "r_textbook_one_bias")["test_my_rnn_parameters"]
    )


def test_the_words_say_what_the_code_does(graded):
    course_dir, _ = graded
    tiny = messages(course_dir, "r_tiny_init")["test_my_rnn_parameters"]
    assert "far smaller than U(-0.5, 0.5): the largest is 0.0" in tiny
    relu = messages(course_dir, "r_always_relu")
    assert "Mistake: relu is applied where `nonlinearity` is 'tanh'." in relu["test_rnn_cell"]
    assert "swapped" not in " ".join(relu.values())  # it never applies tanh: no swap is claimed
    float32 = messages(course_dir, "r_float32_state")["test_rnn_forward_no_h0"]
    assert "float != double" in float32 and "`x.new_zeros(...)`" in float32
    assert set(messages(course_dir, "r_in_place_hx")) == {"test_my_rnn_one_layer"}  # one property, one point
    direction = messages(course_dir, "r_one_direction_loop")["test_my_rnn_parameters_bidirectional"]
    assert "Mistake: bidirectional is ignored." in direction
    names = messages(course_dir, "r_parameter_list")
    assert set(names) == {"test_my_rnn_parameters", "test_my_rnn_parameters_bidirectional"}


def test_the_feedback_page_wraps_its_messages_and_links_the_lesson(graded, tmp_path):
    chromium.require()
    course_dir, _ = graded
    page = course_dir / "feedback" / "r_one_direction_loop" / s.ASSIGNMENT / f"{s.ASSIGNMENT}.html"
    config = course_dir / "nbgrader_config.py"
    plain = config.read_text()
    config.write_text(plain + '\nc.FeedbackPages.lesson_url = "https://course.example.org/notebooks/"\n')
    try:
        feedback(course_dir, s.ASSIGNMENT)
    finally:
        config.write_text(plain)
    shown = chromium.layout(page.read_text(), tmp_path)
    assert shown["messages"] >= 3 and shown["cut_off"] == 0, shown
    bidirectional = mistakes.BY_KEY["bidirectional_ignored"]
    assert (
        f"https://course.example.org/notebooks/02_shapes.html#{mistakes.anchor(bidirectional.section)}"
        in shown["links"]
    ), shown
    text = visible_text(page.read_text())
    assert "Test cell" not in text and "The backward direction: bidirectional, one and two layers" in text
    unwrapped = page.read_text().replace(feedback_pages.WRAP_STYLE, "")  # the same page as nbgrader wrote it
    assert chromium.layout(unwrapped, tmp_path)["cut_off"] >= 1  # so the check above can fail


def test_a_page_without_a_lesson_url_names_the_lesson(graded):
    course_dir, _ = graded
    feedback(course_dir, s.ASSIGNMENT)
    page = course_dir / "feedback" / "r_tiny_init" / s.ASSIGNMENT / f"{s.ASSIGNMENT}.html"
    text = visible_text(page.read_text())
    assert "Lesson: 01_rnn_syntax, section \u201c3. Three constructions and their parameters\u201d" in text
    assert "notebooks/01_rnn_syntax.ipynb" not in text
