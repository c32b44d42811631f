"""Numbers and claims the lessons state, measured again with the package's own functions and PyTorch."""

import math

import pytest
import torch
import torch.nn as nn

from rnn_course.lm import CharRNN, Vocab, course_text, ngram_perplexity, perplexity, sample, split, train_lm
from rnn_course.memory_task import train_memory_task
from rnn_course.recall import cached_comparison, compare, cue_gradient
from rnn_course.viz.hidden import gradient_norms, hidden_states, make_rnn, make_signal, spectral_radius


def test_above_radius_one_the_state_stays_bounded_but_keeps_moving():
    # the explorer's own model: 32 units, no bias, seed 0, fed an impulse for 100 steps
    states = hidden_states(make_rnn(32, radius=1.5, bias=False), make_signal("impulse", 100))  # (T, H)
    late = states[50:]  # (50, H)
    assert late.abs().max() < 1
    assert 0.4 < late.abs().mean() < 0.6  # "|h| averages about 0.5 over the last 50 steps"
    assert (late[1:] - late[:-1]).norm(dim=1).min() > 0.1  # it never settles


def test_default_init_radius_one_unit_and_many():
    torch.manual_seed(0)
    one = [spectral_radius(nn.RNN(1, 1).weight_hh_l0) for _ in range(400)]
    many = [spectral_radius(nn.RNN(1, 128).weight_hh_l0) for _ in range(5)]
    assert abs(sum(one) / len(one) - 0.5) < 0.05  # |w| for w ~ U(-1, 1)
    assert 0.55 < sum(many) / len(many) < 0.65  # "about 0.6"


def test_a_trained_model_remembers_through_saturated_units_that_pass_almost_no_gradient():
    model = train_memory_task(hidden_size=16, steps=20, iterations=200, progress=False)
    states = hidden_states(model.rnn, make_signal("impulse", 60))  # (T, H)
    grads = gradient_norms(model.rnn, states)  # (T,)
    slopes = 1 - states[30] ** 2  # (H,): tanh' at t=30
    assert model.accuracy(steps=20) > 0.95
    assert 1e-21 < grads[30] < 1e-19  # "about 3e-20 at t = 30"
    assert (slopes < 0.1).sum() >= 12  # "most of its units" sit in tanh's flat tails
    assert spectral_radius(model.rnn.weight_hh_l0) > 1.5  # "a radius well above 1"


# --- lessons 1 to 3: the edge sizes where a rule of thumb stops holding ---------------------------------


def test_bias_false_leaves_only_the_two_weight_matrices():
    names = [name for name, _ in nn.RNN(10, 20, bias=False).named_parameters()]
    assert names == ["weight_ih_l0", "weight_hh_l0"]


def test_dropout_on_one_layer_warns():
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        nn.RNN(10, 20, dropout=0.5)


def test_bidirectional_with_h_1_compares_without_an_error():
    output, h_n = nn.RNN(8, 1, bidirectional=True)(torch.randn(5, 3, 8))  # (L, N, 2), (2, N, 1)
    assert (h_n[-1] == output[-1]).shape == (3, 2)  # broadcast, no size error
    output, h_n = nn.RNN(8, 4, bidirectional=True)(torch.randn(5, 3, 8))  # H = 4: the size error
    with pytest.raises(RuntimeError, match="must match the size"):
        h_n[-1] == output[-1]  # noqa: B015


def test_view_n_minus_one_mixes_samples_only_when_n_is_above_one():
    deep_bi = nn.RNN(8, 4, num_layers=2, bidirectional=True)
    for N, mixes in [(3, True), (1, False)]:
        _, h_n = deep_bi(torch.randn(5, N, 8))  # (num_layers*D=4, N, H=4)
        per_sample = h_n.permute(1, 0, 2).reshape(N, -1)  # (N, 16)
        assert torch.equal(h_n.view(N, -1), per_sample) is not mixes


def test_at_radius_one_and_a_half_the_state_on_zeros_never_settles():
    quiet = hidden_states(make_rnn(32, radius=1.5), torch.zeros(300))  # (T, H)
    assert (quiet[299] - quiet[298]).norm() > 1  # "about 4 per step after 300 steps"
    settled = hidden_states(make_rnn(32, radius=0.9), torch.zeros(300))
    assert (settled[299] - settled[298]).norm() < 1e-5


