"""The course in a real browser: lessons run clean, widgets react, the quiz scores, Validate is there."""

import getpass
import os
import re

import nbformat
import pytest

from tests.helpers import browser as harness
from tests.helpers.browser import NOTEBOOK, plain, shown_labels
from tests.helpers.paths import NOTEBOOKS

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


# A plot is a canvas (role=img) that numbers each picture it paints in data-frame.
NEW_FRAME = "([plot, frame]) => plot.dataset.frame && plot.dataset.frame !== frame"
PACKING_FRAME = """([el, frame]) => {
    const svg = el.querySelector('.rnn-packing-plot svg');
    return svg && svg.dataset.frame !== frame;
}"""  # the packing diagram is written anew at each change: looked up again in its explorer


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


def test_hidden_state_step_and_radius_moved_with_the_keyboard_update_readout_marker_and_plot(
    executed_notebook,
):
    page = executed_notebook("notebooks/03_hidden_state.ipynb")
    assert_no_traceback(page)  # a failed cell would hide the widget: say so first
    explorer = page.locator(f"{NOTEBOOK} .rnn-hidden-explorer").first
    handle = explorer.locator(".rnn-hidden-step .noUi-handle")
    readout = explorer.locator(".rnn-hidden-readout")
    plot = explorer.locator(".rnn-hidden-plot canvas")
    marker = explorer.locator(".rnn-hidden-plot .rnn-plot-mark").first
    explorer.scroll_into_view_if_needed()
    plot.wait_for()
    step = slider_value(handle)
    before_text, before_left = readout.inner_text(), marker.evaluate("el => el.style.left")
    before_frame = plot.get_attribute("data-frame")
    assert before_frame and f"t = {step}" in before_text and before_left

    key = step_key(handle)
    handle.focus()
    page.keyboard.press(key)

    new_step = step + (1 if key == "ArrowRight" else -1)
    assert slider_value(handle) == new_step, f"{key} did not move the time-step slider from {step}"
    harness.wait_until(
        page, "([el, left]) => el.style.left !== left", [marker.element_handle(), before_left],
        f"the step marker did not move after {key} moved the step {step} -> {new_step}", UPDATE_MS,
    )  # fmt: skip
    harness.wait_until(
        page, "([el, text]) => el.innerText !== text", [readout.element_handle(), before_text],
        f"the readout did not change after {key} moved the step {step} -> {new_step}", UPDATE_MS,
    )  # fmt: skip
    assert f"t = {new_step}" in readout.inner_text()
    moved = marker.evaluate("el => parseFloat(el.style.left)") - float(before_left.rstrip("%"))
    assert (moved > 0) == (key == "ArrowRight"), f"the marker moved the wrong way ({moved:+.2f}%)"
    assert page.evaluate("canvas => canvas.width > 0 && canvas.height > 0", plot.element_handle())
    assert f"t = {new_step}" in plot.get_attribute("aria-label")
    assert plot.get_attribute("data-frame") == before_frame  # a step only moves the marker

    radius = explorer.locator(".widget-slider", has_text="spectral radius").locator(".noUi-handle")
    radius.focus()
    page.keyboard.press(step_key(radius))  # a new W_hh: new states, a new picture
    harness.wait_until(
        page, NEW_FRAME, [plot.element_handle(), before_frame],
        "the hidden-state plot did not change after the spectral radius moved", UPDATE_MS,
    )  # fmt: skip
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
    plot = explorer.locator(".rnn-packing-plot svg")
    plot.wait_for()
    lengths = [slider_value(handles.nth(i)) for i in range(handles.count())]
    before_frame = plot.get_attribute("data-frame")

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
        page, PACKING_FRAME, [explorer.element_handle(), before_frame],
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


def practice_notebook() -> str:
    """The practice notebook, whatever number the lessons before it give it."""
    (path,) = [p for p in NOTEBOOKS if p.name.endswith("_practice.ipynb")]
    return f"notebooks/{path.name}"


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
    page = executed_notebook(practice_notebook())
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


# --- keyboard, accessibility and honest states -------------------------------------------------------

LESSONS_WITH_QUIZZES = [p for p in NOTEBOOKS if "quiz(" in p.read_text()]

ACCESSIBLE_NAMES_JS = """root => {
    // A simplified accessible-name computation: aria-label, aria-labelledby, <label for>, a wrapping
    // <label>, a button's text, title. Enough for the controls ipywidgets and our widgets render.
    const nameOf = (el) => {
        const aria = el.getAttribute('aria-label');
        if (aria && aria.trim()) return aria.trim();
        const by = el.getAttribute('aria-labelledby');
        if (by) {
            const parts = by.split(/\\s+/).map(id => document.getElementById(id)?.textContent || '');
            return parts.join(' ').trim();
        }
        if (el.id) {
            const label = document.querySelector(`label[for="${CSS.escape(el.id)}"]`);
            if (label && label.textContent.trim()) return label.textContent.trim();
        }
        const wrapping = el.closest('label');
        if (wrapping && wrapping.textContent.trim()) return wrapping.textContent.trim();
        if (el.tagName === 'BUTTON' && el.textContent.trim()) return el.textContent.trim();
        return (el.getAttribute('title') || '').trim();
    };
    const controls = root.querySelectorAll(
        'input, select, textarea, button, [role=slider], [contenteditable=true]');
    return [...controls].map(el => ({
        what: el.tagName.toLowerCase() + (el.type ? '[' + el.type + ']' : '') +
              (el.getAttribute('role') ? '[role=' + el.getAttribute('role') + ']' : ''),
        name: nameOf(el),
    }));
}"""


