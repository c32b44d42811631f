"""Collects how long each notebook took to execute, and prints the total at the end of the run."""

TIMES: dict[str, float] = {}


def pytest_terminal_summary(terminalreporter):
    if TIMES:
        lines = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in sorted(TIMES.items()))
        terminalreporter.write_line(f"notebooks executed headless: {lines}")
        terminalreporter.write_line(f"all {len(TIMES)} notebooks together: {sum(TIMES.values()):.1f} s")
