"""Figures built once and then only updated: changing artists are redrawn over a cached background."""

import math

import numpy as np
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize, to_hex
from matplotlib.figure import Figure
from matplotlib.markers import TICKLEFT, TICKRIGHT
from matplotlib.ticker import MaxNLocator, NullLocator
from matplotlib.transforms import ScaledTranslation, blended_transform_factory

CSS_DPI = 100  # CSS pixels per figure inch: a 9 pt label is 12.5 CSS pixels, as in a browser's small text
SCALE = 2  # pixels drawn per CSS pixel: sharp on a 2x (retina) screen, never stretched on a 1x one
FONT = 9.5  # points; every label, tick and title is at least this size (titles a little larger)


class BlitFigure:
    """An Agg figure outside pyplot (so nothing is shown by itself) that renders to raw RGBA bytes.

    Two layers, each redrawn only when it changes:
    - the background (axes, ticks, labels), drawn once per `layout` (limits, sizes);
    - the data artists registered with `animate`, redrawn when the `data` key changes.
    A marker such as the selected time step is not drawn here: the page draws it over the picture
    (see `PlotImage.marks`), so moving it costs no drawing at all.
    """

    def __init__(self, figsize: tuple[float, float]):
        self.figure = Figure(figsize=figsize, dpi=CSS_DPI * SCALE)
        self.canvas = FigureCanvasAgg(self.figure)
        self.dynamic = []
        self._background = None
        self._layout = self._data = None
        self.full_draws = 0  # whole-figure draws (tests and benchmarks read these counters)
        self.data_draws = 0  # data-layer draws
        self.notice = self.figure.text(
            0.5, 0.5, "", ha="center", va="center", fontsize=FONT + 2, wrap=True,
            bbox={"boxstyle": "round", "facecolor": "#fdecea", "edgecolor": "#c62828"},
        )  # fmt: skip
        self.notice.set_animated(True)

    @property
    def css_size(self) -> tuple[int, int]:
        """Display size in CSS pixels (the image holds SCALE times as many in each direction)."""
        width, height = self.figure.get_size_inches()
        return round(width * CSS_DPI), round(height * CSS_DPI)

    def animate(self, *artists):
        """Mark artists as changing; they are left out of the background."""
        for artist in artists:
            artist.set_animated(True)
            self.dynamic.append(artist)
        return artists

    def render(self, layout, data=None) -> memoryview:
        """The figure's RGBA pixels; `data` keys the data layer's content (None: always redraw it).

        The pixels are the canvas itself, not a copy: use them before the figure draws again.
        """
        if layout != self._layout or self._background is None:
            self._draw_background(layout)
        if data is None or data != self._data:
            self.canvas.restore_region(self._background)
            renderer = self.canvas.get_renderer()
            for artist in self.dynamic:
                if artist.get_visible():
                    artist.draw(renderer)
            self._data = data
            self.data_draws += 1
        return self.image()

    def _draw_background(self, layout) -> None:
        """Draw everything except the animated artists, and keep those pixels for `layout`."""
        self.before_background()
        self.canvas.draw()
        self._background = self.canvas.copy_from_bbox(self.figure.bbox)
        self._layout, self._data = layout, None
        self.full_draws += 1

    def before_background(self) -> None:
        """Bring what only the background shows up to date; a figure with such parts says how."""

    def show_message(self, message: str) -> memoryview:
        """The empty axes with `message` in place of any data: what an explorer shows while it has none."""
        if self._background is None:
            self._draw_background(self._layout)
        self.canvas.restore_region(self._background)
        self.notice.set_text(message)
        self.notice.draw(self.canvas.get_renderer())
        self._data = None  # the next render draws the data again
        return self.image()

    @property
    def pixel_size(self) -> tuple[int, int]:
        """Width and height of the image in pixels."""
        return self.canvas.get_width_height()

    def image(self) -> memoryview:
        """The canvas's RGBA pixels (height, width, 4): no copy, no PNG (encoding costs more than drawing)."""
        return self.canvas.buffer_rgba()


