"""ipywidgets explorers: every control change recomputes with real PyTorch and updates one kept figure.

An explorer never shows a stale result beside an error: every derived field and picture is cleared or
replaced by a message, and comes back when the error goes.
"""

import copy
import html
import math
import zlib

import ipywidgets as widgets
import torch.nn as nn
from torch.nn.utils.rnn import pad_sequence

from rnn_course.controls import KeyboardHelper, PlotImage
from rnn_course.threads import one_thread
from rnn_course.viz.diagrams import PackingDiagram
from rnn_course.viz.figures import HiddenStateFigure
from rnn_course.viz.hidden import (
    SIGNALS,
    check_finite,
    check_single_layer,
    gradient_norms,
    hidden_states,
    make_rnn,
    make_signal,
    set_radius,
    spectral_radius,
    with_nonlinearity,
)
from rnn_course.viz.packing import MAX_LENGTH, labelled_batch, packing_layout
from rnn_course.viz.shapes import H0_KINDS, INPUT_KINDS, LIMITS, ShapeConfig, shape_report

WIDE = {"description_width": "170px"}  # room for the longest description, "spectral radius of W_hh" (155 px)
ROW = {"width": "440px"}  # a control with its description: two columns fit a notebook, each slider ~260 px


class Explorer:
    """Shows itself as its `widget`; callbacks never raise into the notebook, they show the error instead."""

    widget: widgets.Widget

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def number(value: float, digits: int = 3) -> str:
    """A readable number: 0.125, -0.500, 1.95e+06, -3.20e-05, 0; never '-0.000' or a run of digits."""
    if not math.isfinite(value) or value == 0:
        return "0" if value == 0 else str(value)
    if abs(value) >= 10**4 or abs(value) < 10**-digits:
        return f"{value:.{digits - 1}e}"
    return f"{value:.{digits}f}"


def error_html(title: str, message: str, explanation: str = "") -> str:
    """An error that looks like one: a heading, colour, role=alert, long lines wrapped between words."""
    detail = f"<p style='margin: 4px 0 0'>{html.escape(explanation)}</p>" if explanation else ""
    return (
        "<div role='alert' class='rnn-error' style='border-left: 4px solid #c62828; background: #fdecea; "
        "color: #611a15; padding: 6px 10px; margin: 4px 0; max-width: 60em'>"
        f"<b>{html.escape(title)}</b>"
        "<pre style='white-space: pre-wrap; overflow-wrap: break-word; word-break: normal; margin: 4px 0 0; "
        f"background: none; color: inherit; font-size: 0.95em'>{html.escape(message)}</pre>{detail}</div>"
    )


def _unexpected(err: Exception) -> str:
    """An exception nobody planned for, shown in place of a traceback."""
    return error_html("Something went wrong", f"{type(err).__name__}: {err}")


def no_echo(control):
    """The control's value is not sent back to the page that changed it (one message less per change).

    ipywidgets echoes every value a page sets, for other pages showing the same widget; an explorer has
    one page, and each echo reaches it before the new picture, through the server and the page's
    main thread.
    """
    for name in ("value", "index"):  # sliders and checkboxes sync `value`, dropdowns and toggles `index`
        if control.has_trait(name):
            setattr(control, f"_{name}_metadata", {"echo_update": False})  # traitlets' per-object metadata
    return control


def _int_slider(name, value, low, high, css=None):
    slider = widgets.IntSlider(
        value=value, min=low, max=high, description=name, style=WIDE, layout=ROW, continuous_update=True
    )
    if css:
        slider.add_class(css)
    return slider


def _plot(css: str, figure) -> PlotImage:
    pixel_width, pixel_height = figure.pixel_size
    return PlotImage(width=figure.css_size[0], pixel_width=pixel_width, pixel_height=pixel_height).add_class(
        css
    )


