"""Sessions: seeded variants and shuffles, letters at display time, scoring, the retry of a missed item."""

import pytest

from rnn_course.quiz.bank import load_bank
from rnn_course.quiz.engine import RETRY_GAP, Session, derive_seed, letter, render
from tests.conftest import ROOT

BANK = load_bank([ROOT / "quiz_bank"])


def texts(question):
    return [o.text for o in question.options]


def test_letters_are_derived_at_display_time():
    question = render(BANK.items["shapes-batch-first-output"], 1)
    assert question.labels() == [f"{letter(i)}. {o.text}" for i, o in enumerate(question.options)]
    assert not hasattr(question.item, "letter")


def test_same_learner_and_attempt_give_the_same_quiz_and_a_new_attempt_differs():
    one = Session(BANK, "test", learner="learner_a", attempt=1)
    again = Session(BANK, "test", learner="learner_a", attempt=1)
    later = Session(BANK, "test", learner="learner_a", attempt=2)
    other = Session(BANK, "test", learner="learner_b", attempt=1)
    assert [texts(q) for q in one.queue] == [texts(q) for q in again.queue]
    assert [q.params for q in one.queue] == [q.params for q in again.queue]
    assert [texts(q) for q in one.queue] != [texts(q) for q in later.queue]
    assert [texts(q) for q in one.queue] != [texts(q) for q in other.queue]


def test_a_fixed_seed_overrides_learner_and_attempt():
    a = Session(BANK, "test", learner="learner_a", attempt=1, seed=7)
    b = Session(BANK, "test", learner="learner_b", attempt=5, seed=7)
    assert [texts(q) for q in a.queue] == [texts(q) for q in b.queue]


def test_choice_order_is_shuffled_across_seeds():
    item = BANK.items["shapes-batch-first-output"]
    positions = {next(i for i, o in enumerate(render(item, s).options) if o.correct) for s in range(20)}
    assert len(positions) >= 3


def test_variants_draw_different_sizes():
    item = BANK.items["shapes-bidirectional-output"]
    assert len({tuple(render(item, s).params.values()) for s in range(10)}) >= 5


def test_derive_seed_is_stable():
    assert (
        derive_seed("learner_a", 1, "x")
        == derive_seed("learner_a", 1, "x")
        != derive_seed("learner_a", 2, "x")
    )


def answer_all(session, right=lambda q: True):
    while not session.done:
        question = session.current
        correct = question.correct_indices
        wrong = {next(i for i in range(len(question.options)) if i not in correct)}
        session.answer(correct if right(question) else wrong)
        session.advance()


def test_all_right_scores_full():
    session = Session(BANK, "practice", seed=3)
    answer_all(session)
    assert session.score == session.total == 5
    assert session.summary().startswith("Score: 5 / 5")


def test_a_missed_item_comes_back_later_once_and_scores_on_first_try():
    session = Session(BANK, "practice", seed=3)
    missed_id = session.current.item.id
    answer_all(session, right=lambda q: q.item.id != missed_id)  # wrong on its retry as well
    asked = [q.item.id for q in session.queue]
    assert asked.count(missed_id) == 2
    assert asked.index(missed_id, 1) == 1 + RETRY_GAP
    assert session.queue[1 + RETRY_GAP].retry
    assert session.score == 4
    assert "Review:" in session.summary()


def test_multi_select_needs_exactly_the_right_set():
    question = render(BANK.items["hidden-bidirectional-ends"], 0)
    right = question.correct_indices
    assert len(right) == 2
    assert question.grade(right).correct
    assert not question.grade({min(right)}).correct
    extra = (set(range(4)) - right).pop()
    result = question.grade(right | {extra})
    assert not result.correct and result.misconceptions == [question.options[extra].misconception]


def test_parse_accepts_letters_or_text_and_refuses_the_rest():
    question = render(BANK.items["shapes-batch-first-output"], 0)
    assert question.parse("b") == {1}
    assert question.parse(question.options[2].text) == {2}
    with pytest.raises(ValueError):
        question.parse("Z")
    with pytest.raises(ValueError):
        question.parse("AB")  # one answer only


def test_unknown_set_is_a_clear_error():
    with pytest.raises(KeyError, match="no quiz set named 'nope'"):
        Session(BANK, "nope")
