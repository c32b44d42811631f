"""Sessions: seeded variants and shuffles, letters at display time, scoring, the retry of a missed item."""

import dataclasses

import pytest

from rnn_course.quiz.bank import load_bank
from rnn_course.quiz.engine import (
    RETRY_GAP,
    Session,
    degenerate,
    derive_seed,
    letter,
    read_number,
    read_shape,
    render,
    same_answer,
)
from tests.helpers.paths import ROOT

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
    assert "You may think that " in session.summary()


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


# --- free-response answers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    ["(2, 4, 20)", "(2,4,20)", "[2, 4, 20]", "2 4 20", " 2, 4, 20 ", "torch.Size([2, 4, 20])", "2x4x20"],
)
def test_a_shape_is_read_leniently(typed):
    assert read_shape(typed) == (2, 4, 20)


def test_one_dimensional_and_bad_shapes():
    assert read_shape("(5,)") == read_shape("torch.Size([5])") == (5,)
    for bad in ("(2, four)", "", "2.5, 3", "(2, -4)"):
        with pytest.raises(ValueError, match="is not a shape"):
            read_shape(bad)


def test_numbers_are_read_leniently_and_compared_with_the_tolerance():
    assert read_number(" 0.25 ") == read_number("2.5e-1") == read_number("tensor(0.2500)") == 0.25
    assert same_answer("number", "7.39", "7.389", tolerance=0.01)
    assert not same_answer("number", "7.3", "7.389", tolerance=0.01)
    with pytest.raises(ValueError, match="is not a number"):
        read_number("about 7")


def test_a_relative_tolerance_accepts_three_significant_digits_and_refuses_a_wrong_number():
    key = "0.0009765625"  # 0.25 ** 5
    for typed in ("0.000977", "9.77e-4", "0.00098", "0.0009765625"):
        assert same_answer("number", typed, key, rel_tolerance=5e-3), typed
    # 0.001 is 2.4 % off: one significant digit is not enough, and the old absolute 1e-6 refused it too.
    assert not same_answer("number", "0.001", key, rel_tolerance=5e-3)
    for wrong in ("0.000244", "0.0039", "0", "1"):  # one step too many or too few, no memory, no fading
        assert not same_answer("number", wrong, key, rel_tolerance=5e-3), wrong
    assert same_answer("number", "977", "976.5625", rel_tolerance=5e-3)  # relative: the same at any scale


def test_free_number_items_say_their_tolerance_in_the_stem():
    for item in BANK.items.values():
        if item.response == "number" and item.rel_tolerance:
            assert item.rel_tolerance == 5e-3 and "Three significant digits are enough" in item.stem, item.id


def free_question(item_id, seed=0):
    question = render(BANK.items[item_id], seed)
    assert question.free and question.options == []  # nothing to pick from: the learner types
    return question


def test_a_typed_shape_is_graded_and_a_typical_mistake_names_its_misconception():
    question = free_question("shapes-output-default")
    L, N, H = (question.params[k] for k in "LNH")
    assert question.grade(f"torch.Size([{L}, {N}, {H}])").correct
    assert question.grade(f"[{L},{N},{H}]").credit == 1
    swapped = question.grade(f"({N}, {L}, {H})")
    assert not swapped.correct and swapped.misconceptions == ["default-batch-first"]
    assert swapped.picked == [0] and swapped.typed == f"({N}, {L}, {H})"
    other = question.grade("(1, 1, 1)")
    assert not other.correct and other.misconceptions == []


def test_a_typed_number_is_checked_against_torch():
    question = free_question("hidden-relu-echo", seed=3)
    w, k = question.params["w"], question.params["k"]
    assert question.grade(str(w**k)).correct and not question.grade("1").correct
    assert question.grade("1").misconceptions == ["memory-never-fades"]
    with pytest.raises(ValueError):
        question.parse("a lot")


# --- draws that would let a mistake score are rejected ----------------------------------------------------


def test_hn_batch_first_never_draws_batch_equal_to_sequence_length():
    item = BANK.items["shapes-hn-batch-first"]
    draws = [render(item, seed).params for seed in range(60)]
    assert all(p["N"] != p["L"] and p["L"] != p["NL"] and p["N"] != p["NL"] for p in draws)
    # Without the rule the same seeds do draw N == L: the rule is what keeps them out.
    loose = dataclasses.replace(item, distinct=[])
    assert any(p["N"] == p["L"] for p in (render(loose, seed).params for seed in range(60)))
    assert degenerate(item, {"N": 8, "L": 8, "NL": 2, "I": 3, "H": 4}).startswith(
        "parameters N=8, L=8 coincide"
    )


# --- set order: a seeded shuffle and a draw from a pool --------------------------------------------------


def test_the_test_set_draws_a_seeded_subset_in_a_seeded_order():
    one = [q.item.id for q in Session(BANK, "test", learner="learner_a", attempt=1).queue]
    again = [q.item.id for q in Session(BANK, "test", learner="learner_a", attempt=1).queue]
    later = [q.item.id for q in Session(BANK, "test", learner="learner_a", attempt=2).queue]
    assert one == again and len(one) == len(set(one)) == BANK.sets["test"].draw
    assert one != later and set(one) <= set(BANK.sets["test"].items)
    pool_order = [i for i in BANK.sets["test"].items if i in one]
    assert one != pool_order  # shuffled, not the pool's order


def test_a_set_without_shuffle_keeps_its_order():
    assert [q.item.id for q in Session(BANK, "practice", seed=1).queue] == BANK.sets["practice"].items


def test_select_all_earns_part_of_the_mark_like_moodle():
    question = render(BANK.items["hidden-bidirectional-ends"], 0)
    right = sorted(question.correct_indices)
    wrong = sorted(set(range(4)) - set(right))
    assert question.grade({right[0]}).credit == 0.5
    assert question.grade({right[0], wrong[0]}).credit == 0
    assert question.grade(set(right)).credit == 1
    session = Session(BANK, "test", seed=2, item_ids=["hidden-bidirectional-ends", "shapes-unbatched"])
    session.answer(
        {i for i, o in enumerate(session.current.options) if o.correct}
        - {max(session.current.correct_indices)}
    )
    assert session.score == 0.5
