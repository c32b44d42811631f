"""Figures built once and then only updated: changing artists are redrawn over a cached background."""

import io
import math

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator
from PIL import Image

from rnn_course.viz.packing import MAX_LENGTH, MAX_SEQUENCES, PackingLayout


class BlitFigure:
    """An Agg figure outside pyplot (so nothing is shown by itself) that renders to PNG bytes.

    Three layers, each redrawn only when it changes:
    - the background (axes, ticks, labels), drawn once per `layout` (limits, sizes);
    - the data artists registered with `animate`, redrawn when the `data` key changes;
    - the cursor artists registered with `animate(..., cursor=True)`, drawn on every event.
    A layer is cached as pixels, so the same state always gives the same PNG bytes.
    """

    def __init__(self, figsize: tuple[float, float], dpi: int = 72):
        self.figure = Figure(figsize=figsize, dpi=dpi)
        self.canvas = FigureCanvasAgg(self.figure)
        self.dynamic, self.cursor = [], []
        self._background = self._with_data = None
        self._layout = self._data = None
        self.full_draws = 0  # whole-figure draws (tests and benchmarks read these counters)
        self.data_draws = 0  # data-layer draws

    def animate(self, *artists, cursor: bool = False):
        """Mark artists as changing; they are left out of the background."""
        for artist in artists:
            artist.set_animated(True)
            (self.cursor if cursor else self.dynamic).append(artist)
        return artists

    def render(self, layout, data=None) -> bytes:
        """PNG bytes of the figure; `data` is a key for the data layer's content (None: always redraw it)."""
        if layout != self._layout or self._background is None:
            self.canvas.draw()  # everything except the animated artists
            self._background = self.canvas.copy_from_bbox(self.figure.bbox)
            self._layout, self._with_data = layout, None
            self.full_draws += 1
        renderer = self.canvas.get_renderer()
        if data is None or self._with_data is None or data != self._data:
            self.canvas.restore_region(self._background)
            self._draw(self.dynamic, renderer)
            self._with_data = self.canvas.copy_from_bbox(self.figure.bbox) if self.cursor else None
            self._data = data
            self.data_draws += 1
        else:
            self.canvas.restore_region(self._with_data)
        self._draw(self.cursor, renderer)
        return self.png()

    @staticmethod
    def _draw(artists, renderer):
        for artist in artists:
            if artist.get_visible():
                artist.draw(renderer)

    def png(self) -> bytes:
        """The canvas as PNG; light compression keeps encoding fast."""
        width, height = self.canvas.get_width_height()
        image = Image.frombuffer("RGBA", (width, height), self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="png", compress_level=1)
        return buffer.getvalue()


def nice_ceiling(value: float) -> float:
    """Smallest of 1, 2, 5 times a power of ten that is >= value, so axis limits move in coarse steps."""
    if not math.isfinite(value) or value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value * (1 - 1e-9):
            return step * power
    return 10 * power


