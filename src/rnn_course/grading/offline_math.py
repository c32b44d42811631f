"""The old path of steps/offline_math.py's OfflineMath, kept for course configs that name it."""

from rnn_course.grading.steps.offline_math import OfflineMath

__all__ = ["OfflineMath"]
