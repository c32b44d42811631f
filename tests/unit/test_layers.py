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


# ---------------------------------------------------------------- grading/, laid out by trust boundary

GRADING = "rnn_course.grading"
# Each layer of grading/ and the layers it may import (itself included). The kernel-side modules that the
# sandbox mounts are checked on their own (tests/grading/test_kernel_side.py).
BASE = {"errors", "_compat", "config", "database"}
MAY_IMPORT = {
    "errors": set(),
    "_compat": {"errors"},
    "database": {"errors"},
    "config": {"database", "errors"},
    "judge": {"judge"},  # pure: runs in the kernel and in the grader
    "sandbox": {"sandbox", "judge", "config", "errors", "_compat"},
    "steps": {"steps", "judge", "sandbox"} | BASE,
    "deadlines": {"deadlines"} | BASE,  # lms/ due dates, extensions, penalties: the runner applies them
    "runner": {"runner", "steps", "sandbox", "judge", "deadlines"} | BASE,
    "workflow": {"workflow", "runner", "steps", "judge", "deadlines", "lms"} | BASE,  # export: lms.exports
    "lms": {"lms", "deadlines", "workflow", "runner", "steps", "judge"} | BASE,  # the LMS road in and out
    "reports": {"reports", "steps", "judge"} | BASE,
    "shims": {"judge", "steps"},  # the old public paths, re-exporting what moved
    "cli": {"cli", "workflow", "reports", "runner", "steps", "sandbox", "judge", "lms", "deadlines"} | BASE,
}
DEADLINES = {"deadlines", "penalty", "extras"}  # the part of lms/ below the runner
SHIMS = {"checks", "hide_hidden", "limits", "offline_math", "readable_tables", "restore", "runner_only",
         "sanitise", "tracebacks", "verdicts"}


def layer(module: str) -> str:
    parts = module.removeprefix(GRADING + ".").split(".")
    if parts[0] == "lms" and parts[1:2] and parts[1] in DEADLINES:
        return "deadlines"
    return "shims" if parts[0] in SHIMS else parts[0]


def test_each_layer_of_grading_imports_only_the_layers_below_it():
    graph = imports()
    wrong = [(module, target) for module, targets in graph.items()
             if module.startswith(GRADING + ".") for target in targets
             if target.startswith(GRADING + ".") and layer(target) not in MAY_IMPORT[layer(module)]]
    assert wrong == []


def test_every_grading_module_belongs_to_a_layer():
    assert {layer(module) for module in imports() if module.startswith(GRADING + ".")} <= set(MAY_IMPORT)


def test_every_init_of_grading_is_import_free():
    """Every sandboxed Python imports rnn_course.grading (the .pth hook, `-m ...fork_server`)."""
    for path in (PACKAGE / "grading").rglob("__init__.py"):
        tree = ast.parse(path.read_text())
        assert not [node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)], path


def test_no_module_imports_a_private_name_of_another_except_from_compat():
    found = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("rnn_course"):
                found += [f"{path.relative_to(PACKAGE)}: {node.module}.{alias.name}" for alias in node.names
                          if alias.name.startswith("_") and alias.name != "_compat"
                          and node.module != f"{GRADING}._compat"]
    assert found == []


def test_the_layer_check_sees_an_upward_import():
    assert layer(f"{GRADING}.judge.cases") == "judge"
    assert "runner" not in MAY_IMPORT[layer(f"{GRADING}.steps.verdicts")]


TESTS = PACKAGE.parents[1] / "tests"


def scaffolding_imports(path: Path) -> list[str]:
    """What a test or benchmark file imports from tests/ that is not tests/helpers, and any sys.path edit."""
    wrong = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tests"):
            if not (node.module == "tests.helpers" or node.module.startswith("tests.helpers.")):
                wrong.append(f"from {node.module} import ...")
        elif isinstance(node, ast.Import):
            wrong += [f"import {a.name}" for a in node.names
                      if a.name.startswith("tests") and not a.name.startswith("tests.helpers")]
        elif (isinstance(node, ast.Attribute) and node.attr == "path"
                and getattr(node.value, "id", None) == "sys"):
            wrong.append("sys.path")
    return wrong


def test_tests_and_benchmarks_import_scaffolding_only_from_tests_helpers():
    files = [*TESTS.rglob("*.py"), *(TESTS.parent / "benchmarks").glob("*.py")]
    found = {str(path.relative_to(TESTS.parent)): scaffolding_imports(path) for path in files}
    wrong = {path: imports for path, imports in found.items() if imports}
    assert len(files) > 50 and not wrong, wrong


def test_the_scaffolding_check_sees_a_conftest_import_and_a_path_edit(tmp_path):
    bad = tmp_path / "test_bad.py"
    bad.write_text("import sys\nsys.path.insert(0, '.')\nfrom tests.grading.conftest import x\n")
    assert sorted(scaffolding_imports(bad)) == ["from tests.grading.conftest import ...", "sys.path"]
