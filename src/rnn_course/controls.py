"""Accessible controls that plain ipywidgets lack: a real choice group, a live region, a plot with alt text.

Each is a small anywidget (a few lines of JavaScript shipped inline), so it works in JupyterLab and Notebook
with no build step. Their state lives in traitlets traits, so tests drive them headless like any widget.
"""

from __future__ import annotations

import zlib

import anywidget
import traitlets

_CHOICE_ESM = """
let groups = 0;
function render({ model, el }) {
  const name = `rnn-choice-${Math.random().toString(36).slice(2)}-${groups++}`;  // one group per view
  const fieldset = document.createElement("fieldset");
  fieldset.className = "rnn-choice-group";
  // The keys typed on a choice are the group's: JupyterLab's command mode (which matches any focused radio,
  // whatever attribute a parent carries) must not move or cut the cell. The radios act first; then stop.
  fieldset.addEventListener("keydown", (event) => {
    if (!event.ctrlKey && !event.metaKey && event.key !== "Tab" && event.key !== "Escape") {
      event.stopPropagation();
    }
  });
  const legend = document.createElement("legend");
  legend.id = `${name}-legend`;
  fieldset.append(legend);
  el.append(fieldset);
  let inputs = [];
  const sync = () => {
    const value = model.get("value");
    inputs.forEach((input, i) => {
      input.checked = value.includes(i);
      input.disabled = model.get("disabled");
    });
  };
  const draw = () => {
    const multi = model.get("multi");
    fieldset.setAttribute("role", multi ? "group" : "radiogroup");
    legend.textContent = model.get("label");
    const question = model.get("labelledby");  // the question names the group; the legend says what to do
    if (question) {
      fieldset.setAttribute("aria-labelledby", question);
      fieldset.setAttribute("aria-describedby", legend.id);
    } else {
      fieldset.removeAttribute("aria-labelledby");
      fieldset.removeAttribute("aria-describedby");
    }
    fieldset.querySelectorAll("label").forEach((node) => node.remove());
    inputs = model.get("options").map((html, i) => {
      const label = document.createElement("label");
      const input = document.createElement("input");
      input.type = multi ? "checkbox" : "radio";
      input.name = name;  // radios that share a name are one group: arrows move, Tab leaves
      input.value = String(i);
      const text = document.createElement("span");
      text.innerHTML = html;  // escaped and rendered from Markdown in Python
      label.append(input, text);
      fieldset.append(label);
      input.addEventListener("change", () => {
        model.set("value", inputs.flatMap((box, j) => (box.checked ? [j] : [])));
        model.save_changes();
      });
      input.addEventListener("keydown", (event) => {
        if (event.key === "Enter") {  // Enter submits, as in any form
          event.preventDefault();
          model.send({ event: "submit" });
        }
      });
      return input;
    });
    sync();
  };
  const focus = (msg) => {
    if (msg && msg.do === "focus") (inputs.find((input) => input.checked) || inputs[0])?.focus();
  };
  model.on("change:options change:multi change:label change:labelledby", draw);
  model.on("change:value change:disabled", sync);
  model.on("msg:custom", focus);
  draw();
  return () => {
    model.off("change:options change:multi change:label change:labelledby", draw);
    model.off("change:value change:disabled", sync);
    model.off("msg:custom", focus);
  };
}
export default { render };
"""

_CHOICE_CSS = """
.rnn-choice-group { border: none; margin: 0.3em 0; padding: 0; }
.rnn-choice-group legend { font-style: italic; padding: 0; margin-bottom: 0.2em; }
.rnn-choice-group label {
  display: flex; gap: 0.5em; align-items: baseline; padding: 0.15em 0; cursor: pointer;
}
.rnn-choice-group input:focus-visible {
  outline: 2px solid var(--jp-brand-color1, #1976d2); outline-offset: 2px;
}
.rnn-choice-group code { white-space: pre-wrap; }
"""


