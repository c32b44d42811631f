"""Spaced review with Leitner boxes: a missed item comes back soon, one answered right again and again rarely.

Every answer moves an item: right -> one box up (at most the last), wrong -> back to box 1. An item is due
once the wait of its box has passed since it was last answered. Template items come back as new draws,
because a review session seeds its variants with its own attempt number.
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
        card = deck.get(item_id) or Card(item_id, 0, 0.0)
        card.box = min(card.box + 1, len(BOX_WAIT_S)) if attempt.get("correct") else 1
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
        if seconds >= size:
            count = round(seconds / size)
            return f"in {count} {unit}{'s' if count != 1 else ''}"
    return "in under a minute"


def outlook(deck: dict[str, Card], now: float | None = None) -> list[str]:
    """Lines that say what is due now and what comes next, and when."""
    now = time.time() if now is None else now
    if not deck:
        return ["Spaced review: nothing yet; answer a quiz first."]
    ready = due(deck, now, limit=len(deck))
    lines = [f"Spaced review: {len(ready)} item(s) due now" + (f" ({', '.join(ready[:5])})" if ready else "")]
    later = sorted((card for card in deck.values() if card.due > now), key=lambda card: card.due)
    for card in later[:3]:
        lines.append(f"  next: {card.item_id} (box {card.box}) {when(card.due - now)}")
    return lines


def review_session(bank: Bank, learner: str, store, attempt: int, seed: int | None = None, now=None):
    """(a Session over the due items, []) or, when nothing is due, (None, lines saying what comes when)."""
    deck = cards(store.attempts(learner) if store is not None else [], bank)
    ids = due(deck, now)
    if not ids:
        return None, outlook(deck, now)
    session = Session(
        bank, REVIEW_SET, learner=learner, attempt=attempt, seed=seed, store=store, item_ids=ids
    )
    return session, []
