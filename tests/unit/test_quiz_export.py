"""Exports: JSON with every item and its key; GIFT and Moodle XML parse back, item by item, to the bank."""

import html
import json
import re
from xml.etree import ElementTree as ET

import pytest

from rnn_course.cli import main
from rnn_course.quiz.bank import load_bank
from rnn_course.quiz.engine import absolute_tolerance, read_shape, render
from rnn_course.quiz.export import EXPORT_SEED, gift_escape, text_html, to_gift, to_json, to_moodle_xml
from tests.helpers.paths import ROOT

BANK = load_bank([ROOT / "quiz_bank"])
TEMPLATES = [item for item in BANK.items.values() if item.is_variant]


@pytest.fixture(scope="module")
def exported():
    return json.loads(to_json(BANK))


def test_json_has_every_item_with_its_key(exported):
    assert {item["id"] for item in exported["items"]} == set(BANK.items)
    for item in exported["items"]:
        assert {"id", "sets", "difficulty", "stem", "code", "choices", "answer", "topic"} <= item.keys()
        if item["type"] == "free_response":
            assert item["choices"] == [] and item["answer"] and item["response"] in ("shape", "number")
            continue
        right = [c["text"] for c in item["choices"] if c["correct"]]
        assert right == (item["answer"] if isinstance(item["answer"], list) else [item["answer"]])
        for choice in item["choices"]:
            assert choice["correct"] or (
                choice["feedback"] and choice["misconception"] in exported["misconceptions"]
            )


def test_json_lists_sets_and_renders_variants(exported):
    by_id = {item["id"]: item for item in exported["items"]}
    assert "practice" in by_id["shapes-batch-first-output"]["sets"]
    variant = by_id["shapes-hn-batch-first"]
    assert variant["variant"]["params"] and "{{" not in variant["code"] + json.dumps(variant["choices"])
    assert list(exported["sets"]["practice"]["items"]) == BANK.sets["practice"].items
    assert exported["sets"]["test"]["draw"] == BANK.sets["test"].draw


# --- GIFT -----------------------------------------------------------------------------------------------


def test_gift_escaping():
    assert gift_escape("a=b: {c}~#\\\nx") == "a\\=b\\: \\{c\\}\\~\\#\\\\\\nx"


def gift_unescape(text: str) -> str:
    return html.unescape(re.sub(r"\\(.)", r"\1", text.replace("\\n", "\n")))


def parse_gift(text):
    """A small GIFT reader, written from the format's rules: category, [id:], [tag:], title, answers."""
    questions, category = [], None
    for block in text.strip().split("\n\n"):
        if block.startswith("$CATEGORY: "):
            category = block.split(": ", 1)[1]
            continue
        comment, title_line, *rest = block.splitlines()
        idnumber = re.search(r"\[id:(.+?)\]", comment).group(1)
        tags = re.findall(r"\[tag:(.+?)\]", comment)
        title = gift_unescape(re.match(r"::(.+?)(?<!\\)::", title_line).group(1))
        numerical = title_line.endswith("{#")
        answers, general = [], None
        for line in rest[:-1]:
            body = line.strip()
            if body.startswith("####"):
                general = gift_unescape(body[4:])
                continue
            mark, weight, answer = re.match(r"([=~])(%-?[\d.]+%)?(.*)", body).groups()
            answer, _, feedback = re.split(r"(?<!\\)(#)", answer, maxsplit=1)
            answers.append(
                (mark, float(weight.strip("%")) if weight else None, gift_unescape(answer), feedback)
            )
        questions.append(
            dict(
                category=category,
                id=idnumber,
                tags=tags,
                title=title,
                numerical=numerical,
                answers=answers,
                general=general,
                text=title_line,
            )
        )
    return questions


def expected_tags(item):
    wrong = sorted({c.misconception for c in item.choices if c.misconception})
    return [f"topic-{item.topic}", f"difficulty-{item.difficulty}"] + [f"misconception-{m}" for m in wrong]


@pytest.fixture(scope="module")
def gift():
    return parse_gift(to_gift(BANK))


