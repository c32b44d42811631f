"""The release check: a learner's notebook holds no solution and no hidden test, wherever markers were put.

It works from nbgrader's cell structure (grade ids, solution and test cells), not from the markers alone:
- a released solution cell is only its skeleton (imports, `def`/`class` lines, docstrings, `super().__init__`)
  and the stub: any other statement is solution code that a misplaced marker let through;
- no line of a solution or hidden-test region (nor any expression in one) appears anywhere in the release,
  markdown and comments included, unless the source shows that code verbatim in a locked cell or in the
  visible part of a test cell;
- every released test cell compiles (a hidden test cut in half does not), and no marker is left.
Each problem names the notebook, the cell (its grade id) and the line of the released cell.
"""

from __future__ import annotations

import ast
import dataclasses
import io
import re
import tokenize
from pathlib import Path

from nbformat import NotebookNode
from nbgrader import utils

from rnn_course.grading.steps.cells import grade_id, is_test_cell
from rnn_course.grading.steps.regions import Markers, region_rows, regions

MIN_SECRET = 12  # characters: shorter lines (`return h`, `else:`) say nothing and appear everywhere


@dataclasses.dataclass(frozen=True)
class Problem:
    notebook: str
    cell: str  # the grade id, or "#<n> (<type>)" for a cell without one
    line: int  # in the released cell, from 1
    what: str

    def __str__(self) -> str:
        return f"{self.notebook}: cell {self.cell}, line {self.line}: {self.what}"


def code_key(line: str) -> str:
    """A code line without its comment and with its spaces collapsed: how it is searched for."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(line.strip() + "\n").readline))
        comment = next((token for token in tokens if token.type == tokenize.COMMENT), None)
        if comment is not None:
            line = line.strip()[: comment.start[1]]
    except (tokenize.TokenError, IndentationError, SyntaxError):  # a line of a longer statement
        line = re.sub(r"#[^'\"]*$", "", line)
    return " ".join(line.split())


def text_key(text: str) -> str:
    return " ".join(text.split())


FRAGMENTS = (
    ast.Call,
    ast.BinOp,
    ast.Compare,
    ast.BoolOp,
    ast.Subscript,
    ast.IfExp,
    ast.Lambda,
    ast.ListComp,
    ast.DictComp,
    ast.SetComp,
    ast.GeneratorExp,
)


def _fragments(text: str, rows: set[int]) -> set[str]:
    """The searched keys of the given lines: each line, and each expression within them (a quote of
    `checks.random_configs(16, seed=11)` is a trace of its line too)."""
    lines = text.splitlines()
    keys = {code_key(lines[row - 1]) for row in rows}
    try:
        tree = _parse(text)
    except SyntaxError:
        return keys
    for node in ast.walk(tree):
        if not isinstance(node, FRAGMENTS):
            continue
        if all(row in rows for row in range(node.lineno, (node.end_lineno or node.lineno) + 1)):
            keys.add(text_key(ast.get_source_segment(text, node) or ""))
    return keys


def _secrets(source: NotebookNode, markers: Markers) -> dict[str, str]:
    """{searched text: what it is} for every solution and hidden-test line of the source."""
    found: dict[str, str] = {}
    for cell in source.cells:
        if cell.cell_type == "markdown" and utils.is_solution(cell):  # a written answer: every sentence
            for sentence in re.split(r"(?<=[.!?;:])\s+|\n\s*\n", cell.source):
                if len(text_key(sentence)) >= 2 * MIN_SECRET:
                    found.setdefault(text_key(sentence), f"the written answer of {grade_id(cell)}")
            continue
        if cell.cell_type != "code":
            continue
        solution = region_rows(cell.source, markers.solution_begin, markers.solution_end)
        if utils.is_solution(cell) and markers.solution_begin not in cell.source:  # cleared whole
            solution = set(range(1, len(cell.source.splitlines()) + 1))
        hidden = region_rows(cell.source, markers.hidden_begin, markers.hidden_end)
        for rows, kind in ((solution, "solution"), (hidden, "hidden test")):
            for key in sorted(_fragments(cell.source, rows), key=len, reverse=True):
                if len(key) >= MIN_SECRET:
                    found.setdefault(key, f"{kind} code of {grade_id(cell)}")
    return found


def _shown_code(source: NotebookNode, markers: Markers) -> str:
    """Code lines the source shows on purpose: locked cells, and test cells outside hidden regions."""
    shown = []
    for cell in source.cells:
        if (
            cell.cell_type == "code"
            and not utils.is_solution(cell)
            and (utils.is_locked(cell) or utils.is_grade(cell))
        ):
            _, visible = regions(cell.source, markers.hidden_begin, markers.hidden_end)
            _, visible = regions("\n".join(visible), markers.solution_begin, markers.solution_end)
            shown += [code_key(line) for line in visible]
    return "\n".join(shown)


def _label(cell: NotebookNode, index: int) -> str:
    return grade_id(cell) or f"#{index + 1} ({cell.cell_type})"


def _line_of(text: str, key: str) -> int:
    """The first line of text where key (or its start, when it spans lines) is found."""
    for number, line in enumerate(text.splitlines(), 1):
        if key in text_key(line):
            return number
    head = key[:MIN_SECRET]
    return next((number for number, line in enumerate(text.splitlines(), 1) if head in text_key(line)), 1)


def _parse(text: str) -> ast.Module:
    """The cell as Python, after IPython's own transforms (magics, `!` lines)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return ast.parse(TransformerManager().transform_cell(text))


