"""Headless hidden-state explorer: the pixels follow every control and come back when it does."""

import sys
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from rnn_course.viz.figures import CSS_DPI, SCALE, HiddenStateFigure, log_limits
from rnn_course.viz.hidden import hidden_states, make_signal
from rnn_course.viz.widgets import HiddenStateExplorer, number

CHANGES = [
    ("signal", "impulse"),
    ("nonlinearity", "relu"),
    ("hidden_size", 16),
    ("radius", 1.5),
]


def shown(explorer):
    """What the page shows: the axes' pixels and the data layer it draws over them."""
    return explorer.image.value, repr(explorer.image.layer)


@pytest.fixture(scope="module")
def explorer():
    return HiddenStateExplorer(steps=60, hidden_size=12)


@pytest.mark.parametrize("name, value", CHANGES)
def test_each_control_changes_the_picture_and_returning_restores_it(explorer, name, value):
    control = getattr(explorer, name)
    before, original = shown(explorer), control.value
    figure = explorer.figure.figure
    control.value = min(value, control.max) if isinstance(value, int | float) else value
    assert shown(explorer) != before
    control.value = original
    assert shown(explorer) == before
    assert explorer.figure.figure is figure  # one figure, updated in place
    pyplot = sys.modules.get("matplotlib.pyplot")
    assert pyplot is None or pyplot.get_fignums() == []  # nothing handed to pyplot, so nothing shows twice


def test_states_shown_are_what_nn_rnn_returns(explorer):
    explorer.signal.value = "step"
    output, _ = explorer.rnn(make_signal("step", 60).view(60, 1, 1))  # (T, 1, H)
    torch.testing.assert_close(explorer.states, output[:, 0].detach())
    assert not explorer.rnn.bias  # a fresh model is bias-free: zero input keeps h_t at 0
    explorer.step.value = 7
    assert explorer.image.caption.startswith("t = 7: h_t[:6] = [")
    explorer.step.value = 30
    assert f"[{number(output[30, 0, 0].item())}, " in explorer.image.caption
    explorer.signal.value = "sine"


def test_moving_the_time_step_moves_the_marker_and_draws_nothing(explorer):
    full_draws, data_draws = explorer.figure.full_draws, explorer.figure.data_draws
    picture, places = shown(explorer), []
    for t in range(0, 60, 5):
        explorer.step.value = t
        marks = explorer.image.marks
        assert len(marks) == 4 and len({x for x, _, _ in marks}) == 1  # one line through the four panels
        places.append(marks[0][0])
        assert f"A dashed line marks t = {t}." in explorer.image.alt
    assert places == sorted(places) and len(set(places)) == 12  # every step has its own place, left to right
    ax = explorer.figure.ax_heat  # at the step's x in the picture: 0 at the left edge, 1 at the right
    for t, x in zip(range(0, 60, 5), places, strict=True):
        assert x * explorer.figure.figure.bbox.width == pytest.approx(ax.transData.transform((t, 0))[0])
    assert shown(explorer) == picture  # no new picture ...
    assert (explorer.figure.full_draws, explorer.figure.data_draws) == (full_draws, data_draws)  # ... no draw
    explorer.radius.value = 0.7  # new data and a new gradient range: only the data layer is redrawn
    assert explorer.figure.data_draws == data_draws + 1 and explorer.figure.full_draws == full_draws
    explorer.signal.value = "sine"


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
    assert explorer.image.caption_class == "rnn-hidden-readout"  # the readout, drawn with the picture


def texts(figure):
    """Every piece of text drawn in a matplotlib figure that has something to say."""
    found = figure.findobj(lambda a: hasattr(a, "get_text") and hasattr(a, "get_fontsize"))
    return [t for t in found if t.get_text()]


