"""The fork server process: import torch once, then fork a fresh IPython kernel for every request.

This module is the whole server, and it imports only the standard library itself, so the server pays for
nothing but the modules it is asked to preload (kernels.PRELOAD). The client side (the jupyter_client
provisioner that asks it for kernels) is in kernels.py.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import select
import shutil
import signal
import socket
import sys


def serve(address: str, preload: list[str]) -> None:
    """Import the heavy modules, then fork one kernel per request on the Unix socket at `address`.

    It leaves when its stdin closes, that is when the process that started it is gone.
    """
    for name in preload:
        try:
            importlib.import_module(name)
        except ImportError:
            pass  # a missing optional module only makes that import slower in the kernel
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # nobody waits for the kernels: they vanish on exit
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address)
    listener.listen(64)
    sys.stdout.buffer.write(b"ready\n")
    sys.stdout.buffer.flush()
    try:
        _accept_requests(listener)
    finally:
        shutil.rmtree(os.path.dirname(address), ignore_errors=True)


def _accept_requests(listener: socket.socket) -> None:
    while True:
        readable, _, _ = select.select([listener, sys.stdin], [], [])
        if sys.stdin in readable and not os.read(sys.stdin.fileno(), 1024):
            return
        if listener in readable:
            connection, _ = listener.accept()
            try:
                _answer(listener, connection)
            except (OSError, ValueError):
                pass  # a client that died mid-request (a killed worker) must not take the server down


def _answer(listener: socket.socket, connection: socket.socket) -> None:
    """Read one request, fork its kernel and reply with the kernel's pid."""
    with connection, connection.makefile("rwb") as stream:
        request = json.loads(stream.readline())  # ValueError when the client is gone before asking
        pid = os.fork()
        if pid == 0:
            try:
                listener.close()
                connection.close()
                _become_kernel(request)  # never returns
            finally:
                os._exit(1)  # the child must never go back to serving
        try:
            stream.write(json.dumps({"pid": pid}).encode() + b"\n")
            stream.flush()
        except OSError:
            os.kill(pid, signal.SIGKILL)  # nobody will ever talk to this kernel
            raise


def _become_kernel(request: dict) -> None:
    """In the forked child: detach, apply the limits, and run an IPython kernel until it is shut down."""
    code = 1
    try:
        os.setsid()  # its own process group, so a kill reaches whatever the submission spawned
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.path[0] = request["cwd"]
        apply_rlimits(request["limits"]["memory_mb"], request["limits"]["max_processes"])
        from ipykernel.kernelapp import IPKernelApp

        # The kernel exits on its own if the fork server goes (say the grading run was killed).
        args = [*request["args"], f"--IPKernelApp.parent_handle={os.getppid()}"]
        sys.argv = ["ipykernel_launcher", *args]
        IPKernelApp.launch_instance(argv=args)
        code = 0
    finally:
        os._exit(code)


# ---------------------------------------------------------------- limits of the kernel process


def _address_space_now() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _processes_of_this_user() -> int:
    uid = os.getuid()
    count = 0
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                count += os.stat(f"/proc/{name}").st_uid == uid
            except OSError:
                pass
    return count


def _cap(kind: int, wanted: int) -> None:
    _, hard = resource.getrlimit(kind)
    value = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    resource.setrlimit(kind, (value, value))


def apply_rlimits(memory_mb: int, max_processes: int) -> None:
    """In a fresh kernel process: cap its memory, its process count and its core dumps."""
    # The warm kernel already maps torch (a few GB of address space), so the cap is relative to now.
    _cap(resource.RLIMIT_AS, _address_space_now() + memory_mb * 2**20)
    _cap(resource.RLIMIT_NPROC, _processes_of_this_user() + max_processes)
    _cap(resource.RLIMIT_CORE, 0)
