"""Headless hidden-state explorer: the pixels follow every control and come back when it does."""

import sys

import pytest
import torch

from rnn_course.viz.hidden import make_signal
from rnn_course.viz.widgets import HiddenStateExplorer

CHANGES = [
    ("signal", "impulse"),
    ("nonlinearity", "relu"),
    ("hidden_size", 16),
    ("radius", 1.5),
    ("step", 80),
]


@pytest.fixture(scope="module")
def explorer():
    return HiddenStateExplorer(steps=60, hidden_size=12)


@pytest.mark.parametrize("name, value", CHANGES)
def test_each_control_changes_the_picture_and_returning_restores_it(explorer, name, value):
    control = getattr(explorer, name)
    before, original = explorer.image.value, control.value
    figure = explorer.figure.figure
    control.value = min(value, control.max) if isinstance(value, int | float) else value
    assert explorer.image.value != before
    control.value = original
    assert explorer.image.value == before
    assert explorer.figure.figure is figure  # one figure, updated in place
    pyplot = sys.modules.get("matplotlib.pyplot")
    assert pyplot is None or pyplot.get_fignums() == []  # nothing handed to pyplot, so nothing shows twice


def test_states_shown_are_what_nn_rnn_returns(explorer):
    explorer.signal.value = "step"
    output, _ = explorer.rnn(make_signal("step", 60).view(60, 1, 1))  # (T, 1, H)
    torch.testing.assert_close(explorer.states, output[:, 0].detach())
    assert not explorer.rnn.bias  # a fresh model is bias-free: zero input keeps h_t at 0
    explorer.step.value = 7
    assert explorer.readout.value.startswith("t = 7: h_t[:6] = [")
    assert f"{output[7, 0, 0].item():+.3f}" in explorer.readout.value
    explorer.signal.value = "sine"


def test_moving_the_time_step_only_redraws_the_step_markers(explorer):
    full_draws, data_draws = explorer.figure.full_draws, explorer.figure.data_draws
    pictures = set()
    for t in range(0, 60, 5):
        explorer.step.value = t
        pictures.add(explorer.image.value)
    assert len(pictures) == 12  # every step shows its own marker ...
    assert (explorer.figure.full_draws, explorer.figure.data_draws) == (full_draws, data_draws)  # ... cheaply
    explorer.radius.value = 0.7
    assert explorer.figure.data_draws == data_draws + 1 and explorer.figure.full_draws == full_draws


def test_radius_slider_sets_the_spectral_radius(explorer):
    explorer.radius.value = 1.2
    eigenvalues = torch.linalg.eigvals(explorer.rnn.weight_hh_l0.detach().double())
    assert eigenvalues.abs().max().item() == pytest.approx(1.2, abs=1e-5)
    explorer.radius.value = 0.9


def test_an_existing_rnn_is_explored_without_being_changed():
    torch.manual_seed(0)
    rnn = torch.nn.RNN(1, 5)
    weight = rnn.weight_hh_l0.detach().clone()
    explorer = HiddenStateExplorer(rnn=rnn, steps=30)
    assert explorer.hidden_size.disabled and explorer.hidden_size.value == 5
    output, _ = rnn(make_signal("sine", 30).view(30, 1))  # (T, H)
    torch.testing.assert_close(explorer.states, output.detach(), atol=1e-5, rtol=0)
    explorer.radius.value = 1.9
    assert torch.equal(rnn.weight_hh_l0.detach(), weight)


def test_bad_arguments_fail_at_once_and_ranges_are_bounded():
    with pytest.raises(ValueError):
        HiddenStateExplorer(steps=10**6)
    with pytest.raises(ValueError, match="one-layer"):
        HiddenStateExplorer(rnn=torch.nn.RNN(1, 4, num_layers=2))
    with pytest.raises(ValueError, match="64"):
        HiddenStateExplorer(rnn=torch.nn.RNN(1, 65))
    small = HiddenStateExplorer(rnn=torch.nn.RNN(1, 2), steps=10)
    assert small.hidden_size.value == 2 and small.states.shape == (10, 2)
    explorer = HiddenStateExplorer(steps=20, hidden_size=4)
    explorer.hidden_size.value = 10**6
    assert explorer.hidden_size.value == 64 and explorer.states.shape == (20, 64)
    explorer.radius.value = 100.0
    assert explorer.radius.value <= 2.0 and explorer.error.value == ""
    assert {"rnn-hidden-explorer"} <= set(explorer.widget._dom_classes)
    assert (
        "rnn-hidden-step" in explorer.step._dom_classes and "rnn-hidden-plot" in explorer.image._dom_classes
    )
    assert "rnn-hidden-readout" in explorer.readout._dom_classes