class HiddenStateFigure(BlitFigure):
    """Heatmap of h_t, a few unit trajectories, ||h_t|| and ||dh_T/dh_t||, with the selected step marked."""

    UNITS_SHOWN = 4

    def __init__(self, hidden_size: int, steps: int):
        super().__init__(figsize=(7.2, 6.6))
        fig = self.figure
        self.ax_heat, self.ax_units, self.ax_norm, self.ax_grad = axes = fig.subplots(
            4, 1, sharex=True, gridspec_kw={"height_ratios": [2.2, 1, 1, 1]}
        )
        fig.subplots_adjust(left=0.11, right=0.97, top=0.95, bottom=0.08, hspace=0.32)
        empty = np.zeros((hidden_size, steps))
        self.heat = self.ax_heat.imshow(
            empty, aspect="auto", cmap="RdBu_r", interpolation="none", vmin=-1, vmax=1
        )
        self.ax_heat.set_ylabel("unit")
        self.ax_heat.yaxis.set_major_locator(MaxNLocator(integer=True))
        self.ax_heat.set_title("h_t of every unit (colour) over time", fontsize=10)
        self.unit_lines = self.ax_units.plot(np.zeros((steps, self.UNITS_SHOWN)), lw=1.2)
        self.ax_units.set_ylabel("h_t[unit]")
        (self.norm_line,) = self.ax_norm.plot(np.zeros(steps), color="k", lw=1.2)
        self.ax_norm.set_ylabel("||h_t||")
        (self.grad_line,) = self.ax_grad.semilogy(np.ones(steps), color="tab:purple", lw=1.2)
        self.ax_grad.set_ylabel("||dh_T/dh_t||")
        self.ax_grad.set_xlabel("time step t")
        self.step_lines = [ax.axvline(0, color="k", lw=1, ls="--") for ax in axes]
        self.animate(self.heat, *self.unit_lines, self.norm_line, self.grad_line)
        self.animate(*self.step_lines, cursor=True)

    # One fixed range for ||dh_T/dh_t||: curves move while the axis stays, so settings compare at a glance,
    # and changing a setting never forces a full redraw. Values outside are pinned to the edge.
    GRAD_LIMITS = (1e-20, 1e20)

    def update(self, states: np.ndarray, grads: np.ndarray, step: int, bound: float | None) -> bytes:
        """Put new data into the existing artists and render; states (T, H), grads (T,).

        `bound` limits |h_t| when known (1 for tanh); for relu the limits follow the data in coarse steps.
        """
        T, H = states.shape
        states = np.nan_to_num(states, nan=0.0, posinf=1e30, neginf=-1e30)
        grads = np.nan_to_num(grads, nan=0.0, posinf=1e300)
        norms = np.linalg.norm(states, axis=1)  # (T,)
        if bound is None:
            limit, norm_top = nice_ceiling(float(np.abs(states).max())), nice_ceiling(float(norms.max()))
        else:
            limit, norm_top = bound, bound * math.sqrt(H)  # ||h_t|| <= bound * sqrt(H)
        self.heat.set_data(states.T)  # (H, T)
        self.heat.set_extent((-0.5, T - 0.5, H - 0.5, -0.5))
        self.heat.set_clim(-limit, limit)
        t = np.arange(T)
        for unit, line in enumerate(self.unit_lines):
            line.set_visible(unit < H)
            if unit < H:
                line.set_data(t, states[:, unit])
        self.norm_line.set_data(t, norms)
        self.grad_line.set_data(t, np.clip(grads, *self.GRAD_LIMITS))
        for line in self.step_lines:
            line.set_xdata([step, step])
        layout = (T, H, limit, norm_top)
        if layout != self._layout:
            self.ax_heat.set_xlim(-0.5, T - 0.5)
            self.ax_heat.set_ylim(H - 0.5, -0.5)
            self.ax_units.set_ylim(-1.05 * limit, 1.05 * limit)
            self.ax_norm.set_ylim(0, 1.05 * norm_top)
            self.ax_grad.set_ylim(*self.GRAD_LIMITS)
        return self.render(layout, data=(states.tobytes(), grads.tobytes(), H))


