"""The memory task with nn.RNN, nn.LSTM and nn.GRU: the final state, the gate start, lesson 5's claim."""

import pytest
import torch
import torch.nn as nn

from rnn_course.recall import final_state, make_cell, memory_reach, train_recall


@pytest.mark.parametrize("kind, cls", [("rnn", nn.RNN), ("lstm", nn.LSTM), ("gru", nn.GRU)])
def test_final_state_is_the_last_output_for_every_kind(kind, cls):
    module = make_cell(kind, 6)
    assert isinstance(module, cls)
    x = torch.randn(9, 3, 1)  # (L, N, H_in)
    output, _ = module(x)  # (L, N, H)
    torch.testing.assert_close(final_state(module, x), output[-1])


def test_the_keep_gate_starts_open():
    H = 5
    lstm, gru = make_cell("lstm", H), make_cell("gru", H)
    for module in (lstm, gru):
        keep = module.bias_ih_l0[H : 2 * H] + module.bias_hh_l0[H : 2 * H]  # (H,)
        assert torch.equal(keep, torch.full((H,), 2.0))
    with pytest.raises(ValueError, match="kind must be one of"):
        make_cell("transformer", H)


def test_lesson_5_claim_rnn_fails_at_50_steps_where_lstm_and_gru_recall():
    reach = memory_reach(lengths=(10, 50))
    assert reach["rnn"][0] > 0.9 and reach["rnn"][1] < 0.6
    assert min(reach["lstm"] + reach["gru"]) > 0.9


def test_bounds_are_checked():
    with pytest.raises(ValueError, match="keep steps in"):
        train_recall("rnn", 500)
