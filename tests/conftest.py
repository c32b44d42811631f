"""Shared test fixtures: the repository root and its main folders."""

import os
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


def skip_tier_or_fail(tier: str, reason: str | None, require_env: str) -> None:
    """A tier whose system part is missing: skipped in one line, or failed where `require_env`=1 (CI)."""
    if reason is None:
        return
    if os.environ.get(require_env) == "1":
        pytest.fail(f"{tier} tier required ({require_env}=1) but {reason}", pytrace=False)
    pytest.skip(f"{tier} tier skipped: {reason}")


def wait_for(condition, what: str, timeout: float = 120) -> None:
    """Poll `condition` until it is true; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
