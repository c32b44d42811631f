"""Widget update latency in the kernel: one control change = computation + what the page is sent to show.

Each explorer is timed side by side with a naive alternative, in the same run, and the ratio printed:
- hidden-state (hidden 32, 100 steps, drawn at 2x): a new figure for every change, the step marker drawn
  into it; in the explorer a step change only moves the marker the page draws over the picture;
- packing: a new matplotlib figure of the padded grid and the packed strip, encoded as a 2x PNG;
- shape: the cell run again, a new explorer for every change;
- sampling (temperature changes and "Next character"): a matplotlib bar chart encoded as a 2x PNG.
Target: each explorer's median at most 10 ms. Run: `make bench-widgets`.
"""

import base64
import gc
import io
import os
import statistics
import time

import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from rnn_course.lm import Vocab, course_text
from rnn_course.viz.figures import HiddenStateFigure
from rnn_course.viz.packing import packing_layout
from rnn_course.viz.sampling import TOP, SamplingExplorer, shown
from rnn_course.viz.widgets import HiddenStateExplorer, PackingExplorer, ShapeExplorer
from tests.helpers.tiny_lm import TinyLM

TARGET_MS = 10.0


def timed(action) -> float:
    """Milliseconds for one action with the garbage collector paused, as timeit does (so the naive side's
    garbage is never billed to the kept figure); the heap is collected between actions, untimed."""
    timed.calls += 1
    if timed.calls % 20 == 0:
        gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        action()
        return (time.perf_counter() - start) * 1000
    finally:
        gc.enable()


timed.calls = 0


def hidden_events(explorer):
    """A session of control changes: mostly dragging the time step, plus every other control."""
    events = []
    for round_ in range(4):
        events += [("step", t) for t in range(5 + round_, 100, 9)]
        events += [("radius", r) for r in (0.6, 0.9, 1.1, 1.3)]
        events += [("signal", s) for s in ("step", "impulse", "noise", "sine")]
        events += [("nonlinearity", n) for n in ("relu", "tanh")]
        events += [("hidden_size", h) for h in (31, 32)]
    return events


def naive_replot(explorer, changed_model: bool):
    """What a straightforward callback does: recompute when needed, then a brand-new figure, drawn to PNG."""
    if changed_model:
        explorer.compute()
    figure = HiddenStateFigure(explorer.hidden_size.value, explorer.steps)
    for ax in figure.axes:  # the step marker drawn into the picture, as a plain plot would
        ax.axvline(explorer.step.value, color="k", lw=1, ls="--")
    bound = 1.0 if explorer.nonlinearity.value == "tanh" else None
    return figure.update(explorer.states.numpy(), explorer.grads.numpy(), bound)


def bench_hidden():
    explorer = HiddenStateExplorer(hidden_size=32, steps=100)
    naive = HiddenStateExplorer(hidden_size=32, steps=100)  # its controls are set silently, then re-plotted
    for control in (naive.signal, naive.nonlinearity, naive.hidden_size, naive.radius, naive.step):
        control.unobserve_all()
    kept, replot, by_control = [], [], {}
    for name, value in hidden_events(explorer):
        kept_ms = timed(lambda name=name, value=value: setattr(getattr(explorer, name), "value", value))
        getattr(naive, name).value = value
        naive_ms = timed(lambda name=name: naive_replot(naive, changed_model=name != "step"))
        kept.append(kept_ms)
        replot.append(naive_ms)
        by_control.setdefault(name, []).append(kept_ms)
    return kept, replot, by_control


SHAPE_CHANGES = [
    ("hidden_size", 7),
    ("num_layers", 2),
    ("bidirectional", True),
    ("batch_first", True),
    ("feature_size", 10),
    ("feature_size", 8),
    ("input_kind", "unbatched 2-D"),
    ("input_kind", "batched 3-D"),
    ("h0_kind", "matching"),
    ("seq_len", 12),
    ("batch", 5),
]


def bench_shape():
    """Each change, and back; the naive side runs the cell again (a new explorer) with the same settings."""
    explorer = ShapeExplorer()
    originals = {name: explorer.controls[name].value for name, _ in SHAPE_CHANGES}
    kept, naive = [], []
    for _ in range(3):
        for name, value in [*SHAPE_CHANGES, *originals.items()]:
            control = explorer.controls[name]
            kept.append(timed(lambda control=control, value=value: setattr(control, "value", value)))
            naive.append(timed(lambda: ShapeExplorer(explorer.config())))
    return kept, naive


