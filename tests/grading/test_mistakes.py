"""Feedback that names the mistake: the catalogue, the diagnosis in the learner's notebook and in the grader,
and the instructors' count.

The learner's notebook is run in-process (its cells executed in order, as a kernel would); the grader's side
is one batch of fixture submissions graded once for the module by the real pipeline.
"""

import csv
import re
import subprocess
import sys

import nbformat
import pytest
import torch
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from rnn_course.grading.config import FeedbackPages
from rnn_course.grading.judge import cases, checks, judging, mistakes
from rnn_course.grading.judge.encoding import Raised
from rnn_course.grading.reports import mistake_report
from rnn_course.grading.runner import run as runner
from rnn_course.grading.workflow import feedback_pages
from rnn_course.grading.workflow.feedback import feedback, visible_text
from rnn_course.grading.workflow.release import release
from tests.helpers import mistake_submissions as ms
from tests.helpers import submissions as s
from tests.helpers.course import copy_course
from tests.helpers.paths import ROOT

pytestmark = pytest.mark.grading

# The only check this mistake changes without also making the code raise is a hidden one, so the learner's own
# notebook shows the exception while the feedback names the mistake.
HIDDEN_ONLY = {"batch_first_ignored"}


def run_notebook(notebook) -> dict[str, str]:
    """Execute a notebook's code cells in-process like a kernel: the message each failing cell ends with."""
    namespace: dict = {}
    failures = {}
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        checks.new_cell()  # what IPython's pre_run_cell does
        try:
            exec(cell.source, namespace)
        except NotImplementedError:
            pass
        except Exception as error:
            failures[s.grade_id(cell)] = f"{type(error).__name__}: {error}"
    return failures


def named(text: str) -> list[str]:
    return [key for key, mistake in mistakes.NAMED.items() if f"{mistakes.MARK}{mistake.name}." in text]


def says(names: list[str], key: str) -> bool:
    """Whether a verdict names mistake `key`, or only what was observed of it."""
    return names == [key] or (len(names) == 1 and key in mistakes.NAMED[names[0]].covers)


# ------------------------------------------------------------------------------------------ the catalogue


def test_without_a_mistake_the_variants_are_nn_rnn():
    configs = {
        "rnn_cell": [{}, {"nonlinearity": "relu", "bias": False, "batch": 1}],
        "rnn_forward": [{}, {"with_h0": False, "nonlinearity": "relu"}, {"seq_len": 1, "bias": False}],
        "myrnn": list(cases.random_configs(24, seed=5)),
        "packed": list(cases.random_configs(16, seed=6, packed=True)),
    }
    for kind, kws in configs.items():
        for kw in kws:
            reference = judging.answer(kind, kw)
            assert judging.matches(kind, mistakes.variant(None, kind, kw), reference), (kind, kw)


def test_every_entry_has_a_name_two_sentences_and_a_link_to_a_real_lesson_heading():
    assert (
        len({m.key for m in mistakes.CATALOGUE})
        == len({m.name for m in mistakes.CATALOGUE})
        == len(mistakes.CATALOGUE)
        >= 20
    )
    for mistake in mistakes.NAMED.values():
        assert "\n" not in mistake.name and "." not in mistake.name, mistake.key  # parsed back by the report
        assert len(re.findall(r"[.!?](?:\s|$)", mistake.explanation)) == 2, mistake.key
        notebook = nbformat.read(ROOT / "notebooks" / mistake.notebook, as_version=4)
        headings = [
            line.lstrip("#").strip()
            for cell in notebook.cells
            if cell.cell_type == "markdown"
            for line in cell.source.splitlines()
            if line.startswith("#")
        ]
        assert mistake.section in headings, mistake.key
        rendered = markdown2html_mistune(f"## {mistake.section}")  # nbconvert's own heading id
        assert f'id="{mistakes.anchor(mistake.section)}"' in rendered, (mistake.key, rendered)


