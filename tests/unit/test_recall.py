"""The memory task with nn.RNN, nn.LSTM and nn.GRU: the final state, the gate start, lesson 5's claim."""

import pytest
import torch
import torch.nn as nn

from rnn_course.recall import final_state, make_cell, train_recall


@pytest.mark.parametrize("kind, cls", [("rnn", nn.RNN), ("lstm", nn.LSTM), ("gru", nn.GRU)])
def test_final_state_is_the_last_output_for_every_kind(kind, cls):
    module = make_cell(kind, 6)
    assert isinstance(module, cls)
    x = torch.randn(9, 3, 1)  # (L, N, H_in)
    output, _ = module(x)  # (L, N, H)
    torch.testing.assert_close(final_state(module, x), output[-1])


def test_the_good_start_opens_the_keep_gate_or_makes_w_hh_orthogonal():
    H = 5
    lstm, gru = make_cell("lstm", H, "good"), make_cell("gru", H, "good")
    for module in (lstm, gru):
        keep = module.bias_ih_l0[H : 2 * H] + module.bias_hh_l0[H : 2 * H]  # (H,)
        assert torch.equal(keep, torch.full((H,), 2.0))
    with pytest.raises(ValueError, match="kind must be one of"):
        make_cell("transformer", H)
    with pytest.raises(ValueError, match="start must be"):
        make_cell("rnn", H, "best")
    w = make_cell("rnn", H, "good").weight_hh_l0.detach()  # (H, H)
    torch.testing.assert_close(w.T @ w, torch.eye(H))
    default = make_cell("lstm", H)
    assert default.bias_ih_l0.abs().max() <= 1 / H**0.5  # PyTorch's own start, untouched


def test_bounds_are_checked():
    with pytest.raises(ValueError, match="keep steps in"):
        train_recall("rnn", 500)
