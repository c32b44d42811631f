"""Lesson 5's plumbing: the shipped text, the vocabulary, training windows and sampling with a carried h."""

import pytest
import torch

from rnn_course.lm import (
    Sampler,
    Vocab,
    course_text,
    next_char_probs,
    ngram_perplexity,
    random_batch,
    sample,
    split,
)
from tests.helpers.tiny_lm import TinyLM


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


def test_lines_are_padded_and_the_padding_is_ignored_by_the_loss():
    from rnn_course.lm import IGNORE, line_examples, pad_lines

    text = course_text()
    vocab = Vocab(text)
    lines = line_examples(vocab.encode(text), vocab.ids["\n"])
    assert len(lines) == text.count("\n") and all(torch.equal(x[1:], y[:-1]) for x, y in lines)
    assert vocab.decode(lines[0][1]).endswith("\n")  # each line ends by predicting its newline
    x, y, lengths = pad_lines(lines[:3])  # (L_max, N), (L_max, N), (N,)
    assert x.shape == y.shape == (max(lengths), 3)
    for n, length in enumerate(lengths.tolist()):
        assert (y[length:, n] == IGNORE).all() and (y[:length, n] != IGNORE).all()
    logits = torch.randn(*x.shape, len(vocab))  # (L_max, N, V)
    changed = logits.clone()
    changed[y == IGNORE] = 100.0
    loss = torch.nn.functional.cross_entropy(
        logits.reshape(-1, len(vocab)), y.reshape(-1), ignore_index=IGNORE
    )
    same = torch.nn.functional.cross_entropy(
        changed.reshape(-1, len(vocab)), y.reshape(-1), ignore_index=IGNORE
    )
    torch.testing.assert_close(loss, same)


def test_stateful_training_carries_a_detached_state_and_the_cache_is_what_it_computes():
    from rnn_course.lm import cached_stateful, compare_stateful

    cache = cached_stateful()
    again = compare_stateful(seeds=(0,), steps=cache["steps"], batch=cache["batch"])
    assert again["stateless"][0] == pytest.approx(cache["stateless"][0], rel=0.02)
    assert again["stateful"][0] == pytest.approx(cache["stateful"][0], rel=0.02)
    # What lesson 5 says: at this budget, random windows end a little lower in every seed.
    assert all(a < b for a, b in zip(cache["stateless"], cache["stateful"], strict=True))
    bigram = ngram_perplexity(
        *split(Vocab(course_text()).encode(course_text())), len(Vocab(course_text())), 2
    )
    assert max(cache["stateless"] + cache["stateful"]) < bigram  # both learned more than a bigram count


def test_gru_equations_of_lesson_5_match_gru_cell():
    cell = torch.nn.GRUCell(3, 4)
    x, h = torch.randn(2, 3), torch.randn(2, 4)  # (N, H_in), (N, H)
    gi = x @ cell.weight_ih.T + cell.bias_ih  # (N, 3H): r, z, n blocks
    gh = h @ cell.weight_hh.T + cell.bias_hh  # (N, 3H)
    r = torch.sigmoid(gi[:, :4] + gh[:, :4])
    z = torch.sigmoid(gi[:, 4:8] + gh[:, 4:8])
    n = torch.tanh(gi[:, 8:] + r * gh[:, 8:])
    torch.testing.assert_close((1 - z) * n + z * h, cell(x, h))


def test_a_bidirectional_output_depends_on_later_inputs_in_its_backward_half_only():
    bi = torch.nn.RNN(3, 4, bidirectional=True)
    x = torch.randn(6, 1, 3)  # (L, N, H_in)
    later = x.clone()
    later[4] += 1.0
    out, out_later = bi(x)[0], bi(later)[0]  # (L, N, 2H)
    assert torch.equal(out[:4, :, :4], out_later[:4, :, :4])
    assert not torch.allclose(out[2, :, 4:], out_later[2, :, 4:])
