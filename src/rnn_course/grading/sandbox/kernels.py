"""Warm, sandboxed kernels for jupyter_client: each notebook gets a fresh kernel forked from a warm host.

A stock kernel starts a new Python and pays `import torch` (about a second here) for every submission.
The host (host.py) pays it once. Each kernel is still its own fresh process, in a fresh scratch folder
holding a copy of its own submission, and whatever it starts is killed when its notebook ends.

`SandboxKernelManager` swaps jupyter_client's process launcher (its provisioner) for one that asks this
thread's host instead; the kernel talks over Unix sockets in its own scratch folder (ZeroMQ's ipc transport),
which the grader reaches from outside the sandbox at the same path.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
import uuid
from queue import Empty

import zmq.asyncio
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.manager import AsyncKernelManager, KernelManager, _get_future
from jupyter_client.provisioning import LocalProvisioner
from traitlets import DottedObjectName, Type, default

from rnn_course.grading.config import Sandbox, limits_as_dict
from rnn_course.grading.sandbox.host import KernelHost, host_for_this_thread

PREPARED_ARGV = ["-m", "ipykernel_launcher", "-f", "{connection_file}"]  # what a prepared kernel runs
RECONNECT_MS = 5  # how often a client tries again a kernel that is not listening yet (ZeroMQ: 100)


class HostedProcess:
    """The bits of `subprocess.Popen` a provisioner uses, for a kernel the host forked."""

    stdin = stdout = stderr = None

    def __init__(self, host: KernelHost, pid: int):
        self.host, self.pid = host, pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                alive = self.host.alive() and self.host.request({"op": "alive", "pid": self.pid})["alive"]
            except (OSError, RuntimeError, ValueError):
                alive = False
            if not alive:
                self.returncode = -1  # the host reaped it; the real status is not kept
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.01)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        try:
            self.host.request({"op": "signal", "pid": self.pid, "signum": int(signum)})
        except (OSError, RuntimeError, ValueError):
            pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class HostProvisioner(LocalProvisioner):
    """Launches an ipykernel by forking the thread's warm host; any other kernel starts the stock way."""

    async def launch_kernel(self, cmd: list[str], **kwargs):
        if cmd[1:3] != ["-m", "ipykernel_launcher"]:
            return await super().launch_kernel(cmd, **kwargs)
        manager = self.parent
        host, folder, uid = manager.host, manager.kernel_folder, manager.kernel_uid
        notebook_folder = str(kwargs.get("cwd") or os.getcwd())
        submission = os.path.join(folder, "submission")
        shutil.copytree(notebook_folder, submission, symlinks=True, dirs_exist_ok=True)  # links stay links
        host.next_kernel = (manager.limits, manager.extra_arguments)
        if manager.prepared is not None:
            host.go(manager.prepared, manager.limits)
            pid = manager.prepared.pid
        else:
            host.seal(folder, uid)
            pid = host.request(host.start_request(folder, uid, cmd[3:], manager.limits))["pid"]
        host.prepare_next(uid)  # where that is safe (each kernel a user of its own), while this one runs
        self.process = HostedProcess(host, pid)
        self.pid = self.pgid = pid
        self.cwd = os.path.join(folder, "box", "work")
        return self.connection_info

    async def kill(self, restart: bool = False) -> None:
        """Kill the kernel and see it gone (jupyter_client checks every 0.1 s; closer watching saves that)."""
        if self.process is not None:
            self.process.kill()
        await super().kill(restart=restart)
        for _ in range(100):
            if self.process is None or self.process.poll() is not None:
                break
            await asyncio.sleep(0.002)


class WatchedShellChannel(AsyncZMQSocketChannel):
    """A shell channel that shows each message to `on_message` the moment it is read."""

    on_message = None  # a callable, or None

    async def get_msg(self, timeout: float | None = None) -> dict:
        msg = await super().get_msg(timeout)
        if self.on_message is not None:
            self.on_message(msg)
        return msg


