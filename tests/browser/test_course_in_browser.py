"""The course in a real browser: lessons run clean, widgets react, the quiz scores, Validate is there."""

import getpass
import os

import nbformat
import pytest

from tests.browser import harness
from tests.browser.harness import NOTEBOOK
from tests.conftest import NOTEBOOKS

pytestmark = pytest.mark.browser

if harness.browser_missing() and os.environ.get(harness.REQUIRE_ENV) != "1":
    pytest.skip(f"browser tier skipped: {harness.browser_missing()}", allow_module_level=True)  # one line

UPDATE_MS = 30_000  # how long a widget may take to answer a key press on a busy machine


def code_cells_to_run(path) -> int:
    notebook = nbformat.read(path, as_version=4)
    return sum(1 for cell in notebook.cells if cell.cell_type == "code" and cell.source.strip())


def slider_value(handle) -> int:
    return int(float(handle.get_attribute("aria-valuenow")))


def step_key(handle) -> str:
    """ArrowRight, or ArrowLeft when the slider is already at its maximum."""
    at_max = slider_value(handle) == int(float(handle.get_attribute("aria-valuemax")))
    return "ArrowLeft" if at_max else "ArrowRight"


NEW_SRC = "([img, src]) => img.getAttribute('src') && img.getAttribute('src') !== src"


def assert_no_traceback(page):
    errors = harness.error_outputs(page)
    assert not errors, "error output in the notebook:\n" + "\n---\n".join(errors)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_in_jupyterlab_without_error_output(path, executed_notebook):
    page = executed_notebook(f"notebooks/{path.name}")
    assert_no_traceback(page)
    assert harness.executed_prompt_count(page) == code_cells_to_run(path), "not every code cell ran"
    broken = page.locator(f"{NOTEBOOK} .jp-OutputArea-output", has_text="Error displaying widget")
    assert broken.count() == 0, broken.first.inner_text()


def test_hidden_state_step_slider_moved_with_the_keyboard_updates_readout_and_plot(executed_notebook):
    page = executed_notebook("notebooks/03_hidden_state.ipynb")
    assert_no_traceback(page)  # a failed cell would hide the widget: say so first
    explorer = page.locator(f"{NOTEBOOK} .rnn-hidden-explorer").first
    handle = explorer.locator(".rnn-hidden-step .noUi-handle")
    readout = explorer.locator(".rnn-hidden-readout")
    plot = explorer.locator("img.rnn-hidden-plot")
    explorer.scroll_into_view_if_needed()
    plot.wait_for()
    step = slider_value(handle)
    before_text, before_src = readout.inner_text(), plot.get_attribute("src")
    assert before_src and f"t = {step}" in before_text

    key = step_key(handle)
    handle.focus()
    page.keyboard.press(key)

    new_step = step + (1 if key == "ArrowRight" else -1)
    assert slider_value(handle) == new_step, f"{key} did not move the time-step slider from {step}"
    harness.wait_until(
        page, NEW_SRC, [plot.element_handle(), before_src],
        f"the hidden-state plot image did not change after {key} moved the step {step} -> {new_step}",
        UPDATE_MS,
    )  # fmt: skip
    harness.wait_until(
        page, "([el, text]) => el.innerText !== text", [readout.element_handle(), before_text],
        f"the readout did not change after {key} moved the step {step} -> {new_step}", UPDATE_MS,
    )  # fmt: skip
    assert f"t = {new_step}" in readout.inner_text()
    assert page.evaluate("img => img.complete && img.naturalWidth > 0", plot.element_handle())
    assert_no_traceback(page)


def test_shape_explorer_explains_a_feature_size_that_differs_from_input_size(executed_notebook):
    page = executed_notebook("notebooks/02_shapes.ipynb")
    assert_no_traceback(page)  # a failed cell would hide the widget: say so first
    explorer = page.locator(f"{NOTEBOOK} .rnn-shape-explorer").first
    explorer.scroll_into_view_if_needed()
    error = explorer.locator(".rnn-shape-error")
    readout = explorer.locator(".rnn-shape-readout")
    feature = explorer.locator(".rnn-shape-feature-size .noUi-handle")
    input_size = slider_value(explorer.locator(".rnn-shape-input-size .noUi-handle"))
    assert slider_value(feature) == input_size, "the explorer should start from a valid configuration"
    assert error.inner_text().strip() == ""
    assert "output" in readout.inner_text()

    key = step_key(feature)
    wrong = input_size + (1 if key == "ArrowRight" else -1)
    feature.focus()
    page.keyboard.press(key)

    expected = f"Expected {input_size}, got {wrong}"
    harness.wait_until(
        page, "([el, text]) => el.innerText.includes(text)", [error.element_handle(), expected],
        f"feature size {wrong} with input_size {input_size}: no explanation saying '{expected}'", UPDATE_MS,
    )  # fmt: skip
    explanation = error.inner_text()
    assert "input_size" in explanation and len(explanation.splitlines()) >= 2, explanation
    assert not harness.TRACEBACK.search(explanation.replace("RuntimeError", "")), explanation
    assert_no_traceback(page)

    # Back to a valid setting: the explanation goes away again.
    feature.focus()
    page.keyboard.press("ArrowRight" if key == "ArrowLeft" else "ArrowLeft")
    harness.wait_until(
        page, "el => el.innerText.trim() === ''", error.element_handle(),
        "the explanation stayed after the feature size matched input_size again", UPDATE_MS,
    )  # fmt: skip


