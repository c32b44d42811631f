"""Output caps for every message type, a cell that ignores SIGINT, and a submission folder taken as data.

One batch on the tiny course (test_double 2 points, test_square 3). Each attack sits in a cell of its own
after test_double, so the honest cells around it keep their points.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import nbformat
import pytest

from rnn_course.grading.runner import intake
from rnn_course.grading.runner import run as runner
from rnn_course.grading.runner.report import RUNS_DIR
from rnn_course.grading.workflow.feedback import nbgrader_api
from tests.helpers import runner_demo

pytestmark = [pytest.mark.grading, pytest.mark.slow]

SUBMISSION_CAP = 2_000_000
NOTEBOOK_CAP = 1_000_000  # the tiny course's cell cap is 200 000
SMALL = 3 * 2**20  # what a capped autograded notebook stays under

ATTACKS = {  # student -> the cell added after test_double
    "huge_error": 'raise ValueError("x" * (16 * 2**20))',
    "display_updates": (
        "from IPython.display import display, update_display\n"
        "for _ in range(2000):\n    display('small', display_id='d')\n"
        "for _ in range(10**5):\n    update_display('y' * 100_000, display_id='d')"
    ),
    "display_metadata": "from IPython.display import display\n"
    "display({'text/plain': 'm'}, raw=True, metadata={'junk': 'z' * (8 * 2**20)})",
    "many_cells": None,  # eight cells of 150 kB each: the notebook's cap, not the cell's
    "deaf_to_sigint": "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass",
}
EXPECTED = {  # student -> (score, words of the reason)
    "correct": (5, ""),
    "huge_error": (5, "output over"),
    "display_updates": (5, "output over"),
    "display_metadata": (5, "output over"),
    "many_cells": (5, "notebook's 1000000 byte limit"),
    "deaf_to_sigint": (2, "kernel was restarted"),  # test_square needs torch, imported before the restart
}


def _after_test_double(notebook, sources: list[str]) -> None:
    index = next(
        i
        for i, cell in enumerate(notebook.cells)
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "test_double"
    )
    notebook.cells[index + 1 : index + 1] = [nbformat.v4.new_code_cell(source) for source in sources]


def _attack(course: Path, student: str) -> None:
    folder = runner_demo.make_submission(course, "tiny", student, "correct")
    path = folder / "tiny.ipynb"
    notebook = nbformat.read(path, as_version=4)
    code = ATTACKS[student]
    _after_test_double(notebook, [code] if code else ["print('p' * 150_000)"] * 8)
    nbformat.write(notebook, path)


def _refused_folders(course: Path) -> dict[str, str]:
    """student -> words the reason must hold; each folder is refused before anything is copied."""
    submitted = course / "submitted"
    source = course / "source" / "tiny" / "tiny.ipynb"
    (submitted / "linked_student").symlink_to(course / "source")  # linked_student/tiny is source/tiny
    (submitted / "linked_assignment").mkdir()
    (submitted / "linked_assignment" / "tiny").symlink_to(submitted / "correct" / "tiny")
    runner_demo.make_submission(course, "tiny", "linked_inside", "correct")
    (submitted / "linked_inside" / "tiny" / "data").symlink_to(course / "source")
    (submitted / "hard_source" / "tiny").mkdir(parents=True)
    os.link(source, submitted / "hard_source" / "tiny" / "tiny.ipynb")
    runner_demo.make_submission(course, "tiny", "hard_gradebook", "correct")
    os.link(course / "gradebook.db", submitted / "hard_gradebook" / "tiny" / "gradebook.db")
    runner_demo.make_submission(course, "tiny", "fifo", "correct")
    os.mkfifo(submitted / "fifo" / "tiny" / "pipe")
    runner_demo.make_submission(course, "tiny", "oversize", "correct")
    with open(submitted / "oversize" / "tiny" / "big.bin", "wb") as handle:
        handle.truncate(SUBMISSION_CAP + 1)  # sparse: its size counts, not its blocks
    refused = {
        "linked_student": "linked_student/ is a symbolic link",
        "linked_assignment": "linked_assignment/tiny/ is a symbolic link",
        "linked_inside": "data is a symbolic link",
        "hard_source": "tiny.ipynb is a hard link",
        "hard_gradebook": "gradebook.db is a hard link",
        "fifo": "pipe is a FIFO",
        "oversize": f"more than the {SUBMISSION_CAP} byte limit",
    }
    if os.geteuid() == 0:  # a device node needs root to make
        runner_demo.make_submission(course, "tiny", "device", "correct")
        zero = os.stat("/dev/zero").st_rdev
        os.mknod(submitted / "device" / "tiny" / "zero", 0o600 | stat.S_IFCHR, zero)
        refused["device"] = "zero is a character device"
    return refused


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = runner_demo.tiny_course(tmp_path_factory.mktemp("contain") / "course", cell_timeout=3)
    with open(course / "nbgrader_config.py", "a") as config:
        config.write(
            f"c.GradingLimits.max_notebook_output_bytes = {NOTEBOOK_CAP}\n"
            f"c.GradingLimits.max_submission_bytes = {SUBMISSION_CAP}\n"
        )
    runner_demo.make_submission(course, "tiny", "correct", "correct")
    for student in ATTACKS:
        _attack(course, student)
    extras = runner_demo.make_submission(course, "tiny", "extras", "correct")
    (extras / "model.pt").write_bytes(b"\x80\x04 a pickled module")
    (extras / "notes.txt").write_text("notes")
    (extras / "sub").mkdir()
    (extras / "sub" / "more.ipynb").write_text("{}")
    refused = _refused_folders(course)
    report = runner.autograde(course, "tiny", workers=2, progress=False)
    return course, {result.student: result for result in report.results}, refused


@pytest.mark.parametrize("student", EXPECTED)
def test_a_cell_over_a_limit_costs_that_cell_only(graded, student):
    course, results, _ = graded
    score, words = EXPECTED[student]
    result = results[student]
    assert (result.status, result.score) == ("graded", score), result
    assert words in result.reason if words else result.reason == "", result.reason
    notebook = course / "autograded" / student / "tiny" / "tiny.ipynb"
    assert notebook.stat().st_size < SMALL


def test_each_refused_folder_is_named_with_its_reason_and_nothing_is_copied(graded):
    course, results, refused = graded
    for student, words in refused.items():
        result = results[student]
        assert result.status == "failed" and words in result.reason, (student, result.reason)
        assert not (course / "autograded" / student).exists()
    assert not (course / RUNS_DIR / "staging").exists() or not any((course / RUNS_DIR / "staging").rglob("*"))
    assert results["correct"].score == 5  # the rest of the batch was graded


def test_only_the_notebook_travels_and_the_report_lists_what_was_dropped(graded):
    course, results, _ = graded
    result = results["extras"]
    assert (result.status, result.score) == ("graded", 5)
    assert result.dropped == ["model.pt", "notes.txt", "sub/more.ipynb"]
    autograded = course / "autograded" / "extras" / "tiny"
    assert sorted(path.name for path in autograded.rglob("*")) == ["tiny.ipynb"]
    made = nbgrader_api(course).generate_feedback("tiny", student_id="extras", force=True)
    assert made["success"], made
    feedback_dir = course / "feedback" / "extras" / "tiny"
    assert sorted(path.name for path in feedback_dir.rglob("*")) == ["tiny.html"]


# ------------------------------------------------------------------ intake on its own, without grading


def test_refusal_names_a_linked_student_folder_and_accepts_a_plain_one(tmp_path):
    (tmp_path / "submitted" / "plain" / "a").mkdir(parents=True)
    (tmp_path / "submitted" / "plain" / "a" / "a.ipynb").write_text("{}")
    (tmp_path / "submitted" / "linked").symlink_to(tmp_path / "submitted" / "plain")
    assert intake.refusal(tmp_path / "submitted", "plain", "a", 100) is None
    assert "linked/ is a symbolic link" in intake.refusal(tmp_path / "submitted", "linked", "a", 100)
    assert "byte limit" in intake.refusal(tmp_path / "submitted", "plain", "a", 1)


def test_copy_takes_the_notebooks_and_the_timestamp_and_lists_the_rest(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.ipynb", "timestamp.txt", "b.ipynb", "w.pt"):
        (folder / name).write_text(name)
    dropped = intake.copy_submission(folder, tmp_path / "out", ("a",), 100)
    assert sorted(os.listdir(tmp_path / "out")) == ["a.ipynb", "timestamp.txt"]
    assert dropped == ["b.ipynb", "w.pt"]
    shutil.rmtree(tmp_path / "out")
    os.mkfifo(folder / "a.ipynb.tmp")
    os.replace(folder / "a.ipynb.tmp", folder / "a.ipynb")  # swapped after the check: refused on open
    with pytest.raises(intake.Refused, match="FIFO"):
        intake.copy_submission(folder, tmp_path / "out", ("a",), 100)