def quiz_session(set_name: str):
    """The session a notebook's quiz(set_name) draws first: same learner, first attempt, real engine."""
    from rnn_course.quiz.bank import load_bank
    from rnn_course.quiz.engine import Session

    try:
        learner = getpass.getuser()
    except Exception:  # mirrors the quiz's own fallback
        learner = "learner"
    return Session(load_bank(), set_name, learner=learner, attempt=1)


def quiz_cells(page):
    """The code cells whose source calls quiz(...)."""
    cells = page.locator(f"{NOTEBOOK} .jp-CodeCell")
    return [
        cells.nth(i) for i in range(cells.count())
        if re.search(r"\bquiz\(", cells.nth(i).locator(".jp-InputArea").inner_text())
    ]  # fmt: skip


@pytest.mark.parametrize("path", LESSONS_WITH_QUIZZES, ids=lambda p: p.name)
def test_each_quiz_cell_shows_exactly_one_quiz(path, executed_notebook):
    page = executed_notebook(f"notebooks/{path.name}")
    assert_no_traceback(page)
    cells = quiz_cells(page)
    assert cells, f"no cell of {path.name} calls quiz(...)"
    for cell in cells:
        cell.scroll_into_view_if_needed()
        cell.locator(".rnn-quiz").first.wait_for()
        shown = cell.locator(".rnn-quiz").count()
        assert shown == 1, f"a quiz cell of {path.name} shows {shown} quizzes:\n{cell.inner_text()[:300]}"


def active_cell_text(page) -> str:
    return page.locator(f"{NOTEBOOK} .jp-Cell.jp-mod-active .jp-InputArea").inner_text()


def test_a_quiz_is_answered_with_the_keyboard_alone(executed_notebook):
    page = executed_notebook("notebooks/01_rnn_syntax.ipynb")
    assert_no_traceback(page)
    quiz = page.locator(f"{NOTEBOOK} .rnn-quiz").first
    quiz.scroll_into_view_if_needed()
    session = quiz_session("lesson1")
    first = session.current
    wait_for_question(page, quiz, first)
    group = quiz.locator("[role=radiogroup]")
    assert group.count() == 1 and group.locator("legend").inner_text().strip()
    radios = group.locator("input[type=radio]")
    names = {radios.nth(i).get_attribute("name") for i in range(radios.count())}
    assert len(names) == 1 and None not in names, f"the radios are not one group: names {names}"

    radios.first.focus()  # where Tab lands in a group with nothing checked
    cell_before = active_cell_text(page)
    right = min(first.correct_indices)
    for _ in range(right):
        page.keyboard.press("ArrowDown")
    if right == 0:
        page.keyboard.press("Space")
    checked = "els => els.findIndex(el => el.checked)"
    assert radios.evaluate_all(checked) == right, f"ArrowDown x{right} did not check choice {right}"
    assert active_cell_text(page) == cell_before, "JupyterLab took the arrow key and moved to another cell"
    focused = "() => document.activeElement"
    page.keyboard.press("Tab")  # Tab leaves the group for the next control: Check
    assert page.evaluate_handle(focused).evaluate("el => el.classList.contains('rnn-quiz-check')")
    page.keyboard.press("Shift+Tab")  # and comes back to the checked choice, not to the first one
    assert page.evaluate_handle(focused).evaluate("el => el.type === 'radio' && el.checked")

    page.keyboard.press("Enter")  # Enter on a choice checks the answer
    feedback = quiz.locator(".rnn-quiz-feedback")
    harness.wait_until(
        page, "el => el.innerText.includes('Correct')", feedback.element_handle(),
        "Enter on the right choice gave no 'Correct' verdict", UPDATE_MS,
    )  # fmt: skip
    assert feedback.locator("[aria-live=polite]").count() == 1, "the verdict is not in a live region"
    harness.wait_until(
        page, "() => document.activeElement.classList.contains('rnn-quiz-next')", None,
        "after checking, the focus did not move to Next", UPDATE_MS,
    )  # fmt: skip
    page.keyboard.press("Enter")
    progress = quiz.locator(".rnn-quiz-progress")
    harness.wait_until(
        page, "el => el.innerText.startsWith('Question 2 of')", progress.element_handle(),
        "Enter on Next did not bring question 2", UPDATE_MS,
    )  # fmt: skip
    session.answer(first.correct_indices)
    wait_for_question(page, quiz, session.advance())
    harness.wait_until(
        page, "() => document.activeElement.classList.contains('rnn-quiz-question')", None,
        "on a new question the focus is not on the question", UPDATE_MS,
    )  # fmt: skip
    page.keyboard.press("Tab")  # and Tab goes on to its choices
    assert page.evaluate_handle(focused).evaluate("el => el.type === 'radio'")
    assert_no_traceback(page)


