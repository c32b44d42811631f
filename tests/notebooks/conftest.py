"""Collects how long each notebook took to execute, and prints the total at the end of the run.

The test records its time as a property of its report, so the sum is right with pytest-xdist too.
"""

TIMES: dict[str, float] = {}  # filled in the process that prints the summary
PROPERTY = "notebook_seconds"


def pytest_runtest_logreport(report):
    for name, value in report.user_properties:
        if name == PROPERTY:
            TIMES[report.nodeid.split("[")[-1].rstrip("]")] = value


def pytest_terminal_summary(terminalreporter):
    if TIMES:
        lines = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in sorted(TIMES.items()))
        terminalreporter.write_line(f"notebooks executed headless: {lines}")
        terminalreporter.write_line(f"all {len(TIMES)} notebooks together: {sum(TIMES.values()):.1f} s")
