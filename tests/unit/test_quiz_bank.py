"""The quiz bank: the shipped one passes `quiz check`; each broken fixture is refused at its file:line."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rnn_course.cli import main
from rnn_course.quiz.bank import load_bank
from tests.helpers.paths import ROOT

FIXTURES = ROOT / "tests" / "unit" / "quiz_fixtures"
BANK = ROOT / "quiz_bank"


@pytest.fixture(scope="module")
def bank():
    return load_bank([BANK])


@pytest.mark.slow
def test_quiz_check_passes_on_the_shipped_bank(capsys):
    assert main(["quiz", "check"]) == 0
    out = capsys.readouterr()
    assert "every verification passed" in out.out and out.err == ""


@pytest.mark.slow
def test_quiz_check_console_script_exit_codes():
    """The installed `rnn-course` script: 0 on the shipped bank, non-zero with file:line on a broken one."""
    script = [str(Path(sys.executable).with_name("rnn-course")), "quiz", "check"]
    good = subprocess.run(script, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert good.returncode == 0, good.stderr
    bad = subprocess.run(
        script + ["broken/duplicate_id.yaml"], cwd=FIXTURES, capture_output=True, text=True, timeout=120
    )
    assert bad.returncode == 1
    assert "broken/duplicate_id.yaml:32: duplicate id 'fixed-shape'" in bad.stderr


BROKEN = {
    "yaml_syntax": [
        "broken/yaml_syntax.yaml:26: YAML syntax error: mapping values are not allowed in this context"
    ],
    "missing_field": ["broken/missing_field.yaml:7: item 'fixed-shape' is missing required field 'hint'"],
    "unknown_field": [
        "broken/unknown_field.yaml:7: item 'fixed-shape' is missing required field 'hint'",
        "broken/unknown_field.yaml:26: unknown field 'hints' (did you mean 'hint'?)",
    ],
    "duplicate_id": [
        "broken/duplicate_id.yaml:32: duplicate id 'fixed-shape' "
        "(first defined at broken/duplicate_id.yaml:7)",
        "broken/duplicate_id.yaml:59: set 'mini' names unknown item id 'variant-shape'",
    ],
    "answer_outside": [
        "broken/answer_outside.yaml:22: answer '(4, 3, 7)' of item 'fixed-shape' is not one of its choices"
    ],
    "duplicate_choices": [
        "broken/duplicate_choices.yaml:19: duplicate choice '(7, 4, 3)' in item 'fixed-shape' "
        "(same as line 16)"
    ],
    "unknown_set_id": ["broken/unknown_set_id.yaml:61: set 'mini' names unknown item id 'variant-shapes'"],
    "verify_fails": [
        "broken/verify_fails.yaml:32: verification of item 'fixed-shape' failed: "
        "AssertionError: h_n has one row per layer"
    ],
    "verify_disagrees": [
        "broken/verify_disagrees.yaml:22: verification of item 'fixed-shape' disagrees with the key: "
        "torch gives '(4, 7, 3)', the key says '(7, 4, 3)'"
    ],
    "template_syntax": ["broken/template_syntax.yaml:37: template in 'stem' does not render: unexpected '}'"],
    "boolean_feedback": [
        "broken/boolean_feedback.yaml:17: 'feedback' must be text; "
        "quote it (YAML reads yes/no/on/off as booleans)"
    ],
    "variant_collides": [
        "broken/variant_collides.yaml:32: item 'variant-shape': two choices render to the same text "
        "in all 50 draws (widen the parameter ranges)"
    ],
    "no_verify": [
        "broken/no_verify.yaml:7: item 'fixed-shape' has no 'verify': add one that sets 'answer' "
        "from running torch, or, for a purely conceptual item, say why with 'unverified: <reason>'"
    ],
    "verify_and_unverified": [
        "broken/verify_and_unverified.yaml:30: an item has either 'verify' or 'unverified', not both"
    ],
    "template_undefined": [
        "broken/template_undefined.yaml:40: template in 'code' does not render: 'B' is undefined"
    ],
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_bank_is_refused_with_exact_file_line_messages(name, capsys, monkeypatch):
    monkeypatch.chdir(FIXTURES)
    assert main(["quiz", "check", f"broken/{name}.yaml"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[:-1] == BROKEN[name]
    assert err[-1] == f"quiz check: {len(BROKEN[name])} problem(s) in the bank"


def test_every_broken_fixture_has_a_test():
    assert {p.stem for p in (FIXTURES / "broken").glob("*.yaml")} == set(BROKEN)


def test_the_good_fixture_passes(capsys, monkeypatch):
    monkeypatch.chdir(FIXTURES)
    assert main(["quiz", "check", "good/bank.yaml"]) == 0


def test_problems_in_several_files_are_all_listed(capsys, monkeypatch):
    monkeypatch.chdir(FIXTURES)
    assert main(["quiz", "check", "broken/missing_field.yaml", "broken/unknown_set_id.yaml"]) == 1
    err = capsys.readouterr().err
    assert "broken/missing_field.yaml:7:" in err and "broken/unknown_set_id.yaml:61:" in err


def test_missing_file_is_a_clear_problem(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert main(["quiz", "check", "nope.yaml"]) == 1
    assert "nope.yaml:1: cannot read file" in capsys.readouterr().err


# --- the shipped sets follow the course's rules ---------------------------------------------------------


def raw_items():
    """The bank read with plain PyYAML (independent of our loader)."""
    items = {}
    for path in BANK.glob("*.yaml"):
        data = yaml.safe_load(path.read_text())
        for item in data.get("items", []):
            items[item["id"]] = dict(item, topic=data["topic"])
    return items


def test_practice_is_the_five_source_questions_in_order(bank):
    items = bank.items_of("practice")
    assert [i.id for i in items] == [
        "syntax-what-rnn-does",
        "syntax-constructor-order",
        "shapes-batch-first-output",
        "shapes-feature-mismatch",
        "packing-variable-lengths",
    ]
    assert [i.difficulty for i in items] == ["easy", "easy", "medium", "medium", "hard"]
    # The corrected Q4: the tensor is (seq 3, batch 5) and the fault is the feature size, not "2-D only".
    q4 = items[3]
    assert "(L=3, N=5, H_in=10)" in q4.code and "10 features" in q4.answer


def test_test_pool_is_large_and_mixes_difficulties(bank):
    pool = bank.items_of("test")
    assert len(pool) >= 20 and bank.sets["test"].size >= 10 and bank.sets["test"].shuffle
    for level in ("easy", "medium", "hard"):
        assert sum(i.difficulty == level for i in pool) >= 3, level


LESSON_SETS = [f"lesson{n}" for n in range(1, 6)]


def test_the_test_pool_shares_no_item_with_the_lesson_quizzes_or_the_practice(bank):
    pool = set(bank.sets["test"].items)
    for name in LESSON_SETS + ["practice"]:
        assert not pool & set(bank.sets[name].items), name


@pytest.mark.parametrize("learner", ["learner_a", "learner_b", "learner_c"])
def test_every_test_draw_covers_every_lesson(bank, learner):
    from rnn_course.quiz.engine import choose_items

    items = choose_items(bank, "test", f"{learner}:1")
    assert len(items) == bank.sets["test"].size == 14
    lessons = {item.lesson["notebook"] for item in items}
    assert lessons == {
        f"0{n}_{name}.ipynb"
        for n, name in enumerate(["rnn_syntax", "shapes", "hidden_state", "packing", "using_rnn"], 1)
    }
    assert "03_hidden_state.ipynb" in lessons and "05_using_rnn.ipynb" in lessons


def test_the_bank_is_deep_enough():
    bank = load_bank([BANK])
    assert len(bank.items) >= 45
    assert sum(item.is_variant for item in bank.items.values()) >= 12
    assert {item.response for item in bank.items.values() if item.free} == {"shape", "number"}
    for name in LESSON_SETS:
        assert all(item.verify for item in bank.items_of(name)), name


@pytest.mark.parametrize(
    "number,topic", [(1, "syntax"), (2, "shapes"), (3, "hidden_state"), (4, "packing"), (5, "using_rnn")]
)
def test_lesson_sets_have_two_to_four_items_on_their_topic(bank, number, topic):
    items = bank.items_of(f"lesson{number}")
    assert 2 <= len(items) <= 4
    assert {i.topic for i in items} == {topic}


def test_every_topic_has_its_own_file():
    for topic in ("syntax", "shapes", "hidden_state", "packing", "using_rnn"):
        assert yaml.safe_load((BANK / f"{topic}.yaml").read_text())["topic"] == topic


def test_no_text_names_a_choice_by_letter():
    text = json.dumps(raw_items())
    assert not re.search(r"(Option|option|choice)\s+[A-D]\b|->\s*[A-D]\b|= [A-D] \[", text)


MISCONCEPTIONS_TO_COVER = [
    "batch-first-changes-hn",
    "default-batch-first",
    "input-size-is-seq-len",
    "hn-is-output",
    "bidir-last-step-summarises-both",
    "view-flattens-per-sample",
    "hn-forward-layers-first",
    "padding-harmless",
    "out-last-on-padded",
    "lengths-on-gpu",
    "forgot-enforce-sorted",
    "mismatched-batch-first",
    "dropout-on-last-output",
    "no-detach-needed",
]


def test_every_listed_misconception_is_a_distractor_somewhere():
    used = {
        c.get("misconception")
        for item in raw_items().values()
        for c in item.get("choices", []) + item.get("wrong_answers", [])
        if isinstance(c, dict)
    }
    assert set(MISCONCEPTIONS_TO_COVER) <= used, set(MISCONCEPTIONS_TO_COVER) - used


def test_lesson_links_name_real_sections_of_existing_notebooks(bank):
    """Where a lesson notebook exists, the linked section is one of its headings, number and all: JupyterLab
    names a heading by its whole text, so the link's anchor finds it only then."""
    checked = 0
    for item in bank.items.values():
        path = ROOT / "notebooks" / item.lesson["notebook"]
        if not path.exists():
            continue
        cells = json.loads(path.read_text())["cells"]
        headings = [
            re.sub(r"^#+\s*", "", line).strip()
            for cell in cells
            if cell["cell_type"] == "markdown"
            for line in "".join(cell["source"]).splitlines()
            if line.startswith("#")
        ]
        assert item.lesson["section"] in headings, (item.id, item.lesson, headings)
        checked += 1
    assert checked > 0


WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen"
)
NUMBER_WORDS = {word: n for n, word in enumerate(WORDS.split())}


def practice_notebook_text() -> str:
    (path,) = (ROOT / "notebooks").glob("*_practice.ipynb")
    cells = json.loads(path.read_text())["cells"]
    return "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown")


def test_the_practice_notebook_states_the_real_set_sizes(bank):
    text = practice_notebook_text()
    sizes = {name: bank.sets[name].size for name in ("practice", "test")}
    stated = {
        "practice": re.findall(r"\*\*Practice\*\*: (\w+) questions", text),
        "test": re.findall(r"\*\*Test\*\*: (\w+) questions", text)
        + re.findall(r"## Test yourself\s+(\w+) questions", text),
    }
    assert len(stated["practice"]) == 1 and len(stated["test"]) == 2, stated
    for name, words in stated.items():
        assert [NUMBER_WORDS[w.lower()] for w in words] == [sizes[name]] * len(words), (name, words)
    quiz_page = (ROOT / "docs" / "quizzes.md").read_text()
    assert f"`test` ({sizes['test']} questions)" in quiz_page  # the docs page on taking quizzes
    assert "easy to hard" not in quiz_page  # the test is shuffled: it does not go from easy to hard


def test_the_practice_notebook_promises_checked_keys_only_if_they_are(bank):
    """The notebook says every key is checked against PyTorch: no item of its sets may be unverified."""
    assert "checked against PyTorch" in practice_notebook_text()
    for name in ("practice", "test"):
        for item in bank.items_of(name):
            assert item.verify and not item.unverified, (name, item.id)


def test_misconceptions_are_stated_as_wrong_beliefs(bank):
    """The quiz says "You may think that <belief>": no entry may carry the correction in brackets."""
    for key, text in bank.misconceptions.items():
        assert not re.search(r"\((it|they|that)\b", text), (key, text)


def test_every_misconception_is_used(bank):
    used = {c.misconception for item in bank.items.values() for c in item.choices} - {None}
    assert used == set(bank.misconceptions), set(bank.misconceptions) ^ used
