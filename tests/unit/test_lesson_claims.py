"""Numbers lesson 3's text states, measured again with the package's own functions."""

import torch
import torch.nn as nn

from rnn_course.memory_task import train_memory_task
from rnn_course.viz.hidden import gradient_norms, hidden_states, make_rnn, make_signal, spectral_radius


def test_above_radius_one_the_state_stays_bounded_but_keeps_moving():
    # the explorer's own model: 32 units, no bias, seed 0, fed an impulse for 100 steps
    states = hidden_states(make_rnn(32, radius=1.5, bias=False), make_signal("impulse", 100))  # (T, H)
    late = states[50:]  # (50, H)
    assert late.abs().max() < 1
    assert 0.4 < late.abs().mean() < 0.6  # "|h| averages about 0.5 over the last 50 steps"
    assert (late[1:] - late[:-1]).norm(dim=1).min() > 0.1  # it never settles


def test_default_init_radius_one_unit_and_many():
    torch.manual_seed(0)
    one = [spectral_radius(nn.RNN(1, 1).weight_hh_l0) for _ in range(400)]
    many = [spectral_radius(nn.RNN(1, 128).weight_hh_l0) for _ in range(5)]
    assert abs(sum(one) / len(one) - 0.5) < 0.05  # |w| for w ~ U(-1, 1)
    assert 0.55 < sum(many) / len(many) < 0.65  # "about 0.6"


def test_a_trained_model_remembers_through_saturated_units_that_pass_almost_no_gradient():
    model = train_memory_task(hidden_size=16, steps=20, iterations=200, progress=False)
    states = hidden_states(model.rnn, make_signal("impulse", 60))  # (T, H)
    grads = gradient_norms(model.rnn, states)  # (T,)
    slopes = 1 - states[30] ** 2  # (H,): tanh' at t=30
    assert model.accuracy(steps=20) > 0.95
    assert 1e-21 < grads[30] < 1e-19  # "about 3e-20 at t = 30"
    assert (slopes < 0.1).sum() >= 12  # "most of its units" sit in tanh's flat tails
    assert spectral_radius(model.rnn.weight_hh_l0) > 1.5  # "a radius well above 1"
