"""The late penalty as nbgrader's LateSubmissionPlugin: a share of the score per started day late."""

from __future__ import annotations

import math

from nbgrader.plugins import LateSubmissionPlugin

DAY = 86_400


class PenaltyPerDay(LateSubmissionPlugin):
    """c.LatePolicy.penalty_per_day of the score per started day late; else nbgrader's penalty_method."""

    def late_submission_penalty(
        self, student_id: str, score: float, total_seconds_late: float
    ) -> float | None:
        from rnn_course.grading.config import LatePolicy

        rate = LatePolicy(config=self.config).penalty_per_day
        if rate <= 0:
            return super().late_submission_penalty(student_id, score, total_seconds_late)
        if total_seconds_late <= 0:
            return None
        return round(min(score, score * rate * math.ceil(total_seconds_late / DAY)), 6)