EXPLORERS = [
    ("02_shapes.ipynb", ".rnn-shape-explorer"),
    ("03_hidden_state.ipynb", ".rnn-hidden-explorer"),
    ("04_packing.ipynb", ".rnn-packing-explorer"),
]


@pytest.mark.parametrize("name, css", EXPLORERS, ids=[n for n, _ in EXPLORERS])
def test_every_control_has_an_accessible_name_and_every_plot_an_alt_text(name, css, executed_notebook):
    page = executed_notebook(f"notebooks/{name}")
    assert_no_traceback(page)
    if css != ".rnn-shape-explorer":  # the shape explorer is a table; the others draw a plot
        assert page.locator(f"{NOTEBOOK} {css} [role=img]").count() >= 1, f"no plot found in {css}"
    for root in [*page.locator(f"{NOTEBOOK} {css}").all(), *page.locator(f"{NOTEBOOK} .rnn-quiz").all()]:
        root.scroll_into_view_if_needed()
        sliders = root.locator("[role=slider]")
        if sliders.count():  # the names arrive from the page's helper, right after the explorer renders
            harness.wait_until(
                page, "els => els.every(el => el.getAttribute('aria-label'))", sliders.element_handles(),
                f"a slider in {name} has no aria-label", UPDATE_MS,
            )  # fmt: skip
        controls = root.evaluate(ACCESSIBLE_NAMES_JS)
        assert controls, f"no controls found in {css}"
        unnamed = [c["what"] for c in controls if not c["name"]]
        assert not unnamed, f"controls without an accessible name in {name}: {unnamed}"
        for image in root.locator("[role=img]").all():
            alt = image.get_attribute("aria-label") or ""
            assert len(alt.split()) >= 8, f"a plot in {name} has no alt text saying what it shows: {alt!r}"
    feedback = page.locator(f"{NOTEBOOK} .rnn-quiz .rnn-quiz-feedback [aria-live=polite]")
    assert feedback.count() >= 1, f"the quiz of {name} has no live region for its verdict"


def test_packing_explorer_clears_its_fields_and_picture_on_error(executed_notebook):
    page = executed_notebook("notebooks/04_packing.ipynb")
    assert_no_traceback(page)
    explorer = page.locator(f"{NOTEBOOK} .rnn-packing-explorer").first
    explorer.scroll_into_view_if_needed()
    # The error, the diagram and the fields are one HTML value, written anew at each change: every check
    # below looks them up again inside the explorer, which stays.
    fields, error = explorer.locator(".rnn-packing-fields"), explorer.locator(".rnn-packing-error")
    plot, root = explorer.locator(".rnn-packing-plot svg"), explorer.element_handle()
    handles = explorer.locator(".widget-slider .noUi-handle")
    lengths = [slider_value(handles.nth(i)) for i in range(handles.count())]
    assert lengths != sorted(lengths, reverse=True), f"lengths {lengths} are sorted: nothing would fail"
    assert "batch_sizes=" in fields.inner_text()
    before_frame, before_alt = plot.get_attribute("data-frame"), plot.get_attribute("aria-label")

    box = explorer.locator("input[type=checkbox]")
    box.focus()
    page.keyboard.press("Space")  # enforce_sorted=True on unsorted lengths: PyTorch refuses
    harness.wait_until(
        page, "el => el.querySelector('.rnn-packing-error [role=alert]')?.innerText"
        ".includes('sorted in decreasing order')",
        root, "no alert with PyTorch's error after ticking enforce_sorted", UPDATE_MS,
    )  # fmt: skip
    harness.wait_until(
        page, "el => !el.querySelector('.rnn-packing-fields').innerText.includes('batch_sizes=')", root,
        "the PackedSequence fields stayed beside the error", UPDATE_MS,
    )  # fmt: skip
    harness.wait_until(
        page, PACKING_FRAME, [root, before_frame], "the picture did not change on error", UPDATE_MS,
    )  # fmt: skip
    assert "no packed data" in plot.get_attribute("aria-label")
    assert error.locator("[role=alert] b").inner_text().strip(), "the error has no heading"

    page.keyboard.press("Space")  # back to enforce_sorted=False: everything returns
    harness.wait_until(
        page, "el => el.querySelector('.rnn-packing-fields').innerText.includes('batch_sizes=')", root,
        "the fields did not come back when the error went", UPDATE_MS,
    )  # fmt: skip
    harness.wait_until(
        page, "el => el.querySelector('.rnn-packing-error').innerText.trim() === ''", root,
        "the error stayed after enforce_sorted was unticked", UPDATE_MS,
    )  # fmt: skip
    harness.wait_until(
        page, "([el, alt]) => el.querySelector('.rnn-packing-plot svg').getAttribute('aria-label') === alt",
        [root, before_alt], "the picture's alt text did not come back when the error went", UPDATE_MS,
    )  # fmt: skip
    assert_no_traceback(page)
