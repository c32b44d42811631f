"""One submission per catalogued mistake: the instructor's solution with that one mistake written into it.

Each answer is an edit of the solution's own text (`_edit` fails loudly if the solution changes under it), so
a fixture is the right code except for exactly the catalogued mistake.
"""

from __future__ import annotations

from tests.helpers import real_submissions as r
from tests.helpers import submissions as s

CELL, FORWARD, MYRNN = s.CORRECT["rnn_cell"], s.CORRECT["rnn_forward"], s.CORRECT["my_rnn"]


def _edit(text: str, *replacements: tuple[str, str]) -> str:
    for old, new in replacements:
        assert text.count(old) == 1, f"the solution changed: {old!r} is not in it exactly once"
        text = text.replace(old, new)
    return text


TANH, RELU = "return torch.tanh(pre_activation)", "return torch.relu(pre_activation)"
STACK = "h_n = torch.stack(last_states)  # (D*layers, B, H)"
STEP = "h = torch.where(valid[t].unsqueeze(1), h_next, h)  # (B, H): padding leaves h alone"
RETURN = "return (x.transpose(0, 1) if self.batch_first else x), h_n  # output, (D*layers, B, H)"
DIRECTIONS = 'enumerate(["", "_reverse"][: self.num_directions])'

# mistake key -> the answers (by grade id) that differ from the solution
ANSWERS = {
    "weight_ih_shape_transposed": {
        "my_rnn": _edit(
            MYRNN,
            (
                'f"weight_ih_l{layer}{suffix}": (hidden_size, layer_input_size)',
                'f"weight_ih_l{layer}{suffix}": (layer_input_size, hidden_size)',
            ),
        )
    },
    "upper_layers_read_h": {
        "my_rnn": _edit(
            MYRNN,
            (
                "layer_input_size = input_size if layer == 0 else hidden_size * self.num_directions",
                "layer_input_size = input_size if layer == 0 else hidden_size",
            ),
        )
    },
    "always_tanh": {"rnn_cell": s.RNN_CELL_ALWAYS_TANH},
    "always_relu": {"rnn_cell": _edit(CELL, (TANH, RELU))},
    "swapped_nonlinearity": {"rnn_cell": _edit(CELL, (TANH, "TANH"), (RELU, TANH), ("TANH", RELU))},
    "one_bias": {"my_rnn": r.TEXTBOOK_MYRNN},
    "init_too_small": {"my_rnn": r.TINY_INIT_MYRNN},
    "bias_ih_dropped": {"rnn_cell": _edit(CELL, ("pre_activation + bias_ih", "pre_activation"))},
    "bias_hh_dropped": {"rnn_cell": _edit(CELL, ("pre_activation + bias_hh", "pre_activation"))},
    "weight_hh_not_transposed": {"rnn_cell": _edit(CELL, ("h @ weight_hh.T", "h @ weight_hh"))},
    "weight_ih_not_transposed": {"rnn_cell": _edit(CELL, ("x @ weight_ih.T", "x @ weight_ih"))},
    "output_before_update": {
        "rnn_forward": _edit(
            FORWARD,
            (
                "        h = rnn_cell(x_t, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity)  # (B, H)\n"
                "        outputs.append(h)\n",
                "        outputs.append(h)\n"
                "        h = rnn_cell(x_t, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity)  # (B, H)\n",
            ),
        )
    },
    "float32_state": {"rnn_forward": _edit(FORWARD, ("x.new_zeros(", "torch.zeros("))},
    "hx_changed_in_place": {"my_rnn": r.IN_PLACE_HX_MYRNN},
    "h0_ignored": {"rnn_forward": _edit(FORWARD, (" if h0 is None else h0", ""))},
    "same_h0_every_layer": {
        "my_rnn": _edit(MYRNN, ("h = hx[layer * self.num_directions + direction]", "h = hx[0]"))
    },
    "batch_first_ignored": {
        "my_rnn": _edit(
            MYRNN,
            ("x = input.transpose(0, 1) if self.batch_first else input", "x = input"),
            (RETURN, "return x, h_n"),
        )
    },
    "batch_first_output_time_first": {"my_rnn": _edit(MYRNN, (RETURN, "return x, h_n"))},
    "batch_first_moves_h_n": {
        "my_rnn": _edit(
            MYRNN,
            (
                RETURN,
                "return (x.transpose(0, 1) if self.batch_first else x), "
                "(h_n.transpose(0, 1) if self.batch_first else h_n)",
            ),
        )
    },
    "unbatched_keeps_batch_axis": {
        "my_rnn": _edit(MYRNN, ("return x.squeeze(1), h_n.squeeze(1)", "return x, h_n"))
    },
    "output_first_layer": {
        "my_rnn": _edit(
            MYRNN,
            (
                "            x = torch.cat(direction_outputs, dim=2)  # (L, B, D*H): the next layer's input\n",
                "            x = torch.cat(direction_outputs, dim=2)  # (L, B, D*H): the next layer's input\n"
                "            first_output = x if layer == 0 else first_output  # (L, B, D*H)\n",
            ),
            (STACK, STACK + "\n        x = first_output  # (L, B, D*H)"),
        )
    },
    "h_n_last_layer_only": {
        "my_rnn": _edit(MYRNN, (STACK, "h_n = torch.stack(last_states[-self.num_directions:])"))
    },
    "h_n_layers_reversed": {
        "my_rnn": _edit(
            MYRNN,
            (
                STACK,
                (
                    "h_n = torch.stack([last_states[layer * self.num_directions + direction]\n"
                    "                           for layer in reversed(range(self.num_layers))\n"
                    "                           for direction in range(self.num_directions)])"
                ),
            ),
        )
    },
    "h_n_direction_major": {
        "my_rnn": _edit(
            MYRNN,
            (
                STACK,
                (
                    "h_n = torch.stack([last_states[layer * self.num_directions + direction]\n"
                    "                           for direction in range(self.num_directions)\n"
                    "                           for layer in range(self.num_layers)])"
                ),
            ),
        )
    },
    "bidirectional_ignored": {"my_rnn": _edit(MYRNN, (DIRECTIONS, 'enumerate([""])'))},
    "output_forward_only": {
        "my_rnn": _edit(MYRNN, (STACK, STACK + "\n        x = x[..., : self.hidden_size]"))
    },
    "output_directions_swapped": {
        "my_rnn": _edit(
            MYRNN,
            ("x = torch.cat(direction_outputs, dim=2)", "x = torch.cat(direction_outputs[::-1], dim=2)"),
        )
    },
    "h_n_directions_swapped": {
        "my_rnn": _edit(
            MYRNN,
            (
                STACK,
                (
                    "h_n = torch.stack([last_states[layer * self.num_directions + direction]\n"
                    "                           for layer in range(self.num_layers)\n"
                    "                           for direction in reversed(range(self.num_directions))])"
                ),
            ),
        )
    },
    "backward_reads_forward": {
        "my_rnn": _edit(
            MYRNN,
            (
                "steps = range(seq_len) if direction == 0 else reversed(range(seq_len))",
                "steps = range(seq_len)",
            ),
        )
    },
    "backward_output_not_realigned": {
        "my_rnn": _edit(MYRNN, ("outputs[t] = h", "outputs[t if direction == 0 else seq_len - 1 - t] = h"))
    },
    "h_n_backward_from_last_step": {
        "my_rnn": _edit(MYRNN, ("last_states.append(h)", "last_states.append(outputs[-1])"))
    },
    "packed_not_handled": {
        "my_rnn": _edit(MYRNN, ("is_packed = isinstance(input, PackedSequence)", "is_packed = False"))
    },
    "packed_no_mask": {"my_rnn": _edit(MYRNN, (STEP, "h = h_next  # (B, H)"))},
    "backward_starts_on_padding": {
        "my_rnn": _edit(
            MYRNN,
            (
                STEP,
                "h = h_next if direction == 1 else torch.where(valid[t].unsqueeze(1), h_next, h)  # (B, H)",
            ),
        )
    },
    "packed_h_n_sorted_order": {
        "my_rnn": _edit(MYRNN, ("input.unsorted_indices), h_n", "input.unsorted_indices), h_n[:, order]"))
    },
}

