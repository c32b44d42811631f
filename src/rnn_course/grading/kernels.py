"""Warm kernels: a fork server imports torch once, then forks a fresh IPython kernel for every notebook.

A stock kernel starts a new Python and pays `import torch` (about a second here) for every submission.
The fork server pays it once. Each kernel is still its own fresh process: a child forked from a parent
that has only imported modules and waits for requests (the child drops the request socket), so nothing
one submission does reaches another, and a kill of its process group ends whatever it started.

The server itself is fork_server.py. jupyter_client talks to the forked kernel through the usual
connection file; `ForkKernelManager` swaps the stock process launcher (its provisioner) for one that asks
the fork server instead.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner
from traitlets import DottedObjectName, Type, default

from rnn_course.grading import limits as limits_module

# What every graded notebook will import anyway; anything imported here costs nothing per kernel.
PRELOAD = (
    "torch",
    "numpy",
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "IPython.core.interactiveshell",
    "IPython.core.completer",
    "ipykernel.debugger",  # every kernel imports it at start (debugpy: about 0.07 s)
    "numpy.testing",
    "torch.testing",
    # What the kernel app imports while it starts (a few hundredths of a second per kernel).
    "IPython.core.completerlib",
    "IPython.core.debugger",
    "IPython.core.logger",
    "IPython.core.oinspect",
    "IPython.extensions.storemagic",
    "sqlite3",
    "psutil",
    "tornado.platform.asyncio",
)
# Not the course's own helpers (rnn_course.grading.checks): they record the kernel's IPython shell when
# imported, so they must be imported inside the kernel.


class ForkServer:
    """One fork server process, started here; any process of this user may ask it for kernels at `address`."""

    def __init__(self, preload: tuple[str, ...] = PRELOAD):
        self.folder = tempfile.mkdtemp(prefix="rnn-fork-")  # mode 0700: nobody else may ask for kernels
        self.address = os.path.join(self.folder, "socket")
        serve = (  # the server module imports no more than it is asked to preload (not nbgrader)
            "import sys; from rnn_course.grading.fork_server import serve; serve(sys.argv[1], sys.argv[2:])"
        )
        self.process = subprocess.Popen(
            [sys.executable, "-c", serve, self.address, *preload],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def wait_ready(self) -> None:
        if not self.process.stdout.readline():
            raise RuntimeError("the kernel fork server could not start")

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        if self.alive():
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def request_kernel(address: str, args: list[str], cwd: str, env: dict[str, str], limits) -> int:
    """Ask the fork server at `address` for a fresh kernel; returns its pid."""
    request = json.dumps({"args": args, "cwd": cwd, "env": env, "limits": limits.as_dict()}).encode()
    deadline = time.monotonic() + 120  # a server started a moment ago may still be importing torch
    while True:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
                connection.connect(address)
                with connection.makefile("rwb") as stream:
                    stream.write(request + b"\n")
                    stream.flush()
                    reply = stream.readline()
            return json.loads(reply)["pid"]
        except (FileNotFoundError, ConnectionRefusedError, json.JSONDecodeError):
            if time.monotonic() > deadline:
                raise RuntimeError(f"no kernel fork server answers at {address}") from None
            time.sleep(0.05)


_shared_address = ""  # a fork server started by our parent (a local grading run), if any
_own_server: ForkServer | None = None
_own_server_lock = threading.Lock()


def use_fork_server(address: str) -> None:
    """Take kernels from the fork server at `address` (the runner's workers share their parent's)."""
    global _shared_address
    _shared_address = address


def fork_server_address() -> str:
    """The fork server this process uses: the shared one, or its own, started on first use."""
    global _own_server
    if _shared_address:
        return _shared_address
    with _own_server_lock:
        if _own_server is None or not _own_server.alive():
            _own_server = ForkServer()
            _own_server.wait_ready()
        return _own_server.address


# ---------------------------------------------------------------- the jupyter_client side


class ForkedProcess:
    """The bits of `subprocess.Popen` a provisioner uses, for a kernel that is not our own child."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                self.returncode = -1  # the fork server reaped it; the real status is not kept
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        try:
            os.kill(self.pid, signum)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class ForkProvisioner(LocalProvisioner):
    """Launches an ipykernel by forking the warm server; any other kernel starts the stock way."""

    async def launch_kernel(self, cmd: list[str], **kwargs):
        if cmd[1:3] != ["-m", "ipykernel_launcher"]:
            return await super().launch_kernel(cmd, **kwargs)
        env = dict(kwargs.get("env") or os.environ)
        cwd = str(kwargs.get("cwd") or os.getcwd())
        limits = limits_module.load_limits(self.parent.config if self.parent else {})
        pid = request_kernel(fork_server_address(), cmd[3:], cwd, env, limits)
        self.process = ForkedProcess(pid)
        self.pid = self.pgid = pid  # the child called setsid(): its group is its pid
        self.cwd = cwd
        return self.connection_info

    async def kill(self, restart: bool = False) -> None:
        """Kill the kernel's whole process group (children it forked go too), and see it gone.

        jupyter_client checks a killed kernel every 0.1 s; watching closely here saves most of that.
        """
        if self.process is not None and self.pgid:
            try:
                os.killpg(self.pgid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        await super().kill(restart=restart)
        for _ in range(100):
            if self.process is None or self.process.poll() is not None:
                break
            await asyncio.sleep(0.002)


class QuickReadyClient(AsyncKernelClient):
    """A kernel client that notices a fresh kernel is ready sooner.

    jupyter_client waits 0.2 s for an IOPub message after each kernel_info reply (the usual first one is
    lost, since the kernel published it before we subscribed). Here the wait is 0.02 s, tried again until
    IOPub answers: the same check, less idle time per kernel.
    """

    async def _async_wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout if timeout is not None else float("inf"))
        while True:
            self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                reply = None
            if reply is not None and reply["msg_type"] == "kernel_info_reply":
                try:
                    await self.iopub_channel.get_msg(timeout=0.02)
                except Empty:
                    pass
                else:
                    self._handle_kernel_info_reply(reply)
                    return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")

    wait_for_ready = _async_wait_for_ready


