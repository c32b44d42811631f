"""Headless packing explorer: the numbers drawn are PackedSequence's own."""

import pytest
import torch
from PIL import Image
from torch.nn.utils.rnn import pack_padded_sequence, pad_sequence

from rnn_course.viz.figures import SCALE
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
    fields = explorer.fields.value
    assert f"sorted_indices={packed.sorted_indices.tolist()}" in fields
    assert f"unsorted_indices={packed.unsorted_indices.tolist()}" in fields
    assert f"data={packed.data.int().tolist()}" in fields
    assert f"data = {packed.data.int().tolist()}" in explorer.image.alt
    assert explorer.image.value != before
    explorer.lengths[index].value = original
    assert explorer.image.value == before


def test_grid_shows_the_padded_batch():
    explorer = PackingExplorer(lengths=(3, 1))
    padded = pad_sequence(labelled_batch([3, 1]), batch_first=True)  # (N, L_max)
    shown = [[text.get_text() for text in row[:3]] for row in explorer.figure.grid_texts[:2]]
    assert shown == [[f"{v:g}" for v in row] for row in padded.tolist()]


def test_an_error_clears_every_derived_field_and_the_packed_picture_then_they_come_back():
    explorer = PackingExplorer(lengths=(2, 1, 3, 4))
    picture, fields, alt = explorer.image.value, explorer.fields.value, explorer.image.alt
    explorer.enforce_sorted.value = True
    error = explorer.error.value
    assert "must be sorted in decreasing order" in error
    assert "role='alert'" in error and "<b>pack_padded_sequence raised an error</b>" in error
    assert explorer.image.value != picture  # the pixels change ...
    assert explorer.figure.drawn_data() == [] and explorer.figure.drawn_batch_sizes() == []
    assert "data=" not in explorer.fields.value and "batch_sizes" not in explorer.fields.value  # and fields
    assert explorer.layout_shown is None and "no packed data" in explorer.image.alt
    explorer.lengths[1].value = 6  # still refused: the grid follows the slider, the strip stays empty
    assert explorer.figure.drawn_lengths() == [2, 6, 3, 4] and explorer.figure.drawn_data() == []
    explorer.lengths[1].value = 1
    explorer.enforce_sorted.value = False  # the error goes: everything comes back as it was
    assert explorer.error.value == ""
    assert (explorer.image.value, explorer.fields.value, explorer.image.alt) == (picture, fields, alt)
    for slider, n in zip(explorer.lengths, (6, 4, 3, 1), strict=True):
        slider.value = n
    explorer.enforce_sorted.value = True  # sorted lengths pack with enforce_sorted=True too
    assert explorer.error.value == "" and "sorted_indices=None" in explorer.fields.value
    assert (
        "rnn-packing-explorer" in explorer.widget._dom_classes
        and "rnn-packing-plot" in explorer.image._dom_classes
    )


def test_lengths_are_bounded():
    explorer = PackingExplorer()
    explorer.lengths[0].value = 1000
    explorer.lengths[1].value = -5
    assert explorer.lengths[0].value == 6 and explorer.lengths[1].value == 1 and explorer.error.value == ""


def test_the_diagram_is_sharp_readable_and_says_each_value_once():
    explorer = PackingExplorer(lengths=(2, 1, 3, 4))
    figure = explorer.figure
    width, height = (SCALE * v for v in figure.css_size)
    Image.frombytes("RGBA", (width, height), explorer.image.pixels())  # raises unless the size is exact
    assert (explorer.image.width, explorer.image.pixel_width) == (figure.css_size[0], width)
    drawn = [t for t in figure.figure.findobj(lambda a: hasattr(a, "get_fontsize")) if t.get_text()]
    assert min(t.get_fontsize() for t in drawn) >= 9
    assert not any("sorted_indices" in t.get_text() for t in drawn)  # the fields are in the HTML only
    boxes = [box for box in figure.data_boxes if box.get_visible()]
    starts = [box.get_x() for box in boxes]
    gaps = [round(b - a, 6) for a, b in zip(starts, starts[1:], strict=False)]
    assert gaps.count(max(gaps)) == 3 and max(gaps) > min(gaps) + 0.5  # 4 groups, a gap between each
