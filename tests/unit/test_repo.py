"""Repository hygiene: clean notebooks, environment.yml in step, a Makefile that lists its targets."""

import json
import re
import subprocess
import tomllib

import pytest
import yaml

from tests.helpers.paths import NOTEBOOKS, ROOT

TRACKED_NOTEBOOKS = sorted(ROOT.glob("notebooks/*.ipynb")) + sorted(ROOT.glob("grader/source/*/*.ipynb"))


def test_there_are_notebooks():
    assert any(p.name.startswith("01_") for p in NOTEBOOKS)


@pytest.mark.parametrize("path", TRACKED_NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_clean(path):
    notebook = json.loads(path.read_text())
    dirty = [
        index
        for index, cell in enumerate(notebook["cells"])
        if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs or execution counts; clear them"
    assert "widgets" not in notebook.get("metadata", {}), f"{path.name}: saved widget state in metadata"


def _name(requirement: str) -> str:
    """'jupyterlab>=4.2,<5' -> 'jupyterlab'."""
    return re.split(r"[=<>!~ \[]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


CONDA_TO_PYPI = {"pytorch": "torch"}
COURSE_EXTRAS = ("lab", "worker")  # the course environment's runtime: the base with the learner UI and Dask


def _makefile_value(name: str) -> str:
    return re.search(rf"^{name}\s*\??:?=\s*(.*)$", (ROOT / "Makefile").read_text(), re.M)[1].strip()


def test_environment_yml_names_the_same_runtime_dependencies_as_pyproject():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    extras = [r for extra in COURSE_EXTRAS for r in pyproject["optional-dependencies"][extra]]
    runtime = {_name(r) for r in pyproject["dependencies"] + extras}
    pip_section = next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict))
    conda = {
        CONDA_TO_PYPI.get(_name(d), _name(d))
        for d in environment["dependencies"]
        if isinstance(d, str) and _name(d) not in {"python", "pip"}
    }
    from_pip = {_name(d) for d in pip_section if not d.startswith("-")}  # not on conda-forge
    assert not conda & from_pip
    named = conda | from_pip
    assert named == runtime, f"environment.yml only: {named - runtime}; pyproject only: {runtime - named}"
    python = [d for d in environment["dependencies"] if isinstance(d, str) and _name(d) == "python"]
    assert python == ["python=3.11"]
    assert _makefile_value("PACKAGE") in pip_section, "environment.yml installs what `make setup` does"


def test_torch_pin_matches_between_makefile_constraints_and_environment():
    pin = re.search(r"^torch==(\S+)$", (ROOT / "constraints.txt").read_text(), re.M)[1]
    assert _makefile_value("TORCH") == f"torch=={pin}"
    assert f"pytorch={pin}" in (ROOT / "environment.yml").read_text()


def test_make_help_lists_every_target():
    out = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for target in ["setup", "lab", "test", "lint", "clean", "bench", "demo", "autograde", "docs"]:
        assert re.search(rf"make {target}\s", out), f"`make help` does not list {target}"


def test_make_refuses_an_old_python_with_one_clear_line(tmp_path):
    fake = tmp_path / "python3.9"
    fake.write_text("#!/bin/sh\nif [ \"$1\" = -V ]; then echo 'Python 3.9.18'; exit 0; fi\nexit 1\n")
    fake.chmod(0o755)
    result = subprocess.run(
        ["make", "-s", "setup", f"PYTHON={fake}"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode != 0
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1 and "needs Python 3.11 or newer" in lines[0] and "3.9.18" in lines[0]


def test_readme_opens_with_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```(?:\w+)?\n(.*?)```", readme, flags=re.S)
    assert blocks, "README has no code block"
    commands = [line.split("#")[0].strip() for line in blocks[0].splitlines()]
    first_commands = [command for command in commands if command]
    assert first_commands[:2] == ["make lab", "make test"]


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
