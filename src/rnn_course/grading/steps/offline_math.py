"""OfflineMath (feedback step): `$...$` and `$$...$$` in markdown become MathML, which browsers draw
themselves, so a feedback page shows its formulas offline, without MathJax from a CDN."""

from __future__ import annotations

import re

from latex2mathml.converter import convert
from nbgrader.preprocessors import NbGraderPreprocessor as Preprocessor

DISPLAY = re.compile(r"\$\$(.+?)\$\$", re.S)
INLINE = re.compile(r"(?<![\\$])\$(?!\s)([^$\n]+?)(?<!\s)\$(?!\$)")
CODE = re.compile(r"(```.*?```|`[^`\n]*`)", re.S)  # code spans keep their dollars


def to_mathml(markdown: str) -> str:
    """The markdown with each formula outside code replaced by its MathML (a formula that does not parse
    stays as it was)."""

    def swap(pattern: re.Pattern, display: str, text: str) -> str:
        def one(match: re.Match) -> str:
            try:
                return convert(match.group(1).strip(), display=display)
            except Exception:  # latex2mathml raises several kinds; the text then stays readable as TeX
                return match.group(0)

        return pattern.sub(one, text)

    parts = CODE.split(markdown)
    for index in range(0, len(parts), 2):  # even parts are outside code
        parts[index] = swap(INLINE, "inline", swap(DISPLAY, "block", parts[index]))
    return "".join(parts)


class OfflineMath(Preprocessor):
    """For feedback: formulas in markdown cells as MathML."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "markdown" and "$" in cell.source:
            cell.source = to_mathml(cell.source)
        return cell, resources
