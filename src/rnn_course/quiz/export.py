"""Write the bank out: normalised JSON, Moodle GIFT, or Moodle XML (with variant pools for templates).

What each format keeps (the README's quiz-author section has the table):
- JSON: everything, one draw per template.
- GIFT: stem, code, choices with per-answer feedback, the solution as general feedback, the id and tags
  (`[id:]`, `[tag:]`); free-response items as numerical or short-answer questions. It has no field for
  the hint.
- Moodle XML: all of GIFT's, plus the hint, `<idnumber>`, `<tags>` and shuffled answers.
Select-all items score as the notebook and terminal do: each right choice 1/k, each wrong one -1/k, floored
at 0 (Moodle's own multiple-answer weights).
"""

from __future__ import annotations

import html
import json
import re
from xml.etree import ElementTree as ET

from rnn_course.quiz.bank import Bank, Item
from rnn_course.quiz.engine import Question, absolute_tolerance, derive_seed, read_shape, render

EXPORT_SEED = 0  # a template exported once is the variant drawn with this seed
CATEGORY = "rnn-course"


def draws(item: Item, count: int) -> list[Question]:
    """`count` draws of a template with different sizes (each verified by torch as it renders), answers
    shuffled with the draw's seed; a fixed item, or count 1, gives the seed-0 draw alone."""
    if not item.is_variant or count <= 1:
        return [render(item, EXPORT_SEED, shuffle=True)]
    found: dict[tuple, Question] = {}
    for n in range(50 * count):
        question = render(item, derive_seed("export", item.id, n), shuffle=True)
        found.setdefault(tuple(sorted(question.params.items())), question)
        if len(found) == count:
            break
    return list(found.values())


def questions(bank: Bank, variants: int = 1) -> list[tuple[str, Question]]:
    """(category, question) for every item: a template with variants > 1 gets a sub-category of its own."""
    out = []
    for item in bank.items.values():
        drawn = draws(item, variants)
        category = f"{CATEGORY}/{item.topic}" + (f"/{item.id}" if len(drawn) > 1 else "")
        out += [(category, question) for question in drawn]
    return out


def question_name(question: Question) -> str:
    """The item id, with the drawn sizes for a variant: `shapes-hn-batch-first (N=3, L=5, ...)`."""
    params = ", ".join(f"{k}={v}" for k, v in question.params.items())
    return f"{question.item.id} ({params})" if params else question.item.id


def question_idnumber(question: Question, variants: int) -> str:
    """Unique per question: the item id, plus the seed for a variant in a pool."""
    return (
        f"{question.item.id}@{question.seed}"
        if question.item.is_variant and variants > 1
        else question.item.id
    )


def tags(item: Item) -> list[str]:
    misconceptions = sorted({c.misconception for c in item.choices if c.misconception})
    return [f"topic-{item.topic}", f"difficulty-{item.difficulty}"] + [
        f"misconception-{m}" for m in misconceptions
    ]


def percent(value: float) -> str:
    """Moodle's fractions as percentages: 100, 50, 33.33333, -50, ..."""
    return f"{100 * value:.5f}".rstrip("0").rstrip(".")


def shape_forms(key: str) -> list[str]:
    """The spellings of a shape a short-answer question accepts (Moodle compares the text exactly)."""
    sizes = read_shape(key)
    inner, tight = ", ".join(map(str, sizes)), ",".join(map(str, sizes))
    comma = "," if len(sizes) == 1 else ""
    forms = [f"({inner}{comma})", f"({tight}{comma})", f"[{inner}]", f"[{tight}]", inner, tight]
    forms.append(f"torch.Size([{inner}])")
    return list(dict.fromkeys(forms))


def text_html(text: str) -> str:
    """The bank's little Markdown (`code`, **bold**, line breaks) as HTML; nothing else is read as markup."""
    escaped = html.escape(text.strip(), quote=False)
    escaped = re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
    escaped = re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", escaped)
    return escaped.replace("\n", "<br>")


