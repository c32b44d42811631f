"""The instructor's lifecycle: no silent outcome, re-grading when anything disagrees, editing after grading,
reset, feedback a learner can act on, Ctrl-C, and stock nbgrader commands.

Two autograde runs serve the whole module (each imports torch): the first grades every kind of submission,
the second a resubmission, a gradebook that lost a grade, and an unchanged one.
"""

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import nbformat
import pytest
from nbgrader.api import Gradebook

from rnn_course.grading.runner import run as runner
from rnn_course.grading.steps.offline_math import to_mathml
from rnn_course.grading.steps.tracebacks import trim
from rnn_course.grading.workflow.demo import collect_demo, demo_students
from rnn_course.grading.workflow.export import export
from rnn_course.grading.workflow.feedback import feedback, nbgrader_api, visible_text
from rnn_course.grading.workflow.release import release
from tests.helpers import submissions
from tests.helpers.course import copy_course, run_cli

pytestmark = [pytest.mark.grading, pytest.mark.slow]

A = submissions.ASSIGNMENT
NOTEBOOK = f"{A}.ipynb"
DB = "gradebook.db"


def without_test_cell(notebook):
    notebook.cells = [cell for cell in notebook.cells if submissions.grade_id(cell) != "test_rnn_forward"]


def gradebook(course_dir):
    return Gradebook(f"sqlite:///{course_dir / DB}", "rnn_course")


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A released course, graded once with every kind of submission; then graded again (see `second`)."""
    course_dir = copy_course(tmp_path_factory.mktemp("lifecycle"))
    assert release(course_dir, A) == []
    correct = submissions.build(submissions.CORRECT)
    submissions.write(correct, course_dir, "correct")
    steady = nbformat.read(course_dir / "release" / A / NOTEBOOK, as_version=4)  # as released: checksums kept
    for cell in steady.cells:
        cell.source = {**submissions.CORRECT, "answer_padding": submissions.PADDING_ANSWER}.get(
            submissions.grade_id(cell), cell.source
        )
    submissions.write(steady, course_dir, "steady")
    wrong = {**submissions.CORRECT, "rnn_cell": submissions.RNN_CELL_ALWAYS_TANH}
    own_error = ['import json\n\njson.loads("{")']  # the learner's own cell fails inside Python's library
    tampered = submissions.build(wrong, edit=without_test_cell, extra_cells={"rnn_forward": own_error})
    submissions.write(tampered, course_dir, "tampered")
    wraps = submissions.build({**submissions.CORRECT, "my_rnn": submissions.MYRNN_WRAPS})
    submissions.write(wraps, course_dir, "wraps")
    renamed = submissions.write(correct, course_dir, "renamed")
    renamed.rename(renamed.with_name(f"{A} (1).ipynb"))
    (course_dir / "submitted" / "empty" / A).mkdir(parents=True)
    (course_dir / "submitted" / "notjson" / A).mkdir(parents=True)
    (course_dir / "submitted" / "notjson" / A / NOTEBOOK).write_text("these are my answers\n")
    (course_dir / "submitted" / "nofolder" / "rnn_from_scrach").mkdir(parents=True)
    report = runner.autograde(course_dir, A, workers=2, progress=False)
    return course_dir, {result.student: result for result in report.results}, report


@pytest.fixture(scope="module")
def second(course):
    """Resubmit `correct` (same timestamp, other content; a hand grade given first), drop `tampered` from the
    gradebook (autograded/ keeps it), leave `steady` alone; edit an existing test cell's code and release."""
    course_dir, _, _ = course
    with gradebook(course_dir) as book:
        grade = book.find_grade("answer_padding", A, A, "correct")
        grade.manual_score = 1.5
        book.find_grade("answer_padding", A, A, "steady").manual_score = 2.0
        book.db.commit()
        book.remove_submission(A, "tampered")
    wrong = {**submissions.CORRECT, "my_rnn": submissions.MYRNN_ONE_DIRECTION}
    submissions.write(submissions.build(wrong), course_dir, "correct")
    source = course_dir / "source" / A / NOTEBOOK
    notebook = nbformat.read(source, as_version=4)
    test = next(cell for cell in notebook.cells if submissions.grade_id(cell) == "test_rnn_cell")
    test.source = test.source.replace("# tanh: one step against", "# tanh: one time step against")
    nbformat.write(notebook, source)
    released = release(course_dir, A)  # the supported edit: same cells, new code
    report = runner.autograde(
        course_dir, A, workers=2, progress=False, students=["correct", "tampered", "steady"]
    )
    return released, {result.student: result for result in report.results}


# ---- no silent outcomes


