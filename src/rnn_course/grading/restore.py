"""The old path of steps/restore.py's RestoreFromSource, kept for course configs that name it."""

from rnn_course.grading.steps.restore import RestoreFromSource

__all__ = ["RestoreFromSource"]
