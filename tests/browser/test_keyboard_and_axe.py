"""The quiz and the explorers with the keyboard alone and under axe-core, in a real JupyterLab.

One notebook of our own holds a quiz and every explorer, so that the keys typed here change no state that
the lesson tests read. JupyterLab's command mode binds letters and arrows (`b` inserts a cell, `r` makes it
Raw, `x` cuts it, arrows move to another cell): every key typed on a widget must act in the widget and
leave the notebook's cells as they were.
"""

import functools
import html
import json
import os
import re
import string

import nbformat
import pytest

from rnn_course.quiz.widget import section_link
from tests.helpers import browser as harness
from tests.helpers.browser import ARTIFACTS, NOTEBOOK, plain, shown_labels

pytestmark = pytest.mark.browser

if harness.browser_missing() and os.environ.get(harness.REQUIRE_ENV) != "1":
    pytest.skip(f"browser tier skipped: {harness.browser_missing()}", allow_module_level=True)  # one line

UPDATE_MS = 30_000
SET = "lesson2"
LEARNER = "keys_learner"
SETUP = """\
import torch.nn as nn

from rnn_course.lm import Vocab, course_text
from rnn_course.quiz import quiz
from rnn_course.viz.sampling import SamplingExplorer
from rnn_course.viz.widgets import HiddenStateExplorer, PackingExplorer, ShapeExplorer


class TinyLM(nn.Module):
    def __init__(self, vocab_size):
        super().__init__()
        self.embed, self.rnn, self.head = nn.Embedding(vocab_size, 4), nn.RNN(4, 8), nn.Linear(8, vocab_size)

    def forward(self, x, h=None):
        output, h = self.rnn(self.embed(x), h)
        return self.head(output), h


vocab = Vocab(course_text())"""
WIDGETS = {  # name -> (the cell that shows it, the CSS class of its root)
    "quiz": ('quiz("{set}", seed={seed}, learner="{learner}")', "rnn-quiz"),
    "shape explorer": ("ShapeExplorer()", "rnn-shape-explorer"),
    "hidden-state explorer": ("HiddenStateExplorer(steps=200)", "rnn-hidden-explorer"),  # can overflow
    "packing explorer": ("PackingExplorer()", "rnn-packing-explorer"),
    "sampling explorer": (
        'SamplingExplorer(TinyLM(len(vocab)), vocab, prompt="the ")',
        "rnn-sampling-explorer",
    ),
}
# Every key of command mode that changes a notebook, and the rest of the alphabet and digits.
KEYS = list(string.ascii_lowercase) + list(string.digits) + ["Shift+M", "Shift+J", "Shift+K"]


def keyboard_seed() -> int:
    """A seed whose draw of the set has no right answer at A, so the arrows must do the work."""
    from rnn_course.quiz.bank import load_bank
    from rnn_course.quiz.engine import Session

    bank = load_bank()
    for seed in range(200):
        queue = Session(bank, SET, seed=seed).queue
        if all(not q.multi and not q.free and 0 not in q.correct_indices for q in queue):
            return seed
    raise AssertionError(f"no seed of {SET} keeps every right answer off A")


def session(seed: int):
    from rnn_course.quiz.bank import load_bank
    from rnn_course.quiz.engine import Session

    return Session(load_bank(), SET, seed=seed, learner=LEARNER)


@pytest.fixture(scope="module")
def keys_notebook(lab):
    """A notebook with one quiz and every explorer (a markdown cell first and last, to see types kept)."""
    notebook = nbformat.v4.new_notebook()
    seed = keyboard_seed()
    cells = [nbformat.v4.new_markdown_cell("# Keys stay in the widgets"), nbformat.v4.new_code_cell(SETUP)]
    for source, _ in WIDGETS.values():
        cells.append(nbformat.v4.new_code_cell(source.format(set=SET, seed=seed, learner=LEARNER)))
    cells.append(nbformat.v4.new_markdown_cell("The end."))
    notebook.cells = cells
    nbformat.write(notebook, lab.root_dir / "notebooks" / "keys_check.ipynb")  # beside the lessons it links
    return "notebooks/keys_check.ipynb", seed


@pytest.fixture
def page(executed_notebook, keys_notebook):
    page = executed_notebook(keys_notebook[0])
    assert not harness.error_outputs(page), harness.error_outputs(page)
    return page


