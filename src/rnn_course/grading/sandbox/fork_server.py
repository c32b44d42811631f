"""The fork server: import torch once, then fork a fresh IPython kernel for every notebook.

It runs inside the sandbox (host.py starts it), and imports only the standard library itself, so it pays
for nothing but the modules it is asked to preload. It answers one JSON request per connection on a listening
socket it inherits; the socket's file lies outside the sandbox, so no kernel can reach it:

    {"op": "start", "args": [...], "cwd": ..., "env": {...}, "limits": {...}, "uid": 200123}  -> {"pid": 7}
    {"op": "prepare", ...the same...} -> {"pid": 8}   a kernel started up to its sockets, waiting for "go"
    {"op": "go", "pid": 8, "submission": ..., "limits": {...}} -> {"ok": true}   its submission: it runs
    {"op": "drop", "pid": 8, "box": ...} -> {"ok": true}   a prepared kernel that will not be used
    {"op": "signal", "pid": 7, "signum": 2} -> {"ok": true}    {"op": "alive", "pid": 7} -> {"alive": false}
    {"op": "sweep", "box": ...} -> {"killed": 3}   kill what the last kernel left (not a prepared kernel),
                                                   unmount its scratch

Each kernel gets a scratch of its own (`box`): a tmpfs of a fixed size and number of files, mounted here
(never executable), which vanishes whole when `sweep` unmounts it. Its start-up copies in the submission,
binds its sockets, then makes its run/ folder read-only and loads the seccomp filter (syscalls.py): from the
learner's first cell on it can make threads but no process, program, namespace, mount or shared memory.

A prepared kernel pays its start-up (IPython, its sockets) while the grader is busy with other things (while
the last kernel runs where each is a user of its own, else once it is swept: host.py), and gets its
submission when its notebook is due. Until then it holds no submission and runs no code. Its command line,
the same for every kernel but its connection file, is parsed here once (`parse_once`).

It is the child subreaper of everything its kernels start (prctl PR_SET_CHILD_SUBREAPER), so a process that
left its session or double-forked is still its descendant, and `sweep` finds it.
"""

from __future__ import annotations

import copy
import ctypes
import importlib
import json
import os
import resource
import select
import signal
import socket
import stat
import sys
import time

from rnn_course.grading.sandbox.site_hook import INSIDE_MARKER  # standard library only, like this module

_prepared: dict[int, int] = {}  # pid of a prepared kernel -> the pipe that tells it to go
_parsed: dict[tuple[str, ...], tuple] = {}  # a kernel's command line, less its connection file -> parsed
CONNECTION_FILE = "{connection_file}"  # where a kernel's own connection file goes in a parsed command line

PR_SET_DUMPABLE, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 4, 36, 38
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MNT_DETACH = 2, 4, 8, 4096, 2
# PyTorch's RNN as Python source: unreadable in the sandbox once imported (and switched off, forbid.py).
HIDDEN_SOURCES = ("torch.nn.modules.rnn", "torch._decomp.decompositions")
_libc = ctypes.CDLL(None, use_errno=True)


def _prctl(option: int, value: int) -> None:
    if _libc.prctl(option, value, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option}) failed")


def _mount(source: str, target: str, fstype: str | None, flags: int, options: str = "") -> None:
    fs = fstype.encode() if fstype else None
    if _libc.mount(source.encode(), target.encode(), fs, flags, options.encode() or None) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"mount {target}: {os.strerror(error)}")


def _unmount(target: str) -> None:
    _libc.umount2(target.encode(), MNT_DETACH)  # gone if mounted; a no-op otherwise


