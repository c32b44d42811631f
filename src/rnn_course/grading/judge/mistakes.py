"""The mistakes people make when they rebuild nn.RNN, each one a reference that makes exactly that mistake.

`variant(key, kind, kw)` computes, in float64 and from scratch, what a check would return from code that is
right except for mistake `key`; judging.py compares a failing result with every variant and names the mistake
when exactly one of them explains it. With `key=None` the same loops give nn.RNN's own answer (a test holds
them to it), so each variant differs from the truth by its one mistake only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from rnn_course.grading.judge import cases
from rnn_course.grading.judge.encoding import Raised

WEIGHT_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
MARK = "\nMistake: "  # starts what a diagnosis adds to a verdict's message


@dataclass(frozen=True)
class Mistake:
    key: str
    name: str  # one line, quoted in the verdict and counted by the mistakes report
    explanation: str  # two sentences: what the code does, and what nn.RNN does instead
    notebook: str  # the lesson that teaches the point
    section: str  # one of its headings, as written
    covers: frozenset = frozenset()  # an observation only: the mistakes it stands for (partial evidence)

    @property
    def link(self) -> str:
        return f"notebooks/{self.notebook}#{anchor(self.section)}"

    def says(self) -> str:
        """What a diagnosed verdict adds to the plain message."""
        return f"{MARK}{self.name}. {self.explanation}\nLesson: {self.link}"


def anchor(heading: str) -> str:
    """The id nbconvert gives a markdown heading: its text (no code marks), spaces as hyphens, URL-quoted."""
    return quote(heading.replace("`", "").strip().replace(" ", "-"), safe="?/:@!$&'()*+,;=")


PARAMETERS = ("01_rnn_syntax.ipynb", "3. Three constructions and their parameters")
RECURRENCE = ("01_rnn_syntax.ipynb", "5. The recurrence, by hand")
DEEP_PARAMETERS = ("01_rnn_syntax.ipynb", "6. Parameters of deep and bidirectional RNNs")
BATCH_FIRST = ("02_shapes.ipynb", "2. `batch_first=True` moves the batch axis of `input` and `output` only")
H0 = ("02_shapes.ipynb", "3. Unbatched input and the initial state `h0`")
LAYERS = ("02_shapes.ipynb", "4. Several layers: `output` is the top layer, `h_n` is every layer")
BIDIRECTIONAL = ("02_shapes.ipynb", "5. Bidirectional: two directions side by side")
H_N_ORDER = ("02_shapes.ipynb", "6. Reading `h_n` of a deep bidirectional RNN")
LAST_STEP = ("02_shapes.ipynb", "7. `output[-1]`, `output[:, -1]` and `h_n[-1]`")
PADDING = ("04_packing.ipynb", "2. Padding alone is not harmless")
FIELDS = ("04_packing.ipynb", "4. The four fields of a `PackedSequence`")
PACKED = ("04_packing.ipynb", "6. Running an RNN on packed input")

CATALOGUE = [
    Mistake(
        "weight_ih_shape_transposed",
        "weight_ih is registered as (H_in, H)",
        "The input weights are created as (input size, hidden size), the transpose of nn.RNN's. "
        "nn.RNN stores weight_ih_l{k} as (H, H_in) and multiplies by its transpose, and load_state_dict "
        "needs the same shapes.",
        *PARAMETERS,
    ),
    Mistake(
        "upper_layers_read_h",
        "the layers above the first read H numbers, not 2*H",
        "weight_ih of every layer above the first is (H, H), as if the layer below had one direction. "
        "In a bidirectional RNN each upper layer reads both directions of the layer below, so its "
        "weight_ih is (H, 2*H).",
        *DEEP_PARAMETERS,
    ),
    Mistake(
        "always_tanh",
        "the nonlinearity is ignored (always tanh)",
        "The code applies tanh whatever `nonlinearity` says, so a relu layer gets tanh's values. "
        "Pick torch.relu when nonlinearity is 'relu'.",
        *RECURRENCE,
    ),
    Mistake(
        "always_relu",
        "the nonlinearity is ignored (always relu)",
        "The code applies relu whatever `nonlinearity` says, so a tanh layer gets relu's values. "
        "Pick torch.tanh when nonlinearity is 'tanh' (the default).",
        *RECURRENCE,
    ),
    Mistake(
        "swapped_nonlinearity",
        "relu and tanh are swapped",
        "The code applies relu where `nonlinearity` is 'tanh' and tanh where it is 'relu'. "
        "Each name means its own function: tanh for 'tanh', relu for 'relu'.",
        *RECURRENCE,
    ),
    Mistake(
        "one_bias",
        "one bias vector instead of bias_ih and bias_hh",
        "MyRNN registers a single bias per layer and direction, as many textbooks write the update. "
        "nn.RNN has two, bias_ih_l{k} and bias_hh_l{k} (both added inside the nonlinearity), and "
        "load_state_dict needs both names.",
        *PARAMETERS,
    ),
    Mistake(
        "init_too_small",
        "the parameters are drawn far too small",
        "The parameters are set, but from a much narrower range than nn.RNN's "
        "(`randn(...) * 0.01`, say). "
        "nn.RNN draws every parameter from U(-1/sqrt(H), 1/sqrt(H)): use `uniform_(-bound, bound)`.",
        *PARAMETERS,
    ),
    Mistake(
        "bias_ih_dropped",
        "bias_ih is left out",
        "The update adds `bias_hh` but not `bias_ih`. "
        "nn.RNN adds both biases inside the nonlinearity at every step.",
        *RECURRENCE,
    ),
    Mistake(
        "bias_hh_dropped",
        "bias_hh is left out",
        "The update adds `bias_ih` but not `bias_hh`. "
        "nn.RNN adds both biases inside the nonlinearity at every step.",
        *RECURRENCE,
    ),
    Mistake(
        "weight_hh_not_transposed",
        "weight_hh is not transposed",
        "The code computes `h @ weight_hh` where the recurrence has `h @ weight_hh.T`. "
        "weight_hh is square, so the shapes fit and only the values are wrong.",
        *RECURRENCE,
    ),
    Mistake(
        "weight_ih_not_transposed",
        "weight_ih is not transposed",
        "The code computes `x @ weight_ih` where the recurrence has `x @ weight_ih.T`. "
        "weight_ih is (H, H_in): transpose it so that (B, H_in) @ (H_in, H) gives (B, H).",
        *RECURRENCE,
    ),
    Mistake(
        "output_before_update",
        "output holds the state before each step",
        "Each step's state is stored before the update, so output[t] is h_(t-1) and output[0] is h0. "
        "output[t] must be the state after step t, the same value h_n holds at the end.",
        *RECURRENCE,
    ),
    Mistake(
        "float32_state",
        "the zero state is float32",
        "Without h0 the code starts from `torch.zeros(...)` (or numpy's float32), which is float32, "
        "while the input and the weights are float64, so the first product mixes the two dtypes. "
        "Create it with `x.new_zeros(...)`, which keeps the input's dtype and device.",
        *H0,
    ),
    Mistake(
        "hx_changed_in_place",
        "the caller's h0 is changed in place",
        "The code writes into the h0 tensor it was given (an in-place update such as `hx[k] = h` or "
        "`h += ...`), so the caller's tensor holds other values after the call. nn.RNN leaves h0 as it "
        "was: build new tensors (`torch.stack`, `h = ...`) instead of writing into it.",
        *H0,
    ),
    Mistake(
        "h0_ignored",
        "h0 is ignored",
        "The recurrence starts from zeros even when an initial state is given. "
        "Zeros are the default only when h0 is missing.",
        *H0,
    ),
    Mistake(
        "same_h0_every_layer",
        "every layer starts from h0[0]",
        "All layers and directions start from the first row of h0. "
        "h0 has one row per layer and direction, in the same order as h_n.",
        *H_N_ORDER,
    ),
    Mistake(
        "batch_first_ignored",
        "batch_first is ignored",
        "The code reads the input as (L, B, H_in) even when batch_first=True, so it runs over the batch "
        "as if it were time. With batch_first the input is (B, L, H_in) and output is (B, L, D*H).",
        *BATCH_FIRST,
    ),
    Mistake(
        "batch_first_output_time_first",
        "output is not put back batch first",
        "The input is transposed for batch_first but output is returned time first, (L, B, D*H). "
        "With batch_first=True output is (B, L, D*H).",
        *BATCH_FIRST,
    ),
    Mistake(
        "batch_first_moves_h_n",
        "batch_first moved h_n",
        "h_n comes back as (B, D*num_layers, H) when batch_first=True. "
        "batch_first changes input and output only: h0 and h_n stay (D*num_layers, B, H).",
        *BATCH_FIRST,
    ),
    Mistake(
        "unbatched_keeps_batch_axis",
        "unbatched input gets a batch axis back",
        "For an unbatched (L, H_in) input the results keep the batch axis of size 1 added inside. "
        "Unbatched input gives output (L, D*H) and h_n (D*num_layers, H): squeeze it away.",
        *H0,
    ),
    Mistake(
        "output_first_layer",
        "output holds the first layer",
        "output comes from the first layer instead of the last. "
        "Each layer reads the one below, and output is the top layer's states at every step.",
        *LAYERS,
    ),
    Mistake(
        "h_n_last_layer_only",
        "h_n holds only the last layer",
        "h_n has the top layer's final states but not the lower layers'. "
        "h_n holds the final state of every layer and direction: (D*num_layers, B, H).",
        *LAYERS,
    ),
    Mistake(
        "h_n_layers_reversed",
        "h_n lists the layers top first",
        "h_n is stacked from the last layer down to the first. "
        "nn.RNN lists layer 0 first: l0 forward, l0 backward, l1 forward, and so on.",
        *H_N_ORDER,
    ),
    Mistake(
        "h_n_direction_major",
        "h_n is ordered by direction, then layer",
        "h_n lists every forward state first and then every backward one. "
        "nn.RNN lists layer by layer: l0 forward, l0 backward, l1 forward, l1 backward.",
        *H_N_ORDER,
    ),
    Mistake(
        "bidirectional_ignored",
        "bidirectional is ignored",
        "Only the forward direction runs, so output has H numbers per step instead of 2*H and h_n "
        "lacks the backward states. A bidirectional RNN also runs the sequence from its end with the "
        "`_reverse` weights and puts both directions side by side.",
        *BIDIRECTIONAL,
    ),
    Mistake(
        "output_forward_only",
        "the backward direction's half of output is missing",
        "The backward direction runs (its states are in h_n), but output keeps only the forward states. "
        "output puts both directions side by side on the last axis: [forward | backward], 2*H numbers.",
        *BIDIRECTIONAL,
    ),
    Mistake(
        "output_directions_swapped",
        "output has the backward half first",
        "Each step of output is [backward | forward], and the next layer reads it in that order. "
        "nn.RNN puts the forward direction first: output[..., :H] is forward, output[..., H:] backward.",
        *BIDIRECTIONAL,
    ),
    Mistake(
        "h_n_directions_swapped",
        "h_n has the backward direction before the forward one",
        "Within each layer h_n lists the backward final state first. "
        "nn.RNN lists forward then backward: h_n[-2] is the top layer's forward state, h_n[-1] its "
        "backward one.",
        *H_N_ORDER,
    ),
    Mistake(
        "backward_reads_forward",
        "the backward direction reads the sequence forward",
        "The `_reverse` weights run from step 0 to the end, like the forward direction. "
        "The backward direction starts at the last step and ends at step 0.",
        *BIDIRECTIONAL,
    ),
    Mistake(
        "backward_output_not_realigned",
        "the backward outputs are stored in reverse time order",
        "The backward direction runs from the end, but its states are stored in the order they were "
        "computed, so output[t] holds the wrong step. Store the state computed at step t at output[t] "
        "(flip them back), so both halves of output[t] belong to step t.",
        *BIDIRECTIONAL,
    ),
    Mistake(
        "h_n_backward_from_last_step",
        "the backward h_n is taken from the last step",
        "The backward direction's final state is read at the last time step, where it started. "
        "It ends at step 0: h_n[-1] equals output[0, :, H:], not output[-1, :, H:].",
        *LAST_STEP,
    ),
    Mistake(
        "packed_not_handled",
        "PackedSequence input is not handled",
        "forward treats a PackedSequence like a tensor, which it is not. "
        "Unpack it with pad_packed_sequence (its lengths say where each sequence ends) and pack the "
        "output again.",
        *PACKED,
    ),
    Mistake(
        "packed_no_mask",
        "the state keeps moving on the pads",
        "The recurrence runs over the padded steps too, so h_n is the state after the pads rather than "
        "at each sequence's last real step. Leave the state unchanged where a step is padding.",
        *PADDING,
    ),
    Mistake(
        "backward_starts_on_padding",
        "the backward direction starts at the padded end",
        "The forward direction skips the pads, but the backward one starts at the end of the padded "
        "batch and reads the pads first. Each sequence's backward pass must start at its own last real "
        "step.",
        *PADDING,
    ),
    Mistake(
        "packed_h_n_sorted_order",
        "h_n is in the packed (sorted) order",
        "h_n comes back in the order of the packed batch (longest first), not in the input's order. "
        "nn.RNN puts h_n back in the original order with unsorted_indices.",
        *FIELDS,
    ),
]

# What is said when the evidence (one nonlinearity only, say) fits several mistakes that all agree on it: only
# what was observed, never a guess at what the code does where no test looked.
OBSERVATIONS = [
    Mistake(
        "relu_where_tanh",
        "relu is applied where `nonlinearity` is 'tanh'",
        "Where `nonlinearity` is 'tanh' the results are relu's values (these tests use 'tanh' only, so "
        "they do not show what the code does for 'relu'). Apply torch.tanh when nonlinearity is 'tanh'.",
        *RECURRENCE,
        covers=frozenset({"always_relu", "swapped_nonlinearity"}),
    ),
    Mistake(
        "tanh_where_relu",
        "tanh is applied where `nonlinearity` is 'relu'",
        "Where `nonlinearity` is 'relu' the results are tanh's values (these tests use 'relu' only, so "
        "they do not show what the code does for 'tanh'). Apply torch.relu when nonlinearity is 'relu'.",
        *RECURRENCE,
        covers=frozenset({"always_tanh", "swapped_nonlinearity"}),
    ),
]
BY_KEY = {mistake.key: mistake for mistake in CATALOGUE}
NAMED = {mistake.key: mistake for mistake in CATALOGUE + OBSERVATIONS}  # every name a verdict may carry


def observed(found: list[Mistake]) -> Mistake | None:
    """The one mistake that explains the evidence, or the observation that all of several share, else None."""
    if len(found) == 1:
        return found[0]
    keys = {mistake.key for mistake in found}
    shared = [seen for seen in OBSERVATIONS if keys and keys <= seen.covers]
    return shared[0] if len(shared) == 1 else None


# -------------------------------------------------------------------------------------- the variants


def variant(key: str | None, kind: str, kw: dict):
    """What a check returns from code with mistake `key` (None: no mistake); None where it cannot run."""
    try:
        with torch.no_grad():
            if kind == "rnn_cell":
                case = cases.cell_case(**kw)
                return _cell(case["x"], case["h"], case["weights"], case["nonlinearity"], key)
            if kind == "rnn_forward":
                case = cases.forward_case(**kw)
                x = case["x"]  # (L, B, H_in)
                h0 = x.new_zeros(x.shape[1], kw.get("hidden_size", 4)) if case["h"] is None else case["h"]
                if key == "h0_ignored":
                    h0 = torch.zeros_like(h0)  # (B, H)
                if key == "float32_state" and case["h"] is None:
                    h0 = torch.zeros(x.shape[1], kw.get("hidden_size", 4))  # (B, H) float32: cannot run
                valid = torch.ones(x.shape[:2], dtype=torch.bool)  # (L, B)
                return _direction(x, h0, case["weights"], case["nonlinearity"], valid, False, key)
            if kind in ("myrnn", "packed"):
                return _module(kind, kw, key)
    except (RuntimeError, ValueError, IndexError):
        return None  # this mistake cannot even run on this check (shapes that do not fit)
    return None


def _cell(x, h, weights, nonlinearity, key):
    """One step with mistake `key`: x (B, in), h (B, H) -> (B, H)."""
    weight_ih, weight_hh, bias_ih, bias_hh = weights
    pre = x @ (weight_ih if key == "weight_ih_not_transposed" else weight_ih.T)  # (B, H)
    pre = pre + h @ (weight_hh if key == "weight_hh_not_transposed" else weight_hh.T)  # (B, H)
    if bias_ih is not None and key != "bias_ih_dropped":
        pre = pre + bias_ih  # (B, H)
    if bias_hh is not None and key != "bias_hh_dropped":
        pre = pre + bias_hh  # (B, H)
    if key == "always_tanh":
        nonlinearity = "tanh"
    if key == "always_relu":
        nonlinearity = "relu"
    if key == "swapped_nonlinearity":
        nonlinearity = {"tanh": "relu", "relu": "tanh"}[nonlinearity]
    return torch.tanh(pre) if nonlinearity == "tanh" else torch.relu(pre)  # (B, H)


def _direction(x, h, weights, nonlinearity, valid, reverse, key):
    """One direction of one layer: x (L, B, in), h (B, H), valid (L, B) -> output (L, B, H), h_n (B, H)."""
    seq_len = x.shape[0]
    steps = range(seq_len - 1, -1, -1) if reverse and key != "backward_reads_forward" else range(seq_len)
    outputs = [None] * seq_len
    for t in steps:
        h_next = _cell(x[t], h, weights, nonlinearity, key)  # (B, H)
        before, h = h, torch.where(valid[t].unsqueeze(1), h_next, h)  # (B, H): pads leave h alone
        outputs[t] = before if key == "output_before_update" else h
    output = torch.stack(outputs)  # (L, B, H)
    if reverse and key == "backward_output_not_realigned":
        output = output.flip(0)  # (L, B, H): stored in the order computed
    return output, h


def _module(kind: str, kw: dict, key):
    """MyRNN's (output, h_n) with mistake `key`, for a `myrnn` or `packed` check."""
    packed = kind == "packed"
    case = (cases.packed_case if packed else cases.module_case)(**kw)
    hidden_size, num_layers = kw.get("hidden_size", 4), kw.get("num_layers", 1)
    nonlinearity, batch_first = kw.get("nonlinearity", "tanh"), kw.get("batch_first", False)
    directions = 2 if kw.get("bidirectional") and key != "bidirectional_ignored" else 1
    unbatched = not packed and case["input"].dim() == 2
    if packed:
        x, lengths = pad_packed_sequence(case["input"])  # (L, B, H_in), (B,) in the input's order
    elif unbatched:
        x = case["input"].unsqueeze(1)  # (L, 1, H_in)
    else:
        x = case["input"].transpose(0, 1) if batch_first and key != "batch_first_ignored" else case["input"]
    seq_len, batch = x.shape[0], x.shape[1]
    if not packed:
        lengths = torch.full((batch,), seq_len)  # (B,)
    valid = torch.arange(seq_len).unsqueeze(1) < lengths  # (L, B)
    everywhere = torch.ones_like(valid)  # (L, B)
    rows = num_layers * (2 if kw.get("bidirectional") else 1)
    hx = case["hx"]
    if hx is None or key == "h0_ignored":
        hx = x.new_zeros(rows, batch, hidden_size)  # (D*layers, B, H)
        if key == "float32_state" and case["hx"] is None:
            hx = torch.zeros(rows, batch, hidden_size)  # (D*layers, B, H) float32: cannot run
    elif unbatched:
        hx = hx.unsqueeze(1)  # (D*layers, 1, H)
    if key == "same_h0_every_layer":
        hx = hx[:1].expand(rows, -1, -1)  # (D*layers, B, H)

    finals, layer_outputs = [], []
    for layer in range(num_layers):
        outputs = []
        for direction, suffix in enumerate(["", "_reverse"][:directions]):
            weights = [case["weights"].get(f"{name}_l{layer}{suffix}") for name in WEIGHT_NAMES]
            reverse = direction == 1
            unmasked = key == "packed_no_mask" or (key == "backward_starts_on_padding" and reverse)
            output, h = _direction(
                x,
                hx[layer * directions + direction],
                weights,
                nonlinearity,
                everywhere if unmasked else valid,
                reverse,
                key,
            )  # (L, B, H), (B, H)
            if reverse and key == "h_n_backward_from_last_step":
                h = output[lengths - 1, torch.arange(batch)]  # (B, H): where it started
            outputs.append(output)
            finals.append(h)
        if key == "output_directions_swapped":
            outputs = outputs[::-1]  # backward first
        x = torch.cat(outputs, dim=2)  # (L, B, D*H): the next layer's input
        layer_outputs.append(x)

    output = layer_outputs[0] if key == "output_first_layer" else x  # (L, B, D*H)
    if key == "output_forward_only":
        output = output[..., :hidden_size]  # (L, B, H)
    order = [(layer, direction) for layer in range(num_layers) for direction in range(directions)]
    if key == "h_n_direction_major":
        order = sorted(order, key=lambda pair: (pair[1], pair[0]))
    if key == "h_n_directions_swapped":
        order = sorted(order, key=lambda pair: (pair[0], -pair[1]))
    if key == "h_n_layers_reversed":
        order = sorted(order, key=lambda pair: (-pair[0], pair[1]))
    if key == "h_n_last_layer_only":
        order = order[-directions:]
    h_n = torch.stack([finals[layer * directions + direction] for layer, direction in order])  # (D*l, B, H)

    if packed:
        if key == "packed_h_n_sorted_order" and case["input"].sorted_indices is not None:
            h_n = h_n[:, case["input"].sorted_indices]  # (D*layers, B, H) longest first
        sorted_indices = case["input"].sorted_indices
        by_length = sorted_indices if sorted_indices is not None else torch.arange(batch)
        data = pack_padded_sequence(output[:, by_length], lengths[by_length]).data  # (sum(lengths), D*H)
        unsorted_indices = case["input"].unsorted_indices
        return PackedSequence(data, case["input"].batch_sizes, sorted_indices, unsorted_indices), h_n
    if key == "batch_first_moves_h_n" and batch_first:
        h_n = h_n.transpose(0, 1)  # (B, D*layers, H)
    if unbatched and key != "unbatched_keeps_batch_axis":
        return output.squeeze(1), h_n.squeeze(1)  # (L, D*H), (D*layers, H)
    if batch_first and key not in ("batch_first_ignored", "batch_first_output_time_first"):
        output = output.transpose(0, 1)  # (B, L, D*H)
    return output, h_n


