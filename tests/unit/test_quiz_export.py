"""Exports: normalised JSON with every item and its key, and Moodle GIFT that parses back."""

import json
import re

import pytest

from rnn_course.cli import main
from rnn_course.quiz.bank import load_bank
from rnn_course.quiz.export import gift_escape, to_gift, to_json
from tests.conftest import ROOT

BANK = load_bank([ROOT / "quiz_bank"])


@pytest.fixture(scope="module")
def exported():
    return json.loads(to_json(BANK))


def test_json_has_every_item_with_its_key(exported):
    assert {item["id"] for item in exported["items"]} == set(BANK.items)
    for item in exported["items"]:
        assert {"id", "sets", "difficulty", "stem", "code", "choices", "answer", "topic"} <= item.keys()
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


def test_gift_escaping():
    assert gift_escape("a=b: {c}~#\\\nx") == "a\\=b\\: \\{c\\}\\~\\#\\\\\\nx"


def parse_gift(text):
    """A small GIFT reader: title, and the answers of each question with their marks."""
    questions = []
    for block in text.strip().split("\n\n"):
        if block.startswith("$CATEGORY"):
            continue
        title = re.search(r"^::(.+?)::", block, flags=re.M).group(1)
        body = block[block.index("{") :]
        answers = re.findall(r"^\t([=~])(%-?[\d.]+%)?(.*?)#", body, flags=re.M)
        questions.append((title, answers))
    return questions


def test_gift_has_one_question_per_item_with_the_right_marks():
    questions = parse_gift(to_gift(BANK))
    assert sorted(title.replace("\\", "") for title, _ in questions) == sorted(BANK.items)
    for title, answers in questions:
        item = BANK.items[title.replace("\\", "")]
        assert len(answers) == len(item.choices)
        if item.multi:
            weights = [float(w.strip("%")) for _, w, _ in answers]
            assert abs(sum(w for w in weights if w > 0) - 100) < 1e-3
        else:
            assert [mark for mark, _, _ in answers].count("=") == 1
            (right,) = [text for mark, _, text in answers if mark == "="]
            if not item.is_variant:
                assert right.replace("\\", "") == item.answer


def test_gift_blocks_have_no_blank_lines_inside():
    for block in to_gift(BANK).strip().split("\n\n"):
        assert block.startswith("$CATEGORY") or (block.count("{") - block.count("\\{")) == 1


def test_export_command_writes_files(tmp_path, capsys):
    assert main(["quiz", "export", "--format", "gift", "--output", str(tmp_path / "bank.gift")]) == 0
    assert main(["quiz", "export", "--format", "json", "-o", str(tmp_path / "bank.json")]) == 0
    assert len(json.loads((tmp_path / "bank.json").read_text())["items"]) == len(BANK.items)
    assert "$CATEGORY: rnn-course/packing" in (tmp_path / "bank.gift").read_text()


def test_export_refuses_a_broken_bank(capsys):
    path = ROOT / "tests" / "unit" / "quiz_fixtures" / "broken" / "duplicate_id.yaml"
    assert main(["quiz", "export", str(path)]) == 1
    assert "duplicate id 'fixed-shape'" in capsys.readouterr().err
