"""The terminal quiz as a learner meets it: a real terminal (a pty), keys typed, the screen read back."""

import os
import select
import subprocess
import sys
import time

import pytest

from rnn_course.quiz.bank import load_bank
from rnn_course.quiz.engine import Session, letter

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")

SEED = 1


class Terminal:
    """`rnn-course quiz ...` on a pseudo-terminal: type a line, read the screen until some text shows."""

    def __init__(self, args, data_dir):
        self.main, side = os.openpty()
        env = {**os.environ, "RNN_COURSE_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "rnn_course.cli", "quiz", *args],
            stdin=side, stdout=side, stderr=side, env=env, close_fds=True,
        )  # fmt: skip
        os.close(side)
        self.screen = ""

    def read_until(self, text: str, timeout_s: float = 60) -> str:
        """Everything shown from the last read up to and including `text`."""
        deadline = time.monotonic() + timeout_s
        while text not in self.screen:
            left = deadline - time.monotonic()
            if left <= 0 or self.process.poll() is not None and not select.select([self.main], [], [], 0)[0]:
                raise AssertionError(f"{text!r} never shown; the screen:\n{self.screen[-2000:]}")
            if select.select([self.main], [], [], min(left, 0.5))[0]:
                try:
                    self.screen += os.read(self.main, 65536).decode(errors="replace").replace("\r\n", "\n")
                except OSError:  # the quiz has exited and closed its side
                    continue
        shown, _, self.screen = self.screen.partition(text)
        return shown + text

    def type(self, line: str) -> None:
        os.write(self.main, (line + "\n").encode())

    def close(self) -> int:
        """Wait for the quiz to exit (killed after 30 s); its exit status."""
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()
        finally:
            if self.main is not None:
                os.close(self.main)
                self.main = None


@pytest.fixture
def terminal(tmp_path):
    opened = []

    def open_(*args):
        opened.append(Terminal(["--learner", "learner_t", "--seed", str(SEED), *args], tmp_path))
        return opened[-1]

    yield open_
    for term in opened:
        if term.process.poll() is None:
            term.process.kill()
        if term.main is not None:
            term.close()


PROMPT = "Your answer (h: hint, q: quit): "
AFTER = "q: quit: "


def test_the_solution_comes_only_after_an_answer_and_a_miss_keeps_the_answer_back(terminal):
    first = Session(load_bank(), "practice", seed=SEED).current
    term = terminal("practice")
    screen = term.read_until(PROMPT)
    assert "[1/5]" in screen and "The answer" not in screen
    term.type("s")
    screen = term.read_until(PROMPT)
    assert "comes after your answer" in screen and "Solution" not in screen
    wrong = next(i for i in range(len(first.options)) if i not in first.correct_indices)
    term.type(letter(wrong))
    screen = term.read_until(AFTER)
    assert "Not quite." in screen and "comes back later" in screen
    assert "The answer:" not in screen and "Solution:" not in screen  # it comes back as a memory test
    right = ", ".join(f"{letter(i)}. {first.options[i].text}" for i in sorted(first.correct_indices))
    assert right not in screen
    term.type("s")  # asked for, after the answer
    screen = term.read_until(AFTER)
    assert f"The answer: {right}" in screen and "Solution:" in screen
    term.type("")
    screen = term.read_until(PROMPT)
    assert "[2/5]" in screen  # numbered in the set, not in the queue that grew with the retry
    term.type("q")
    screen = term.read_until("Score so far")
    assert "Stopped after 1 of 5 questions." in screen
    assert term.close() == 0


def test_a_damaged_progress_file_is_told_on_the_first_screen_and_kept_aside(terminal, tmp_path):
    (tmp_path / "progress.json").write_text('{"version": 1, "attempts": [')
    term = terminal("practice")
    screen = term.read_until(PROMPT)
    assert "progress file was damaged" in screen and "kept as" in screen and "[1/5]" in screen
    assert screen.index("kept as") < screen.index("[1/5]")  # before the first question
    assert "Expecting" not in screen  # no parser message
    kept = list(tmp_path.glob("progress.json.corrupt-*"))
    assert len(kept) == 1 and kept[0].read_text() == '{"version": 1, "attempts": ['
    term.type("q")
    rest = term.read_until("Score so far")
    assert "kept as" not in rest  # told once
    assert term.close() == 0
