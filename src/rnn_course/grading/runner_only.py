"""The old path of steps/runner_only.py's RunnerOnlyExporter, kept for course configs that name it."""

from rnn_course.grading.steps.runner_only import RunnerOnlyExporter

__all__ = ["RunnerOnlyExporter"]
