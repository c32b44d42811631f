"""Lesson 5's sampling explorer and figures: one kept figure, named controls, alt text, clear errors."""

import re
import sys

import torch

from rnn_course.lm import History, Vocab, course_text
from rnn_course.viz.curves import SCALE, comparison_plot, split_curves
from rnn_course.viz.sampling import SamplingExplorer
from tests.helpers.tiny_lm import TinyLM


def explorer():
    vocab = Vocab(course_text())
    torch.manual_seed(0)
    return SamplingExplorer(TinyLM(len(vocab)), vocab, prompt="the ")


def alt_of(svg):
    """The chart's accessible name: the aria-label of its SVG, which has role=img."""
    assert '<svg class="rnn-sampling-bars" role="img"' in svg
    return re.search(r'aria-label="([^"]*)"', svg).group(1)


def test_controls_have_accessible_names_and_the_plot_has_alt_text():
    e = explorer()
    for control in (e.temperature, e.prompt, e.one, e.many, e.restart):
        assert control.description
    assert alt_of(e.plot_html).startswith("Bar chart of next-character odds at temperature 1.00")


def test_steps_add_characters_and_the_odds_follow_the_model():
    e = explorer()
    bars = e.bars
    e.step(5)
    assert len(e.sampler.text) == 4 + 5 and "5 characters drawn" in e.text_html
    probs = e.sampler.probs(1.0)  # (V,)
    top = probs.max().item()
    assert f"{top:.0%}" in alt_of(e.plot_html)
    assert max(e.bars.heights) == top and e.bars.heights == sorted(e.bars.heights, reverse=True)
    drawn = [float(h) for h in re.findall(r'<rect [^>]*height="([0-9.]+)"', e.plot_html)]
    assert len(drawn) == 10 and abs(max(drawn) - top * (bars.BOTTOM - bars.TOP_Y)) < 0.01  # as drawn
    e.temperature.value = 0.2
    assert alt_of(e.plot_html).startswith("Bar chart of next-character odds at temperature 0.20")
    assert max(e.bars.heights) > top  # a low temperature sharpens
    assert e.bars is bars and "<img" not in e.plot_html  # one chart, as vector graphics: no image
    pyplot = sys.modules.get("matplotlib.pyplot")
    assert pyplot is None or pyplot.get_fignums() == []


def test_start_over_and_a_new_prompt_restart_from_the_prompt():
    e = explorer()
    e.step(3)
    e.restart.click()
    assert e.sampler.text == "the "
    e.prompt.value = "a bird "
    assert e.sampler.text == "a bird " and "<b>a bird </b>" in e.text_html


def test_an_unknown_character_is_an_error_and_nothing_stale_stays():
    e = explorer()
    e.prompt.value = "QUIZ"
    assert "role='alert'" in e.error_html and "not in the vocabulary" in e.error_html
    assert e.text_html == "" and e.plot_html == ""
    e.one.click()  # does nothing, raises nothing
    e.prompt.value = "the "
    assert e.error_html == "" and e.plot_html


def test_text_error_and_chart_are_one_widget_value_so_they_change_in_one_message():
    e = explorer()
    sent = []
    e.view.observe(lambda change: sent.append(change["new"]), names="value")
    e.one.click()
    assert len(sent) == 1 and "1 characters drawn" in sent[0] and "<svg" in sent[0]
    e.prompt.value = "QUIZ"
    assert len(sent) == 2 and "role='alert'" in sent[1] and "<svg" not in sent[1]
    assert "<div class='rnn-sampling-text'></div>" in sent[1]  # no stale text beside the error


def test_static_figures_are_sharp_and_described():
    history = History(losses=[3.3, 2.0, 1.0], val_steps=[1, 2, 3], val_perplexity=[20.0, 5.0, 6.0])
    curves = split_curves({"a run": history}, {"bigram": 9.1})
    assert curves.figure.dpi == 100 * SCALE
    assert "a run: training loss 3.30 to 1.00, validation perplexity best 5.0, last 6.0" in curves.alt
    assert "bigram baseline 9.1" in curves.alt
    assert f'alt="{curves.alt}"' in curves._repr_html_()
    chart = comparison_plot({"rnn/good": [1.0, 0.5]}, {("rnn", "good"): "orthogonal W_hh"})
    assert "nn.RNN orthogonal W_hh: 1.00, 0.50" in chart.alt
    assert chart.figure.axes[0].get_ylabel()
