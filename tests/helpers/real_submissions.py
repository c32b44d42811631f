"""Submissions in the styles learners really write: each keeps its one real-world flaw (or none).

Each is a whole answer set (by grade id), written the way published homework, textbook layers and tutorials
write an RNN, fitted to the assignment's API and nothing more.
"""

from __future__ import annotations

from tests.helpers import submissions as s

# A textbook cell: one bias vector, added once (bias_hh is never used); tanh only.
TEXTBOOK_CELL = (
    s.RNN_CELL_DEF
    + """    b = 0 if bias_ih is None else bias_ih
    return torch.tanh(torch.mm(x, weight_ih.t()) + torch.mm(h, weight_hh.t()) + b)
"""
)

# A textbook module: one bias per layer (`bias_l{k}`), everything else right.
TEXTBOOK_MYRNN = (
    s.CORRECT["my_rnn"]
    .replace(
        """                if bias:
                    shapes[f"bias_ih_l{layer}{suffix}"] = (hidden_size,)
                    shapes[f"bias_hh_l{layer}{suffix}"] = (hidden_size,)""",
        """                if bias:
                    shapes[f"bias_l{layer}{suffix}"] = (hidden_size,)""",
    )
    .replace(
        """                weights = [getattr(self, f"{kind}_l{layer}{suffix}", None)
                           for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]""",
        """                weights = [getattr(self, f"{kind}_l{layer}{suffix}", None)
                           for kind in ("weight_ih", "weight_hh", "bias", "nothing")]""",
    )
)

# rnn_forward that starts from torch.zeros: float32, while the input is float64.
FLOAT32_FORWARD = (
    s.CORRECT["rnn_forward"].split("\n    ", 1)[0]
    + '''
    """x (L, B, H_in), h0 (B, H) or None -> output (L, B, H), h_n (B, H)."""
    h = torch.zeros(x.shape[1], weight_hh.shape[0]) if h0 is None else h0
    outputs = []
    for t in range(x.shape[0]):
        h = rnn_cell(x[t], h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity)
        outputs.append(h)
    return torch.stack(outputs), h
'''
)
FLOAT32_MYRNN = s.CORRECT["my_rnn"].replace(
    "hx = x.new_zeros(self.num_layers * self.num_directions, batch, self.hidden_size)",
    "hx = torch.zeros(self.num_layers * self.num_directions, batch, self.hidden_size)",
)

# A cell that always applies relu (a tutorial's "ReLU RNN").
ALWAYS_RELU_CELL = (
    s.RNN_CELL_DEF
    + """    pre_activation = x @ weight_ih.T + h @ weight_hh.T
    if bias_ih is not None:
        pre_activation = pre_activation + bias_ih + bias_hh
    return torch.relu(pre_activation)
"""
)

# Parameters drawn from randn * 0.01, as many tutorials initialise.
TINY_INIT_MYRNN = s.CORRECT["my_rnn"].replace(
    "weight = torch.empty(shape, device=device, dtype=dtype).uniform_(-bound, bound)",
    "weight = torch.randn(shape, device=device, dtype=dtype) * 0.01",
)

# forward writes each layer's final state into the hx it was given.
IN_PLACE_HX_MYRNN = s.CORRECT["my_rnn"].replace(
    "                last_states.append(h)",
    "                last_states.append(h)\n"
    "                hx[layer * self.num_directions + direction] = h  # keeps the state in hx",
)

# Parameters in ParameterLists (`w_ih.0`, ...), one entry per layer and direction; the forward is right.
PARAMETER_LIST_MYRNN = '''class MyRNN(nn.Module):
    """Per-kind ParameterLists: one entry per layer and direction."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None):
        super().__init__()
        self.hidden_size, self.num_layers, self.nonlinearity = hidden_size, num_layers, nonlinearity
        self.batch_first, self.bias = batch_first, bias
        self.directions = 2 if bidirectional else 1
        bound = 1.0 / math.sqrt(hidden_size)

        def draw(*shape):
            return nn.Parameter(torch.empty(*shape, device=device, dtype=dtype).uniform_(-bound, bound))

        sizes = [input_size if layer == 0 else hidden_size * self.directions
                 for layer in range(num_layers) for _ in range(self.directions)]
        self.w_ih = nn.ParameterList([draw(hidden_size, size) for size in sizes])
        self.w_hh = nn.ParameterList([draw(hidden_size, hidden_size) for _ in sizes])
        self.b_ih = nn.ParameterList([draw(hidden_size) for _ in sizes] if bias else [])
        self.b_hh = nn.ParameterList([draw(hidden_size) for _ in sizes] if bias else [])

    def forward(self, input, hx=None):
        is_packed = isinstance(input, PackedSequence)
        unbatched = not is_packed and input.dim() == 2
        if is_packed:
            x, lengths = pad_packed_sequence(input)
        elif unbatched:
            x = input.unsqueeze(1)
            hx = None if hx is None else hx.unsqueeze(1)
        else:
            x = input.transpose(0, 1) if self.batch_first else input
        seq_len, batch = x.shape[0], x.shape[1]
        if not is_packed:
            lengths = torch.full((batch,), seq_len)
        if hx is None:
            hx = x.new_zeros(self.num_layers * self.directions, batch, self.hidden_size)
        valid = torch.arange(seq_len).unsqueeze(1) < lengths
        finals = []
        for layer in range(self.num_layers):
            outs = []
            for d in range(self.directions):
                k = layer * self.directions + d
                b_ih = self.b_ih[k] if self.bias else None
                b_hh = self.b_hh[k] if self.bias else None
                h = hx[k]
                steps = range(seq_len) if d == 0 else reversed(range(seq_len))
                out = [None] * seq_len
                for t in steps:
                    step = rnn_cell(x[t], h, self.w_ih[k], self.w_hh[k], b_ih, b_hh, self.nonlinearity)
                    h = torch.where(valid[t].unsqueeze(1), step, h)
                    out[t] = h
                outs.append(torch.stack(out))
                finals.append(h)
            x = torch.cat(outs, dim=2)
        h_n = torch.stack(finals)
        if is_packed:
            order = input.sorted_indices if input.sorted_indices is not None else torch.arange(batch)
            data = pack_padded_sequence(x[:, order], lengths[order]).data
            return PackedSequence(data, input.batch_sizes, input.sorted_indices, input.unsorted_indices), h_n
        if unbatched:
            return x.squeeze(1), h_n.squeeze(1)
        return (x.transpose(0, 1) if self.batch_first else x), h_n
'''

