"""The notebook quiz, driven headless: set the widgets' values, click the buttons, read feedback and score."""

import ipywidgets as widgets
import pytest

from rnn_course.quiz import quiz_widget as quiz
from rnn_course.quiz.progress import Store


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("RNN_COURSE_DATA_DIR", str(tmp_path))
    return tmp_path


def pick(widget, indices):
    if isinstance(widget.choices, widgets.RadioButtons):
        (widget.choices.index,) = indices
    else:
        for i, box in enumerate(widget.choices.children):
            box.value = i in indices


def wrong(question):
    return {next(i for i in range(len(question.options)) if i not in question.correct_indices)}


def test_the_widget_carries_the_stable_classes():
    w = quiz("practice", seed=1, learner="learner_a")
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
    w = quiz("practice", seed=1, learner="learner_a")
    assert w.header.value.startswith("Question 1 of 5")
    assert [label[:3] for label in w.choices.options] == ["A. ", "B. ", "C. ", "D. "]
    assert w.next_button.disabled and w.solution_button.disabled


def test_check_without_a_choice_asks_for_one():
    w = quiz("practice", seed=1, learner="learner_a")
    w.check_button.click()
    assert "Choose an answer first" in w.feedback.value and w.score.value == "Score: 0 / 5"


def test_right_answer_scores_and_unlocks_next():
    w = quiz("practice", seed=1, learner="learner_a")
    pick(w, w.session.current.correct_indices)
    w.check_button.click()
    assert "Correct." in w.feedback.value and w.score.value == "Score: 1 / 5"
    assert w.check_button.disabled and not w.next_button.disabled and w.choices.disabled


def test_wrong_answer_names_its_misconception_and_the_solution_follows():
    w = quiz("practice", seed=1, learner="learner_a")
    question = w.session.current
    chosen = wrong(question)
    option = question.options[next(iter(chosen))]
    pick(w, chosen)
    w.check_button.click()
    assert "Not quite." in w.feedback.value
    assert w.session.bank.misconceptions[option.misconception] in w.feedback.value.replace("&#x27;", "'")
    assert "comes back later" in w.feedback.value and w.score.value == "Score: 0 / 5"
    w.solution_button.click()
    right = question.options[next(iter(question.correct_indices))].text
    assert "Answer:" in w.feedback.value and right in w.feedback.value
    assert question.item.lesson["notebook"] in w.feedback.value


def test_hint_shows_the_hint():
    w = quiz("practice", seed=1, learner="learner_a")
    w.hint_button.click()
    assert "Hint:" in w.feedback.value and "recurrent" in w.feedback.value


def test_a_whole_run_with_one_miss_ends_with_a_summary_and_saves_progress(data_dir):
    w = quiz("practice", seed=4, learner="learner_a")
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
    assert w.choices_box.children == () and w.next_button.disabled
    attempts = Store(data_dir).attempts("learner_a")
    assert len(attempts) == 6 and sum(not a["correct"] for a in attempts) == 1


def test_multi_select_uses_checkboxes():
    w = quiz("lesson4", seed=2, learner="learner_a")  # packing-last-output is select-all
    while not w.session.current.multi:
        pick(w, w.session.current.correct_indices)
        w.check_button.click()
        w.next_button.click()
    assert all(isinstance(box, widgets.Checkbox) for box in w.choices.children)
    question = w.session.current
    pick(w, {min(question.correct_indices)})  # only half of the right set
    w.check_button.click()
    assert "Not quite." in w.feedback.value and "left out a right choice" in w.feedback.value


def test_a_corrupt_progress_file_is_reported_in_the_widget(data_dir):
    (data_dir / "progress.json").write_text("{broken")
    w = quiz("practice", seed=1, learner="learner_a")
    assert "kept as" in w.feedback.value and "fresh progress file" in w.feedback.value

