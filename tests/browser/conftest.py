"""Browser tier fixtures: one JupyterLab server and one Chromium for the session, screenshots on failure."""

import re

import pytest

from tests.helpers import browser as harness
from tests.helpers.browser import ARTIFACTS
from tests.helpers.tiers import skip_tier_or_fail


@pytest.fixture(scope="session")
def chromium_ready():
    """Skip the tier in one line when Chromium is missing; fail instead when the browser is required."""
    skip_tier_or_fail("browser", harness.browser_missing(), harness.REQUIRE_ENV)


@pytest.fixture(scope="session")
def lab(chromium_ready, tmp_path_factory):
    """JupyterLab from .venv on 127.0.0.1, serving a throwaway copy of the notebooks and the release."""
    root_dir = harness.copy_lessons(tmp_path_factory.mktemp("course"))
    server = harness.Lab(root_dir=root_dir, state_dir=tmp_path_factory.mktemp("jupyter")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser(chromium_ready):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = harness.launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def context(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(60_000)
    yield context
    context.close()


@pytest.fixture(scope="session")
def _executed_pages():
    return {}


@pytest.fixture
def pages_in_test():
    """The pages a test used; the failure hook screenshots each of them."""
    return []


@pytest.fixture
def executed_notebook(lab, context, _executed_pages, pages_in_test):
    """Open a notebook and run all its cells, once per session; later tests reuse the executed page."""

    def run(relpath: str):
        page = _executed_pages.get(relpath)
        if page is None or page.is_closed():
            page = context.new_page()
            pages_in_test.append(page)
            harness.open_notebook(page, lab, relpath)
            harness.run_all_cells(page)
            _executed_pages[relpath] = page
        elif page not in pages_in_test:
            pages_in_test.append(page)
        page.bring_to_front()
        return page

    return run


@pytest.fixture
def opened_notebook(lab, context, pages_in_test):
    """Open a notebook without running it, in a fresh page that is closed after the test."""
    opened = []

    def open_(relpath: str):
        page = context.new_page()
        opened.append(page)
        pages_in_test.append(page)
        harness.open_notebook(page, lab, relpath)
        return page

    yield open_
    for page in opened:
        page.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """On a failure, save a full-page screenshot of every page the test used under test-artifacts/."""
    report = yield
    if report.failed and report.when in ("setup", "call"):
        pages = item.funcargs.get("pages_in_test") if hasattr(item, "funcargs") else None
        for index, page in enumerate(pages or []):
            if page.is_closed():
                continue
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^\w.-]+", "_", item.nodeid.split("::", 1)[-1])
            path = ARTIFACTS / f"{name}-{index}.png"
            try:
                page.screenshot(path=str(path), full_page=True)
                report.sections.append(("browser screenshot", str(path)))
            except Exception as error:  # a crashed page must not hide the real failure
                report.sections.append(("browser screenshot", f"could not save {path}: {error}"))
    return report
