"""Lesson 5's plumbing: the shipped text, the vocabulary, training windows and sampling with a carried h."""

import pytest
import torch

from rnn_course.lm import Sampler, Vocab, course_text, next_char_probs, random_batch, sample
from tests.unit.tiny_lm import TinyLM


@pytest.fixture(scope="module")
def vocab():
    return Vocab(course_text())


def test_the_text_ships_with_the_package_and_round_trips(vocab):
    text = course_text()
    assert len(text) > 1000 and text.isascii()
    assert vocab.decode(vocab.encode(text)) == text
    assert len(vocab) == len(set(text))


def test_unknown_characters_are_named():
    with pytest.raises(ValueError, match=r"\['Z'\]"):
        Vocab("abc").encode("aZ")


def test_targets_are_the_inputs_shifted_by_one(vocab):
    data = vocab.encode(course_text())  # (T,)
    x, y = random_batch(data, seq_len=16, batch=5, generator=torch.Generator().manual_seed(3))
    assert x.shape == y.shape == (16, 5)
    assert torch.equal(x[1:], y[:-1])  # y[t] is x[t + 1]
    text = course_text()
    for n in range(5):
        window = vocab.decode(x[:, n]) + vocab.decode(y[-1:, n])
        assert window in text


def test_temperature_divides_the_scores():
    logits = torch.tensor([2.0, 1.0, 0.0])
    torch.testing.assert_close(next_char_probs(logits, 0.5), torch.softmax(logits * 2, dim=-1))
    assert next_char_probs(logits, 0.1)[0] > next_char_probs(logits, 1.0)[0] > next_char_probs(logits, 5.0)[0]
    with pytest.raises(ValueError, match="temperature must be > 0"):
        next_char_probs(logits, 0.0)


def test_stepping_with_a_carried_h_equals_one_run_over_the_whole_text(vocab):
    torch.manual_seed(0)
    model = TinyLM(len(vocab))
    sampler = Sampler(model, vocab, prompt="the ", seed=1)
    for _ in range(12):
        sampler.step(temperature=0.8)
    ids = vocab.encode(sampler.text)[:, None]  # (L, 1)
    with torch.no_grad():
        logits, h_n = model(ids)  # (L, 1, V), (1, 1, H)
    torch.testing.assert_close(sampler.h, h_n)  # the state after the last drawn character
    torch.testing.assert_close(sampler.logits, logits[-1, 0])


def test_sampling_is_reproducible_and_follows_the_seed(vocab):
    torch.manual_seed(0)
    model = TinyLM(len(vocab))
    first = sample(model, vocab, "the ", 30, 1.0, seed=4)
    assert first == sample(model, vocab, "the ", 30, 1.0, seed=4)
    assert first.startswith("the ") and len(first) == 34
    assert first != sample(model, vocab, "the ", 30, 1.0, seed=5)


def test_an_empty_prompt_is_refused(vocab):
    with pytest.raises(ValueError, match="at least one character"):
        Sampler(TinyLM(len(vocab)), vocab, prompt="")