# Not diagnosed: two mistakes at once, one the catalogue does not know, and a correct solution written
# differently (the directions looped the other way round, backward first).
TWO_MISTAKES = {  # both mistakes show in every check of parts 1 and 2
    "rnn_cell": _edit(ANSWERS["swapped_nonlinearity"]["rnn_cell"], ("h @ weight_hh.T", "h @ weight_hh")),
    "my_rnn": s.MYRNN_TYPO,
}
UNKNOWN_MISTAKE = {
    "rnn_cell": _edit(
        CELL,
        ("if bias_ih is not None:", "pre_activation = 0.5 * pre_activation\n    if bias_ih is not None:"),
    )
}
DIRECTIONS_OTHER_WAY = {
    "my_rnn": _edit(
        MYRNN,
        (DIRECTIONS, 'reversed(list(enumerate(["", "_reverse"][: self.num_directions])))'),
        (
            "direction_outputs.append(torch.stack(outputs))  # (L, B, H)\n                last_states.append(h)",
            "direction_outputs.insert(0, torch.stack(outputs))  # (L, B, H)\n"
            "                last_states.insert(len(last_states) - (self.num_directions - 1 - direction), h)",
        ),
    )
}
UNDIAGNOSED = {
    "two_mistakes": TWO_MISTAKES,
    "unknown_mistake": UNKNOWN_MISTAKE,
    "directions_other_way": DIRECTIONS_OTHER_WAY,
    "correct": {},
}


def answers(changes: dict[str, str]) -> dict[str, str]:
    """The full set of answers: the solution with `changes`."""
    return {**s.CORRECT, "answer_padding": s.PADDING_ANSWER, **changes}