class ShapeExplorer(Explorer):
    """Pick nn.RNN settings and an input; see the shapes a real nn.RNN returns, or its exact error."""

    def __init__(self, config: ShapeConfig | None = None):
        config = config or ShapeConfig()
        config.check()
        ints = {name: _int_slider(name, getattr(config, name), *LIMITS[name]) for name in LIMITS}
        ints["input_size"].add_class("rnn-shape-input-size")
        ints["feature_size"].add_class("rnn-shape-feature-size")
        ints["feature_size"].description = "feature size x.size(-1)"
        ints["seq_len"].description = "sequence length L"
        ints["batch"].description = "batch size N"

        def menu(options, value, description):
            return widgets.Dropdown(
                options=options, value=value, description=description, style=WIDE, layout=ROW
            )

        self.controls = {
            **ints,
            "bidirectional": widgets.Checkbox(value=config.bidirectional, description="bidirectional"),
            "batch_first": widgets.Checkbox(value=config.batch_first, description="batch_first"),
            "nonlinearity": menu(["tanh", "relu"], config.nonlinearity, "nonlinearity"),
            "input_kind": menu(INPUT_KINDS, config.input_kind, "input x"),
            "h0_kind": menu(H0_KINDS, config.h0_kind, "h0"),
        }
        self.readout = widgets.HTML().add_class("rnn-shape-readout")
        self.error = widgets.HTML().add_class("rnn-shape-error")
        c = self.controls
        module = widgets.VBox(
            [
                widgets.HTML("<b>nn.RNN(...)</b>"),
                c["input_size"],
                c["hidden_size"],
                c["num_layers"],
                c["nonlinearity"],
                c["batch_first"],
                c["bidirectional"],
            ]
        )
        data = widgets.VBox(
            [
                widgets.HTML("<b>input x and h0</b>"),
                c["input_kind"],
                c["seq_len"],
                c["batch"],
                c["feature_size"],
                c["h0_kind"],
            ]
        )
        names = KeyboardHelper(root="rnn-shape-explorer")
        self.widget = widgets.VBox(
            [widgets.HBox([module, data], layout={"flex_flow": "row wrap"}), self.readout, self.error, names]
        )
        self.widget.add_class("rnn-shape-explorer")
        for control in self.controls.values():
            no_echo(control).observe(self._on_change, names="value")
        self.report = None
        self.shown = {}  # tensor -> shape in the table now, so the next change can mark what moved
        self.update()

    def config(self) -> ShapeConfig:
        return ShapeConfig(**{name: control.value for name, control in self.controls.items()})

    def _on_change(self, change):
        self.update()

    def update(self):
        """Run nn.RNN for the current controls and show the result; any exception becomes a message."""
        try:
            self.controls["batch"].disabled = self.controls["input_kind"].value == "unbatched 2-D"
            with one_thread():
                self.report = shape_report(self.config())
            self.readout.value = shape_table(self.report, self.shown)
            if not self.report.error:  # after an error, rows are compared with the last valid settings
                self.shown = dict(self.report.shapes)
            if self.report.error:
                self.error.value = error_html(
                    "nn.RNN raised an error", self.report.error, self.report.explanation
                )
            else:
                self.error.value = ""
        except Exception as err:  # a widget callback must never leak a traceback
            self.report, self.shown, self.readout.value = None, {}, ""
            self.error.value = _unexpected(err)


CHANGED = "background: #fff3b0"


def shape_table(report, before: dict) -> str:
    """Every tensor's shape and axes; rows whose shape differs from `before` are highlighted."""
    names = ["input", "h0", "output", "h_n"]
    rows = []
    for name in names:
        if name not in report.shapes:
            if name == "h0" or not report.error:
                continue
            cells = "<td colspan='2'><i>not computed: nn.RNN raised the error below</i></td>"
            rows.append(f"<tr><td><code>{name}</code></td>{cells}<td></td></tr>")
            continue
        shape = tuple(report.shapes[name])
        changed = name in before and before[name] != shape
        style = f" style='{CHANGED}'" if changed else ""
        mark = "<b>changed</b>" if changed else ""
        rows.append(
            f"<tr{style}><td><code>{name}</code></td><td><code>{shape}</code></td>"
            f"<td>({', '.join(report.axes[name])})</td><td>{mark}</td></tr>"
        )
    return (
        "<table class='rnn-shape-table'><tr><th>tensor</th><th>shape</th><th>axes</th><th>change</th></tr>"
        f"{''.join(rows)}</table>"
    )