def nice_ceiling(value: float) -> float:
    """Smallest of 1, 2, 5 times a power of ten that is >= value, so axis limits move in coarse steps."""
    if not math.isfinite(value) or value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value * (1 - 1e-9):
            return step * power
    return 10 * power


def log_limits(values: np.ndarray) -> tuple[float, float, bool]:
    """Whole decades around the positive values, and whether some values (0, underflow) lie below them.

    Values that are 0 are drawn on the lower limit, which is then marked as a floor.
    """
    positive = values[np.isfinite(values) & (values > 0)]
    if positive.size == 0:
        return 1e-1, 1e1, True
    low = math.floor(math.log10(positive.min()))
    high = max(math.ceil(math.log10(positive.max())), low + 1)
    floor = bool((values <= 0).any())
    if floor:
        low -= 1  # room below the smallest real value, so the floor line is not mistaken for data
    return 10.0**low, 10.0**high, floor


def _style(ax) -> None:
    ax.tick_params(labelsize=FONT)
    ax.yaxis.label.set_size(FONT)
    ax.xaxis.label.set_size(FONT)


class CellImage(Artist):
    """Coloured cells (H, T, 4) filling an Axes, enlarged by repeating pixels.

    imshow would resample and colour every screen pixel on each redraw; repeating ready-made colours with
    one numpy index is several times cheaper at 2x, and cells stay sharp-edged.
    """

    def __init__(self, ax):
        super().__init__()
        self.ax = ax
        self.cells = None  # (H, T, 4) uint8, unit 0 in the top row
        self._index = (None, None, None)  # (size key, pixel -> row, pixel -> column)

    def set_cells(self, rgba: np.ndarray) -> None:
        self.cells = rgba

    def draw(self, renderer):
        if not self.get_visible() or self.cells is None:
            return
        x0, y0, x1, y1 = (round(v) for v in self.ax.bbox.extents)
        H, T = self.cells.shape[:2]
        key = (x1 - x0, y1 - y0, H, T)
        if self._index[0] != key:
            rows = np.arange(y1 - y0)[::-1] * H // (y1 - y0)  # (height,): cell row per pixel row, bottom up
            columns = np.arange(x1 - x0) * T // (x1 - x0)  # (width,)
            self._index = (key, rows, columns)
        _, rows, columns = self._index
        cells = np.ascontiguousarray(self.cells).view(np.uint32)[..., 0]  # (H, T): one RGBA pixel per number
        pixels = cells.take(columns, axis=1).take(rows, axis=0)  # (height, width), Agg's bottom row first
        pixels = pixels.view(np.uint8).reshape(*pixels.shape, 4)  # (height, width, 4)
        gc = renderer.new_gc()
        gc.set_clip_rectangle(self.ax.bbox)
        renderer.draw_image(gc, x0, y0, pixels)
        gc.restore()


def tick_text(value: float) -> str:
    """A short tick label: 0.5, -2, 1e6 (no '+' or leading zero in the exponent, so labels stay narrow)."""
    text = f"{value:g}"
    return text.replace("e+0", "e").replace("e+", "e").replace("e-0", "e-")


