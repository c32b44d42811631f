"""A local store of quiz attempts: atomic writes under a lock; a corrupt file is kept aside, never lost."""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import time
from collections import Counter
from pathlib import Path

import platformdirs

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; writes stay atomic through os.replace
    fcntl = None

ENV_VAR = "RNN_COURSE_DATA_DIR"
FILE_NAME = "progress.json"
VERSION = 1


def default_learner() -> str:
    """The learner's name when none is given: RNN_COURSE_LEARNER, else JUPYTERHUB_USER, else the login."""
    from rnn_course.quiz.identity import learner

    return learner()


def data_dir() -> Path:
    """$RNN_COURSE_DATA_DIR if set (tests use a temporary one), else the user's data directory."""
    return Path(os.environ.get(ENV_VAR) or platformdirs.user_data_dir("rnn-course", appauthor=False))


def _fresh(attempts_before: int = 0) -> dict:
    """An empty store; after a reset, `attempts_before` keeps attempt numbers (and so the draws) new."""
    data = {"version": VERSION, "attempts": []}
    if attempts_before:
        data["attempts_before"] = attempts_before
    return data


def _highest_attempt(text: str) -> int:
    """The highest attempt number still legible in a damaged file (0 if none)."""
    return max((int(n) for n in re.findall(r'"attempt"\s*:\s*(\d+)', text)), default=0)


def _valid(data) -> bool:
    return (
        isinstance(data, dict)
        and data.get("version") == VERSION
        and isinstance(data.get("attempts"), list)
        and all(isinstance(a, dict) and {"learner", "item", "correct"} <= a.keys() for a in data["attempts"])
    )


class Store:
    """Attempts of every learner in one JSON file. Each write re-reads, appends and replaces under a lock."""

    def __init__(self, directory: Path | str | None = None):
        self.directory = Path(directory) if directory else data_dir()
        self.path = self.directory / FILE_NAME
        self.lock_path = self.directory / (FILE_NAME + ".lock")
        self.notices: list[str] = []  # what the learner must be told (a file kept aside, say)

    @contextlib.contextmanager
    def _locked(self):
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "a+") as lock:
            if fcntl:
                fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                if fcntl:
                    fcntl.flock(lock, fcntl.LOCK_UN)

    def _read(self) -> dict:
        """The stored data; a file that cannot be parsed is renamed aside and a fresh store begins."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return _fresh()
        except (OSError, UnicodeDecodeError):
            return self._set_aside("could not be read", "")
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            return self._set_aside("was damaged", text)
        if not _valid(data):
            return self._set_aside("was not in the form this course writes", text)
        return data

    def _set_aside(self, why: str, text: str) -> dict:
        backup = self.path.with_name(f"{FILE_NAME}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
        fresh = _fresh(_highest_attempt(text))
        try:
            os.replace(self.path, backup)
            kept = f"it was kept as {backup}"
            self._write(fresh)  # now, so that attempt numbers go on from where they were
        except OSError:
            kept = "it could not be moved aside and was left in place"
        self.notices.append(
            f"Your quiz progress file {why}, so {kept} and a fresh progress file was started. "
            "Answers from before are not counted in your progress or your spaced review."
        )
        return fresh

    def _write(self, data: dict) -> None:
        """Write to a temporary file in the same folder, then atomically replace the store."""
        handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=FILE_NAME + ".", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                json.dump(data, file, indent=1)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise

    def load(self) -> dict:
        with self._locked():
            return self._read()

    def record(self, **attempt) -> None:
        """Append one answered question (learner, set_name, attempt, item_id, topic, correct, ...)."""
        entry = {"time": time.time(), **attempt}
        entry["item"] = entry.pop("item_id", entry.get("item"))
        with self._locked():
            data = self._read()
            data["attempts"].append(entry)
            self._write(data)

    def attempts(self, learner: str | None = None) -> list[dict]:
        return [a for a in self.load()["attempts"] if learner is None or a["learner"] == learner]

    def next_attempt(self, learner: str, set_name: str) -> int:
        """1 + the number of sessions this learner already started on this set (seeds the next variants)."""
        data = self.load()
        mine = [a for a in data["attempts"] if a["learner"] == learner and a.get("set_name") == set_name]
        done = [a.get("attempt") for a in mine if isinstance(a.get("attempt"), int)]
        before = data.get("attempts_before", 0)  # numbers used before a damaged file was set aside
        return max(done, default=before if isinstance(before, int) else 0) + 1

    def report(self, learner: str | None = None) -> dict:
        """Per-topic mastery (first tries right / first tries) and the misconceptions met most often."""
        topics: dict[str, list[int]] = {}
        seen = Counter()
        for attempt in self.attempts(learner):
            if not attempt.get("retry"):
                right, total = topics.setdefault(attempt.get("topic", "?"), [0, 0])
                topics[attempt.get("topic", "?")] = [right + bool(attempt["correct"]), total + 1]
            seen.update(attempt.get("misconceptions") or [])
        return {"topics": topics, "misconceptions": seen.most_common()}
