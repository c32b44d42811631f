"""Grading for the course's nbgrader assignment, in layers that depend one way (each only on those above it):

- `config`: the settings (GradingLimits, Sandbox), traitlets traits read from nbgrader_config.py;
- `forbid`, `sandbox_site`, `fork_server`, `sandbox`: PyTorch's RNN switched off, the warm fork server, and
  the bubblewrap sandbox it runs in;
- `kernels`: jupyter_client's side of those sandboxed kernels;
- `cases`, `encoding`, `mistakes`, `judging`: the checks' inputs, values as JSON, the catalogue of known
  mistakes (each a reference variant), and nn.RNN's verdict, naming a mistake that explains it (both sides);
- `checks`: what the assignment's test cells call, in the learner's kernel;
- `kernel_side`: the modules above that the kernel needs, the only ones the sandbox mounts (judging and
  mistakes hold reference RNNs, so they stay on the grader's side);
- `preprocessors` (their shared helpers), `restore`, `limits`, `verdicts`: nbgrader's autograde steps run by
  the grader; `hide_hidden`, `tracebacks`, `offline_math`, `readable_tables`: its feedback steps;
  `sanitise`: both lists' last word on what the notebook may show (nothing active);
- `release_check`: what a learner's release may not hold;
- `intake`: a submitted folder checked with lstat and only its notebooks copied (links never followed);
- `lms.extras`, `lms.deadlines`, `lms.penalty`: lms.json, due dates, extensions and the late penalty;
- `runner_worker`, `runner`: the parallel autograde runner and its single gradebook writer;
- `lms.roster`, `lms.collect`, `lms.exports`, `lms.cli`: the LMS road (participant exports, submission zips,
  grades.csv and the files each LMS imports);
- `workflow`: the instructor workflow (release, autograde, feedback, export, demo, reset);
- `mistake_report`: how many graded submissions made each known mistake, read from autograded/;
- `cli`: `rnn-course grade`.
"""