class DrawnTicks:
    """Tick marks and labels on one side of an axes, drawn with the data: the axes' pixels stay the same
    when the range changes (the page keeps them), and only these few marks and words are new.

    Positions are in the axes' data units along it (y); the marks and words sit just outside its `side`.
    """

    LENGTH, GAP = 3.5, 5.5  # points: a tick mark's length, and from the axes to its label

    def __init__(self, ax, count: int, side: str = "left"):
        self.right = side == "right"
        edge = blended_transform_factory(ax.transAxes, ax.transData)  # x: 0 or 1 across, y: data
        (self.marks,) = ax.plot(
            [], [], ls="none", marker=TICKRIGHT if self.right else TICKLEFT, markersize=self.LENGTH,
            markeredgewidth=0.8, color="k", transform=edge, clip_on=False,
        )  # fmt: skip
        shift = ScaledTranslation((1 if self.right else -1) * self.GAP / 72, 0, ax.figure.dpi_scale_trans)
        self.labels = [
            ax.text(float(self.right), 0, "", transform=edge + shift, ha="left" if self.right else "right",
                    va="center", fontsize=FONT)
            for _ in range(count)
        ]  # fmt: skip
        for label in self.labels:
            label.set_clip_on(False)

    def artists(self) -> tuple:
        return (self.marks, *self.labels)

    def set(self, values, texts) -> None:
        """Marks at `values` (data units along the axis), labelled `texts`; at most `count` of them."""
        values, texts = list(values)[: len(self.labels)], list(texts)[: len(self.labels)]
        self.marks.set_data([float(self.right)] * len(values), values)
        for index, label in enumerate(self.labels):
            shown = index < len(values)
            label.set_visible(shown)
            if shown:
                label.set_y(values[index])
                label.set_text(texts[index])

    def texts(self) -> list[str]:
        """The labels drawn now, in order of their values."""
        return [label.get_text() for label in self.labels if label.get_visible()]


def linear_ticks(low: float, high: float, bins: int) -> list[float]:
    """Round tick values (1, 2, 2.5, 5 times a power of ten apart) from low to high, both included."""
    return [float(v) for v in MaxNLocator(nbins=bins, steps=[1, 2, 2.5, 5, 10]).tick_values(low, high)
            if low - 1e-9 * (high - low) <= v <= high + 1e-9 * (high - low)]  # fmt: skip


