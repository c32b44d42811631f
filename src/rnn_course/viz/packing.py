"""Where every element of a padded batch lands in a PackedSequence, and which h_n packing gives."""

from dataclasses import dataclass

import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

MAX_SEQUENCES, MAX_LENGTH = 4, 6  # the packing explorer's bounds


def labelled_batch(lengths: list[int]) -> list[torch.Tensor]:
    """Sequence i holds 10*(i+1) + t + 1 at step t (11, 12, ... then 21, 22, ...): values name their place."""
    return [10 * (i + 1) + torch.arange(1, n + 1, dtype=torch.float32) for i, n in enumerate(lengths)]


@dataclass
class PackingLayout:
    """The padded grid and the PackedSequence fields for one list of lengths."""

    lengths: list[int]
    padded: torch.Tensor  # (N, L_max), batch_first, zeros where padded
    data: torch.Tensor  # (sum(lengths),), the packed values in order
    batch_sizes: torch.Tensor  # (L_max,)
    sorted_indices: torch.Tensor | None  # (N,)
    unsorted_indices: torch.Tensor | None  # (N,)


def packing_layout(lengths: list[int], enforce_sorted: bool = False) -> PackingLayout:
    """Pad and pack the labelled batch with real torch.nn.utils.rnn calls (they raise on bad lengths)."""
    lengths = [int(n) for n in lengths]
    if not 1 <= len(lengths) <= MAX_SEQUENCES or not all(1 <= n <= MAX_LENGTH for n in lengths):
        raise ValueError(
            f"need 1 to {MAX_SEQUENCES} sequences, each of length 1 to {MAX_LENGTH}; got {lengths}"
        )
    padded = pad_sequence(labelled_batch(lengths), batch_first=True)  # (N, L_max)
    packed = pack_padded_sequence(
        padded, torch.tensor(lengths), batch_first=True, enforce_sorted=enforce_sorted
    )
    return PackingLayout(
        lengths, padded, packed.data, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices
    )


@dataclass
class LastStates:
    """Last-step summaries of a padded batch, computed four ways."""

    true_last: torch.Tensor  # (N, H), output at each sequence's last valid step, run one by one
    h_n_packed: torch.Tensor  # (N, H), h_n[-1] when the batch is packed
    h_n_padded: torch.Tensor  # (N, H), h_n[-1] when the padded batch goes in as is
    out_last_column: torch.Tensor  # (N, H), out[:, -1] after pad_packed_sequence


def last_states(rnn: nn.RNN, sequences: list[torch.Tensor]) -> LastStates:
    """h_n with and without packing against each sequence run alone (one-layer batch_first RNN)."""
    lengths = torch.tensor([len(s) for s in sequences])  # (N,), stays on the CPU
    padded = pad_sequence(sequences, batch_first=True)  # (N, L_max, H_in)
    with torch.no_grad():
        true_last = torch.stack([rnn(s.unsqueeze(0))[0][0, -1] for s in sequences])  # (N, H)
        packed = pack_padded_sequence(padded, lengths, batch_first=True, enforce_sorted=False)
        packed_out, h_n_packed = rnn(packed)  # PackedSequence, (1, N, H)
        out, _ = pad_packed_sequence(packed_out, batch_first=True)  # (N, L_max, H), zeros after each end
        _, h_n_padded = rnn(padded)  # (1, N, H), the pads went through the recurrence
    return LastStates(true_last, h_n_packed[-1], h_n_padded[-1], out[:, -1])