class ForkKernelManager(AsyncKernelManager):
    """An AsyncKernelManager whose kernels come from the fork server.

    Its kernel talks over Unix sockets in a private folder (ZeroMQ's ipc transport), not TCP ports on
    loopback: a free port is picked by binding and releasing it, and two workers starting kernels at the
    same moment could pick the same one; a kernel that cannot bind its port dies before it is ready.
    """

    client_class = DottedObjectName("rnn_course.grading.kernels.QuickReadyClient")
    client_factory = Type(QuickReadyClient, klass=AsyncKernelClient)

    @default("transport")
    def _default_transport(self) -> str:
        return "ipc"

    @default("ip")
    def _default_ip(self) -> str:
        if self.transport != "ipc":
            return super()._ip_default()
        # Inside the fork server's 0700 folder, which goes with the server even if the run is killed.
        self._socket_folder = tempfile.mkdtemp(prefix="kernel-", dir=os.path.dirname(fork_server_address()))
        return os.path.join(self._socket_folder, "kernel")

    async def _async_pre_start_kernel(self, **kw):
        if self.provisioner is None:
            import uuid

            self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
            self.provisioner = ForkProvisioner(
                kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self
            )
        return await super()._async_pre_start_kernel(**kw)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        # Whatever the kernel left behind (a fork bomb, a background sleeper) dies with it.
        if self.provisioner is not None and getattr(self.provisioner, "pgid", None):
            try:
                os.killpg(self.provisioner.pgid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        await super()._async_cleanup_resources(restart=restart)
        folder = getattr(self, "_socket_folder", "")
        if folder and not restart:
            shutil.rmtree(folder, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources
