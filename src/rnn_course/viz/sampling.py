"""A sampling explorer: pick a temperature, draw one character at a time, watch the next-character odds."""

import html

import ipywidgets as widgets
import torch.nn as nn

from rnn_course.controls import KeyboardHelper
from rnn_course.lm import Sampler, Vocab
from rnn_course.viz.curves import img_html, new_figure
from rnn_course.viz.widgets import error_html

TOP = 10  # bars shown: the most likely next characters
LABEL = {"description_width": "90px"}  # wide enough for "temperature" in full


def shown(char: str) -> str:
    """A character as a readable label: space and newline get names."""
    return {" ": "space", "\n": "newline"}.get(char, char)


class ProbabilityBars:
    """A bar chart of the likeliest next characters, built once; `update` changes only heights and labels."""

    def __init__(self):
        self.figure = new_figure(5, 2.4)
        self.ax = self.figure.subplots()
        self.bars = self.ax.bar(range(TOP), [0.0] * TOP, color="tab:blue")
        self.ax.set(ylim=(0, 1), ylabel="probability", xlabel="next character (most likely first)")
        self.ax.set_xticks(range(TOP))
        self.ax.grid(axis="y", alpha=0.3)

    def update(self, probs, vocab: Vocab, temperature: float) -> str:
        """Redraw for probabilities (V,); return the <img> with an alt text that reads the chart out."""
        top = probs.topk(min(TOP, len(probs)))  # values and indices, (k,) each, largest first
        labels = [shown(vocab.chars[i]) for i in top.indices.tolist()]
        values = top.values.tolist()
        for k, bar in enumerate(self.bars):
            bar.set_height(values[k] if k < len(values) else 0.0)
        self.ax.set_xticklabels(labels + [""] * (TOP - len(labels)))
        self.ax.set_title(f"temperature {temperature:.2f}")
        read_out = ", ".join(f"{label} {value:.0%}" for label, value in zip(labels[:5], values, strict=False))
        alt = f"Bar chart of next-character odds at temperature {temperature:.2f}; top five: {read_out}"
        return img_html(self.figure, alt)


class SamplingExplorer:
    """Generate from a trained model step by step; each step feeds back the drawn character and h."""

    def __init__(
        self, model: nn.Module, vocab: Vocab, prompt: str = "the ", temperature: float = 1.0, seed: int = 0
    ):
        self.model, self.vocab, self.seed = model, vocab, seed
        self.temperature = widgets.FloatSlider(
            value=temperature,
            min=0.1,
            max=2.0,
            step=0.05,
            description="temperature",
            readout_format=".2f",
            style=LABEL,
        )
        # A new prompt restarts sampling on Enter or when the box is left, not at each keystroke.
        self.prompt = widgets.Text(value=prompt, description="prompt", style=LABEL, continuous_update=False)
        self.one = widgets.Button(description="Next character", tooltip="Draw one character and feed it back")
        self.many = widgets.Button(description="Next 50", tooltip="Draw 50 characters, one at a time")
        self.restart = widgets.Button(description="Start over", tooltip="Start again from the prompt")
        self.text = widgets.HTML().add_class("rnn-sampling-text")
        self.error = widgets.HTML().add_class("rnn-sampling-error")
        self.plot = widgets.HTML().add_class("rnn-sampling-plot")
        self.bars = ProbabilityBars()
        self.one.on_click(lambda _: self.step(1))
        self.many.on_click(lambda _: self.step(50))
        self.restart.on_click(lambda _: self.start())
        self.temperature.observe(lambda _: self.draw(), names="value")
        self.prompt.observe(lambda _: self.start(), names="value")
        buttons = widgets.HBox([self.one, self.many, self.restart])
        helper = KeyboardHelper(root="rnn-sampling-explorer")  # names the slider, keeps the keys in here
        self.widget = widgets.VBox(
            [self.prompt, self.temperature, buttons, self.text, self.error, self.plot, helper]
        )
        self.widget.add_class("rnn-sampling-explorer")
        self.start()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def start(self) -> None:
        """A fresh sampler from the prompt (h computed from the prompt, the random draws reseeded)."""
        try:
            self.sampler = Sampler(self.model, self.vocab, self.prompt.value, seed=self.seed)
            self.given = len(self.prompt.value)
        except ValueError as err:  # an empty prompt, or a character the model never saw
            self.sampler = None
            self.error.value = error_html(
                "Cannot start from this prompt", str(err), "Change the prompt; the buttons work again then."
            )
            self.text.value, self.plot.value = "", ""
            self._enable(False)
            return
        self.error.value = ""
        self._enable(True)
        self.draw()

    def _enable(self, usable: bool) -> None:
        """The buttons draw characters: without a sampler they are disabled, not silently dead."""
        for button in (self.one, self.many, self.restart):
            button.disabled = not usable

    def step(self, count: int) -> None:
        if self.sampler is None:
            return
        for _ in range(count):
            self.sampler.step(self.temperature.value)
        self.draw()

    def draw(self) -> None:
        """Show the text so far and the odds for the next character at the current temperature."""
        if self.sampler is None:
            return
        given, drawn = self.sampler.text[: self.given], self.sampler.text[self.given :]
        self.text.value = (
            f"<pre style='white-space: pre-wrap'><b>{html.escape(given)}</b>{html.escape(drawn)}</pre>"
            f"<p>{len(drawn)} characters drawn (the prompt in bold)</p>"
        )
        self.plot.value = self.bars.update(
            self.sampler.probs(self.temperature.value), self.vocab, self.temperature.value
        )
