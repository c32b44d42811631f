"""Defaults live in the traits only: the configuration reference is generated from them, course folders
come from nbgrader's CourseDirectory, and the region markers from nbgrader's delimiter settings."""

from pathlib import Path

import nbformat
from traitlets.config import Config

from rnn_course.grading.config import (
    CONFIGURABLES,
    REFERENCE,
    GradingLimits,
    Sandbox,
    course_path,
    limits_as_dict,
    reference_markdown,
    student_folders,
)
from rnn_course.grading.steps.hide_hidden import HideHiddenTests
from rnn_course.grading.steps.regions import Markers, cut, region_rows, regions
from rnn_course.grading.steps.restore import restore_cells
from rnn_course.grading.workflow import release_check

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_reference_is_the_generated_one():
    committed = (ROOT / REFERENCE).read_text(encoding="utf-8")
    assert committed == reference_markdown(), "run `make config-reference` and commit the page"


def test_the_reference_lists_every_trait_with_its_default():
    page = reference_markdown()
    for cls in CONFIGURABLES:
        for name, trait in cls.class_traits(config=True).items():
            assert f"### `c.{cls.__name__}.{name}`" in page
            assert trait.help.split()[0] in page


def test_the_shipped_config_sets_no_default_again():
    """grader/nbgrader_config.py sets only what differs from the traits' defaults."""
    from traitlets.config import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT / "grader")).load_config()
    for cls in CONFIGURABLES:
        for name, value in config.get(cls.__name__, {}).items():
            default = cls.class_traits()[name].default_value
            assert value != default, f"c.{cls.__name__}.{name} repeats its default"


def test_max_file_mb_is_a_limit_the_kernel_gets():
    config = Config()
    assert limits_as_dict(config)["max_file_mb"] == GradingLimits.max_file_mb.default_value
    config.GradingLimits.max_file_mb = 3
    assert limits_as_dict(config)["max_file_mb"] == 3


def test_first_uid_has_one_default():
    from rnn_course.grading.sandbox import host

    assert host.KernelHost.__init__.__defaults__[-1] is None  # None: Sandbox.first_uid's default
    assert Sandbox().first_uid == Sandbox.first_uid.default_value


def test_course_folders_follow_the_course_directory_settings(tmp_path):
    config = Config()
    config.CourseDirectory.root = str(tmp_path)
    config.CourseDirectory.autograded_directory = "graded"
    config.CourseDirectory.source_directory = "masters"
    assert course_path(config, "autograded", "ada", "hw1") == tmp_path / "graded" / "ada" / "hw1"
    assert course_path(config, "source", ".", "hw1") == tmp_path / "masters" / "hw1"
    assert course_path(config, "feedback", "ada", "hw1") == tmp_path / "feedback" / "ada" / "hw1"
    for student in ("ada", "bob"):
        (tmp_path / "graded" / student / "hw1").mkdir(parents=True)
    (tmp_path / "graded" / "cy" / "hw2").mkdir(parents=True)
    expected = [tmp_path / "graded" / student / "hw1" for student in ("ada", "bob")]
    assert student_folders(config, "autograded", "hw1") == expected


# ---- markers from nbgrader's settings (ClearSolutions / ClearHiddenTests, nbgrader's spelling) ----


def custom() -> Config:
    config = Config()
    config.ClearSolutions.begin_solution_delimeter = "<<ANSWER>>"
    config.ClearSolutions.end_solution_delimeter = "<</ANSWER>>"
    config.ClearHiddenTests.begin_test_delimeter = "<<SECRET>>"
    config.ClearHiddenTests.end_test_delimeter = "<</SECRET>>"
    return config


def test_markers_default_to_nbgraders_and_follow_the_config():
    assert Markers.from_config() == Markers(
        "BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"
    )
    assert Markers.from_config(custom()).all == ("<<ANSWER>>", "<</ANSWER>>", "<<SECRET>>", "<</SECRET>>")


TEST_CELL = "assert f(1) == 2\n# <<SECRET>>\nassert f(12345) == 24690  # a hidden check\n# <</SECRET>>\n"


def test_the_region_parser_with_custom_delimiters():
    markers = Markers.from_config(custom())
    assert region_rows(TEST_CELL, markers.hidden_begin, markers.hidden_end) == {3}
    inside, outside = regions(TEST_CELL, markers.hidden_begin, markers.hidden_end)
    assert inside == ["assert f(12345) == 24690  # a hidden check"] and outside == ["assert f(1) == 2"]
    assert cut(TEST_CELL, markers.hidden_begin, markers.hidden_end, "# hidden", whole_lines=True) == (
        "assert f(1) == 2\n# hidden\n"
    )
    assert region_rows(TEST_CELL, "BEGIN HIDDEN TESTS", "END HIDDEN TESTS") == set()  # the defaults see none


def _cell(source: str, grade_id: str, *, solution=False, grade=False, locked=False):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {
        "grade_id": grade_id,
        "solution": solution,
        "grade": grade,
        "locked": locked,
        "points": 1 if grade else 0,
        "schema_version": 3,
    }
    return cell


def test_hidden_tests_are_hidden_and_restored_with_custom_delimiters():
    config = custom()
    hide = HideHiddenTests(config=config)
    cell, _ = hide.preprocess_cell(_cell(TEST_CELL, "t", grade=True, locked=True), {}, 0)
    assert "24690" not in cell.source and "<<SECRET>>" not in cell.source and "f(1) == 2" in cell.source

    source = nbformat.v4.new_notebook(
        cells=[
            _cell("import math", "setup", locked=True),
            _cell("def f(x):\n    # <<ANSWER>>\n    return 2 * x\n    # <</ANSWER>>", "f", solution=True),
            _cell(TEST_CELL, "t", grade=True, locked=True),
        ]
    )
    released = nbformat.v4.new_notebook(
        cells=[
            _cell("import math", "setup", locked=True),
            _cell("def f(x):\n    return 2 * x", "f", solution=True),
            _cell("assert f(1) == 2\n", "t", grade=True, locked=True),  # as ClearHiddenTests leaves it
        ]
    )
    markers = Markers.from_config(config)
    _, changes = restore_cells(released, source, markers)
    assert changes == []  # the test cell matches its source once the custom hidden region is set aside
    assert release_check.hidden_test_lines(source, markers) == ["assert f(12345) == 24690  # a hidden check"]
    leaked_cell = _cell(TEST_CELL, "t", grade=True, locked=True)
    leaked = nbformat.v4.new_notebook(cells=[*released.cells[:2], leaked_cell])
    problems = [str(p) for p in release_check.check_notebook(source, leaked, "nb.ipynb", markers=markers)]
    assert any("grading marker is left" in p for p in problems) and any("hidden test" in p for p in problems)
