"""A tiny character-level language model: the course's own text, an Embedding -> RNN -> Linear model,
a training loop with gradient clipping, and sampling with temperature that carries the hidden state."""

import math
from dataclasses import dataclass, field
from importlib import resources

import torch
import torch.nn as nn
from tqdm.auto import tqdm

from rnn_course.viz.threads import one_thread


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


def random_batch(data: torch.Tensor, seq_len: int, batch: int, generator: torch.Generator):
    """Inputs x and next-character targets y, both (L, N): y[t] is the character after x[t]."""
    starts = torch.randint(0, len(data) - seq_len, (batch,), generator=generator)  # (N,)
    offsets = torch.arange(seq_len)  # (L,)
    x = data[starts[None, :] + offsets[:, None]]  # (L, N)
    y = data[starts[None, :] + offsets[:, None] + 1]  # (L, N)
    return x, y


class CharRNN(nn.Module):
    """Embedding -> nn.RNN -> Linear: one score per vocabulary entry at every step."""

    def __init__(self, vocab_size: int, embed_size: int = 16, hidden_size: int = 64, num_layers: int = 1):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_size)
        self.rnn = nn.RNN(embed_size, hidden_size, num_layers=num_layers)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None):
        """x (L, N) ids -> logits (L, N, V) and h_n (num_layers, N, H)."""
        e = self.embed(x)  # (L, N, E)
        output, h_n = self.rnn(e, h)  # (L, N, H), (num_layers, N, H)
        return self.head(output), h_n  # (L, N, V), (num_layers, N, H)


def sequence_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over every step of every sequence: (L, N, V) and (L, N) flattened to (L*N, ...)."""
    L, N, V = logits.shape
    return nn.functional.cross_entropy(logits.reshape(L * N, V), targets.reshape(L * N))


@dataclass
class TrainingRun:
    """The trained model and, per step, the loss and the gradient norm before clipping."""

    model: CharRNN
    vocab: Vocab
    losses: list[float] = field(default_factory=list)
    grad_norms: list[float] = field(default_factory=list)

    @property
    def perplexities(self) -> list[float]:
        """exp(loss): the number of equally likely characters the model is as unsure as."""
        return [math.exp(loss) for loss in self.losses]


def train_char_model(
    text: str | None = None,
    steps: int = 200,
    seq_len: int = 32,
    batch: int = 32,
    lr: float = 4.0,
    clip: float | None = 1.0,
    hidden_size: int = 64,
    seed: int = 0,
    progress: bool = True,
) -> TrainingRun:
    """Train a CharRNN with plain SGD; `clip=None` turns gradient clipping off (to see why it is there)."""
    text = course_text() if text is None else text
    if len(text) <= seq_len + 1:
        raise ValueError(f"the text needs more than seq_len + 1 = {seq_len + 1} characters")
    if not (1 <= steps <= 5000 and 1 <= batch <= 512 and 1 <= hidden_size <= 512):
        raise ValueError("keep steps <= 5000, batch <= 512 and hidden_size <= 512")
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    vocab = Vocab(text)
    data = vocab.encode(text)  # (T,)
    model = CharRNN(len(vocab), hidden_size=hidden_size)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    run = TrainingRun(model, vocab)
    with one_thread():  # a tiny model: extra threads only wait on a busy machine
        for step in tqdm(range(steps), desc="training" if clip else "training, no clipping", disable=not progress):
            x, y = random_batch(data, seq_len, batch, generator)  # (L, N), (L, N)
            logits, _ = model(x)  # (L, N, V)
            loss = sequence_loss(logits, y)
            optimizer.zero_grad()
            loss.backward()
            norm = nn.utils.clip_grad_norm_(model.parameters(), clip if clip else math.inf)  # norm before
            optimizer.step()
            run.losses.append(loss.item())
            run.grad_norms.append(norm.item())
    return run


def next_char_probs(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """softmax(logits / temperature), shape (V,); a low temperature sharpens, a high one flattens."""
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, not {temperature}")
    return torch.softmax(logits / temperature, dim=-1)  # (V,)


class Sampler:
    """Generate text one character at a time, carrying the hidden state h from step to step."""

    def __init__(self, model: CharRNN, vocab: Vocab, prompt: str = "the ", seed: int = 0):
        if not prompt:
            raise ValueError("the prompt needs at least one character")
        self.model, self.vocab = model, vocab
        self.generator = torch.Generator().manual_seed(seed)
        self.text = prompt
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


def sample(model: CharRNN, vocab: Vocab, prompt: str, length: int, temperature: float, seed: int = 0) -> str:
    """The prompt followed by `length` sampled characters."""
    sampler = Sampler(model, vocab, prompt, seed)
    for _ in range(length):
        sampler.step(temperature)
    return sampler.text