def _is_stub(node: ast.stmt) -> bool:
    if not isinstance(node, ast.Raise) or node.exc is None:
        return False
    exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
    return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"


def _is_docstring(node: ast.stmt) -> bool:
    value = node.value if isinstance(node, ast.Expr) else None
    return isinstance(value, ast.Constant) and isinstance(value.value, str)


def _is_super_init(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Attribute)
        and node.value.func.attr == "__init__"
        and isinstance(node.value.func.value, ast.Call)
        and isinstance(node.value.func.value.func, ast.Name)
        and node.value.func.value.func.id == "super"
    )


def _beyond_the_stub(body: list[ast.stmt], where: str) -> list[tuple[int, str]]:
    """(line, why) for each statement of a block that is not skeleton or stub."""
    found, stubbed = [], False
    for node in body:
        if stubbed:
            found.append((node.lineno, "solution code after the stub"))
        elif _is_stub(node):
            stubbed = True
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found += _beyond_the_stub(node.body, "function")
        elif isinstance(node, ast.ClassDef):
            found += _beyond_the_stub(node.body, "class")
        elif _is_docstring(node) or isinstance(node, ast.Pass):
            continue
        elif where == "module" and isinstance(node, ast.Import | ast.ImportFrom):
            continue
        elif where == "function" and _is_super_init(node):
            continue
        else:
            found.append((node.lineno, "solution code outside the stub"))
    return found


def check_notebook(
    source: NotebookNode,
    released: NotebookNode,
    name: str,
    *,
    text_stub: str = "YOUR ANSWER HERE",
    markers: Markers | None = None,
) -> list[Problem]:
    """Every problem of one released notebook, against its source; markers: the course's (nbgrader's
    defaults if not given)."""
    markers = markers or Markers.from_config()
    problems: list[Problem] = []
    by_id = {grade_id(cell): cell for cell in released.cells if grade_id(cell)}
    index_of = {id(cell): index for index, cell in enumerate(released.cells)}

    def problem(cell: NotebookNode, line: int, what: str) -> None:
        problems.append(Problem(name, _label(cell, index_of[id(cell)]), line, what))

    for cell in source.cells:
        cell_id = grade_id(cell)
        if cell_id and cell_id not in by_id:
            problems.append(Problem(name, cell_id, 1, "missing from the release"))

    secrets = _secrets(source, markers)
    shown = _shown_code(source, markers)
    for cell in released.cells:
        lines = cell.source.splitlines()
        for number, line in enumerate(lines, 1):
            if any(marker in line for marker in markers.all):
                problem(cell, number, f"a grading marker is left: {line.strip()!r}")
        # a trace of a secret anywhere, code or markdown, unless the source shows that very line on purpose
        # (comments count: a solution quoted in a test's comment is a leak too)
        keyed = text_key(cell.source)
        for key, kind in secrets.items():
            if key in keyed and key not in shown:
                problem(cell, _line_of(cell.source, key), f"{kind} in the release: {key!r}")

        if utils.is_solution(cell) and cell.cell_type == "markdown":
            if cell.source.strip() != text_stub.strip():
                problem(cell, 1, f"a written-answer cell must be released as {text_stub!r} only")
        elif cell.cell_type == "code" and (utils.is_solution(cell) or is_test_cell(cell)):
            try:
                tree = _parse(cell.source)
            except SyntaxError as error:
                problem(
                    cell,
                    error.lineno or 1,
                    f"does not compile ({error.msg}): "
                    f"{(lines[(error.lineno or 1) - 1] if lines else '').strip()!r}",
                )
                continue
            if utils.is_solution(cell):
                for line, why in _beyond_the_stub(tree.body, "module"):
                    problem(cell, line, f"{why}: {lines[line - 1].strip()!r}")
    return _unique(problems)


def _unique(problems: list[Problem]) -> list[Problem]:
    seen, kept = set(), []
    for item in problems:
        if (item.cell, item.line) not in seen:
            seen.add((item.cell, item.line))
            kept.append(item)
    return kept


def passing_tests(released_path: str, name: str) -> list[Problem]:
    """The test cells that pass on the blank release (nbgrader's Validator, inverted): each is a problem."""
    import tempfile

    import nbformat
    from nbgrader.validator import Validator
    from traitlets.config import Config

    with tempfile.TemporaryDirectory(prefix="rnn-course-validate-") as folder:
        # the kernel talks over Unix sockets in a private folder (over TCP it prints a warning)
        config = Config({"KernelManager": {"transport": "ipc", "ip": str(Path(folder) / "kernel")}})
        results = Validator(invert=True, ignore_checksums=True, config=config).validate(released_path)
    passed = {entry["source"] for entry in results.get("passed", [])}
    released = nbformat.read(released_path, as_version=4)
    return [
        Problem(name, _label(cell, index), 1, "this test passes on the blank release")
        for index, cell in enumerate(released.cells)
        if is_test_cell(cell) and cell.source.strip() in passed
    ]


def hidden_test_lines(source: NotebookNode, markers: Markers | None = None) -> list[str]:
    """The code lines only hidden tests have: none of them may reach a learner."""
    markers = markers or Markers.from_config()
    code = [cell.source for cell in source.cells if cell.cell_type == "code"]
    parts = [regions(text, markers.hidden_begin, markers.hidden_end) for text in code]
    shown = "\n".join(code_key(line) for _, outside in parts for line in outside)
    return [
        line.strip()
        for inside, _ in parts
        for line in inside
        if len(code_key(line)) >= MIN_SECRET and code_key(line) not in shown
    ]
