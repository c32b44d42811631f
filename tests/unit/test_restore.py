"""RestoreFromSource and HideHiddenTests on notebooks in memory: what a submission's cells become."""

import copy

import nbformat

from rnn_course.grading.config import load_config
from rnn_course.grading.steps.hide_hidden import HideHiddenTests
from rnn_course.grading.steps.regions import Markers
from rnn_course.grading.steps.restore import RestoreFromSource, restore_cells
from tests.helpers import submissions
from tests.helpers.course import copy_course

SOURCE = submissions.source_notebook()
SOURCE_IDS = [submissions.grade_id(cell) for cell in SOURCE.cells]


def ids(cells):
    return [submissions.grade_id(cell) for cell in cells]


def by_id(cells, grade_id):
    return next(cell for cell in cells if submissions.grade_id(cell) == grade_id)


def test_an_untouched_submission_keeps_every_cell_and_reports_nothing():
    submission = submissions.build(submissions.CORRECT)
    cells, changes = restore_cells(submission, SOURCE)
    assert changes == []
    assert ids(cells) == SOURCE_IDS
    assert by_id(cells, "rnn_cell").source == submissions.CORRECT["rnn_cell"]


def test_edited_deleted_and_duplicated_test_cells_come_back_from_the_source():
    def tamper(notebook):
        by_id(notebook.cells, "test_rnn_cell").source = "pass"
        notebook.cells.remove(by_id(notebook.cells, "test_my_rnn_bidirectional"))
        notebook.cells.append(copy.deepcopy(by_id(notebook.cells, "test_rnn_forward")))
        notebook.cells.remove(by_id(notebook.cells, "setup"))

    cells, changes = restore_cells(submissions.build(submissions.CORRECT, edit=tamper), SOURCE)
    assert ids(cells) == SOURCE_IDS
    for grade_id in ("test_rnn_cell", "test_my_rnn_bidirectional", "test_rnn_forward", "setup"):
        assert by_id(cells, grade_id).source == by_id(SOURCE.cells, grade_id).source
    assert sorted(changes) == sorted(
        [
            "test cell test_rnn_cell: differs from the assignment; the assignment's version was used",
            "test cell test_my_rnn_bidirectional: not in the submission; taken from the assignment",
            "test cell test_rnn_forward: appeared twice; the copy was left out",
            "locked cell setup: not in the submission; taken from the assignment",
        ]
    )


def test_changed_metadata_cannot_turn_a_test_into_an_answer_or_add_points():
    def tamper(notebook):
        test = by_id(notebook.cells, "test_my_rnn_more")
        test.metadata.nbgrader.update(solution=True, points=100)
        test.source = "pass"
        bonus = nbformat.v4.new_code_cell(
            "pass",
            metadata={
                "nbgrader": {
                    "grade": True,
                    "solution": False,
                    "locked": True,
                    "points": 50,
                    "grade_id": "bonus",
                }
            },
        )
        notebook.cells.append(bonus)

    cells, changes = restore_cells(submissions.build(edit=tamper), SOURCE)
    assert by_id(cells, "test_my_rnn_more") == by_id(SOURCE.cells, "test_my_rnn_more")
    assert "bonus" not in ids(cells) and cells[-1].source == "pass"  # kept as the learner's own cell
    assert "cell bonus: unknown metadata removed" in changes


def test_learner_cells_keep_their_place_but_never_run_before_the_setup_cell():
    submission = submissions.build(
        submissions.CORRECT, extra_cells={"": ["early = 1"], "rnn_cell": ["helper = 2"]}
    )
    cells, _ = restore_cells(submission, SOURCE)
    sources = [cell.source for cell in cells]
    setup = ids(cells).index("setup")
    assert setup < sources.index("early = 1") < ids(cells).index("rnn_cell")
    assert sources.index("helper = 2") == ids(cells).index("rnn_cell") + 1


def test_a_deleted_answer_is_put_back_empty_and_a_duplicated_one_kept_as_a_plain_cell():
    def tamper(notebook):
        notebook.cells.remove(by_id(notebook.cells, "rnn_forward"))
        notebook.cells.append(copy.deepcopy(by_id(notebook.cells, "rnn_cell")))

    cells, changes = restore_cells(submissions.build(submissions.CORRECT, edit=tamper), SOURCE)
    assert "NotImplementedError" in by_id(cells, "rnn_forward").source
    assert cells[-1].source == submissions.CORRECT["rnn_cell"] and "nbgrader" not in cells[-1].metadata
    assert "answer cell rnn_forward: not in the submission; graded as an empty answer" in changes


def test_feedback_shows_no_hidden_test_code_nor_its_traceback():
    cell = copy.deepcopy(by_id(SOURCE.cells, "test_my_rnn_more"))
    cell.outputs = [
        nbformat.v4.new_output(
            "error",
            ename="GradingError",
            evalue="values differ",
            traceback=["checks.check_myrnn(MyRNN, **config)", "GradingError"],
        )
    ]
    hidden = HideHiddenTests()
    cell, _ = hidden.preprocess_cell(cell, {}, 0)
    assert Markers.from_config().hidden_begin not in cell.source and "random_configs" not in cell.source
    assert "checks.check_myrnn(MyRNN, input_size=2" in cell.source  # the visible part stays
    assert cell.outputs[0].traceback == ["GradingError: values differ"]


def test_the_changes_are_listed_at_the_top_of_the_graded_notebook(tmp_path):
    course_dir = copy_course(tmp_path)
    config = load_config(course_dir)
    submission = submissions.build(submissions.CORRECT, edit=lambda notebook: notebook.cells.pop(1))
    names = {"assignment": "rnn_from_scratch", "notebook": "rnn_from_scratch", "student": "x"}
    resources = {"nbgrader": names}
    restored, _ = RestoreFromSource(config=config).preprocess(submission, resources)
    assert restored.cells[0].cell_type == "markdown"
    assert "locked cell setup: not in the submission; taken from the assignment" in restored.cells[0].source
    assert ids(restored.cells[1:]) == SOURCE_IDS
