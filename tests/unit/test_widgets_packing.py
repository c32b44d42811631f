"""Headless packing explorer: the numbers drawn are PackedSequence's own."""

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
    before = explorer.image.value
    original = explorer.lengths[index].value
    explorer.lengths[index].value = value
    lengths = [s.value for s in explorer.lengths]
    packed = packed_reference(lengths)
    assert explorer.figure.drawn_data() == packed.data.int().tolist()
    assert explorer.figure.drawn_batch_sizes() == packed.batch_sizes.tolist()
    fields = explorer.figure.fields_text.get_text()
    assert f"sorted_indices={packed.sorted_indices.tolist()}" in fields
    assert f"unsorted_indices={packed.unsorted_indices.tolist()}" in fields
    assert f"data={packed.data.int().tolist()}" in explorer.fields.value
    assert explorer.image.value != before
    explorer.lengths[index].value = original
    assert explorer.image.value == before


def test_grid_shows_the_padded_batch():
    explorer = PackingExplorer(lengths=(3, 1))
    padded = pad_sequence(labelled_batch([3, 1]), batch_first=True)  # (N, L_max)
    shown = [[text.get_text() for text in row[:3]] for row in explorer.figure.grid_texts[:2]]
    assert shown == [[f"{v:g}" for v in row] for row in padded.tolist()]


def test_enforce_sorted_shows_pytorchs_error_and_keeps_the_last_picture():
    explorer = PackingExplorer(lengths=(2, 1, 3, 4))
    picture = explorer.image.value
    explorer.enforce_sorted.value = True
    assert "must be sorted in decreasing order" in explorer.error.value
    assert explorer.image.value == picture
    for slider, n in zip(explorer.lengths, (6, 4, 3, 1), strict=True):
        slider.value = n
    assert explorer.error.value == "" and "sorted_indices=None" in explorer.figure.fields_text.get_text()
    assert (
        "rnn-packing-explorer" in explorer.widget._dom_classes
        and "rnn-packing-plot" in explorer.image._dom_classes
    )


def test_lengths_are_bounded():
    explorer = PackingExplorer()
    explorer.lengths[0].value = 1000
    explorer.lengths[1].value = -5
    assert explorer.lengths[0].value == 6 and explorer.lengths[1].value == 1 and explorer.error.value == ""