def question_html(question: Question) -> str:
    body = f"<p>{text_html(question.stem)}</p>"
    if question.code.strip():
        body += f"<pre><code>{html.escape(question.code.rstrip(), quote=False)}</code></pre>"
    return body


def solution_html(question: Question) -> str:
    steps = "".join(f"<li>{text_html(step)}</li>" for step in question.solution)
    lesson = question.item.lesson
    where = f"{html.escape(lesson['notebook'])}, section “{text_html(lesson['section'])}”"
    return f"<ol>{steps}</ol><p>Lesson: {where}</p>"


# ---------------------------------------------------------------------------------------------------------
# JSON


def to_json(bank: Bank) -> str:
    """Every item: id, sets, topic, difficulty, stem, code, choices with the key, and its teaching text."""
    items = []
    for question in (render(item, EXPORT_SEED, shuffle=False) for item in bank.items.values()):
        item = question.item
        entry = {
            "id": item.id,
            "topic": item.topic,
            "sets": bank.sets_of(item.id),
            "difficulty": item.difficulty,
            "type": "free_response" if item.free else "multi_select" if item.multi else "single_choice",
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
            "hint": question.hint.strip(),
            "solution": question.solution,
            "mistakes": question.mistakes,
            "lesson": item.lesson,
        }
        if item.free:
            entry.update(
                response=item.response, tolerance=absolute_tolerance(item, question.key), answer=question.key
            )
            entry["wrong_answers"] = [
                {"text": o.text, "feedback": o.feedback, "misconception": o.misconception}
                for o in question.known_wrong
            ]
        else:
            right = [o.text for o in question.options if o.correct]
            entry["answer"] = right if item.multi else right[0]
        items.append(entry)
    sets = {
        name: {"title": s.title, "items": s.items, "draw": s.draw, "shuffle": s.shuffle}
        for name, s in bank.sets.items()
    }
    return json.dumps({"items": items, "sets": sets, "misconceptions": bank.misconceptions}, indent=2) + "\n"


# ---------------------------------------------------------------------------------------------------------
# GIFT


GIFT_SPECIAL = "\\~=#{}:"


def gift_escape(text: str) -> str:
    """Escape GIFT's special characters and write newlines as `\\n` so a question stays one block."""
    for char in GIFT_SPECIAL:
        text = text.replace(char, "\\" + char)
    return text.replace("\n", "\\n")


def _gift_tag(text: str) -> str:
    return text.replace("]", "\\]")


def _gift_question(question: Question, variants: int) -> str:
    """One question. Its text is [html], so `*` and `_` in answers (H*I + H*H) stay as written."""
    item = question.item
    comment = f"[id:{_gift_tag(question_idnumber(question, variants))}] " + " ".join(
        f"[tag:{_gift_tag(t)}]" for t in tags(item)
    )
    numerical = "#" if item.response == "number" else ""  # `{#` opens a numerical question
    title = f"::{gift_escape(question_name(question))}::[html]{gift_escape(question_html(question))}"
    lines = [f"// {comment}", f"{title} {{{numerical}"]
    if item.response == "number":
        lines.append(f"\t={question.key}:{absolute_tolerance(item, question.key):g}#Right.")
        for option in question.known_wrong:
            lines.append(f"\t=%0%{option.text}:0#{gift_escape(text_html(option.feedback))}")
    elif item.response == "shape":
        for form in shape_forms(question.key):
            lines.append(f"\t={gift_escape(form)}#{gift_escape('Right.')}")
        for option in question.known_wrong:
            lines.append(f"\t=%0%{gift_escape(option.text)}#{gift_escape(text_html(option.feedback))}")
    else:
        for option, weight in zip(question.options, question.weights(), strict=True):
            feedback = gift_escape(text_html(option.feedback or "Right."))
            if item.multi:
                lines.append(f"\t~%{percent(weight)}%{gift_escape(text_html(option.text))}#{feedback}")
            else:
                mark = "=" if option.correct else "~"
                lines.append(f"\t{mark}{gift_escape(text_html(option.text))}#{feedback}")
    lines.append(f"\t####{gift_escape(solution_html(question))}")
    lines.append("}")
    return "\n".join(lines)