class HiddenStateFigure(BlitFigure):
    """Heatmap of h_t, a few unit trajectories, ||h_t|| and ||dh_T/dh_t||, with the selected step marked."""

    UNITS_SHOWN = 4
    GRAD_TICKS = 5  # at most this many labelled decades (plus one) on the gradient axis

    def __init__(self, hidden_size: int, steps: int):
        super().__init__(figsize=(6.4, 6.2))
        fig = self.figure
        grid = fig.add_gridspec(4, 2, width_ratios=[40, 1], height_ratios=[2.1, 1, 1, 1.2])
        self.ax_heat = fig.add_subplot(grid[0, 0])
        self.ax_units, self.ax_norm, self.ax_grad = (
            fig.add_subplot(grid[row, 0], sharex=self.ax_heat) for row in (1, 2, 3)
        )
        self.ax_colour = fig.add_subplot(grid[0, 1])
        axes = (self.ax_heat, self.ax_units, self.ax_norm, self.ax_grad)
        fig.subplots_adjust(left=0.16, right=0.9, top=0.95, bottom=0.08, hspace=0.42, wspace=0.04)
        # The heatmap is coloured cells (see CellImage): `colours` colours them for each new data set. The
        # colourbar's colours run from -1 to 1 whatever the limit; its labels (like those of every axis whose
        # range follows the data) are drawn with the data, so the axes' pixels change with the hidden size
        # alone and the page keeps them.
        self.colours = ScalarMappable(Normalize(-1, 1), cmap="RdBu_r")
        self.heat = CellImage(self.ax_heat)
        self.ax_heat.add_artist(self.heat)
        self.colourbar = fig.colorbar(ScalarMappable(Normalize(-1, 1), cmap="RdBu_r"), cax=self.ax_colour)
        self.colourbar.set_ticks([])
        self.colourbar.set_label("h_t", fontsize=FONT)
        room = ScaledTranslation(32 / 72, 0, fig.dpi_scale_trans)  # right of the widest label, "-0.25"
        self.ax_colour.yaxis.set_label_coords(1, 0.5, transform=self.ax_colour.transAxes + room)
        self.colour_ticks = DrawnTicks(self.ax_colour, 9, side="right")
        self.ax_heat.set_ylabel("unit")
        self.ax_heat.yaxis.set_major_locator(MaxNLocator(integer=True))
        self.ax_heat.set_title("h_t of every unit (colour) over time", fontsize=FONT + 1)
        self.unit_lines = self.ax_units.plot(np.zeros((steps, self.UNITS_SHOWN)), lw=1.2)
        for unit, line in enumerate(self.unit_lines):
            line.set_label(f"unit {unit}")
        self.ax_units.set_ylabel("h_t[unit]")
        self.unit_ticks = DrawnTicks(self.ax_units, 9)
        self.legend = self.ax_units.legend(
            loc="upper center", bbox_to_anchor=(0.5, 1.32), ncol=self.UNITS_SHOWN, fontsize=FONT,
            frameon=False, handlelength=1.5, columnspacing=1.2,
        )  # fmt: skip
        (self.norm_line,) = self.ax_norm.plot(np.zeros(steps), color="k", lw=1.2)
        self.ax_norm.set_ylabel("||h_t||")
        self.norm_ticks = DrawnTicks(self.ax_norm, 9)
        (self.grad_line,) = self.ax_grad.semilogy(np.ones(steps), color="tab:purple", lw=1.2)
        self.ax_grad.set_ylabel("||dh_T/dh_t||_F")
        self.ax_grad.set_xlabel("time step t")
        # The ranges of these three follow every new data set, so their ticks are data-layer artists of our
        # own: redrawing matplotlib's whole y-axis on each change would cost more than the rest of the
        # picture, and the axes' pixels would change with every limit.
        for ax in (self.ax_units, self.ax_norm, self.ax_grad):
            ax.yaxis.set_major_locator(NullLocator())
            ax.yaxis.set_minor_locator(NullLocator())
        self.grad_ticks = DrawnTicks(self.ax_grad, self.GRAD_TICKS + 1)
        self.ticks = (self.colour_ticks, self.unit_ticks, self.norm_ticks, self.grad_ticks)
        self.floor_line = self.ax_grad.axhline(1, color="tab:red", lw=1, ls=":")
        self.floor_text = self.ax_grad.text(
            0.01, 0.94, "", transform=self.ax_grad.transAxes, fontsize=FONT, color="tab:red", va="top",
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1},
        )  # fmt: skip
        for ax in axes:
            _style(ax)
            ax.yaxis.set_label_coords(-0.135, 0.5)  # aligned labels, and no layout pass on each redraw
        for ax in axes[:-1]:
            ax.tick_params(labelbottom=False)  # one time axis, at the bottom
        self.axes = axes
        self.animate(self.heat, *self.unit_lines, self.norm_line, self.grad_line)
        for ticks in self.ticks:
            self.animate(*ticks.artists())
        self.animate(self.floor_line, self.floor_text)
        self.limits = None  # (h limit, ||h|| top, gradient low, gradient high, floor) shown now
        self.layout = None  # (T, H): what the axes' pixels depend on

    def update(self, states: np.ndarray, grads: np.ndarray, bound: float | None) -> memoryview:
        """Put new data into the existing artists and render all of it here; states (T, H), grads (T,)."""
        layout, data = self._set_data(states, grads, bound)
        return self.render(layout, data=data)

    def _set_data(self, states: np.ndarray, grads: np.ndarray, bound: float | None) -> tuple:
        """Put new data into the existing artists; return the layout and a key of the data.

        `bound` limits |h_t| when known (1 for tanh); for relu the limits follow the data in coarse steps.
        The gradient axis spans the whole decades of the data; zeros (no gradient) sit on a marked floor.
        """
        T, H = states.shape
        states = np.nan_to_num(states.astype(np.float64), nan=0.0, posinf=1e30, neginf=-1e30)  # no overflow
        grads = np.nan_to_num(grads, nan=0.0, posinf=1e300)
        norms = np.linalg.norm(states, axis=1)  # (T,)
        if bound is None:
            limit, norm_top = nice_ceiling(float(np.abs(states).max())), nice_ceiling(float(norms.max()))
        else:
            limit, norm_top = bound, bound * math.sqrt(H)  # ||h_t|| <= bound * sqrt(H)
        low, high, floor = log_limits(grads)
        if self.colours.get_clim() != (-limit, limit):
            self.colours.set_clim(-limit, limit)
        self.heat.set_cells(self.colours.to_rgba(states.T, bytes=True))  # (H, T, 4)
        t = np.arange(T)
        for unit, line in enumerate(self.unit_lines):
            line.set_visible(unit < H)
            if unit < H:
                line.set_data(t, states[:, unit])
        self.norm_line.set_data(t, norms)
        self.grad_line.set_data(t, np.maximum(grads, low))
        self.ax_grad.set_ylim(low, high)
        self._label_decades(round(math.log10(low)), round(math.log10(high)))
        self.floor_line.set_ydata([low, low])
        self.floor_line.set_visible(floor)
        self.floor_text.set_text(f"floor: 0 (no gradient at all) is drawn at {low:.0e}" if floor else "")
        if self.limits is None or self.limits[:2] != (limit, norm_top):
            self.ax_units.set_ylim(-1.05 * limit, 1.05 * limit)
            self.ax_norm.set_ylim(0, 1.05 * norm_top)
            colour_values = linear_ticks(-limit, limit, 6)  # the bar runs from -1 to 1 for any limit
            self.colour_ticks.set([v / limit for v in colour_values], map(tick_text, colour_values))
            unit_values = linear_ticks(-limit, limit, 4)
            self.unit_ticks.set(unit_values, map(tick_text, unit_values))
            norm_values = linear_ticks(0, norm_top, 3)
            self.norm_ticks.set(norm_values, map(tick_text, norm_values))
        self.limits = (limit, norm_top, low, high, floor)
        layout = (T, H)
        if layout != self.layout:
            self.ax_heat.set_xlim(-0.5, T - 0.5)
            self.ax_heat.set_ylim(H - 0.5, -0.5)
            self.layout = layout
        return layout, (states.tobytes(), grads.tobytes(), H)

    def update_layer(self, states: np.ndarray, grads: np.ndarray, bound: float | None) -> dict:
        """As `update`, but the data layer is returned for the page to draw (see `layer`), and nothing is
        drawn here: `background()` draws the axes of a new `layout` (sizes, limits) when asked for them."""
        self._set_data(states, grads, bound)
        self.data_draws += 1
        return self.layer()

    def background(self) -> memoryview:
        """The pixels of the axes, labels and colourbar alone (no data): what the page draws the layer on."""
        if self.layout != self._layout or self._background is None:
            self._draw_background(self.layout)  # the animated artists are left out: the page draws them
        self.canvas.restore_region(self._background)
        return self.image()

    def layer(self) -> dict:
        """The data layer as cells, lines and texts in pixel coordinates from the top left (at 2x); the tick
        marks are one line of separate segments.

        Cells and line points are raw bytes (RGBA, little-endian float32 x, y pairs): the widget sends them
        as binary buffers beside the message, with no base64 or JSON numbers to write and parse.
        """
        height = self.figure.bbox.height
        scale = self.figure.dpi / 72  # points -> pixels

        def box(ax):
            x0, y0, x1, y1 = ax.bbox.extents
            return [round(x0, 1), round(height - y1, 1), round(x1 - x0, 1), round(y1 - y0, 1)]

        def points(artist, xy) -> np.ndarray:
            pixels = artist.get_transform().transform(xy)  # (n, 2), from the bottom left
            pixels[:, 1] = height - pixels[:, 1]
            return pixels  # (n, 2), from the top left

        def floats(pixels) -> bytes:
            return np.ascontiguousarray(pixels, dtype="<f4").tobytes()  # x0, y0, x1, y1, ...

        cells = self.heat.cells  # (H, T, 4) uint8, unit 0 in the top row
        x, y, w, h = (round(v) for v in box(self.ax_heat))
        heat = {
            "x": x, "y": y, "width": w, "height": h, "rows": cells.shape[0], "columns": cells.shape[1],
            "rgba": np.ascontiguousarray(cells).tobytes(),
        }  # fmt: skip
        lines = []
        for line in (*self.unit_lines, self.norm_line, self.grad_line):
            if line.get_visible():
                lines.append({
                    "xy": floats(points(line, line.get_xydata())), "colour": to_hex(line.get_color()),
                    "width": line.get_linewidth() * scale, "clip": box(line.axes),
                })  # fmt: skip
        if self.floor_line.get_visible():
            lines.append({
                "xy": floats(points(self.floor_line, self.floor_line.get_xydata())),
                "colour": to_hex("tab:red"), "width": self.floor_line.get_linewidth() * scale,
                "dash": [1 * scale, 1.65 * scale], "clip": box(self.ax_grad),
            })  # fmt: skip

        def text(label, x_, y_) -> dict:
            return {
                "text": label.get_text(), "x": round(float(x_), 1), "y": round(float(y_), 1),
                "size": label.get_fontsize() * scale, "colour": to_hex(label.get_color()),
                "align": label.get_ha(),
                "baseline": {"center": "middle", "top": "top"}.get(label.get_va(), "alphabetic"),
                "box": label is self.floor_text,
            }  # fmt: skip

        texts, marks = [], []
        for ticks in self.ticks:  # tick marks outside the axes; each label beside its mark
            side = 1 if ticks.right else -1
            at = points(ticks.marks, ticks.marks.get_xydata())  # (n, 2): the n labels shown come first
            for (x_, y_), label in zip(at, ticks.labels, strict=False):
                marks += [x_, y_, x_ + side * DrawnTicks.LENGTH * scale, y_]
                texts.append(text(label, x_ + side * DrawnTicks.GAP * scale, y_))
        lines.append({"xy": floats(marks), "colour": "#000000", "width": 0.8 * scale, "segments": True})
        if self.floor_text.get_text():
            texts.append(text(self.floor_text, *points(self.floor_text, [self.floor_text.get_position()])[0]))
        return {"heat": heat, "lines": lines, "texts": texts}

    def _label_decades(self, low: int, high: int) -> None:
        """Ticks labelled '1e-20' ... on the gradient axis, every few decades up from the bottom."""
        stride = max(1, math.ceil((high - low) / self.GRAD_TICKS))
        decades = list(range(low, high + 1, stride))
        self.grad_ticks.set([10.0**d for d in decades], [f"1e{d}" for d in decades])

    def drawn_decades(self) -> list[str]:
        """The labels written on the gradient axis, bottom to top."""
        return self.grad_ticks.texts()

    def marks(self, step: int) -> list[list[float]]:
        """Where the page draws the step marker: [x, top, bottom] per panel, as fractions of the picture."""
        width = self.figure.bbox.width
        x = float(self.ax_heat.transData.transform((step, 0))[0] / width)
        return [[x, 1 - ax.get_position().y1, 1 - ax.get_position().y0] for ax in self.axes]

    def describe(self, states: np.ndarray, grads: np.ndarray, step: int) -> str:
        """The alt text: what the four panels show for these data."""
        T, H = states.shape
        limit, norm_top, low, high, floor = self.limits
        shown = min(H, self.UNITS_SHOWN)
        return (
            f"Four panels over time steps 0 to {T - 1}. A heatmap of h_t for all {H} units, colour from "
            f"{-limit:g} (blue) to {limit:g} (red); lines for units 0 to {shown - 1}; ||h_t|| from 0 to "
            f"{norm_top:.3g}; and the Frobenius norm ||dh_T/dh_t|| on a log axis from {low:.0e} to {high:.0e}"
            f"{', with zeros drawn on a marked floor' if floor else ''}. A dashed line marks t = {step}."
        )
