"""The quiz learner on a hub: not the container's OS user; `quiz stats` warns when files share a name."""

import getpass

from rnn_course.cli import main
from rnn_course.quiz.identity import learner
from rnn_course.quiz.progress import Store
from tests.helpers.quiz import keyed_answers


def test_a_configured_course_id_comes_first_then_the_hub_user_then_the_os_user(monkeypatch):
    monkeypatch.setenv("RNN_COURSE_LEARNER", "s123")
    monkeypatch.setenv("JUPYTERHUB_USER", "jane")
    assert learner() == "s123"
    monkeypatch.delenv("RNN_COURSE_LEARNER")
    assert learner() == "jane"
    monkeypatch.setenv("JUPYTERHUB_USER", "  ")
    assert learner() == getpass.getuser()


def test_the_quiz_saves_progress_under_the_hub_user(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RNN_COURSE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("RNN_COURSE_LEARNER", raising=False)
    monkeypatch.setenv("JUPYTERHUB_USER", "hub-learner-7")
    answers, _ = keyed_answers()
    assert main(["quiz", "practice", "--seed", "11", "--answers", *answers]) == 0
    assert {attempt["learner"] for attempt in Store(tmp_path).attempts()} == {"hub-learner-7"}


def record(folder, name):
    store = Store(folder)
    store.record(
        learner=name,
        set_name="test",
        attempt=1,
        item_id="syntax-print-repr",
        topic="syntax",
        correct=True,
        credit=1.0,
        retry=False,
        misconceptions=[],
        picked=[0],
    )
    return store.path


def test_stats_warns_when_several_progress_files_carry_one_learner_name(tmp_path, capsys):
    files = [record(tmp_path / "a", "jovyan"), record(tmp_path / "b", "jovyan"), record(tmp_path / "c", "s1")]
    assert main(["quiz", "stats", *map(str, files)]) == 0
    err = capsys.readouterr().err
    assert "warning: learner 'jovyan' is in 2 progress files" in err and "counted as one learner" in err
    assert "'s1'" not in err


def test_stats_says_nothing_when_each_file_has_its_own_learner(tmp_path, capsys):
    files = [record(tmp_path / "a", "s1"), record(tmp_path / "b", "s2")]
    assert main(["quiz", "stats", *map(str, files)]) == 0
    assert "warning" not in capsys.readouterr().err