def test_the_docs_count_the_catalogue():
    page = ROOT / "docs" / "instructors" / "feedback-and-mistakes.md"
    assert f"wrong, {len(mistakes.CATALOGUE)} of them:" in page.read_text()


def test_every_mistake_changes_what_some_check_of_the_assignment_returns():
    kinds = {
        "rnn_cell": [{"nonlinearity": "relu"}, {"input_size": 4}],
        "rnn_forward": [{}],
        "myrnn": [
            {"num_layers": 2, "bidirectional": True, "with_h0": True},
            {"batch_first": True},
            {"unbatched": True},
            {"num_layers": 2},
        ],
        "packed": [{"lengths": (2, 1, 3), "bidirectional": True}],
    }
    for mistake in mistakes.CATALOGUE:
        if mistake.key in (
            "packed_not_handled",
            "weight_ih_not_transposed",
            "weight_ih_shape_transposed",
            "upper_layers_read_h",
            "float32_state",
            "one_bias",
            "init_too_small",
            "hx_changed_in_place",
        ):
            continue  # known from the exception they raise, the parameters, or the h0 after the call
        differs = [
            kind
            for kind, kws in kinds.items()
            for kw in kws
            if (mine := mistakes.variant(mistake.key, kind, kw)) is not None
            and not judging.matches(kind, mine, judging.answer(kind, kw))
        ]
        assert differs, mistake.key


# --------------------------------------------------------------------------------------------- diagnosis


def test_a_result_that_two_mistakes_explain_is_not_diagnosed_until_an_earlier_check_rules_one_out():
    relu = {"nonlinearity": "relu"}
    tanh_answer = mistakes.variant("always_tanh", "rnn_cell", relu)  # also what swapping relu and tanh gives
    swapped = mistakes.variant("swapped_nonlinearity", "rnn_cell", relu)
    assert judging.matches("rnn_cell", tanh_answer, swapped)
    assert judging.diagnose("rnn_cell", relu, tanh_answer) is mistakes.NAMED["tanh_where_relu"]  # only that
    after_tanh_passed = judging.diagnose("rnn_cell", relu, tanh_answer, passed=(("rnn_cell", {}),))
    assert after_tanh_passed is mistakes.BY_KEY["always_tanh"]


def test_a_shape_error_is_diagnosed_and_keeps_the_plain_message():
    verdict = judging.judge(
        "myrnn", {"bidirectional": True}, _module_result("output_forward_only", {"bidirectional": True})
    )
    plain = "MyRNN(3, 4, bidirectional=True) output: expected shape (5, 2, 8), got (5, 2, 4)\n"
    assert verdict[1].startswith(plain)
    assert named(verdict[1]) == ["output_forward_only"]
    assert "Lesson: notebooks/02_shapes.ipynb#5.-Bidirectional:-two-directions-side-by-side" in verdict[1]


def _module_result(key, kw):
    weights = cases.module_case(**kw)["weights"]
    shapes = {name: list(weight.shape) for name, weight in weights.items()}
    module = {"mro": [["__main__", "MyRNN"], ["torch.nn.modules.module", "Module"]], "parameters": shapes}
    return {"module": module, "loaded": True, "result": mistakes.variant(key, "myrnn", kw)}


def test_an_exception_is_diagnosed_only_when_a_mistake_explains_it():
    raised = Raised("RuntimeError", "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x3)")
    assert named(judging.judge("rnn_cell", {}, raised)[1]) == ["weight_ih_not_transposed"]
    other = Raised("RuntimeError", "mat1 and mat2 shapes cannot be multiplied (2x4 and 3x4)")
    assert named(judging.judge("rnn_cell", {}, other)[1]) == []
    result = {
        "module": _module_result(None, {})["module"],
        "loaded": True,
        "result": Raised("AttributeError", "'PackedSequence' object has no attribute 'dim'"),
    }
    assert named(judging.judge("packed", {}, result)[1]) == ["packed_not_handled"]
    assert named(judging.judge("myrnn", {}, result)[1]) == []