class ChoiceGroup(anywidget.AnyWidget):
    """Radio buttons (or checkboxes with `multi`) in one named group; Enter asks to submit."""

    _esm = _CHOICE_ESM
    _css = _CHOICE_CSS
    options = traitlets.List(traitlets.Unicode(), help="HTML of each choice's label").tag(sync=True)
    multi = traitlets.Bool(False, help="checkboxes (select every right choice) instead of radios").tag(
        sync=True
    )
    value = traitlets.List(traitlets.Int(), help="indices of the checked choices").tag(sync=True)
    disabled = traitlets.Bool(False, help="lock every choice").tag(sync=True)
    label = traitlets.Unicode("", help="the group's legend; its name unless `labelledby` is set").tag(
        sync=True
    )
    labelledby = traitlets.Unicode("", help="id of the element whose text names the group").tag(sync=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._submit_handlers = []
        self.on_msg(self._on_message)

    def on_submit(self, handler) -> None:
        """Call `handler()` when the learner presses Enter on a choice."""
        self._submit_handlers.append(handler)

    def submit(self) -> None:
        """What Enter does; callable from Python, as a test does."""
        for handler in self._submit_handlers:
            handler()

    def _on_message(self, _widget, content, _buffers):
        if isinstance(content, dict) and content.get("event") == "submit":
            self.submit()


_LIVE_ESM = """
function render({ model, el }) {
  const region = document.createElement("div");
  region.setAttribute("role", "status");  // kept in place, so each new message is read out
  region.setAttribute("aria-live", "polite");
  el.append(region);
  const draw = () => { region.innerHTML = model.get("value"); };
  model.on("change:value", draw);
  draw();
  return () => model.off("change:value", draw);
}
export default { render };
"""


class LiveHTML(anywidget.AnyWidget):
    """HTML in a live region that stays in the page, so a screen reader reads each new message."""

    _esm = _LIVE_ESM
    value = traitlets.Unicode("", help="the HTML shown and announced").tag(sync=True)


_PLOT_ESM = """
// Binary buffers arrive as DataViews into the message: copied into arrays of their own (aligned, a few kB).
const bytesOf = (view) => new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
const floatsOf = (view) => {
  const floats = new Float32Array(view.byteLength / 4);
  new Uint8Array(floats.buffer).set(bytesOf(view));
  return floats;
};

function drawLayer(ctx, layer) {
  const heat = layer.heat;  // coloured cells, one pixel each, enlarged with hard edges
  if (heat) {
    const bytes = new Uint8ClampedArray(bytesOf(heat.rgba));
    const cells = document.createElement("canvas");
    [cells.width, cells.height] = [heat.columns, heat.rows];
    cells.getContext("2d").putImageData(new ImageData(bytes, heat.columns, heat.rows), 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(cells, heat.x, heat.y, heat.width, heat.height);
  }
  for (const line of layer.lines || []) {
    const xy = floatsOf(line.xy);
    if (xy.length < 2) continue;
    ctx.save();
    if (line.clip) { ctx.beginPath(); ctx.rect(...line.clip); ctx.clip(); }
    ctx.strokeStyle = line.colour;
    ctx.lineWidth = line.width;
    ctx.lineJoin = "round";
    ctx.setLineDash(line.dash || []);
    ctx.beginPath();
    if (line.segments) {  // x0, y0, x1, y1 for each segment: the tick marks, in one path
      for (let i = 0; i + 3 < xy.length; i += 4) {
        ctx.moveTo(xy[i], xy[i + 1]);
        ctx.lineTo(xy[i + 2], xy[i + 3]);
      }
    } else {
      ctx.moveTo(xy[0], xy[1]);
      for (let i = 2; i < xy.length; i += 2) ctx.lineTo(xy[i], xy[i + 1]);
    }
    ctx.stroke();
    ctx.restore();
  }
  for (const text of layer.texts || []) {
    ctx.font = `${text.size}px "DejaVu Sans", sans-serif`;
    ctx.textAlign = text.align;
    ctx.textBaseline = text.baseline;
    if (text.box) {  // a white box behind the text, so lines never cross it
      const width = ctx.measureText(text.text).width, left = text.align === "right" ? text.x - width : text.x;
      const top = text.baseline === "top" ? text.y : text.y - text.size;
      ctx.fillStyle = "rgba(255, 255, 255, 0.85)";
      ctx.fillRect(left - 2, top - 2, width + 4, text.size * 1.25 + 4);
    }
    ctx.fillStyle = text.colour;
    ctx.fillText(text.text, text.x, text.y);
  }
}

function render({ model, el }) {
  // A canvas, not an <img>: the raw pixels are painted at once, with no image file to decode.
  const frame = document.createElement("div");
  frame.style.position = "relative";
  frame.style.maxWidth = "100%";
  const canvas = document.createElement("canvas");
  canvas.setAttribute("role", "img");  // with aria-label, what alt is to an <img>
  canvas.style.display = "block";
  canvas.style.width = "100%";
  canvas.style.height = "auto";
  frame.append(canvas);
  const caption = document.createElement("div");  // the numbers read off the picture, shown with it
  el.append(caption, frame);
  let pictures = 0, marks = [];
  const describe = () => {
    canvas.setAttribute("aria-label", model.get("alt"));
    frame.style.width = `${model.get("width")}px`;  // CSS pixels: the canvas holds 2x as many
  };
  // The picture is a background (value: pixels sent when the axes change) with a data layer (layer: cells,
  // lines and labels in pixel coordinates) that the page draws over it: a new data set is a few kB of
  // numbers, drawn in the same frame it arrives. Changes that come in one message are drawn once.
  let background = null, shownValue = null, decoding = null, pending = false, paintedLayer = null;
  // The last few backgrounds, compressed and decoded: going back to axes shown before (tanh after relu)
  // finds its pixels here, compared byte for byte, instead of inflating megabytes again.
  const kept = [];
  const same = (a, b) => {
    if (a.byteLength !== b.byteLength) return false;
    for (let i = a.byteLength - 1; i >= 0; i--) if (a[i] !== b[i]) return false;  // the checksum is last
    return true;
  };
  const paint = () => {
    caption.className = model.get("caption_class");
    if (caption.innerHTML !== model.get("caption")) caption.innerHTML = model.get("caption");
    if (!background) return;
    const ctx = canvas.getContext("2d");
    ctx.putImageData(background, 0, 0);
    paintedLayer = model.get("layer");
    drawLayer(ctx, paintedLayer || {});
    canvas.dataset.frame = String(++pictures);  // tests and benchmarks watch this to see a new picture
  };
  const update = async () => {
    pending = false;
    const packed = model.get("value");  // zlib-compressed RGBA: a twentieth of the raw size on the wire
    if (packed && packed === decoding) return;  // on its way: it paints the newest layer when it lands
    if (packed === shownValue && model.get("layer") === paintedLayer && pictures) {  // a new caption alone
      caption.innerHTML = model.get("caption");
      return;
    }
    if (packed !== shownValue && packed && packed.byteLength) {
      const [width, height] = [model.get("pixel_width"), model.get("pixel_height")];
      const compressed = new Uint8Array(packed.buffer, packed.byteOffset, packed.byteLength);
      let found = kept.find((entry) => same(entry.compressed, compressed));
      if (!found) {
        decoding = packed;
        const stream = new Blob([compressed]).stream().pipeThrough(new DecompressionStream("deflate"));
        const bytes = await new Response(stream).arrayBuffer();
        if (decoding !== packed) return;  // a newer picture arrived meanwhile
        decoding = null;
        if (bytes.byteLength !== width * height * 4) return;
        const pixels = new ImageData(new Uint8ClampedArray(bytes), width, height);
        found = { compressed: compressed.slice(), pixels };
        kept.unshift(found);
        kept.length = Math.min(kept.length, 8);
      }
      if (found.pixels.width !== width || found.pixels.height !== height) return;
      if (canvas.width !== width) canvas.width = width;
      if (canvas.height !== height) canvas.height = height;
      background = found.pixels;
      shownValue = packed;
    }
    paint();
  };
  const draw = () => {
    if (pending) return;
    pending = true;
    queueMicrotask(update);
  };
  const mark = () => {  // dashed vertical lines over the picture, e.g. the selected time step
    const wanted = model.get("marks");
    while (marks.length < wanted.length) {
      const line = document.createElement("div");
      line.className = "rnn-plot-mark";
      line.setAttribute("aria-hidden", "true");  // the alt text says where the marker is
      line.style.cssText =
        "position: absolute; width: 0; border-left: 1.5px dashed #000; pointer-events: none";
      frame.append(line);
      marks.push(line);
    }
    marks.forEach((line, i) => {
      const [x, top, bottom] = wanted[i] || [0, 0, 0];
      line.style.display = i < wanted.length ? "block" : "none";
      line.style.left = `${100 * x}%`;
      line.style.top = `${100 * top}%`;
      line.style.height = `${100 * (bottom - top)}%`;
    });
  };
  model.on("change:alt change:width", describe);
  model.on("change:value change:pixel_width change:pixel_height change:layer change:caption", draw);
  model.on("change:marks", mark);
  describe();
  draw();
  mark();
  return () => {
    model.off("change:alt change:width", describe);
    model.off("change:value change:pixel_width change:pixel_height change:layer change:caption", draw);
    model.off("change:marks", mark);
  };
}
export default { render };
"""


class PlotImage(anywidget.AnyWidget):
    """A picture of raw RGBA pixels, shown at `width` CSS pixels, with an alt text (its aria-label).

    The pixels travel zlib-compressed (fastest level): a few ms in the kernel against a 6 MB message that
    the server and the page would otherwise have to carry for every new picture.
    """

    _esm = _PLOT_ESM
    value = traitlets.Bytes(b"", help="RGBA pixels, row by row from the top, zlib-compressed").tag(sync=True)
    pixel_width = traitlets.Int(0, help="pixels per row").tag(sync=True)
    pixel_height = traitlets.Int(0, help="rows").tag(sync=True)
    alt = traitlets.Unicode("", help="what the picture shows, in words").tag(sync=True)
    width = traitlets.Int(0, help="display width in CSS pixels").tag(sync=True)
    marks = traitlets.List(
        traitlets.List(traitlets.Float()),
        help="dashed vertical lines over the picture: [x, top, bottom] as fractions of its width and height",
    ).tag(sync=True)
    caption = traitlets.Unicode(
        "", help="HTML above the picture, changed in the same frame as it: the numbers read off it"
    ).tag(sync=True)
    caption_class = traitlets.Unicode("", help="CSS class of the caption").tag(sync=True)
    layer = traitlets.Dict(
        help="drawn by the page over the pixels, in pixel coordinates from the top left: 'heat' (cells as "
        "RGBA bytes with their rectangle), 'lines' (xy as float32 bytes, colour, width, dash, clip; with "
        "segments, separate x0, y0, x1, y1 pairs), 'texts'"
    ).tag(sync=True)

    def set_pixels(self, rgba) -> None:
        """New RGBA pixels: bytes or any buffer of pixel_width x pixel_height x 4 bytes."""
        size = memoryview(rgba).nbytes
        if size != 4 * self.pixel_width * self.pixel_height:
            raise ValueError(f"{size} bytes are not {self.pixel_width}x{self.pixel_height} RGBA pixels")
        self.value = zlib.compress(rgba, 1)

    def pixels(self) -> bytes:
        """The RGBA pixels shown now."""
        return zlib.decompress(self.value) if self.value else b""

    def show(self, rgba, alt: str, layer: dict | None = None) -> None:
        """New pixels, the layer drawn over them and their alt text, sent to the page in one message."""
        with self.hold_sync():
            self.alt = alt
            self.layer = layer or {}
            self.set_pixels(rgba)


_HELPER_ESM = """
// Keys a widget answers itself: JupyterLab's command mode must never see them. Its shortcuts are matched
// on the document in the bubbling phase against any focused element that is not :read-write (a radio,
// a select, a slider handle, a button), so `data-lm-suppress-shortcuts` is not enough: the event is
// stopped at the widget's root instead, after the focused control has acted on it.
const OWNED = new Set([
  "ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "Home", "End", "PageUp", "PageDown",
  "Enter", " ", "Backspace", "Delete",
]);
const owned = (event) =>
  !event.ctrlKey && !event.metaKey && (OWNED.has(event.key) || event.key.length === 1);

function render({ model, el }) {
  el.style.display = "none";
  let root = null, observer = null, timer = null;
  const name = () => {
    for (const slider of root.querySelectorAll(".widget-slider")) {  // noUiSlider leaves its handle unnamed
      const label = slider.querySelector(".widget-label");
      if (!label) continue;
      const handle = slider.querySelector(".noUi-handle");
      if (handle && handle.getAttribute("aria-label") !== label.textContent) {
        handle.setAttribute("aria-label", label.textContent);
      }
      const readout = slider.querySelector(".widget-readout");  // an editable box with the value
      if (readout && readout.getAttribute("aria-label") !== `${label.textContent}, value`) {
        readout.setAttribute("role", "textbox");  // a name needs a role (aria-prohibited-attr)
        readout.setAttribute("aria-label", `${label.textContent}, value`);
      }
    }
    for (const group of root.querySelectorAll(".widget-toggle-buttons")) {
      const label = group.querySelector(".widget-label");
      const buttons = group.querySelector(".widget-toggle-button")?.parentElement;
      if (buttons && label && buttons.getAttribute("aria-label") !== label.textContent) {
        buttons.setAttribute("role", "group");
        buttons.setAttribute("aria-label", label.textContent);
      }
      for (const button of group.querySelectorAll(".widget-toggle-button")) {  // on: not by colour alone
        const pressed = String(button.classList.contains("mod-active"));
        if (button.getAttribute("aria-pressed") !== pressed) button.setAttribute("aria-pressed", pressed);
      }
    }
  };
  const keep = (event) => { if (owned(event)) event.stopPropagation(); };
  const hold = (event) => {  // a button that hides itself: the widget holds the focus until it is moved on
    const selector = model.get("hand_over");
    if (!selector || !event.target.closest(selector)) return;
    if (!root.hasAttribute("tabindex")) root.tabIndex = -1;  // focusable by script only, no tab stop
    root.focus({ preventScroll: true });
  };
  let asked = 0;
  const focus = () => {  // the element that should have the focus, once it is in the page and enabled
    const { selector } = model.get("focus");
    if (!selector) return;
    const ticket = ++asked, started = performance.now();
    const attempt = () => {
      if (ticket !== asked) return;  // a newer request came
      const target = root?.querySelector(selector);
      if (target && !target.disabled && target.getClientRects().length) { target.focus(); return; }
      if (performance.now() - started < 5000) requestAnimationFrame(attempt);
    };
    attempt();
  };
  const attach = () => {
    root = el.closest("." + model.get("root"));
    if (!root) { timer = setTimeout(attach, 100); return; }  // not in the page yet
    root.addEventListener("keydown", keep);
    root.addEventListener("click", hold);
    name();
    observer = new MutationObserver(name);  // setting a name or aria-pressed never re-triggers it
    observer.observe(root, { childList: true, subtree: true, attributes: true, attributeFilter: ["class"] });
  };
  model.on("change:focus", focus);
  attach();
  return () => {
    clearTimeout(timer);
    observer?.disconnect();
    root?.removeEventListener("keydown", keep);
    root?.removeEventListener("click", hold);
    model.off("change:focus", focus);
  };
}
export default { render };
"""


class KeyboardHelper(anywidget.AnyWidget):
    """Invisible helper of the widget whose CSS class is `root`: it keeps the keys typed in that widget from
    JupyterLab's notebook shortcuts, names its sliders (handle and value box) and toggle groups after their
    labels, marks the toggle that is on with aria-pressed, and moves the focus when asked."""

    _esm = _HELPER_ESM
    root = traitlets.Unicode(help="CSS class of the widget this helper serves").tag(sync=True)
    focus = traitlets.Dict(help="{'selector': CSS selector in root, 'n': request number}").tag(sync=True)
    hand_over = traitlets.Unicode(
        "",
        help="CSS selector of buttons in root that hide themselves when pressed: the root holds the focus "
        "from the press until the next focus request, so it never falls to the page or the notebook",
    ).tag(sync=True)

    def focus_on(self, selector: str) -> None:
        """Move the focus to the first element of root matching `selector`, once it is shown and enabled."""
        self.focus = {"selector": selector, "n": self.focus.get("n", 0) + 1}


_SECTION_ESM = """
// A lesson link (a.rnn-lesson-link) is handled by JupyterLab: it opens the notebook, or brings it forward,
// and scrolls to the heading named after '#'. A notebook that was not open yet has not rendered its
// Markdown when JupyterLab looks for the heading, so it opens at the top. Once the heading is in the page,
// the same link is followed again, by JupyterLab as before, and lands on the section.
function render({ model, el }) {
  el.style.display = "none";
  let root = null, timer = null;
  const follow = (event) => {
    const link = event.target.closest?.("a.rnn-lesson-link");
    if (!link || !event.isTrusted) return;  // a click of ours is not followed up again
    const id = decodeURIComponent(link.hash.slice(1));
    const name = CSS.escape(id);  // JupyterLab names a heading by data-jupyter-id (or id, if allowed)
    const selector = `.jp-NotebookPanel [data-jupyter-id="${name}"], .jp-NotebookPanel [id="${name}"]`;
    const started = performance.now();
    const wait = () => {
      const heading = document.querySelector(selector);
      if (heading && heading.closest(".jp-NotebookPanel:not(.lm-mod-hidden)")) { link.click(); return; }
      if (performance.now() - started < 10000) timer = setTimeout(wait, 100);
    };
    clearTimeout(timer);
    timer = setTimeout(wait, 100);
  };
  const attach = () => {
    root = el.closest("." + model.get("root"));
    if (!root) { timer = setTimeout(attach, 100); return; }
    root.addEventListener("click", follow);
  };
  attach();
  return () => { clearTimeout(timer); root?.removeEventListener("click", follow); };
}
export default { render };
"""


class SectionLinks(anywidget.AnyWidget):
    """Invisible helper of the widget whose CSS class is `root`: its lesson links land on their section
    even when the lesson was not open yet (JupyterLab then looks for the heading before it is drawn)."""

    _esm = _SECTION_ESM
    root = traitlets.Unicode(help="CSS class of the widget this helper serves").tag(sync=True)


__all__ = ["ChoiceGroup", "LiveHTML", "KeyboardHelper", "PlotImage", "SectionLinks"]
