"""A sampling explorer: pick a temperature, draw one character at a time, watch the next-character odds."""

import html

import ipywidgets as widgets
import torch.nn as nn

from rnn_course.controls import KeyboardHelper
from rnn_course.lm import Sampler, Vocab
from rnn_course.viz.widgets import error_html, no_echo

TOP = 10  # bars shown: the most likely next characters
LABEL = {"description_width": "90px"}  # wide enough for "temperature" in full


def shown(char: str) -> str:
    """A character as a readable label: space and newline get names."""
    return {" ": "space", "\n": "newline"}.get(char, char)


class ProbabilityBars:
    """A bar chart of the likeliest next characters, drawn as SVG: sharp at any zoom, no image to encode.

    Each update writes a few dozen SVG elements (well under a millisecond), where a matplotlib figure
    encoded as a PNG took tens of milliseconds. The alt text is the SVG's accessible name.
    """

    WIDTH, HEIGHT = 500, 240  # CSS pixels
    LEFT, RIGHT, TOP_Y, BOTTOM = 56, 10, 26, 196  # the plot area inside the picture
    COLOUR = "#1f77b4"

    def __init__(self):
        self.heights = [0.0] * TOP  # the bars drawn now, largest first (tests read them)

    def update(self, probs, vocab: Vocab, temperature: float) -> str:
        """Draw for probabilities (V,); return the SVG, whose accessible name reads the chart out."""
        top = probs.topk(min(TOP, len(probs)))  # values and indices, (k,) each, largest first
        labels = [shown(vocab.chars[i]) for i in top.indices.tolist()]
        values = top.values.tolist()
        self.heights = [values[k] if k < len(values) else 0.0 for k in range(TOP)]
        read_out = ", ".join(f"{label} {value:.0%}" for label, value in zip(labels[:5], values, strict=False))
        alt = f"Bar chart of next-character odds at temperature {temperature:.2f}; top five: {read_out}"
        return self.svg(labels, alt, f"temperature {temperature:.2f}")

    def svg(self, labels: list[str], alt: str, title: str) -> str:
        left, right, top, bottom = self.LEFT, self.WIDTH - self.RIGHT, self.TOP_Y, self.BOTTOM
        slot = (right - left) / TOP
        y = lambda p: bottom - p * (bottom - top)  # noqa: E731 (probability -> y in CSS pixels)
        parts = []
        for p in (0, 0.2, 0.4, 0.6, 0.8, 1.0):  # grid lines and labels of the probability axis
            parts.append(f'<line x1="{left}" x2="{right}" y1="{y(p):.1f}" y2="{y(p):.1f}" stroke="#ccc"/>')
            parts.append(f'<text x="{left - 6}" y="{y(p) + 4:.1f}" text-anchor="end">{p:.1f}</text>')
        for k, height in enumerate(self.heights):
            x = left + k * slot
            parts.append(
                f'<rect x="{x + 0.1 * slot:.1f}" y="{y(height):.2f}" width="{0.8 * slot:.1f}" '
                f'height="{height * (bottom - top):.2f}" fill="{self.COLOUR}"/>'
            )
            if k < len(labels):
                parts.append(
                    f'<text x="{x + slot / 2:.1f}" y="{bottom + 16}" text-anchor="middle">'
                    f"{html.escape(labels[k])}</text>"
                )
        parts.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{bottom}" stroke="#000"/>')
        parts.append(f'<line x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}" stroke="#000"/>')
        parts.append(f'<text x="{(left + right) / 2}" y="{top - 9}" text-anchor="middle">{title}</text>')
        parts.append(
            f'<text x="{(left + right) / 2}" y="{self.HEIGHT - 6}" text-anchor="middle">'
            "next character (most likely first)</text>"
        )
        parts.append(
            f'<text transform="translate(14 {(top + bottom) / 2}) rotate(-90)" text-anchor="middle">'
            "probability</text>"
        )
        return (
            f'<svg class="rnn-sampling-bars" role="img" aria-label="{html.escape(alt)}" '
            f'viewBox="0 0 {self.WIDTH} {self.HEIGHT}" width="{self.WIDTH}" height="{self.HEIGHT}" '
            'style="max-width: 100%; height: auto; font: 12.5px sans-serif; fill: #000">'
            f"{''.join(parts)}</svg>"
        )


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
        # The text so far, an error and the chart change in one message, so in one frame: never a chart
        # that disagrees with the text, or stale text beside an error.
        self.view = widgets.HTML().add_class("rnn-sampling-view")
        self.text_html = self.error_html = self.plot_html = ""
        self.bars = ProbabilityBars()
        self.one.on_click(lambda _: self.step(1))
        self.many.on_click(lambda _: self.step(50))
        self.restart.on_click(lambda _: self.start())
        no_echo(self.temperature).observe(lambda _: self.draw(), names="value")
        self.prompt.observe(lambda _: self.start(), names="value")
        buttons = widgets.HBox([self.one, self.many, self.restart])
        helper = KeyboardHelper(root="rnn-sampling-explorer")  # names the slider, keeps the keys in here
        self.widget = widgets.VBox([self.prompt, self.temperature, buttons, self.view, helper])
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
            advice = "Change the prompt; the buttons work again then."
            self._show(error=error_html("Cannot start from this prompt", str(err), advice))
            self._enable(False)
            return
        self._enable(True)
        self.draw()

    def _show(self, text: str = "", error: str = "", plot: str = "") -> None:
        self.text_html, self.error_html, self.plot_html = text, error, plot
        self.view.value = (
            f"<div class='rnn-sampling-text'>{text}</div><div class='rnn-sampling-error'>{error}</div>"
            f"<div class='rnn-sampling-plot'>{plot}</div>"
        )

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
        text = (
            f"<pre style='white-space: pre-wrap'><b>{html.escape(given)}</b>{html.escape(drawn)}</pre>"
            f"<p>{len(drawn)} characters drawn (the prompt in bold)</p>"
        )
        probs = self.sampler.probs(self.temperature.value)  # (V,)
        self._show(text=text, plot=self.bars.update(probs, self.vocab, self.temperature.value))
