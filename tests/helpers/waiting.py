"""Waiting for something a test started: a file, a row, a process."""

import time


def wait_for(condition, what: str, timeout: float = 120) -> None:
    """Poll `condition` until it is true; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
