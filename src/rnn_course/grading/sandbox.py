"""The sandbox every graded kernel runs in: bubblewrap around a warm fork server.

One `KernelHost` is a fork server (fork_server.py) that has imported torch, started inside `bwrap`:

- the file system is an allow-list: the system folders (/usr, /etc, ...) and Python (the venv, its base
  install, this package) read-only, a private read-only /tmp, and one scratch folder, the only writable place.
  Every kernel gets a fresh folder in it, with a copy of its own submission; the course folder, source/,
  release/, the gradebook, other submissions and home folders are simply not there;
- new PID, network, IPC and UTS namespaces: no network at all (loopback included), no other process in sight;
- an allow-listed environment (`kernel_env`), none of the grader's variables;
- as root, each kernel runs as a user id of its own, with no capabilities and no_new_privs; as an ordinary
  user, inside a user namespace of the host's own. RLIMIT_AS and RLIMIT_NPROC then cap memory and processes,
  and both hold (Linux exempts only uid 0 from RLIMIT_NPROC, and no kernel is uid 0);
- PyTorch's RNN kernels are switched off in every Python that imports torch (forbid.py);
- a kernel's leftovers die with it: the fork server is the subreaper of all it forks, and `sweep` kills every
  descendant after each notebook; the whole sandbox dies with the grader (--die-with-parent).

A host serves one kernel at a time, so each grading thread owns one (`host_for_this_thread`). Without bwrap,
or where it cannot make namespaces, starting a host raises SandboxUnavailable with the fix; `--no-sandbox`
runs the same fork server unconfined.
"""

from __future__ import annotations

import atexit
import json
import os
import random
import shutil
import site
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import rnn_course
from rnn_course.grading.sandbox_site import INSIDE_MARKER  # exists only inside a sandbox

# What every graded notebook will import anyway; anything imported here costs nothing per kernel.
PRELOAD = (
    "torch",
    "numpy",
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "IPython.core.interactiveshell",
    "IPython.core.completer",
    "ipykernel.debugger",
    "numpy.testing",
    "torch.testing",
    "IPython.core.completerlib",
    "IPython.core.debugger",
    "IPython.core.logger",
    "IPython.core.oinspect",
    "IPython.extensions.storemagic",
    "sqlite3",
    "psutil",
    "tornado.platform.asyncio",
)
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
SITE_HOOK = "rnn_course_sandbox.pth"  # in site-packages: switches off RNN kernels in sandboxed Pythons
ROOT_CAPS = ("CAP_SETUID", "CAP_SETGID", "CAP_KILL")  # the fork server's, to give each kernel its own uid


class SandboxUnavailable(RuntimeError):
    """No sandbox can be made here; the message says why and what to do."""


def _fix() -> str:
    return (
        "or grade without a sandbox with --no-sandbox (c.Sandbox.enabled = False; never for untrusted work)"
    )


def check_bwrap() -> str:
    """The path of bwrap, or SandboxUnavailable naming the fix."""
    path = shutil.which("bwrap")
    if not path:
        raise SandboxUnavailable(
            "grading runs each submission in a bubblewrap sandbox and `bwrap` is not installed: install it "
            f"(Debian/Ubuntu: sudo apt-get install bubblewrap; Fedora: sudo dnf install bubblewrap), {_fix()}"
        )
    return path


def kernel_env(folder: str, sandboxed: bool) -> dict[str, str]:
    """The whole environment of a graded kernel: an allow-list, nothing inherited from the grader."""
    return {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": f"{folder}/home",
        "TMPDIR": f"{folder}/tmp",
        "MPLCONFIGDIR": f"{folder}/home/.matplotlib",
        "MPLBACKEND": "Agg",
        "LANG": "C.UTF-8",
        "PYTHONNOUSERSITE": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "OMP_NUM_THREADS": "1",  # one core per kernel: the runner's workers share the machine
        "MKL_NUM_THREADS": "1",
        "NBGRADER_EXECUTION": "autograde",  # the kernel-side checks report values instead of judging them
        **({"RNN_COURSE_SANDBOX": "1"} if sandboxed else {}),
    }


def _python_paths() -> list[str]:
    """Folders a kernel must read: the interpreter, the venv, and this package (an editable install)."""
    package_root = str(Path(rnn_course.__file__).resolve().parent.parent)
    paths = {
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        os.path.realpath(sys.executable).rsplit("/bin/", 1)[0],
    }
    paths = {os.path.realpath(path) for path in paths} | {package_root}
    return sorted(paths)


