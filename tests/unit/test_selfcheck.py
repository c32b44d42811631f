"""The prediction checker: right, wrong and untried, judged against values PyTorch computes here."""

import pytest
import torch
import torch.nn as nn

from rnn_course.selfcheck import REASONS, RIGHT, UNTRIED, WRONG, check_predictions, judge


@pytest.fixture(scope="module")
def run():
    rnn = nn.RNN(10, 20, num_layers=2, batch_first=True)
    output, h_n = rnn(torch.randn(3, 7, 10))  # (N, L, H), (num_layers, N, H)
    return rnn, output, h_n


def test_right_predictions_are_right_with_the_reason(run):
    rnn, output, h_n = run
    report = check_predictions(
        "lesson1",
        predicted_output_shape=((3, 7, 20), output.shape),
        predicted_h_n_shape=([2, 3, 20], h_n.shape),  # a list is a shape too
        predicted_weight_ih_l1_shape=(torch.Size([20, 20]), rnn.weight_ih_l1.shape),
    )
    assert report.all_right and [v.status for v in report.verdicts] == [RIGHT] * 3
    assert report.verdicts[1].message == REASONS["lesson1"]["predicted_h_n_shape"]
    assert repr(report).endswith("All 3 predictions right.")


def test_a_wrong_prediction_gets_the_truth_and_the_reason(run):
    _, _, h_n = run
    verdict = check_predictions("lesson1", predicted_h_n_shape=((3, 2, 20), h_n.shape)).verdicts[0]
    assert verdict.status == WRONG
    assert "you said (3, 2, 20), PyTorch gives (2, 3, 20)" in verdict.message
    assert REASONS["lesson1"]["predicted_h_n_shape"] in verdict.message


def test_an_untried_prediction_gives_nothing_away(run):
    _, output, h_n = run
    report = check_predictions(
        "lesson1",
        predicted_output_shape=(..., output.shape),
        predicted_h_n_shape=((2, 3, 20), h_n.shape),
    )
    assert [v.status for v in report.verdicts] == [UNTRIED, RIGHT]
    text = repr(report)
    assert "(3, 7, 20)" not in text and REASONS["lesson1"]["predicted_output_shape"] not in text
    assert text.endswith("1 of 2 right, 0 wrong, 1 not tried yet.")


def test_all_untried_asks_for_predictions(run):
    _, output, _ = run
    report = check_predictions("lesson1", predicted_output_shape=(..., output.shape))
    assert report.summary() == "1 predictions to make: fill in each ... above, then run the cell again."


def test_tensors_are_compared_by_shape_and_value():
    bi = nn.RNN(6, 5, bidirectional=True, batch_first=True)
    output, h_n = bi(torch.randn(4, 9, 6))  # (N, L, 2H), (2, N, H)
    reason = "r"
    assert judge("top", output[:, 0, 5:], h_n[-1], reason).status == RIGHT
    assert judge("top", output[:, -1, 5:], h_n[-1], reason).status == WRONG  # same shape, other values
    assert judge("top", output[:, 0], h_n[-1], reason).status == WRONG  # other shape
    assert "not the one PyTorch computed" in judge("top", output[:, -1, 5:], h_n[-1], reason).message


@pytest.mark.parametrize(
    "guess, truth, status",
    [
        (True, True, RIGHT),
        (1, True, WRONG),  # not a yes/no answer
        (0.5, 0.5000001, RIGHT),
        (0.58, 0.5, WRONG),
        ("0.5", 0.5, WRONG),
        ([1, 5, 4], [1, 5, 4], RIGHT),
        ((1, 5, 4), [1, 5, 4], RIGHT),
        ([1, 4, 5], [1, 5, 4], WRONG),
        ("(2, 3)", torch.Size([2, 3]), WRONG),
        ((2.0, 3.0), torch.Size([2, 3]), WRONG),
    ],
)
def test_kinds_of_answers(guess, truth, status):
    assert judge("x", guess, truth, "because").status == status


def test_a_wrong_kind_of_answer_says_what_kind_is_wanted_without_the_answer():
    message = judge("x", "(2, 3)", torch.Size([2, 3]), "because").message
    assert "a tuple of whole numbers" in message and "because" not in message


def test_unknown_lessons_and_names_and_bad_pairs_are_clear_errors():
    with pytest.raises(ValueError, match="unknown lesson 'lesson9'"):
        check_predictions("lesson9")
    with pytest.raises(ValueError, match="no prediction named 'predicted_typo'"):
        check_predictions("lesson1", predicted_typo=(1, 1))
    with pytest.raises(TypeError, match=r"\(your prediction, the truth\)"):
        check_predictions("lesson1", predicted_output_shape=(1, 2, 3))


def test_which_rows_is_a_set_and_where_in_output_is_not_h_n():
    rows = judge_named("lesson4", "predicted_out_last_is_zero_for", [2, 1], [1, 2])
    assert rows.status == RIGHT
    assert judge_named("lesson4", "predicted_out_last_is_zero_for", {1, 2}, [1, 2]).status == RIGHT
    assert judge_named("lesson4", "predicted_out_last_is_zero_for", [1], [1, 2]).status == WRONG
    rnn = torch.nn.RNN(3, 5, num_layers=2, bidirectional=True, batch_first=True)
    output, h_n = rnn(torch.randn(4, 6, 3))
    truth = h_n.view(2, 2, 4, 5)[1, 1]
    assert judge_named("lesson2", "predicted_backward_top", output[:, 0, 5:], truth).status == RIGHT
    from_h_n = judge_named("lesson2", "predicted_backward_top", h_n[-1], truth)
    assert from_h_n.status == WRONG and "in output" in from_h_n.message


def judge_named(lesson, name, guess, truth):
    (verdict,) = check_predictions(lesson, **{name: (guess, truth)}).verdicts
    return verdict


def test_the_plain_text_report_wraps_between_words():
    report = check_predictions("lesson2", predicted_h_n_shape=((1, 2), (4, 4, 5)))
    lines = repr(report).splitlines()
    assert len(lines) > 2 and all(len(line) <= 100 for line in lines)
    words = " ".join(line.strip() for line in lines)
    assert "batch_first never moves its axes" in words
