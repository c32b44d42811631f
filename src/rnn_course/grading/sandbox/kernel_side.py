"""The grading modules a learner's kernel imports: the sandbox mounts these, and no other grading code.

Paths are relative to the grading package; the sandbox adds every `__init__.py` on their way.
"""

KERNEL_SIDE = (
    "checks.py",  # the public path the assignment's test cells import (a shim of judge/checks.py)
    "judge/checks.py",
    "judge/cases.py",
    "judge/encoding.py",
    "sandbox/forbid.py",
    "sandbox/site_hook.py",
    "sandbox/fork_server.py",
    "sandbox/quick_cells.py",  # the fork server's kernels skip empty flushes
    "sandbox/syscalls.py",
    "_compat.py",  # forbid.py's private PyTorch calls, and the version check
    "errors.py",  # _compat.py's error
)
