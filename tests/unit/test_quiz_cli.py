"""`rnn-course quiz ...` in the terminal: scripted answers, list, progress."""

import re

import yaml

from rnn_course.cli import main
from tests.helpers.paths import ROOT

PRACTICE = yaml.safe_load((ROOT / "quiz_bank" / "sets.yaml").read_text())["sets"]["practice"]["items"]


def keyed_answers():
    """The practice keys as written in the YAML (and proven by `quiz check`), in the set's order."""
    items = {}
    for path in (ROOT / "quiz_bank").glob("*.yaml"):
        for item in yaml.safe_load(path.read_text()).get("items", []):
            items[item["id"]] = item
    return [items[item_id]["answer"] for item_id in PRACTICE], items


def score(out: str) -> tuple[int, int]:
    right, total = re.search(r"^Score: (\d+) / (\d+)$", out, flags=re.M).groups()
    return int(right), int(total)


def test_practice_with_the_right_answers_scores_five_of_five(capsys):
    answers, _ = keyed_answers()
    assert main(["quiz", "practice", "--seed", "11", "--answers", *answers]) == 0
    out = capsys.readouterr().out
    assert score(out) == (5, 5)
    assert out.count("Correct.") == 5


def test_practice_with_a_wrong_answer_scores_lower_and_explains_the_misconception(capsys):
    answers, items = keyed_answers()
    wrong_choice = items[PRACTICE[3]]["choices"][1]  # "nn.RNN accepts only 2-D input"
    answers[3] = wrong_choice["text"]
    assert main(["quiz", "practice", "--seed", "11", "--answers", *answers, answers[3]]) == 0
    out = capsys.readouterr().out
    assert score(out) == (4, 5)
    assert wrong_choice["feedback"][:40] in out
    assert "comes back later" in out and "(again)" in out


def test_letters_work_with_a_fixed_seed(capsys):
    from rnn_course.quiz.bank import load_bank
    from rnn_course.quiz.engine import Session

    session = Session(load_bank(), "practice", seed=5)
    letters = ["ABCD"[min(q.correct_indices)] for q in session.queue]
    assert main(["quiz", "practice", "--seed", "5", "--answers", *letters]) == 0
    assert score(capsys.readouterr().out) == (5, 5)


def test_an_answer_that_names_no_choice_is_refused(capsys):
    assert main(["quiz", "practice", "--seed", "1", "--answers", "Q"]) == 2
    assert "answer 1: 'Q' is not a choice" in capsys.readouterr().err


def test_unknown_set_exits_non_zero_with_the_known_sets(capsys):
    assert main(["quiz", "nope"]) == 2
    err = capsys.readouterr().err
    assert "no set named 'nope'" in err and "practice" in err


def test_list_shows_every_set(capsys):
    assert main(["quiz", "list"]) == 0
    out = capsys.readouterr().out
    for name in ("practice", "test", "lesson1", "lesson2", "lesson3", "lesson4", "lesson5"):
        assert re.search(rf"^{name}\s+\d+ questions", out, flags=re.M)
    assert re.search(r"^test\s+14 questions .*\(drawn from \d+\)$", out, flags=re.M)


def test_progress_shows_mastery_per_topic_and_misconceptions(capsys):
    answers, items = keyed_answers()
    wrong_choice = items[PRACTICE[2]]["choices"][1]  # (7, 4, 3): batch_first ignored
    answers[2] = wrong_choice["text"]
    main(["quiz", "practice", "--learner", "learner_a", "--seed", "2", "--answers", *answers])
    capsys.readouterr()
    assert main(["quiz", "progress", "--learner", "learner_a"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"shapes\s+1 / 2", out) and re.search(r"syntax\s+2 / 2", out)
    described = yaml.safe_load((ROOT / "quiz_bank" / "misconceptions.yaml").read_text())["misconceptions"]
    assert f"1 x  {described[wrong_choice['misconception']]}" in out


def test_progress_for_a_new_learner(capsys):
    assert main(["quiz", "progress", "--learner", "nobody"]) == 0
    assert "No quiz attempts yet" in capsys.readouterr().out


def test_interactive_session_with_hint_and_quit(capsys, monkeypatch):
    replies = iter(["h", "zz", "q"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(replies))
    assert main(["quiz", "practice", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "Hint: Think about what" in out and "'zz' is not a choice" in out
    assert "Stopped after 0 of 5 questions." in out and "Score so far: 0 / 5" in out


def test_free_response_answers_in_the_terminal(capsys):
    from rnn_course.quiz.bank import load_bank
    from rnn_course.quiz.engine import Session

    session = Session(load_bank(), "lesson5", seed=4)
    answers = [q.key.replace(" ", "") if q.free else "ABCD"[min(q.correct_indices)] for q in session.queue]
    assert any(q.free for q in session.queue)
    assert main(["quiz", "lesson5", "--seed", "4", "--answers", *answers]) == 0
    out = capsys.readouterr().out
    assert score(out) == (4, 4) and "(type a shape, e.g. (2, 4, 20))" in out


def test_a_typed_answer_that_is_no_shape_is_refused(capsys):
    from rnn_course.quiz.bank import load_bank
    from rnn_course.quiz.engine import Session

    session = Session(load_bank(), "lesson1", seed=4)
    answers = ["a lot" if q.free else "ABCD"[min(q.correct_indices)] for q in session.queue]
    assert main(["quiz", "lesson1", "--seed", "4", "--answers", *answers]) == 2
    assert "'a lot' is not a shape" in capsys.readouterr().err