def test_the_figure_is_drawn_at_twice_its_display_size_and_labelled(explorer):
    figure = explorer.figure
    assert figure.figure.dpi == CSS_DPI * SCALE == 200
    width, height = figure.css_size
    image = explorer.image
    assert image.width == width and (image.pixel_width, image.pixel_height) == (2 * width, 2 * height)
    assert len(image.pixels()) == 4 * image.pixel_width * image.pixel_height  # RGBA, shown at half size:
    assert abs(image.pixel_height / image.pixel_width - height / width) < 0.01  # sharp, never stretched
    drawn = texts(figure.figure)
    assert drawn and min(t.get_fontsize() for t in drawn) >= 9
    assert figure.colourbar.ax.get_ylabel() == "h_t"
    assert [t.get_text() for t in figure.legend.get_texts()] == ["unit 0", "unit 1", "unit 2", "unit 3"]
    assert figure.ax_grad.get_ylabel() == "||dh_T/dh_t||_F" and figure.ax_grad.get_xlabel() == "time step t"
    assert "Frobenius" in explorer.image.caption and "Frobenius" in explorer.image.alt
    assert f"t = {explorer.step.value}" in explorer.image.alt
    tops = [top for _, top, _ in explorer.image.marks]
    assert tops == sorted(tops) and all(0 < top < bottom < 1 for _, top, bottom in explorer.image.marks)


def test_the_gradient_axis_fits_the_data_and_marks_a_floor():
    explorer = HiddenStateExplorer(steps=60, hidden_size=12)
    grads = explorer.grads.numpy()
    low, high = explorer.figure.ax_grad.get_ylim()
    assert low <= grads.min() < 10 * low and high / 10 < grads.max() <= high  # whole decades, no more
    labels = explorer.figure.drawn_decades()
    assert labels[0] == f"1e{round(np.log10(low))}" and 2 <= len(labels) <= 6
    assert all(low <= float(label) <= high for label in labels)
    assert not explorer.figure.floor_line.get_visible()
    explorer.radius.value = 1.5  # the axis follows: it spans the decades of the new data, not a fixed 40
    low, high = explorer.figure.ax_grad.get_ylim()
    grads = explorer.grads.numpy()
    assert low <= grads[grads > 0].min() and grads.max() <= high and np.log10(high / low) < 40
    explorer.nonlinearity.value, explorer.signal.value = "relu", "step"  # all units off before the step
    grads = explorer.grads.numpy()
    assert (grads == 0).any() and explorer.figure.floor_line.get_visible()
    low = explorer.figure.ax_grad.get_ylim()[0]
    assert low < grads[grads > 0].min() and "floor" in explorer.figure.floor_text.get_text()
    assert log_limits(np.array([0.0, 1e-3, 2.0])) == (1e-4, 10.0, True)  # zeros sit below the real values
    assert log_limits(np.array([3e-23, 5.0])) == (1e-23, 10.0, False)  # nothing pinned at 1e-20 any more


def test_an_overflowing_state_is_an_error_that_replaces_everything_then_goes():
    explorer = HiddenStateExplorer(steps=200, hidden_size=64)
    picture, frames = shown(explorer), explorer.figure.data_draws
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning may leak into the notebook either
        explorer.signal.value, explorer.nonlinearity.value = "noise", "relu"
        assert explorer.error.value == "" and explorer.image.caption  # relu at the radius it has: fine
        explorer.radius.value = 2.0  # h_t grows at every step, past float32 before t = 199
    error = explorer.error.value
    assert "role='alert'" in error and "<b>The hidden state overflowed</b>" in error and "#c62828" in error
    assert "nn.RNN returned h_" in error and "float32" in error and "spectral radius" in error
    step = int(error.split("nn.RNN returned h_")[1].split(" ")[0])
    states = hidden_states(explorer.rnn, make_signal("noise", 200))  # (T, H), the real nn.RNN's output
    fits = torch.isfinite(states).all(dim=1) & torch.isfinite(states.norm(dim=1))  # (T,)
    assert fits[:step].all() and not fits[step] and 100 < step < 200  # the first step that does not fit
    assert explorer.image.caption == "" and explorer.states is None and shown(explorer) != picture
    assert explorer.image.layer == {}  # the message alone, in the pixels
    assert explorer.image.alt.startswith("No picture") and explorer.image.marks == []
    explorer.step.value = 3  # nothing to draw a step on: still no stale picture or readout
    assert explorer.image.caption == "" and explorer.image.alt.startswith("No picture")
    assert explorer.image.marks == [] and explorer.error.value == error
    explorer.nonlinearity.value = "tanh"  # settings that work again: the error goes, everything comes back
    assert explorer.error.value == "" and explorer.image.caption.startswith("t = 3:")
    assert explorer.image.marks and explorer.figure.data_draws > frames
    assert torch.isfinite(explorer.states).all() and not explorer.image.alt.startswith("No picture")


