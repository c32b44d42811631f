"""Spaced review with Leitner boxes: a missed item comes back soon, one answered right again and again rarely.

An item met for the first time starts in box 1. A right first try moves it one box up (at most the last):
answered right the first time, it is due again after 1 day, then 3, 7 and 21 days. A miss sends it back to
box 1 (due after 10 minutes), and the right retry of a miss in the same session keeps it there: it was
just seen, so it proves nothing about memory. An item is due once the wait of its box has passed since it
was last answered. Template items come back as new draws, because a review session seeds its variants with
its own attempt number.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from rnn_course.quiz.bank import Bank
from rnn_course.quiz.engine import Session

MINUTE, DAY = 60.0, 86400.0
BOX_WAIT_S = (10 * MINUTE, 1 * DAY, 3 * DAY, 7 * DAY, 21 * DAY)  # box 1 .. box 5
REVIEW_SET = "review"
REVIEW_SIZE = 10  # at most this many due items in one review session


@dataclass
class Card:
    item_id: str
    box: int  # 1 .. len(BOX_WAIT_S)
    last: float  # when it was last answered (seconds since the epoch)

    @property
    def due(self) -> float:
        return self.last + BOX_WAIT_S[self.box - 1]


def cards(attempts: list[dict], bank: Bank) -> dict[str, Card]:
    """Each item the learner has met, in its Leitner box, from their answers in time order."""
    deck: dict[str, Card] = {}
    for attempt in sorted(attempts, key=lambda a: a.get("time", 0)):
        item_id = attempt.get("item")
        if item_id not in bank.items:
            continue  # an item since removed from the bank
        card = deck.get(item_id) or Card(item_id, 1, 0.0)
        if not attempt.get("correct"):
            card.box = 1
        elif not attempt.get("retry"):  # a right retry right after a miss stays in box 1
            card.box = min(card.box + 1, len(BOX_WAIT_S))
        card.last = float(attempt.get("time", 0))
        deck[item_id] = card
    return deck


def due(deck: dict[str, Card], now: float | None = None, limit: int = REVIEW_SIZE) -> list[str]:
    """The ids of the items due now, the longest overdue first."""
    now = time.time() if now is None else now
    ready = sorted((card for card in deck.values() if card.due <= now), key=lambda card: card.due)
    return [card.item_id for card in ready[:limit]]


def when(seconds: float) -> str:
    """A wait in words: 'now', 'in 8 minutes', 'in 3 hours', 'in 2 days'."""
    if seconds <= 0:
        return "now"
    for size, unit in ((DAY, "day"), (3600.0, "hour"), (MINUTE, "minute")):
        if seconds >= 0.95 * size:  # 23 h 59 min after a right answer is 'in 1 day'
            count = round(seconds / size)
            return f"in {count} {unit}{'s' if count != 1 else ''}"
    return "in under a minute"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


def _where(bank: Bank | None, item_ids: list[str]) -> str:
    """' (from 02_shapes.ipynb and 04_packing.ipynb)': the lessons of these items, in words."""
    if bank is None:
        return ""
    lessons = sorted({bank.items[i].lesson["notebook"] for i in item_ids if i in bank.items})
    return f" (from {' and '.join(lessons)})" if lessons else ""


def outlook(deck: dict[str, Card], now: float | None = None, bank: Bank | None = None) -> list[str]:
    """Lines that say, in words, what is due now and what comes next, and when."""
    now = time.time() if now is None else now
    if not deck:
        return ["Spaced review: nothing yet; answer a quiz first."]
    ready = due(deck, now, limit=len(deck))
    lines = [f"Spaced review: {_plural(len(ready), 'question')} due now{_where(bank, ready)}"]
    later: dict[str, list[str]] = {}  # 'in 1 day' -> the items due then, soonest first
    for card in sorted((c for c in deck.values() if c.due > now), key=lambda c: c.due):
        later.setdefault(when(card.due - now), []).append(card.item_id)
    for wait, ids in list(later.items())[:3]:
        lines.append(f"  next: {_plural(len(ids), 'question')} {wait}{_where(bank, ids)}")
    return lines


def next_review(deck: dict[str, Card], how: str, now: float | None = None) -> str:
    """One sentence for the end of a quiz: when the spaced review next has questions, and how to take it."""
    now = time.time() if now is None else now
    if not deck:
        return ""
    ready = due(deck, now, limit=len(deck))
    if ready:
        count, wait = len(ready), "now"
    else:
        soonest = when(min(card.due for card in deck.values()) - now)
        count, wait = sum(when(card.due - now) == soonest for card in deck.values()), soonest
    verb, them = ("is", "it") if count == 1 else ("are", "them")
    return f"Spaced review: {_plural(count, 'question')} {verb} due {wait}; take {them} with {how}."


def review_session(bank: Bank, learner: str, store, attempt: int, seed: int | None = None, now=None):
    """(a Session over the due items, []) or, when nothing is due, (None, lines saying what comes when)."""
    deck = cards(store.attempts(learner) if store is not None else [], bank)
    ids = due(deck, now)
    if not ids:
        return None, outlook(deck, now, bank)
    session = Session(
        bank, REVIEW_SET, learner=learner, attempt=attempt, seed=seed, store=store, item_ids=ids
    )
    return session, []
