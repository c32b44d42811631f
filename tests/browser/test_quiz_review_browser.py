"""quiz("review") in a real JupyterLab: the due question is asked, and a right answer is marked right."""

import os
import time

import nbformat
import pytest

from tests.helpers import browser as harness
from tests.helpers.browser import NOTEBOOK

pytestmark = pytest.mark.browser

if harness.browser_missing() and os.environ.get(harness.REQUIRE_ENV) != "1":
    pytest.skip(f"browser tier skipped: {harness.browser_missing()}", allow_module_level=True)  # one line

UPDATE_MS = 30_000
DUE_ITEM = "shapes-unbatched"  # missed two days ago, so it is due


@pytest.fixture
def review_notebook(lab):
    """A one-cell notebook that opens the review, and a progress record that makes one item due."""
    from rnn_course.quiz.progress import Store

    Store(lab.state_dir / "quiz-progress").record(
        learner="learner_review", set_name="lesson2", attempt=1, item_id=DUE_ITEM, topic="shapes",
        correct=False, retry=False, misconceptions=[], time=time.time() - 2 * 86400,
    )  # fmt: skip
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(
            'from rnn_course.quiz import quiz\nw = quiz("review", learner="learner_review")'
        )
    ]
    nbformat.write(notebook, lab.root_dir / "review_check.ipynb")
    return "review_check.ipynb"


def test_review_asks_the_due_item_and_marks_a_right_answer(executed_notebook, review_notebook):
    from rnn_course.quiz.bank import load_bank
    from rnn_course.quiz.engine import Session

    page = executed_notebook(review_notebook)
    assert not harness.error_outputs(page), harness.error_outputs(page)
    quiz = page.locator(f"{NOTEBOOK} .rnn-quiz").first
    quiz.wait_for()
    assert "Spaced review" in quiz.inner_text()
    question = Session(
        load_bank(), "review", learner="learner_review", attempt=1, item_ids=[DUE_ITEM]
    ).current
    harness.wait_until(
        page, "([el, stem]) => el.innerText.includes(stem)", [quiz.element_handle(), "unbatched sequence"],
        "the review does not show the due question", UPDATE_MS,
    )  # fmt: skip
    quiz.locator(".rnn-quiz-choices input").nth(min(question.correct_indices)).click()
    quiz.locator("button.rnn-quiz-check").click()
    harness.wait_until(
        page, "el => el.innerText.includes('Correct')", quiz.locator(".rnn-quiz-feedback").element_handle(),
        "no 'Correct' feedback after the right choice in the review", UPDATE_MS,
    )  # fmt: skip
