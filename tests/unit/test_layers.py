"""The package's modules import one another one way: no import cycle anywhere, none hidden in a function."""

import ast
from pathlib import Path

import rnn_course

PACKAGE = Path(rnn_course.__file__).parent


def imports() -> dict[str, set[str]]:
    """module -> the package modules it imports (at the top or inside a function)."""
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    found = {}
    for name, path in modules.items():
        wanted = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("rnn_course"):
                for alias in node.names:  # `from a import b`: the module a.b if there is one, else a itself
                    wanted.add(f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in modules
                               else node.module)
            elif isinstance(node, ast.Import):
                wanted |= {alias.name for alias in node.names if alias.name.startswith("rnn_course")}
        found[name] = {module for module in wanted if module in modules and module != name}
    return found


def cycles(graph: dict[str, set[str]], within: str) -> list[list[str]]:
    found = []

    def visit(module, path):
        for target in sorted(graph[module]):
            if not target.startswith(within):
                continue
            if target in path:
                found.append(path[path.index(target):] + [target])
            elif len(path) < 30:
                visit(target, path + [target])

    for module in sorted(graph):
        if module.startswith(within):
            visit(module, [module])
    return found


def test_the_package_has_no_import_cycle():
    graph = imports()
    assert cycles(graph, "rnn_course") == []
    assert "rnn_course.quiz.engine" not in graph["rnn_course.quiz.verify"]  # the old engine <-> verify cycle


def test_the_graph_sees_a_cycle_when_there_is_one():
    assert cycles({"a.x": {"a.y"}, "a.y": {"a.x"}}, "a") == [["a.x", "a.y", "a.x"], ["a.y", "a.x", "a.y"]]
