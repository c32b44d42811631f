"""The progress store: atomic, locked writes; a corrupt file is kept aside and the learner told."""

import json
import multiprocessing

import pytest

from rnn_course.quiz.progress import ENV_VAR, FILE_NAME, Store, data_dir


def attempt(n=0, learner="learner_a", correct=True, topic="shapes", misconceptions=()):
    return dict(
        learner=learner,
        set_name="practice",
        attempt=1,
        item_id=f"item-{n}",
        topic=topic,
        correct=correct,
        retry=False,
        misconceptions=list(misconceptions),
    )


def test_data_dir_follows_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "x"))
    assert data_dir() == tmp_path / "x"
    monkeypatch.delenv(ENV_VAR)
    assert "rnn-course" in str(data_dir())


def test_records_survive_a_new_store(tmp_path):
    Store(tmp_path).record(**attempt(1))
    Store(tmp_path).record(**attempt(2, correct=False, misconceptions=["swapped"]))
    attempts = Store(tmp_path).attempts("learner_a")
    assert [a["item"] for a in attempts] == ["item-1", "item-2"]
    report = Store(tmp_path).report("learner_a")
    assert report["topics"] == {"shapes": [1, 2]} and report["misconceptions"] == [("swapped", 1)]


def test_next_attempt_counts_sessions(tmp_path):
    store = Store(tmp_path)
    assert store.next_attempt("learner_a", "practice") == 1
    store.record(**attempt())
    assert store.next_attempt("learner_a", "practice") == 2
    assert store.next_attempt("learner_b", "practice") == 1


@pytest.mark.parametrize("content", ["{not json", '{"version": 1, "attempts": "oops"}', "\xff\xfe garbage"])
def test_a_corrupt_file_is_kept_aside_and_a_fresh_one_started(tmp_path, content):
    path = tmp_path / FILE_NAME
    path.write_bytes(content.encode("latin-1"))
    store = Store(tmp_path)
    store.record(**attempt(1))
    backups = list(tmp_path.glob(FILE_NAME + ".corrupt-*"))
    assert len(backups) == 1 and backups[0].read_bytes() == content.encode("latin-1")  # nothing lost
    assert json.loads(path.read_text())["attempts"][0]["item"] == "item-1"
    (notice,) = store.notices
    assert "kept as" in notice and str(backups[0]) in notice and "fresh progress file" in notice


def test_a_failed_write_leaves_the_old_file_whole(tmp_path, monkeypatch):
    store = Store(tmp_path)
    store.record(**attempt(1))
    before = (tmp_path / FILE_NAME).read_text()

    def broken_dump(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(json, "dump", broken_dump)
    with pytest.raises(OSError):
        store.record(**attempt(2))
    assert (tmp_path / FILE_NAME).read_text() == before
    assert not list(tmp_path.glob("*.tmp"))


def _writer(directory, learner, count):
    store = Store(directory)
    for n in range(count):
        store.record(**attempt(n, learner=learner))


def test_two_writers_never_tear_the_file_or_lose_a_record(tmp_path):
    context = multiprocessing.get_context("fork")
    learners = ("learner_a", "learner_b")
    writers = [context.Process(target=_writer, args=(tmp_path, name, 40)) for name in learners]
    for process in writers:
        process.start()
    for process in writers:
        process.join(60)
        assert process.exitcode == 0
    data = json.loads((tmp_path / FILE_NAME).read_text())
    assert len(data["attempts"]) == 80
    assert sorted({a["learner"] for a in data["attempts"]}) == ["learner_a", "learner_b"]
    assert not list(tmp_path.glob(FILE_NAME + ".corrupt-*"))


def test_an_unusable_folder_costs_the_record_not_the_quiz(tmp_path):
    from rnn_course.quiz.bank import load_bank
    from rnn_course.quiz.engine import Session

    (tmp_path / "a-file").write_text("not a folder")
    session = Session(load_bank(), "practice", seed=1, store=Store(tmp_path / "a-file" / "inner"))
    session.answer(session.current.correct_indices)
    assert session.score == 1 and "could not be saved" in session.notices[0]


def test_the_store_records_the_choice_picked_and_the_answer_typed(tmp_path):
    from rnn_course.quiz.bank import load_bank
    from rnn_course.quiz.engine import Session

    bank = load_bank()
    session = Session(bank, "lesson2", seed=1, store=Store(tmp_path), item_ids=["shapes-error-text"])
    question = session.current
    wrong = next(i for i, o in enumerate(question.options) if not o.correct)
    session.answer({wrong})
    free = Session(bank, "lesson1", seed=1, store=Store(tmp_path), item_ids=["syntax-weight-shape"])
    free.answer("torch.Size([1, 2])")
    first, typed = Store(tmp_path).attempts()
    item = bank.items["shapes-error-text"]
    assert item.choices[first["picked"][0]].text == question.options[wrong].text and first["typed"] is None
    assert first["credit"] == 0 and first["misconceptions"] == [question.options[wrong].misconception]
    assert typed["typed"] == "torch.Size([1, 2])" and typed["picked"] == [] and typed["correct"] is False


def test_attempt_numbers_go_on_after_a_damaged_file_is_set_aside(tmp_path):
    store = Store(tmp_path)
    for number in (1, 2, 3):
        store.record(**{**attempt(number), "attempt": number})
    path = tmp_path / FILE_NAME
    path.write_text(path.read_text()[:-40])  # cut short: no longer JSON
    again = Store(tmp_path)
    assert again.next_attempt("learner_a", "practice") == 4  # not 1: the draws of attempt 1 would come back
    assert again.notices and "Expecting" not in again.notices[0]
    assert Store(tmp_path).next_attempt("learner_a", "practice") == 4  # kept in the fresh file
