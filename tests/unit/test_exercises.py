"""The exercise checker: right answers pass on every size, typical mistakes are named in the course's words,
and nothing is given away before a try. PyTorch is the reference throughout."""

import pytest
import torch

from rnn_course.exercises import EXERCISES, Mismatch, check_exercise, compare
from tests.helpers.exercise_solutions import RIGHT, WRONG, define


def test_every_exercise_has_a_right_and_a_wrong_answer_in_tests():
    assert set(RIGHT) == set(WRONG) == set(EXERCISES)


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_a_right_answer_passes_on_every_size(name):
    report = check_exercise(name, define(RIGHT[name][1]))
    assert report.passed, repr(report)
    assert len(report.outcomes) >= 3 and f"right on all {len(report.outcomes)} sizes" in repr(report)


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_a_typical_mistake_is_named(name):
    source, said = WRONG[name]
    report = check_exercise(name, define(source))
    assert report.tried and not report.passed, repr(report)
    assert said in repr(report), repr(report)
    assert "✗ wrong" in repr(report)


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_an_empty_answer_is_not_tried_yet_and_gives_nothing_away(name):
    def empty(*args): ...

    for answer in (empty, ...):
        report = check_exercise(name, answer)
        text = repr(report)
        assert not report.tried and not report.passed
        assert "not tried yet" in text and "shape" not in text and "PyTorch has" not in text, text


def test_the_lesson_2_mistake_is_caught_only_where_samples_mix():
    report = check_exercise("per_sequence_scores", define(WRONG["per_sequence_scores"][0]))
    by_case = {o.name: o.status for o in report.outcomes}
    # One sequence (N = 1) or one direction: reshaping h_n[-2:] happens to be right.
    assert by_case["N=1, H=3, num_layers=3, bidirectional=True, 2 classes"] == "right"
    assert by_case["N=3, H=4, num_layers=1, bidirectional=False, 2 classes"] == "right"
    assert by_case["N=3, H=4, num_layers=2, bidirectional=True, 5 classes"] == "wrong"


def test_shape_and_element_messages():
    want = torch.zeros(2, 3)  # (N, H)
    with pytest.raises(Mismatch, match=r"shape expected \(2, 3\), got \(3, 2\)"):
        compare(torch.zeros(3, 2), want)
    got = want.clone()
    got[1, 2] = 0.5
    with pytest.raises(
        Mismatch, match=r"1 of 6 elements differ; the first is at index \(1, 2\): you have 0.5000"
    ):
        compare(got, want)
    with pytest.raises(Mismatch, match="should be a tuple of 2 tensors"):
        compare(want, (want, want))
    with pytest.raises(Mismatch, match="should be a tensor, not a list"):
        compare([0.0], want)


def test_an_error_in_the_learners_code_is_reported_not_raised():
    def broken(x_t, h_prev, rnn):
        return x_t @ rnn.weight_hh_l0  # (N, H_in) @ (H, H): the wrong matrix

    report = check_exercise("rnn_step", broken)
    assert not report.passed and "your function raised RuntimeError" in repr(report)


def test_forgetting_to_return_after_a_first_answer_is_wrong_not_untried():
    calls = []

    def sometimes(x_t, h_prev, rnn):
        calls.append(1)
        if len(calls) == 1:
            return torch.zeros(x_t.shape[0], rnn.hidden_size)  # (N, H)
        return None

    report = check_exercise("rnn_step", sometimes)
    assert report.tried and "did it forget to return" in repr(report)


def test_the_chunk_check_needs_the_detach_not_only_the_values():
    report = check_exercise("run_in_chunks", define(WRONG["run_in_chunks"][0]))
    statuses = [o.status for o in report.outcomes]
    assert "right" in statuses  # one chunk covering the whole sequence: nothing to detach
    assert all("output is right" in o.message for o in report.outcomes if o.status == "wrong")


def test_the_lstm_step_matches_lstm_cell_and_the_gate_order_matters():
    cell = torch.nn.LSTMCell(3, 2)
    x_t, h, c = torch.randn(4, 3), torch.randn(4, 2), torch.randn(4, 2)  # (N, H_in), (N, H), (N, H)
    mine = define(RIGHT["lstm_step"][1])(x_t, h, c, cell)
    torch.testing.assert_close(mine, cell(x_t, (h, c)))
    assert check_exercise("lstm_step", define(WRONG["lstm_step"][0])).outcomes[0].status == "wrong"


def test_unknown_exercise_and_non_function():
    with pytest.raises(ValueError, match="unknown exercise"):
        check_exercise("nope", lambda: None)
    assert "pass your function itself" in repr(check_exercise("rnn_step", torch.zeros(2)))
