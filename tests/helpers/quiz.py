"""The quiz bank as the YAML says it: the practice set and its keyed answers."""

import yaml

from tests.helpers.paths import ROOT

BANK = ROOT / "quiz_bank"
PRACTICE = yaml.safe_load((BANK / "sets.yaml").read_text())["sets"]["practice"]["items"]


def keyed_answers():
    """The practice keys as written in the YAML (and proven by `quiz check`), in the set's order."""
    items = {}
    for path in BANK.glob("*.yaml"):
        for item in yaml.safe_load(path.read_text()).get("items", []):
            items[item["id"]] = item
    return [items[item_id]["answer"] for item_id in PRACTICE], items
