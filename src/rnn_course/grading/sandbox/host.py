"""The sandbox every graded kernel runs in: bubblewrap around a warm fork server.

One `KernelHost` is a fork server (fork_server.py) that has imported torch, started inside `bwrap`:

- the file system is an allow-list: the system folders (/usr, /etc, ...) and Python (the venv, its base
  install) read-only, without compilers; of this package only the modules a kernel runs (KERNEL_SIDE: the
  checks, not the grader's reference or its catalogue of mistakes); a private read-only /tmp; and one scratch
  folder. Every kernel gets a fresh folder in it: run/ for its sockets (read-only once they are bound), and
  a tmpfs of its own (`GradingLimits.scratch_mb`, `scratch_files`, never executable) holding a copy of its
  submission, its home and its temporary files. The course folder, source/, release/, the gradebook, other
  submissions and home folders are simply not there;
- new PID, network, IPC and UTS namespaces: no network at all (loopback included), no other process in sight;
- an allow-listed environment (`kernel_env`), none of the grader's variables;
- as root, each kernel runs as a user id of its own; as an ordinary user, inside a user namespace of the
  host's own. Either way with no capabilities, no_new_privs, and a seccomp filter (syscalls.py): no program,
  no process (threads only), no namespace, no mount, no shared memory. RLIMIT_AS and RLIMIT_NPROC cap memory
  and threads;
- PyTorch's RNN kernels are switched off in every Python that imports torch (forbid.py);
- a kernel's leftovers die with it: the fork server is the subreaper of all it forks, and `sweep` kills every
  descendant after each notebook; the whole sandbox dies with the grader (--die-with-parent).

A host serves one kernel at a time, so each grading thread owns one (`host_for_this_thread`). It prepares
the next kernel ahead (fork_server.py): a fresh kernel in a fresh folder, started up to its sockets, which
gets its submission when its notebook is due. As root, where each kernel is a user of its own, that happens
while the last kernel runs (`prepare_next`): holding nothing yet, and another user, the next kernel is out
of the running one's reach. Where kernels share a user id, it happens once the last kernel is swept, so no
learner's code runs beside it. Without bwrap,
or where it cannot make namespaces, starting a host raises SandboxUnavailable with the fix; `--no-sandbox`
runs the same fork server unconfined.
"""

from __future__ import annotations

import atexit
import dataclasses
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
import uuid
from pathlib import Path

import rnn_course
from rnn_course.grading.config import Sandbox
from rnn_course.grading.errors import SandboxUnavailable
from rnn_course.grading.sandbox.kernel_side import KERNEL_SIDE
from rnn_course.grading.sandbox.site_hook import INSIDE_MARKER  # exists only inside a sandbox

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
    # What the checks import, which every graded notebook's first cell imports. Not the checks module
    # itself: importing it inside a kernel attaches it to that kernel's IPython (judge/checks.py).
    "torch.nn.utils.rnn",
    "torch.overrides",
    "rnn_course.grading.judge.cases",
    "rnn_course.grading.judge.encoding",
)
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
SITE_HOOK = "rnn_course_sandbox.pth"  # in site-packages: switches off RNN kernels in sandboxed Pythons
ROOT_CAPS = ("CAP_SETUID", "CAP_SETGID", "CAP_KILL")  # the fork server's, to give each kernel its own uid
MOUNT_CAP = "CAP_SYS_ADMIN"  # the fork server's, to mount each kernel's scratch; no kernel keeps it
COMPILERS = ("/usr/lib/gcc", "/usr/libexec/gcc", "/usr/lib/llvm-14", "/usr/lib/llvm-15", "/usr/lib/llvm-16")


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
        "HOME": f"{folder}/box/home",
        "TMPDIR": f"{folder}/box/tmp",
        "MPLCONFIGDIR": f"{folder}/box/home/.matplotlib",
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
    line = (
        f"import os; os.path.exists({INSIDE_MARKER!r}) and "
        "__import__('rnn_course.grading.sandbox.site_hook').grading.sandbox.site_hook.install()\n"
    )
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


