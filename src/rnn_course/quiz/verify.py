"""Run an item's code and its `verify` block with real PyTorch, so the bank proves its own answers."""

from __future__ import annotations

import contextlib
import io
import signal
import threading
import traceback
import warnings
from dataclasses import dataclass, field

from rnn_course.quiz.bank import BankError, Item

TIME_LIMIT_S = (
    20  # an item's code and verify block together; a loop that never ends is reported, not waited on
)


def shape(tensor) -> str:
    """torch.Size([4, 7, 3]) -> '(4, 7, 3)', the way choices write shapes."""
    return "(" + ", ".join(str(int(size)) for size in tensor.shape) + ("," if tensor.dim() == 1 else "") + ")"


def first_line(error: BaseException) -> str:
    """'RuntimeError: input.size(-1) must be ...': the type and the first line of the message."""
    message = str(error).strip().splitlines()
    return f"{type(error).__name__}: {message[0] if message else ''}".rstrip(": ")


def true_choices(claims: dict[str, bool], choices: list[str]) -> list[str]:
    """The choices whose claim holds; `claims` maps a piece of text found in exactly one choice to a bool.

    Every choice must be named by exactly one claim, so no choice's key goes unchecked.
    """
    for piece in claims:
        named = [choice for choice in choices if piece in choice]
        if len(named) != 1:
            raise ValueError(f"claim '{piece}' names {len(named)} choices; it must name exactly one")
    for choice in choices:
        if sum(piece in choice for piece in claims) != 1:
            raise ValueError(f"choice '{choice}' needs exactly one claim")
    return [choice for choice in choices if any(piece in choice and holds for piece, holds in claims.items())]


def fails(call) -> bool:
    """True when `call()` raises an Exception."""
    try:
        call()
    except Exception:
        return True
    return False


def base_namespace() -> dict:
    """What item code and verify blocks can use without importing anything."""
    import torch
    from torch import nn
    from torch.nn.utils.rnn import pack_padded_sequence, pack_sequence, pad_packed_sequence

    return {
        "torch": torch,
        "nn": nn,
        "pack_padded_sequence": pack_padded_sequence,
        "pack_sequence": pack_sequence,
        "pad_packed_sequence": pad_packed_sequence,
        "shape": shape,
        "first_line": first_line,
        "fails": fails,
    }


@dataclass
class Outcome:
    """What running an item produced: the computed answer (if the verify block set one) and the namespace."""

    answer: object = None
    has_answer: bool = False
    namespace: dict = field(default_factory=dict)


class TooSlow(BaseException):
    """Not an Exception, so that the item's own `except Exception` cannot swallow it."""


@contextlib.contextmanager
def time_limit(seconds: int):
    """Raise TooSlow after `seconds` (main thread on POSIX only; elsewhere no limit)."""
    usable = hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def stop(signum, frame):
        raise TooSlow(f"took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _block_line(error: BaseException, filename: str) -> int | None:
    """The line inside a `<verify>` or `<code>` block where `error` was raised (1-based)."""
    line = None
    for frame, lineno in traceback.walk_tb(error.__traceback__):
        if frame.f_code.co_filename == filename:
            line = lineno
    return line


def run_item(item: Item, code: str, context: dict, choices: list[str] | None = None, key=None) -> Outcome:
    """Run `code` (an exception becomes `error`), then `verify`; raise BankError when verify fails."""
    import torch

    namespace = base_namespace() | dict(context)
    namespace["choices"] = list(choices or [])
    namespace["true_choices"] = lambda claims: true_choices(claims, namespace["choices"])
    namespace["key"] = key
    namespace["error"] = None
    torch.manual_seed(0)
    try:
        with warnings.catch_warnings(record=True) as caught, time_limit(TIME_LIMIT_S):
            warnings.simplefilter("always")
            printed = io.StringIO()
            if code.strip():
                try:
                    with contextlib.redirect_stdout(printed):
                        exec(compile(code, "<code>", "exec"), namespace)
                except Exception as error:  # the item may be about an error: keep it for verify to read
                    namespace["error"] = first_line(error)
            namespace["printed"] = printed.getvalue()
            namespace["warnings_seen"] = [f"{w.category.__name__}: {w.message}" for w in caught]
            try:
                exec(compile(item.verify, "<verify>", "exec"), namespace)
            except Exception as error:
                inner = _block_line(error, "<verify>")
                line = item.lines["verify"] + inner - 1 if inner else item.lines.get("verify:key", item.line)
                detail = first_line(error) if str(error) else type(error).__name__
                if isinstance(error, AssertionError) and not str(error):
                    detail = "AssertionError (a check in 'verify' does not hold)"
                also = f"; the item's code raised {namespace['error']}" if namespace["error"] else ""
                raise BankError(
                    item.path, line, f"verification of item '{item.id}' failed: {detail}{also}"
                ) from None
    except TooSlow as error:
        line = item.lines.get("verify:key", item.line)
        raise BankError(item.path, line, f"verification of item '{item.id}' {error}") from None
    outcome = Outcome(namespace=namespace)
    if "answer" in namespace:
        outcome.answer, outcome.has_answer = namespace["answer"], True
    return outcome


def normalise(answer) -> str | list[str]:
    """Compare answers as whitespace-normalised text (lists as sorted sets)."""
    if isinstance(answer, list | tuple | set):
        return sorted(" ".join(str(a).split()) for a in answer)
    return " ".join(str(answer).split())
