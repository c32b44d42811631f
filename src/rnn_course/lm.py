"""Lesson 5's character-level language model: the course's own text, a character vocabulary, a split into
training and validation text, random training windows, the model, its training loop, count baselines, and
sampling with temperature that carries the hidden state from step to step.

A model here is any module called as `logits, h = model(x, h)` with x (L, N) character ids and logits
(L, N, vocab).
"""

import math
from dataclasses import dataclass, field
from importlib import resources

import torch
import torch.nn as nn
import torch.nn.functional as F


def course_text() -> str:
    """The training text that ships with the package (written for this course)."""
    return resources.files("rnn_course").joinpath("data/tiny_text.txt").read_text(encoding="utf-8")


class Vocab:
    """Characters <-> integer ids, one id per distinct character of a text."""

    def __init__(self, text: str):
        self.chars = sorted(set(text))
        self.ids = {c: i for i, c in enumerate(self.chars)}

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> torch.Tensor:
        """Ids of `text`, shape (len(text),); a character outside the vocabulary is a clear error."""
        unknown = sorted(set(text) - set(self.ids))
        if unknown:
            raise ValueError(f"characters not in the vocabulary: {unknown!r}")
        return torch.tensor([self.ids[c] for c in text], dtype=torch.long)  # (T,)

    def decode(self, ids) -> str:
        return "".join(self.chars[i] for i in torch.as_tensor(ids).tolist())


def split(data: torch.Tensor, held_out: float = 0.15) -> tuple[torch.Tensor, torch.Tensor]:
    """The first part of the text for training, the last `held_out` share for validation."""
    cut = round(len(data) * (1 - held_out))
    return data[:cut], data[cut:]  # (T_train,), (T_val,)


def random_batch(data: torch.Tensor, seq_len: int, batch: int, generator: torch.Generator):
    """Inputs x and next-character targets y, both (L, N): y[t] is the character after x[t]."""
    starts = torch.randint(0, len(data) - seq_len, (batch,), generator=generator)  # (N,)
    offsets = torch.arange(seq_len)  # (L,)
    x = data[starts[None, :] + offsets[:, None]]  # (L, N)
    y = data[starts[None, :] + offsets[:, None] + 1]  # (L, N)
    return x, y


def next_char_probs(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """softmax(logits / temperature), shape (V,); a low temperature sharpens, a high one flattens."""
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, not {temperature}")
    return torch.softmax(logits / temperature, dim=-1)  # (V,)


class Sampler:
    """Generate text one character at a time, carrying the hidden state h; puts the model in eval mode."""

    def __init__(self, model: nn.Module, vocab: Vocab, prompt: str = "the ", seed: int = 0):
        if not prompt:
            raise ValueError("the prompt needs at least one character")
        self.model, self.vocab = model, vocab
        self.generator = torch.Generator().manual_seed(seed)
        self.text = prompt
        model.eval()  # sampling is evaluation: no dropout
        with torch.no_grad():
            logits, self.h = model(vocab.encode(prompt)[:, None])  # (P, 1, V), (num_layers, 1, H)
        self.logits = logits[-1, 0]  # (V,): scores for the character after the prompt

    def probs(self, temperature: float) -> torch.Tensor:
        """Probabilities of the next character at this temperature, shape (V,)."""
        return next_char_probs(self.logits, temperature)

    def step(self, temperature: float = 1.0) -> str:
        """Draw one character, feed it back with the carried h, and return it."""
        index = torch.multinomial(self.probs(temperature), 1, generator=self.generator)  # (1,)
        with torch.no_grad():
            logits, self.h = self.model(index[:, None], self.h)  # (1, 1, V), (num_layers, 1, H)
        self.logits = logits[0, 0]  # (V,)
        char = self.vocab.decode(index)
        self.text += char
        return char


def sample(
    model: nn.Module, vocab: Vocab, prompt: str, length: int, temperature: float, seed: int = 0
) -> str:
    """The prompt followed by `length` sampled characters."""
    sampler = Sampler(model, vocab, prompt, seed)
    for _ in range(length):
        sampler.step(temperature)
    return sampler.text


class CharRNN(nn.Module):
    """Embedding -> RNN -> Linear: scores for the next character at every step."""

    def __init__(self, vocab_size: int, embed_size: int = 16, hidden_size: int = 64):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_size)
        self.rnn = nn.RNN(embed_size, hidden_size)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, x, h=None):  # x: (L, N) ids; h: (1, N, H) or None for zeros
        e = self.embed(x)  # (L, N, E)
        output, h = self.rnn(e, h)  # (L, N, H), (1, N, H)
        return self.head(output), h  # (L, N, V), (1, N, H)