def _package_files() -> list[str]:
    """The files of this package a sandbox shows: the kernel-side modules and the __init__.py files above."""
    package = Path(rnn_course.__file__).resolve().parent
    files = [package / "grading" / name for name in KERNEL_SIDE]
    inits = {
        folder / "__init__.py" for path in files for folder in path.parents if folder.is_relative_to(package)
    }
    return [str(path) for path in sorted(inits) + files]


def _package_folders() -> list[str]:
    """The folders of this package that hold a file the sandbox shows, parents first."""
    package = Path(rnn_course.__file__).resolve().parent
    folders = {str(Path(path).parent) for path in _package_files()} - {str(package)}
    return sorted(folders, key=lambda folder: (folder.count("/"), folder))


def _read_only_empty(path: str) -> list[str]:
    return ["--tmpfs", path, "--remount-ro", path]


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
        caps = (*ROOT_CAPS, MOUNT_CAP)
        command += ["--cap-drop", "ALL"] + [arg for cap in caps for arg in ("--cap-add", cap)]
    else:  # root of a user namespace of its own, with the one capability its fork server needs
        command += ["--unshare-user", "--uid", "0", "--gid", "0", "--cap-drop", "ALL", "--cap-add", MOUNT_CAP]
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
    for path in COMPILERS:
        if os.path.isdir(path):
            command += _read_only_empty(path)
    package = str(Path(rnn_course.__file__).resolve().parent)
    command += ["--tmpfs", package]
    for path in _package_folders():
        command += ["--dir", path]
    for path in _package_files():
        command += ["--ro-bind", path, path]
    command += ["--remount-ro", package]
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


@dataclasses.dataclass(frozen=True)
class Prepared:
    """A kernel started up to its sockets in a folder of its own, waiting for its submission."""

    folder: str
    uid: int
    pid: int
    connection_file: str
    info: dict  # its connection info, the key its manager must sign with included
    limits: dict  # those its scratch was made with (limits_as_dict)
    extra_arguments: list[str]  # on its command line after its connection file


