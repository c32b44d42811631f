"""DecideVerdicts: the grader decides every test cell, outside the learner's kernel.

After the notebook ran, each test cell holds what the learner's code returned for its checks (judge/checks.py
sends them as display data). This preprocessor, in the grader's own process:

1. plans the cell: runs the cell's source (restored from the instructor's source notebook) with a recorder in
   place of `checks`, which yields the list of checks the cell makes and their arguments;
2. for each planned check, takes the learner's result for exactly that check, rebuilds the inputs itself,
   runs its own nn.RNN and judges (judging.py), naming a known mistake only when it explains the failure and
   every other result of the cell (judge/mistakes.py), or saying only what was observed where several would;
3. writes the verdict: a passing cell keeps no error output; a failing one gets one error output naming the
   first check that failed, so nbgrader scores it 0.

The kernel can print, patch or fake anything: a cell passes only if results equal to nn.RNN's arrive for every
check the instructor wrote, in order.
"""

from __future__ import annotations

import builtins
import json

from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor

from rnn_course.grading.judge import judging
from rnn_course.grading.judge.cases import CHECKS, random_configs
from rnn_course.grading.judge.encoding import RESULT_MIME, decode
from rnn_course.grading.steps.cells import error_output, is_test_cell


class _Names(dict):
    """A namespace where every unknown name is a harmless placeholder (the learner's functions, say)."""

    def __missing__(self, name):
        if hasattr(builtins, name):
            return getattr(builtins, name)
        return _Placeholder(name)


class _Placeholder:
    def __init__(self, name):
        self.name = name

    def __getattr__(self, attribute):
        return _Placeholder(f"{self.name}.{attribute}")

    def __call__(self, *args, **kwargs):
        return _Placeholder(f"{self.name}()")


class _Recorder:
    """Stands in for `checks` while a cell is planned."""

    random_configs = staticmethod(random_configs)

    def __init__(self):
        self.planned: list[tuple[str, dict]] = []

    def __getattr__(self, name):
        if name not in CHECKS:
            return _Placeholder(f"checks.{name}")
        return lambda learner, **kw: self.planned.append((CHECKS[name], kw))


def plan(source: str) -> list[tuple[str, dict]]:
    """The checks a test cell makes, in order, with their arguments."""
    recorder = _Recorder()
    names = _Names(checks=recorder)
    exec(compile(source, "<test cell>", "exec"), {"__builtins__": builtins}, names)
    return recorder.planned


def _canonical(kw: dict) -> str:
    return json.dumps(kw, sort_keys=True, default=str)


def decide(cell: NotebookNode) -> judging.Verdict:
    """The verdict on one executed test cell (None: passed)."""
    results = [
        output["data"][RESULT_MIME]
        for output in cell.get("outputs", [])
        if output.get("output_type") in ("display_data", "execute_result")
        and isinstance(output.get("data", {}).get(RESULT_MIME), dict)
    ]
    planned = plan(cell.source)
    arrived = []  # the results that belong to the planned checks, in order, up to the first one missing
    for index, (kind, kw) in enumerate(planned):
        result = results[index] if index < len(results) else None
        if (
            result is None
            or result.get("kind") != kind
            or _canonical(result.get("args", {})) != _canonical(json.loads(json.dumps(kw, default=str)))
        ):
            break
        arrived.append(result)
    values = [decode(result.get("value", {})) for result in arrived]  # each once: judging may see it again
    for index, (kind, kw) in enumerate(planned):
        if index == len(arrived):
            return "GradingError", f"{judging.describe(kind, kw)}: {_why_missing(cell)}"
        later = tuple(
            (k, args, value)
            for (k, args), value in zip(planned[index + 1 :], values[index + 1 :], strict=False)
        )
        verdict = judging.judge(
            kind,
            kw,
            values[index],
            passed=tuple(planned[:index]),
            later=later,
            state=decode(arrived[index].get("state", {})),
        )
        if verdict:
            return verdict
    return None


EARLY = "rnn_course_early_verdicts"  # resources: cell index -> (what decide read, its verdict)


def _what_decide_reads(cell: NotebookNode) -> str:
    """Everything of a cell `decide` reads: its source, its results and its errors (not its text output)."""
    read = ("output_type", "ename", "evalue")
    outputs = [
        [*(output.get(key) for key in read), output.get("data", {}).get(RESULT_MIME)]
        for output in cell.get("outputs", [])
        if output.get("output_type") != "stream"
    ]
    return json.dumps([cell.source, outputs], sort_keys=True, default=str)


def decide_early(cell: NotebookNode, index: int, resources: dict | None) -> None:
    """Decide a test cell as soon as it has run (Execute calls this while the kernel runs the next cell);
    DecideVerdicts keeps the verdict only if nothing it reads has changed since."""
    if resources is None or not is_test_cell(cell):
        return
    try:
        verdict = decide(cell)
    except Exception:  # noqa: BLE001 - decided again, in its place, where the error is reported
        return
    resources.setdefault(EARLY, {})[index] = (_what_decide_reads(cell), verdict)


def _why_missing(cell: NotebookNode) -> str:
    errors = [output for output in cell.get("outputs", []) if output.get("output_type") == "error"]
    if errors:
        return f"the test stopped before this check ({errors[0].get('ename')}: {errors[0].get('evalue', '')})"
    return "no result came back for this check (the kernel stopped, or the test did not run to its end)"


class DecideVerdicts(NbGraderPreprocessor):
    """Give each test cell its verdict from the learner's results and the grader's own nn.RNN."""

    def preprocess(self, nb, resources):
        early = resources.pop(EARLY, {}) if resources else {}
        for index, cell in enumerate(nb.cells):
            if not is_test_cell(cell):
                continue
            known = early.get(index)
            verdict = known[1] if known and known[0] == _what_decide_reads(cell) else decide(cell)
            kept = [
                output
                for output in cell.get("outputs", [])
                if RESULT_MIME not in output.get("data", {}) and output.get("output_type") != "error"
            ]
            if verdict:
                errors = [out for out in cell.get("outputs", []) if out.get("output_type") == "error"]
                kept += errors + [error_output(*verdict)]  # the kernel's own error, if any, says more
            cell.outputs = kept
        return nb, resources
