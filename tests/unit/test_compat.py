"""The private parts of other libraries that grading uses are all still there, in the versions installed."""

import importlib

import pytest

from rnn_course.grading import _compat
from rnn_course.grading.errors import CourseError, IncompatibleVersion


@pytest.mark.parametrize("path", sorted(_compat.OVERRIDDEN))
def test_every_private_method_our_subclasses_use_exists(path, comm_left_as_it_was):
    try:
        owner = importlib.import_module(path)  # a module's own functions
    except ImportError:
        module, _, name = path.rpartition(".")
        owner = getattr(importlib.import_module(module), name)
    assert [attribute for attribute in _compat.OVERRIDDEN[path] if not _has(owner, attribute)] == []


def _has(owner, dotted: str) -> bool:
    """owner.a.b... exists ("_async_start_kernel.__wrapped__", say)."""
    for part in dotted.split("."):
        if not hasattr(owner, part):
            return False
        owner = getattr(owner, part)
    return True


def test_the_installed_versions_are_inside_the_checked_ranges():
    _compat.check_versions()


def test_a_version_outside_its_range_is_refused_in_one_line():
    with pytest.raises(IncompatibleVersion) as refused:
        _compat.check_versions({"nbgrader": ("0.1", "0.2")})
    assert isinstance(refused.value, CourseError)
    assert "nbgrader 0.9.6" in str(refused.value) and "\n" not in str(refused.value)


def test_versions_compare_by_their_numbers():
    assert _compat._release("2.13.0+cpu") == (2, 13, 0)
    assert _compat._release("0.9.6") < _compat._release("0.9.7") <= _compat._release("0.10")


OUTPUTS = [
    {"output_type": "stream", "name": "stdout", "text": "hi"},
    {"output_type": "display_data", "data": {"text/plain": "x", "application/x+json": {}}, "metadata": {}},
    {"output_type": "execute_result", "execution_count": 3, "data": {"text/plain": "1"}, "metadata": {}},
    {"output_type": "error", "ename": "E", "evalue": "v", "traceback": ["a"]},
    {"output_type": "error", "ename": "E", "evalue": "v"},  # no traceback
    {"output_type": "display_data", "data": {}, "metadata": {}, "extra": 1},
    {"output_type": "execute_result", "data": {}, "metadata": {}},  # no execution_count
    {"output_type": "stream", "name": "stdout"},  # no text
]


def _verdicts(validate) -> list[str]:
    """What validate says of each output, checked against its own kind, as nbformat's new_output does."""
    import nbformat

    verdicts = []
    for output in OUTPUTS:
        try:
            validate(nbformat.from_dict(output), output["output_type"])
            verdicts.append("valid")
        except nbformat.ValidationError as error:
            verdicts.append(str(error).splitlines()[0])
    return verdicts


def test_outputs_checked_with_the_compiled_schema_pass_and_fail_as_nbformat_says_with_its_errors():
    from nbformat.v4 import nbbase

    stock = nbbase.validate
    expected = _verdicts(stock)
    assert expected.count("valid") == 4  # the check can tell them apart
    calls = []
    nbbase.validate = lambda node, ref=None: calls.append(ref) or stock(node, ref=ref)
    _compat.validate_outputs_compiled()
    try:
        assert _verdicts(nbbase.validate) == expected
        assert len(calls) == len(OUTPUTS) - expected.count("valid")  # nbformat's own check: the refused only
    finally:
        nbbase.validate = stock


METADATA = [
    {"schema_version": 3, "grade": True, "solution": False, "locked": True, "grade_id": "t", "points": 2},
    {"schema_version": 3, "grade": False, "solution": True, "locked": False, "grade_id": "a"},
    {"schema_version": 3, "grade": True, "solution": False, "grade_id": "t", "points": 2},  # no locked
    {"schema_version": 3, "grade": "yes", "solution": False, "locked": True, "grade_id": "t"},
    {"schema_version": 3, "grade": True, "solution": False, "locked": True, "grade_id": "t", "points": -1},
    {"schema_version": 3, "grade": True, "solution": False, "locked": True, "grade_id": 7, "points": 1},
]


def test_cell_metadata_checked_with_the_compiled_schema_pass_and_fail_as_nbgrader_says_with_its_errors():
    import jsonschema
    from nbgrader.nbgraderformat.v3 import MetadataValidatorV3

    from rnn_course.grading.runner.worker import _SchemaCheckedOnce

    schema = MetadataValidatorV3().schema

    def verdicts(validate) -> list[str]:
        said = []
        for metadata in METADATA:
            try:
                validate(metadata, schema)
                said.append("valid")
            except jsonschema.ValidationError as error:
                said.append(error.message)
        return said

    expected = verdicts(jsonschema.validate)
    assert expected.count("valid") == 2  # the check can tell them apart
    assert verdicts(_SchemaCheckedOnce().validate) == expected
