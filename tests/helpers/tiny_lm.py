"""A tiny Embedding -> RNN -> Linear model, shaped as lesson 5 writes it, for the tests of lm and sampling."""

import torch.nn as nn


class TinyLM(nn.Module):
    def __init__(self, vocab_size):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, 4)
        self.rnn = nn.RNN(4, 8)
        self.head = nn.Linear(8, vocab_size)

    def forward(self, x, h=None):
        output, h = self.rnn(self.embed(x), h)  # (L, N, H), (1, N, H)
        return self.head(output), h  # (L, N, V), (1, N, H)
