"""Item statistics: simulated learners whose ability drives their answers; a planted bad item is flagged."""

import json
import math
import random

import numpy
import pytest
from PIL import Image

from rnn_course.cli import main
from rnn_course.quiz.bank import load_bank
from rnn_course.quiz.progress import Store
from rnn_course.quiz.stats import correlation, item_statistics, read_attempts
from tests.helpers.paths import ROOT

BANK = load_bank([ROOT / "quiz_bank"])
# Single-choice items with three or more distractors; the last one is planted: the able get it wrong.
GOOD = ["syntax-print-repr", "shapes-unbatched", "packing-layout", "hidden-hn-order", "using-clip-grad-norm"]
BAD = "packing-mismatched-batch-first"
DIFFICULTY = {
    "syntax-print-repr": -1.0,
    "shapes-unbatched": -0.5,
    "packing-layout": 0.0,
    "hidden-hn-order": 0.5,
    "using-clip-grad-norm": 1.0,
    BAD: 0.0,
}


def distractors(item_id):
    item = BANK.items[item_id]
    return [i for i, c in enumerate(item.choices) if c.text != item.answer]


def simulate(folder, learners=120, seed=0):
    """One progress file per learner. P(right) rises with ability, except on the planted item (it falls).
    A wrong learner picks one of the first two distractors, so each item's third one is never picked."""
    rng = random.Random(seed)
    files = []
    for n in range(learners):
        ability = rng.gauss(0, 1)
        store = Store(folder / f"learner_{n}")
        for t, item_id in enumerate(GOOD + [BAD]):
            slope = -2.0 if item_id == BAD else 2.0
            right = rng.random() < 1 / (1 + math.exp(-slope * (ability - DIFFICULTY[item_id])))
            item = BANK.items[item_id]
            picked = (
                [next(i for i, c in enumerate(item.choices) if c.text == item.answer)]
                if right
                else [rng.choice(distractors(item_id)[:2])]
            )
            store.record(
                learner=f"learner_{n}",
                set_name="test",
                attempt=1,
                item_id=item_id,
                topic=item.topic,
                correct=right,
                credit=float(right),
                retry=False,
                misconceptions=[],
                picked=picked,
                time=1000.0 + t,
            )
        files.append(store.path)
    return files


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return simulate(tmp_path_factory.mktemp("learners"))


def test_the_planted_item_has_negative_discrimination_and_the_good_ones_positive(files):
    results = {s.item_id: s for s in item_statistics(read_attempts(files), BANK)}
    assert set(results) == set(GOOD) | {BAD}
    assert results[BAD].discrimination < 0 and any("negative discrimination" in f for f in results[BAD].flags)
    for item_id in GOOD:
        assert results[item_id].discrimination > 0.1, item_id
        assert not any("negative" in f for f in results[item_id].flags)
    # Facility follows difficulty: the easiest item is answered right more often than the hardest.
    assert results["syntax-print-repr"].facility > results["using-clip-grad-norm"].facility


def test_distractor_pick_rates_and_the_unpicked_one_is_flagged(files):
    results = {s.item_id: s for s in item_statistics(read_attempts(files), BANK)}
    stats = results["shapes-unbatched"]
    first, second, third = distractors("shapes-unbatched")
    assert stats.picks[first] > 0 and stats.picks[second] > 0 and stats.picks[third] == 0
    assert sum(stats.picks.values()) == pytest.approx(1 - stats.facility)
    unpicked = BANK.items["shapes-unbatched"].choices[third].text
    assert f"nobody picked '{unpicked}'" in stats.flags


def test_the_stats_command_prints_a_table_and_draws_a_figure(files, tmp_path, capsys):
    png = tmp_path / "items.png"
    assert main(["quiz", "stats", *map(str, files), "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:4] == ["item", "n", "facility", "discr."]
    assert f"  {BAD}: negative discrimination" in out
    assert Image.open(png).size[0] >= 1000


def test_a_combined_file_reads_like_the_separate_ones(files, tmp_path):
    combined = tmp_path / "all.json"
    combined.write_text(
        json.dumps({"attempts": [a for f in files for a in json.loads(f.read_text())["attempts"]]})
    )
    assert len(read_attempts([combined])) == len(read_attempts(files)) == 6 * len(files)


def test_a_file_that_is_no_progress_file_is_refused(tmp_path, capsys):
    bad = tmp_path / "notes.json"
    bad.write_text('{"hello": 1}')
    assert main(["quiz", "stats", str(bad)]) == 1
    assert "notes.json: not a progress file" in capsys.readouterr().err


def test_correlation_is_pearson():
    xs, ys = [0, 1, 0, 1, 1], [0.1, 0.9, 0.2, 0.8, 0.3]
    assert correlation(xs, ys) == pytest.approx(numpy.corrcoef(xs, ys)[0, 1])
    assert correlation([1, 1, 1], [0, 1, 2]) is None