def next_char_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy in nats over every step of every sequence: (L*N, V) scores against (L*N,) ids."""
    logits, _ = model(x)  # (L, N, V)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


def perplexity(model: nn.Module, data: torch.Tensor) -> float:
    """exp(mean loss) of the model reading `data` as one sequence from a zero state, in eval mode."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        loss = next_char_loss(model, data[:-1, None], data[1:, None])  # (T-1, 1) inputs and targets
    model.train(was_training)
    return math.exp(loss.item())


def ngram_perplexity(train: torch.Tensor, test: torch.Tensor, vocab_size: int, order: int) -> float:
    """Perplexity on `test` of add-one smoothed counts from `train`: unigram (order 1) or bigram (order 2)."""
    if order == 1:
        counts = torch.bincount(train, minlength=vocab_size).float() + 1  # (V,)
        logp = (counts / counts.sum()).log()[test[1:]]  # (T-1,): the same characters the model predicts
    elif order == 2:
        counts = torch.ones(vocab_size, vocab_size)  # (V, V): previous character -> next
        counts.index_put_((train[:-1], train[1:]), torch.ones(len(train) - 1), accumulate=True)
        logp = (counts / counts.sum(1, keepdim=True)).log()[test[:-1], test[1:]]  # (T-1,)
    else:
        raise ValueError(f"order must be 1 or 2, not {order}")
    return math.exp(-logp.mean().item())


@dataclass
class History:
    """What one training run saw: the loss per step, the gradient norm before clipping, validation checks."""

    losses: list[float] = field(default_factory=list)
    norms: list[float] = field(default_factory=list)
    val_steps: list[int] = field(default_factory=list)
    val_perplexity: list[float] = field(default_factory=list)


def train_lm(
    model: nn.Module,
    train: torch.Tensor,
    val: torch.Tensor | None = None,
    steps: int = 200,
    lr: float = 1.0,
    max_norm: float = 1.0,
    seq_len: int = 32,
    batch: int = 32,
    seed: int = 0,
    every: int = 20,
) -> History:
    """Plain SGD on random windows of `train`, clipping at `max_norm`; validation perplexity every `every`."""
    windows = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    history = History()
    for step in range(steps):
        x, y = random_batch(train, seq_len, batch, windows)  # (L, N) each
        loss = next_char_loss(model, x, y)
        optimizer.zero_grad()
        loss.backward()
        norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm)  # the norm before clipping
        optimizer.step()
        history.losses.append(loss.item())
        history.norms.append(norm.item())
        if val is not None and (step + 1) % every == 0:
            history.val_steps.append(step + 1)
            history.val_perplexity.append(perplexity(model, val))
    return history


IGNORE = -100  # the target id that F.cross_entropy skips (its default ignore_index)


