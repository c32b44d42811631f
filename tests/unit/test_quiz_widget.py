"""The notebook quiz, driven headless: set the widgets' values, click the buttons, read feedback and score."""

import html

from IPython.core.interactiveshell import InteractiveShell

from rnn_course.controls import ChoiceGroup
from rnn_course.quiz import quiz, quiz_widget
from rnn_course.quiz.progress import Store
from rnn_course.quiz.widget import as_belief, markdown_html, section_link


def pick(widget, indices):
    """What clicking the choices does in the page: the group's value becomes the checked indices."""
    widget.choices.value = sorted(indices)


def wrong(question):
    return {next(i for i in range(len(question.options)) if i not in question.correct_indices)}


def test_the_widget_carries_the_stable_classes():
    w = quiz_widget("practice", seed=1, learner="learner_a")
    assert "rnn-quiz" in w._dom_classes
    assert "rnn-quiz-choices" in w.choices._dom_classes
    for button, name in [
        (w.check_button, "check"),
        (w.hint_button, "hint"),
        (w.solution_button, "solution"),
        (w.next_button, "next"),
    ]:
        assert f"rnn-quiz-{name}" in button._dom_classes
    assert "rnn-quiz-feedback" in w.feedback._dom_classes
    assert w.score.value == "Score: 0 / 5" and "rnn-quiz-score" in w.score._dom_classes


def test_one_question_at_a_time_with_lettered_choices():
    w = quiz_widget("practice", seed=1, learner="learner_a")
    assert w.header.value.startswith("Question 1 of 5")
    assert [label[:3] for label in w.choices.options] == ["A. ", "B. ", "C. ", "D. "]
    assert w.next_button.disabled and w.solution_button.disabled


def test_check_without_a_choice_asks_for_one():
    w = quiz_widget("practice", seed=1, learner="learner_a")
    w.check_button.click()
    assert "Choose an answer first" in w.feedback.value and w.score.value == "Score: 0 / 5"


def test_right_answer_scores_unlocks_next_and_says_why_in_one_line():
    w = quiz_widget("practice", seed=1, learner="learner_a")
    question = w.session.current
    pick(w, question.correct_indices)
    w.check_button.click()
    assert w.feedback.value.startswith("<p><b>Correct.</b> ") and w.score.value == "Score: 1 / 5"
    assert markdown_html(question.solution[-1], inline=True) in w.feedback.value  # the reason, one line
    assert w.check_button.disabled and not w.next_button.disabled and w.choices.disabled


def test_enter_on_a_choice_checks_the_answer():
    w = quiz_widget("practice", seed=1, learner="learner_a")
    pick(w, w.session.current.correct_indices)
    w.choices._on_message(w.choices, {"event": "submit"}, [])  # what Enter on a choice sends from the page
    assert "Correct." in w.feedback.value and w.check_button.disabled
    w.choices.submit()  # a second Enter after checking changes nothing
    assert w.score.value == "Score: 1 / 5" and len(w.session.results) == 1


def test_wrong_answer_states_the_belief_and_the_solution_adds_to_the_feedback():
    w = quiz_widget("practice", seed=1, learner="learner_a")
    question = w.session.current
    chosen = wrong(question)
    option = question.options[next(iter(chosen))]
    pick(w, chosen)
    w.check_button.click()
    assert "Not quite." in w.feedback.value
    belief = w.session.bank.misconceptions[option.misconception]
    assert as_belief(belief) in w.feedback.value and "You may think that " in w.feedback.value
    assert "Misconception:" not in w.feedback.value
    assert "comes back later" in w.feedback.value and w.score.value == "Score: 0 / 5"
    w.solution_button.click()
    right = question.options[next(iter(question.correct_indices))].text
    text = html.unescape(w.feedback.value)
    assert "Not quite." in text and as_belief(belief) in w.feedback.value  # shown together ...
    assert "Answer:" in text and right in text  # ... with the solution below
    assert "`" not in text and "rnn-lesson-link" not in w.feedback.value
    (link,) = (output["data"]["text/html"] for output in w.links.outputs)
    assert link.startswith(f'<p>Lesson: <a class="rnn-lesson-link" href="{question.item.lesson["notebook"]}#')
    numbered = section_link({"notebook": "02_shapes.ipynb", "section": "1. The `batch_first` layout"})
    assert 'href="02_shapes.ipynb#1.-The-batch_first-layout"' in numbered  # JupyterLab's id of the heading
    assert "<ol>" not in numbered and "<code>batch_first</code>" in numbered  # a number, not a list
    assert w.section_links.root == "rnn-quiz" and w.section_links in w.children  # lands on the section
    w.next_button.click()  # the next question comes without the last one's link
    assert w.links.outputs == ()


