"""Widget update latency in the kernel: one control change = computation + the picture's new pixels.

The hidden-state explorer (hidden 32, 100 steps, drawn at 2x) is timed side by side with a naive re-plot that
builds a new figure for every change, the step marker drawn into it; in the explorer a step change only moves
the marker the page draws over the picture. The shape and packing explorers are timed on their own.
Run: `make bench-widgets`.
"""

import gc
import os
import statistics
import time

from rnn_course.viz.figures import HiddenStateFigure
from rnn_course.viz.widgets import HiddenStateExplorer, PackingExplorer, ShapeExplorer

TARGET_MS, TARGET_SPEEDUP = 20.0, 2.0


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


def bench_shape():
    explorer = ShapeExplorer()
    changes = [
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
    originals = {name: explorer.controls[name].value for name, _ in changes}
    times = []
    for _ in range(5):
        for name, value in changes:
            times.append(
                timed(lambda name=name, value=value: setattr(explorer.controls[name], "value", value))
            )
        for name, value in originals.items():
            times.append(
                timed(lambda name=name, value=value: setattr(explorer.controls[name], "value", value))
            )
    return times


def bench_packing():
    explorer = PackingExplorer()
    times = []
    for round_ in range(6):
        for index, slider in enumerate(explorer.lengths):
            value = 1 + (slider.value + index + round_) % 6
            times.append(timed(lambda slider=slider, value=value: setattr(slider, "value", value)))
    return times


def main():
    start = time.perf_counter()
    kept, replot, by_control = bench_hidden()
    median, naive_median = statistics.median(kept), statistics.median(replot)
    speedup = naive_median / median
    print(
        f"hidden-state explorer: median {median:.1f} ms, naive re-plot {naive_median:.1f} ms, "
        f"speedup {speedup:.1f}x  ({len(kept)} control changes, hidden 32, 100 steps)"
    )
    for name, times in by_control.items():
        print(f"  {name:<13} median {statistics.median(times):6.1f} ms over {len(times)} changes")
    print(
        f"  target: median <= {TARGET_MS:.0f} ms and >= {TARGET_SPEEDUP:.0f}x faster than the naive re-plot: "
        f"{'met' if median <= TARGET_MS and speedup >= TARGET_SPEEDUP else 'NOT met'}"
    )
    shape = bench_shape()
    print(f"shape explorer: median {statistics.median(shape):.1f} ms ({len(shape)} control changes)")
    packing = bench_packing()
    print(f"packing explorer: median {statistics.median(packing):.1f} ms ({len(packing)} length changes)")
    load = os.getloadavg()[0]
    print(
        f"(took {time.perf_counter() - start:.0f} s; load average {load:.1f} on {os.cpu_count()} cores: "
        "other work on the machine slows every figure, the ratio much less)"
    )


if __name__ == "__main__":
    main()
