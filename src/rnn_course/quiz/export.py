"""Write the bank out: normalised JSON, or Moodle GIFT for import into a Moodle question bank."""

from __future__ import annotations

import json

from rnn_course.quiz.bank import Bank
from rnn_course.quiz.engine import Question, render

EXPORT_SEED = 0  # parameterised items are exported as the variant drawn with this seed


def _questions(bank: Bank) -> list[Question]:
    """Each item rendered once, its choices in the bank's order (exports are not shuffled)."""
    return [render(item, EXPORT_SEED, shuffle=False) for item in bank.items.values()]


def to_json(bank: Bank) -> str:
    """Every item: id, sets, topic, difficulty, stem, code, choices with the key, and its teaching text."""
    items = []
    for question in _questions(bank):
        item = question.item
        items.append(
            {
                "id": item.id,
                "topic": item.topic,
                "sets": bank.sets_of(item.id),
                "difficulty": item.difficulty,
                "type": "multi_select" if item.multi else "single_choice",
                "variant": {"seed": EXPORT_SEED, "params": question.params} if item.is_variant else None,
                "stem": question.stem.strip(),
                "code": question.code.rstrip("\n"),
                "choices": [
                    {
                        "text": option.text,
                        "correct": option.correct,
                        "feedback": option.feedback,
                        "misconception": option.misconception,
                    }
                    for option in question.options
                ],
                "answer": [o.text for o in question.options if o.correct]
                if item.multi
                else next(o.text for o in question.options if o.correct),
                "hint": question.hint.strip(),
                "solution": question.solution,
                "mistakes": question.mistakes,
                "lesson": item.lesson,
            }
        )
    sets = {name: {"title": s.title, "items": s.items} for name, s in bank.sets.items()}
    return json.dumps({"items": items, "sets": sets, "misconceptions": bank.misconceptions}, indent=2) + "\n"


GIFT_SPECIAL = "\\~=#{}:"


def gift_escape(text: str) -> str:
    """Escape GIFT's special characters and write newlines as `\\n` so a question stays one block."""
    for char in GIFT_SPECIAL:
        text = text.replace(char, "\\" + char)
    return text.replace("\n", "\\n")


def _gift_question(question: Question) -> str:
    item = question.item
    body = question.stem.strip()
    if question.code.strip():
        # An indented block: the Markdown that Moodle renders has no fenced code.
        body += "\n\n" + "\n".join("    " + line for line in question.code.rstrip("\n").splitlines())
    lines = [
        f"// {item.id} ({item.topic}, {item.difficulty})",
        f"::{gift_escape(item.id)}::[markdown]{gift_escape(body)} {{",
    ]
    n_correct = len(question.correct_indices)
    for option in question.options:
        feedback = option.feedback or "Right."
        if item.multi:
            weight = f"%{_percent(100 / n_correct)}%" if option.correct else f"%{_percent(-100 / n_correct)}%"
            lines.append(f"\t~{weight}{gift_escape(option.text)}#{gift_escape(feedback)}")
        else:
            mark = "=" if option.correct else "~"
            lines.append(f"\t{mark}{gift_escape(option.text)}#{gift_escape(feedback)}")
    solution = " ".join(question.solution)
    lines.append(f"\t####{gift_escape(solution)}")
    lines.append("}")
    return "\n".join(lines)


def _percent(value: float) -> str:
    """Moodle accepts a fixed list of fractions: 50, 33.33333, 25 and their negatives cover 4 answers."""
    return f"{value:.5f}".rstrip("0").rstrip(".")


def to_gift(bank: Bank) -> str:
    """The whole bank as Moodle GIFT: one category per topic, one question per item (blank line between)."""
    blocks = []
    for topic in sorted({item.topic for item in bank.items.values()}):
        blocks.append(f"$CATEGORY: rnn-course/{topic}")
        blocks += [_gift_question(q) for q in _questions(bank) if q.item.topic == topic]
    return "\n\n".join(blocks) + "\n"
