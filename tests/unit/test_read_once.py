"""What the runner reads once instead of per submission gives what nbgrader's own reads give."""

import copy

import nbformat
import pytest
import torch
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import OverwriteCells, OverwriteKernelspec

from rnn_course.grading.config import load_config
from rnn_course.grading.judge import judging
from rnn_course.grading.steps import overwrite
from rnn_course.grading.workflow.release import release
from tests.helpers import submissions
from tests.helpers.course import ASSIGNMENT, copy_course


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    course_dir = copy_course(tmp_path_factory.mktemp("course"))
    assert release(course_dir, ASSIGNMENT) == []
    return course_dir


def tampered():
    """A submission whose locked, test and answer cells were changed in every way OverwriteCells undoes."""

    def edit(notebook):
        cells = {submissions.grade_id(cell): cell for cell in notebook.cells}
        cells["setup"].source = "import torch  # changed"
        cells["test_rnn_cell"].metadata.nbgrader["points"] = 100
        cells["test_rnn_cell"].source = "pass"
        cells["rnn_cell"].metadata.nbgrader["locked"] = True
        cells["rnn_forward"].cell_type = "markdown"
        cells["rnn_forward"].pop("outputs", None)
        cells["rnn_forward"].pop("execution_count", None)
        cells["my_rnn"].metadata.nbgrader["grade_id"] = "not_in_the_gradebook"
        notebook.metadata["kernelspec"] = {"name": "evil", "display_name": "evil", "language": "python"}

    return submissions.build(submissions.CORRECT, edit=edit)


def reading_once(config):
    return [overwrite.OverwriteKernelspecOnce(config=config), overwrite.OverwriteCellsOnce(config=config)]


def run(steps, notebook, resources):
    for step in steps:
        notebook, resources = step.preprocess(notebook, resources)
    return notebook


def test_the_steps_reading_once_change_a_submission_exactly_as_nbgraders_own(released):
    config = load_config(released)
    db_url = CourseDirectory(config=config).db_url
    names = {"assignment": ASSIGNMENT, "notebook": ASSIGNMENT, "student": "x", "db_url": db_url}
    stock = run(
        [OverwriteKernelspec(config=config), OverwriteCells(config=config)],
        tampered(),
        {"nbgrader": dict(names)},
    )
    cells = overwrite.SourceCells(db_url, ASSIGNMENT, ASSIGNMENT)
    once = run(reading_once(config), tampered(), {"nbgrader": {**names, overwrite.KEY: cells}})
    assert nbformat.writes(once) == nbformat.writes(stock)
    assert stock.metadata["kernelspec"]["name"] != "evil"  # changed: so the comparison means something
    setup = next(cell for cell in stock.cells if submissions.grade_id(cell) == "setup")
    assert "changed" not in setup.source


def test_without_the_source_cells_they_are_nbgraders_steps(released):
    config = load_config(released)
    db_url = CourseDirectory(config=config).db_url
    names = {"assignment": ASSIGNMENT, "notebook": ASSIGNMENT, "student": "x", "db_url": db_url}
    plain = run(reading_once(config), tampered(), {"nbgrader": dict(names)})
    stock = run(
        [OverwriteKernelspec(config=config), OverwriteCells(config=config)],
        tampered(),
        {"nbgrader": dict(names)},
    )
    assert nbformat.writes(plain) == nbformat.writes(stock)


def test_copies_of_the_resources_share_the_source_cells_read_once(released):
    config = load_config(released)
    cells = overwrite.SourceCells(CourseDirectory(config=config).db_url, ASSIGNMENT, ASSIGNMENT)
    resources = {"nbgrader": {"notebook": ASSIGNMENT, overwrite.KEY: cells}}
    copied = copy.deepcopy(resources)  # as nbconvert copies them, twice a pass
    assert copied["nbgrader"][overwrite.KEY] is cells
    assert copied["nbgrader"] is not resources["nbgrader"]  # the rest is still copied


def test_a_remembered_answer_equals_one_computed_afresh_and_is_computed_once():
    kw = {"input_size": 3, "hidden_size": 4, "num_layers": 2, "bidirectional": True, "seed": 11}
    judging._ANSWERS.clear()
    first = judging.expected("myrnn", kw)
    again = judging.expected("myrnn", copy.deepcopy(kw))
    fresh = judging._computed("myrnn", kw)
    assert again is first and len(judging._ANSWERS) == 1
    output, h_n = first["result"]
    assert torch.equal(output, fresh["result"][0]) and torch.equal(h_n, fresh["result"][1])
    assert first["parameters"] == fresh["parameters"]


def test_arguments_that_are_not_plain_data_are_computed_every_time():
    judging._ANSWERS.clear()
    kw = {"input_size": 3, "hidden_size": 4, "seed": 5, "note": object()}
    with pytest.raises(TypeError):  # object() is no argument of a check: the computation itself refuses it
        judging.expected("rnn_cell", kw)
    assert judging._ANSWERS == {}
