"""The old path of steps/hide_hidden.py's HideHiddenTests, kept for course configs that name it."""

from rnn_course.grading.steps.hide_hidden import HideHiddenTests

__all__ = ["HideHiddenTests"]
