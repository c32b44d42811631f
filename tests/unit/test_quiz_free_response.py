"""A free-response question in the notebook: a named text box, lenient reading, the key under Solution."""

import ipywidgets as widgets

from rnn_course.quiz import quiz_widget


def answer_right(w):
    """Answer a choice question right through its own widgets."""
    question = w.session.current
    if isinstance(w.choices, widgets.RadioButtons):
        (w.choices.index,) = question.correct_indices
    else:
        w.choices.value = sorted(question.correct_indices)  # a choice group takes the picked indices
    w.check_button.click()
    w.next_button.click()


def test_a_free_response_item_has_a_named_text_box_and_grades_what_is_typed():
    w = quiz_widget("lesson5", seed=3, learner="learner_a")
    while not w.session.current.free:
        answer_right(w)
    box = w.choices
    assert (
        isinstance(box, widgets.Text)
        and box.description == "Your answer"
        and "rnn-quiz-free" in box._dom_classes
    )
    w.check_button.click()
    assert "Type an answer first" in w.feedback.value
    box.value = "a shape"
    w.check_button.click()
    assert "is not a shape" in w.feedback.value and not w.check_button.disabled  # the try is kept
    key = w.session.current.key
    box.value = "torch.Size([" + key.strip("()") + "])"
    w.check_button.click()
    assert "Correct." in w.feedback.value and box.disabled
    w.solution_button.click()
    assert key in w.feedback.value
