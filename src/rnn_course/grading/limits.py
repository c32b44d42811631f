"""The old path of steps/execute.py's LimitedExecute, kept for course configs that name it."""

from rnn_course.grading.steps.execute import LimitedExecute

__all__ = ["LimitedExecute"]
