"""The documentation: docs/ builds as a site in MkDocs' strict mode, and the README stays a front page."""

import os
import re
import subprocess
import sys
import tomllib

import yaml

from tests.helpers.paths import ROOT

DOCS = ROOT / "docs"


def nav_pages(entries) -> list[str]:
    """Every page named in mkdocs.yml's nav, however deeply nested."""
    pages = []
    for entry in entries:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        pages += nav_pages(value) if isinstance(value, list) else [value]
    return pages


def test_the_docs_build_in_strict_mode(tmp_path):
    """A broken link, a missing anchor or a page left out of the nav warns, and --strict fails on it."""
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},  # the theme's end-of-life banner, not a warning
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "index.html").is_file()
    assert (tmp_path / "site" / "instructors" / "security" / "index.html").is_file()


def test_every_page_is_in_the_nav():
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    in_nav = nav_pages(config["nav"])
    on_disk = sorted(str(path.relative_to(DOCS)) for path in DOCS.rglob("*.md"))
    assert sorted(in_nav) == on_disk
    assert len(in_nav) == len(set(in_nav)), "a page is in the nav twice"


def test_the_build_fetches_nothing():
    """No network at build time: system fonts, and no plugin that downloads (social cards, privacy)."""
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    assert config["theme"]["font"] is False
    plugins = [next(iter(p)) if isinstance(p, dict) else p for p in config.get("plugins", [])]
    assert not {"social", "privacy", "material/social", "material/privacy"} & set(plugins)
    assert config["strict"] is True
    assert set(config["validation"].values()) == {"warn"}


def test_the_readme_is_a_front_page():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 110
    links = re.findall(r"\]\(((?!https?:)[^)#]+)(?:#[^)]*)?\)", readme)
    assert links, "the README links into docs/"
    for link in links:  # relative links, so that they work on GitHub too
        assert (ROOT / link).is_file(), link


def test_the_compatibility_page_lists_every_requirement():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    page = (DOCS / "development" / "compatibility.md").read_text()
    extras = project["optional-dependencies"].values()
    requirements = project["dependencies"] + [requirement for extra in extras for requirement in extra]
    for requirement in requirements:
        assert f"`{requirement}`" in page, requirement


def test_the_built_site_is_ignored():
    assert "site/" in (ROOT / ".gitignore").read_text().splitlines()