def test_a_notebook_saved_under_another_name_fails_and_says_what_was_expected(course):
    _, results, _ = course
    assert results["renamed"].status == "failed"
    assert results["renamed"].reason == f"expected `{NOTEBOOK}`, found `{A} (1).ipynb`"


def test_an_empty_submission_folder_fails_and_says_so(course):
    _, results, _ = course
    assert results["empty"].status == "failed"
    assert results["empty"].reason == f"expected `{NOTEBOOK}`, found an empty folder"


def test_a_file_that_is_not_json_fails_and_says_so(course):
    _, results, _ = course
    assert results["notjson"].status == "failed" and "JSON" in results["notjson"].reason


def test_a_student_folder_without_the_assignment_folder_is_named(course):
    _, results, _ = course
    assert results["nofolder"].status == "failed"
    assert (
        results["nofolder"].reason.startswith(f"no {A}/ folder in ")
        and "found: rnn_from_scrach" in results["nofolder"].reason
    )


def test_restored_cells_fill_the_reason(course):
    _, results, _ = course
    tampered = results["tampered"]
    assert tampered.status == "graded" and "1 cell(s) restored from the source" in tampered.reason


def test_a_part_built_on_nn_rnn_fills_the_reason(course):
    _, results, _ = course
    assert results["wraps"].status == "graded" and "PyTorch's own RNN used in" in results["wraps"].reason
    assert results["correct"].reason == ""  # a clean grading has nothing to explain


def test_the_run_report_carries_every_status_and_reason(course):
    _, _, report = course
    saved = {entry["student"]: entry for entry in json.loads(open(report.path).read())["results"]}
    assert saved["renamed"]["status"] == "failed" and "found" in saved["renamed"]["reason"]
    assert saved["correct"]["status"] == "graded" and saved["correct"]["score"] == submissions.MAX_AUTO


def test_the_export_marks_failed_submissions_so_that_none_is_a_plain_zero(course):
    course_dir, _, _ = course
    rows = {row["student_id"]: row for row in csv.DictReader(export(course_dir).open())}
    assert set(rows) >= {"correct", "renamed", "empty", "notjson", "nofolder", "tampered"}
    for student in ("renamed", "empty", "notjson", "nofolder"):
        assert rows[student]["status"] == "failed" and rows[student]["reason"], rows[student]
    assert rows["renamed"]["score"] == ""  # it never reached the gradebook: no number at all
    assert rows["correct"]["status"] == "hand-grading pending"


# ---- re-grading when anything changed or disagrees


def test_a_resubmission_with_the_same_timestamp_is_graded_again_by_its_content(second):
    _, results = second
    assert results["correct"].status == "graded"
    assert "content changed" in results["correct"].reason
    assert results["correct"].score == submissions.DEMO["student_partial"][1] + 1.5


def test_a_gradebook_that_lost_a_grade_is_graded_again_not_read_as_done(second):
    _, results = second
    assert results["tampered"].status == "graded"
    assert "autograded/ has it but the gradebook does not" in results["tampered"].reason


def test_a_submission_graded_against_an_older_release_is_graded_again_and_told_the_assignment_changed(
    course, second
):
    course_dir, _, _ = course
    _, results = second
    steady = results["steady"]
    assert steady.status == "graded" and "the assignment was released again" in steady.reason
    graded = (course_dir / "autograded" / "steady" / A / NOTEBOOK).read_text()
    assert "test cell test_rnn_cell: the assignment changed since your copy was released" in graded
    assert "differs from the assignment" not in graded  # the learner changed nothing
    with gradebook(course_dir) as book:  # its hand-graded answer did not change: the hand grade stays final
        assert not book.find_submission(A, "steady").needs_manual_grade
        assert book.find_submission(A, "steady").score == submissions.MAX_AUTO + 2.0
    again = runner.autograde(course_dir, A, workers=1, progress=False, students=["steady"])
    assert again.results[0].status == "skipped" and "unchanged" in again.results[0].reason


def test_editing_the_code_of_a_test_cell_after_grading_releases_and_keeps_hand_grades(course, second):
    course_dir, _, _ = course
    released, _ = second
    assert released == []
    assert "# tanh: one time step against" in (course_dir / "release" / A / NOTEBOOK).read_text()
    with gradebook(course_dir) as book:
        assert book.find_grade("answer_padding", A, A, "correct").manual_score == 1.5


