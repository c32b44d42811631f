"""Item statistics for instructors: facility, discrimination and distractor pick rates from progress files."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from rnn_course.quiz.bank import Bank

MIN_LEARNERS = 5  # below this, discrimination is not reported


@dataclass
class ItemStats:
    item_id: str
    learners: int  # learners with a first try at the item
    facility: float  # share of first tries right (credit, so select-all counts its part)
    discrimination: float | None  # correlation of the item's credit with the rest of the learner's score
    picks: dict[int, float] = field(default_factory=dict)  # bank choice index -> share of first tries
    flags: list[str] = field(default_factory=list)


def read_attempts(paths: list[Path]) -> list[dict]:
    """Attempts from learners' progress files, or from a combined file (the same layout, many learners)."""
    attempts = []
    for path in paths:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValueError(f"{path}: cannot read it as a progress file ({error})") from None
        records = data.get("attempts") if isinstance(data, dict) else data
        if not isinstance(records, list) or not all(isinstance(a, dict) and "item" in a for a in records):
            raise ValueError(f"{path}: not a progress file (expected {{'attempts': [...]}})")
        attempts += records
    return attempts


def shared_names(paths: list[Path]) -> list[str]:
    """A warning for each learner name found in more than one progress file (on a Docker hub every
    learner is `jovyan`): their attempts are counted as one learner's."""
    files: dict[str, list[str]] = {}
    for path in paths:
        names = {attempt.get("learner", "?") for attempt in read_attempts([path])}
        for name in names:
            files.setdefault(name, []).append(Path(path).name)
    hint = "set RNN_COURSE_LEARNER per learner, or run the quiz on the hub (it sets JUPYTERHUB_USER)"
    return [
        f"learner {name!r} is in {len(found)} progress files ({', '.join(found)}), counted as one "
        f"learner; {hint}"
        for name, found in sorted(files.items())
        if len(found) > 1
    ]


def _credit(attempt: dict) -> float:
    return float(attempt.get("credit", float(bool(attempt.get("correct")))))


def first_tries(attempts: list[dict]) -> dict[tuple[str, str], dict]:
    """(learner, item) -> that learner's first answer to the item (later sessions and retries left out)."""
    first: dict[tuple[str, str], dict] = {}
    for attempt in sorted(attempts, key=lambda a: a.get("time", 0)):
        if not attempt.get("retry"):
            first.setdefault((attempt.get("learner", "?"), attempt["item"]), attempt)
    return first


def correlation(xs: list[float], ys: list[float]) -> float | None:
    """Pearson's r; None when either side does not vary."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sx = math.sqrt(sum((x - mx) ** 2 for x in xs))
    sy = math.sqrt(sum((y - my) ** 2 for y in ys))
    if sx == 0 or sy == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / (sx * sy)


def item_statistics(attempts: list[dict], bank: Bank) -> list[ItemStats]:
    """Per item, in bank order: facility, discrimination (item vs rest score), pick rates, and flags."""
    first = first_tries(attempts)
    by_learner: dict[str, dict[str, dict]] = {}
    for (learner, item_id), attempt in first.items():
        by_learner.setdefault(learner, {})[item_id] = attempt
    results = []
    for item_id, item in bank.items.items():
        answered = [(learner, tries[item_id]) for learner, tries in by_learner.items() if item_id in tries]
        if not answered:
            continue
        credits = [_credit(attempt) for _, attempt in answered]
        rest = []
        for learner, _ in answered:
            others = [_credit(a) for other_id, a in by_learner[learner].items() if other_id != item_id]
            rest.append(sum(others) / len(others) if others else 0.0)
        discrimination = correlation(credits, rest) if len(answered) >= MIN_LEARNERS else None
        stats = ItemStats(item_id, len(answered), sum(credits) / len(credits), discrimination)
        keys = [] if item.free else item.answer if item.multi else [item.answer]
        for index, choice in enumerate(item.choices):
            if choice.text not in keys:  # a distractor (or a typical wrong typed answer)
                picked = sum(index in (attempt.get("picked") or []) for _, attempt in answered)
                stats.picks[index] = picked / len(answered)
        if discrimination is not None and discrimination < 0:
            stats.flags.append(f"negative discrimination ({discrimination:+.2f})")
        if len(answered) >= MIN_LEARNERS:
            for index, rate in stats.picks.items():
                if rate == 0 and not item.free:
                    stats.flags.append(f"nobody picked '{item.choices[index].text}'")
        results.append(stats)
    return results


def table(results: list[ItemStats], bank: Bank) -> str:
    """A plain-text table, one row per item, then the flags."""
    lines = [f"{'item':34} {'n':>4} {'facility':>8} {'discr.':>7}  distractor pick rates"]
    for stats in results:
        item = bank.items[stats.item_id]
        discrimination = "-" if stats.discrimination is None else f"{stats.discrimination:+.2f}"
        picks = "  ".join(f"{_short(item.choices[i].text)} {rate:.0%}" for i, rate in stats.picks.items())
        lines.append(
            f"{stats.item_id:34} {stats.learners:>4} {stats.facility:>8.0%} {discrimination:>7}  {picks}"
        )
    flagged = [s for s in results if s.flags]
    if flagged:
        lines.append("")
        lines.append("Flagged:")
        lines += [f"  {s.item_id}: {flag}" for s in flagged for flag in s.flags]
    return "\n".join(lines)


def _short(text: str, width: int = 18) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def plot(results: list[ItemStats], path: Path) -> Path:
    """Facility against discrimination, one labelled point per item, flagged items in red."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [s for s in results if s.discrimination is not None]
    fig, ax = plt.subplots(figsize=(8, 5.5), dpi=150)
    kinds = {
        "tab:red": ("negative discrimination", lambda s: s.discrimination < 0),
        "tab:orange": ("a distractor nobody picked", lambda s: s.discrimination >= 0 and s.flags),
        "tab:blue": ("no flag", lambda s: not s.flags),
    }
    for colour, (label, member) in kinds.items():
        group = [s for s in shown if member(s)]
        ax.scatter(
            [s.facility for s in group], [s.discrimination for s in group], color=colour, s=30, label=label
        )
    for stats in shown:
        ax.annotate(
            stats.item_id,
            (stats.facility, stats.discrimination),
            fontsize=7,
            xytext=(3, 3),
            textcoords="offset points",
        )
    ax.legend(loc="lower right", fontsize=8)
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xlim(-0.05, 1.05)
    ax.set_xlabel("facility (share right on the first try)")
    ax.set_ylabel("discrimination (item vs rest score, Pearson r)")
    ax.set_title("Quiz items: how hard each is, and how well it separates stronger from weaker learners")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)