class HiddenStateExplorer(Explorer):
    """Feed a signal to a one-layer nn.RNN and watch every h_t, its norm and ||dh_T/dh_t||.

    Pass `rnn` to explore a model you trained (it is copied, never changed); otherwise a fresh bias-free one
    is made.
    """

    def __init__(
        self,
        rnn: nn.RNN | None = None,
        steps: int = 100,
        hidden_size: int = 32,
        signal: str = "sine",
        radius: float | None = None,
        seed: int = 0,
    ):
        if not 10 <= steps <= 400:
            raise ValueError("steps must be between 10 and 400")
        if rnn is not None:
            check_single_layer(rnn)
            if rnn.hidden_size > 64:
                raise ValueError("the hidden-state explorer shows models with hidden_size <= 64")
            rnn = copy.deepcopy(rnn).float()
            hidden_size = rnn.hidden_size
        elif not 4 <= hidden_size <= 64:
            raise ValueError("hidden_size must be between 4 and 64")
        self.steps, self.seed, self.given = steps, seed, rnn
        self._bases = {}  # (hidden size) -> (rnn with the original W_hh, its W_hh, its spectral radius)
        self._models = {}  # (hidden size, nonlinearity) -> the copy of that rnn whose W_hh is rescaled
        base_radius = self._base(hidden_size)[2]
        radius = base_radius if radius is None else radius  # exact, so a given model is shown as it is
        self.signal = widgets.Dropdown(
            options=SIGNALS, value=signal, description="input signal", style=WIDE, layout=ROW
        )
        self.nonlinearity = widgets.ToggleButtons(
            options=["tanh", "relu"],
            value=rnn.nonlinearity if rnn is not None else "tanh",
            description="nonlinearity",
            style={**WIDE, "button_width": "80px"},
            layout=ROW,
        )
        self.hidden_size = _int_slider("hidden size H", hidden_size, min(4, hidden_size), 64)
        self.hidden_size.disabled = rnn is not None
        self.radius = widgets.FloatSlider(
            value=radius,
            min=0.1,
            max=max(2.0, round(radius + 0.05, 2)),
            step=0.05,
            description="spectral radius of W_hh",
            style=WIDE,
            layout=ROW,
        )
        self.step = _int_slider("time step t", steps // 2, 0, steps - 1, css="rnn-hidden-step")
        self.error = widgets.HTML().add_class("rnn-hidden-error")
        self.figure = HiddenStateFigure(hidden_size, steps)
        self.image = _plot("rnn-hidden-plot", self.figure)
        self.image.caption_class = "rnn-hidden-readout"  # the readout: shown in the frame of its picture
        controls = widgets.VBox([self.signal, self.nonlinearity, self.hidden_size, self.radius, self.step])
        names = KeyboardHelper(root="rnn-hidden-explorer")
        self.widget = widgets.VBox([controls, self.error, self.image, names])
        self.widget.add_class("rnn-hidden-explorer")
        for control in (self.signal, self.nonlinearity, self.hidden_size, self.radius):
            no_echo(control).observe(self._on_model_change, names="value")
        no_echo(self.step).observe(self._on_step_change, names="value")
        self.states = self.grads = None
        self.background_sent = None  # the layout whose axes the page has
        self.axes_pixels = {}  # layout -> its axes' pixels, compressed
        self._on_model_change(None)

    def _base(self, hidden_size):
        if hidden_size not in self._bases:
            # A fresh model has no biases: with no input its state stays at 0, so all it shows is the input's.
            rnn = self.given if self.given is not None else make_rnn(hidden_size, seed=self.seed, bias=False)
            weight = rnn.weight_hh_l0.detach().clone()  # (H, H)
            self._bases[hidden_size] = (rnn, weight, spectral_radius(weight))
        return self._bases[hidden_size]

    def _model(self, hidden_size, nonlinearity):
        """The model for a hidden size and nonlinearity: made once, its W_hh rescaled for each radius."""
        key = (hidden_size, nonlinearity)
        if key not in self._models:
            self._models[key] = with_nonlinearity(copy.deepcopy(self._base(hidden_size)[0]), nonlinearity)
        return self._models[key]

    def compute(self):
        """Hidden states (T, H) and gradient norms (T,) for the current controls."""
        _, weight, base_radius = self._base(self.hidden_size.value)
        rnn = self._model(self.hidden_size.value, self.nonlinearity.value)
        set_radius(rnn, weight, self.radius.value, base_radius)
        self.rnn = rnn
        states = hidden_states(rnn, make_signal(self.signal.value, self.steps, seed=self.seed))  # (T, H)
        check_finite(states)  # before anything is derived from numbers that are not there
        self.states, self.grads = states, gradient_norms(rnn, states)  # (T, H), (T,)

    def _on_model_change(self, change):
        try:
            with one_thread():
                self.compute()
        except OverflowError as err:  # relu with a radius above 1 over many steps: h_t grows past float32
            self._show_error(
                error_html(
                    "The hidden state overflowed",
                    str(err),
                    "relu does not bound h_t, and a spectral radius above 1 makes it grow at every step. "
                    "Lower the spectral radius or choose tanh.",
                )
            )
            return
        except Exception as err:  # what PyTorch (or anything else) raised, in its own words
            self._show_error(_unexpected(err))
            return
        self.error.value = ""
        self.draw()

    def _on_step_change(self, change):
        if self.states is not None:
            self.draw(picture=False)

    def _show_error(self, message: str) -> None:
        """The error (HTML from `error_html`) in place of everything derived: the readout empties, the
        picture says why; nothing computed before the error stays on screen."""
        self.states = self.grads = None
        self.error.value = message
        with self.image.hold_sync():
            self.image.caption = ""
            self.image.marks = []
            self.image.show(
                self.figure.show_message("No picture: these settings raised an error (see above)."),
                "No picture: these settings raised an error, shown above the picture.",
            )
        self.background_sent = None  # the message is in the pixels now: the next picture sends the axes again

    def _send_axes(self, layout) -> None:
        """The axes' pixels for `layout`, compressed once and kept for the last few layouts: going back to
        tanh, or to a hidden size seen before, sends them again without drawing or compressing."""
        if layout == self.background_sent:
            return
        if layout not in self.axes_pixels:
            if len(self.axes_pixels) >= 8:
                self.axes_pixels.pop(next(iter(self.axes_pixels)))  # the oldest
            self.axes_pixels[layout] = zlib.compress(self.figure.background(), 1)
        self.image.value = self.axes_pixels[layout]
        self.background_sent = layout

    def draw(self, picture: bool = True):
        """The readout (the picture's caption) and step marker for the selected step, and with `picture`
        the figure's new data.

        Moving the time step only moves the marker the page draws over the picture: no drawing at all.
        """
        try:
            t = self.step.value
            h_t = self.states[t]  # (H,)
            shown = ", ".join(number(v) for v in h_t[:6].tolist())
            T, H = self.states.shape
            readout = (
                f"t = {t}: h_t[:6] = [{shown}{', ...' if len(h_t) > 6 else ''}], "
                f"||h_t|| = {number(h_t.norm().item())}, "
                f"||dh_T/dh_t||_F = {number(self.grads[t].item())} "
                f"<span style='opacity: 0.75'>(Frobenius norm of the {H}x{H} Jacobian; at t = {T - 1} "
                f"it is the identity's, sqrt(H) = {number(math.sqrt(H))})</span>"
            )
            states, grads = self.states.numpy(), self.grads.numpy()
            with self.image.hold_sync():  # picture, readout, marker and alt text reach the page together
                self.image.caption = readout  # drawn in the frame of the picture, never before it
                if picture:  # the page draws the data layer; the axes' pixels go only when they change
                    bound = 1.0 if self.nonlinearity.value == "tanh" else None
                    self.image.layer = self.figure.update_layer(states, grads, bound)
                    self._send_axes(self.figure.layout)
                self.image.marks = self.figure.marks(t)
                self.image.alt = self.figure.describe(states, grads, t)
        except Exception as err:
            self._show_error(_unexpected(err))


class PackingExplorer(Explorer):
    """Edit the lengths of a small batch; see the padded grid and the real PackedSequence fields.

    The error, the diagram (SVG) and the fields are one HTML value, so the page shows them in one step:
    the numbers and the picture never disagree.
    """

    def __init__(self, lengths=(2, 1, 3, 4), enforce_sorted: bool = False):
        lengths = list(lengths)
        packing_layout(lengths)  # bad lengths fail here, before any widget exists
        self.lengths = [
            _int_slider(f"length of seq {i}", n, 1, MAX_LENGTH, css="rnn-packing-length")
            for i, n in enumerate(lengths)
        ]
        self.enforce_sorted = widgets.Checkbox(value=enforce_sorted, description="enforce_sorted")
        self.view = widgets.HTML().add_class("rnn-packing-view")
        self.error = self.fields = self.alt = ""  # the three parts of the view, as HTML
        self.diagram = PackingDiagram()
        names = KeyboardHelper(root="rnn-packing-explorer")
        self.widget = widgets.VBox(
            [widgets.HBox([widgets.VBox(self.lengths), self.enforce_sorted]), self.view, names]
        )
        self.widget.add_class("rnn-packing-explorer")
        for control in (*self.lengths, self.enforce_sorted):
            no_echo(control).observe(self._on_change, names="value")
        self.layout_shown = None
        self.update()

    def _on_change(self, change):
        self.update()

    def update(self):
        """Pack with the real torch functions; PyTorch's own error is shown when it refuses."""
        lengths = [s.value for s in self.lengths]
        try:
            layout = packing_layout(lengths, enforce_sorted=self.enforce_sorted.value)
        except (RuntimeError, ValueError) as err:
            self._show_refusal(lengths, err)
            return
        try:
            data, sizes = layout.data.int().tolist(), layout.batch_sizes.tolist()
            alt = _packing_alt(lengths, layout)
            picture = self.diagram.draw(lengths, layout.padded, data, sizes, alt=alt)
            fields = (
                f"<code>data={data}</code><br>"
                f"<code>batch_sizes={sizes}</code><br>"
                f"<code>sorted_indices={_as_list(layout.sorted_indices)}</code><br>"
                f"<code>unsorted_indices={_as_list(layout.unsorted_indices)}</code>"
            )
            self.layout_shown = layout
            self._show("", picture, fields, alt)
        except Exception as err:
            self.layout_shown = None
            self._show(_unexpected(err), "", "", "")

    def _show(self, error: str, picture: str, fields: str, alt: str) -> None:
        """The error above the diagram above the index fields (as lesson 4 says), in one message."""
        self.error, self.fields, self.alt = error, fields, alt
        self.view.value = (
            f"<div class='rnn-packing-error'>{error}</div><div class='rnn-packing-plot'>{picture}</div>"
            f"<div class='rnn-packing-fields'>{fields}</div>"
        )

    def _show_refusal(self, lengths, err):
        """PyTorch's error; the fields empty; the diagram keeps only the padded grid, which is still valid."""
        padded = pad_sequence(labelled_batch(lengths), batch_first=True)  # (N, L_max)
        alt = (
            f"A padded batch of {len(lengths)} sequences with lengths {lengths}; no packed data, because "
            "pack_padded_sequence refused these lengths."
        )
        reason = "no PackedSequence: pack_padded_sequence refused these lengths"
        self.layout_shown = None
        self._show(
            error_html(
                "pack_padded_sequence raised an error",
                str(err),
                "It wants the lengths sorted longest first unless enforce_sorted=False.",
            ),
            self.diagram.draw(lengths, padded, reason=reason, alt=alt),
            "<i>No PackedSequence: packing these lengths raised the error above.</i>",
            alt,
        )


def _packing_alt(lengths, layout) -> str:
    return (
        f"A padded batch of {len(lengths)} sequences with lengths {lengths}, grey cells being padding; below "
        f"it PackedSequence.data = {layout.data.int().tolist()}, in groups of "
        f"{layout.batch_sizes.tolist()} values, one group per time step."
    )


def _as_list(tensor):
    return None if tensor is None else tensor.tolist()


__all__ = ["HiddenStateExplorer", "PackingExplorer", "ShapeExplorer", "number"]
