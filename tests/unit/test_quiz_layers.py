"""The quiz modules depend one way: none reaches back to a module that imports it (no engine <-> verify)."""

import ast

from tests.conftest import ROOT

QUIZ = ROOT / "src" / "rnn_course" / "quiz"


def quiz_imports(path) -> set[str]:
    """The quiz modules a file imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("rnn_course.quiz"):
            if node.module == "rnn_course.quiz":
                found |= {alias.name for alias in node.names}
            else:
                found.add(node.module.rsplit(".", 1)[1])
    return found


def test_quiz_modules_form_no_cycle():
    graph = {p.stem: quiz_imports(p) for p in QUIZ.glob("*.py") if p.stem != "__init__"}
    assert "engine" in graph["check"] and "engine" not in graph["verify"]
    visiting, done = set(), set()

    def visit(module, path):
        assert module not in visiting, f"import cycle: {' -> '.join(path + [module])}"
        if module in done or module not in graph:
            return
        visiting.add(module)
        for other in graph[module]:
            visit(other, path + [module])
        visiting.discard(module)
        done.add(module)

    for module in graph:
        visit(module, [])