def line_examples(data: torch.Tensor, newline_id: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """One (input, target) pair per line of the text, ids of shape (L_i,) each: the target is the input
    shifted by one, so each line predicts its own next characters and ends by predicting the newline."""
    examples, start = [], 0
    for end in (data == newline_id).nonzero().flatten().tolist():
        if end - start >= 1:
            line = data[start : end + 1]  # (L_i + 1,): the line and its newline
            examples.append((line[:-1], line[1:]))  # (L_i,), (L_i,)
        start = end + 1
    return examples


def pad_lines(batch: list[tuple[torch.Tensor, torch.Tensor]]):
    """A DataLoader's collate_fn: pad the inputs with id 0 and the targets with IGNORE, time first.

    Returns x (L_max, N), y (L_max, N) and the lengths (N,); the loss skips every position past a line's end.
    """
    xs, ys = zip(*batch, strict=True)
    x = nn.utils.rnn.pad_sequence(list(xs), padding_value=0)  # (L_max, N)
    y = nn.utils.rnn.pad_sequence(list(ys), padding_value=IGNORE)  # (L_max, N)
    return x, y, torch.tensor([len(s) for s in xs])  # lengths (N,)


def train_stateful(
    model: nn.Module,
    train: torch.Tensor,
    val: torch.Tensor | None = None,
    steps: int = 200,
    lr: float = 1.0,
    max_norm: float = 1.0,
    seq_len: int = 32,
    batch: int = 32,
    every: int = 20,
) -> History:
    """Truncated BPTT: the text cut into `batch` contiguous streams, read chunk after chunk with h carried
    from one chunk to the next and detached; back to the start (and a zero h) when the streams run out."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    per_stream = (len(train) - 1) // batch
    x_all = train[: per_stream * batch].view(batch, per_stream).T  # (T_stream, N): column n is stream n
    y_all = train[1 : per_stream * batch + 1].view(batch, per_stream).T  # (T_stream, N)
    history, h, start = History(), None, 0
    for step in range(steps):
        if start + seq_len > per_stream:
            h, start = None, 0  # a new pass over the text starts from a zero state
        x, y = x_all[start : start + seq_len], y_all[start : start + seq_len]  # (L, N) each
        start += seq_len
        logits, h = model(x, h)  # (L, N, V), (1, N, H)
        h = h.detach()  # keep the values for the next chunk, drop the graph: truncated BPTT
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        optimizer.step()
        history.losses.append(loss.item())
        history.norms.append(norm.item())
        if val is not None and (step + 1) % every == 0:
            history.val_steps.append(step + 1)
            history.val_perplexity.append(perplexity(model, val))
    return history


STATEFUL_FILE = "data/stateful_compare.json"


def compare_stateful(seeds=(0, 1, 2), steps: int = 200, batch: int = 8, seq_len: int = 32, lr: float = 1.0):
    """Validation perplexity after the same budget (steps x batch x seq_len characters), per seed:
    stateless random windows (train_lm) against contiguous chunks with h carried (train_stateful)."""
    text = course_text()
    vocab = Vocab(text)
    train, val = split(vocab.encode(text))
    result = {"steps": steps, "batch": batch, "seq_len": seq_len, "lr": lr, "stateless": [], "stateful": []}
    for seed in seeds:
        torch.manual_seed(seed)
        model = CharRNN(len(vocab))
        train_lm(model, train, steps=steps, lr=lr, seq_len=seq_len, batch=batch, seed=seed)
        result["stateless"].append(round(perplexity(model, val), 3))
        torch.manual_seed(seed)
        model = CharRNN(len(vocab))
        train_stateful(model, train, steps=steps, lr=lr, seq_len=seq_len, batch=batch)
        result["stateful"].append(round(perplexity(model, val), 3))
    return result


def cached_stateful() -> dict:
    """What compare_stateful() computed, as shipped with the package (`python -m rnn_course.lm` redoes it)."""
    import json

    return json.loads(resources.files("rnn_course").joinpath(STATEFUL_FILE).read_text(encoding="utf-8"))


if __name__ == "__main__":
    import json
    from pathlib import Path

    out = Path(__file__).parent / STATEFUL_FILE
    out.write_text(json.dumps(compare_stateful(), indent=1) + "\n", encoding="utf-8")
    print(out.read_text())
