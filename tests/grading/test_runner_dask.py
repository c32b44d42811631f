"""Scale-out: the same tasks on a Dask cluster (a LocalCluster on loopback) give the same grades."""

from __future__ import annotations

import pytest

from rnn_course.grading.runner import run as runner
from tests.helpers import runner_demo

pytestmark = [pytest.mark.grading, pytest.mark.slow]

EXPECTED = {
    "a_correct": (5, "graded"),
    "b_partial": (2, "graded"),
    "c_wrong": (0, "graded"),
    "d_broken": (0, "failed"),
}


def test_dask_local_cluster_gives_the_same_grades(tmp_path):
    distributed = pytest.importorskip("distributed")
    course = runner_demo.tiny_course(tmp_path / "course")
    for student in EXPECTED:
        runner_demo.make_submission(course, "tiny", student, student.split("_")[1])
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=2,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        report = runner.autograde(course, "tiny", scheduler=cluster.scheduler_address, progress=False)
    assert report.scheduler == cluster.scheduler_address
    reasons = {result.student: result.reason for result in report.results}
    assert {result.student: (result.score, result.status) for result in report.results} == EXPECTED, reasons
    totals = {
        student: sum(scores.values())
        for student, scores in runner_demo.grades(course, "tiny").items()
        if None not in scores.values()
    }
    assert totals == {student: score for student, (score, status) in EXPECTED.items() if status == "graded"}
