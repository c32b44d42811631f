"""Grading settings are traitlets traits: defaults in one place, a misspelt name reported."""

import warnings

import pytest
from traitlets.config import Config

from rnn_course.grading.config import (
    CELL_TIMEOUT_DEFAULT,
    CONFIGURABLES,
    GradingLimits,
    Sandbox,
    limits_as_dict,
)


def test_defaults_and_overrides():
    """The defaults are the traits' own (they live in config.py only), plus nbgrader's cell timeout."""
    defaults = {name: trait.default_value for name, trait in GradingLimits.class_traits(config=True).items()}
    names = (
        "notebook_timeout",
        "memory_mb",
        "max_output_bytes",
        "max_processes",
        "scratch_mb",
        "scratch_files",
        "max_file_mb",
    )
    expected = {name: defaults[name] for name in names}
    assert limits_as_dict(Config()) == {"cell_timeout": CELL_TIMEOUT_DEFAULT, **expected}
    config = Config()
    config.GradingLimits.memory_mb = 512
    config.Execute.timeout = 7
    config.Sandbox.enabled = False
    assert limits_as_dict(config)["memory_mb"] == 512 and limits_as_dict(config)["cell_timeout"] == 7
    assert Sandbox(config=config).enabled is False


def test_a_misspelt_setting_is_reported_with_a_suggestion():
    config = Config()
    config.GradingLimits.memry_mb = 5
    with pytest.warns(UserWarning, match="Did you mean `memory_mb`"):
        GradingLimits(config=config)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        GradingLimits(config=Config())  # the right names say nothing


def test_every_setting_has_a_help_text():
    for cls in CONFIGURABLES:
        for name, trait in cls.class_traits(config=True).items():
            assert len(trait.help) > 20, (cls.__name__, name)
