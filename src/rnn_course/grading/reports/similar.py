"""Near-identical submissions: pairs whose answers match once whitespace, comments and names are set aside.

    rnn-course grade similar rnn_from_scratch

Each answer cell (code or written) of every submission is normalised: code to its tokens, with comments and
layout dropped and every name the learner chose replaced by its order of first use (`v1`, `v2`, ...), so
renaming a variable changes nothing; text to its lower-case words. Pairs of learners are compared cell by
cell with difflib's SequenceMatcher; the instructor's own solution takes part as "(model answer)". Cells left
as released (the stub) are skipped. A flag is a reason to look, never a verdict.
"""

from __future__ import annotations

import builtins
import difflib
import io
import itertools
import keyword
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path

import nbformat

from rnn_course.grading.config import course_path, load_config, student_folders
from rnn_course.grading.steps.cells import grade_id
from rnn_course.grading.steps.regions import Markers

MODEL_ANSWER = "(model answer)"
THRESHOLD = 0.9  # similarity at or above which a pair of cells is flagged
MIN_TOKENS = 12  # shorter answers ("pass", one word) say nothing about copying
KEPT_NAMES = set(dir(builtins)) | {"torch", "nn", "math", "self", "F"}
LAYOUT = (
    tokenize.COMMENT,
    tokenize.NL,
    tokenize.NEWLINE,
    tokenize.INDENT,
    tokenize.DEDENT,
    tokenize.ENDMARKER,
)


@dataclass(frozen=True)
class Pair:
    first: str
    second: str
    cell: str
    similarity: float


def code_tokens(source: str) -> list[str]:
    """The code's tokens without comments or layout, the learner's own names numbered by first use."""
    names: dict[str, str] = {}
    tokens = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type in LAYOUT:
                continue
            text = token.string
            if token.type == tokenize.STRING and text.lstrip("rbuRBU").startswith(('"""', "'''")):
                continue  # docstrings are layout too
            if token.type == tokenize.NAME and not keyword.iskeyword(text) and text not in KEPT_NAMES:
                if (tokens[-1] if tokens else "") != ".":  # attributes (`.T`, `.new_zeros`) are the library's
                    text = names.setdefault(text, f"v{len(names) + 1}")
            tokens.append(text)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return text_tokens(source)
    return tokens


def text_tokens(source: str) -> list[str]:
    """A written answer's words, lower case, without punctuation or Markdown marks."""
    return re.findall(r"[a-z0-9_]+", source.lower())


def tokens(cell) -> list[str]:
    return code_tokens(cell.source) if cell.cell_type == "code" else text_tokens(cell.source)


def answers(notebook, stubs: dict[str, list[str]]) -> dict[str, list[str]]:
    """The normalised answer cells of a notebook by grade id, leaving out those still as released."""
    found = {}
    for cell in notebook.cells:
        name = grade_id(cell)
        if not name or not cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            continue
        normalised = tokens(cell)
        if len(normalised) >= MIN_TOKENS and normalised != stubs.get(name):
            found[name] = normalised
    return found


def collect(course_dir: Path, assignment: str) -> dict[str, dict[str, list[str]]]:
    """Every learner's normalised answers (all notebooks of the assignment), and the model answer's."""
    config = load_config(course_dir)
    markers = Markers.from_config(config)
    solution = (markers.solution_begin, markers.solution_end)
    stubs: dict[str, list[str]] = {}
    for path in sorted(course_path(config, "release", ".", assignment).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if grade_id(cell):
                stubs[grade_id(cell)] = tokens(cell)
    learners: dict[str, dict[str, list[str]]] = {}
    for path in sorted(course_path(config, "source", ".", assignment).glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:  # the solution without its marker lines
            cell.source = "\n".join(
                line for line in cell.source.splitlines() if not any(marker in line for marker in solution)
            )
        learners.setdefault(MODEL_ANSWER, {}).update(answers(notebook, stubs))
    for folder in student_folders(config, "submitted", assignment):
        for path in sorted(folder.glob("*.ipynb")):
            try:
                notebook = nbformat.read(path, as_version=4)
            except Exception:
                continue  # not a notebook: autograde says so
            learners.setdefault(folder.parent.name, {}).update(answers(notebook, stubs))
    return learners


def similar_pairs(learners: dict[str, dict[str, list[str]]], threshold: float = THRESHOLD) -> list[Pair]:
    """Every pair of learners with an answer cell at least `threshold` alike, most alike first."""
    pairs = []
    for first, second in itertools.combinations(sorted(learners), 2):
        for cell in sorted(set(learners[first]) & set(learners[second])):
            matcher = difflib.SequenceMatcher(
                None, learners[first][cell], learners[second][cell], autojunk=False
            )
            if matcher.real_quick_ratio() < threshold or matcher.quick_ratio() < threshold:
                continue  # cheap upper bounds first: most pairs stop here
            ratio = matcher.ratio()
            if ratio >= threshold:
                pairs.append(Pair(first, second, cell, ratio))
    return sorted(pairs, key=lambda pair: (-pair.similarity, pair.first, pair.second, pair.cell))


def format_pairs(pairs: list[Pair], learners: int) -> str:
    """One line per pair of learners: how alike their most alike cell is, and which cells were flagged."""
    by_pair: dict[tuple[str, str], list[Pair]] = {}
    for pair in pairs:
        by_pair.setdefault((pair.first, pair.second), []).append(pair)
    lines = [
        f"{len(by_pair)} pair(s) with near-identical answers among {learners} submission(s)"
        + (" (a reason to look, not a verdict)" if by_pair else "")
    ]
    for (first, second), cells in sorted(by_pair.items(), key=lambda item: -item[1][0].similarity):
        lines.append(
            f"  {cells[0].similarity:>5.0%}  {first}  {second}: "
            + ", ".join(f"{pair.cell} {pair.similarity:.0%}" for pair in cells)
        )
    return "\n".join(lines)
