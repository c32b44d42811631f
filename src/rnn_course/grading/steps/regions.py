"""nbgrader's solution and hidden-test markers, and the one parser of the regions they enclose."""

from __future__ import annotations

import re

SOLUTION_BEGIN, SOLUTION_END = "### BEGIN SOLUTION", "### END SOLUTION"
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


def region_rows(text: str, begin: str, end: str) -> set[int]:
    """Line numbers (from 1) strictly inside begin/end regions."""
    rows, within = set(), False
    for number, line in enumerate(text.splitlines(), 1):
        if begin in line:
            within = True
        elif end in line:
            within = False
        elif within:
            rows.add(number)
    return rows


def regions(text: str, begin: str, end: str) -> tuple[list[str], list[str]]:
    """The lines inside begin/end regions, and the lines outside them (markers dropped)."""
    lines, inside = text.splitlines(), region_rows(text, begin, end)
    markers = {number for number, line in enumerate(lines, 1) if begin in line or end in line}
    return ([line for number, line in enumerate(lines, 1) if number in inside],
            [line for number, line in enumerate(lines, 1) if number not in inside | markers])


def cut(text: str, begin: str, end: str, replacement: str = "", *, whole_lines: bool = False) -> str:
    """The text with every begin...end region, markers included, replaced; with whole_lines, the indent
    before the begin marker and the rest of the end marker's line go too."""
    region = rf"{re.escape(begin)}.*?{re.escape(end)}"
    pattern = rf"[ \t]*{region}[^\n]*" if whole_lines else region
    return re.sub(pattern, lambda _: replacement, text, flags=re.S)
