"""SanitiseOutputs on a hand-made notebook: every attack loses its active part, harmless output survives."""

import base64
import json
from html.parser import HTMLParser

import nbformat
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell

from rnn_course.grading.steps.sanitise import ALLOWED_MIME, SanitiseOutputs

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()
TABLE = "<table><thead><tr><th>step</th></tr></thead><tbody><tr><td>0.5</td></tr></tbody></table>"
ANSWER = "Position -1 is padding: use `h_n[-1]` when a < b & c > d.\n\n| a | b |\n|---|---|\n| 1 | 2 |"

# What must not survive anywhere in the sanitised notebook's JSON.
ACTIVE = (
    "<script",
    "onerror",
    "onload",
    "javascript:",
    "<iframe",
    "<object",
    "<embed",
    "<svg",
    "evil.example",
    "isolated",
)


def display(data, metadata=None):
    return new_output("display_data", data=data, metadata=metadata or {})


def attacked_notebook():
    outputs = [
        display({"text/html": "<b>bold</b><script>window.__pwned = 1</script>", "text/plain": "x"}),
        display({"text/html": '<img src="x" onerror="document.title = \'pwned\'">'}),
        display({"text/html": '<a href="javascript:window.__pwned = 1">click</a>'}),
        display({"application/javascript": "window.__pwned = 1"}),
        display(
            {
                "text/html": '<iframe src="https://evil.example/"></iframe><object data="x"></object>'
                '<embed src="x">'
            }
        ),
        display({"image/svg+xml": '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'}),
        display({"text/html": '<svg><script>alert(1)</script></svg><img src="https://evil.example/t.png">'}),
        display({"application/vnd.jupyter.widget-view+json": {"model_id": "abc", "version_major": 2}}),
        display({"text/markdown": "[click](javascript:window.__pwned=1)"}),
        display({"text/latex": r"$\href{javascript:alert(1)}{x}$"}),
        display({"image/png": "not base64 at all!"}),
        display(
            {"image/png": PNG}, {"image/png": {"width": 40, "height": 30, "onload": "x"}, "isolated": True}
        ),
        display({"text/html": TABLE, "text/plain": "a table"}),
        new_output("stream", name="stdout", text="plain text survives\n"),
        new_output("execute_result", data={"text/plain": "42"}, execution_count=3),
    ]
    cells = [
        new_code_cell("show()", outputs=outputs),
        new_markdown_cell('<img src=x onerror="window.__pwned = 1"> and [link](javascript:alert(1))'),
        new_markdown_cell(ANSWER),
        new_raw_cell("<script>window.__pwned = 1</script><p>raw</p>", metadata={"format": "text/html"}),
        new_markdown_cell(
            "![pic](attachment:pic.png) ![svg](attachment:bad.svg)",
            attachments={
                "pic.png": {"image/png": PNG},
                "bad.svg": {"image/svg+xml": "<svg onload='alert(1)'/>"},
                "page.html": {"text/html": "<script>alert(1)</script>"},
            },
        ),
    ]
    notebook = new_notebook(cells=cells)
    notebook.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    return notebook


def sanitised():
    notebook, _ = SanitiseOutputs().preprocess(attacked_notebook(), {})
    nbformat.validate(notebook)
    return notebook


class ActiveParts(HTMLParser):
    """Elements and attributes of rendered HTML that could run or fetch something."""

    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "iframe", "object", "embed", "svg"):
            self.found.append(tag)
        if tag == "img" and not (dict(attrs).get("src") or "").startswith("data:image/png;base64,"):
            self.found.append(f"img from {dict(attrs).get('src')}")
        for name, value in attrs:
            if name.startswith("on") or "javascript:" in (value or "").lower():
                self.found.append(f"{tag} {name}={value}")


def active_parts(cell) -> list[str]:
    """What nbconvert's markdown renderer (feedback page and formgrader) makes active of a cell."""
    parser = ActiveParts()
    renderer = IPythonRenderer(escape=False, attachments=cell.get("attachments", {}))
    parser.feed(MarkdownWithMath(renderer=renderer).render(cell.source))
    return parser.found


def test_no_active_content_survives_in_outputs_raw_cells_and_metadata():
    notebook = sanitised()
    kept = [cell for cell in notebook.cells if cell.cell_type != "markdown"]
    text = json.dumps([kept, notebook.metadata]).lower()
    for marker in ACTIVE:
        assert marker not in text, marker
    kinds = {kind for output in notebook.cells[0].outputs for kind in output.get("data", {})}
    assert kinds <= ALLOWED_MIME and "application/javascript" not in kinds


def test_no_markdown_cell_renders_anything_active():
    for cell in sanitised().cells:
        if cell.cell_type == "markdown":
            assert active_parts(cell) == [], cell.source
    assert active_parts(attacked_notebook().cells[1])  # the attack is active before: the test can fail


def test_the_attacked_notebook_has_each_attack_before_sanitising():
    notebook = attacked_notebook()
    text = json.dumps(notebook).lower()
    assert all(marker in text for marker in ACTIVE)  # so the test above can fail
    kinds = {kind for output in notebook.cells[0].outputs for kind in output.get("data", {})}
    assert "application/javascript" in kinds and "application/vnd.jupyter.widget-view+json" in kinds


def test_harmless_output_survives():
    outputs = sanitised().cells[0].outputs
    html = [output.data["text/html"] for output in outputs if "text/html" in output.get("data", {})]
    assert TABLE in html and "<b>bold</b>" in html[0]
    png = [output for output in outputs if "image/png" in output.get("data", {})]
    assert len(png) == 1 and png[0].data["image/png"] == PNG
    assert png[0].metadata == {"image/png": {"width": 40, "height": 30}}
    assert any(output.get("text") == "plain text survives\n" for output in outputs)
    assert any(output.get("data", {}).get("text/plain") == "42" for output in outputs)


def test_a_dropped_output_leaves_a_note():
    outputs = sanitised().cells[0].outputs
    notes = [
        output.data["text/plain"]
        for output in outputs
        if "not shown" in output.get("data", {}).get("text/plain", "")
    ]
    assert any("application/javascript" in note for note in notes)


def test_markdown_is_kept_as_written_when_safe_and_shown_as_source_when_not():
    cells = sanitised().cells
    assert cells[2].source == ANSWER
    assert cells[1].source.startswith("```") and "window.__pwned" in cells[1].source  # as text, in code


def test_raw_html_cell_and_attachments():
    cells = sanitised().cells
    assert cells[3].source == "<p>raw</p>"
    assert cells[4].attachments == {"pic.png": {"image/png": PNG}}
    assert "attachment:bad.svg" in cells[4].source and cells[4].source.startswith("```")  # shown as text
    safe = new_markdown_cell("![pic](attachment:pic.png)", attachments={"pic.png": {"image/png": PNG}})
    notebook, _ = SanitiseOutputs().preprocess(new_notebook(cells=[safe]), {})
    assert notebook.cells[0].source == "![pic](attachment:pic.png)"  # a valid attachment stays an image
    assert "widgets" not in sanitised().metadata