class PackingFigure(BlitFigure):
    """The padded grid (rows are sequences) above the packed `data` strip, grouped by time step."""

    COLOURS = ("#8ecae6", "#ffb703", "#90be6d", "#f4a6c1", "#cdb4db")

    def __init__(self):
        super().__init__(figsize=(8.4, 4.2))
        fig = self.figure
        self.ax_grid, self.ax_data = fig.subplots(2, 1, gridspec_kw={"height_ratios": [1.2, 1]})
        fig.subplots_adjust(left=0.02, right=0.98, top=0.9, bottom=0.02, hspace=0.35)
        cells = MAX_SEQUENCES * MAX_LENGTH
        self.ax_grid.set_xlim(-2.2, MAX_LENGTH)
        self.ax_grid.set_ylim(MAX_SEQUENCES, -0.8)
        self.ax_grid.set_title(
            "padded batch (batch_first): row i is sequence i, grey cells are padding", fontsize=9
        )
        self.step_texts = [
            self.ax_grid.text(t + 0.5, -0.4, "", ha="center", fontsize=8) for t in range(MAX_LENGTH)
        ]
        self.ax_data.set_xlim(0, cells)
        self.ax_data.set_ylim(3.2, -0.6)
        self.ax_data.set_title("PackedSequence.data: step by step, longest sequence first", fontsize=9)
        for ax in (self.ax_grid, self.ax_data):
            ax.set_axis_off()
        self.grid_boxes = [
            [self._box(self.ax_grid, t, i) for t in range(MAX_LENGTH)] for i in range(MAX_SEQUENCES)
        ]
        self.grid_texts = [
            [self._label(self.ax_grid, t, i) for t in range(MAX_LENGTH)] for i in range(MAX_SEQUENCES)
        ]
        self.row_texts = [
            self.ax_grid.text(-0.15, i + 0.5, "", ha="right", va="center", fontsize=8)
            for i in range(MAX_SEQUENCES)
        ]
        self.data_boxes = [self._box(self.ax_data, k, 0) for k in range(cells)]
        self.data_texts = [self._label(self.ax_data, k, 0) for k in range(cells)]
        self.group_texts = [self.ax_data.text(0, 1.6, "", ha="center", fontsize=7) for _ in range(MAX_LENGTH)]
        self.fields_text = self.ax_data.text(0, 2.8, "", fontsize=8, family="monospace")
        self.animate(
            *sum(self.grid_boxes, []),
            *sum(self.grid_texts, []),
            *self.row_texts,
            *self.data_boxes,
            *self.data_texts,
            *self.group_texts,
            *self.step_texts,
            self.fields_text,
        )

    @staticmethod
    def _box(ax, x, y):
        return ax.add_patch(Rectangle((x + 0.04, y + 0.04), 0.92, 0.92, linewidth=0.8, edgecolor="k"))

    @staticmethod
    def _label(ax, x, y):
        return ax.text(x + 0.5, y + 0.5, "", ha="center", va="center", fontsize=8)

    def update(self, layout: PackingLayout) -> bytes:
        """Show one layout; every number drawn comes from the real tensors in `layout`."""
        N, L = layout.padded.shape
        for t, text in enumerate(self.step_texts):
            text.set_text(f"t={t}" if t < L else "")
        for i in range(MAX_SEQUENCES):
            inside = i < N
            self.row_texts[i].set_text(f"seq {i} (len {layout.lengths[i]})" if inside else "")
            for t in range(MAX_LENGTH):
                visible = inside and t < L
                valid = visible and t < layout.lengths[i]
                self.grid_boxes[i][t].set_visible(visible)
                self.grid_boxes[i][t].set_facecolor(self.COLOURS[i] if valid else "#dddddd")
                self.grid_texts[i][t].set_text(f"{layout.padded[i, t].item():g}" if visible else "")
        owner = {10 * (i + 1) + t + 1: i for i, n in enumerate(layout.lengths) for t in range(n)}
        values = [int(v) for v in layout.data.tolist()]
        for k, (box, text) in enumerate(zip(self.data_boxes, self.data_texts, strict=True)):
            box.set_visible(k < len(values))
            text.set_text(str(values[k]) if k < len(values) else "")
            if k < len(values):
                box.set_facecolor(self.COLOURS[owner[values[k]]])
        start = 0
        for t, text in enumerate(self.group_texts):
            if t < len(layout.batch_sizes):
                size = int(layout.batch_sizes[t])
                text.set_position((start + size / 2, 1.6))
                text.set_text(f"t={t}\n{size}")
                start += size
            else:
                text.set_text("")
        self.fields_text.set_text(
            f"batch_sizes={_as_list(layout.batch_sizes)}  sorted_indices={_as_list(layout.sorted_indices)}  "
            f"unsorted_indices={_as_list(layout.unsorted_indices)}"
        )
        return self.render(layout=None)

    def drawn_data(self) -> list[int]:
        """The numbers shown in the packed strip, left to right."""
        return [int(t.get_text()) for t in self.data_texts if t.get_text()]

    def drawn_batch_sizes(self) -> list[int]:
        """The batch size written under each time-step group."""
        return [int(t.get_text().split("\n")[1]) for t in self.group_texts if t.get_text()]


def _as_list(tensor) -> list | None:
    return None if tensor is None else tensor.tolist()