def test_in_the_learners_notebook_a_diagnosed_exception_keeps_the_original_as_its_cause():
    setup = next(cell.source for cell in s.source_notebook().cells if s.grade_id(cell) == "setup")
    namespace: dict = {}
    for source in (setup, ms.ANSWERS["weight_ih_not_transposed"]["rnn_cell"], s.MYRNN_TYPO):
        exec(source, namespace)
    checks.new_cell()
    with pytest.raises(checks.GradingError, match="weight_ih is not transposed") as caught:
        checks.check_rnn_cell(namespace["rnn_cell"])
    assert isinstance(caught.value.__cause__, RuntimeError)
    with pytest.raises(AttributeError, match="hiden_size"):  # unknown: the learner's own error, untouched
        checks.check_myrnn(namespace["MyRNN"])


def test_there_is_one_fixture_per_catalogued_mistake():
    assert list(ms.ANSWERS) == list(mistakes.BY_KEY)


@pytest.mark.parametrize("key", ms.ANSWERS, ids=list(ms.ANSWERS))
def test_the_learners_notebook_names_the_mistake(key):
    failures = run_notebook(s.build(ms.answers(ms.ANSWERS[key])))
    found = {grade_id: named(message) for grade_id, message in failures.items()}
    assert all(names == [] or says(names, key) for names in found.values()), found  # never another mistake
    if key not in HIDDEN_ONLY:
        assert any(says(names, key) for names in found.values()), failures


@pytest.mark.parametrize("fixture", ms.UNDIAGNOSED, ids=list(ms.UNDIAGNOSED))
def test_no_diagnosis_for_two_mistakes_an_unknown_one_or_a_correct_solution(fixture):
    def with_hidden_tests(notebook):  # the grader's cells: the hidden tests are judged the same way
        source = {s.grade_id(cell): cell.source for cell in s.source_notebook().cells}
        for cell in notebook.cells:
            if (s.grade_id(cell) or "").startswith("test_"):
                cell.source = source[s.grade_id(cell)]

    failures = run_notebook(s.build(ms.answers(ms.UNDIAGNOSED[fixture]), edit=with_hidden_tests))
    assert not any(mistakes.MARK in message for message in failures.values()), failures
    assert bool(failures) == (fixture in ("two_mistakes", "unknown_mistake")), failures


# ------------------------------------------------------------------------------------- the graded batch

