"""Grading for the course's nbgrader assignment.

- `checks`: the helpers that the assignment's test cells import (reference nn.RNN, float64, guards).
- `preprocessors`: nbgrader steps that run outside the learner's kernel (restore, pass markers).
- `course`: the instructor workflow (release, autograde, feedback, export, demo) behind `rnn-course grade`.
"""
