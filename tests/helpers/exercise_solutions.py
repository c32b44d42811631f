"""Right and wrong answers to the lessons' "your turn" exercises, as a learner would type them in the cell.

They live in tests/ only: neither the notebooks nor the package hold a solution. The unit tests run them
through `check_exercise`; the notebook tier pastes them into the lesson and runs the cell.
"""

# exercise name -> (notebook, source of a right answer)
RIGHT = {
    "rnn_step": (
        "01_rnn_syntax.ipynb",
        """
def rnn_step(x_t, h_prev, rnn):
    z = x_t @ rnn.weight_ih_l0.T + h_prev @ rnn.weight_hh_l0.T      # (N, H)
    if rnn.bias:
        z = z + rnn.bias_ih_l0 + rnn.bias_hh_l0                     # (N, H)
    return torch.tanh(z) if rnn.nonlinearity == "tanh" else torch.relu(z)
""",
    ),
    "per_sequence_scores": (
        "02_shapes.ipynb",
        """
def per_sequence_scores(h_n, head, num_layers, bidirectional):
    D = 2 if bidirectional else 1
    _, N, H = h_n.shape
    top = h_n.view(num_layers, D, N, H)[-1]          # (D, N, H)
    features = top.permute(1, 0, 2).reshape(N, D * H)  # (N, D*H): forward, then backward
    return head(features)                             # (N, classes)
""",
    ),
    "run_in_chunks": (
        "03_hidden_state.ipynb",
        """
def run_in_chunks(rnn, x, chunk_len):
    h, outputs = None, []
    for start in range(0, len(x), chunk_len):
        out, h = rnn(x[start:start + chunk_len], h)  # (chunk, N, H), (1, N, H)
        h = h.detach()
        outputs.append(out)
    return torch.cat(outputs)                        # (L, N, H)
""",
    ),
    "pad_collate": (
        "04_packing.ipynb",
        """
def pad_collate(batch):
    sequences = [s for s, _ in batch]
    lengths = torch.tensor([len(s) for s in sequences])    # (N,)
    labels = torch.tensor([y for _, y in batch])           # (N,)
    return pad_sequence(sequences), lengths, labels        # (L_max, N, H_in)
""",
    ),
    "masked_loss": (
        "04_packing.ipynb",
        """
def masked_loss(logits, targets, lengths):
    L, N, V = logits.shape
    mask = torch.arange(L)[:, None] < lengths[None, :]     # (L, N)
    per_step = F.cross_entropy(logits.reshape(L * N, V), targets.reshape(L * N), reduction="none")
    return per_step[mask.reshape(-1)].mean()
""",
    ),
    "lstm_step": (
        "05_using_rnn.ipynb",
        """
def lstm_step(x_t, h_prev, c_prev, cell):
    gates = x_t @ cell.weight_ih.T + cell.bias_ih + h_prev @ cell.weight_hh.T + cell.bias_hh  # (N, 4H)
    i, f, g, o = gates.chunk(4, dim=1)                      # (N, H) each
    c = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
    h = torch.sigmoid(o) * torch.tanh(c)
    return h, c
""",
    ),
}

# exercise name -> (a typical mistake, what the checker must say about it)
WRONG = {
    "rnn_step": (
        """
def rnn_step(x_t, h_prev, rnn):
    return torch.tanh(x_t @ rnn.weight_ih_l0.T + h_prev @ rnn.weight_hh_l0.T)   # forgot the biases
""",
        "elements differ",
    ),
    "per_sequence_scores": (
        """
def per_sequence_scores(h_n, head, num_layers, bidirectional):
    N = h_n.shape[1]
    return head(h_n[-2:].reshape(N, -1) if bidirectional else h_n[-1])   # mixes samples when N > 1
""",
        "elements differ",
    ),
    "run_in_chunks": (
        """
def run_in_chunks(rnn, x, chunk_len):
    h, outputs = None, []
    for start in range(0, len(x), chunk_len):
        out, h = rnn(x[start:start + chunk_len], h)  # carried but never detached
        outputs.append(out)
    return torch.cat(outputs)
""",
        "detach the state",
    ),
    "pad_collate": (
        """
def pad_collate(batch):
    sequences = [s for s, _ in batch]
    lengths = torch.tensor([len(s) for s in sequences])
    labels = torch.tensor([y for _, y in batch])
    return pad_sequence(sequences, batch_first=True), lengths, labels   # (N, L_max, H_in): not time first
""",
        "shape expected",
    ),
    "masked_loss": (
        """
def masked_loss(logits, targets, lengths):
    L, N, V = logits.shape
    return F.cross_entropy(logits.reshape(L * N, V), targets.reshape(L * N))   # padding counted too
""",
        "PyTorch has",
    ),
    "lstm_step": (
        """
def lstm_step(x_t, h_prev, c_prev, cell):
    gates = x_t @ cell.weight_ih.T + cell.bias_ih + h_prev @ cell.weight_hh.T + cell.bias_hh
    f, i, g, o = gates.chunk(4, dim=1)                      # gate order guessed: PyTorch's is i, f, g, o
    c = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c
""",
        "elements differ",
    ),
}

# What the learner's namespace holds in each lesson when the exercise cell runs.
PRELUDE = """
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pad_sequence
"""


def define(source: str):
    """The function a solution's source defines, in a lesson-like namespace."""
    namespace: dict = {}
    exec(PRELUDE + source, namespace)
    (name,) = [k for k in namespace if k in RIGHT]
    return namespace[name]