def test_numbers_are_readable():
    assert number(1953366.375) == "1.95e+06" and number(-0.0) == "0" and number(0.0) == "0"
    assert number(-1e-7) == "-1.00e-07" and number(0.5) == "0.500" and number(-0.0125) == "-0.013"
    assert number(float("inf")) == "inf"


def test_a_new_figure_is_as_large_as_its_css_size_says():
    figure = HiddenStateFigure(8, 20)
    states = np.zeros((20, 8))  # (T, H)
    pixels = figure.update(states, np.ones(20), 1.0)
    width, height = (SCALE * v for v in figure.css_size)
    picture = Image.frombytes("RGBA", (width, height), bytes(pixels))  # raises unless the size is exact
    assert picture.getpixel((0, 0)) == (255, 255, 255, 255)  # a white margin, drawn opaque


def test_the_page_draws_the_data_from_the_figure_and_gets_the_axes_only_when_they_change():
    explorer = HiddenStateExplorer(steps=30, hidden_size=6)
    figure, layer = explorer.figure, explorer.image.layer
    cells = np.frombuffer(layer["heat"]["rgba"], np.uint8).reshape(6, 30, 4)
    expected = figure.colours.to_rgba(explorer.states.numpy().T, bytes=True)  # (H, T, 4), unit 0 on top
    assert (cells == expected).all() and (layer["heat"]["rows"], layer["heat"]["columns"]) == (6, 30)
    x0, y0, x1, y1 = figure.ax_heat.bbox.extents  # the cells fill the heatmap's axes (y from the top)
    height = figure.figure.bbox.height
    assert abs(layer["heat"]["x"] - x0) <= 1 and abs(layer["heat"]["y"] - (height - y1)) <= 1
    assert np.frombuffer(layer["lines"][0]["xy"], "<f4").shape == (2 * 30,)  # unit 0: one point a step ...
    ys = np.frombuffer(layer["lines"][4]["xy"], "<f4")[1::2]  # ||h_t|| in pixels from the top: high, small y
    norms = explorer.states.norm(dim=1).numpy()
    assert np.argmin(ys) == np.argmax(norms) and np.argmax(ys) == np.argmin(norms)
    drawn = [t["text"] for t in layer["texts"] if not t["box"]]  # every tick label: colourbar, units, ...
    assert drawn == [text for ticks in figure.ticks for text in ticks.texts()]
    assert drawn[-len(figure.drawn_decades()) :] == figure.drawn_decades()  # ... and last, the decades
    assert all(t["size"] >= 9 * SCALE * CSS_DPI / 72 for t in layer["texts"])  # 2x, like the axes' text
    sent, draws = explorer.image.value, figure.full_draws
    explorer.radius.value = 0.7  # same hidden size: the same axes' pixels; only the layer is new
    assert explorer.image.value == sent and figure.full_draws == draws and explorer.image.layer != layer
    explorer.nonlinearity.value = "relu"  # relu: the limits follow the data, but only the labels say so
    explorer.radius.value = 1.5  # h_t grows: a limit far from tanh's
    assert explorer.image.value == sent and figure.full_draws == draws
    limit = figure.limits[0]
    assert limit != 1.0 and colourbar_values(figure, explorer.image.layer) == pytest.approx(
        [float(text) for text in figure.colour_ticks.texts()], abs=1e-3 * limit
    )  # each label sits where the bar has the colour of that value: the bar says what the cells do
    explorer.hidden_size.value = 8  # a new hidden size: new axes
    assert explorer.image.value != sent and figure.full_draws == draws + 1


def colourbar_values(figure, layer) -> list[float]:
    """The value at the height of each colourbar label in the page's layer, read off the bar's colours."""
    x0, y0, x1, y1 = figure.ax_colour.bbox.extents  # pixels from the bottom
    height = figure.figure.bbox.height
    limit = figure.limits[0]
    right = [t for t in layer["texts"] if t["align"] == "left" and t["x"] > x1]  # right of the bar
    return [-limit + 2 * limit * ((height - t["y"]) - y0) / (y1 - y0) for t in right]