class KernelHost:
    """A warm fork server, sandboxed or not, and the scratch folders of the kernels it starts."""

    def __init__(self, sandboxed: bool = True, hidden: tuple[str, ...] = (), first_uid: int | None = None):
        self.sandboxed = sandboxed
        self.first_uid = Sandbox.first_uid.default_value if first_uid is None else first_uid
        self.owner = os.getpid()  # a process forked from the owner inherits this object, not the host
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
        server = "rnn_course.grading.sandbox.fork_server"
        serve = [sys.executable, "-m", server, str(listener.fileno()), *PRELOAD]
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
        self._prepared: Prepared | None = None
        self.next_kernel: tuple[dict, list[str]] | None = None  # the last kernel's limits and extra arguments
        self._background: threading.Thread | None = None  # the last kernel's end, or the next one's start
        self.running_uid = -1  # the user id of the kernel whose notebook runs now (none: -1)
        self._ended: str | None = None  # the folder of the last kernel ended (nbclient ends each twice)

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

    @property
    def prepared(self) -> Prepared | None:
        """The kernel prepared for the next notebook, once the last kernel's end is over."""
        self.settle()
        return self._prepared

    def settle(self) -> None:
        """Wait for the host's work in the background (the last kernel's end: its sweep, its clean-up, the
        next kernel prepared; or the next kernel's start-up): no kernel starts, and no prepared kernel is
        handed out, while the sweep of the last one may still kill it."""
        background, self._background = self._background, None
        if background is not None:
            background.join()

    @property
    def users_apart(self) -> bool:
        """Each kernel runs as a user id of its own (a sandbox started as root)."""
        return self.sandboxed and os.getuid() == 0

    def new_kernel_folder(self) -> tuple[str, int]:
        """A fresh folder for the next kernel (run/, submission/, box/) and the user id it runs as."""
        folder = tempfile.mkdtemp(prefix="k", dir=self.scratch)  # a name no earlier kernel could guess
        for part in ("run", "submission", "box"):
            os.mkdir(os.path.join(folder, part))
        uid = -1
        while self.users_apart and uid in (-1, self.running_uid):  # never the running kernel's user
            uid = self.first_uid + random.randrange(100_000)
        return folder, uid

    def seal(self, folder: str, uid: int) -> None:
        """Before the kernel starts: run/ (its connection file, its sockets to come) handed to it, the rest of
        its folder read-only (it may not chmod)."""
        self.seal_run(folder, uid)
        self.seal_submission(folder)

    def seal_run(self, folder: str, uid: int) -> None:
        run = os.path.join(folder, "run")
        if uid >= 0:
            for name in [run, *(os.path.join(run, entry) for entry in os.listdir(run))]:
                os.lchown(name, uid, uid)
            os.chmod(run, 0o700)  # whatever the grader's umask: no other kernel's user reaches its sockets
        if self.sandboxed:
            os.chmod(os.path.join(folder, "box"), 0o555)  # the fork server mounts the kernel's tmpfs here
        os.chmod(folder, 0o555 if os.getuid() else 0o711)

    def seal_submission(self, folder: str) -> None:
        for root, _, files in os.walk(os.path.join(folder, "submission"), topdown=False):
            for name in files:
                path = os.path.join(root, name)
                if not os.path.islink(path):  # a link is not copied into the box; Linux cannot chmod one
                    os.chmod(path, 0o444)
            os.chmod(root, 0o555)

    def start_request(self, folder: str, uid: int, args: list[str], limits: dict) -> dict:
        """The fork server's request for a kernel in `folder` (fork_server.py)."""
        run = os.path.join(folder, "run")
        return {
            "op": "start",
            "args": args,
            "cwd": os.path.join(folder, "box", "work"),
            "box": os.path.join(folder, "box"),
            "submission": os.path.join(folder, "submission"),
            "run": run,
            "env": kernel_env(folder, self.sandboxed),
            "limits": limits,
            "uid": uid,
            "log": os.path.join(run, "kernel.log"),
        }

    def prepare(self, limits: dict, extra_arguments: list[str]) -> None:
        """Start the next kernel up to its sockets now, in a fresh folder, as a fresh user id."""
        folder, uid = self.new_kernel_folder()
        connection_file = os.path.join(folder, "run", "kernel.json")
        ports = dict(shell_port=1, iopub_port=2, stdin_port=3, control_port=4, hb_port=5)
        info = {
            "transport": "ipc",
            "ip": os.path.join(folder, "run", "kernel"),  # sockets run/kernel-1 ... run/kernel-5
            **ports,
            "key": uuid.uuid4().hex,
            "signature_scheme": "hmac-sha256",
        }
        with open(os.open(connection_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
            json.dump(info, handle)
        self.seal_run(folder, uid)
        request = self.start_request(folder, uid, ["-f", connection_file, *extra_arguments], limits)
        pid = self.request({**request, "op": "prepare"})["pid"]
        self._prepared = Prepared(folder, uid, pid, connection_file, info, limits, extra_arguments)

    def take_prepared(self, limits: dict, extra_arguments: list[str]) -> Prepared | None:
        """The prepared kernel, if there is one, alive, with these limits and arguments; else None (and it is
        dropped)."""
        self.settle()
        prepared, self._prepared = self._prepared, None
        if prepared is None:
            return None
        same = prepared.limits == limits and prepared.extra_arguments == extra_arguments
        try:
            if same and self.request({"op": "alive", "pid": prepared.pid})["alive"]:
                return prepared
        except (OSError, RuntimeError, ValueError):
            return None
        self.drop(prepared)
        return None

    def go(self, prepared: Prepared, limits: dict) -> None:
        """Hand the prepared kernel its submission (copied into its folder) and limits: its cells may come."""
        self.seal_submission(prepared.folder)
        submission = os.path.join(prepared.folder, "submission")
        request = {"op": "go", "pid": prepared.pid, "submission": submission, "limits": limits}
        if not self.request(request)["ok"]:
            raise RuntimeError("the prepared kernel died before its notebook was due")

    def drop(self, prepared: Prepared) -> None:
        try:
            self.request({"op": "drop", "pid": prepared.pid, "box": os.path.join(prepared.folder, "box")})
        except (OSError, RuntimeError, ValueError):
            pass
        _remove(prepared.folder)

    def prepare_next(self, running_uid: int) -> None:
        """The kernel of user `running_uid` now runs its notebook. Where every kernel is a user of its own,
        prepare the next kernel now, in the background, while this one runs: holding no submission until its
        own is due, and being another user, it has nothing the running kernel could read and nothing it
        could signal, trace or write to. Where kernels share a user id, the next is prepared only once this
        one is swept (end_kernel)."""
        self.running_uid = running_uid
        if not self.users_apart or self.next_kernel is None:
            return
        self.settle()
        if self._prepared is None and self.alive():
            self._background = threading.Thread(target=self._prepare_next, name="prepare-kernel", daemon=True)
            self._background.start()

    def _prepare_next(self) -> None:
        try:
            self.prepare(*self.next_kernel)
        except (OSError, RuntimeError, ValueError):
            self._prepared = None  # the next kernel is prepared after this one's end, or starts the usual way

    def end_kernel(self, folder: str) -> None:
        """End the last kernel in the background (the worker goes on with its notebook meanwhile): kill it and
        whatever it left running, unmount its scratch, prepare the next kernel, then empty the scratch folder.
        Every later use of the host waits for that first (settle)."""
        if folder == self._ended:
            return
        self.settle()
        self._ended = folder
        self._background = threading.Thread(target=self._end, args=(folder,), name="end-kernel", daemon=True)
        self._background.start()

    def _end(self, folder: str) -> None:
        if self.alive():
            try:
                self.request({"op": "sweep", "box": os.path.join(folder, "box")})
            except (OSError, RuntimeError):
                pass
        leftovers = os.listdir(self.scratch)  # the folder, and anything planted beside it for the next
        if self._prepared is None and self.next_kernel is not None and self.alive():
            self._prepare_next()  # first: it starts up while the leftovers go
        kept = self._prepared.folder if self._prepared else None
        for leftover in leftovers:
            if os.path.join(self.scratch, leftover) != kept:
                _remove(os.path.join(self.scratch, leftover))

    def forget(self) -> None:
        """In a process forked from the owner: drop the copies of its pipes, and leave its host alone."""
        for stream in (self.process.stdin, self.process.stdout, self._errors):
            stream.close()

    def close(self) -> None:
        if os.getpid() != self.owner:
            return self.forget()
        self.settle()
        if self.process.poll() is None:
            try:
                self.process.stdin.close()  # the server sweeps and leaves
                self.process.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
        self._errors.close()
        shutil.rmtree(self.private, ignore_errors=True)


def _remove(path: str) -> None:
    """Remove a kernel folder the grader owns, read-only parts included."""
    for root, dirs, _ in os.walk(path):
        for name in [root, *(os.path.join(root, entry) for entry in dirs)]:
            if not os.path.islink(name):
                os.chmod(name, 0o700)
    shutil.rmtree(path, ignore_errors=True)


_hosts = threading.local()
_all_hosts: list[KernelHost] = []
_lock = threading.Lock()


def host_for_this_thread(
    sandboxed: bool, hidden: tuple[str, ...] = (), first_uid: int | None = None
) -> KernelHost:
    """This thread's warm host, started on first use and again if it died or its settings changed (one
    kernel at a time each); first_uid defaults to Sandbox.first_uid's default."""
    first_uid = Sandbox.first_uid.default_value if first_uid is None else first_uid
    host = getattr(_hosts, "host", None)
    if host is not None and host.owner == os.getpid():
        host.settle()  # its last kernel ended: it is alive, or it died, for sure
    if (
        host is None
        or host.owner != os.getpid()  # inherited by a fork: its parent's, not ours
        or not host.alive()
        or (host.sandboxed, host.first_uid) != (sandboxed, first_uid)
    ):
        if host is not None:
            host.close()  # in a forked process, only forgets its parent's
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
