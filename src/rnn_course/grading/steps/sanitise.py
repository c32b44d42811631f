"""SanitiseOutputs: nothing in a graded notebook can run in the browser of whoever opens it.

An autograded notebook is opened by the instructor in the formgrader (with their Jupyter server's
credentials in the page), and its feedback page by the learner. Whatever the learner's code displayed, or
wrote into markdown and raw cells, is therefore cut down before the notebook is written:

- outputs keep only the MIME types of ALLOWED_MIME: HTML cleaned by nh3 (no scripts, event handlers,
  iframes, objects, embeds, SVG, styles or `javascript:` URLs; images only as inline data), markdown only
  when safe (below),
  LaTeX without MathJax's HTML-making commands, and PNG/JPEG/GIF images that are valid base64;
- output metadata keeps only an image's width and height; widget views and every other type are dropped,
  with a one-line note in their place;
- markdown (cells and outputs) is kept as written when nh3 would not change it and its links and images
  pass the same URL rules; otherwise it is shown as its source text in a code block. Raw cells are cleaned
  by nh3, and cell attachments keep only valid images;
- the notebook's saved widget state is dropped.

Text that nh3 would not change, except for escaping `<`, `>` and `&`, is kept exactly as written, so a
learner's markdown answer reads the same to whoever grades it. (nbconvert renders markdown links with any
URL scheme, `javascript:` included, which is why links are checked on mistune's syntax tree.)
"""

from __future__ import annotations

import base64
import binascii
import html
import itertools

import mistune
import nh3
from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor

IMAGES = frozenset({"image/png", "image/jpeg", "image/gif"})
ALLOWED_MIME = frozenset({"text/plain", "text/latex", "text/html", "text/markdown"}) | IMAGES
IMAGE_SIZE_KEYS = ("width", "height")

TAGS = nh3.ALLOWED_TAGS - {"area", "map"}  # images: only inline data (see _url)
SCHEMES = frozenset({"http", "https", "mailto", "data", "attachment"})
IMAGE_DATA = tuple(f"data:{mime};base64," for mime in sorted(IMAGES))
# MathJax commands that make HTML (links, classes, styles, ids) out of LaTeX.
MARKDOWN_PLUGINS = ["strikethrough", "table", "url", "footnotes"]  # what nbconvert's renderer parses too
LATEX_HTML = ("\\href", "\\url", "\\class", "\\style", "\\cssId", "\\data", "\\html", "\\unicode")


def _url(tag: str, attribute: str, value: str, attachments=()) -> str | None:
    """nh3's attribute filter: images only from inline data or one of the cell's attachments, links only to
    the web."""
    if attribute == "src":
        attached = value.startswith("attachment:") and value[len("attachment:") :] in attachments
        return value if tag == "img" and (attached or value.startswith(IMAGE_DATA)) else None
    if attribute == "href":
        return value if value.startswith(("http://", "https://", "mailto:", "#")) else None
    return value


def clean_html(text: str) -> str:
    """Markup with nothing active left in it (nh3, with the URL rules of `_url`)."""
    return nh3.clean(text, tags=TAGS, url_schemes=SCHEMES, attribute_filter=_url)


def clean_raw(text: str) -> str:
    """A raw cell (nbconvert pastes one marked text/html into the page): unchanged if nh3 would only escape
    it, else what nh3 leaves of it."""
    cleaned = clean_html(text)
    return text if html.unescape(cleaned) == text else cleaned


def _markdown_urls(tokens):
    """(tag, attribute, url) of every link and image in mistune's syntax tree of a markdown text."""
    for token in tokens:
        url = token.get("attrs", {}).get("url")
        if url is not None:
            yield ("img", "src", url) if token["type"] == "image" else ("a", "href", url)
        yield from _markdown_urls(token.get("children", []))


def markdown_is_safe(text: str, attachments=()) -> bool:
    """No markup that nh3 would change, and only the links and images `_url` allows."""
    if html.unescape(clean_html(text)) != text:
        return False
    tokens = mistune.create_markdown(renderer=None, plugins=MARKDOWN_PLUGINS)(text)
    return all(_url(*link, attachments) is not None for link in _markdown_urls(tokens))


