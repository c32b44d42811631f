"""The old path of steps/tracebacks.py's TrimTracebacks, kept for course configs that name it."""

from rnn_course.grading.steps.tracebacks import TrimTracebacks

__all__ = ["TrimTracebacks"]
