"""Loaded by a .pth file at every Python start in the venv: inside a grading sandbox, RNN kernels go off.

Outside a sandbox (no INSIDE_MARKER file) it does nothing. Inside, the first `import torch` of any Python
process, a learner's subprocess included, also switches PyTorch's RNN kernels off (forbid.py).
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import sys

INSIDE_MARKER = "/.rnn-course-sandbox"  # written by bwrap (host.py)


class _AfterTorch(importlib.abc.MetaPathFinder):
    """Finds torch the usual way, and runs the switch right after torch's own module code."""

    def find_spec(self, name, path=None, target=None):
        if name != "torch":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec("torch")
        if spec is not None and spec.loader is not None:
            run_module = spec.loader.exec_module

            def exec_module(module):
                run_module(module)
                from rnn_course.grading.sandbox.forbid import switch_off_rnn_kernels

                switch_off_rnn_kernels()

            spec.loader.exec_module = exec_module
        return spec


def install() -> None:
    if not os.path.exists(INSIDE_MARKER):
        return
    if "torch" in sys.modules:
        from rnn_course.grading.sandbox.forbid import switch_off_rnn_kernels

        switch_off_rnn_kernels()
    else:
        sys.meta_path.insert(0, _AfterTorch())
