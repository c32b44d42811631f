"""Spaced review: Leitner boxes from the learner's history; due items come back, templates as new draws."""

import time

import ipywidgets as widgets

from rnn_course.cli import main
from rnn_course.quiz import quiz_widget as quiz
from rnn_course.quiz.bank import load_bank
from rnn_course.quiz.engine import Session
from rnn_course.quiz.progress import Store
from rnn_course.quiz.review import BOX_WAIT_S, DAY, cards, due, outlook, when
from tests.helpers.paths import ROOT

BANK = load_bank([ROOT / "quiz_bank"])
NOW = 1_800_000_000.0


def answer(item, correct, at, learner="learner_a", set_name="lesson2"):
    return dict(learner=learner, set_name=set_name, attempt=1, item=item, correct=correct, time=at)


def test_right_answers_climb_the_boxes_and_a_miss_sends_an_item_back_to_box_one():
    history = [
        answer("shapes-unbatched", True, NOW - 30 * DAY),
        answer("shapes-unbatched", True, NOW - 20 * DAY),
        answer("shapes-unbatched", True, NOW - 10 * DAY),
        answer("shapes-error-text", True, NOW - 10 * DAY),
        answer("shapes-error-text", False, NOW - 1 * DAY),
        answer("no-such-item", False, NOW),
    ]
    deck = cards(history, BANK)
    assert set(deck) == {"shapes-unbatched", "shapes-error-text"}  # a removed item is ignored
    assert deck["shapes-unbatched"].box == 4 and deck["shapes-error-text"].box == 1
    assert deck["shapes-error-text"].due == NOW - DAY + BOX_WAIT_S[0]
    assert deck["shapes-unbatched"].due == NOW - 10 * DAY + BOX_WAIT_S[3]
    assert due(deck, NOW) == ["shapes-unbatched", "shapes-error-text"]  # longest overdue first
    assert due(deck, NOW - 9.9 * DAY) == []


def test_the_boxes_are_the_ones_the_docs_promise():
    """docs/quizzes.md: a miss -> box 1, due after 10 minutes; a right answer one box up: 1, 3, 7, 21 days."""
    docs = " ".join((ROOT / "docs" / "quizzes.md").read_text().split())
    assert "(due again after 10 minutes)" in docs and "(due after 1, 3, 7, then 21 days)" in docs
    assert BOX_WAIT_S == (600, 1 * DAY, 3 * DAY, 7 * DAY, 21 * DAY)

    def wait(*answers):
        """(correct, retry) answers a minute apart -> how long after the last one the item is due."""
        history = [
            {**answer("shapes-unbatched", right, NOW + 60 * k), "retry": retry}
            for k, (right, retry) in enumerate(answers)
        ]
        return cards(history, BANK)["shapes-unbatched"].due - (NOW + 60 * (len(answers) - 1))

    first_right = wait((True, False))
    assert first_right == 1 * DAY  # a right first answer goes up from box 1 to box 2
    assert wait((False, False)) == 10 * 60  # a miss: box 1
    assert wait((False, False), (True, True)) <= first_right  # a right retry of a miss proves less
    assert wait((False, False), (True, True)) == 10 * 60
    assert [wait(*[(True, False)] * n) for n in (2, 3, 4, 5)] == [3 * DAY, 7 * DAY, 21 * DAY, 21 * DAY]
    assert wait((True, False), (True, False), (False, False)) == 10 * 60


def test_a_missed_item_comes_back_soon_and_a_mastered_one_rarely():
    missed = cards([answer("shapes-unbatched", False, NOW)], BANK)["shapes-unbatched"]
    mastered = cards([answer("shapes-unbatched", True, NOW - k) for k in range(5)], BANK)["shapes-unbatched"]
    assert missed.due - NOW <= 3600 and mastered.due - NOW >= 14 * DAY


def test_outlook_says_what_is_due_and_when():
    deck = cards([answer("shapes-unbatched", True, NOW), answer("packing-layout", False, NOW - DAY)], BANK)
    lines = outlook(deck, NOW, BANK)
    assert lines[0] == "Spaced review: 1 question due now (from 04_packing.ipynb)"
    assert lines[1] == "  next: 1 question in 1 day (from 02_shapes.ipynb)"
    assert not any("box" in line or "shapes-unbatched" in line for line in lines)  # words, not ids
    assert when(2 * DAY) == "in 2 days" and when(-1) == "now" and when(DAY - 60) == "in 1 day"


def seed_history(data_dir, item_ids, correct=False, days_ago=2):
    store = Store(data_dir)
    for item_id in item_ids:
        store.record(**answer(item_id, correct, time.time() - days_ago * DAY))
    return store


def test_terminal_review_asks_the_due_items_and_templates_come_back_as_new_draws(data_dir, capsys):
    seed_history(data_dir, ["shapes-hn-batch-first", "shapes-unbatched"])
    first = next(
        q
        for q in Session(BANK, "lesson2", learner="learner_a", attempt=1).queue
        if q.item.id == "shapes-hn-batch-first"
    )
    review = Session(BANK, "review", learner="learner_a", attempt=1, item_ids=["shapes-hn-batch-first"])
    assert review.queue[0].params != first.params
    assert main(["quiz", "review", "--learner", "learner_a", "--answers", "A", "A"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Spaced review: the questions that are due: 2 questions")
    assert "[1/2]" in out and "[2/" in out and "What is the shape of `h_n`?" in out
    recorded = Store(data_dir).attempts("learner_a")
    assert [a["set_name"] for a in recorded[-2:]] == ["review", "review"]


def test_terminal_review_with_nothing_due_says_when(data_dir, capsys):
    seed_history(data_dir, ["shapes-unbatched"], correct=True, days_ago=0)
    assert main(["quiz", "review", "--learner", "learner_a"]) == 0
    out = capsys.readouterr().out
    assert "Nothing is due for review." in out and "next: 1 question in 1 day (from 02_shapes.ipynb)" in out


def test_progress_shows_what_is_due_and_when(data_dir, capsys):
    seed_history(data_dir, ["shapes-error-text"], correct=False, days_ago=1)
    seed_history(data_dir, ["shapes-unbatched"], correct=True, days_ago=0)
    assert main(["quiz", "progress", "--learner", "learner_a"]) == 0
    out = capsys.readouterr().out
    assert "Spaced review: 1 question due now (from 02_shapes.ipynb)" in out
    assert "next: 1 question in 1 day (from 02_shapes.ipynb)" in out


def test_the_review_widget_asks_the_due_items(data_dir):
    seed_history(data_dir, ["shapes-unbatched", "packing-layout"])
    w = quiz("review", learner="learner_a")
    assert {q.item.id for q in w.session.queue} == {"shapes-unbatched", "packing-layout"}
    assert "Spaced review" in w.children[0].value and w.session.total == 2


def test_the_review_widget_with_nothing_due_says_when(data_dir):
    w = quiz("review", learner="learner_a")
    assert isinstance(w, widgets.HTML) and "Nothing is due for review" in w.value
    assert "answer a quiz first" in w.value
