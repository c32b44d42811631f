"""The old path of steps/verdicts.py's DecideVerdicts, kept for course configs that name it."""

from rnn_course.grading.steps.verdicts import DecideVerdicts

__all__ = ["DecideVerdicts"]
