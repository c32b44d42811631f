"""nbgrader configuration for the course: this folder is the course directory."""

import os

from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearOutput,
    IgnorePattern,
    LimitOutput,
    OverwriteCells,
    OverwriteKernelspec,
    SaveAutoGrades,
)

c = get_config()  # noqa: F821 (traitlets provides it)

HERE = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.root = HERE
c.CourseDirectory.course_id = "rnn_course"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(HERE, "gradebook.db")
# No c.CourseDirectory.assignment_id here: stock commands take it as an argument
# (`nbgrader autograde rnn_from_scratch`), and nbgrader refuses it in both places.
# nbgrader's exchange, shared with the learners on a hub (docs/instructors/hub.md): release_assignment and
# release_feedback write to it, learners fetch and submit through it, `nbgrader collect` reads from it.
# It lives outside the course folder; an administrator makes it (`install -d -m 0777 ...`; `make hub` does).
# Without a hub it is not needed: submissions come from the LMS (`rnn-course grade collect`).
c.Exchange.root = os.environ.get("RNN_COURSE_EXCHANGE", "/srv/nbgrader/exchange")

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Seconds a cell may run. The grading runner adds its own limits (see rnn_course.grading.steps.execute).
c.Execute.timeout = 30

# Grading steps. Ours, around nbgrader's own:
# - RestoreFromSource puts locked and test cells back from source/ (changed, missing or duplicated ones);
# - DecideVerdicts decides every test cell in the grader's process, from what the learner's code returned;
# - HideHiddenTests keeps hidden test code out of the feedback; TrimTracebacks keeps tracebacks to the
#   learner's cells and the failing test line, without the grading machine's paths.
# - OfflineMath turns the formulas of the feedback into MathML, which browsers draw offline.
# - ReadableTables gives table cells of the feedback page room (its Bootstrap style has no padding).
# - SanitiseOutputs leaves nothing active (scripts, event handlers, iframes, SVG, widgets, unknown types) in
#   what the instructor and the learner open: the autograded notebook, and feedback made from older ones.
from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import GetGrades  # noqa: E402

# Execute is the runner's: sandboxed kernels, time, memory and output limits, a dead kernel scored.
from rnn_course.grading.steps.execute import LimitedExecute as Execute  # noqa: E402
from rnn_course.grading.steps.hide_hidden import HideHiddenTests  # noqa: E402
from rnn_course.grading.steps.offline_math import OfflineMath  # noqa: E402
from rnn_course.grading.steps.readable_tables import ReadableTables  # noqa: E402
from rnn_course.grading.steps.restore import RestoreFromSource  # noqa: E402
from rnn_course.grading.steps.runner_only import RunnerOnlyExporter  # noqa: E402
from rnn_course.grading.steps.sanitise import SanitiseOutputs  # noqa: E402
from rnn_course.grading.steps.tracebacks import TrimTracebacks  # noqa: E402
from rnn_course.grading.steps.verdicts import DecideVerdicts  # noqa: E402

# Stock `nbgrader autograde` and the formgrader's Autograde button refuse, naming `rnn-course grade`.
c.Autograde.exporter_class = RunnerOnlyExporter
c.Autograde.sanitize_preprocessors = [
    ClearOutput,
    RestoreFromSource,
    OverwriteKernelspec,
    OverwriteCells,
    CheckCellMetadata,
]
c.Autograde.autograde_preprocessors = [
    Execute,
    DecideVerdicts,
    SanitiseOutputs,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]
c.GenerateFeedback.preprocessors = [
    GetGrades,
    SanitiseOutputs,
    HideHiddenTests,
    TrimTracebacks,
    OfflineMath,
    CSSHTMLHeaderPreprocessor,
    ReadableTables,
]

# ---- autograde runner limits (grading/steps/execute.py) ----
# GradingLimits (time, memory, output, submission size), Sandbox and, below, LatePolicy and CollectLimits keep
# their defaults, which live in rnn_course/grading/config.py only; docs/instructors/config-reference.md lists
# each with its default. Set here only what this course wants different, e.g.
#     c.GradingLimits.memory_mb = 4096
# Per-cell wall time is c.Execute.timeout above.
# ---- end of autograde runner limits ----

# ---- deadlines and the LMS (rnn_course.grading.lms; docs/instructors/lms.md) ----
# Due dates and extensions live in the gradebook: `rnn-course grade deadline`, `rnn-course grade extension`.
from rnn_course.grading.lms.penalty import PenaltyPerDay  # noqa: E402

c.AssignLatePenalties.plugin_class = PenaltyPerDay
# No late penalty and UTC due dates are LatePolicy's defaults; e.g. c.LatePolicy.penalty_per_day = 0.1
# ---- end of deadlines and the LMS ----