def _site_packages() -> str:
    return next(path for path in site.getsitepackages() if path.startswith(sys.prefix))


def ensure_site_hook() -> None:
    """Put the .pth that switches RNN kernels off in sandboxed Pythons (a no-op outside a sandbox)."""
    path = Path(_site_packages()) / SITE_HOOK
    # Outside a sandbox the line costs one stat() and imports nothing (so it is harmless if the course goes).
    line = (f"import os; os.path.exists({INSIDE_MARKER!r}) and "
            "__import__('rnn_course.grading.sandbox_site').grading.sandbox_site.install()\n")
    try:
        if not path.exists() or path.read_text() != line:
            path.write_text(line)
    except OSError as error:
        raise SandboxUnavailable(
            f"the sandbox needs {path} (it switches PyTorch's RNN off in every sandboxed Python) and cannot "
            f"write it ({error.strerror}): run the grader once as the owner of {sys.prefix}, {_fix()}"
        ) from None


def check_sandbox() -> None:
    """Everything a sandbox needs that can be checked before grading starts; SandboxUnavailable otherwise."""
    check_bwrap()
    ensure_site_hook()


def bwrap_command(
    bwrap: str, scratch: str, env: dict[str, str], hidden: list[str], marker_fd: int
) -> list[str]:
    """The bwrap command line that contains a fork server (see the module docstring)."""
    command = [
        bwrap,
        "--die-with-parent",
        "--new-session",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
    ]
    if os.getuid() == 0:
        command += ["--cap-drop", "ALL"] + [arg for cap in ROOT_CAPS for arg in ("--cap-add", cap)]
    else:
        command += ["--unshare-user", "--uid", "65534", "--gid", "65534"]
    # First /tmp (Python may live under it); /dev/shm read-only, so no kernel leaves anything for the next.
    command += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    command += ["--tmpfs", "/dev/shm", "--remount-ro", "/dev/shm"]
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            command += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            command += ["--ro-bind", path, path]
    ancestors = sorted({str(parent) for path in _python_paths() for parent in Path(path).parents} - {"/"})
    for path in ancestors:  # folders bwrap would otherwise make 0700, which no kernel could pass through
        if not any(path == bound or path.startswith(bound + "/") for bound in SYSTEM_DIRS):
            command += ["--perms", "0755", "--dir", path]
    for path in _python_paths():
        command += ["--ro-bind", path, path]
    for path in hidden:  # a course folder inside one of those (say in the package's checkout) is not shown
        command += ["--tmpfs", path]
    command += [
        "--perms",
        "0711",
        "--dir",
        os.path.dirname(scratch),
        "--bind",
        scratch,
        scratch,
        "--remount-ro",
        "/tmp",
        "--perms",
        "0444",
        "--ro-bind-data",
        str(marker_fd),
        INSIDE_MARKER,
        "--clearenv",
        "--chdir",
        scratch,
    ]
    for key, value in env.items():
        command += ["--setenv", key, value]
    return command