def naive_packing_png(lengths) -> bytes:
    """A straightforward picture: a new figure of the padded grid and the packed strip, as a 2x PNG."""
    layout = packing_layout(lengths)
    figure = Figure(figsize=(7.4, 3.5), dpi=200)
    FigureCanvasAgg(figure)
    grid, strip = figure.subplots(2, 1)
    for i, n in enumerate(lengths):
        for t in range(max(lengths)):
            grid.add_patch(Rectangle((t, i), 0.9, 0.9, facecolor="C0" if t < n else "#ddd"))
            grid.text(t + 0.45, i + 0.45, f"{layout.padded[i, t].item():g}", ha="center", va="center")
    for k, value in enumerate(layout.data.int().tolist()):
        strip.add_patch(Rectangle((k, 0), 0.9, 0.9, facecolor="C1"))
        strip.text(k + 0.45, 0.45, str(value), ha="center", va="center")
    for ax in (grid, strip):
        ax.autoscale_view()
        ax.set_axis_off()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def bench_packing():
    explorer = PackingExplorer()
    kept, naive = [], []
    for round_ in range(6):
        for index, slider in enumerate(explorer.lengths):
            value = 1 + (slider.value + index + round_) % 6
            kept.append(timed(lambda slider=slider, value=value: setattr(slider, "value", value)))
            lengths = [s.value for s in explorer.lengths]
            naive.append(timed(lambda lengths=lengths: naive_packing_png(lengths)))
    return kept, naive


def naive_bars_html(probs, vocab, temperature) -> str:
    """A straightforward chart: a new matplotlib bar chart of the top 10, as a 2x PNG in an <img>."""
    top = probs.topk(TOP)  # values and indices, (10,) each
    figure = Figure(figsize=(5, 2.4), dpi=200, layout="constrained")
    FigureCanvasAgg(figure)
    ax = figure.subplots()
    ax.bar(range(TOP), top.values.tolist())
    ax.set_xticks(range(TOP), [shown(vocab.chars[i]) for i in top.indices.tolist()])
    ax.set(ylim=(0, 1), title=f"temperature {temperature:.2f}")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return f'<img src="data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}">'


def bench_sampling():
    """Temperature changes and single "Next character" presses; the naive side redraws a PNG chart."""
    vocab = Vocab(course_text())
    torch.manual_seed(0)
    explorer = SamplingExplorer(TinyLM(len(vocab)), vocab, prompt="the ")
    kept, naive, by_control = [], [], {"temperature": [], "next character": []}
    for _ in range(4):
        for temperature in (0.5, 0.8, 1.2, 1.5, 1.0):
            ms = timed(lambda t=temperature: setattr(explorer.temperature, "value", t))
            kept.append(ms)
            by_control["temperature"].append(ms)
            probs = explorer.sampler.probs(temperature)  # (V,)
            naive.append(timed(lambda p=probs, t=temperature: naive_bars_html(p, vocab, t)))
        for _ in range(3):
            ms = timed(lambda: explorer.one.click())
            kept.append(ms)
            by_control["next character"].append(ms)
            probs = explorer.sampler.probs(explorer.temperature.value)  # (V,)
            naive.append(timed(lambda p=probs: naive_bars_html(p, vocab, explorer.temperature.value)))
    return kept, naive, by_control


def report(name: str, kept: list[float], naive: list[float], what: str, alternative: str) -> bool:
    median, naive_median = statistics.median(kept), statistics.median(naive)
    met = median <= TARGET_MS
    print(
        f"{name}: median {median:.1f} ms (slowest {max(kept):.1f} ms) over {len(kept)} {what}; "
        f"{alternative} {naive_median:.1f} ms, {naive_median / median:.1f}x slower; "
        f"target <= {TARGET_MS:.0f} ms {'met' if met else 'NOT met'}"
    )
    return met


def main():
    start = time.perf_counter()
    load_before = os.getloadavg()
    kept, replot, by_control = bench_hidden()
    report("hidden-state explorer", kept, replot, "control changes (hidden 32, 100 steps)", "naive re-plot")
    for name, times in by_control.items():
        print(f"  {name:<15} median {statistics.median(times):6.1f} ms over {len(times)} changes")
    kept, naive = bench_packing()
    report("packing explorer", kept, naive, "length changes", "naive new figure as PNG")
    kept, naive = bench_shape()
    report("shape explorer", kept, naive, "control changes", "naive cell run again")
    kept, naive, by_control = bench_sampling()
    report("sampling explorer", kept, naive, "changes", "naive PNG bar chart")
    for name, times in by_control.items():
        print(f"  {name:<15} median {statistics.median(times):6.1f} ms over {len(times)} changes")
    load = os.getloadavg()
    print(
        f"(took {time.perf_counter() - start:.0f} s; load average {load_before[0]:.1f} before, "
        f"{load[0]:.1f} after, on {os.cpu_count()} cores: other work on the machine slows every update, "
        "the ratios much less)"
    )


if __name__ == "__main__":
    main()
