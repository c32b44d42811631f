"""The single writer records a submission without a lookup and an update for every grade cell.

nbgrader's SaveAutoGrades looks up each grade with a query joining six tables and commits after each cell;
the runner reads a notebook's grades and comments once and flushes them once (runner/record.py). Counted on
the course assignment (23 grade cells): the statements the runner's own process sends to the gradebook for
three submissions against one. The grades themselves are checked against stock nbgrader in
test_runner_parity.py.
"""

from __future__ import annotations

import nbformat
from sqlalchemy import event
from sqlalchemy.engine import Engine

from rnn_course.grading.runner import run as runner
from tests.helpers import runner_demo
from tests.helpers.paths import ROOT


def statements_to_record(tmp_path, learners: int) -> int:
    course = runner_demo.copy_without_state(ROOT / "grader", tmp_path / f"course{learners}")
    runner_demo.release(course, "rnn_from_scratch")
    for index in range(learners):
        runner_demo.make_submission(course, "rnn_from_scratch", f"learner{index}", "correct")
    sent = []

    def count(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        report = runner.autograde(course, "rnn_from_scratch", workers=1, progress=False)
    finally:
        event.remove(Engine, "before_cursor_execute", count)
    assert [result.status for result in report.results] == ["graded"] * learners
    return len(sent)


def test_recording_a_submission_takes_no_lookup_and_update_per_grade_cell(tmp_path):
    source = nbformat.read(ROOT / "grader/source/rnn_from_scratch/rnn_from_scratch.ipynb", as_version=4)
    grade_cells = sum(1 for cell in source.cells if cell.metadata.get("nbgrader", {}).get("grade"))
    assert grade_cells >= 20
    one, three = statements_to_record(tmp_path, 1), statements_to_record(tmp_path, 3)
    per_submission = (three - one) / 2
    # a lookup and an update for every grade cell alone would be 2 * grade_cells (it was 83 a submission)
    assert 0 < per_submission < 2 * grade_cells, (one, three)