# ------------------------------------------------------------- mistakes seen in the parameters or an error


def explains_parameters(key: str, ours: dict, theirs: dict) -> bool:
    """Whether mistake `key` accounts for MyRNN's parameter shapes `ours` where nn.RNN has `theirs`."""
    if key == "one_bias":
        return _one_bias(ours, theirs)
    if key == "bidirectional_ignored":
        return _one_direction(ours, theirs)
    if set(ours) != set(theirs):
        return False
    wrong = [name for name in theirs if list(ours[name]) != list(theirs[name])]
    if not wrong:
        return False
    if key == "weight_ih_shape_transposed":
        return all(
            name.startswith("weight_ih") and list(ours[name]) == list(theirs[name])[::-1] for name in wrong
        )
    if key == "upper_layers_read_h":
        hidden_size = theirs["weight_hh_l0"][0]
        return all(
            re.fullmatch(r"weight_ih_l[1-9]\d*(_reverse)?", name) is not None
            and list(ours[name]) == [hidden_size, hidden_size]
            for name in wrong
        )
    return False


def _one_bias(ours: dict, theirs: dict) -> bool:
    """Every weight as nn.RNN's, and one (H,) bias per layer and direction where nn.RNN has two."""
    weights = {name: shape for name, shape in theirs.items() if name.startswith("weight")}
    biases = [name for name in theirs if name.startswith("bias")]
    mine = {name: shape for name, shape in ours.items() if name not in weights}
    hidden = [theirs[name] for name in biases[:1]]
    return (
        bool(biases)
        and all(list(ours.get(name, [])) == list(shape) for name, shape in weights.items())
        and len(mine) == len(biases) // 2
        and all(list(shape) == hidden[0] for shape in mine.values())
    )