def clean_markdown(text: str, attachments=()) -> str:
    """Markdown kept as written when safe, else shown as its source text in a code block."""
    if markdown_is_safe(text, attachments):
        return text
    longest = max((len(list(run)) for char, run in itertools.groupby(text) if char == "`"), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def valid_image(value) -> bool:
    if not isinstance(value, str):
        return False
    try:
        base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _clean_value(mime: str, value):
    """The value kept for one MIME type, or None to drop it."""
    if isinstance(value, list):  # nbformat allows a list of lines
        value = "".join(value) if all(isinstance(line, str) for line in value) else None
    if not isinstance(value, str) or mime not in ALLOWED_MIME:
        return None
    if mime == "text/html":
        return clean_html(value)
    if mime == "text/markdown":
        return value if markdown_is_safe(value) else None
    if mime == "text/latex":
        return None if any(command in value for command in LATEX_HTML) else value
    if mime in IMAGES:
        return value if valid_image(value) else None
    return value


def _image_metadata(metadata) -> dict:
    """An output's metadata reduced to the width and height of its images."""
    kept = {}
    for mime in IMAGES:
        sizes = metadata.get(mime) if isinstance(metadata, dict) else None
        if isinstance(sizes, dict):
            size = {
                key: sizes[key]
                for key in IMAGE_SIZE_KEYS
                if type(sizes.get(key)) is int and 0 < sizes[key] < 100_000
            }
            if size:
                kept[mime] = size
    return kept


def clean_output(output) -> NotebookNode | None:
    """A safe copy of one output, or None when nothing of it can be shown."""
    kind = output.get("output_type")
    if kind == "stream":
        text = output.get("text", "")
        text = "".join(text) if isinstance(text, list) else str(text)
        name = output.get("name") if output.get("name") in ("stdout", "stderr") else "stdout"
        return NotebookNode(output_type="stream", name=name, text=text)
    if kind == "error":
        traceback = output.get("traceback", [])
        return NotebookNode(
            output_type="error",
            ename=str(output.get("ename", "")),
            evalue=str(output.get("evalue", "")),
            traceback=[str(line) for line in traceback] if isinstance(traceback, list) else [],
        )
    if kind not in ("display_data", "execute_result"):
        return None
    data = output.get("data", {}) if isinstance(output.get("data"), dict) else {}
    kept = {mime: _clean_value(mime, value) for mime, value in data.items()}
    kept = {mime: value for mime, value in kept.items() if value is not None}
    dropped = sorted(set(data) - set(kept))
    if dropped and "text/plain" not in kept:
        kept["text/plain"] = f"[output not shown: {', '.join(dropped)[:200]} is not allowed in graded work]"
    cleaned = NotebookNode(output_type=kind, data=kept, metadata=_image_metadata(output.get("metadata")))
    if kind == "execute_result":
        count = output.get("execution_count")
        cleaned.execution_count = count if type(count) is int else None
    return cleaned


def clean_attachments(attachments) -> dict:
    """Cell attachments reduced to valid PNG, JPEG and GIF images."""
    kept = {}
    for name, bundle in (attachments or {}).items():
        bundle = bundle if isinstance(bundle, dict) else {}
        images = {mime: value for mime, value in bundle.items() if mime in IMAGES and valid_image(value)}
        if images and isinstance(name, str):
            kept[name] = images
    return kept


class SanitiseOutputs(NbGraderPreprocessor):
    """Clean every output, markdown and raw cell and attachment of the notebook (see the module doc)."""

    def preprocess(self, nb, resources):
        nb.metadata.pop("widgets", None)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        attachments = clean_attachments(cell.pop("attachments", None))
        if attachments and cell.cell_type != "code":
            cell.attachments = attachments
        if cell.cell_type == "code":
            cleaned = (clean_output(output) for output in cell.get("outputs", []))
            cell.outputs = [output for output in cleaned if output is not None]
        elif cell.cell_type == "markdown":
            cell.source = clean_markdown(cell.source, attachments)  # a missing attachment breaks nbconvert
        elif cell.cell_type == "raw":
            cell.source = clean_raw(cell.source)
        return cell, resources