def test_the_progress_line_counts_questions_and_retries_honestly():
    w = quiz_widget("practice", seed=4, learner="learner_a")
    assert w.header.value.startswith("Question 1 of 5 · ")
    pick(w, wrong(w.session.current))
    w.check_button.click()
    w.next_button.click()
    assert w.header.value.startswith("Question 2 of 5 · 1 to retry · ")
    seen = []
    while not w.session.done:
        seen.append(w.header.value.split(" · ")[0])
        pick(w, w.session.current.correct_indices)
        w.check_button.click()
        w.next_button.click()
    assert seen == [
        "Question 2 of 5",
        "Question 3 of 5",
        "Retry of question 1 of 5",  # two other questions in between
        "Question 4 of 5",
        "Question 5 of 5",
    ]


def test_choices_are_one_named_group_with_markdown_rendered():
    w = quiz_widget("practice", seed=1, learner="learner_a")
    assert isinstance(w.choices, ChoiceGroup) and not w.choices.multi
    assert w.choices.label == "Choices: pick one"
    assert [label[:3] for label in w.choices.options] == ["A. ", "B. ", "C. ", "D. "]
    assert all("`" not in label for label in w.choices.options)
    assert "\n" not in w.stem.value and "><p>" in w.stem.value
    question = f'id="{w.question_id}"'  # the question names the group (aria-labelledby)
    assert question in w.stem.value and w.choices.labelledby == w.question_id


def test_quiz_shows_exactly_one_widget_and_returns_nothing():
    from IPython.utils.capture import capture_output

    InteractiveShell.instance()
    with capture_output() as captured:
        result = quiz("lesson1", seed=1, learner="learner_a")
    assert result is None  # so a bare quiz(...) as a cell's last line adds no second copy
    assert len(captured.outputs) == 1
    assert "application/vnd.jupyter.widget-view+json" in captured.outputs[0].data


def test_markdown_joins_folded_lines_and_renders_lists_and_code():
    text = "A stem that YAML folded\nmid-sentence, with `h_n` and **bold**.\n\n- one *item*\n- two"
    assert markdown_html(text) == (
        "<p>A stem that YAML folded mid-sentence, with <code>h_n</code> and <b>bold</b>.</p>"
        "<ul><li>one <i>item</i></li><li>two</li></ul>"
    )
    assert markdown_html("`a*b*c` <x>") == "<p><code>a*b*c</code> &lt;x&gt;</p>"
    assert as_belief("Zero padding is harmless.") == "You may think that zero padding is harmless."
    assert as_belief("RNN layers are `nn.Linear`.").startswith("You may think that RNN layers are <code>")


def test_hint_shows_the_hint():
    w = quiz_widget("practice", seed=1, learner="learner_a")
    w.hint_button.click()
    assert "Hint:" in w.feedback.value and "recurrent" in w.feedback.value


def test_a_whole_run_with_one_miss_ends_with_a_summary_and_saves_progress(data_dir):
    w = quiz_widget("practice", seed=4, learner="learner_a")
    first = w.session.current.item.id
    steps = 0
    while not w.session.done:
        question = w.session.current
        pick(
            w,
            wrong(question) if question.item.id == first and not question.retry else question.correct_indices,
        )
        w.check_button.click()
        w.next_button.click()
        steps += 1
    assert steps == 6  # five questions and the retry of the missed one
    assert w.score.value == "Score: 4 / 5"
    assert "4 of 5 right on the first try" in w.feedback.value and "Second tries: 1 of 1" in w.feedback.value
    assert "marks" not in w.feedback.value  # no part marks: the count says it all
    (shown,) = w.links.outputs  # the lesson links are a rendered output: JupyterLab opens them in itself
    review = shown["data"]["text/html"]
    assert review.startswith("<p>Worth reviewing:</p><ul><li>You may think that ")
    assert "rnn-lesson-link" in review
    assert "target=" not in review and 'href="0' in review  # relative to the lesson's folder, no new tab
    assert "Worth reviewing" not in w.feedback.value and "Worth reviewing" in shown["data"]["text/plain"]
    assert w.choices_box.children == () and w.next_button.disabled
    buttons = (w.check_button, w.hint_button, w.solution_button, w.next_button)
    assert all(b.layout.display == "none" for b in buttons) and w.again_button.layout.display is None
    assert "Spaced review: 1 question is due" in w.feedback.value and 'quiz("review")' in w.feedback.value
    assert w.helper.focus["selector"] == f"#{w.uid}-summary" and f'id="{w.uid}-summary"' in w.feedback.value
    attempts = Store(data_dir).attempts("learner_a")
    assert len(attempts) == 6 and sum(not a["correct"] for a in attempts) == 1