def _one_direction(ours: dict, theirs: dict) -> bool:
    """nn.RNN's parameters of a bidirectional RNN without any `_reverse` one (and upper layers reading H)."""
    if not any(name.endswith("_reverse") for name in theirs):
        return False
    forward = {name: list(shape) for name, shape in theirs.items() if not name.endswith("_reverse")}
    hidden = forward["weight_hh_l0"][0]
    for name in forward:
        if re.fullmatch(r"weight_ih_l[1-9]\d*", name):
            forward[name] = [hidden, hidden]  # a one-direction layer below gives H numbers
    return {name: list(shape) for name, shape in ours.items()} == forward


TOO_SMALL = 0.25  # parameters whose largest value is under this fraction of nn.RNN's bound are far smaller


def explains_values(key: str, bound: float, values) -> bool:
    """Whether mistake `key` accounts for MyRNN's initial parameter values (a flat float64 tensor)."""
    if key == "init_too_small":
        largest = float(values.abs().max()) if values.numel() else 0.0
        return 0.0 < largest < TOO_SMALL * bound
    return False


DTYPE_CLASH = re.compile(
    r"(dtype|scalar type).*\b(float|Float)\b.*\b(double|Double)\b"
    r"|(dtype|scalar type).*\b(double|Double)\b.*\b(float|Float)\b"
)


def _starts_from_zeros(kind: str, kw: dict) -> bool:
    """Whether the check leaves the initial state out, so that the learner's code makes its own."""
    return kind in ("rnn_forward", "myrnn", "packed") and not kw.get("with_h0", kind == "rnn_forward")


def explains_error(key: str, kind: str, kw: dict, raised: Raised) -> bool:
    """Whether mistake `key` accounts for the exception the learner's code raised on this check."""
    if key == "float32_state":
        return _starts_from_zeros(kind, kw) and DTYPE_CLASH.search(raised.evalue) is not None
    if key == "packed_not_handled":
        return kind == "packed" and raised.evalue.startswith("'PackedSequence' object has no attribute")
    if key == "weight_ih_not_transposed":
        input_size, hidden_size = kw.get("input_size", 3), kw.get("hidden_size", 4)
        shapes = re.search(r"shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)", raised.evalue)
        return (
            shapes is not None
            and input_size != hidden_size
            and [int(size) for size in shapes.groups()[1:]] == [input_size, hidden_size, input_size]
        )
    return False