class QuickReadyClient(AsyncKernelClient):
    """A kernel client that notices a fresh kernel is ready sooner, and may send a cell before it is due.

    jupyter_client waits 0.2 s for an IOPub message after each kernel_info reply (the usual first one is
    lost, since the kernel published it before we subscribed). Here the wait is 0.02 s, tried again until
    IOPub answers: the same check, less idle time per kernel.

    `send_early` sends the next cell while the caller is still busy with the last one's output; the caller's
    next `execute`, which must be for that very code, then sends nothing and returns its message id.
    """

    shell_channel_class = Type(WatchedShellChannel)

    @default("context")
    def _context_default(self) -> zmq.asyncio.Context:
        """The client's own ZeroMQ context, whose sockets try a kernel not listening yet every 5 ms, not
        every 100 ms (a prepared kernel may still be binding its sockets when its notebook is due)."""
        self._created_context = True
        context = zmq.asyncio.Context()
        context.setsockopt(zmq.RECONNECT_IVL, RECONNECT_MS)
        return context

    def start_channels(self, shell=True, iopub=True, stdin=True, hb=False, control=True) -> None:
        """jupyter_client's, without the heartbeat: a client its kernel manager made asks the manager whether
        the kernel is alive, never the heartbeat, whose thread only took the grader's GIL at each start."""
        super().start_channels(shell=shell, iopub=iopub, stdin=stdin, hb=hb, control=control)

    early: tuple[str, str] | None = None  # (code, message id) of the cell sent early
    awaited = ""  # the message id of the last execute request handed to the caller
    EARLY_OPTIONS = {"store_history": True, "stop_on_error": False}  # what nbclient asks with every cell

    def send_early(self, code: str) -> None:
        self.early = (code, super().execute(code, **self.EARLY_OPTIONS))

    def execute(self, code: str, *args, **kwargs) -> str:
        early, self.early = self.early, None
        if early is None:
            self.awaited = super().execute(code, *args, **kwargs)
        elif (code, args, kwargs) == (early[0], (), self.EARLY_OPTIONS):
            self.awaited = early[1]
        else:  # never happens: the kernel would run the early cell and this one
            raise RuntimeError("a cell was sent early, then a different request was asked for")
        return self.awaited

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


class SandboxKernelManager(AsyncKernelManager):
    """An AsyncKernelManager whose kernels come from this thread's host, sandboxed unless configured off."""

    client_class = DottedObjectName("rnn_course.grading.sandbox.kernels.QuickReadyClient")
    client_factory = Type(QuickReadyClient, klass=AsyncKernelClient)

    async def _async_pre_start_kernel(self, **kw):
        settings = Sandbox(config=self.config)
        hidden = (self.config.get("CourseDirectory", {}).get("root", ""),)
        self.host = host_for_this_thread(
            settings.enabled, tuple(path for path in hidden if path), settings.first_uid
        )
        self.limits = limits_as_dict(self.config)
        self.extra_arguments = list(kw.get("extra_arguments") or [])  # nbclient's, say
        usual = self.kernel_spec.argv[1:] == PREPARED_ARGV
        self.prepared = self.host.take_prepared(self.limits, self.extra_arguments) if usual else None
        if self.prepared is not None:  # started already: its folder, user id, sockets and key
            self.kernel_folder, self.kernel_uid = self.prepared.folder, self.prepared.uid
            self.load_connection_info(self.prepared.info)
            self.connection_file = self.prepared.connection_file
            self._connection_file_written = True
        else:
            self.kernel_folder, self.kernel_uid = self.host.new_kernel_folder()
            self.transport = "ipc"
            self.ip = os.path.join(self.kernel_folder, "run", "kernel")
            self.connection_file = os.path.join(self.kernel_folder, "run", "kernel.json")
        if self.provisioner is None:
            self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
            self.provisioner = HostProvisioner(
                kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self
            )
        return await super()._async_pre_start_kernel(**kw)

    async def _pending(self, method, **kw) -> None:
        """jupyter_client's `in_pending_state` (the manager's `ready` future around `method`), minus the
        10 ms sleep it adds for its own tests to watch: it cost every graded notebook 20 ms."""
        if self._attempted_start or not self._ready:
            self._ready = _get_future()
        try:
            await method(self, **kw)
        except Exception as error:
            self._ready.set_exception(error)
            raise
        if self.owns_kernel:
            self._ready.set_result(None)

    async def _async_start_kernel(self, **kw) -> None:
        await self._pending(KernelManager._async_start_kernel.__wrapped__, **kw)

    start_kernel = _async_start_kernel

    async def _async_shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:
        """Stop the kernel. One stopped `now` (a graded one: it has nothing to save) gets no interrupt first
        and no wait for it to die, since the host's sweep kills it, with all it started, in the background
        (host.end_kernel)."""
        if not now or restart or not self.owns_kernel:
            shutdown = KernelManager._async_shutdown_kernel.__wrapped__
            return await self._pending(shutdown, now=now, restart=restart)
        self.shutting_down = True
        self.stop_restarter()
        await self._async_cleanup_resources()

    shutdown_kernel = _async_shutdown_kernel

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        folder = getattr(self, "kernel_folder", "")
        if folder and not restart:
            self.host.end_kernel(folder)  # whatever the kernel left behind dies, and its folder goes

    cleanup_resources = _async_cleanup_resources
