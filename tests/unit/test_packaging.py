"""Packaging: every import declared, extras that keep the lab off a grading worker, constraints in step."""

import ast
import re
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.helpers.paths import ROOT

PACKAGE = ROOT / "src" / "rnn_course"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

# The parts of the package that need an extra beyond the base dependencies; the rest needs the base only.
PART_EXTRAS = {
    "viz/": "lab",  # widgets and plots
    "controls.py": "lab",  # anywidget controls
    "lab_socket.py": "lab",  # the lab server's kernel websocket
    "quiz/widget.py": "lab",  # the quiz in a notebook
    "quiz/__init__.py": "lab",  # quiz(): imports ipywidgets only when it shows the widget
    "quiz/stats.py": "lab",  # --plot draws with matplotlib
    "grading/runner/pool.py": "worker",  # --scheduler: a Dask client
}
LAB_ONLY = {"jupyterlab", "notebook", "ipywidgets", "anywidget", "matplotlib"}


def _names(requirements: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(r).name) for r in requirements}


def _imports(path) -> set[str]:
    """Top-level names of the absolute imports in one module, anywhere in it (lazy imports too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"rnn_course", "__future__"}


def _extra_of(relative: str) -> str | None:
    return next((extra for part, extra in PART_EXTRAS.items() if relative.startswith(part)), None)


def test_every_third_party_import_is_declared_for_its_part():
    base = _names(PROJECT["dependencies"])
    extras = {extra: _names(reqs) for extra, reqs in PROJECT["optional-dependencies"].items()}
    distributions = packages_distributions()
    undeclared = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        extra = _extra_of(relative)
        allowed = base | extras.get(extra, set())
        for name in sorted(_imports(path)):
            provided_by = {canonicalize_name(d) for d in distributions.get(name, [])}
            if not provided_by & allowed:
                where = f"the base or [{extra}]" if extra else "the base dependencies"
                undeclared.append(
                    f"{relative} imports {name} ({', '.join(provided_by) or 'not installed'}), not in {where}"
                )
    assert not undeclared, "\n".join(undeclared)


def test_the_parts_named_for_an_extra_exist():
    for part, extra in PART_EXTRAS.items():
        assert (PACKAGE / part).exists(), part
        assert extra in PROJECT["optional-dependencies"], extra


def test_the_worker_and_the_base_leave_the_lab_out():
    assert not _names(PROJECT["dependencies"]) & LAB_ONLY
    assert not _names(PROJECT["optional-dependencies"]["worker"]) & LAB_ONLY
    assert LAB_ONLY <= _names(PROJECT["optional-dependencies"]["lab"])


def test_every_requirement_has_an_upper_cap():
    extras = [r for reqs in PROJECT["optional-dependencies"].values() for r in reqs]
    for text in PROJECT["dependencies"] + extras:
        requirement = Requirement(text)
        operators = {spec.operator for spec in requirement.specifier}
        assert operators & {"<", "<=", "==", "~="}, f"{text}: no upper cap"


def _constraints() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;]+)", line.strip())
            assert match, f"constraints.txt: {line!r} is not name==version"
            pins[canonicalize_name(match[1])] = match[2]
    return pins


def test_the_constraints_pin_every_requirement_within_its_range():
    pins = _constraints()
    extras = [r for reqs in PROJECT["optional-dependencies"].values() for r in reqs]
    for text in PROJECT["dependencies"] + extras:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        if name == canonicalize_name(PROJECT["name"]):
            continue
        assert name in pins, f"constraints.txt does not pin {name}; run `make constraints`"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt pins {name}=={pins[name]}, outside {text}; run `make constraints`"
        )
    assert "torch" in pins and "+" not in pins["torch"], "torch without a local label (+cpu) fits every build"


BLOCK_THE_LAB = """
import sys
from importlib.abc import MetaPathFinder

class NoLab(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked)", name=name)

sys.meta_path.insert(0, NoLab())
from rnn_course.cli import main
import rnn_course.grading.runner.run, rnn_course.grading.workflow.release, rnn_course.grading.runner.worker
sys.exit(main(["quiz", "list"]))
"""


@pytest.mark.slow
def test_the_terminal_quiz_and_the_grader_run_on_the_base_alone(tmp_path):
    """Without the lab and worker extras (and what only they bring) the grader imports and the quiz lists."""
    blocked = {"jupyterlab", "notebook", "ipywidgets", "anywidget", "matplotlib", "PIL", "distributed"}
    run = subprocess.run(
        [sys.executable, "-c", BLOCK_THE_LAB.format(blocked=blocked)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={"RNN_COURSE_DATA_DIR": str(tmp_path), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert run.returncode == 0, run.stderr
    assert "practice" in run.stdout
