"""Hidden states and gradient norms against nn.RNN and autograd; the toy trainer learns its task."""

import numpy as np
import pytest
import torch
import torch.nn as nn

from rnn_course.memory_task import memory_batch, train_memory_task
from rnn_course.viz.hidden import (
    SIGNALS,
    gradient_norms,
    hidden_states,
    make_rnn,
    make_signal,
    spectral_radius,
)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_hidden_states_equal_nn_rnn_and_the_recurrence(nonlinearity):
    rnn = make_rnn(8, nonlinearity, radius=0.9, seed=3)
    signal = make_signal("noise", 30)  # (T,)
    states = hidden_states(rnn, signal)  # (T, H)
    output, h_n = rnn(signal.view(30, 1, 1))  # (T, 1, H), (1, 1, H)
    torch.testing.assert_close(states, output[:, 0].detach())
    torch.testing.assert_close(states[-1], h_n[0, 0].detach())
    act = torch.tanh if nonlinearity == "tanh" else torch.relu
    h = torch.zeros(8)  # (H,)
    for t in range(30):
        h = act(rnn.weight_ih_l0[:, 0] * signal[t] + rnn.bias_ih_l0 + rnn.weight_hh_l0 @ h + rnn.bias_hh_l0)
        torch.testing.assert_close(states[t], h.detach(), atol=1e-5, rtol=0)


@pytest.mark.parametrize("radius", [0.3, 1.0, 1.7])
def test_make_rnn_sets_the_spectral_radius(radius):
    rnn = make_rnn(16, radius=radius)
    eigenvalues = np.linalg.eigvals(rnn.weight_hh_l0.detach().double().numpy())
    assert abs(np.abs(eigenvalues).max() - radius) < 1e-5
    assert abs(spectral_radius(rnn.weight_hh_l0) - radius) < 1e-5


@pytest.mark.parametrize("nonlinearity, radius", [("tanh", 0.8), ("relu", 1.3)])
def test_gradient_norms_equal_autograd_through_nn_rnn(nonlinearity, radius):
    rnn = make_rnn(6, nonlinearity, radius=radius, seed=1).double()
    signal = make_signal("sine", 12).double()  # (T,)
    x = signal.view(12, 1)  # (T, H_in), unbatched
    states = hidden_states(rnn, signal)  # (T, H)
    norms = gradient_norms(rnn, states)  # (T,)
    for t in [0, 4, 10, 11]:
        h_t = states[t].clone()  # (H,)

        def last_state(h, t=t):
            rest = x[t + 1 :]  # (T - t - 1, H_in)
            return h if len(rest) == 0 else rnn(rest, h.view(1, -1))[1][0]  # (H,)

        jacobian = torch.autograd.functional.jacobian(last_state, h_t)  # (H, H)
        assert norms[t].item() == pytest.approx(torch.linalg.matrix_norm(jacobian).item(), rel=1e-6)


def test_gradients_vanish_for_a_small_radius_and_grow_for_a_large_one():
    small = make_rnn(32, "relu", radius=0.5)
    large = make_rnn(32, "relu", radius=1.5)
    zero = torch.zeros(60)  # (T,), no input: the linear regime of relu around the bias
    g_small = gradient_norms(small, hidden_states(small, zero))
    g_large = gradient_norms(large, hidden_states(large, zero))
    assert g_small[0] < 1e-6 * g_small[-2]
    assert g_large[0] > g_small[0]


def test_signals_are_reproducible_and_checked():
    for kind in SIGNALS:
        torch.testing.assert_close(make_signal(kind, 50), make_signal(kind, 50))
        assert make_signal(kind, 50).shape == (50,)
    assert make_signal("impulse", 5).tolist() == [1, 0, 0, 0, 0]
    with pytest.raises(ValueError, match="signal"):
        make_signal("square", 10)


def test_explorer_functions_reject_a_stacked_rnn():
    with pytest.raises(ValueError, match="one-layer"):
        hidden_states(nn.RNN(1, 4, num_layers=2), torch.zeros(5))


def test_memory_task_is_learned_in_a_few_hundred_steps():
    model = train_memory_task(progress=False)
    assert model.losses[-1] < 0.1 < model.losses[0]
    assert model.accuracy(steps=20) > 0.95
    x, y = memory_batch(4, 10, 0.3, torch.Generator().manual_seed(5))
    assert x.shape == (10, 4, 1) and torch.equal(x[0, :, 0], 2 * y - 1)


def test_gradient_norms_stay_finite_far_beyond_float_range():
    tiny = make_rnn(16, "tanh", radius=0.1)
    huge = make_rnn(16, "relu", radius=2.0)
    g_tiny = gradient_norms(tiny, hidden_states(tiny, make_signal("noise", 400)))  # 0.1**400 underflows
    g_huge = gradient_norms(huge, hidden_states(huge, torch.zeros(400)))
    assert torch.isfinite(g_tiny).all() and torch.isfinite(g_huge).all()
    assert g_tiny[0] < 1e-100 and g_tiny[-1] == pytest.approx(4.0)  # ||I||_F = sqrt(16)


def test_one_thread_restores_the_thread_count_even_after_an_error():
    from rnn_course.threads import one_thread

    before = torch.get_num_threads()
    with pytest.raises(KeyError), one_thread():
        assert torch.get_num_threads() == 1
        raise KeyError
    assert torch.get_num_threads() == before
