"""ipywidgets explorers: every control change recomputes with real PyTorch and updates one kept figure."""

import copy
import html

import ipywidgets as widgets
import torch.nn as nn

from rnn_course.viz.figures import HiddenStateFigure, PackingFigure
from rnn_course.viz.hidden import (
    SIGNALS,
    check_single_layer,
    gradient_norms,
    hidden_states,
    make_rnn,
    make_signal,
    set_radius,
    spectral_radius,
    with_nonlinearity,
)
from rnn_course.viz.packing import MAX_LENGTH, packing_layout
from rnn_course.viz.shapes import H0_KINDS, INPUT_KINDS, LIMITS, ShapeConfig, shape_report
from rnn_course.viz.threads import one_thread

WIDE = {"description_width": "140px"}


class Explorer:
    """Shows itself as its `widget`; callbacks never raise into the notebook, they show the error instead."""

    widget: widgets.Widget

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def _error_html(err: Exception) -> str:
    """An unexpected exception as a short preformatted line, shown in place of a traceback."""
    return f"<pre>{html.escape(type(err).__name__ + ': ' + str(err))}</pre>"


def _int_slider(name, value, low, high, css=None):
    slider = widgets.IntSlider(
        value=value, min=low, max=high, description=name, style=WIDE, continuous_update=True
    )
    if css:
        slider.add_class(css)
    return slider


