"""The notebook quiz: one question at a time; check, hint, solution, misconception feedback, a score.

Keyboard, as in any form: Tab moves between the choice group and the buttons, arrow keys move within the
group (the radios share a name), Enter on a choice or in the answer box checks the answer, Enter or Space
presses a button. Every key typed in the quiz stays in it: none reaches JupyterLab's notebook shortcuts.
The question names the choice group; after Next the focus is on the new question, and no button that
disables itself leaves the focus nowhere.
"""

from __future__ import annotations

import html
import re
import secrets

import ipywidgets as widgets

from rnn_course.controls import ChoiceGroup, KeyboardHelper, LiveHTML, SectionLinks
from rnn_course.quiz.engine import Question, Result, Session, letter

_LIST_ITEM = re.compile(r"^\s*(?:[-*]|\d+\.)\s+")


def _inline(text: str) -> str:
    """Escape, then the inline Markdown the bank uses: `code`, **bold**, *italic*."""
    escaped = html.escape(text)
    parts = re.split(r"(`[^`]+`)", escaped)  # nothing inside code is formatted
    out = []
    for part in parts:
        if part.startswith("`") and part.endswith("`") and len(part) > 1:
            out.append(f"<code>{part[1:-1]}</code>")
            continue
        part = re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", part)
        out.append(re.sub(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])", r"<i>\1</i>", part))
    return "".join(out)


def markdown_html(text: str, inline: bool = False) -> str:
    """The Markdown of the bank as HTML: paragraphs at blank lines, lists, inline `code`, **bold**, *italic*.

    A single line break inside a paragraph is a space (YAML folds long stems), so no sentence is cut.
    `inline=True` gives one run of text with no paragraph tags, for a line that sits inside other HTML.
    """
    blocks = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        if lines and all(_LIST_ITEM.match(line) for line in lines):
            tag = "ol" if lines[0][0].isdigit() else "ul"
            items = "".join(f"<li>{_inline(_LIST_ITEM.sub('', line))}</li>" for line in lines)
            blocks.append(f"<{tag}>{items}</{tag}>")
        elif lines:
            blocks.append(_inline(" ".join(lines)))
    if inline:
        return " ".join(blocks)
    return "".join(b if b.startswith(("<ul>", "<ol>")) else f"<p>{b}</p>" for b in blocks)


def as_belief(text: str) -> str:
    """'Zero padding is harmless.' -> 'You may think that zero padding is harmless.' (Markdown rendered)."""
    text = text.strip()
    if len(text) > 1 and text[0].isupper() and text[1].islower():  # an ordinary first word, not `RNN`
        text = text[0].lower() + text[1:]
    return f"You may think that {markdown_html(text, inline=True)}"


def section_link(lesson: dict) -> str:
    """A relative link to the lesson notebook's section, e.g. `02_shapes.ipynb#Batch-first`.

    Shown as a rendered output (see `links_output`), JupyterLab itself handles it: a click opens the
    notebook in this JupyterLab (or brings it forward) and scrolls to the heading, whose id is its text with
    spaces as dashes. No target: a browser tab of its own would start a second JupyterLab.
    """
    notebook, section = lesson["notebook"], lesson["section"]
    title = _inline(section)  # inline Markdown only: "1. Shapes" is a heading's number, not a list
    plain = re.sub(r"<[^>]+>", "", title)
    anchor = html.unescape(plain).replace(" ", "-")
    href = html.escape(f"{notebook}#{anchor}", quote=True)
    return (
        f'<a class="rnn-lesson-link" href="{href}" '
        f'style="color: var(--jp-content-link-color, #1565c0); text-decoration: underline">'
        f"{html.escape(notebook)}, “{title}”</a>"
    )


def links_output(body: str) -> tuple[dict, ...]:
    """HTML holding lesson links as the outputs of an Output widget (empty body: no output).

    An Output widget renders through the notebook's own renderers, which resolve relative links against
    the notebook's folder and open them in JupyterLab; an HTML widget's links would load a new page.
    """
    if not body:
        return ()
    text = html.unescape(re.sub(r"<[^>]+>", "", body))
    return ({"output_type": "display_data", "data": {"text/html": body, "text/plain": text}, "metadata": {}},)


def _choice_name(question: Question, option) -> str:
    """'B. (4, 7, 3)' for a shown choice; a typical wrong typed answer has no letter."""
    text = html.escape(option.text)
    return f"{letter(question.options.index(option))}. {text}" if option in question.options else text


def _notes_html(notes: list[str]) -> str:
    return "".join(f"<p><b>Note:</b> {html.escape(n)}</p>" for n in notes)


def _marks(credit: float) -> str:
    """0.5 -> '0.5', 1.0 -> '1'."""
    return f"{credit:g}" if credit != int(credit) else str(int(credit))


