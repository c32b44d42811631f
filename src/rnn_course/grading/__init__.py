"""Grading for the course's nbgrader assignment, laid out by where each part runs and how far it is trusted.

- `judge/`: pure code of the checks. cases, encoding and checks run in the learner's kernel (and the
  grader); judging and mistakes (the grader's reference RNN and its catalogue of mistakes) only in the grader;
- `sandbox/`: the bubblewrap host and jupyter_client's side of its kernels (grader), the warm fork server
  and what contains each kernel (inside the sandbox); kernel_side.py names the only files the sandbox mounts;
- `steps/`: nbgrader's autograde and feedback preprocessors, one per file (the grader's worker);
- `runner/`: the parallel autograde runner: plan, workers, and the single gradebook writer;
- `lms/`: the LMS road (roster, submission zips, due dates and late penalties, the files each LMS imports);
- `workflow/`: the instructor's jobs (release, feedback, export, reset, demo); `reports/`: mistake counts
  and near-identical submissions;
- `config`, `database`, `errors`, `_compat`: settings, the gradebook's URL, the one error base class, and
  every private part of other libraries used; `cli`: `rnn-course grade`.

This file imports nothing: every sandboxed Python imports the package (the .pth hook, `-m ...fork_server`).
The modules at this level named after steps, and `checks`, are the old public paths, kept as re-exports.
"""
