"""Verification binds the key: a wrong key is caught, and variants are right by an independent torch run."""

import dataclasses

import pytest
import torch
from torch import nn

from rnn_course.quiz.bank import BankError, load_bank
from rnn_course.quiz.check import check_item
from rnn_course.quiz.engine import render
from rnn_course.quiz.verify import shape
from tests.helpers.paths import ROOT

BANK = load_bank([ROOT / "quiz_bank"])
FIXED = [item for item in BANK.items.values() if item.verify and not item.is_variant]


def test_shape_writes_sizes_like_the_choices():
    assert shape(torch.zeros(4, 7, 3)) == "(4, 7, 3)"
    assert shape(torch.zeros(5)) == "(5,)"


def test_every_item_is_backed_by_code_or_says_why_not():
    backed = [item for item in BANK.items.values() if item.verify]
    conceptual = [item for item in BANK.items.values() if item.unverified]
    assert len(backed) + len(conceptual) == len(BANK.items)
    assert len(conceptual) <= 2, [item.id for item in conceptual]
    assert len(FIXED) >= 15


@pytest.mark.parametrize("item", FIXED, ids=lambda item: item.id)
def test_a_wrong_key_is_caught_by_verification(item):
    """Key every other choice as the answer: `check` must refuse each one."""
    assert check_item(item) == []
    keys = item.answer if item.multi else [item.answer]
    for choice in item.choices:
        if choice.text in keys:
            continue
        wrong = dataclasses.replace(item, answer=[choice.text] if item.multi else choice.text)
        problems = check_item(wrong)
        assert problems and "disagrees with the key" in problems[0].message, choice.text


def test_a_verify_block_that_raises_is_reported_at_its_own_line():
    item = BANK.items["shapes-feature-mismatch"]
    broken = dataclasses.replace(
        item, verify=item.verify.replace('startswith("RuntimeError")', 'startswith("Value")')
    )
    (problem,) = check_item(broken)
    assert isinstance(problem, BankError) and "failed: AssertionError" in problem.message
    line_in_block = next(i for i, text in enumerate(broken.verify.splitlines()) if '"Value"' in text)
    assert problem.line == item.lines["verify"] + line_in_block


def test_a_verify_block_that_only_asserts_facts_is_refused():
    """Without `answer`, a wrong key would pass: `check` says so at the verify line."""
    item = BANK.items["shapes-feature-mismatch"]
    facts_only = dataclasses.replace(item, verify='assert error.startswith("RuntimeError"), error\n')
    (problem,) = check_item(facts_only)
    assert problem.line == item.lines["verify:key"] and "must set 'answer'" in problem.message


def test_an_item_without_verify_must_say_why():
    item = BANK.items["syntax-what-rnn-does"]
    (problem,) = check_item(dataclasses.replace(item, verify=""))
    assert problem.line == item.line and "unverified: <reason>" in problem.message
    assert check_item(dataclasses.replace(item, verify="", unverified="a question of purpose")) == []


def test_every_claim_must_name_exactly_one_choice():
    item = BANK.items["packing-enforce-sorted"]
    vague = dataclasses.replace(item, verify=item.verify.replace('"Drop batch_first"', '"batch"'))
    (problem,) = check_item(vague)
    assert "claim 'batch' names 2 choices" in problem.message


@pytest.mark.parametrize("seed", range(6))
def test_hn_variant_is_right_by_an_independent_run(seed):
    question = render(BANK.items["shapes-hn-batch-first"], seed)
    p = question.params
    rnn = nn.RNN(p["I"], p["H"], num_layers=p["NL"], batch_first=True)
    _, h_n = rnn(torch.randn(p["N"], p["L"], p["I"]))  # (NL, N, H)
    (right,) = [o.text for o in question.options if o.correct]
    assert right == str(tuple(h_n.shape))
    texts = [o.text for o in question.options]
    assert len(set(texts)) == len(texts)  # a draw with N == NL would collide, so it is drawn again
    wrong = {o.text: o.misconception for o in question.options if not o.correct}
    assert wrong[str((p["N"], p["NL"], p["H"]))] == "batch-first-changes-hn"
    assert set(wrong.values()) == {"batch-first-changes-hn", "hn-is-output", "hidden-equals-input"}


@pytest.mark.parametrize("seed", range(6))
def test_param_count_variant_is_right_and_its_distractors_are_misconceptions(seed):
    question = render(BANK.items["syntax-param-count"], seed)
    p = question.params
    rnn = nn.RNN(p["I"], p["H"], num_layers=2)
    total = sum(t.numel() for t in rnn.parameters())
    (right,) = [o for o in question.options if o.correct]
    assert right.text == str(total)
    wrong = {o.misconception for o in question.options if not o.correct}
    assert wrong == {"one-bias-per-layer", "upper-layers-read-input", "bias-off-by-default"}
    texts = [o.text for o in question.options]
    assert len(set(texts)) == len(texts)


@pytest.mark.parametrize("seed", range(6))
def test_batch_sizes_variant_matches_pack_padded_sequence(seed):
    question = render(BANK.items["packing-batch-sizes"], seed)
    lengths = [question.params[k] for k in "abc"]
    packed = nn.utils.rnn.pack_padded_sequence(
        torch.zeros(3, max(lengths), 1), lengths, batch_first=True, enforce_sorted=False
    )
    (right,) = [o.text for o in question.options if o.correct]
    assert right == str(packed.batch_sizes.tolist())


def test_code_that_never_ends_is_reported_not_waited_on(monkeypatch):
    from rnn_course.quiz import verify

    monkeypatch.setattr(verify, "TIME_LIMIT_S", 1)
    item = BANK.items["shapes-batch-first-output"]
    endless = dataclasses.replace(
        item, code=item.code + "while True:\n    try:\n        pass\n    except Exception:\n        pass\n"
    )
    (problem,) = check_item(endless)
    assert problem.message == "verification of item 'shapes-batch-first-output' took longer than 1 s"


def test_an_empty_file_is_a_problem(tmp_path):
    (tmp_path / "empty.yaml").write_text("# nothing yet\n")
    (problem,) = load_bank([tmp_path / "empty.yaml"]).problems
    assert problem.line == 1 and problem.message == "the file is empty"


@pytest.mark.parametrize("item_id", ["using-perplexity", "shapes-output-default"])
def test_a_wrong_free_response_key_is_caught(item_id):
    """A free-response key is proven like any other: a key that is not what torch computes is refused."""
    item = BANK.items[item_id]
    assert item.free and check_item(item) == []
    wrong = "{{ answer + 1 }}" if item.response == "number" else "(1, 1, 1)"
    (problem,) = check_item(dataclasses.replace(item, answer=wrong))
    assert "disagrees with the key" in problem.message and problem.line == item.lines["answer"]


@pytest.mark.slow
def test_quiz_check_fails_on_a_planted_collision_of_a_plausible_mistake():
    shipped = BANK.items["shapes-hn-bidir-deep"]
    item = dataclasses.replace(shipped, params=dict(shipped.params))
    assert check_item(item) == []  # as shipped: L is odd, so it never equals 2 * num_layers
    item.params["L"] = ("range", [2, 7])  # plant it: now L = 2 * num_layers in some draws
    (problem,) = check_item(item)
    assert "lets the plausible mistake" in problem.message and "score" in problem.message


@pytest.mark.slow
@pytest.mark.parametrize("item_id", ["using-head-per-step", "using-head-per-sequence", "using-lstm-state"])
def test_the_named_degenerate_draws_are_gone(item_id):
    assert check_item(BANK.items[item_id]) == []
