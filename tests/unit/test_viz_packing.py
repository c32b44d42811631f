"""Packing layout and last states against torch.nn.utils.rnn."""

import pytest
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_sequence, unpad_sequence

from rnn_course.viz.packing import labelled_batch, last_states, packing_layout


@pytest.mark.parametrize("lengths", [[2, 1, 3], [4, 4, 1, 2], [1], [6, 5, 3, 1]])
def test_layout_equals_pack_sequence(lengths):
    layout = packing_layout(lengths)
    packed = pack_sequence(labelled_batch(lengths), enforce_sorted=False)
    assert torch.equal(layout.data, packed.data)
    assert torch.equal(layout.batch_sizes, packed.batch_sizes)
    assert torch.equal(layout.sorted_indices, packed.sorted_indices)
    assert torch.equal(layout.unsorted_indices, packed.unsorted_indices)
    assert [s.tolist() for s in unpad_sequence(layout.padded, torch.tensor(lengths), batch_first=True)] == [
        s.tolist() for s in labelled_batch(lengths)
    ]


def test_documented_example_layout():
    layout = packing_layout([2, 1, 3])
    assert layout.data.tolist() == [31, 11, 21, 32, 12, 33]
    assert layout.batch_sizes.tolist() == [3, 2, 1]
    assert layout.sorted_indices.tolist() == [2, 0, 1] and layout.unsorted_indices.tolist() == [1, 2, 0]


def test_enforce_sorted_rejects_unsorted_lengths_and_bounds_hold():
    with pytest.raises(RuntimeError, match="enforce_sorted"):
        packing_layout([1, 3], enforce_sorted=True)
    assert packing_layout([3, 1], enforce_sorted=True).sorted_indices is None
    for bad in ([], [0, 2], [7], [1, 1, 1, 1, 1]):
        with pytest.raises(ValueError):
            packing_layout(bad)


def test_packed_h_n_is_each_sequences_last_valid_step():
    torch.manual_seed(0)
    rnn = nn.RNN(2, 3, batch_first=True)
    sequences = [torch.randn(n, 2) for n in (2, 5, 3)]
    result = last_states(rnn, sequences)
    torch.testing.assert_close(result.h_n_packed, result.true_last)
    assert torch.all(result.out_last_column[[0, 2]] == 0)  # the out[:, -1] bug: zeros for shorter sequences
    torch.testing.assert_close(result.out_last_column[1], result.true_last[1])
    assert not torch.allclose(result.h_n_padded[0], result.true_last[0])  # pads moved h_n
    torch.testing.assert_close(result.h_n_padded[1], result.true_last[1])  # the longest one has no pads
