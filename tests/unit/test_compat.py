"""The private parts of other libraries that grading uses are all still there, in the versions installed."""

import importlib

import pytest

from rnn_course.grading import _compat
from rnn_course.grading.errors import CourseError, IncompatibleVersion


@pytest.mark.parametrize("path", sorted(_compat.OVERRIDDEN))
def test_every_private_method_our_subclasses_use_exists(path):
    module, _, name = path.rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    assert [attribute for attribute in _compat.OVERRIDDEN[path] if not hasattr(cls, attribute)] == []


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
