"""Waits and work ipykernel does at every cell that a graded notebook does not need (the kernel side).

At the end of each cell ipykernel flushes stdout and stderr, and each flush waits for its output thread to
answer, even when nothing was written: four cross-thread round trips a cell. It then sleeps 0.5 ms "to give
output a chance to flush". Together about 2 ms a cell, a tenth of a graded notebook's time.

A flush with nothing buffered is skipped; one with something buffered runs and waits as before. No output is
lost or reordered: every message to the notebook, the idle status included, leaves through that same output
thread, after whatever it already holds.

Two smaller costs go too: the kernel's logger makes a record for each of its debug lines, which its only
handler (at WARNING) then drops, four a cell; and each execute request inspects `run_cell`'s signature
afresh. The logger now stops at its handler's level, and the signature is read once per function.
"""

from __future__ import annotations

import functools

from ipykernel import ipkernel
from ipykernel.iostream import OutStream

_flush_and_wait = OutStream.flush


def _flush_if_buffered(stream: OutStream) -> None:
    if stream._buffers or stream._flush_pending or stream._subprocess_flush_pending:
        _flush_and_wait(stream)


_accepts_parameters = ipkernel._accepts_parameters


@functools.lru_cache(maxsize=64)
def _accepts_parameters_of(function, param_names: tuple[str, ...]) -> dict:
    return _accepts_parameters(function, list(param_names))


def _accepts_parameters_once(meth, param_names) -> dict:
    """ipykernel's check of which parameters `meth` takes, once per function (its signature stays put)."""
    function = getattr(meth, "__func__", meth)
    try:
        return dict(_accepts_parameters_of(function, tuple(param_names)))
    except TypeError:  # not hashable: check it afresh
        return _accepts_parameters(meth, param_names)


def skip_empty_waits(kernel) -> None:
    """Skip the flushes with nothing to send, the sleep after each cell, the debug records nobody shows and
    the repeated signature checks, in this kernel process."""
    OutStream.flush = _flush_if_buffered
    kernel._execute_sleep = 0.0
    shown = [handler.level for handler in kernel.log.handlers]
    if shown and min(shown) > kernel.log.level:
        kernel.log.setLevel(min(shown))
    ipkernel._accepts_parameters = _accepts_parameters_once
