"""Self-check quizzes: `from rnn_course.quiz import quiz; quiz("practice")` shows one in a notebook."""

from __future__ import annotations


def quiz(set_name: str, *, seed: int | None = None, learner: str | None = None, bank_paths=None):
    """Display the quiz widget for `set_name` (practice, test, lesson1..lesson5, or review) and return it.

    `quiz("review")` asks the items that are due in the learner's spaced review (Leitner boxes).
    """
    from IPython.display import display

    from rnn_course.quiz.bank import load_bank
    from rnn_course.quiz.cli import _default_learner
    from rnn_course.quiz.engine import Session
    from rnn_course.quiz.progress import Store
    from rnn_course.quiz.widget import QuizWidget

    bank = load_bank(bank_paths)
    if bank.problems:
        listed = "\n".join(str(p) for p in bank.problems)
        raise ValueError(f"the quiz bank has problems (run `rnn-course quiz check`):\n{listed}")
    learner = learner or _default_learner()
    store, notices = Store(), []
    try:
        attempt = store.next_attempt(learner, set_name)
        notices += store.notices
    except OSError as error:  # an unusable data folder costs the progress record, not the quiz
        store, attempt = None, 1
        notices.append(f"Progress will not be saved: {error}")
    if set_name == "review":
        import html

        import ipywidgets

        from rnn_course.quiz.review import review_session

        session, lines = review_session(bank, learner, store, attempt, seed=seed)
        if session is None:  # nothing due: say what comes when, in place of a quiz
            note = ipywidgets.HTML(
                "<p><b>Nothing is due for review.</b></p>" + "<br>".join(map(html.escape, lines))
            )
            note.add_class("rnn-quiz-review-empty")
            display(note)
            return note
    else:
        session = Session(bank, set_name, learner=learner, attempt=attempt, seed=seed, store=store)
    widget = QuizWidget(session, notices=notices)
    display(widget)
    return widget


__all__ = ["quiz"]