def test_a_radius_below_one_can_still_grow_for_a_while():
    W = torch.tensor([[0.9, 5.0], [0.0, 0.9]])  # non-normal, radius 0.9
    assert torch.linalg.eigvals(W).abs().max() < 0.91
    norm = [torch.linalg.matrix_norm(torch.linalg.matrix_power(W, k), 2).item() for k in (5, 100)]
    assert norm[0] > 16 and norm[1] < 0.1  # grows first, vanishes in the long run


# --- lesson 5: held-out evaluation, clipping, a fair comparison ----------------------------------------


@pytest.fixture(scope="module")
def lm_runs():
    text = course_text()
    vocab = Vocab(text)
    train, val = split(vocab.encode(text))
    runs = {}
    for name, lr, max_norm in [("clipped", 4.0, 1.0), ("unclipped", 4.0, math.inf), ("lr1", 1.0, math.inf)]:
        torch.manual_seed(0)
        model = CharRNN(len(vocab))
        runs[name] = (model, train_lm(model, train, val, steps=200, lr=lr, max_norm=max_norm))
    baselines = {order: ngram_perplexity(train, val, len(vocab), order) for order in (1, 2)}
    return runs, baselines, train


def test_validation_perplexity_beats_the_bigram_and_unigram_baselines(lm_runs):
    runs, baselines, _ = lm_runs
    history = runs["clipped"][1]
    assert history.val_perplexity[-1] < baselines[2] < baselines[1]
    assert 8 < baselines[2] < 10 and 15 < baselines[1] < 18  # "bigram 9.1, unigram 16.9"


def test_the_clipped_model_overfits_the_tiny_text(lm_runs):
    runs, _, train = lm_runs
    model, history = runs["clipped"]
    best = min(history.val_perplexity)
    assert perplexity(model, train) < best / 2  # far lower on its own training text
    assert history.val_perplexity.index(best) < len(history.val_perplexity) - 1  # best early, then it rises
    assert history.val_perplexity[-1] > best


def test_clipping_makes_a_large_learning_rate_usable(lm_runs):
    runs, _, _ = lm_runs
    tail = {name: sum(h.losses[-50:]) / 50 for name, (_, h) in runs.items()}
    assert tail["clipped"] < tail["lr1"] < tail["unclipped"]  # lowest training loss of the three
    assert max(runs["unclipped"][1].norms[:10]) > 10  # diverges in the first steps
    assert max(runs["lr1"][1].norms) < 1  # at lr 1 clipping at 1 never fires
    slow, fast = runs["lr1"][1].val_perplexity, runs["clipped"][1].val_perplexity
    assert slow[-1] < min(fast)  # on held-out text the slow run ends best


def test_sampling_puts_the_model_in_eval_mode():
    vocab = Vocab("abc ")
    model = CharRNN(len(vocab), hidden_size=8)
    assert model.training
    sample(model, vocab, "ab", 3, 1.0)
    assert not model.training


@pytest.mark.slow
def test_the_fair_comparison_holds_over_five_seeds():
    cached = cached_comparison()
    accuracy = compare(cached["steps"], cached["seeds"])  # trains 30 small models: a few minutes
    for name, accuracies in accuracy.items():
        assert accuracies == pytest.approx(cached["accuracy"][name], abs=0.02), name
    for kind in ("rnn", "lstm", "gru"):
        assert max(accuracy[f"{kind}/default"]) < 0.65  # the defaults stay near chance
        assert sorted(accuracy[f"{kind}/good"])[2] > 0.95  # a good start learns it, in most seeds


def test_the_gradient_path_at_init():
    def loss(kind, start):  # orders of magnitude lost from a gap of 10 to 100
        return math.log10(cue_gradient(kind, start, 10) / cue_gradient(kind, start, 100))

    assert loss("lstm", "good") < 1.5 < 3 < loss("rnn", "good") < 5
    assert min(loss(kind, "default") for kind in ("rnn", "lstm", "gru")) > 10
