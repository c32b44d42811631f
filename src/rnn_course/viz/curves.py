"""Lesson 5's static figures (training curves, memory reach) as sharp PNG images with alt text."""

import base64
import html
import io
import math

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

SCALE = 2  # pixels per CSS pixel: drawn at twice the shown size, so the image stays sharp on any screen
DPI = 100


def new_figure(width: float, height: float) -> Figure:
    """A pyplot-free figure (nothing shows by itself); width and height in inches at 100 CSS px per inch."""
    figure = Figure(figsize=(width, height), dpi=DPI * SCALE, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def img_html(figure: Figure, alt: str) -> str:
    """The figure as an <img> with a data URL, shown at its CSS size, with alt text for screen readers."""
    buffer = io.BytesIO()
    figure.canvas.print_png(buffer)
    width = int(figure.get_figwidth() * DPI)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}" width="{width}">'


class FigureHTML:
    """Shows an image with alt text in a notebook (as HTML), and as its alt text in a terminal."""

    def __init__(self, figure: Figure, alt: str):
        self.figure, self.alt = figure, alt

    def _repr_html_(self) -> str:
        return img_html(self.figure, self.alt)

    def __repr__(self) -> str:
        return f"[figure: {self.alt}]"


def training_curves(runs: dict) -> FigureHTML:
    """Loss and perplexity (exp of the loss) per step, side by side, for each label -> list of losses."""
    figure = new_figure(8, 3)
    loss_ax, ppl_ax = figure.subplots(1, 2)
    for label, losses in runs.items():
        loss_ax.plot(losses, label=label, linewidth=1.2)
        ppl_ax.plot([math.exp(v) for v in losses], label=label, linewidth=1.2)
    loss_ax.set(xlabel="training step", ylabel="cross-entropy loss (nats)", title="loss")
    ppl_ax.set(xlabel="training step", ylabel="perplexity = exp(loss)", title="perplexity", yscale="log")
    for ax in (loss_ax, ppl_ax):
        ax.grid(alpha=0.3)
        ax.legend()
    parts = [
        f"{label}: loss {losses[0]:.2f} at the start, {losses[-1]:.2f} at the end "
        f"(perplexity {math.exp(losses[0]):.1f} to {math.exp(losses[-1]):.1f})"
        for label, losses in runs.items()
    ]
    return FigureHTML(
        figure, "Line charts of training loss and perplexity per step. " + "; ".join(parts) + "."
    )


def memory_reach_plot(lengths, reach: dict) -> FigureHTML:
    """Test accuracy against sequence length (cue at step 0, answer after the last step), per module."""
    figure = new_figure(5, 3)
    ax = figure.subplots()
    styles = iter([("o", "-"), ("s", "--"), ("^", ":"), ("D", "-.")])  # lines that coincide stay visible
    for kind, accuracies in reach.items():
        marker, line = next(styles, ("o", "-"))
        ax.plot(
            lengths, accuracies, marker=marker, linestyle=line, markersize=7, markerfacecolor="none",
            linewidth=1.5, label=f"nn.{kind.upper()}",
        )  # fmt: skip
    ax.axhline(0.5, color="grey", linestyle="--", linewidth=1, label="chance")
    ax.set(xlabel="sequence length (the cue is step 0)", ylabel="test accuracy", ylim=(0.4, 1.05))
    ax.grid(alpha=0.3)
    ax.legend()
    parts = [
        f"nn.{kind.upper()} "
        + ", ".join(f"{a:.0%} at length {n}" for n, a in zip(lengths, accuracies, strict=True))
        for kind, accuracies in reach.items()
    ]
    return FigureHTML(
        figure, "Line chart of test accuracy against sequence length. " + "; ".join(parts) + "."
    )