def test_adding_a_test_cell_after_grading_stops_with_one_line_and_keeps_release(course, second):
    course_dir, _, _ = course
    source = course_dir / "source" / A / NOTEBOOK
    kept = source.read_text()
    released = (course_dir / "release" / A / NOTEBOOK).read_text()
    notebook = nbformat.read(source, as_version=4)
    new = nbformat.v4.new_code_cell("checks.check_rnn_cell(rnn_cell, hidden_size=7)")
    new.metadata["nbgrader"] = {
        "grade": True,
        "grade_id": "test_new",
        "locked": True,
        "points": 1,
        "schema_version": 3,
        "solution": False,
    }
    notebook.cells.insert(6, new)
    nbformat.write(notebook, source)
    try:
        result = run_cli("grade", "release", A, "--course-dir", course_dir)
    finally:
        source.write_text(kept)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "cannot add or remove cells after that (cell test_new added)" in lines[0]
    assert "rnn-course grade reset" in lines[0]
    assert (course_dir / "release" / A / NOTEBOOK).read_text() == released


# ---- feedback a learner can act on


@pytest.fixture(scope="module")
def feedback_page(course, second):
    course_dir, _, _ = course
    feedback(course_dir, A)
    return (course_dir / "feedback" / "tampered" / A / f"{A}.html").read_text()


def test_feedback_describes_a_restored_cell_neutrally(feedback_page):
    text = visible_text(feedback_page)
    assert "test cell test_rnn_forward: not in the submission; taken from the assignment" in text
    assert "deleted" not in text


def test_feedback_tracebacks_show_the_learners_cells_and_no_grading_machine_path(feedback_page):
    text = visible_text(feedback_page)
    assert "JSONDecodeError" in text and "(frames outside your notebook left out)" in text
    assert "site-packages" not in feedback_page and "/lib/python3" not in feedback_page
    assert str(submissions.ROOT) not in feedback_page
    for number in re.findall(r"Cell In ?\[(\d+)\]", text):  # each names a cell the page shows as In [n]
        assert f"In [{number}]" in text


def test_feedback_formulas_need_no_cdn(feedback_page):
    assert "<math" in feedback_page and "$$" not in visible_text(feedback_page)


def test_a_submission_that_failed_gets_a_page_that_says_why(course, feedback_page):
    course_dir, _, _ = course
    page = (course_dir / "feedback" / "renamed" / A / f"{A}.html").read_text()
    assert f"expected {NOTEBOOK}, found {A} (1).ipynb" in visible_text(page)
    assert f"<code>{NOTEBOOK}</code>" in page and "`" not in visible_text(page)  # Markdown rendered


def test_feedback_table_cells_have_room(feedback_page):
    assert ".rendered_html th, .rendered_html td { padding: 0.25em 0.75em" in feedback_page


def test_trim_keeps_cells_and_the_error_and_drops_library_frames():
    traceback = [
        "-----",
        "GradingError  Traceback (most recent call last)",
        "Cell In[4], line 2\n----> 2 checks.check_rnn_cell(rnn_cell)",
        "File /home/teacher/venv/lib/site-packages/rnn_course/grading/checks.py:120, in check()",
        "Cell In[3], line 5, in rnn_cell(x, h)\n----> 5 return x @ h",
        "GradingError: bad value in /home/teacher/course/x.py",
    ]
    left_out = "(frames outside your notebook left out)"
    assert trim(traceback) == [*traceback[:3], traceback[4], left_out, "GradingError: bad value in x.py"]


def test_formulas_outside_code_become_mathml():
    converted = to_mathml("At step $t$ it costs `$5`:\n\n$$h_t = \\tanh(x_t)$$")
    assert converted.count("<math") == 2 and "`$5`" in converted and "$" not in converted.replace("`$5`", "")


def test_feedback_and_export_warn_while_hand_grading_is_pending(course, second):
    course_dir, _, _ = course
    result = run_cli("grade", "export", "--course-dir", course_dir)
    assert result.returncode == 0
    pending = r"warning: \d+ of \d+ submission\(s\) still need hand-grading"
    assert re.search(pending, result.stderr), result.stderr


# ---- reset


def test_reset_removes_the_demo_students_completely(course, second, tmp_path):
    course_dir, _, _ = course
    shutil.copytree(submissions.ROOT / "grader" / "demo_submissions", course_dir / "demo_submissions")
    demo = demo_students(course_dir)[:2]
    with gradebook(course_dir) as book:
        for student in demo:
            book.update_or_create_student(student)
            book.update_or_create_submission(A, student)
    for student in demo:
        for folder in ("submitted", "autograded", "feedback"):
            (course_dir / folder / student / A).mkdir(parents=True, exist_ok=True)
    result = run_cli("grade", "reset", "--course-dir", course_dir)
    assert result.returncode == 0 and f"removed {len(demo)} student(s)" in result.stdout, result.stdout
    with gradebook(course_dir) as book:
        left = {student.id for student in book.students}
    assert not set(demo) & left and "correct" in left
    for folder in ("submitted", "autograded", "feedback"):
        assert not any((course_dir / folder / student).exists() for student in demo)
    assert (course_dir / "submitted" / "correct").exists()


