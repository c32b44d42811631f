"""nbgrader's solution and hidden-test markers, read from the course's settings, and the one parser of the
regions they enclose.

The markers are nbgrader's own settings, with nbgrader's spelling and defaults:

    c.ClearSolutions.begin_solution_delimeter = "BEGIN SOLUTION"
    c.ClearHiddenTests.begin_test_delimeter = "BEGIN HIDDEN TESTS"   (and the two end_... settings)

As in nbgrader, a line that contains a marker is a marker line (`### BEGIN SOLUTION` included).
"""

from __future__ import annotations

import dataclasses
import re


@dataclasses.dataclass(frozen=True)
class Markers:
    solution_begin: str
    solution_end: str
    hidden_begin: str
    hidden_end: str

    @classmethod
    def from_config(cls, config=None) -> Markers:
        """The markers a course's config sets (nbgrader's defaults where it sets none)."""
        from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions
        from traitlets.config import Config

        config = config if config is not None else Config()
        solutions, hidden = ClearSolutions(config=config), ClearHiddenTests(config=config)
        return cls(
            solutions.begin_solution_delimeter,
            solutions.end_solution_delimeter,
            hidden.begin_test_delimeter,
            hidden.end_test_delimeter,
        )

    @property
    def all(self) -> tuple[str, str, str, str]:
        return (self.solution_begin, self.solution_end, self.hidden_begin, self.hidden_end)


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
    """The lines inside begin/end regions, and the lines outside them (marker lines dropped)."""
    lines, inside = text.splitlines(), region_rows(text, begin, end)
    markers = {number for number, line in enumerate(lines, 1) if begin in line or end in line}
    return (
        [line for number, line in enumerate(lines, 1) if number in inside],
        [line for number, line in enumerate(lines, 1) if number not in inside | markers],
    )


def cut(text: str, begin: str, end: str, replacement: str = "", *, whole_lines: bool = False) -> str:
    """The text with every begin...end region, markers included, replaced; with whole_lines, the whole line
    of the begin marker (its indent and comment sign) and the rest of the end marker's line go too."""
    region = rf"{re.escape(begin)}.*?{re.escape(end)}"
    pattern = rf"^[^\n]*?{region}[^\n]*" if whole_lines else region
    return re.sub(pattern, lambda _: replacement, text, flags=re.S | re.M)
