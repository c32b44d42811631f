"""Headless shape explorer: every control, set in code, shows the shapes a real nn.RNN returns."""

import html
import re

import pytest
import torch
import torch.nn as nn

from rnn_course.viz.widgets import ShapeExplorer


def shown_shapes(explorer) -> dict:
    """Parse the readout table back into {tensor: shape}."""
    rows = re.findall(
        r"<tr[^>]*><td><code>(\w+)</code></td><td><code>\(([\d, ]*)\)</code></td>", explorer.readout.value
    )
    return {name: tuple(int(v) for v in dims.split(",") if v.strip()) for name, dims in rows}


def reference(explorer) -> dict:
    c = {name: control.value for name, control in explorer.controls.items()}
    rnn = nn.RNN(
        c["input_size"],
        c["hidden_size"],
        c["num_layers"],
        c["nonlinearity"],
        batch_first=c["batch_first"],
        bidirectional=c["bidirectional"],
    )
    if c["input_kind"] == "unbatched 2-D":
        x = torch.zeros(c["seq_len"], c["feature_size"])  # (L, H_in)
    elif c["batch_first"]:
        x = torch.zeros(c["batch"], c["seq_len"], c["feature_size"])  # (N, L, H_in)
    else:
        x = torch.zeros(c["seq_len"], c["batch"], c["feature_size"])  # (L, N, H_in)
    output, h_n = rnn(x)
    return {"input": tuple(x.shape), "output": tuple(output.shape), "h_n": tuple(h_n.shape)}


def explorer_with_matching_sizes():
    explorer = ShapeExplorer()
    assert "rnn-shape-explorer" in explorer.widget._dom_classes
    return explorer


@pytest.mark.parametrize(
    "name, value",
    [
        ("hidden_size", 7),
        ("num_layers", 3),
        ("bidirectional", True),
        ("batch_first", True),
        ("nonlinearity", "relu"),
        ("input_kind", "unbatched 2-D"),
        ("batch", 6),
        ("seq_len", 11),
    ],
)
def test_each_control_shows_the_shapes_nn_rnn_returns(name, value):
    explorer = explorer_with_matching_sizes()
    explorer.controls[name].value = value
    assert explorer.error.value == ""
    assert shown_shapes(explorer) == reference(explorer)


def test_input_size_and_feature_size_together():
    explorer = explorer_with_matching_sizes()
    explorer.controls["input_size"].value = 12
    assert "Expected 12, got 8" in explorer.error.value
    explorer.controls["feature_size"].value = 12
    assert explorer.error.value == "" and shown_shapes(explorer) == reference(explorer)
    assert "rnn-shape-input-size" in explorer.controls["input_size"]._dom_classes
    assert "rnn-shape-feature-size" in explorer.controls["feature_size"]._dom_classes


def pytorch_error(call) -> str:
    with pytest.raises((RuntimeError, ValueError)) as info:
        call()
    return str(info.value)


def test_invalid_settings_show_pytorchs_error_and_an_explanation_without_raising():
    explorer = explorer_with_matching_sizes()
    explorer.controls["feature_size"].value = 10
    expected = pytorch_error(lambda: nn.RNN(8, 4)(torch.zeros(5, 3, 10)))
    assert expected in explorer.error.value and "<p" in explorer.error.value
    assert "role='alert'" in explorer.error.value and "<b>nn.RNN raised an error</b>" in explorer.error.value
    assert "rnn-shape-error" in explorer.error._dom_classes
    assert set(shown_shapes(explorer)) == {"input"}  # no output or h_n left over from the last good run
    assert explorer.readout.value.count("not computed") == 2
    explorer.controls["feature_size"].value = 8
    explorer.controls["input_kind"].value = "4-D (invalid)"
    assert pytorch_error(lambda: nn.RNN(8, 4)(torch.zeros(2, 5, 3, 8))) in explorer.error.value
    explorer.controls["input_kind"].value = "batched 3-D"
    explorer.controls["h0_kind"].value = "one layer too many (invalid)"
    expected = pytorch_error(lambda: nn.RNN(8, 4)(torch.zeros(5, 3, 8), torch.zeros(2, 3, 4)))
    assert html.escape(expected) in explorer.error.value
    explorer.controls["h0_kind"].value = "matching"
    assert explorer.error.value == "" and shown_shapes(explorer)["h0"] == (1, 3, 4)


def test_controls_are_bounded():
    explorer = explorer_with_matching_sizes()
    for name in ["input_size", "hidden_size", "num_layers", "batch", "seq_len", "feature_size"]:
        control = explorer.controls[name]
        control.value = 10**9  # IntSlider clamps to its max
        assert control.value == control.max <= 20
    assert explorer.controls["input_size"].value == explorer.controls["feature_size"].value
    assert explorer.error.value == ""
    assert shown_shapes(explorer) == reference(explorer)


def test_the_rows_a_change_moves_are_highlighted():
    explorer = explorer_with_matching_sizes()
    assert "changed" not in explorer.readout.value  # nothing moved yet
    explorer.controls["batch_first"].value = True
    found = re.findall(r"<tr([^>]*)><td><code>(\w+)</code>", explorer.readout.value)
    rows = {name: attrs for attrs, name in found}
    assert "background" in rows["input"] and "background" in rows["output"]
    assert "background" not in rows["h_n"]  # batch_first never moves h_n
    assert explorer.readout.value.count("<b>changed</b>") == 2


def test_the_shape_explorer_writes_h_not_h_out_and_names_its_sliders():
    explorer = explorer_with_matching_sizes()
    assert "H_out" not in explorer.readout.value and "(D*num_layers, N, H)" in explorer.readout.value
    assert any("KeyboardHelper" == type(child).__name__ for child in explorer.widget.children)
    for control in explorer.controls.values():
        # at most about 6.5 px a character: every description fits the 170 px label column
        assert control.description and len(control.description) <= 25
