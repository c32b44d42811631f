"""ReadableTables (feedback step, after CSSHTMLHeaderPreprocessor): the feedback page's Bootstrap style sets
`th, td {padding: 0}`, so a markdown table's header read as "PartWhat you write"; this gives cells room."""

from __future__ import annotations

from nbgrader.preprocessors import NbGraderPreprocessor as Preprocessor

TABLE_CSS = """
.rendered_html table { border-collapse: collapse; margin: 0.5em 0; }
.rendered_html th, .rendered_html td { padding: 0.25em 0.75em; border: 1px solid #ccc; text-align: left; }
"""


class ReadableTables(Preprocessor):
    """Add the table style to the CSS the page inlines."""

    def preprocess(self, nb, resources):
        resources.setdefault("inlining", {}).setdefault("css", []).append(TABLE_CSS)
        return nb, resources
