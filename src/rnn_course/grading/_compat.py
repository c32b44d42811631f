"""Every private part of nbgrader, jupyter_client, nbclient, nbconvert, PyTorch and the standard library
that this package uses, in one place, with the versions it was read against.

Importing this module checks that each library installed is inside its range (CHECKED) and refuses any
other version in one line, before a changed private part can fail in the middle of a grading run. To
support a newer version, read each touchpoint below against it, then widen the range.

Calls go through the functions here. Methods that our subclasses override or call on themselves are listed
in OVERRIDDEN (a unit test checks that each still exists):
- jupyter_client: QuickReadyClient (sandbox/kernels.py) is `_async_wait_for_ready` copied with one
  constant changed; SandboxKernelManager hooks `_async_pre_start_kernel` and `_async_cleanup_resources`,
  and runs `_async_start_kernel` and `_async_shutdown_kernel` undecorated (`__wrapped__`): their
  `in_pending_state` is redone without its sleep, with `_get_future` and the instance's `_ready` and
  `_attempted_start`;
- nbclient: LimitedExecute (steps/execute.py) overrides `_get_timeout`, reads `_display_id_map` and calls
  `_async_cleanup_kernel`; it times `async_start_new_kernel(_client)` and so redefines their synchronous
  aliases (`start_new_kernel(_client)`, which nbclient binds to its own coroutines);
- ipykernel, in the kernel: sandbox/quick_cells.py wraps `OutStream.flush` (it reads `_buffers`,
  `_flush_pending` and `_subprocess_flush_pending`, set in `OutStream.__init__`), sets
  `Kernel._execute_sleep` and wraps `ipkernel._accepts_parameters` (it caches its answer per function);
- nbgrader: StagedAutograde (runner/worker.py) overrides `_input_directory`, sets `_sanitizing` and calls
  `_init_preprocessors`, `_format_dest` and `_format_source`.
  OverwriteCellsOnce (steps/overwrite.py) sets the attributes OverwriteCells.preprocess sets
  (`notebook_id`, `assignment_id`, `db_url`, `gradebook`) and runs its `preprocess_cell` as it is.

Kernel side: sandbox/forbid.py uses the torch functions, so this module imports only the standard library
and errors.py, and the sandbox mounts both.
"""

from __future__ import annotations

import importlib.metadata
import re

from rnn_course.grading.errors import IncompatibleVersion

# package: (lowest version allowed, first version refused); the comment says which version was read.
CHECKED = {
    "nbgrader": ("0.9.6", "0.9.7"),  # read against 0.9.6
    "ipykernel": ("7.0", "7.5"),  # read against 7.4.0
    "jupyter_client": ("8.0", "8.11"),  # read against 8.10.0
    "nbclient": ("0.10", "0.12"),  # read against 0.11.0
    "nbconvert": ("7.0", "7.18"),  # read against 7.17.2
    "nbformat": ("5.10", "5.12"),  # read against 5.11.1
    "torch": ("2.13", "2.14"),  # read against 2.13.0
}

OVERRIDDEN = {
    "ipykernel.iostream.OutStream": ("flush", "_flush"),
    "ipykernel.kernelbase.Kernel": ("_execute_sleep",),
    "ipykernel.ipkernel": ("_accepts_parameters",),
    "jupyter_client.asynchronous.AsyncKernelClient": (
        "_async_wait_for_ready", "_handle_kernel_info_reply", "_async_is_alive"),
    "jupyter_client.manager.AsyncKernelManager": ("_async_pre_start_kernel", "_async_cleanup_resources"),
    "jupyter_client.manager.KernelManager": (
        "_async_start_kernel.__wrapped__", "_async_shutdown_kernel.__wrapped__"),
    "jupyter_client.manager": ("_get_future",),
    "nbclient.client.NotebookClient": (
        "_get_timeout", "_display_id_map", "_async_cleanup_kernel", "start_new_kernel",
        "start_new_kernel_client"),
    "nbgrader.converters.autograde.Autograde": (
        "_input_directory", "_init_preprocessors", "_format_dest", "_format_source"),
}  # fmt: skip