# ---- Ctrl-C


def test_ctrl_c_ends_with_one_line_and_a_run_report(course, second):
    course_dir, _, _ = course
    sleeper = {
        **submissions.CORRECT,
        "rnn_cell": submissions.CORRECT["rnn_cell"].replace(
            '"""One step', 'import time; time.sleep(60)\n    """One step', 1
        ),
    }
    submissions.write(submissions.build(sleeper), course_dir, "sleeper")
    reports = set((course_dir / ".runs").glob("*.json"))
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rnn_course.cli",
            "grade",
            "autograde",
            A,
            "--course-dir",
            str(course_dir),
            "--student",
            "sleeper",
            "--workers",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    staging = course_dir / ".runs" / "staging"
    deadline = time.monotonic() + 120
    while not (staging.is_dir() and any(staging.iterdir())) and time.monotonic() < deadline:
        time.sleep(0.2)  # the run has planned and handed the sleeper to a worker
    time.sleep(3)
    os.killpg(run.pid, signal.SIGINT)  # as a terminal does: the whole process group
    out, err = run.communicate(timeout=120)
    assert run.returncode == 130, out + err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    last = [line for line in err.splitlines() if line.strip() and "submission" not in line]
    assert len(last) == 1 and last[0].startswith("grade autograde: interrupted (Ctrl-C)"), err
    new = set((course_dir / ".runs").glob("*.json")) - reports
    (report,) = [path for path in new if path.name.startswith("2")]
    saved = json.loads(report.read_text())
    assert saved["interrupted"] and saved["results"][0]["status"] == "skipped"


# ---- stock nbgrader and the formgrader


def test_stock_nbgrader_commands_take_the_assignment_as_an_argument_and_autograde_refuses(
    tmp_path, monkeypatch
):
    """Stock generate_assignment and generate_feedback work; stock autograde (unsandboxed) refuses."""
    course_dir = copy_course(tmp_path / "course")
    (tmp_path / "exchange").mkdir()  # outside the course, as on a hub (docs/instructors/hub.md)
    monkeypatch.setenv("RNN_COURSE_EXCHANGE", str(tmp_path / "exchange"))
    submissions.write(submissions.build(submissions.CORRECT), course_dir, "solo")
    env = {**os.environ, "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ.get('PATH', '')}"}

    def stock(step):
        return subprocess.run(
            [sys.executable, "-m", "nbgrader", step, A, "--force", "--log-level=ERROR"],
            cwd=course_dir,
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
        )

    assert stock("generate_assignment").returncode == 0
    refused = stock("autograde")
    assert refused.returncode != 0
    assert "rnn-course grade autograde" in refused.stdout + refused.stderr
    assert not (course_dir / "autograded" / "solo").exists()
    assert runner.autograde(course_dir, A, workers=1, progress=False).results[0].status == "graded"
    result = stock("generate_feedback")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (course_dir / "release" / A / NOTEBOOK).exists()
    assert (course_dir / "feedback" / "solo" / A / f"{A}.html").exists()
    with gradebook(course_dir) as book:
        assert book.find_submission(A, "solo").score == submissions.MAX_AUTO
    assert not nbgrader_api(course_dir).exchange_missing  # the formgrader's exchange warning


def test_the_formgraders_autograde_button_refuses_the_cheat_that_wraps_nn_rnn(tmp_path):
    """The button calls NbGraderAPI.autograde inside the Jupyter server: it must not grade outside the
    sandbox, where the demo's cheat scored 22 of 24; the runner gives the same submission 8."""
    course_dir = copy_course(tmp_path / "course", demo=True)
    cheat = "student_wraps_nn_rnn"
    release(course_dir, A)
    collect_demo(course_dir, A)
    result = nbgrader_api(course_dir).autograde(A, cheat, force=True, create=True)
    assert not result["success"]
    assert "rnn-course grade autograde" in result["error"] + result.get("log", "")
    assert not (course_dir / "autograded" / cheat).exists()
    report = runner.autograde(course_dir, A, students=[cheat], workers=1, progress=False)
    assert report.results[0].score == 8


def test_release_prints_no_kernel_tcp_warning(tmp_path):
    result = run_cli("grade", "release", A, "--course-dir", copy_course(tmp_path / "course"))
    assert result.returncode == 0, result.stderr
    assert "TCP" not in result.stdout + result.stderr