def test_multi_select_uses_checkboxes():
    w = quiz_widget("lesson4", seed=2, learner="learner_a")  # packing-last-output is select-all
    while not w.session.current.multi:
        pick(w, w.session.current.correct_indices)
        w.check_button.click()
        w.next_button.click()
    assert w.choices.multi and w.choices.label == "Choices"  # the stem already says "Select every ..."
    question = w.session.current
    pick(w, {min(question.correct_indices)})  # only half of the right set
    w.check_button.click()
    assert "Partly right:</b> 0.5 of 1 mark" in w.feedback.value
    assert "left out 1 right choice." in w.feedback.value
    left_out = question.options[max(question.correct_indices)].text
    assert html.escape(left_out) not in w.feedback.value  # named by the Solution, not before


def test_a_corrupt_progress_file_is_reported_in_the_widget(data_dir):
    (data_dir / "progress.json").write_text("{broken")
    w = quiz_widget("practice", seed=1, learner="learner_a")
    assert "kept as" in w.notes.value and "fresh progress file" in w.notes.value
    assert "Note" not in w.feedback.value  # the verdict's live region reads verdicts only
    assert "Expecting" not in w.notes.value  # no parser message


def run_through(w, answer_of):
    """Answer every question (first tries and retries) with answer_of(question); press Next after each."""
    given = []
    while not w.session.done:
        question = w.session.current
        picked = answer_of(question)
        given.append((question, picked))
        pick(w, picked)
        w.check_button.click()
        w.next_button.click()
    return given


def test_the_summary_counts_questions_right_apart_from_part_marks():
    w = quiz_widget("lesson4", seed=2, learner="learner_a")

    def half_on_select_all_else_wrong_first(question):
        if question.multi and not question.retry:
            return {min(question.correct_indices)}  # part of the mark, not right
        if not question.retry and question is w.session.queue[0]:
            return wrong(question)
        return question.correct_indices

    given = run_through(w, half_on_select_all_else_wrong_first)
    firsts = [(q, p) for q, p in given if not q.retry]
    right = sum(p == q.correct_indices for q, p in firsts)
    retried = [(q, p) for q, p in given if q.retry]
    assert len(firsts) == w.session.total and len(retried) == 2
    assert f"You answered {right} of {w.session.total} right on the first try." in w.feedback.value
    assert f"Score: {w.session.score} of {w.session.total} marks" in w.feedback.value
    assert w.session.score == right + 0.5
    assert f"Second tries: {len(retried)} of {len(retried)} right." in w.feedback.value


def test_enter_in_the_answer_box_checks_the_typed_answer():
    w = quiz_widget("lesson5", seed=4, learner="learner_a")
    while not w.session.current.free:
        pick(w, w.session.current.correct_indices)
        w.check_button.click()
        w.next_button.click()
    w.choices.value = w.session.current.key
    w.choices._handle_msg(
        {"content": {"data": {"method": "custom", "content": {"event": "submit"}}}, "buffers": []}
    )  # what the page sends on Enter in the box
    assert "Correct." in w.feedback.value and w.check_button.disabled


def test_focus_goes_where_the_learner_continues_and_never_to_a_disabled_button():
    w = quiz_widget("practice", seed=1, learner="learner_a")
    pick(w, wrong(w.session.current))
    w.check_button.click()
    assert w.helper.focus["selector"] == ".rnn-quiz-next" and not w.next_button.disabled
    w.solution_button.click()
    assert w.solution_button.disabled and w.helper.focus["selector"] == ".rnn-quiz-next"
    asked = w.helper.focus["n"]
    w.next_button.click()
    assert w.helper.focus == {"selector": f"#{w.question_id}", "n": asked + 1}
    assert f'id="{w.question_id}"' in w.stem.value and 'tabindex="-1"' in w.stem.value


def test_try_again_starts_a_new_attempt_with_new_draws(data_dir):
    w = quiz_widget("practice", seed=1, learner="learner_a")
    first = [q.labels() for q in w.session.queue]
    run_through(w, lambda q: q.correct_indices)
    w.again_button.click()
    assert w.session.attempt == 2 and not w.session.done and w.score.value == "Score: 0 / 5"
    assert w.again_button.layout.display == "none" and w.next_button.layout.display is None
    assert [q.labels() for q in w.session.queue] != first
    assert w.helper.focus["selector"] == f"#{w.question_id}"