class ShapeExplorer(Explorer):
    """Pick nn.RNN settings and an input; see the shapes a real nn.RNN returns, or its exact error."""

    def __init__(self, config: ShapeConfig | None = None):
        config = config or ShapeConfig()
        config.check()
        ints = {name: _int_slider(name, getattr(config, name), *LIMITS[name]) for name in LIMITS}
        ints["input_size"].add_class("rnn-shape-input-size")
        ints["feature_size"].add_class("rnn-shape-feature-size")
        ints["feature_size"].description = "feature size (x.size(-1))"
        self.controls = {
            **ints,
            "bidirectional": widgets.Checkbox(value=config.bidirectional, description="bidirectional"),
            "batch_first": widgets.Checkbox(value=config.batch_first, description="batch_first"),
            "nonlinearity": widgets.Dropdown(
                options=["tanh", "relu"], value=config.nonlinearity, description="nonlinearity", style=WIDE
            ),
            "input_kind": widgets.Dropdown(
                options=INPUT_KINDS, value=config.input_kind, description="input", style=WIDE
            ),
            "h0_kind": widgets.Dropdown(options=H0_KINDS, value=config.h0_kind, description="h0", style=WIDE),
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
        self.widget = widgets.VBox([widgets.HBox([module, data]), self.readout, self.error])
        self.widget.add_class("rnn-shape-explorer")
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        self.report = None
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
            self.readout.value = _shape_table(self.report)
            if self.report.error:
                self.error.value = (
                    f"<pre>{html.escape(self.report.error)}</pre>"
                    f"<p>{html.escape(self.report.explanation)}</p>"
                )
            else:
                self.error.value = ""
        except Exception as err:  # a widget callback must never leak a traceback
            self.error.value = _error_html(err)


def _shape_table(report) -> str:
    rows = "".join(
        f"<tr><td><code>{name}</code></td><td><code>{tuple(shape)}</code></td>"
        f"<td>({', '.join(report.axes[name])})</td></tr>"
        for name, shape in report.shapes.items()
    )
    return f"<table><tr><th>tensor</th><th>shape</th><th>axes</th></tr>{rows}</table>"


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
        base_radius = self._base(hidden_size)[2]
        radius = base_radius if radius is None else radius  # exact, so a given model is shown as it is
        self.signal = widgets.Dropdown(options=SIGNALS, value=signal, description="input signal", style=WIDE)
        self.nonlinearity = widgets.ToggleButtons(
            options=["tanh", "relu"], value=rnn.nonlinearity if rnn is not None else "tanh"
        )
        self.hidden_size = _int_slider("hidden size", hidden_size, min(4, hidden_size), 64)
        self.hidden_size.disabled = rnn is not None
        self.radius = widgets.FloatSlider(
            value=radius,
            min=0.1,
            max=max(2.0, round(radius + 0.05, 2)),
            step=0.05,
            description="spectral radius of W_hh",
            style=WIDE,
        )
        self.step = _int_slider("time step t", steps // 2, 0, steps - 1, css="rnn-hidden-step")
        self.readout = widgets.HTML().add_class("rnn-hidden-readout")
        self.error = widgets.HTML()
        self.image = widgets.Image(format="png").add_class("rnn-hidden-plot")
        self.figure = HiddenStateFigure(hidden_size, steps)
        controls = widgets.VBox([self.signal, self.nonlinearity, self.hidden_size, self.radius, self.step])
        self.widget = widgets.VBox([controls, self.readout, self.error, self.image])
        self.widget.add_class("rnn-hidden-explorer")
        for control in (self.signal, self.nonlinearity, self.hidden_size, self.radius):
            control.observe(self._on_model_change, names="value")
        self.step.observe(self._on_step_change, names="value")
        self.states = self.grads = None
        self._on_model_change(None)

    def _base(self, hidden_size):
        if hidden_size not in self._bases:
            # A fresh model has no biases: with no input its state stays at 0, so all it shows is the input's.
            rnn = self.given if self.given is not None else make_rnn(hidden_size, seed=self.seed, bias=False)
            weight = rnn.weight_hh_l0.detach().clone()  # (H, H)
            self._bases[hidden_size] = (rnn, weight, spectral_radius(weight))
        return self._bases[hidden_size]

    def compute(self):
        """Hidden states (T, H) and gradient norms (T,) for the current controls."""
        rnn, weight, _ = self._base(self.hidden_size.value)
        rnn = with_nonlinearity(copy.deepcopy(rnn), self.nonlinearity.value)
        set_radius(rnn, weight, self.radius.value)
        self.rnn = rnn
        self.states = hidden_states(rnn, make_signal(self.signal.value, self.steps, seed=self.seed))  # (T, H)
        self.grads = gradient_norms(rnn, self.states)  # (T,)

    def _on_model_change(self, change):
        try:
            with one_thread():
                self.compute()
            self.error.value = ""
        except Exception as err:  # keep the last good picture and say what went wrong
            self.error.value = _error_html(err)
            return
        self.draw()

    def _on_step_change(self, change):
        self.draw()

    def draw(self):
        """Update the kept figure and the readout for the selected step (no recomputation)."""
        try:
            t = self.step.value
            h_t = self.states[t]  # (H,)
            shown = ", ".join(f"{v:+.3f}" for v in h_t[:6].tolist())
            self.readout.value = (
                f"t = {t}: h_t[:6] = [{shown}{', ...' if len(h_t) > 6 else ''}], "
                f"||h_t|| = {h_t.norm().item():.3g}, ||dh_T/dh_t|| = {self.grads[t].item():.3g}"
            )
            bound = 1.0 if self.nonlinearity.value == "tanh" else None
            self.image.value = self.figure.update(self.states.numpy(), self.grads.numpy(), t, bound)
        except Exception as err:
            self.error.value = _error_html(err)


class PackingExplorer(Explorer):
    """Edit the lengths of a small batch; see the padded grid and the real PackedSequence fields."""

    def __init__(self, lengths=(2, 1, 3, 4), enforce_sorted: bool = False):
        lengths = list(lengths)
        packing_layout(lengths)  # bad lengths fail here, before any widget exists
        self.lengths = [
            _int_slider(f"length of seq {i}", n, 1, MAX_LENGTH, css="rnn-packing-length")
            for i, n in enumerate(lengths)
        ]
        self.enforce_sorted = widgets.Checkbox(value=enforce_sorted, description="enforce_sorted")
        self.fields = widgets.HTML().add_class("rnn-packing-fields")
        self.error = widgets.HTML().add_class("rnn-packing-error")
        self.image = widgets.Image(format="png").add_class("rnn-packing-plot")
        self.figure = PackingFigure()
        self.widget = widgets.VBox(
            [
                widgets.HBox([widgets.VBox(self.lengths), self.enforce_sorted]),
                self.fields,
                self.error,
                self.image,
            ]
        )
        self.widget.add_class("rnn-packing-explorer")
        for control in (*self.lengths, self.enforce_sorted):
            control.observe(self._on_change, names="value")
        self.layout_shown = None
        self.update()

    def _on_change(self, change):
        self.update()

    def update(self):
        """Pack with the real torch functions; PyTorch's own error is shown when it refuses."""
        try:
            layout = packing_layout([s.value for s in self.lengths], enforce_sorted=self.enforce_sorted.value)
        except (RuntimeError, ValueError) as err:
            self.error.value = (
                f"<pre>{html.escape(str(err))}</pre><p>pack_padded_sequence wants lengths sorted "
                "longest first unless enforce_sorted=False.</p>"
            )
            return
        try:
            self.error.value = ""
            self.layout_shown = layout
            self.fields.value = (
                f"<code>data={layout.data.int().tolist()}</code><br>"
                f"<code>batch_sizes={layout.batch_sizes.tolist()}</code><br>"
                f"<code>sorted_indices={_as_list(layout.sorted_indices)}</code><br>"
                f"<code>unsorted_indices={_as_list(layout.unsorted_indices)}</code>"
            )
            self.image.value = self.figure.update(layout)
        except Exception as err:
            self.error.value = _error_html(err)


def _as_list(tensor):
    return None if tensor is None else tensor.tolist()


__all__ = ["HiddenStateExplorer", "PackingExplorer", "ShapeExplorer"]