class QuizWidget(widgets.VBox):
    """Walks through a Session: progress line, question, choice group, buttons, a live feedback area."""

    def __init__(self, session: Session, notices: list[str] | None = None):
        self.session = session
        self.header = widgets.HTML().add_class("rnn-quiz-progress")
        self.stem = widgets.HTML().add_class("rnn-quiz-stem")
        self.code = widgets.HTML()
        self.choices_box = widgets.VBox()
        self.choices: ChoiceGroup | None = None
        self.check_button = widgets.Button(
            description="Check", button_style="primary", tooltip="Check your answer"
        )
        self.hint_button = widgets.Button(description="Hint", tooltip="Show a hint")
        self.solution_button = widgets.Button(
            description="Solution", tooltip="Show the worked solution (after checking)"
        )
        self.next_button = widgets.Button(description="Next", tooltip="Go to the next question")
        self.again_button = widgets.Button(
            description="Try again", tooltip="Take this quiz again, new draws", layout={"display": "none"}
        )
        self.notes = widgets.HTML().add_class("rnn-quiz-notes")  # progress-file notes, apart from verdicts
        self.feedback = LiveHTML()  # a live region: the verdict is read out when it appears
        self.links = widgets.Output()  # lesson links, rendered by JupyterLab so that they open in it
        self.score = widgets.HTML()
        self.helper = KeyboardHelper(root="rnn-quiz", hand_over=".rnn-quiz-again")  # keys and focus stay
        self.section_links = SectionLinks(root="rnn-quiz")  # lesson links land on their section
        self.uid = f"rnn-quiz-{secrets.token_hex(4)}"  # ids unique in a page of several notebooks
        self.shown = 0  # questions shown so far: each gets its own element id
        for widget, name in [
            (self.check_button, "rnn-quiz-check"),
            (self.hint_button, "rnn-quiz-hint"),
            (self.solution_button, "rnn-quiz-solution"),
            (self.next_button, "rnn-quiz-next"),
            (self.again_button, "rnn-quiz-again"),
            (self.feedback, "rnn-quiz-feedback"),
            (self.links, "rnn-quiz-links"),
            (self.score, "rnn-quiz-score"),
        ]:
            widget.add_class(name)
        self.check_button.on_click(lambda _: self.check())
        self.hint_button.on_click(lambda _: self.show_hint())
        self.solution_button.on_click(lambda _: self.show_solution())
        self.next_button.on_click(lambda _: self.next())
        self.again_button.on_click(lambda _: self.try_again())
        self.last_result: Result | None = None
        self.sections: dict[str, str] = {}  # feedback parts, shown together in a fixed order
        buttons = widgets.HBox(
            [self.check_button, self.hint_button, self.solution_button, self.next_button, self.again_button]
        )
        self.title_html = widgets.HTML(f"<b>{html.escape(session.title)}</b>")
        super().__init__(
            [
                self.title_html, self.header, self.notes, self.stem, self.code, self.choices_box, buttons,
                self.feedback, self.links, self.score, self.helper, self.section_links,
            ]
        )  # fmt: skip
        self.add_class("rnn-quiz")
        self.notices = list(notices or [])
        self.shown_notes = list(self.notices)
        self._show_question()

    # --- drawing -------------------------------------------------------------------------------------------

    def progress(self) -> str:
        """'Question 6 of 14 · 2 to retry': numbers that never grow under the learner."""
        session, question = self.session, self.session.current
        number = session.items.index(question.item) + 1
        waiting = sum(q.retry for q in session.queue[session.position + 1 :])
        parts = [f"{'Retry of question' if question.retry else 'Question'} {number} of {session.total}"]
        if waiting:
            parts.append(f"{waiting} to retry")
        return " · ".join(parts)

    def _show_question(self, focus: bool = False) -> None:
        """Draw the current question; with `focus`, the focus moves to it before the buttons change, so the
        Next button that had it is never disabled under it."""
        question = self.session.current
        item = question.item
        self.header.value = f"{self.progress()} · {html.escape(item.topic)} · {html.escape(item.difficulty)}"
        self.shown += 1
        self.stem.value = (
            f'<div id="{self.question_id}" class="rnn-quiz-question" tabindex="-1">'
            f"{markdown_html(question.stem)}</div>"
        )
        self.code.value = f"<pre>{html.escape(question.code.rstrip())}</pre>" if question.code.strip() else ""
        if question.free:
            self._show_text_box(question)
        else:
            self._show_choices(question)
        if focus:
            self.helper.focus_on(f"#{self.question_id}")  # read first; Tab goes on to the choices
        self.check_button.disabled = False
        self.hint_button.disabled = False
        self.solution_button.disabled = True
        self.next_button.disabled = True
        self.notes.value = _notes_html(self.notices)
        self.notices = []
        self.sections = {}
        self._show_feedback()
        self.links.outputs = links_output("")
        self._show_score()

    def _show_choices(self, question: Question) -> None:
        """One group of radios (or checkboxes for a select-all item), named for assistive technology."""
        if question.multi:
            says_it = re.search(r"\bselect (every|all)\b", question.stem, re.IGNORECASE)
            legend = "Choices" if says_it else "Choices: select every right one"
        else:
            legend = "Choices: pick one"
        labels = [
            f"{letter(i)}. {markdown_html(o.text, inline=True)}" for i, o in enumerate(question.options)
        ]
        group = ChoiceGroup(options=labels, multi=question.multi, label=legend, labelledby=self.question_id)
        group.on_submit(self.check)
        self._place(group)

    @property
    def question_id(self) -> str:
        """The id of the element that holds the question shown now (it names the choice group)."""
        return f"{self.uid}-q{self.shown}"

    def _show_text_box(self, question: Question) -> None:
        """The text box of a free-response item; Enter in it checks the answer."""
        box = free_response_box(question)
        box.on_msg(lambda _box, content, _buffers: self._on_text_message(content))
        self._place(box)

    def _on_text_message(self, content) -> None:
        """The page's text box sends {'event': 'submit'} on Enter (its value is already synced)."""
        if isinstance(content, dict) and content.get("event") == "submit":
            self.check()

    def _place(self, control) -> None:
        """Put this question's answer control where the last one was; the last one is closed."""
        if self.choices is not None:
            self.choices.close()  # it leaves the page and the kernel
        self.choices = control.add_class("rnn-quiz-choices")
        self.choices_box.children = [control]

    def _show_feedback(self) -> None:
        order = ("hint", "verdict", "solution", "later")
        self.feedback.value = "".join(self.sections.get(key, "") for key in order)

    def _show_score(self) -> None:
        self.score.value = f"Score: {self.session.score} / {self.session.total}"

    def selected(self) -> set[int] | str:
        """The picked choices' indices, or the typed text of a free-response item."""
        if isinstance(self.choices, widgets.Text):
            return self.choices.value.strip()
        return set(self.choices.value)

    def _lock_choices(self, locked: bool) -> None:
        self.choices.disabled = locked

    # --- buttons -------------------------------------------------------------------------------------------

    def check(self) -> None:
        if self.check_button.disabled:  # Enter on a choice after checking does nothing
            return
        selected = self.selected()
        if not selected:
            what = "Type" if self.session.current.free else "Choose"
            self.sections["verdict"] = f"<p>{what} an answer first.</p>"
            self._show_feedback()
            return
        if self.session.current.free:
            try:
                self.session.current.parse(selected)
            except ValueError as error:  # typed text that reads as no shape or number: say so, keep the try
                self.sections["verdict"] = f"<p>{html.escape(str(error))}</p>"
                self._show_feedback()
                return
        result = self.session.answer(selected)
        self.last_result = result
        self.solution_button.disabled = False
        self.next_button.disabled = False
        self.helper.focus_on(".rnn-quiz-next")  # first, so the focus is not left on a control being locked
        self._lock_choices(True)
        self.check_button.disabled = True
        notes = self.session.store.notices if self.session.store is not None else []
        notes = [n for n in notes + self.session.notices if n not in self.shown_notes]
        self.shown_notes += notes
        if notes:
            self.notes.value += _notes_html(notes)
        self.sections["verdict"] = self._verdict_html(result)
        self._show_feedback()
        self._show_score()

    def _verdict_html(self, result: Result) -> str:
        question = result.question
        if result.correct:
            reasons = [o.feedback for o in question.options if o.correct and o.feedback]
            reason = reasons[0] if reasons else (question.solution[-1] if question.solution else "")
            return f"<p><b>Correct.</b> {markdown_html(reason, inline=True)}</p>"
        if result.credit > 0:  # select-all: part of the mark
            head = f"<p><b>Partly right:</b> {_marks(result.credit)} of 1 mark.</p><ul>"
        else:
            head = "<p><b>Not quite.</b></p><ul>"
        parts = [head]
        for option in result.wrong_picked:
            belief = self.session.bank.misconceptions.get(option.misconception, option.misconception)
            name, why = _choice_name(question, option), markdown_html(option.feedback, inline=True)
            parts.append(
                f"<li><code>{name}</code>: {why}"
                + (f"<br><i>{as_belief(belief)}</i>" if belief else "")
                + "</li>"
            )
        missed = len(result.missed) if question.multi else 0
        if missed:  # how many, not which: the Solution names them
            parts.append(f"<li>You left out {missed} right choice{'s' if missed > 1 else ''}.</li>")
        parts.append("</ul>")
        if not question.retry:
            self.sections["later"] = "<p>This question comes back later in the session.</p>"
        parts.append("<p>Open <b>Solution</b> for the worked answer.</p>")
        return "".join(parts)

    def show_hint(self) -> None:
        self.sections["hint"] = f"<p><b>Hint:</b> {markdown_html(self.session.current.hint, inline=True)}</p>"
        self._show_feedback()

    def show_solution(self) -> None:
        """The worked solution below the feedback already shown (it adds, it does not replace)."""
        question = self.session.current
        right = (
            f"<code>{html.escape(question.key)}</code>"
            if question.free
            else ", ".join(
                f"{letter(i)}. {markdown_html(question.options[i].text, inline=True)}"
                for i in sorted(question.correct_indices)
            )
        )
        steps = "".join(f"<li>{markdown_html(step, inline=True)}</li>" for step in question.solution)
        mistakes = "".join(f"<li>{markdown_html(m, inline=True)}</li>" for m in question.mistakes)
        self.sections["solution"] = (
            f"<hr><p><b>Solution.</b> Answer: {right}</p><ol>{steps}</ol>"
            f"<p><b>Common mistakes:</b></p><ul>{mistakes}</ul>"
        )
        self.sections.pop("later", None)
        self._show_feedback()
        self.links.outputs = links_output(f"<p>Lesson: {section_link(question.item.lesson)}</p>")
        self.helper.focus_on(".rnn-quiz-next")  # the Solution button has the focus and disables itself
        self.solution_button.disabled = True

    def next(self) -> None:
        self.session.advance()
        if self.session.done:
            self._show_summary()
            return
        self._show_question(focus=True)

    def _show_summary(self) -> None:
        session = self.session
        review = []
        for result in session.results:
            for option in result.wrong_picked:
                text = session.bank.misconceptions.get(option.misconception, option.misconception)
                if not text:
                    continue
                entry = f"<li>{as_belief(text)} See {section_link(result.question.item.lesson)}.</li>"
                if entry not in review:
                    review.append(entry)
        summary = f'<p id="{self.uid}-summary" tabindex="-1">{html.escape(session.first_try_line())}</p>'
        if session.score != session.first_right:
            summary += f"<p>{html.escape(session.marks_line())}</p>"
        retried = [r for r in session.results if r.question.retry]
        if retried:
            summary += f"<p>Second tries: {sum(r.correct for r in retried)} of {len(retried)} right.</p>"
        upcoming = self._next_review()
        if upcoming:
            summary += f"<p>{html.escape(upcoming, quote=False)}</p>"
        self.sections = {"verdict": summary}
        self._show_feedback()
        self.links.outputs = links_output(
            "<p>Worth reviewing:</p><ul>" + "".join(review) + "</ul>" if review else ""
        )
        self._show_score()
        self.helper.focus_on(f"#{self.uid}-summary")  # first: Next, which has the focus, goes away
        self.header.value = "<b>Done.</b>"
        self.stem.value = ""
        self.code.value = ""
        if self.choices is not None:
            self.choices.close()
            self.choices = None
        self.choices_box.children = []
        for button in (self.check_button, self.hint_button, self.solution_button, self.next_button):
            button.disabled = True
            button.layout.display = "none"  # no dead buttons on the end screen
        if session.item_ids is None:  # a review's questions come back on their own schedule
            self.again_button.layout.display = None

    def _next_review(self) -> str:
        """When the spaced review next has questions for this learner, in words ('' without a record)."""
        from rnn_course.quiz.review import cards, next_review

        store = self.session.store
        if store is None:
            return ""
        try:
            attempts = store.attempts(self.session.learner)
        except OSError:
            return ""
        return next_review(cards(attempts, self.session.bank), 'quiz("review")')

    def try_again(self) -> None:
        """A new attempt at the same set: new draws and a new choice order, the record kept."""
        old = self.session
        attempt = old.attempt + 1
        if old.store is not None:
            try:
                attempt = max(attempt, old.store.next_attempt(old.learner, old.set_name))
            except OSError:
                pass
        seed = None if old.seed is None else old.seed + 1
        self.session = Session(
            old.bank, old.set_name, learner=old.learner, attempt=attempt, seed=seed, store=old.store
        )
        for button in (self.check_button, self.hint_button, self.solution_button, self.next_button):
            button.layout.display = None
        self.last_result = None
        self._show_question(focus=True)
        self.again_button.layout.display = "none"  # after the focus is asked to move: never left on it


def free_response_box(question) -> widgets.Text:
    """The text box of a free-response item; its description is its accessible name."""
    example = "(2, 4, 20)" if question.item.response == "shape" else "0.25"
    box = widgets.Text(
        value="",
        placeholder=f"e.g. {example}",
        description="Your answer",
        tooltip=f"Type a {question.item.response}, for example {example}",
        continuous_update=True,  # the value is in the kernel before Enter asks to check it
        layout={"width": "24em"},
    )
    box.add_class("rnn-quiz-free")
    return box
