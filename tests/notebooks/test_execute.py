"""Every notebook executes headless, top to bottom, without an error, and each lesson's self-check works:
with the predictions left empty it gives nothing away, filled in right it says so, filled in wrong it says so.
The same for the "your turn" exercises: left empty they are "not tried yet", and the answers kept
in tests/helpers/exercise_solutions.py, pasted into the lesson, are judged right (or wrong, for the typical
mistakes).
"""

import re
import time

import nbformat
import pytest
from nbclient import NotebookClient

from tests.helpers.exercise_solutions import RIGHT, WRONG
from tests.helpers.paths import NOTEBOOKS

CELL_TIMEOUT_S = 120

# What a learner might write in each lesson's self-check: right answers, then wrong ones.
PREDICTIONS = {
    "01_rnn_syntax.ipynb": {
        "right": {
            "predicted_output_shape": "(3, 7, 20)",
            "predicted_h_n_shape": "(2, 3, 20)",
            "predicted_weight_ih_l1_shape": "(20, 20)",
        },
        "wrong": {
            "predicted_output_shape": "(7, 3, 20)",
            "predicted_h_n_shape": "(3, 2, 20)",
            "predicted_weight_ih_l1_shape": "(20, 10)",
        },
    },
    "02_shapes.ipynb": {
        "right": {
            "predicted_output_shape": "(4, 9, 10)",
            "predicted_h_n_shape": "[4, 4, 5]",
            "predicted_backward_top": "output[:, 0, 5:]",
        },
        "wrong": {
            "predicted_output_shape": "(9, 4, 10)",
            "predicted_h_n_shape": "(4, 9, 5)",
            "predicted_backward_top": "output[:, -1, 5:]",
        },
    },
    "03_hidden_state.ipynb": {
        "right": {
            "predicted_states_shape": "(40, 16)",
            "predicted_radius": "0.5",
            "predicted_memory_fades": "True",
            "predicted_gradient_vanishes": "True",
        },
        "wrong": {
            "predicted_states_shape": "(16, 40)",
            "predicted_radius": "0.58",
            "predicted_memory_fades": "False",
            "predicted_gradient_vanishes": "False",
        },
    },
    "04_packing.ipynb": {
        "right": {
            "predicted_data": "[1, 5, 4, 2, 6, 3]",
            "predicted_batch_sizes": "[3, 2, 1]",
            "predicted_sorted_indices": "[0, 2, 1]",
            "predicted_out_last_is_zero_for": "[1, 2]",
        },
        "wrong": {
            "predicted_data": "[1, 2, 3, 4, 5, 6]",
            "predicted_batch_sizes": "[1, 2, 3]",
            "predicted_sorted_indices": "[0, 1, 2]",
            "predicted_out_last_is_zero_for": "[1]",
        },
    },
    "05_using_rnn.ipynb": {
        "right": {
            "predicted_logits_shape": "(7, 5, 30)",
            "predicted_loss_input_shape": "(35, 30)",
            "predicted_h_n_is_tuple": "True",
            "predicted_dropout_changes_eval": "False",
        },
        "wrong": {
            "predicted_logits_shape": "(5, 7, 30)",
            "predicted_loss_input_shape": "(7, 5, 30)",
            "predicted_h_n_is_tuple": "False",
            "predicted_dropout_changes_eval": "True",
        },
    },
}


def fill_in(source: str, predictions: dict[str, str]) -> str:
    """The self-check cell with each `name = ...` replaced by the given prediction."""
    for name, value in predictions.items():
        source, count = re.subn(rf"^{name} = \.\.\.", f"{name} = {value}", source, flags=re.M)
        assert count == 1, f"{name} = ... appears {count} times in the self-check cell"
    return source


def report_text(cell) -> str:
    """What check_predictions showed: the plain text of the cell's result."""
    results = [o for o in cell.outputs if o.output_type == "execute_result"]
    assert len(results) == 1, "a self-check or exercise cell must end with its check"
    return results[0]["data"]["text/plain"]


def check_exercises(client, notebook, name_of_notebook):
    """Each exercise of this lesson: untried in the run as committed, then solved right, then wrong."""
    mine = sorted(name for name, (nb, _) in RIGHT.items() if nb == name_of_notebook)
    cells = {
        name: [c for c in notebook.cells if c.cell_type == "code" and f'check_exercise("{name}"' in c.source]
        for name in mine
    }
    assert all(len(found) == 1 for found in cells.values()), {n: len(f) for n, f in cells.items()}
    for name in mine:
        empty = report_text(cells[name][0])
        assert "not tried yet" in empty and "✓" not in empty and "shape" not in empty, empty
        right = report_text(
            run_extra(client, notebook, RIGHT[name][1] + f'\ncheck_exercise("{name}", {name})')
        )
        assert "right on all" in right and "✗" not in right, right
        source, said = WRONG[name]
        wrong = report_text(run_extra(client, notebook, source + f'\ncheck_exercise("{name}", {name})'))
        assert "✗ wrong" in wrong and said in wrong, wrong
    return mine


def run_extra(client, notebook, source):
    cell = nbformat.v4.new_code_cell(source)
    notebook.cells.append(cell)
    client.execute_cell(cell, len(notebook.cells) - 1)
    return cell


@pytest.mark.notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_executes_and_its_self_check_works(path, record_property):
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    checks = [c for c in notebook.cells if c.cell_type == "code" and "check_predictions(" in c.source]
    expected = PREDICTIONS.get(path.name)
    assert expected or "practice" in path.name, "every lesson's self-check is listed in PREDICTIONS"
    assert len(checks) == (1 if expected else 0), "a lesson has exactly one self-check cell"
    start = time.perf_counter()
    with client.setup_kernel():
        for index, cell in enumerate(notebook.cells):
            client.execute_cell(cell, index)  # raises CellExecutionError on the first failing cell
        record_property("notebook_seconds", time.perf_counter() - start)  # summed by the conftest
        code = [c for c in notebook.cells if c.cell_type == "code"]
        assert not [o for c in code for o in c.outputs if o.output_type == "error"]
        exercises = check_exercises(client, notebook, path.name)
        assert exercises or not expected, "every lesson has at least one exercise"
        if not expected:
            return
        names = list(expected["right"])
        empty = report_text(checks[0])
        assert empty.count("not tried yet") == len(names), empty
        assert f"{len(names)} predictions to make" in empty
        for value in expected["right"].values():  # the answers are not given away before trying
            assert value not in empty
        right = report_text(run_extra(client, notebook, fill_in(checks[0].source, expected["right"])))
        assert right.count("✓ right") == len(names) and f"All {len(names)} predictions right." in right, right
        wrong = report_text(run_extra(client, notebook, fill_in(checks[0].source, expected["wrong"])))
        assert wrong.count("✗ wrong") == len(names), wrong
        assert f"0 of {len(names)} right, {len(names)} wrong." in wrong, wrong
