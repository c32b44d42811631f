"""Plumbing for lesson 5's character-level language model: the course's own text, a character vocabulary,
random training windows, and sampling with temperature that carries the hidden state from step to step.

The model and its training loop are written in the lesson itself; a model here is any module called as
`logits, h = model(x, h)` with x (L, N) character ids and logits (L, N, vocab).
"""

from importlib import resources

import torch
import torch.nn as nn


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


def next_char_probs(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """softmax(logits / temperature), shape (V,); a low temperature sharpens, a high one flattens."""
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, not {temperature}")
    return torch.softmax(logits / temperature, dim=-1)  # (V,)


class Sampler:
    """Generate text one character at a time, carrying the hidden state h from step to step."""

    def __init__(self, model: nn.Module, vocab: Vocab, prompt: str = "the ", seed: int = 0):
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


def sample(
    model: nn.Module, vocab: Vocab, prompt: str, length: int, temperature: float, seed: int = 0
) -> str:
    """The prompt followed by `length` sampled characters."""
    sampler = Sampler(model, vocab, prompt, seed)
    for _ in range(length):
        sampler.step(temperature)
    return sampler.text
