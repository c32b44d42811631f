"""Lesson 5's static figures (training and validation curves, a fair comparison) as PNGs with alt text."""

import base64
import html
import io

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


def split_curves(runs: dict, baselines: dict) -> FigureHTML:
    """Training loss per step, and validation perplexity with baseline lines, for label -> lm.History."""
    figure = new_figure(8, 3)
    loss_ax, val_ax = figure.subplots(1, 2)
    for label, history in runs.items():
        loss_ax.plot(history.losses, label=label, linewidth=1.2)
        val_ax.plot(history.val_steps, history.val_perplexity, marker=".", label=label, linewidth=1.2)
    for (label, value), style in zip(baselines.items(), ("--", ":"), strict=False):
        val_ax.axhline(value, color="grey", linestyle=style, linewidth=1, label=f"{label} baseline")
    loss_ax.set(xlabel="training step", ylabel="cross-entropy loss (nats)", title="training loss")
    val_ax.set(xlabel="training step", ylabel="perplexity", title="validation perplexity", yscale="log")
    for ax in (loss_ax, val_ax):
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    parts = [
        f"{label}: training loss {h.losses[0]:.2f} to {h.losses[-1]:.2f}, validation perplexity best "
        f"{min(h.val_perplexity):.1f}, last {h.val_perplexity[-1]:.1f}"
        for label, h in runs.items()
    ]
    parts += [f"{label} baseline {value:.1f}" for label, value in baselines.items()]
    return FigureHTML(
        figure, "Line charts of training loss and validation perplexity per step. " + "; ".join(parts) + "."
    )


def comparison_plot(accuracy: dict, starts: dict) -> FigureHTML:
    """Test accuracy per seed (one dot each) for 'kind/start' -> [accuracies], with the mean as a bar."""
    figure = new_figure(7, 3)
    ax = figure.subplots()
    names = list(accuracy)
    for x, name in enumerate(names):
        values = accuracy[name]
        ax.bar(x, sum(values) / len(values), color="tab:blue" if "good" in name else "tab:grey", alpha=0.4)
        ax.plot([x] * len(values), values, "o", color="black", markersize=4)
    labels = [f"nn.{n.split('/')[0].upper()}\n{starts[tuple(n.split('/'))]}" for n in names]
    ax.set_xticks(range(len(names)), labels, fontsize="small")
    ax.axhline(0.5, color="grey", linestyle="--", linewidth=1)
    ax.set(ylabel="test accuracy (dots: seeds, bar: mean)", ylim=(0.3, 1.05))
    ax.grid(axis="y", alpha=0.3)
    parts = [
        f"{label.replace(chr(10), ' ')}: " + ", ".join(f"{a:.2f}" for a in accuracy[n])
        for n, label in zip(names, labels, strict=True)
    ]
    return FigureHTML(figure, "Dot chart of test accuracy per seed, chance at 0.5. " + "; ".join(parts) + ".")
