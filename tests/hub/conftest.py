"""Hub tier fixtures: local accounts, a shared environment, the exchange and a running JupyterHub."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import hub as servers
from tests.helpers.tiers import skip_tier_or_fail

LEARNER_GROUP = "rnnhub-learners"
INSTRUCTOR_GROUP = "rnnhub-instructors"
LEARNERS = ("rnnhub-ada", "rnnhub-ben")
INSTRUCTOR = "rnnhub-teach"


@dataclass
class Class:
    """Everything the test needs: the hub, the accounts, the shared environment and the exchange."""

    root: Path
    hub: servers.Hub
    venv: Path
    exchange: Path
    learners: list[servers.Account]
    instructor: servers.Account


@pytest.fixture(scope="session", autouse=True)
def _sandboxed(sandbox_ready):
    """The instructor autogrades in the sandbox."""


@pytest.fixture(scope="session")
def hub_ready():
    """Skip the tier in one line when a piece is missing; fail instead when the hub is required (CI)."""
    skip_tier_or_fail("hub", servers.hub_missing(), servers.REQUIRE_ENV)


@pytest.fixture(scope="module")
def hub_class(hub_ready):
    """Two learners and an instructor (local accounts), the exchange outside any course, a running hub."""
    root = Path(tempfile.mkdtemp(prefix="rnn-course-hub-", dir="/tmp"))  # /tmp: every account reaches it
    root.chmod(0o755)
    (root / "home").mkdir(mode=0o755)
    hub = None
    try:
        for group in (LEARNER_GROUP, INSTRUCTOR_GROUP):
            servers.add_group(group)
        learners = [servers.add_account(name, LEARNER_GROUP, root / "home") for name in LEARNERS]
        instructor = servers.add_account(INSTRUCTOR, INSTRUCTOR_GROUP, root / "home")
        venv = servers.shared_venv(root)
        exchange = root / "srv" / "nbgrader" / "exchange"  # as an administrator makes /srv/nbgrader/exchange
        exchange.mkdir(parents=True)
        exchange.chmod(0o777)
        learner_config = root / "learner-config"  # the shipped learner side, where learners can read it
        shutil.copytree(servers.LEARNER_CONFIG, learner_config)
        hub = servers.Hub(
            root / "hub",
            env={
                "RNN_COURSE_EXCHANGE": str(exchange),
                "RNN_COURSE_HUB_PYTHON": str(venv / "bin" / "python"),
                "RNN_COURSE_HUB_LEARNER_CONFIG": str(learner_config),
                "RNN_COURSE_HUB_LEARNERS": LEARNER_GROUP,
                "RNN_COURSE_HUB_INSTRUCTORS": INSTRUCTOR_GROUP,
            },
        )
        hub.start()
        yield Class(root, hub, venv, exchange, learners, instructor)
    finally:
        if hub is not None:
            hub.stop()
        for name in (*LEARNERS, INSTRUCTOR):
            servers.remove_account(name)
        for group in (LEARNER_GROUP, INSTRUCTOR_GROUP):
            servers.remove_group(group)
        shutil.rmtree(root, ignore_errors=True)
