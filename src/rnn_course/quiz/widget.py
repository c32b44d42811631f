"""The notebook quiz: one question at a time; check, hint, solution, misconception feedback, a score."""

from __future__ import annotations

import html
import re

import ipywidgets as widgets

from rnn_course.quiz.engine import Result, Session, letter


def markdown_html(text: str) -> str:
    """The little Markdown the bank uses: `code`, **bold**, and line breaks."""
    escaped = html.escape(text.strip())
    escaped = re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
    escaped = re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", escaped)
    return escaped.replace("\n", "<br>")


class QuizWidget(widgets.VBox):
    """Walks through a Session. Keyboard: Tab between controls, arrows pick a choice, Enter clicks."""

    def __init__(self, session: Session, notices: list[str] | None = None):
        self.session = session
        self.header = widgets.HTML()
        self.stem = widgets.HTML()
        self.code = widgets.HTML()
        self.choices_box = widgets.VBox()
        self.choices: widgets.RadioButtons | widgets.VBox | None = None
        self.check_button = widgets.Button(
            description="Check", button_style="primary", tooltip="Check your answer"
        )
        self.hint_button = widgets.Button(description="Hint", tooltip="Show a hint")
        self.solution_button = widgets.Button(
            description="Solution", tooltip="Show the worked solution (after checking)"
        )
        self.next_button = widgets.Button(description="Next", tooltip="Go to the next question")
        self.feedback = widgets.HTML()
        self.score = widgets.HTML()
        for widget, name in [
            (self.check_button, "rnn-quiz-check"),
            (self.hint_button, "rnn-quiz-hint"),
            (self.solution_button, "rnn-quiz-solution"),
            (self.next_button, "rnn-quiz-next"),
            (self.feedback, "rnn-quiz-feedback"),
            (self.score, "rnn-quiz-score"),
        ]:
            widget.add_class(name)
        self.check_button.on_click(lambda _: self.check())
        self.hint_button.on_click(lambda _: self.show_hint())
        self.solution_button.on_click(lambda _: self.show_solution())
        self.next_button.on_click(lambda _: self.next())
        self.last_result: Result | None = None
        buttons = widgets.HBox([self.check_button, self.hint_button, self.solution_button, self.next_button])
        title = widgets.HTML(f"<b>{html.escape(session.title)}</b>")
        super().__init__(
            [title, self.header, self.stem, self.code, self.choices_box, buttons, self.feedback, self.score]
        )
        self.add_class("rnn-quiz")
        self.notices = list(notices or [])
        self.shown_notes = list(self.notices)
        self._show_question()

    # --- drawing -------------------------------------------------------------------------------------------

    def _show_question(self) -> None:
        question = self.session.current
        item = question.item
        again = " · <i>again</i>" if question.retry else ""
        number = f"Question {self.session.position + 1} of {len(self.session.queue)}"
        self.header.value = f"{number} · {item.topic} · {item.difficulty}{again}"
        self.stem.value = markdown_html(question.stem)
        self.code.value = f"<pre>{html.escape(question.code.rstrip())}</pre>" if question.code.strip() else ""
        if question.free:
            self.choices = free_response_box(question)
            self.choices_box.children = [self.choices]
        elif question.multi:
            boxes = [
                widgets.Checkbox(value=False, description=label, indent=False) for label in question.labels()
            ]
            self.choices = widgets.VBox(boxes)
            self.choices_box.children = [widgets.HTML("<i>Select every right choice.</i>"), self.choices]
        else:
            self.choices = widgets.RadioButtons(
                options=question.labels(), value=None, layout={"width": "max-content"}
            )
            self.choices_box.children = [self.choices]
        self.choices.add_class("rnn-quiz-choices")
        self.check_button.disabled = False
        self.hint_button.disabled = False
        self.solution_button.disabled = True
        self.next_button.disabled = True
        self.feedback.value = "".join(f"<p><b>Note:</b> {html.escape(n)}</p>" for n in self.notices)
        self.notices = []
        self._show_score()

    def _show_score(self) -> None:
        self.score.value = f"Score: {self.session.score} / {self.session.total}"

    def selected(self) -> set[int] | str:
        if isinstance(self.choices, widgets.Text):
            return self.choices.value.strip()
        if isinstance(self.choices, widgets.RadioButtons):
            return set() if self.choices.index is None else {self.choices.index}
        return {i for i, box in enumerate(self.choices.children) if box.value}

    def _lock_choices(self, locked: bool) -> None:
        if isinstance(self.choices, widgets.RadioButtons | widgets.Text):
            self.choices.disabled = locked
        else:
            for box in self.choices.children:
                box.disabled = locked

    # --- buttons -------------------------------------------------------------------------------------------

    def check(self) -> None:
        selected = self.selected()
        if not selected:
            self.feedback.value = (
                "Type an answer first." if self.session.current.free else "Choose an answer first."
            )
            return
        if self.session.current.free:
            try:
                self.session.current.parse(selected)
            except ValueError as error:  # typed text that reads as no shape or number: say so, keep the try
                self.feedback.value = f"<p>{html.escape(str(error))}</p>"
                return
        result = self.session.answer(selected)
        self.last_result = result
        self._lock_choices(True)
        self.check_button.disabled = True
        self.solution_button.disabled = False
        self.next_button.disabled = False
        notes = self.session.store.notices if self.session.store is not None else []
        notes = [n for n in notes + self.session.notices if n not in self.shown_notes]
        self.shown_notes += notes
        self.feedback.value = self._feedback_html(result) + "".join(
            f"<p><b>Note:</b> {html.escape(n)}</p>" for n in notes
        )
        self._show_score()
        self.next_button.focus()

    def _feedback_html(self, result: Result) -> str:
        question = result.question
        if result.correct:
            notes = [o.feedback for o in question.options if o.correct and o.feedback]
            return "<p><b>Correct.</b></p>" + "".join(f"<p>{markdown_html(n)}</p>" for n in notes)
        parts = ["<p><b>Not quite.</b></p><ul>"]
        for option in result.wrong_picked:
            misconception = self.session.bank.misconceptions.get(option.misconception, option.misconception)
            parts.append(
                f"<li><code>{html.escape(option.text)}</code>: {markdown_html(option.feedback)}"
                f"<br><i>Misconception: {html.escape(misconception)}</i></li>"
            )
        for option in result.missed if question.multi else []:
            parts.append(f"<li>You left out a right choice: <code>{html.escape(option.text)}</code></li>")
        parts.append("</ul>")
        if not question.retry:
            parts.append("<p>This question comes back later in the session.</p>")
        parts.append("<p>Open <b>Solution</b> for the worked answer.</p>")
        return "".join(parts)

    def show_hint(self) -> None:
        self.feedback.value = f"<p><b>Hint:</b> {markdown_html(self.session.current.hint)}</p>"

    def show_solution(self) -> None:
        question = self.session.current
        right = (
            question.key
            if question.free
            else ", ".join(
                f"{letter(i)}. {question.options[i].text}" for i in sorted(question.correct_indices)
            )
        )
        steps = "".join(f"<li>{markdown_html(step)}</li>" for step in question.solution)
        mistakes = "".join(f"<li>{markdown_html(m)}</li>" for m in question.mistakes)
        lesson = question.item.lesson
        self.feedback.value = (
            f"<p><b>Answer:</b> {html.escape(right)}</p><ol>{steps}</ol>"
            f"<p><b>Common mistakes:</b></p><ul>{mistakes}</ul>"
            f"<p>Lesson: <code>{html.escape(lesson['notebook'])}</code>, section "
            f"“{markdown_html(lesson['section'])}”</p>"
        )

    def next(self) -> None:
        self.session.advance()
        if self.session.done:
            self._show_summary()
            return
        self._show_question()
        self.choices.focus()

    def _show_summary(self) -> None:
        session = self.session
        self.header.value = "<b>Done.</b>"
        self.stem.value = ""
        self.code.value = ""
        self.choices_box.children = []
        for button in (self.check_button, self.hint_button, self.solution_button, self.next_button):
            button.disabled = True
        review = []
        for result in session.results:
            for option in result.wrong_picked:
                lesson = result.question.item.lesson
                text = session.bank.misconceptions.get(option.misconception, option.misconception)
                where = f"{lesson['notebook']}, “{lesson['section']}”"
                entry = f"<li>{html.escape(text)} (see {html.escape(where)})</li>"
                if entry not in review:
                    review.append(entry)
        summary = f"<p>You answered {session.score} of {session.total} right on the first try.</p>"
        retried = [r for r in session.results if r.question.retry]
        if retried:
            summary += f"<p>Second tries: {sum(r.correct for r in retried)} of {len(retried)} right.</p>"
        if review:
            summary += "<p>Worth reviewing:</p><ul>" + "".join(review) + "</ul>"
        self.feedback.value = summary
        self._show_score()


def free_response_box(question) -> widgets.Text:
    """The text box of a free-response item; its description is its accessible name."""
    example = "(2, 4, 20)" if question.item.response == "shape" else "0.25"
    box = widgets.Text(
        value="",
        placeholder=f"e.g. {example}",
        description="Your answer",
        tooltip=f"Type a {question.item.response}, for example {example}",
        continuous_update=False,
        layout={"width": "24em"},
    )
    box.add_class("rnn-quiz-free")
    return box
