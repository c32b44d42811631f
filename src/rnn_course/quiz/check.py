"""`quiz check`: every item rendered (several draws of a template) and its key proven by running torch."""

from __future__ import annotations

from rnn_course.quiz.bank import Bank, BankError, Item
from rnn_course.quiz.engine import collisions, render

VARIANT_SEEDS_CHECKED = 5  # `quiz check` renders this many variants of every parameterised item
COLLISION_DRAWS = 100  # draws of an item with plausible mistakes; a 5 % collision rate slips by 0.6 % of runs


def check_item(item: Item) -> list[BankError]:
    """Render the item (several variants if it has params) and run its verification; return its problems."""
    if not item.verify and not item.unverified:
        return [
            BankError(
                item.path,
                item.line,
                f"item '{item.id}' has no 'verify': add one that sets 'answer' from running torch, "
                "or, for a purely conceptual item, say why with 'unverified: <reason>'",
            )
        ]
    seeds = range(VARIANT_SEEDS_CHECKED) if item.is_variant else [0]
    if item.is_variant and item.plausible:
        seeds = range(COLLISION_DRAWS)
    for seed in seeds:
        try:
            question = render(item, seed, verify_static=True)
        except BankError as error:
            return [error]
        scoring = collisions(question)
        if scoring:
            drawn = ", ".join(f"{k}={v}" for k, v in question.params.items())
            return [
                BankError(
                    item.path,
                    item.line,
                    f"item '{item.id}': draw {seed} ({drawn}) lets the plausible mistake "
                    f"'{scoring[0]}' score; narrow the params or add a 'distinct' group",
                )
            ]
    return []


def check_bank(bank: Bank) -> list[BankError]:
    """Every problem of the bank: schema problems first, then each item's rendering and verification."""
    problems = list(bank.problems)
    for item in bank.items.values():
        if item.id not in bank.flawed:  # an item already reported is not run: one problem, one message
            problems += check_item(item)
    return sorted(problems, key=lambda p: (p.path, p.line))