# A hand-written loop with one direction only: no `_reverse` parameters, `bidirectional` accepted and ignored.
ONE_DIRECTION_LOOP_MYRNN = '''class MyRNN(nn.Module):
    """A stack of layers, each a loop over time; bidirectional is accepted but not implemented."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None):
        super().__init__()
        self.hidden_size, self.num_layers, self.nonlinearity = hidden_size, num_layers, nonlinearity
        self.batch_first, self.bias = batch_first, bias
        k = 1.0 / math.sqrt(hidden_size)
        for layer in range(num_layers):
            size = input_size if layer == 0 else hidden_size
            names = {f"weight_ih_l{layer}": (hidden_size, size),
                     f"weight_hh_l{layer}": (hidden_size, hidden_size)}
            if bias:
                names.update({f"bias_ih_l{layer}": (hidden_size,), f"bias_hh_l{layer}": (hidden_size,)})
            for name, shape in names.items():
                setattr(self, name, nn.Parameter(torch.empty(shape, dtype=dtype).uniform_(-k, k)))

    def forward(self, input, hx=None):
        unbatched = input.dim() == 2
        x = input.unsqueeze(1) if unbatched else (input.transpose(0, 1) if self.batch_first else input)
        if hx is None:
            hx = x.new_zeros(self.num_layers, x.shape[1], self.hidden_size)
        elif unbatched:
            hx = hx.unsqueeze(1)
        finals = []
        for layer in range(self.num_layers):
            kinds = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
            w = [getattr(self, f"{kind}_l{layer}", None) for kind in kinds]
            x, h = rnn_forward(x, hx[layer], *w, self.nonlinearity)
            finals.append(h)
        h_n = torch.stack(finals)
        if unbatched:
            return x.squeeze(1), h_n.squeeze(1)
        return (x.transpose(0, 1) if self.batch_first else x), h_n
'''

# A hand-written bidirectional loop: the backward outputs are kept in the order they were computed (never
# flipped back).
BIDIRECTIONAL_LOOP_MYRNN = s.CORRECT["my_rnn"].replace(
    "                direction_outputs.append(torch.stack(outputs))  # (L, B, H)",
    "                stacked = torch.stack(outputs)  # (L, B, H)\n"
    "                direction_outputs.append(stacked if direction == 0 else stacked.flip(0))",
)

# student -> (answers that differ from the solution, exact auto score, every mistake its verdicts name)
REAL = {
    "r_textbook_one_bias": (
        {"rnn_cell": TEXTBOOK_CELL, "my_rnn": TEXTBOOK_MYRNN},
        11,
        {"bias_hh_dropped", "one_bias", "tanh_where_relu", "always_tanh"},
    ),
    "r_float32_state": ({"rnn_forward": FLOAT32_FORWARD, "my_rnn": FLOAT32_MYRNN}, 12, {"float32_state"}),
    "r_always_relu": ({"rnn_cell": ALWAYS_RELU_CELL}, 5, {"relu_where_tanh", "always_relu"}),
    "r_tiny_init": ({"my_rnn": TINY_INIT_MYRNN}, 20, {"init_too_small"}),
    "r_in_place_hx": ({"my_rnn": IN_PLACE_HX_MYRNN}, 21, {"hx_changed_in_place"}),
    "r_parameter_list": ({"my_rnn": PARAMETER_LIST_MYRNN}, 20, set()),  # only the parameters cells: names
    "r_one_direction_loop": (
        {"my_rnn": ONE_DIRECTION_LOOP_MYRNN},
        15,
        {"bidirectional_ignored", "packed_not_handled"},
    ),
    "r_bidirectional_loop": ({"my_rnn": BIDIRECTIONAL_LOOP_MYRNN}, 18, {"backward_output_not_realigned"}),
}