def _release(version: str) -> tuple[int, ...]:
    """The numeric release of a version string: '2.13.0+cpu' -> (2, 13, 0)."""
    return tuple(int(part) for part in re.findall(r"\d+", version.split("+")[0].split("rc")[0])[:3])


def check_versions(checked: dict[str, tuple[str, str]] = CHECKED) -> None:
    """Raise IncompatibleVersion, one line, for the first installed library outside its range."""
    for package, (lowest, refused) in checked.items():
        try:
            installed = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            continue  # not installed here (the learner's own environment, say): nothing of it is used
        if not _release(lowest) <= _release(installed) < _release(refused):
            raise IncompatibleVersion(
                f"{package} {installed} is installed, but rnn_course.grading uses private parts of it read "
                f"only for versions >={lowest},<{refused} (see rnn_course/grading/_compat.py): install one "
                "of those (make setup)"
            )


check_versions()


# ---------------------------------------------------------------- PyTorch (sandbox/forbid.py)


def dispatch_library(path: str):
    """A handle for registering aten kernels (torch.library.Library, minus its Python bookkeeping)."""
    import torch

    return torch._C._dispatch_library("IMPL", "aten", "", path, 0)


def has_kernel(op_name: str, key: str) -> bool:
    import torch

    return torch._C._dispatch_has_kernel_for_dispatch_key(op_name, key)


def python_kernels(op) -> dict:
    """The kernels of an OpOverload that decompose() and the Python dispatcher run, by dispatch key."""
    return op.py_kernels


def clear_dispatch_cache(op) -> None:
    op._dispatch_cache.clear()


def decomposition_tables() -> tuple[dict, ...]:
    """PyTorch's tables of Python decompositions (torch._decomp)."""
    import torch._decomp

    return (torch._decomp.decomposition_table, *torch._decomp.global_decomposition_table.values())


# ---------------------------------------------------------------- nbgrader and nbconvert (runner/)


def validate_metadata_with(validator) -> None:
    """Make nbgrader validate each cell's metadata with `validator` in place of the jsonschema module."""
    from nbgrader.nbgraderformat import common

    common.jsonschema = validator


def validate_outputs_compiled() -> None:
    """nbformat checks every output a kernel sends (`new_output` checks it against its kind's definition, a
    `ref`) with the jsonschema module, since fastjsonschema takes no `ref`. Here the same v4 schema's
    definition of each output kind, compiled once with fastjsonschema, passes what it passes, and whatever it
    refuses goes to nbformat's own check for its error."""
    import json
    import os

    import fastjsonschema
    from nbformat import v4
    from nbformat.v4 import nbbase

    if getattr(nbbase.validate, "compiled", False):
        return
    with open(os.path.join(os.path.dirname(v4.__file__), v4.nbformat_schema[(None, None)])) as handle:
        definitions = json.load(handle)["definitions"]
    compiled = {
        kind: fastjsonschema.compile({"$ref": f"#/definitions/{kind}", "definitions": definitions})
        for kind in ("execute_result", "display_data", "stream", "error")
    }
    stock = nbbase.validate

    def validate(node, ref=None):
        if ref in compiled:
            try:
                compiled[ref](node)
                return None
            except fastjsonschema.JsonSchemaException:
                pass
        return stock(node, ref=ref)

    validate.compiled = True
    nbbase.validate = validate


def late_penalty(assign, scored, penalty):
    """AssignLatePenalties' own check of a penalty against the notebook's score."""
    return assign._check_late_penalty(scored, penalty)


def exporter_preprocessors(exporter) -> list:
    """The preprocessor instances an nbconvert exporter ran on the last notebook."""
    return exporter._preprocessors


# ---------------------------------------------------------------- the standard library (runner/pool.py)


def pool_processes(pool) -> list:
    """The worker processes of a ProcessPoolExecutor (empty once it is shut down)."""
    return list((pool._processes or {}).values())
