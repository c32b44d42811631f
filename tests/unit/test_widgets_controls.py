"""The accessible controls, driven headless: what they hold and what they send to the page."""

import zlib

import pytest
import traitlets

from rnn_course.controls import ChoiceGroup, KeyboardHelper, LiveHTML, PlotImage


class Sent(list):
    """Collects the comm messages a widget sends, as the page would receive them."""

    def __init__(self, widget):
        super().__init__()
        self.widget = widget
        widget.comm.send = lambda data=None, metadata=None, buffers=None: self.append((data, buffers))


def test_enter_on_a_choice_reaches_every_submit_handler_and_nothing_else_does():
    group = ChoiceGroup(options=["A. one", "B. two"], label="Choices: pick one")
    calls = []
    group.on_submit(lambda: calls.append("first"))
    group.on_submit(lambda: calls.append("second"))
    group._on_message(group, {"event": "submit"}, [])  # what Enter on a choice sends
    assert calls == ["first", "second"]
    group._on_message(group, {"event": "something else"}, [])
    group._on_message(group, "not even a dict", [])
    assert calls == ["first", "second"]


def test_a_choice_group_holds_indices_and_refuses_anything_else():
    group = ChoiceGroup(options=["A. one", "B. two", "C. three"], multi=True)
    group.value = [0, 2]
    assert group.value == [0, 2] and group.multi
    with pytest.raises(traitlets.TraitError):
        group.value = ["A"]


def test_a_new_picture_and_its_alt_text_reach_the_page_in_one_message():
    plot = PlotImage(width=2, pixel_width=4, pixel_height=1)
    sent = Sent(plot)
    white = bytes([255] * 16)  # four RGBA pixels
    plot.show(white, "four white pixels")
    assert len(sent) == 1
    data, buffers = sent[0]
    assert data["method"] == "update" and data["state"]["alt"] == "four white pixels"
    (buffer,) = buffers  # the pixels travel as one binary buffer, compressed, not as text
    assert zlib.decompress(bytes(buffer)) == white and plot.pixels() == white


def test_pixels_of_the_wrong_size_are_refused():
    plot = PlotImage(pixel_width=4, pixel_height=2)
    with pytest.raises(ValueError, match="4x2 RGBA"):
        plot.set_pixels(bytes(16))
    assert plot.value == b"" and plot.pixels() == b""


def test_marks_are_lists_of_three_fractions():
    plot = PlotImage()
    plot.marks = [[0.5, 0.1, 0.9]]
    assert plot.marks == [[0.5, 0.1, 0.9]]
    with pytest.raises(traitlets.TraitError):
        plot.marks = [["left", 0.1, 0.9]]


def test_every_control_ships_its_script_and_syncs_its_state():
    for widget in (ChoiceGroup(), LiveHTML(value="<b>Correct.</b>"), PlotImage(), KeyboardHelper(root="x")):
        assert "export default" in widget._esm and "function render" in widget._esm
    assert "stopPropagation" in ChoiceGroup._esm and "stopPropagation" in KeyboardHelper._esm  # keys stay
    assert 'aria-live", "polite"' in LiveHTML._esm and 'role", "img"' in PlotImage._esm
    assert LiveHTML(value="<b>x</b>").get_state()["value"] == "<b>x</b>"


def test_an_explorer_control_changed_by_the_page_sends_no_echo_only_the_new_picture():
    from ipywidgets import FloatSlider

    from rnn_course.viz.widgets import HiddenStateExplorer

    explorer = HiddenStateExplorer(steps=30, hidden_size=6)
    radius, signal, picture = Sent(explorer.radius), Sent(explorer.signal), Sent(explorer.image)
    explorer.radius.set_state({"value": 0.7})  # what the page sends when a key moves the slider
    explorer.signal.set_state({"index": 1})  # a dropdown syncs its index
    assert explorer.radius.value == 0.7 and explorer.signal.index == 1
    assert radius == [] and signal == []  # nothing goes back to the page that changed them ...
    assert [data["method"] for data, _ in picture] == ["update", "update"]  # ... but each new picture
    assert all("layer" in data["state"] and "caption" in data["state"] for data, _ in picture)
    plain = FloatSlider()
    echoes = Sent(plain)
    plain.set_state({"value": 0.5})
    assert [data["method"] for data, _ in echoes] == ["echo_update"]  # what ipywidgets does otherwise
