"""Self-check quizzes: `from rnn_course.quiz import quiz; quiz("practice")` shows one in a notebook."""

from __future__ import annotations


def quiz(set_name: str, *, seed: int | None = None, learner: str | None = None, bank_paths=None) -> None:
    """Show the quiz for `set_name` (practice, test, lesson1..lesson5, or review) in the notebook.

    It returns nothing, so a bare `quiz("lesson2")` as a cell's last line shows one quiz, not two.
    `quiz("review")` asks the items due in the learner's spaced review (Leitner boxes).
    """
    from IPython.display import display

    display(quiz_widget(set_name, seed=seed, learner=learner, bank_paths=bank_paths))


def quiz_widget(set_name: str, *, seed: int | None = None, learner: str | None = None, bank_paths=None):
    """The quiz widget for `set_name`, not yet shown (for code that places it itself, and for tests)."""
    from rnn_course.quiz.bank import load_bank
    from rnn_course.quiz.engine import Session
    from rnn_course.quiz.progress import Store, default_learner
    from rnn_course.quiz.widget import QuizWidget

    bank = load_bank(bank_paths)
    if bank.problems:
        listed = "\n".join(str(p) for p in bank.problems)
        raise ValueError(f"the quiz bank has problems (run `rnn-course quiz check`):\n{listed}")
    learner = learner or default_learner()
    store, notices = Store(), []
    try:
        attempt = store.next_attempt(learner, set_name)
        notices += store.notices
    except OSError as error:  # an unusable data folder costs the progress record, not the quiz
        store, attempt = None, 1
        notices.append(f"Progress will not be saved: {error}")
    if set_name == "review":
        return _review_widget(bank, learner, store, attempt, seed, notices)
    session = Session(bank, set_name, learner=learner, attempt=attempt, seed=seed, store=store)
    return QuizWidget(session, notices=notices)


def _review_widget(bank, learner, store, attempt, seed, notices):
    """The quiz over the items due for review or, when none is due, a note saying what comes when."""
    import html

    import ipywidgets

    from rnn_course.quiz.review import review_session
    from rnn_course.quiz.widget import QuizWidget

    session, lines = review_session(bank, learner, store, attempt, seed=seed)
    if session is not None:
        return QuizWidget(session, notices=notices)
    note = ipywidgets.HTML("<p><b>Nothing is due for review.</b></p>" + "<br>".join(map(html.escape, lines)))
    note.add_class("rnn-quiz-review-empty")
    return note


__all__ = ["quiz", "quiz_widget"]