def to_gift(bank: Bank, variants: int = 1) -> str:
    """The bank as Moodle GIFT: one category per topic (and per template's pool), blank lines between."""
    blocks, current = [], None
    for category, question in sorted(questions(bank, variants), key=lambda cq: cq[0]):
        if category != current:
            blocks.append(f"$CATEGORY: {category}")
            current = category
        blocks.append(_gift_question(question, variants))
    return "\n\n".join(blocks) + "\n"


# ---------------------------------------------------------------------------------------------------------
# Moodle XML


def _text(parent: ET.Element, tag: str, text: str, fmt: str | None = "html", **attributes) -> ET.Element:
    element = ET.SubElement(parent, tag, **({"format": fmt} if fmt else {}), **attributes)
    ET.SubElement(element, "text").text = text
    return element


def _answer(parent, fraction: float, text: str, feedback: str, fmt="html", tolerance: float | None = None):
    answer = _text(parent, "answer", text, fmt, fraction=percent(fraction))
    if tolerance is not None:
        ET.SubElement(answer, "tolerance").text = f"{tolerance:g}"
    _text(answer, "feedback", feedback)


def _moodle_question(question: Question, variants: int) -> ET.Element:
    item = question.item
    kind = {"number": "numerical", "shape": "shortanswer"}.get(item.response, "multichoice")
    element = ET.Element("question", type=kind)
    _text(element, "name", question_name(question), fmt=None)
    _text(element, "questiontext", question_html(question))
    _text(element, "generalfeedback", solution_html(question))
    ET.SubElement(element, "defaultgrade").text = "1"
    ET.SubElement(element, "penalty").text = "0.3333333"
    ET.SubElement(element, "hidden").text = "0"
    ET.SubElement(element, "idnumber").text = question_idnumber(question, variants)
    if kind == "multichoice":
        ET.SubElement(element, "single").text = "false" if item.multi else "true"
        ET.SubElement(element, "shuffleanswers").text = "true"
        ET.SubElement(element, "answernumbering").text = "ABCD"
        for option, weight in zip(question.options, question.weights(), strict=True):
            _answer(element, weight, text_html(option.text), text_html(option.feedback or "Right."))
    elif kind == "numerical":
        _answer(
            element,
            1.0,
            question.key,
            "Right.",
            fmt="moodle_auto_format",
            tolerance=absolute_tolerance(item, question.key),
        )
        for option in question.known_wrong:
            _answer(
                element, 0.0, option.text, text_html(option.feedback), fmt="moodle_auto_format", tolerance=0
            )
    else:
        ET.SubElement(element, "usecase").text = "0"
        for form in shape_forms(question.key):
            _answer(element, 1.0, form, "Right.", fmt="moodle_auto_format")
        for option in question.known_wrong:
            _answer(element, 0.0, option.text, text_html(option.feedback), fmt="moodle_auto_format")
    _text(element, "hint", text_html(question.hint))
    tag_list = ET.SubElement(element, "tags")
    for tag in tags(item):
        _text(tag_list, "tag", tag, fmt=None)
    return element


def to_moodle_xml(bank: Bank, variants: int = 1) -> str:
    """The bank as Moodle XML: a category per topic, and with `variants` > 1 a pool per template."""
    quiz = ET.Element("quiz")
    current = None
    for category, question in sorted(questions(bank, variants), key=lambda cq: cq[0]):
        if category != current:
            marker = ET.SubElement(quiz, "question", type="category")
            _text(marker, "category", f"$course$/top/{category}", fmt=None)
            current = category
        quiz.append(_moodle_question(question, variants))
    ET.indent(quiz)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(quiz, encoding="unicode") + "\n"


EXPORTERS = {"json": to_json, "gift": to_gift, "moodle-xml": to_moodle_xml}