class KernelHost:
    """A warm fork server, sandboxed or not, and the scratch folders of the kernels it starts."""

    def __init__(self, sandboxed: bool = True, hidden: tuple[str, ...] = (), first_uid: int = 200_000):
        self.sandboxed = sandboxed
        self.first_uid = first_uid
        self.private = tempfile.mkdtemp(prefix="rnn-sandbox-", dir="/tmp")  # the sandbox makes its own /tmp
        os.chmod(self.private, 0o711)  # a kernel must pass through it to its folder; it lists nothing here
        self.scratch = os.path.join(self.private, "scratch")
        os.mkdir(self.scratch)
        os.chmod(self.scratch, 0o711)  # each kernel's own folder below it is 0700 and its own
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.address = os.path.join(self.private, "server")
        listener.bind(self.address)
        os.chmod(self.address, 0o700)  # connecting needs write access: the grader's alone
        listener.listen(16)
        serve = [sys.executable, "-m", "rnn_course.grading.fork_server", str(listener.fileno()), *PRELOAD]
        env = kernel_env(self.scratch, sandboxed)
        marker_read, marker_write = os.pipe()  # bwrap copies what it reads here into INSIDE_MARKER
        os.write(marker_write, b"rnn-course grading sandbox\n")
        os.close(marker_write)
        if sandboxed:
            ensure_site_hook()
            hidden_paths = [
                path
                for path in hidden
                if any(os.path.realpath(path).startswith(root + "/") for root in _python_paths())
            ]
            command = bwrap_command(check_bwrap(), self.scratch, env, hidden_paths, marker_read)
            command += ["--", *serve]
        else:
            command = serve
        self._errors = open(os.path.join(self.private, "stderr"), "w+")
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._errors,
            pass_fds=(listener.fileno(), marker_read),
            env=env if not sandboxed else None,
            start_new_session=True,
        )
        os.close(marker_read)
        listener.close()
        self._ready = False

    def wait_ready(self) -> None:
        """Block until the server has preloaded; raise SandboxUnavailable with bwrap's reason if it failed."""
        if self._ready:
            return
        if not self.process.stdout.readline():
            self.process.wait()
            self._errors.seek(0)
            why = " ".join(self._errors.read().split())[-400:] or f"exit status {self.process.returncode}"
            self.close()
            if self.sandboxed and any(word in why for word in ("namespace", "uid map", "not permitted")):
                raise SandboxUnavailable(
                    f"the grading sandbox could not start ({why}). bubblewrap needs user namespaces: as an "
                    "ordinary user allow them (sysctl kernel.unprivileged_userns_clone=1; on Ubuntu also "
                    f"kernel.apparmor_restrict_unprivileged_userns=0), or run the grader as root, {_fix()}"
                )
            if self.sandboxed:
                raise SandboxUnavailable(f"the grading sandbox could not start ({why}), {_fix()}")
            raise RuntimeError(f"the kernel fork server could not start: {why}")
        self._ready = True

    def alive(self) -> bool:
        return self.process.poll() is None

    def request(self, message: dict) -> dict:
        """One request to the fork server (see fork_server.py); its JSON reply."""
        self.wait_ready()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.connect(self.address)
            with connection.makefile("rwb") as stream:
                stream.write(json.dumps(message).encode() + b"\n")
                stream.flush()
                reply = stream.readline()
        if not reply:
            raise RuntimeError("the kernel fork server did not answer (it was stopped, or the sandbox died)")
        return json.loads(reply)

    def new_kernel_folder(self) -> tuple[str, int]:
        """A fresh folder for the next kernel (work/, home/, tmp/, run/) and the user id it runs as."""
        folder = tempfile.mkdtemp(prefix="k", dir=self.scratch)  # a name no earlier kernel could guess
        for part in ("work", "home", "tmp", "run"):
            os.mkdir(os.path.join(folder, part))
        uid = self.first_uid + random.randrange(100_000) if self.sandboxed and os.getuid() == 0 else -1
        self.give(folder, uid)
        return folder, uid

    def give(self, folder: str, uid: int) -> None:
        """Hand every file under `folder` to the kernel's user (what the grader copied in after making it)."""
        if uid < 0:
            return
        for root, dirs, files in os.walk(folder):
            for name in [root, *(os.path.join(root, entry) for entry in dirs + files)]:
                os.lchown(name, uid, uid)

    def end_kernel(self, folder: str) -> None:
        """Kill whatever the last kernel left running, then empty the scratch folder."""
        if self.alive():
            try:
                self.request({"op": "sweep"})
            except (OSError, RuntimeError):
                pass
        for leftover in os.listdir(self.scratch):  # the folder, and anything planted beside it for the next
            shutil.rmtree(os.path.join(self.scratch, leftover), ignore_errors=True)

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.stdin.close()  # the server sweeps and leaves
                self.process.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
        self._errors.close()
        shutil.rmtree(self.private, ignore_errors=True)


_hosts = threading.local()
_all_hosts: list[KernelHost] = []
_lock = threading.Lock()


def host_for_this_thread(
    sandboxed: bool, hidden: tuple[str, ...] = (), first_uid: int = 200_000
) -> KernelHost:
    """This thread's warm host, started on first use and again if it died (one kernel at a time each)."""
    host = getattr(_hosts, "host", None)
    if host is None or not host.alive() or host.sandboxed != sandboxed:
        if host is not None:
            host.close()
        host = KernelHost(sandboxed, hidden, first_uid)
        _hosts.host = host
        with _lock:
            _all_hosts.append(host)
    return host


@atexit.register
def close_all_hosts() -> None:
    with _lock:
        for host in _all_hosts:
            host.close()
        _all_hosts.clear()