def test_gift_round_trips_item_by_item(gift):
    assert sorted(q["id"] for q in gift) == sorted(BANK.items)
    for parsed in gift:
        item = BANK.items[parsed["id"]]
        question = render(item, EXPORT_SEED, shuffle=True)
        assert parsed["category"] == f"rnn-course/{item.topic}" and parsed["tags"] == expected_tags(item)
        assert "[html]" in parsed["text"] and all(
            html.unescape(text_html(s)) in parsed["general"] for s in question.solution
        )
        if item.response == "number":
            assert parsed["numerical"]
            value, tolerance = parsed["answers"][0][2].split(":")
            assert float(value) == pytest.approx(float(question.key)) and float(tolerance) == pytest.approx(
                absolute_tolerance(item, question.key)
            )
            continue
        if item.response == "shape":
            right = [a for mark, w, a, _ in parsed["answers"] if w is None]
            assert all(read_shape(a) == read_shape(question.key) for a in right) and len(right) >= 5
            wrong = [a for mark, w, a, _ in parsed["answers"] if w == 0]
            assert wrong == [o.text for o in question.known_wrong]
            continue
        assert [a for _, _, a, _ in parsed["answers"]] == [
            html.unescape(text_html(o.text)) for o in question.options
        ]
        if item.multi:
            weights = [w for _, w, _, _ in parsed["answers"]]
            assert weights == pytest.approx([100 * w for w in question.weights()], abs=1e-3)
        else:
            assert [mark == "=" for mark, _, _, _ in parsed["answers"]] == [
                o.correct for o in question.options
            ]
        for (_, _, _, feedback), option in zip(parsed["answers"], question.options, strict=True):
            if not option.correct:
                assert gift_unescape(feedback) == html.unescape(text_html(option.feedback))


def test_gift_right_answer_is_not_always_first_and_the_shuffle_is_seeded(gift):
    firsts = [
        q["answers"][0][0] == "="
        for q in gift
        if not q["numerical"] and q["answers"][0][1] is None and not BANK.items[q["id"]].free
    ]
    assert 0 < sum(firsts) < len(firsts) / 2
    assert to_gift(BANK) == to_gift(BANK)


def test_gift_has_no_markdown_to_garble_formulas(gift):
    (param_count,) = [q for q in gift if q["id"] == "syntax-param-count"]
    assert "H*I + H*H + 2H" in param_count["general"]
    assert "[markdown]" not in to_gift(BANK)


def test_gift_blocks_have_no_blank_lines_inside():
    for block in to_gift(BANK).strip().split("\n\n"):
        assert block.startswith("$CATEGORY") or (block.count("{") - block.count("\\{")) == 1


@pytest.mark.slow
def test_gift_variant_pools_hold_verified_distinct_draws():
    pools = {}
    for parsed in parse_gift(to_gift(BANK, variants=5)):
        pools.setdefault(parsed["category"], []).append(parsed)
    for item in TEMPLATES:
        pool = pools[f"rnn-course/{item.topic}/{item.id}"]
        assert len(pool) == 5 and len({q["title"] for q in pool}) == 5
        for parsed in pool:
            item_id, seed = parsed["id"].split("@")
            question = render(BANK.items[item_id], int(seed), shuffle=True)
            if not item.free:
                (right,) = [a for mark, w, a, _ in parsed["answers"] if mark == "=" or (w or 0) > 0][:1] or [
                    None
                ]
                assert right in [html.unescape(text_html(o.text)) for o in question.options if o.correct]


# --- Moodle XML -------------------------------------------------------------------------------------------


def moodle_questions(text):
    root = ET.fromstring(text)
    category = None
    for element in root.findall("question"):
        if element.get("type") == "category":
            category = element.findtext("category/text")
            continue
        yield category, element