STUDENTS = {
    **{f"m_{key}": changes for key, changes in ms.ANSWERS.items()},
    **{f"u_{name}": changes for name, changes in ms.UNDIAGNOSED.items()},
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course_dir = copy_course(tmp_path_factory.mktemp("mistakes"))
    assert release(course_dir, s.ASSIGNMENT) == []
    for student, changes in STUDENTS.items():
        s.write(s.build(ms.answers(changes)), course_dir, student)
    square = torch.ones(400, 400, dtype=torch.float64)  # (400, 400)
    square @ square  # an OpenMP region in this process, as earlier tests run: forked workers must not hang
    report = runner.autograde(course_dir, s.ASSIGNMENT, workers=2, progress=False)
    pages = feedback(course_dir, s.ASSIGNMENT)
    return course_dir, {result.student: result for result in report.results}, pages


def _messages(course_dir, student) -> dict[str, str]:
    path = course_dir / "autograded" / student / s.ASSIGNMENT / f"{s.ASSIGNMENT}.ipynb"
    return {
        s.grade_id(cell): mistake_report.ANSI.sub("", output.evalue)
        for cell in nbformat.read(path, as_version=4).cells
        for output in cell.get("outputs", [])
        if output.get("ename") == "GradingError"
    }


@pytest.mark.slow
def test_the_grader_names_each_mistake_in_the_notebook_and_the_feedback_page(graded):
    course_dir, results, _ = graded
    for key, changes in ms.ANSWERS.items():
        student = f"m_{key}"
        assert results[student].status == "graded" and results[student].score < s.MAX_AUTO, student
        messages = _messages(course_dir, student)
        assert all(named(message) == [] or says(named(message), key) for message in messages.values()), (
            key,
            messages,
        )
        assert any(named(message) == [key] for message in messages.values()), (key, messages)
        mistake = mistakes.BY_KEY[key]
        page = course_dir / "feedback" / student / s.ASSIGNMENT / f"{s.ASSIGNMENT}.html"
        text = visible_text(page.read_text())
        lesson = visible_text(feedback_pages.lesson(mistake, FeedbackPages()))
        assert f"Mistake: {mistake.name}. {mistake.explanation} {lesson}" in text, key
        # the learner's own notebook says the same for every visible check that failed the same way
        # (or, seeing only the visible checks, what was observed of the mistake the grader names)
        for grade_id, message in run_notebook(s.build(ms.answers(changes))).items():
            if named(message) and not (
                named(message)[0] not in mistakes.BY_KEY and named(messages[grade_id]) == [key]
            ):
                assert messages[grade_id] == message.removeprefix("GradingError: "), (key, grade_id)


@pytest.mark.slow
def test_the_grader_names_nothing_for_the_undiagnosed_fixtures(graded):
    course_dir, results, pages = graded
    for name in ms.UNDIAGNOSED:
        messages = _messages(course_dir, f"u_{name}")
        assert not any(mistakes.MARK in message for message in messages.values()), (name, messages)
        assert bool(messages) == (name in ("two_mistakes", "unknown_mistake")), name
    assert results["u_directions_other_way"].score == results["u_correct"].score == s.MAX_AUTO
    assert not any(
        "Mistake:" in visible_text(page.read_text()) for page in pages if page.parts[-3].startswith("u_")
    )


@pytest.mark.slow
def test_the_mistakes_report_counts_each_submission_under_its_mistake(graded):
    course_dir, _, _ = graded
    report = mistake_report.count(course_dir, s.ASSIGNMENT)
    assert sorted(report.students) == sorted(STUDENTS)
    assert {key: sorted(cells) for key, cells in report.cells.items() if key in mistakes.BY_KEY} == {
        key: [f"m_{key}"] for key in ms.ANSWERS
    }
    for key, cells in report.cells.items():  # what was only observed: one of the mistakes it stands for
        assert key in mistakes.BY_KEY or all(student[2:] in mistakes.NAMED[key].covers for student in cells)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "rnn_course.cli",
            "grade",
            "mistakes",
            s.ASSIGNMENT,
            "--course-dir",
            course_dir,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert f"{len(STUDENTS)} graded submission(s), {len(ms.ANSWERS)} with a named mistake" in result.stdout
    rows = {row["mistake"]: row for row in csv.DictReader((course_dir / "mistakes.csv").open())}
    assert set(mistakes.BY_KEY) <= set(rows) <= set(mistakes.NAMED)
    assert all(rows[key]["submissions"] == "1" and rows[key]["learners"] == f"m_{key}" for key in ms.ANSWERS)
    by_learner = subprocess.run(
        [
            sys.executable,
            "-m",
            "rnn_course.cli",
            "grade",
            "mistakes",
            s.ASSIGNMENT,
            "--course-dir",
            course_dir,
            "--by-learner",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    ).stdout.splitlines()
    line = next(i for i, text in enumerate(by_learner) if mistakes.BY_KEY["one_bias"].name in text)
    assert by_learner[line + 1].strip() == "m_one_bias"


def test_the_mistakes_report_refuses_a_course_with_nothing_graded(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "rnn_course.cli", "grade", "mistakes", "--course-dir", copy_course(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1 and result.stderr.startswith("grade mistakes: no autograded")
