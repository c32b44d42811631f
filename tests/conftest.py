"""Fixtures every tier shares: the repository root, a data folder of its own, the grading sandbox's check."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.helpers.paths import ROOT
from tests.helpers.tiers import REQUIRE_SANDBOX, skip_tier_or_fail

# One math thread a process: the tiers run side by side on small machines, and PyTorch's spinning threads
# then fight over the cores (a 2-second training test took 20 s under load). Set before torch is imported.
os.environ.setdefault("OMP_NUM_THREADS", "1")

DATA_ENV = "RNN_COURSE_DATA_DIR"  # where the quiz keeps a learner's progress


def pytest_configure(config):
    """Whatever the tests start (kernels, labs, terminals) keeps its quiz data away from the user's own."""
    if not os.environ.get(DATA_ENV):
        os.environ[DATA_ENV] = tempfile.mkdtemp(prefix="rnn-course-test-data-")


@pytest.fixture
def comm_left_as_it_was():
    """Importing ipykernel.ipkernel hands every later widget a kernel's comm (none here: nothing is sent);
    the widget tests in this process need comm's own factories back."""
    import comm

    saved = comm.create_comm, comm.get_comm_manager
    yield
    comm.create_comm, comm.get_comm_manager = saved


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(autouse=True)
def data_dir(tmp_path_factory, monkeypatch) -> Path:
    """Each test's own quiz data folder, empty at the start (beside its tmp_path, not in it)."""
    folder = tmp_path_factory.mktemp("rnn-course-data")
    monkeypatch.setenv(DATA_ENV, str(folder))
    return folder


@pytest.fixture(scope="session")
def sandbox_ready():
    """Grading runs in a bubblewrap sandbox: without bwrap the tier is skipped in one line, or fails in CI."""
    missing = "bubblewrap is not installed (Debian/Ubuntu: sudo apt-get install bubblewrap)"
    skip_tier_or_fail("grading", None if shutil.which("bwrap") else missing, REQUIRE_SANDBOX)
