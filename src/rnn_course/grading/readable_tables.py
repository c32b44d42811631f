"""The old path of steps/readable_tables.py's ReadableTables, kept for course configs that name it."""

from rnn_course.grading.steps.readable_tables import ReadableTables

__all__ = ["ReadableTables"]
