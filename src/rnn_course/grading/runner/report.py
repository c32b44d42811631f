"""What a run reports: one Result per submission, the RunReport, and each student's last status."""

from __future__ import annotations

import dataclasses
import enum
import json
from pathlib import Path

from rnn_course.grading import atomic

RUNS_DIR = ".runs"  # under the course folder: run reports, statuses, the run lock, staging areas


class Status(enum.StrEnum):
    """What happened to a submission; the run report and the status file hold its value."""

    GRADED = "graded"
    FAILED = "failed"  # the reason says why
    SKIPPED = "skipped"  # the reason says why


INTERRUPTED = "not graded: the run was interrupted (Ctrl-C)"  # the reason of a submission a Ctrl-C skipped


@dataclasses.dataclass
class Result:
    """What happened to one submission."""

    student: str
    status: Status
    score: float | None = None
    max_score: float | None = None
    reason: str = ""  # filled for every outcome that is not a plain, clean grading
    seconds: float = 0.0
    kernel_seconds: float = 0.0  # of those, waiting for its kernels to start
    needs_manual_grade: bool = False
    content_hash: str = ""  # of the submitted folder, as graded
    release_hash: str = ""  # of the release it was graded against (release/<assignment>/)
    dropped: list[str] = dataclasses.field(default_factory=list)  # submitted files left behind


@dataclasses.dataclass
class RunReport:
    """The whole run: one Result per submission, the total time, and where its JSON copy lies."""

    assignment: str
    workers: int
    scheduler: str | None
    started: str
    results: list[Result] = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    gradebook_seconds: float = 0.0  # what this process, the gradebook's only writer, spent recording
    path: str = ""
    interrupted: bool = False  # Ctrl-C: what was recorded stays, the rest is listed as skipped
    sandboxed: bool = True  # False when graded with --no-sandbox

    @property
    def graded(self) -> list[Result]:
        return [result for result in self.results if result.status == Status.GRADED]

    @property
    def failed(self) -> list[Result]:
        return [result for result in self.results if result.status == Status.FAILED]

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2)

    def summary(self, slowest: int = 3) -> str:
        lines = [
            f"autograde {self.assignment}{'' if self.sandboxed else ' (NO SANDBOX)'}: "
            f"{len(self.graded)} graded, {len(self.failed)} failed, "
            f"{len(self.results) - len(self.graded) - len(self.failed)} skipped, "
            f"{self.seconds:.1f} s with {self.workers} worker(s)"
        ]
        for result in self.failed:
            lines.append(f"  failed  {result.student}: {result.reason}")
        for result in self.results:
            if result.status == Status.SKIPPED:
                lines.append(f"  skipped {result.student}: {result.reason}")
        for result in self.graded:
            if result.reason:
                lines.append(f"  note    {result.student}: {result.reason}")
            if result.dropped:
                lines.append(
                    f"  dropped {result.student}: {', '.join(result.dropped[:5])}"
                    + (f" and {len(result.dropped) - 5} more" if len(result.dropped) > 5 else "")
                )
        ran = [result for result in self.graded + self.failed if result.seconds > 0]
        ran = sorted(ran, key=lambda result: -result.seconds)[:slowest]
        if ran:
            lines.append(
                "  slowest: " + ", ".join(f"{result.student} {result.seconds:.1f} s" for result in ran)
            )
        return "\n".join(lines + self.score_table())

    def score_table(self) -> list[str]:
        """One line per submission with a score (graded now, or graded before and skipped), by student."""
        scored = sorted(
            (result for result in self.results if result.score is not None), key=lambda result: result.student
        )
        if not scored:
            return []
        width = max(len("student"), *(len(result.student) for result in scored))
        lines = [f"  {'student':<{width}} {'score':>11}  status"]
        for result in scored:
            status = "hand-grading pending" if result.needs_manual_grade else result.status
            lines.append(f"  {result.student:<{width}} {result.score:>5g}/{result.max_score:<5g}  {status}")
        return lines


STATUS_FILE = "status-{assignment}.json"  # under RUNS_DIR: each student's last outcome, for the export


def read_status(course_dir: Path, assignment: str) -> dict[str, dict]:
    """{student: the last Result of that student, as a dict}; empty before the first run."""
    path = Path(course_dir) / RUNS_DIR / STATUS_FILE.format(assignment=assignment)
    return json.loads(path.read_text()) if path.exists() else {}


def write_status(course_dir: Path, assignment: str, report: RunReport) -> None:
    status = read_status(course_dir, assignment)
    for result in report.results:
        entry = dataclasses.asdict(result)
        if result.status == Status.SKIPPED and result.student in status:  # keep what the grading itself found
            entry = status[result.student]
        status[result.student] = entry
    path = Path(course_dir) / RUNS_DIR / STATUS_FILE.format(assignment=assignment)
    atomic.write_text(path, json.dumps(status, indent=2, sort_keys=True))
