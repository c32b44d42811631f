"""The old path of steps/sanitise.py's SanitiseOutputs, kept for course configs that name it."""

from rnn_course.grading.steps.sanitise import SanitiseOutputs

__all__ = ["SanitiseOutputs"]
