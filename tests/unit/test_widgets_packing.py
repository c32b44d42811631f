"""Headless packing explorer: the numbers drawn are PackedSequence's own."""

import re

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_sequence

from rnn_course.viz.packing import labelled_batch
from rnn_course.viz.widgets import PackingExplorer


def packed_reference(lengths):
    padded = pad_sequence(labelled_batch(lengths), batch_first=True)  # (N, L_max)
    return pack_padded_sequence(padded, torch.tensor(lengths), batch_first=True, enforce_sorted=False)


@pytest.mark.parametrize("index, value", [(0, 5), (1, 6), (2, 1), (3, 2)])
def test_each_length_updates_the_diagram_to_packedsequence(index, value):
    explorer = PackingExplorer()
    before = explorer.view.value
    original = explorer.lengths[index].value
    explorer.lengths[index].value = value
    lengths = [s.value for s in explorer.lengths]
    packed = packed_reference(lengths)
    assert explorer.diagram.drawn_data() == packed.data.int().tolist()
    assert explorer.diagram.drawn_batch_sizes() == packed.batch_sizes.tolist()
    fields = explorer.fields
    assert f"sorted_indices={packed.sorted_indices.tolist()}" in fields
    assert f"unsorted_indices={packed.unsorted_indices.tolist()}" in fields
    assert f"data={packed.data.int().tolist()}" in fields
    assert f"data = {packed.data.int().tolist()}" in explorer.alt
    assert explorer.diagram.svg in explorer.view.value and fields in explorer.view.value  # one message
    assert explorer.view.value != before
    explorer.lengths[index].value = original
    assert explorer.view.value == before


def test_grid_shows_the_padded_batch():
    explorer = PackingExplorer(lengths=(3, 1))
    padded = pad_sequence(labelled_batch([3, 1]), batch_first=True)  # (N, L_max)
    assert explorer.diagram.drawn_grid() == [f"{v:g}" for row in padded.tolist() for v in row]


def test_an_error_clears_every_derived_field_and_the_packed_picture_then_they_come_back():
    explorer = PackingExplorer(lengths=(2, 1, 3, 4))
    view, fields, alt = explorer.view.value, explorer.fields, explorer.alt
    explorer.enforce_sorted.value = True
    error = explorer.error
    assert "must be sorted in decreasing order" in error
    assert "role='alert'" in error and "<b>pack_padded_sequence raised an error</b>" in error
    view_now = explorer.view.value
    assert error in view_now and view_now.index(error) < view_now.index("<svg")  # above the picture
    assert explorer.diagram.drawn_data() == [] and explorer.diagram.drawn_batch_sizes() == []  # the picture
    assert "data=" not in explorer.view.value and "batch_sizes=" not in explorer.view.value  # and the fields
    assert explorer.layout_shown is None and "no packed data" in explorer.alt
    assert "pack_padded_sequence refused" in explorer.diagram.svg  # the strip says why it is empty
    explorer.lengths[1].value = 6  # still refused: the grid follows the slider, the strip stays empty
    assert explorer.diagram.drawn_lengths() == [2, 6, 3, 4] and explorer.diagram.drawn_data() == []
    explorer.lengths[1].value = 1
    explorer.enforce_sorted.value = False  # the error goes: everything comes back as it was
    assert explorer.error == "" and "role='alert'" not in explorer.view.value
    assert (explorer.view.value, explorer.fields, explorer.alt) == (view, fields, alt)
    for slider, n in zip(explorer.lengths, (6, 4, 3, 1), strict=True):
        slider.value = n
    explorer.enforce_sorted.value = True  # sorted lengths pack with enforce_sorted=True too
    assert explorer.error == "" and "sorted_indices=None" in explorer.fields
    assert "rnn-packing-explorer" in explorer.widget._dom_classes
    assert "<div class='rnn-packing-plot'><svg" in explorer.view.value


def test_lengths_are_bounded():
    explorer = PackingExplorer()
    explorer.lengths[0].value = 1000
    explorer.lengths[1].value = -5
    assert explorer.lengths[0].value == 6 and explorer.lengths[1].value == 1 and explorer.error == ""


def test_the_diagram_is_vector_readable_named_and_says_each_value_once():
    explorer = PackingExplorer(lengths=(2, 1, 3, 4))
    svg = explorer.diagram.svg
    assert svg.startswith('<svg class="rnn-packing-diagram" role="img" aria-label="A padded batch of 4 ')
    assert "<image" not in svg and "font: 12.5px" in svg  # drawn as vector shapes and text, text >= 12.5 px
    assert "sorted_indices" not in svg  # the fields are in the HTML only
    texts = re.findall(r">([^<>]+)</text>", svg)
    assert texts.count("43") == 2  # in the grid, and once in the packed strip
    starts = explorer.diagram.data_box_starts()
    gaps = [round(b - a, 6) for a, b in zip(starts, starts[1:], strict=False)]
    assert len(starts) == 10 and gaps.count(max(gaps)) == 3 and max(gaps) > min(gaps) + 5  # 4 groups
