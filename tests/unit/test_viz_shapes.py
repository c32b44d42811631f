"""shape_report against a real nn.RNN built and run independently in the test."""

import itertools

import pytest
import torch
import torch.nn as nn

from rnn_course.viz.shapes import ShapeConfig, shape_report


def run_directly(c: ShapeConfig):
    rnn = nn.RNN(
        c.input_size,
        c.hidden_size,
        c.num_layers,
        c.nonlinearity,
        batch_first=c.batch_first,
        bidirectional=c.bidirectional,
    )
    if c.input_kind == "unbatched 2-D":
        x = torch.randn(c.seq_len, c.feature_size)  # (L, H_in)
    elif c.batch_first:
        x = torch.randn(c.batch, c.seq_len, c.feature_size)  # (N, L, H_in)
    else:
        x = torch.randn(c.seq_len, c.batch, c.feature_size)  # (L, N, H_in)
    return rnn(x)


@pytest.mark.parametrize(
    "batch_first, bidirectional, num_layers, input_kind",
    list(itertools.product([False, True], [False, True], [1, 3], ["batched 3-D", "unbatched 2-D"])),
)
def test_valid_shapes_match_nn_rnn(batch_first, bidirectional, num_layers, input_kind):
    c = ShapeConfig(
        input_size=6,
        feature_size=6,
        hidden_size=5,
        num_layers=num_layers,
        batch_first=batch_first,
        bidirectional=bidirectional,
        input_kind=input_kind,
        batch=3,
        seq_len=7,
    )
    report = shape_report(c)
    output, h_n = run_directly(c)
    assert report.error is None
    assert report.shapes["output"] == tuple(output.shape)
    assert report.shapes["h_n"] == tuple(h_n.shape)
    assert all(len(report.axes[name]) == len(shape) for name, shape in report.shapes.items())


def test_h_n_shape_ignores_batch_first():
    plain_config = ShapeConfig(batch=3, seq_len=5, num_layers=2, bidirectional=True)
    first_config = ShapeConfig(batch=3, seq_len=5, num_layers=2, bidirectional=True, batch_first=True)
    plain, first = shape_report(plain_config), shape_report(first_config)
    plain_output, plain_h_n = run_directly(plain_config)
    first_output, first_h_n = run_directly(first_config)
    assert plain.shapes["h_n"] == first.shapes["h_n"] == tuple(plain_h_n.shape) == tuple(first_h_n.shape)
    assert plain.shapes["output"] == tuple(plain_output.shape)
    assert first.shapes["output"] == tuple(first_output.shape) != plain.shapes["output"]


def error_of(call) -> str:
    with pytest.raises((RuntimeError, ValueError)) as info:
        call()
    return str(info.value)


def test_feature_size_mismatch_shows_pytorchs_exact_error():
    report = shape_report(ShapeConfig(input_size=8, feature_size=10))
    expected = error_of(lambda: nn.RNN(8, 4)(torch.zeros(5, 3, 10)))
    assert report.error == expected
    assert "input_size" in report.explanation and "output" not in report.shapes


def test_four_d_input_shows_pytorchs_exact_error():
    report = shape_report(ShapeConfig(input_kind="4-D (invalid)"))
    assert report.error == error_of(lambda: nn.RNN(8, 4)(torch.zeros(2, 5, 3, 8)))
    assert "4th axis" in report.explanation


@pytest.mark.parametrize("bidirectional", [False, True])
def test_h0_with_one_layer_too_many_has_one_extra_row_per_direction(bidirectional):
    D = 2 if bidirectional else 1
    config = ShapeConfig(num_layers=2, bidirectional=bidirectional, h0_kind="one layer too many (invalid)")
    bad = shape_report(config)
    rnn = nn.RNN(8, 4, num_layers=3, bidirectional=bidirectional)  # the layer count h0 was built for
    assert bad.shapes["h0"] == (rnn(torch.zeros(5, 3, 8))[1].shape[0], 3, 4) == (D * 3, 3, 4)


def test_wrong_h0_shows_pytorchs_exact_error_and_a_matching_h0_runs():
    bad = shape_report(ShapeConfig(num_layers=2, bidirectional=True, h0_kind="one layer too many (invalid)"))
    rnn = nn.RNN(8, 4, num_layers=2, bidirectional=True)
    assert bad.error == error_of(lambda: rnn(torch.zeros(5, 3, 8), torch.zeros(6, 3, 4)))
    assert "D*num_layers" in bad.explanation
    good = shape_report(ShapeConfig(num_layers=2, bidirectional=True, batch_first=True, h0_kind="matching"))
    assert good.error is None and good.shapes["h0"] == good.shapes["h_n"] == (4, 3, 4)


@pytest.mark.parametrize(
    "field, value",
    [
        ("hidden_size", 0),
        ("num_layers", 5),
        ("seq_len", 10_000),
        ("batch", 10**6),
        ("nonlinearity", "sigmoid"),
    ],
)
def test_out_of_bounds_settings_are_refused(field, value):
    with pytest.raises(ValueError, match=field):
        shape_report(ShapeConfig(**{field: value}))
