"""Scale tier fixtures: one PostgreSQL server for the session, a Dask cluster per test, course copies."""

from __future__ import annotations

import pytest

from tests.helpers import servers
from tests.helpers.scale import ASSIGNMENT, grades, make_course
from tests.helpers.tiers import skip_tier_or_fail


@pytest.fixture(scope="session", autouse=True)
def _sandboxed(sandbox_ready):
    """The tier grades in the sandbox too."""


def _missing_postgres() -> None:
    skip_tier_or_fail("scale", servers.postgres_missing(), servers.REQUIRE_ENV)


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server for the whole session; each test grades into a database of its own."""
    _missing_postgres()
    server = servers.Postgres()
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def dask_cluster(tmp_path):
    """A scheduler and two worker processes on loopback, each worker in a folder of its own."""
    cluster = servers.DaskCluster(workers=2, folder=tmp_path / "dask")
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture(scope="session")
def sqlite_grades(tmp_path_factory) -> dict[str, dict[str, float | None]]:
    """The demo graded the default way (sqlite gradebook, local workers): every test's reference."""
    from rnn_course.grading.runner import run as runner

    course_dir = tmp_path_factory.mktemp("sqlite-course")
    make_course(course_dir)
    report = runner.autograde(course_dir, ASSIGNMENT, workers=2, progress=False)
    assert len(report.graded) == len(report.results), report.summary()
    return grades(course_dir)