def _drop_capabilities() -> None:
    """Empty this process's capability sets (capset version 3), as a setuid to another user would."""

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable for both 32-bit halves: all 0
    if _libc.capset(ctypes.byref(Header(0x20080522, 0)), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")
    for cap in range(64):
        _libc.prctl(24, cap, 0, 0, 0)  # PR_CAPBSET_DROP; fails harmlessly past the last capability
    _libc.prctl(47, 4, 0, 0, 0)  # PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL


def hide_sources(names: tuple[str, ...] = HIDDEN_SOURCES) -> None:
    """Bind an empty file over each imported module's source and bytecode (inside the sandbox only)."""
    import importlib.util

    for name in names:
        module = sys.modules.get(name)
        if module is None or not getattr(module, "__file__", None):
            continue
        paths = [module.__file__, importlib.util.cache_from_source(module.__file__)]
        folder = os.path.join(os.path.dirname(module.__file__), "__pycache__")
        stem = os.path.basename(module.__file__)[: -len(".py")] + "."
        if os.path.isdir(folder):
            paths += [os.path.join(folder, entry) for entry in os.listdir(folder) if entry.startswith(stem)]
        for path in dict.fromkeys(paths):
            if os.path.isfile(path):
                _mount("/dev/null", path, None, MS_BIND)


def serve(listen_fd: int, preload: list[str]) -> None:
    """Preload, then answer requests on the inherited socket until stdin closes (the grader is gone)."""
    for name in preload:
        try:
            importlib.import_module(name)
        except ImportError:
            pass  # a missing optional module only makes that import slower in the kernel
    from rnn_course.grading.sandbox import forbid, syscalls  # noqa: F401 (the filter's library, loaded once here)

    forbid.switch_off_rnn_kernels()  # sandboxed or not, no kernel may run PyTorch's RNN
    if os.path.exists(INSIDE_MARKER):
        hide_sources()
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    _prctl(PR_SET_DUMPABLE, 0)  # no kernel may ptrace this process or read its memory
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children and adopted orphans are reaped by the kernel
    listener = socket.socket(fileno=listen_fd)
    sys.stdout.buffer.write(b"ready\n")
    sys.stdout.buffer.flush()
    while True:
        readable, _, _ = select.select([listener, sys.stdin], [], [])
        if sys.stdin in readable and not os.read(sys.stdin.fileno(), 1024):
            sweep()
            return
        if listener in readable:
            connection, _ = listener.accept()
            try:
                _answer(listener, connection)
            except (OSError, ValueError, KeyError):
                pass  # a client that died mid-request (a killed worker) must not take the server down


def _answer(listener: socket.socket, connection: socket.socket) -> None:
    with connection, connection.makefile("rwb") as stream:
        request = json.loads(stream.readline())  # ValueError when the client is gone before asking
        op = request["op"]
        if op in ("start", "prepare"):
            reply = {"pid": _fork_kernel(listener, connection, request)}
        elif op == "go":
            reply = {"ok": _go(request)}
        elif op == "drop":
            go = _prepared.pop(request["pid"], None)
            reply = {"ok": go is not None and _signal(request["pid"], signal.SIGKILL)}
            if go is not None:
                os.close(go)
                _unmount(request["box"])
        elif op == "signal":
            reply = {"ok": _signal(request["pid"], request["signum"])}
        elif op == "alive":
            reply = {"alive": _signal(request["pid"], 0)}
        elif op == "sweep":
            reply = {"killed": sweep(keep=set(_prepared))}
            if request.get("box"):
                _unmount(request["box"])
        else:
            raise ValueError(f"unknown op {op!r}")
        try:
            stream.write(json.dumps(reply).encode() + b"\n")
            stream.flush()
        except OSError:
            if op in ("start", "prepare"):
                os.kill(reply["pid"], signal.SIGKILL)  # nobody will ever talk to this kernel
            raise


def _signal(pid: int, signum: int) -> bool:
    if pid not in _descendants():
        return False  # only this server's own kernels (and what they started) may be signalled
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        return False
    return True


def _fork_kernel(listener, connection, request: dict) -> int:
    box, limits = request["box"], request["limits"]
    if os.path.exists(INSIDE_MARKER):  # a scratch of fixed size and file count, never executable
        owner = max(request.get("uid", -1), 0) if os.getuid() == 0 else os.getuid()
        _mount(
            "tmpfs",
            box,
            "tmpfs",
            MS_NOSUID | MS_NODEV | MS_NOEXEC,
            f"size={limits['scratch_mb']}m,nr_inodes={limits['scratch_files']},mode=0700,uid={owner},gid={owner}",
        )
    go_read, go_write = os.pipe() if request["op"] == "prepare" else (None, None)
    parsed = parse_once(request["args"])
    pid = os.fork()
    if pid == 0:
        try:
            listener.close()
            connection.close()
            for fd in (go_write, *_prepared.values()):
                if fd is not None:
                    os.close(fd)  # no kernel holds another's go
            _become_kernel(request, go_read, parsed)  # never returns
        finally:
            os._exit(1)  # the child must never go back to serving
    if go_read is not None:
        os.close(go_read)
        _prepared[pid] = go_write
    return pid


def _go(request: dict) -> bool:
    """Hand a prepared kernel its submission and its limits; False if it is not one, or it died."""
    go = _prepared.pop(request["pid"], None)
    if go is None:
        return False
    try:
        os.write(go, json.dumps({"submission": request["submission"], "limits": request["limits"]}).encode())
        return True
    except OSError:
        return False  # it is gone
    finally:
        os.close(go)


def kernel_argv(args: list[str], server_pid: int) -> list[str]:
    """A kernel's command line: the request's, and the fork server to watch (it exits when that goes)."""
    return [*args, f"--IPKernelApp.parent_handle={server_pid}"]


def parse_once(args: list[str]):
    """What IPKernelApp's command-line parser makes of a kernel's arguments (`-f CONNECTION_FILE ...`),
    parsed here once for every kernel with the same arguments but its connection file (about 8 ms of each
    kernel's start-up); None for any other command line, which each kernel parses itself."""
    if len(args) < 2 or args[0] != "-f":
        return None
    key = (CONNECTION_FILE, *args[2:])
    if key not in _parsed:
        from ipykernel.kernelapp import IPKernelApp

        parser = IPKernelApp()  # not the kernel's own instance: only its parser is wanted
        try:
            parser.parse_command_line(kernel_argv(["-f", CONNECTION_FILE, *args[2:]], os.getpid()))
        except (Exception, SystemExit):  # a bad argument: the kernel parses it, and fails, as it always did
            return None
        if parser.cli_config.IPKernelApp.get("connection_file") != CONNECTION_FILE:
            return None
        _parsed[key] = (parser.cli_config, list(parser.extra_args))
    return _parsed[key]


def use_parsed(app, parsed, connection_file: str) -> None:
    """Make `app.parse_command_line` apply `parsed` (parse_once) for this connection file, as traitlets'
    own parse would: the same config, the same unparsed arguments."""
    config, extra_args = parsed

    def parse_command_line(argv=None) -> None:
        app.argv = list(argv or [])
        app.cli_config = copy.deepcopy(config)
        app.cli_config.IPKernelApp.connection_file = connection_file
        app.update_config(app.cli_config)
        app.extra_args = list(extra_args)

    app.parse_command_line = parse_command_line


def _become_kernel(request: dict, go: int | None, parsed=None) -> None:
    """In the forked child: drop privileges, apply the limits, and run an IPython kernel until shut down.

    A prepared kernel (`go` is its pipe) starts up to its sockets, then waits for its submission and limits.
    `parsed` is its command line as parse_once parsed it, or None.
    """
    code = 1
    try:
        os.setsid()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        uid = request.get("uid", -1)
        if uid >= 0 and os.getuid() == 0:  # graded as root: become a user id of this kernel's own
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)  # clears every capability
        else:
            _drop_capabilities()  # the server's own (it mounts scratches); a kernel keeps none
        devnull = os.open(os.devnull, os.O_RDWR)
        log = os.open(request.get("log") or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        for fd, target in ((0, devnull), (1, devnull), (2, log)):
            os.dup2(target, fd)
        _prctl(PR_SET_NO_NEW_PRIVS, 1)  # no setuid program can give the kernel privileges back
        _make_box(request["box"])
        if go is None:
            _fill_box(request["box"], request["submission"])
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.path[0] = request["cwd"]
        from ipykernel.kernelapp import IPKernelApp

        # The kernel exits on its own if the fork server goes (say the grading run was killed).
        args = kernel_argv(request["args"], os.getppid())
        sys.argv = ["ipykernel_launcher", *args]
        app = IPKernelApp.instance()
        if parsed is not None:
            use_parsed(app, parsed, request["args"][1])
        app.initialize(args)  # its sockets are bound now
        from rnn_course.grading.sandbox.quick_cells import skip_empty_waits

        skip_empty_waits(app.kernel)
        if go is not None:
            with os.fdopen(go, "rb") as pipe:
                due = json.loads(pipe.read() or b"null")  # the server closes it after one message
            if due is None:
                return  # dropped before its notebook was due
            _fill_box(request["box"], due["submission"])
            request = {**request, "limits": due["limits"]}
        limits = request["limits"]
        apply_rlimits(limits["memory_mb"], limits["max_processes"], limits["max_file_mb"])
        _lock_down(request["run"])
        app.start()
        code = 0
    except BaseException:
        import traceback

        # Into the kernel's log (or the server's, before the log is open): once the kernel has started up,
        # sys.stderr is its output stream to the notebook, which is not listening yet.
        traceback.print_exc(file=sys.__stderr__)
    finally:
        os._exit(code)


def _make_box(box: str) -> None:
    """The kernel's folders in its scratch."""
    for part in ("work", "home", "tmp"):
        os.makedirs(os.path.join(box, part), exist_ok=True)


def _fill_box(box: str, submission: str) -> None:
    """A copy of the submission's files in the kernel's scratch (regular files only)."""
    for root, _, files in os.walk(submission):
        target = os.path.join(box, "work", os.path.relpath(root, submission))
        os.makedirs(target, exist_ok=True)
        for name in files:
            source = os.path.join(root, name)
            if not stat.S_ISREG(os.lstat(source).st_mode):
                continue  # only regular files travel
            with (
                open(os.open(source, os.O_RDONLY | os.O_NOFOLLOW), "rb") as src,
                open(os.path.join(target, name), "wb") as dst,
            ):
                while chunk := src.read(1 << 20):
                    dst.write(chunk)


def _lock_down(run: str) -> None:
    """Before the learner's first cell: run/ read-only (its sockets are bound), then the seccomp filter."""
    from rnn_course.grading.sandbox import syscalls

    os.chmod(run, 0o500)
    syscalls.lock_down()  # no chmod from here on, so run/ stays read-only


# ---------------------------------------------------------------- leaving nothing behind


def _descendants() -> set[int]:
    """Every process below this one (orphans included: this process is their subreaper)."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as stat:
                    ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(name))
    found, todo = set(), [os.getpid()]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def sweep(keep: set[int] = frozenset()) -> int:
    """Kill every descendant but `keep`, again and again until none is left (a fork bomb races the first
    passes)."""
    killed = 0
    for _ in range(500):
        left = _descendants() - keep
        if not left:
            break
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
        time.sleep(0.002)
    return killed


# ---------------------------------------------------------------- limits of the kernel process


def _address_space_now() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _tasks_of_this_user() -> int:
    """Threads of this user id (RLIMIT_NPROC counts threads, not processes)."""
    uid, count = os.getuid(), 0
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.stat(f"/proc/{name}").st_uid == uid:
                    count += len(os.listdir(f"/proc/{name}/task"))
            except OSError:
                pass
    return count


def _cap(kind: int, wanted: int) -> None:
    _, hard = resource.getrlimit(kind)
    value = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    resource.setrlimit(kind, (value, value))


def apply_rlimits(memory_mb: int, max_processes: int, max_file_mb: int) -> None:
    """Cap memory (address space), processes, file size and core dumps; each holds for any user id but 0."""
    # The warm kernel already maps torch (a few GB of address space), so the cap is relative to now.
    _cap(resource.RLIMIT_AS, _address_space_now() + memory_mb * 2**20)
    _cap(resource.RLIMIT_NPROC, _tasks_of_this_user() + max_processes)
    _cap(resource.RLIMIT_CORE, 0)
    _cap(resource.RLIMIT_FSIZE, max_file_mb * 2**20)


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2:])