def test_packing_explorer_repacks_when_a_length_changes(executed_notebook):
    import torch
    from torch.nn.utils.rnn import pack_padded_sequence

    page = executed_notebook("notebooks/04_packing.ipynb")
    assert_no_traceback(page)
    explorer = page.locator(f"{NOTEBOOK} .rnn-packing-explorer").first
    explorer.scroll_into_view_if_needed()
    handles = explorer.locator(".widget-slider .noUi-handle")
    plot = explorer.locator("img.rnn-packing-plot")
    plot.wait_for()
    lengths = [slider_value(handles.nth(i)) for i in range(handles.count())]
    before_src = plot.get_attribute("src")

    key = step_key(handles.first)
    handles.first.focus()
    page.keyboard.press(key)
    lengths[0] += 1 if key == "ArrowRight" else -1

    padded = torch.zeros(len(lengths), max(lengths))  # (N, L_max): only the lengths matter here
    packed = pack_padded_sequence(padded, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
    expected = f"batch_sizes={packed.batch_sizes.tolist()}"
    harness.wait_until(
        page, "([el, text]) => el.innerText.includes(text)", [explorer.element_handle(), expected],
        f"lengths {lengths}: the explorer does not show PyTorch's {expected}", UPDATE_MS,
    )  # fmt: skip
    harness.wait_until(
        page, NEW_SRC, [plot.element_handle(), before_src],
        f"lengths {lengths}: the diagram did not change", UPDATE_MS,
    )  # fmt: skip
    assert_no_traceback(page)


def practice_session():
    """The same session the notebook's quiz("practice") draws: same learner, first attempt, real engine."""
    from rnn_course.quiz.bank import load_bank
    from rnn_course.quiz.engine import Session

    try:
        learner = getpass.getuser()
    except Exception:  # mirrors the quiz's own fallback
        learner = "learner"
    return Session(load_bank(), "practice", learner=learner, attempt=1)


def choose(quiz, index: int) -> None:
    """Pick one choice (a radio button, or a checkbox on a select-all question), as a learner clicks it."""
    quiz.locator(".rnn-quiz-choices input").nth(index).click()


def shown_labels(quiz) -> list[str]:
    texts = quiz.locator(".rnn-quiz-choices label").all_inner_texts()
    return [" ".join(text.split()) for text in texts if text.strip()]


def plain(labels: list[str]) -> list[str]:
    return [" ".join(label.split()) for label in labels]


def wait_for_question(page, quiz, question) -> None:
    """Wait until the widget shows this question's choices, in the engine's order."""
    for _ in range(UPDATE_MS // 100):
        if shown_labels(quiz) == plain(question.labels()):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"the widget shows {shown_labels(quiz)}, the engine {plain(question.labels())}")


def wait_for_score(page, score, text: str, why: str) -> None:
    harness.wait_until(
        page, "([el, text]) => el.innerText.trim() === text", [score.element_handle(), text],
        f"the score does not read {text!r} {why}", UPDATE_MS,
    )  # fmt: skip


def test_practice_quiz_gives_feedback_and_scores_first_tries(executed_notebook):
    page = executed_notebook("notebooks/06_practice.ipynb")
    assert_no_traceback(page)  # a failed cell would hide the widget: say so first
    quiz = page.locator(f"{NOTEBOOK} .rnn-quiz").first
    quiz.scroll_into_view_if_needed()
    feedback, score = quiz.locator(".rnn-quiz-feedback"), quiz.locator(".rnn-quiz-score")
    session = practice_session()
    total = session.total

    first = session.current
    wait_for_question(page, quiz, first)
    wait_for_score(page, score, f"Score: 0 / {total}", "before any answer")
    wrong = min(set(range(len(first.options))) - first.correct_indices)
    choose(quiz, wrong)
    quiz.locator("button.rnn-quiz-check").click()
    harness.wait_until(
        page, "el => el.innerText.includes('Not quite')", feedback.element_handle(),
        f"no 'Not quite' feedback after checking the wrong choice {first.labels()[wrong]!r}", UPDATE_MS,
    )  # fmt: skip
    assert " ".join(first.options[wrong].text.split()) in " ".join(feedback.inner_text().split())
    wait_for_score(page, score, f"Score: 0 / {total}", "after a wrong first try")

    session.answer({wrong})
    second = session.advance()
    quiz.locator("button.rnn-quiz-next").click()
    harness.wait_until(
        page, "el => !el.innerText.includes('Not quite')", feedback.element_handle(),
        "Next did not move on from the first question", UPDATE_MS,
    )  # fmt: skip
    right = min(second.correct_indices)
    wait_for_question(page, quiz, second)
    choose(quiz, right)
    quiz.locator("button.rnn-quiz-check").click()
    harness.wait_until(
        page, "el => el.innerText.includes('Correct')", feedback.element_handle(),
        f"no 'Correct' feedback after checking the right choice {second.labels()[right]!r}", UPDATE_MS,
    )  # fmt: skip
    wait_for_score(page, score, f"Score: 1 / {total}", "after one wrong and one right first try")
    assert_no_traceback(page)


def test_released_assignment_has_a_working_nbgrader_validate_button(lab, opened_notebook):
    released = harness.release_assignment(lab.root_dir)
    page = opened_notebook(released.relative_to(lab.root_dir).as_posix())
    validate = page.locator(f"{NOTEBOOK} .jp-NotebookPanel-toolbar .validate-button")
    validate.wait_for(state="visible")
    assert validate.inner_text().strip() == "Validate"

    # The blank release must fail validation: its test cells meet the `raise NotImplementedError()` stubs.
    validate.click()
    results = page.locator(".jp-Dialog", has_text="Validation Results")
    results.wait_for(timeout=120_000)
    text = results.inner_text()
    assert "failed" in text and "NotImplementedError" in text, text
    results.locator(".jp-mod-accept").click()
