"""A feedback page as headless Chromium lays it out: do its messages fit, where do its links go.

The browser tier's Chromium and Playwright (tests/helpers/browser.py), on a page opened from a file.
"""

from __future__ import annotations

from pathlib import Path

from tests.helpers import browser as harness
from tests.helpers.tiers import skip_tier_or_fail

PROBE = """() => {
  const pres = [...document.querySelectorAll(".output_error pre")];
  return {
    messages: pres.length,
    cut_off: pres.filter(pre => pre.scrollWidth > pre.clientWidth + 1).length,
    links: [...document.querySelectorAll(".output_error a")].map(a => a.href),
  };
}"""


def require() -> None:
    """Skip the test in one line where Chromium is missing (fail where the browser is required, as in CI)."""
    skip_tier_or_fail("browser", harness.browser_missing(), harness.REQUIRE_ENV)


def layout(page: str, folder: Path, width: int = 700) -> dict:
    """The page's error messages at `width` pixels: how many, how many run past their box, their links."""
    path = Path(folder) / "page.html"
    path.write_text(page)
    shown = {}

    def look():
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = harness.launch_chromium(playwright)
            try:
                tab = browser.new_page(viewport={"width": width, "height": 900})
                tab.goto(path.as_uri())
                shown.update(tab.evaluate(PROBE))
            finally:
                browser.close()

    harness.in_a_thread_of_its_own(look)
    return shown