def root(page, name: str):
    widget = page.locator(f"{NOTEBOOK} .{WIDGETS[name][1]}").first
    widget.scroll_into_view_if_needed()
    return widget


CELLS_JS = f"""() => [...document.querySelectorAll('{NOTEBOOK} .jp-Cell')].map(cell =>
    cell.classList.contains('jp-CodeCell') ? 'code' :
    cell.classList.contains('jp-MarkdownCell') ? 'markdown' : 'raw')"""
ACTIVE_CELL_JS = f"""() => [...document.querySelectorAll('{NOTEBOOK} .jp-Cell')]
    .findIndex(cell => cell.classList.contains('jp-mod-active'))"""
FOCUS_JS = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return 'body';
    return el.id || el.className || el.tagName;
}"""


def cells(page) -> list[str]:
    return page.evaluate(CELLS_JS)


def focus_is_in(page, widget) -> bool:
    return widget.evaluate("el => el.contains(document.activeElement)")


def press(page, widget, key: str, what: str) -> None:
    """Press a key; the focus must stay in the widget (never on <body>), and no cell may change."""
    before_cells, before_active = cells(page), page.evaluate(ACTIVE_CELL_JS)
    page.keyboard.press(key)
    page.wait_for_timeout(30)
    assert page.evaluate(FOCUS_JS) != "body", f"{key} on {what}: the focus fell to <body>"
    assert focus_is_in(page, widget), f"{key} on {what}: the focus left the widget"
    assert cells(page) == before_cells, f"{key} on {what} changed the notebook's cells"
    assert page.evaluate(ACTIVE_CELL_JS) == before_active, f"{key} on {what} moved to another cell"


def wait_focus(page, selector_js: str, what: str) -> None:
    harness.wait_until(page, f"() => {selector_js}", None, what, UPDATE_MS)


# --- the quiz, with the keyboard alone -------------------------------------------------------------------


def checked(group) -> int:
    return group.locator("input").evaluate_all("els => els.findIndex(el => el.checked)")


def arrow_to(page, quiz, index: int, what: str) -> None:
    """From the focused group (nothing checked yet: the focus is on choice A), arrows to choice `index`."""
    group = quiz.locator("[role=radiogroup]")
    for _ in range(index):
        press(page, quiz, "ArrowDown", what)
    if index == 0:
        press(page, quiz, "Space", what)
    assert checked(group) == index, f"{what}: the arrows did not check choice {index}"


def test_a_quiz_whose_answers_are_not_a_is_taken_with_tab_arrows_space_and_enter(page, keys_notebook):
    from playwright.sync_api import expect

    _, seed = keys_notebook
    engine = session(seed)
    quiz = root(page, "quiz")
    feedback = quiz.locator(".rnn-quiz-feedback")
    given = []  # (question, picked index)
    quiz.locator(".rnn-quiz-question").focus()  # where Next leaves the focus: on the question
    first = True
    while not engine.done:
        question = engine.current
        question_el = quiz.locator(".rnn-quiz-question")
        expect(question_el).to_contain_text(plain([question.stem])[0][:40], timeout=UPDATE_MS)
        wait_focus(page, "document.activeElement.classList.contains('rnn-quiz-question')",
                   "the focus is not on the question")  # fmt: skip
        stem = " ".join(question_el.inner_text().split())[:40]
        group = quiz.get_by_role("radiogroup", name=re.compile(re.escape(stem)))
        expect(group).to_have_count(1, timeout=UPDATE_MS)  # the screen reader's name of the group
        labels = group.locator("label")
        expect(labels).to_have_text(plain(question.labels()), timeout=UPDATE_MS)
        press(page, quiz, "Tab", "the question")  # into the group: choice A, nothing checked
        wrong = next(i for i in range(len(question.options)) if i not in question.correct_indices and i)
        pick = wrong if first else min(question.correct_indices)
        arrow_to(page, quiz, pick, f"question {len(given) + 1}")
        given.append((question, pick))
        if first:  # Enter on a choice checks it
            press(page, quiz, "Enter", "a choice")
            harness.wait_until(page, "el => el.innerText.includes('Not quite')", feedback.element_handle(),
                               "Enter on a wrong choice gave no 'Not quite'", UPDATE_MS)  # fmt: skip
            assert "The answer" not in feedback.inner_text()
        else:  # Tab to Check, Space presses it
            press(page, quiz, "Tab", "a choice")
            assert page.evaluate("() => document.activeElement.classList.contains('rnn-quiz-check')")
            press(page, quiz, "Space", "Check")
            harness.wait_until(page, "el => el.innerText.includes('Correct')", feedback.element_handle(),
                               "Space on Check gave no 'Correct'", UPDATE_MS)  # fmt: skip
        wait_focus(page, "document.activeElement.classList.contains('rnn-quiz-next')",
                   "after checking, the focus is not on Next")  # fmt: skip
        if first:  # Shift+Tab to Solution, Enter: it disables itself and the focus goes back to Next
            press(page, quiz, "Shift+Tab", "Next")
            assert page.evaluate("() => document.activeElement.classList.contains('rnn-quiz-solution')")
            press(page, quiz, "Enter", "Solution")
            harness.wait_until(page, "el => el.innerText.includes('Solution.')", feedback.element_handle(),
                               "Enter on Solution showed no solution", UPDATE_MS)  # fmt: skip
            wait_focus(page, "document.activeElement.classList.contains('rnn-quiz-next')",
                       "after Solution, the focus is not on Next")  # fmt: skip
        engine.answer({pick})
        engine.advance()
        press(page, quiz, "Enter", "Next")
        first = False
    wait_focus(page, "document.activeElement.id.endsWith('-summary')", "the last Next: summary not focused")
    assert page.evaluate(FOCUS_JS) != "body"
    firsts = [(q, p) for q, p in given if not q.retry]
    right = sum(p in q.correct_indices for q, p in firsts)
    retried = [(q, p) for q, p in given if q.retry]
    summary = " ".join(feedback.inner_text().split())
    assert f"You answered {right} of {len(firsts)} right on the first try." in summary, summary
    assert f"Second tries: {len(retried)} of {len(retried)} right." in summary, summary
    assert right == len(firsts) - 1 and len(retried) == 1
    for name in ("check", "hint", "solution", "next"):  # no dead buttons on the end screen
        assert not quiz.locator(f".rnn-quiz-{name}").is_visible(), f"{name} is still shown at the end"
    again = quiz.locator(".rnn-quiz-again")
    again.focus()
    press(page, quiz, "Enter", "Try again")
    wait_focus(page, "document.activeElement.classList.contains('rnn-quiz-question')",
               "after Try again, the focus is not on the new first question")  # fmt: skip


def test_every_letter_and_digit_typed_on_a_quiz_choice_stays_in_the_quiz(page):
    quiz = root(page, "quiz")
    radio = quiz.locator(".rnn-quiz-choices input").first
    radio.wait_for()
    for key in KEYS:
        radio.focus()
        press(page, quiz, key, "a quiz choice")


CURRENT_TAB = "#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel"
LINK_STYLE_JS = """el => { const style = getComputedStyle(el), text = getComputedStyle(el.parentElement);
    return [style.textDecorationLine, style.color, text.color]; }"""
IN_FRONT_JS = "([sel, name]) => document.querySelector(sel)?.textContent === name"
HEADING_SHOWN_JS = f"""id => {{
    const name = CSS.escape(id);  // JupyterLab names a heading by data-jupyter-id (or id, if allowed)
    const heading = document.querySelector(
        `{NOTEBOOK} [data-jupyter-id="${{name}}"], {NOTEBOOK} [id="${{name}}"]`);
    const scroller = document.querySelector('{NOTEBOOK} .jp-WindowedPanel-outer');
    if (!heading || !scroller) return false;
    const [h, s] = [heading.getBoundingClientRect(), scroller.getBoundingClientRect()];
    return h.top >= s.top - 1 && h.top <= s.top + 80;  // at the top of the notebook's view
}}"""


def test_a_lesson_link_looks_like_one_and_opens_its_section_in_this_jupyterlab(page, context, keys_notebook):
    _, seed = keys_notebook
    quiz = root(page, "quiz")
    if quiz.locator(".rnn-quiz-again").is_visible():
        quiz.locator(".rnn-quiz-again").click()
    quiz.locator(".rnn-quiz-choices input").first.wait_for()
    question = engine_question(quiz, seed)
    miss = next(i for i in range(len(question.options)) if i not in question.correct_indices)
    quiz.locator(".rnn-quiz-choices input").nth(miss).click()
    quiz.locator("button.rnn-quiz-check").click()
    quiz.locator("button.rnn-quiz-solution:not([disabled])").click()
    link = quiz.locator(".rnn-quiz-links a.rnn-lesson-link")
    link.wait_for(timeout=UPDATE_MS)
    decoration, colour, text_colour = link.evaluate(LINK_STYLE_JS)
    assert "underline" in decoration and colour != text_colour, (decoration, colour, text_colour)
    lesson = question.item.lesson
    section = link.evaluate("el => decodeURIComponent(new URL(el.href).hash.slice(1))")
    # The anchor is the heading's whole text, number and all; that JupyterLab's heading has this id is
    # checked below, by the heading being scrolled into view.
    href = re.search(r'href="([^"]*)"', section_link(lesson)).group(1)
    assert section == html.unescape(href).split("#", 1)[1]
    pages, keys_tab = len(context.pages), page.locator(CURRENT_TAB).inner_text()
    anchor = link.element_handle()  # the locators look in the notebook in front: soon the lesson
    tabs = page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text=lesson["notebook"])
    try:
        link.click()  # the lesson is not open yet: it opens, and lands on the section all the same
        brought = f"the link did not bring {lesson['notebook']} forward"
        harness.wait_until(page, IN_FRONT_JS, [CURRENT_TAB, lesson["notebook"]], brought, UPDATE_MS)
        scrolled = f"the lesson is not scrolled to #{section}"
        harness.wait_until(page, HEADING_SHOWN_JS, section, scrolled, UPDATE_MS)
        assert len(context.pages) == pages, "the link opened another browser tab"
        assert tabs.count() == 1
        page.locator(f"{NOTEBOOK} .jp-WindowedPanel-outer").evaluate("el => el.scrollTo(0, 0)")
        anchor.evaluate("el => el.click()")  # followed again: the same document, no second copy, scrolled
        harness.wait_until(page, HEADING_SHOWN_JS, section, scrolled + " on a second click", UPDATE_MS)
        assert tabs.count() == 1
    finally:  # back to the quiz, which goes on to a new question
        if tabs.count():
            tabs.first.locator(".lm-TabBar-tabCloseIcon").click()
            discard = page.locator(".jp-Dialog button", has_text=re.compile(r"^(Discard|Don't Save)$"))
            page.wait_for_timeout(500)
            if discard.count():  # the lesson was saved by another page meanwhile: nothing of ours to keep
                discard.first.click()
        page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text=keys_tab).click()
        back = "the quiz's notebook did not come back"
        harness.wait_until(page, IN_FRONT_JS, [CURRENT_TAB, keys_tab], back, UPDATE_MS)
    next_question(page, quiz)


# --- the explorers -----------------------------------------------------------------------------------------

CONTROLS = {  # what to focus in each explorer: every kind of control it has
    "shape explorer": ["select", ".noUi-handle", "input[type=checkbox]", ".widget-readout"],
    "hidden-state explorer": ["select", ".noUi-handle", ".widget-toggle-button", ".widget-readout"],
    "packing explorer": [".noUi-handle", "input[type=checkbox]"],
    "sampling explorer": [".noUi-handle", "button"],
}


@pytest.mark.parametrize("name", list(CONTROLS))
def test_every_letter_and_digit_typed_on_an_explorer_control_stays_in_the_explorer(page, name):
    explorer = root(page, name)
    for selector in CONTROLS[name]:
        control = explorer.locator(selector).first
        for key in KEYS:
            if control.evaluate("el => el.disabled === true"):
                break
            control.focus()
            press(page, explorer, key, f"{selector} in the {name}")
        if selector == ".widget-readout":  # typed digits went into the value box: leave it
            page.keyboard.press("Escape")
    assert not harness.error_outputs(page)


def test_dropdowns_change_with_the_arrow_keys(page):
    explorer = root(page, "shape explorer")
    menu = explorer.locator("select").first  # nonlinearity: tanh, relu
    menu.focus()
    start = menu.evaluate("el => el.selectedIndex")
    key, back = ("ArrowDown", "ArrowUp") if start == 0 else ("ArrowUp", "ArrowDown")
    press(page, explorer, key, "the nonlinearity dropdown")
    assert menu.evaluate("el => el.selectedIndex") != start, f"{key} did not change the dropdown"
    press(page, explorer, back, "the nonlinearity dropdown")
    assert menu.evaluate("el => el.selectedIndex") == start, f"{back} did not change it back"
    hidden = root(page, "hidden-state explorer")
    signal = hidden.locator("select").first
    plot = hidden.locator(".rnn-hidden-plot canvas")
    before = plot.get_attribute("data-frame")
    signal.focus()
    press(page, hidden, "ArrowDown", "the signal dropdown")
    harness.wait_until(
        page, "([plot, frame]) => plot.dataset.frame !== frame", [plot.element_handle(), before],
        "a new signal chosen with ArrowDown drew no new picture", UPDATE_MS,
    )  # fmt: skip


def test_toggles_say_which_one_is_on_and_keep_the_focus(page):
    hidden = root(page, "hidden-state explorer")
    buttons = hidden.locator(".widget-toggle-button")
    harness.wait_until(
        page, "els => els.every(el => el.hasAttribute('aria-pressed'))", buttons.element_handles(),
        "the toggle buttons carry no aria-pressed", UPDATE_MS,
    )  # fmt: skip
    pressed = [b.get_attribute("aria-pressed") for b in buttons.all()]
    assert pressed.count("true") == 1, pressed
    off = pressed.index("false")
    buttons.nth(off).focus()
    press(page, hidden, "Enter", "a toggle button")
    harness.wait_until(
        page, "([el]) => el.getAttribute('aria-pressed') === 'true'", [buttons.nth(off).element_handle()],
        "the toggle pressed with Enter is not marked pressed", UPDATE_MS,
    )  # fmt: skip
    assert page.evaluate(FOCUS_JS) != "body"
    buttons.nth(1 - off).focus()
    press(page, hidden, "Space", "a toggle button")  # back as it was
    harness.wait_until(
        page, "([el]) => el.getAttribute('aria-pressed') === 'true'", [buttons.nth(1 - off).element_handle()],
        "the toggle pressed with Space is not marked pressed", UPDATE_MS,
    )  # fmt: skip


def test_the_sampling_buttons_keep_the_focus_and_its_error_disables_them(page):
    explorer = root(page, "sampling explorer")
    text = explorer.locator(".rnn-sampling-text")
    for button in explorer.locator("button").all():
        before = text.inner_text()
        button.focus()
        press(page, explorer, "Enter", f"the {button.inner_text()} button")
        if button.inner_text() != "Start over":
            harness.wait_until(  # the text is drawn anew with the chart: look it up again each time
                page, "([r, before]) => r.querySelector('.rnn-sampling-text').innerText !== before",
                [explorer.element_handle(), before], f"Enter on {button.inner_text()} drew nothing",
                UPDATE_MS,
            )  # fmt: skip
    prompt = explorer.locator("input[type=text]")
    prompt.fill("")
    prompt.press("Enter")  # an empty prompt: the model cannot start
    error = explorer.locator(".rnn-sampling-error [role=alert]")
    error.wait_for(timeout=UPDATE_MS)
    harness.wait_until(
        page, "els => els.every(el => el.disabled)", explorer.locator("button").element_handles(),
        "the buttons stay enabled beside the error", UPDATE_MS,
    )  # fmt: skip
    prompt.fill("the ")
    prompt.press("Enter")
    harness.wait_until(
        page, "els => els.every(el => !el.disabled)", explorer.locator("button").element_handles(),
        "the buttons did not come back with a good prompt", UPDATE_MS,
    )  # fmt: skip


# --- axe-core ------------------------------------------------------------------------------------------

AXE_TOTALS = {}  # widget state -> counts, written to test-artifacts/browser/axe-totals.json


def axe_check(page, name: str, state: str) -> None:
    """axe-core on one widget: no violation, and no serious or critical item left to review."""
    from axe_playwright_python.sync_playwright import Axe

    selector = f"{NOTEBOOK} .{WIDGETS[name][1]}"
    page.wait_for_timeout(300)  # let the last update paint
    response = (
        Axe()
        .run(page, context={"include": [[selector]]}, options={"resultTypes": ["violations", "incomplete"]})
        .response
    )
    violations = response["violations"]
    serious = [i for i in response["incomplete"] if i.get("impact") in ("serious", "critical")]
    AXE_TOTALS[f"{name}: {state}"] = {
        "violations": sum(len(v["nodes"]) for v in violations),
        "serious or critical to review": sum(len(i["nodes"]) for i in serious),
        "other to review": sum(len(i["nodes"]) for i in response["incomplete"] if i not in serious),
        "rules passed": len(response["passes"]),
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "axe-totals.json").write_text(json.dumps(AXE_TOTALS, indent=1))

    def listed(results):
        lines = []
        for r in results:
            lines.append(f"{r['id']} ({r.get('impact')}): {r['help']}")
            lines += [f"    {n['html'][:160]}" for n in r["nodes"]]
        return "\n".join(lines)

    assert not violations, f"axe on the {name} ({state}):\n{listed(violations)}"
    assert not serious, f"axe on the {name} ({state}), to review:\n{listed(serious)}"


def test_axe_finds_nothing_in_any_state_of_the_quiz(page, keys_notebook):
    _, seed = keys_notebook
    quiz = root(page, "quiz")
    quiz.locator(".rnn-quiz-choices input").first.wait_for()
    if quiz.locator(".rnn-quiz-again").is_visible():  # the keyboard test ended here: start again
        quiz.locator(".rnn-quiz-again").click()
    feedback = quiz.locator(".rnn-quiz-feedback")
    axe_check(page, "quiz", "before answering")
    quiz.locator("button.rnn-quiz-hint").click()
    for verdict in ("Not quite", "Correct"):
        labels = quiz.locator(".rnn-quiz-choices label")
        labels.first.wait_for()
        question = engine_question(quiz, seed)
        wrong = next(i for i in range(len(question.options)) if i not in question.correct_indices)
        pick = wrong if verdict == "Not quite" else min(question.correct_indices)
        quiz.locator(".rnn-quiz-choices input").nth(pick).click()
        quiz.locator("button.rnn-quiz-check").click()
        harness.wait_until(
            page, "([el, v]) => el.innerText.includes(v)", [feedback.element_handle(), verdict],
            f"no '{verdict}' verdict", UPDATE_MS,
        )  # fmt: skip
        axe_check(page, "quiz", "wrong" if verdict == "Not quite" else "right")
        if verdict == "Not quite":
            quiz.locator("button.rnn-quiz-solution").click()
            harness.wait_until(page, "el => el.innerText.includes('Solution.')", feedback.element_handle(),
                               "no solution shown", UPDATE_MS)  # fmt: skip
            axe_check(page, "quiz", "solution shown")
        next_question(page, quiz)
    while not quiz.locator(".rnn-quiz-again").is_visible():
        question = engine_question(quiz, seed)
        quiz.locator(".rnn-quiz-choices input").nth(min(question.correct_indices)).click()
        quiz.locator("button.rnn-quiz-check").click()
        next_question(page, quiz)
    harness.wait_until(page, "el => el.innerText.includes('first try')", feedback.element_handle(),
                       "no summary", UPDATE_MS)  # fmt: skip
    axe_check(page, "quiz", "summary")


def next_question(page, quiz) -> None:
    """Press Next and wait until the quiz has moved on (its question element has a new id)."""
    before = quiz.locator(".rnn-quiz-question").get_attribute("id")
    quiz.locator("button.rnn-quiz-next:not([disabled])").click()
    harness.wait_until(
        page, "([el, id]) => !el.querySelector(`[id='${id}']`)", [quiz.element_handle(), before],
        "Next did not move on", UPDATE_MS,
    )  # fmt: skip


def engine_question(quiz, seed):
    """The engine's question for what the quiz shows now: matched by its choices, whatever the attempt."""
    for _ in range(UPDATE_MS // 100):
        shown = shown_labels(quiz)
        for attempt in range(1, 4):
            for question in quiz_queue(seed, attempt):
                if shown and shown == plain(question.labels()):
                    return question
        quiz.page.wait_for_timeout(100)
    raise AssertionError(f"no question of the engine shows the choices {shown_labels(quiz)}")


@functools.cache
def quiz_queue(seed, attempt):
    """Every question the quiz can show on this attempt: its first tries, and the retries of misses."""
    from rnn_course.quiz.bank import load_bank
    from rnn_course.quiz.engine import Session

    engine = Session(load_bank(), SET, seed=seed + attempt - 1, learner=LEARNER)
    shown = []  # a tuple below: the cache hands the same list to every caller
    while not engine.done:
        question = engine.current
        shown.append(question)
        missed = next(i for i in range(len(question.options)) if i not in question.correct_indices)
        engine.answer(question.correct_indices if question.retry else {missed})
        engine.advance()
    return tuple(shown)


def set_slider(page, explorer, label: str, key: str, presses: int = 1):
    handle = explorer.locator(".widget-slider", has_text=label).locator(".noUi-handle")
    handle.focus()
    for _ in range(presses):
        page.keyboard.press(key)


def test_axe_finds_nothing_in_the_explorers_and_their_errors(page):
    for name in ("shape explorer", "hidden-state explorer", "packing explorer", "sampling explorer"):
        root(page, name)
        axe_check(page, name, "as it opens")

    shape = root(page, "shape explorer")
    set_slider(page, shape, "feature size", "ArrowLeft")  # differs from input_size: nn.RNN refuses
    shape.locator(".rnn-shape-error [role=alert]").wait_for(timeout=UPDATE_MS)
    axe_check(page, "shape explorer", "error")
    set_slider(page, shape, "feature size", "ArrowRight")

    hidden = root(page, "hidden-state explorer")  # relu, 64 units, radius 2, noise: h_t overflows float32
    set_slider(page, hidden, "hidden size H", "End")
    hidden.locator(".widget-toggle-button", has_text="relu").click()
    set_slider(page, hidden, "spectral radius", "End")
    hidden.locator("select").first.select_option("noise")
    hidden.locator(".rnn-hidden-error [role=alert]", has_text="The hidden state overflowed").wait_for(
        timeout=UPDATE_MS
    )
    plot, readout = hidden.locator(".rnn-hidden-plot canvas"), hidden.locator(".rnn-hidden-readout")
    harness.wait_until(
        page, "([plot, readout]) => plot.getAttribute('aria-label').startsWith('No picture') && "
        "!readout.innerText.trim()", [plot.element_handle(), readout.element_handle()],
        "the picture or the readout stayed beside the error", UPDATE_MS,
    )  # fmt: skip
    axe_check(page, "hidden-state explorer", "error")
    hidden.locator(".widget-toggle-button", has_text="tanh").click()  # bounded again: everything comes back
    harness.wait_until(
        page, "([plot, readout]) => !plot.getAttribute('aria-label').startsWith('No picture') && "
        "readout.innerText.trim()", [plot.element_handle(), readout.element_handle()],
        "the picture did not come back when the settings worked again", UPDATE_MS,
    )  # fmt: skip

    packing = root(page, "packing explorer")
    packing.locator("input[type=checkbox]").check()  # enforce_sorted on unsorted lengths: refused
    packing.locator(".rnn-packing-error [role=alert]").wait_for(timeout=UPDATE_MS)
    axe_check(page, "packing explorer", "error")
    packing.locator("input[type=checkbox]").uncheck()

    sampling = root(page, "sampling explorer")
    prompt = sampling.locator("input[type=text]")
    prompt.fill("€")  # a character the model never saw
    prompt.press("Enter")
    sampling.locator(".rnn-sampling-error [role=alert]").wait_for(timeout=UPDATE_MS)
    axe_check(page, "sampling explorer", "error")
    prompt.fill("the ")
    prompt.press("Enter")

    # The check itself can fail: a slider's value box named without a role is what axe reported before.
    readout = root(page, "packing explorer").locator(".widget-readout").first
    readout.evaluate("el => el.removeAttribute('role')")
    with pytest.raises(AssertionError, match="aria-prohibited-attr"):
        axe_check(page, "packing explorer", "a value box without its role (expected to fail)")
    readout.evaluate("el => el.setAttribute('role', 'textbox')")
    AXE_TOTALS.pop("packing explorer: a value box without its role (expected to fail)")
    (ARTIFACTS / "axe-totals.json").write_text(json.dumps(AXE_TOTALS, indent=1))
    print("\naxe totals:\n" + json.dumps(AXE_TOTALS, indent=1))
