"""End-to-end latency in the browser: key press on the hidden-state time step -> new plot pixels on screen.

A real JupyterLab (from .venv, on a throwaway copy of the notebooks) and Debian's headless Chromium run
lesson 3; then the time-step slider of its first hidden-state explorer gets 20 ArrowRight presses.

How each press is timed, inside the page with performance.now():
- start: a capture-phase `keydown` listener on the document (the moment Chromium dispatches the key);
- end: a MutationObserver sees the plot canvas number a new picture (`data-frame`, set right after its
  pixels are put into the canvas), then two animation frames pass, so the new picture has been painted.
  The time until the new frame number alone is reported too.
Between presses the script waits for the previous update, so presses never overlap.
Run: `make bench-browser` (part of `make bench`). Without Chromium it prints why and exits 0.
"""

import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.browser.harness

from tests.browser import harness  # noqa: E402
from tests.browser.harness import NOTEBOOK  # noqa: E402

PRESSES, WARMUP, TARGET_MS = 20, 2, 150.0
LESSON = "notebooks/03_hidden_state.ipynb"

ARM = """plot => {
    window.__rnnBench = new Promise(resolve => {
        let start = null;
        const before = plot.dataset.frame;
        const onKey = () => { if (start === null) start = performance.now(); };
        document.addEventListener('keydown', onKey, true);
        const observer = new MutationObserver(() => {
            if (plot.dataset.frame === before || start === null) return;
            observer.disconnect();
            document.removeEventListener('keydown', onKey, true);
            const frameMs = performance.now() - start;
            requestAnimationFrame(() => requestAnimationFrame(() =>
                resolve({src: frameMs, shown: performance.now() - start})));
        });
        observer.observe(plot, {attributes: true, attributeFilter: ['data-frame']});
    });
}"""


def measure(page, presses: int) -> list[dict]:
    explorer = page.locator(f"{NOTEBOOK} .rnn-hidden-explorer").first
    explorer.scroll_into_view_if_needed()
    handle = explorer.locator(".rnn-hidden-step .noUi-handle")
    plot = explorer.locator(".rnn-hidden-plot canvas")
    plot.wait_for()
    canvas = plot.element_handle()
    timings = []
    for _ in range(presses):
        at_end = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
        page.evaluate(ARM, canvas)
        handle.focus()
        page.keyboard.press("ArrowLeft" if at_end else "ArrowRight")
        timings.append(page.evaluate("window.__rnnBench"))
        page.wait_for_timeout(50)  # let the kernel go idle before the next press
    return timings


def main() -> int:
    reason = harness.browser_missing()
    if reason:
        print(f"browser: benchmark skipped: {reason}")
        return 0
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="rnn-bench-browser-") as tmp:
        tmp = Path(tmp)
        lab = harness.Lab(root_dir=harness.copy_course(tmp / "course"), state_dir=tmp / "jupyter").start()
        try:
            with sync_playwright() as playwright:
                browser = harness.launch_chromium(playwright)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.set_default_timeout(60_000)
                harness.open_notebook(page, lab, LESSON)
                harness.run_all_cells(page)
                measure(page, WARMUP)
                timings = measure(page, PRESSES)
                browser.close()
        finally:
            lab.stop()
    shown = statistics.median(t["shown"] for t in timings)
    src = statistics.median(t["src"] for t in timings)
    worst = max(t["shown"] for t in timings)
    verdict = "meets" if shown <= TARGET_MS else "MISSES"
    print(
        f"browser: hidden-state step key press -> new plot pixels on screen, median {shown:.0f} ms "
        f"over {PRESSES} presses (new frame after {src:.0f} ms, slowest {worst:.0f} ms; "
        f"{verdict} the {TARGET_MS:.0f} ms target)"
    )
    print(f"browser: load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores during the run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