def test_moodle_xml_round_trips_item_by_item():
    seen = set()
    for category, element in moodle_questions(to_moodle_xml(BANK)):
        item = BANK.items[element.findtext("idnumber")]
        seen.add(item.id)
        question = render(item, EXPORT_SEED, shuffle=True)
        assert category == f"$course$/top/rnn-course/{item.topic}"
        assert element.findtext("hint/text") == text_html(item.hint)
        assert all(text_html(step) in element.findtext("generalfeedback/text") for step in question.solution)
        assert [t.text for t in element.findall("tags/tag/text")] == expected_tags(item)
        answers = element.findall("answer")
        fractions = [float(a.get("fraction")) for a in answers]
        texts = [a.findtext("text") for a in answers]
        feedback = [a.findtext("feedback/text") for a in answers]
        if item.response == "number":
            assert element.get("type") == "numerical" and texts[0] == question.key and fractions[0] == 100
            assert float(answers[0].findtext("tolerance")) == pytest.approx(
                absolute_tolerance(item, question.key)
            )
            assert texts[1:] == [o.text for o in question.known_wrong] and set(fractions[1:]) <= {0}
        elif item.response == "shape":
            assert element.get("type") == "shortanswer"
            right = [t for t, f in zip(texts, fractions, strict=True) if f == 100]
            assert "torch.Size" in right[-1] and all(read_shape(t) == read_shape(question.key) for t in right)
            assert feedback[len(right) :] == [text_html(o.feedback) for o in question.known_wrong]
        else:
            assert element.get("type") == "multichoice" and element.findtext("shuffleanswers") == "true"
            assert element.findtext("single") == ("false" if item.multi else "true")
            assert texts == [text_html(o.text) for o in question.options]
            assert fractions == pytest.approx([100 * w for w in question.weights()], abs=1e-3)
            for option, text in zip(question.options, feedback, strict=True):
                assert text == text_html(option.feedback or "Right.")
    assert seen == set(BANK.items)


@pytest.mark.slow
def test_moodle_xml_variant_pools_one_sub_category_per_template():
    pools = {}
    for category, element in moodle_questions(to_moodle_xml(BANK, variants=5)):
        pools.setdefault(category, []).append(element)
    for item in TEMPLATES:
        pool = pools[f"$course$/top/rnn-course/{item.topic}/{item.id}"]
        ids = [e.findtext("idnumber") for e in pool]
        assert len(set(ids)) == 5 and all(i.startswith(item.id + "@") for i in ids)
        for element in pool:
            question = render(item, int(element.findtext("idnumber").split("@")[1]), shuffle=True)
            if not item.free:
                right = [
                    a.findtext("text") for a in element.findall("answer") if float(a.get("fraction")) > 0
                ]
                assert right == [text_html(o.text) for o in question.options if o.correct]
    hn = pools["$course$/top/rnn-course/shapes/shapes-hn-batch-first"]
    for element in hn:  # no draw where batch size == sequence length (a swap would score)
        params = dict(re.findall(r"(\w+)=(\d+)", element.findtext("name/text")))
        assert params["N"] != params["L"] and params["L"] != params["NL"]


@pytest.mark.slow
def test_export_command_writes_files(tmp_path, capsys):
    assert main(["quiz", "export", "--format", "gift", "--output", str(tmp_path / "bank.gift")]) == 0
    assert main(["quiz", "export", "--format", "json", "-o", str(tmp_path / "bank.json")]) == 0
    out = tmp_path / "bank.xml"
    assert main(["quiz", "export", "--format", "moodle-xml", "--variants", "5", "-o", str(out)]) == 0
    assert len(json.loads((tmp_path / "bank.json").read_text())["items"]) == len(BANK.items)
    assert "$CATEGORY: rnn-course/packing" in (tmp_path / "bank.gift").read_text()
    assert len(list(moodle_questions(out.read_text()))) == len(BANK.items) + 4 * len(TEMPLATES)


def test_variants_with_json_are_refused(capsys):
    assert main(["quiz", "export", "--format", "json", "--variants", "3"]) == 2
    assert "--variants" in capsys.readouterr().err


def test_export_refuses_a_broken_bank(capsys):
    path = ROOT / "tests" / "unit" / "quiz_fixtures" / "broken" / "duplicate_id.yaml"
    assert main(["quiz", "export", str(path)]) == 1
    assert "duplicate id 'fixed-shape'" in capsys.readouterr().err
