"""The release check against leaks, wherever the markers were put; each problem names its cell and line."""

import nbformat
import pytest

from rnn_course.grading.workflow.release import release
from tests.helpers import submissions
from tests.helpers.course import copy_course, run_cli

pytestmark = pytest.mark.grading

NOTEBOOK = "rnn_from_scratch.ipynb"
MARKDOWN_PART2 = "part2"
RAISE_LINE = '    raise ValueError(f"unknown nonlinearity {nonlinearity!r}")'


def course_with(tmp_path, edit):
    """A course copy whose source notebook went through edit(cells by grade id, notebook)."""
    course_dir = copy_course(tmp_path / "course")
    path = course_dir / "source" / submissions.ASSIGNMENT / NOTEBOOK
    notebook = nbformat.read(path, as_version=4)
    edit({submissions.grade_id(cell): cell for cell in notebook.cells}, notebook)
    nbformat.write(notebook, path)
    return course_dir


def released_problems(course_dir) -> list[str]:
    problems = release(course_dir, submissions.ASSIGNMENT)
    assert not list((course_dir / "release").glob("**/*.ipynb")), "a refused release left a notebook"
    return problems


def swap(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


# ---- the placements the issue lists


def test_end_solution_moved_up_one_line(tmp_path):
    def edit(cells, _):
        cells["rnn_cell"].source = swap(
            cells["rnn_cell"].source,
            f"{RAISE_LINE}\n    ### END SOLUTION",
            f"    ### END SOLUTION\n{RAISE_LINE}",
        )

    problems = released_problems(course_with(tmp_path, edit))
    assert problems == [
        f"{NOTEBOOK}: cell rnn_cell, line 5: solution code after the stub: {RAISE_LINE.strip()!r}"
    ]


def test_a_solution_line_after_the_end_marker(tmp_path):
    def edit(cells, _):
        cells["rnn_forward"].source += "\n    outputs = [h for h in outputs]"

    problems = released_problems(course_with(tmp_path, edit))
    assert problems == [
        f"{NOTEBOOK}: cell rnn_forward, line 5: solution code after the stub: "
        "'outputs = [h for h in outputs]'"
    ]


def test_the_first_solution_line_above_begin_solution(tmp_path):
    first = (
        "        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers\n"  # noqa: E501
    )
    begin = "        ### BEGIN SOLUTION\n"

    def edit(cells, _):
        cells["my_rnn"].source = swap(swap(cells["my_rnn"].source, first, ""), begin, first + begin)

    problems = released_problems(course_with(tmp_path, edit))
    assert len(problems) == 1 and problems[0].startswith(
        f"{NOTEBOOK}: cell my_rnn, line 7: solution code outside the stub: 'self.input_size"
    ), problems


def test_a_markdown_hint_quoting_a_solution_line(tmp_path):
    def edit(cells, _):
        cells[MARKDOWN_PART2].source += (
            "\n\nHint: inside the loop, `h = rnn_cell(x_t, h, weight_ih, weight_hh, bias_ih, bias_hh, "
            "nonlinearity)` does the work."
        )

    problems = released_problems(course_with(tmp_path, edit))
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{NOTEBOOK}: cell part2, line 7: solution code of rnn_forward"), problems


def test_a_hidden_loop_header_left_above_begin_hidden_tests(tmp_path):
    header = "for config in checks.random_configs(16, seed=11):\n"

    def edit(cells, _):
        source = swap(
            cells["test_my_rnn_more"].source,
            "### BEGIN HIDDEN TESTS\n" + header,
            header + "### BEGIN HIDDEN TESTS\n",
        )
        cells["test_my_rnn_more"].source = source

    problems = released_problems(course_with(tmp_path, edit))
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{NOTEBOOK}: cell test_my_rnn_more, line 3: does not compile"), problems


# ---- variants of our own


def test_begin_solution_moved_down_two_lines(tmp_path):
    def edit(cells, _):
        lines = cells["rnn_forward"].source.splitlines()
        begin = lines.index("    ### BEGIN SOLUTION")
        lines[begin : begin + 3] = lines[begin + 1 : begin + 3] + [lines[begin]]
        cells["rnn_forward"].source = "\n".join(lines)

    problems = released_problems(course_with(tmp_path, edit))
    where = [problem.split(": ")[1] for problem in problems]
    assert where == ["cell rnn_forward, line 3", "cell rnn_forward, line 4"], problems


def test_a_hidden_test_quoted_in_markdown(tmp_path):
    def edit(cells, _):
        cells["part3"].source += "\n\nThe hidden tests run `checks.random_configs(16, seed=11)`."

    problems = released_problems(course_with(tmp_path, edit))
    assert len(problems) == 1 and "cell part3" in problems[0], problems
    assert "hidden test code of test_my_rnn_more" in problems[0]


def test_a_whole_solution_pasted_into_an_unlabelled_cell(tmp_path):
    def edit(cells, notebook):
        pasted = nbformat.v4.new_code_cell(submissions.correct_answers()["rnn_cell"])
        notebook.cells.insert(notebook.cells.index(cells["part1"]) + 1, pasted)

    problems = released_problems(course_with(tmp_path, edit))
    assert problems and all(problem.startswith(f"{NOTEBOOK}: cell #4 (code), line ") for problem in problems)
    assert "solution code of rnn_cell" in problems[0]


def test_a_solution_line_in_a_test_cell_comment(tmp_path):
    def edit(cells, _):
        comment = "# it should compute pre_activation = x @ weight_ih.T + h @ weight_hh.T\n"
        cells["test_rnn_cell"].source = comment + cells["test_rnn_cell"].source

    problems = released_problems(course_with(tmp_path, edit))
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{NOTEBOOK}: cell test_rnn_cell, line 1: solution code")


def test_the_written_answer_quoted_in_the_question(tmp_path):
    def edit(cells, _):
        cells["part5"].source += (
            "\n\n(A good answer says: for a bidirectional RNN take "
            "`torch.cat([h_n[-2], h_n[-1]], dim=1)`: the backward direction's final "
            "state is at step 0, not at the end.)"
        )

    problems = released_problems(course_with(tmp_path, edit))
    assert len(problems) == 1 and "cell part5" in problems[0], problems
    assert "written answer of answer_padding" in problems[0]


def test_a_test_that_passes_on_the_blank_release_is_named(tmp_path):
    def edit(cells, _):
        cells["test_rnn_forward"].source = "# a test that checks nothing\nassert True"

    problems = released_problems(course_with(tmp_path, edit))
    assert problems == [f"{NOTEBOOK}: cell test_rnn_forward, line 1: this test passes on the blank release"]


# ---- from the command line


def test_a_refused_release_exits_non_zero_names_the_cell_and_keeps_the_last_good_release(tmp_path):
    course_dir = copy_course(tmp_path / "course")
    assert release(course_dir, submissions.ASSIGNMENT) == []
    released = course_dir / "release" / submissions.ASSIGNMENT / NOTEBOOK
    good = released.read_text()
    path = course_dir / "source" / submissions.ASSIGNMENT / NOTEBOOK
    notebook = nbformat.read(path, as_version=4)
    cell = next(cell for cell in notebook.cells if submissions.grade_id(cell) == "rnn_cell")
    end = "    ### END SOLUTION"
    cell.source = swap(cell.source, f"{RAISE_LINE}\n{end}", f"{end}\n{RAISE_LINE}")
    nbformat.write(notebook, path)
    result = run_cli("grade", "release", submissions.ASSIGNMENT, "--course-dir", course_dir)
    assert result.returncode == 1
    assert "cell rnn_cell, line 5: solution code after the stub" in result.stderr
    assert "ValueError" not in released.read_text() and released.read_text() == good
