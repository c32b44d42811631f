"""Real servers on loopback for the scale tier and its benchmark: Debian's PostgreSQL and a Dask cluster.

Each runs from a temporary folder of its own and is stopped by its PID. PostgreSQL refuses to run as root,
so when this process is root (as in CI) its commands run as the unprivileged user `nobody`.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REQUIRE_ENV = "RNN_COURSE_REQUIRE_SCALE"  # CI sets it: a missing PostgreSQL is then a failure, not a skip
ENABLE_HINT = "install Debian's PostgreSQL to enable it: sudo apt-get install -y postgresql"
PG_BINDIRS = "/usr/lib/postgresql/*/bin"  # Debian keeps initdb and pg_ctl off the PATH
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    """A TCP port on the loopback that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_bindir() -> Path | None:
    """The folder with initdb and pg_ctl: the newest Debian install, else the PATH, else None."""
    found = sorted(glob.glob(f"{PG_BINDIRS}/pg_ctl"), key=lambda path: int(path.split("/")[-3]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


def postgres_missing() -> str | None:
    """Why this machine cannot start a PostgreSQL server, or None when it can."""
    bindir = pg_bindir()
    if bindir is None or not (bindir / "initdb").exists():
        return f"PostgreSQL's initdb and pg_ctl not found (in {PG_BINDIRS} or on the PATH); {ENABLE_HINT}"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "the psycopg driver is missing; run `make setup` (the dev extra brings the postgres extra)"
    return None


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie left for an init that does not reap counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def stop_pid(pid: int, signum: int = signal.SIGTERM, timeout: float = 20) -> None:
    """Send `signum` to `pid` and wait until it is gone; SIGKILL if it outlives `timeout`."""
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
        time.sleep(0.05)


class Postgres:
    """One PostgreSQL cluster: initdb into a temporary folder, pg_ctl on a free 127.0.0.1 port, trust auth."""

    def __init__(self, *, durable: bool = False):
        self.bindir = pg_bindir()
        # Mode 0700; in /tmp as root, so that `nobody` can reach it whatever TMPDIR says.
        parent = "/tmp" if os.geteuid() == 0 else None
        self.folder = Path(tempfile.mkdtemp(prefix="rnn-course-pg-", dir=parent))
        self.data = self.folder / "data"
        self.port = free_port()
        self.pid = 0
        self.as_user = {}
        if os.geteuid() == 0:  # initdb and postgres refuse root
            nobody = pwd.getpwnam("nobody")
            os.chown(self.folder, nobody.pw_uid, nobody.pw_gid)
            self.as_user = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}
        # Tests need no crash safety across power loss; the benchmark keeps PostgreSQL's default (fsync on).
        self.settings = [] if durable else ["-c", "fsync=off", "-c", "synchronous_commit=off"]
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")

    def _run(self, program: str, *args: str) -> None:
        done = subprocess.run(
            [str(self.bindir / program), *args],
            cwd=self.folder,
            capture_output=True,
            text=True,
            **self.as_user,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed ({done.returncode}): {done.stdout}{done.stderr}")

    def start(self) -> None:
        """Start the server (again) on the same port and data, and wait until it accepts connections."""
        options = " ".join(["-h", "127.0.0.1", "-p", str(self.port), "-k", str(self.folder), *self.settings])
        self._run(
            "pg_ctl",
            "start",
            "-D",
            str(self.data),
            "-w",
            "-t",
            "60",
            "-l",
            str(self.folder / "log"),
            "-o",
            options,
        )
        self.pid = int((self.data / "postmaster.pid").read_text().split()[0])

    def stop(self) -> None:
        """Stop the server by its PID (SIGINT: PostgreSQL's fast shutdown, which ends every session)."""
        if self.pid:
            stop_pid(self.pid, signal.SIGINT)
            self.pid = 0

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of `database`, as nbgrader's db_url (the postgres extra's psycopg driver)."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        ) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def query(self, database: str, sql: str) -> list[tuple]:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=database) as link:
            return link.execute(sql).fetchall()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


class DaskCluster:
    """`dask scheduler` and `dask worker` processes (no nanny, one thread each) on 127.0.0.1.

    Every worker has its own working folder. Each process leads a session of its own, so a worker and what
    it started (its kernel fork server, its kernels) can be ended together.
    """

    def __init__(self, workers: int = 2, folder: Path | None = None):
        self.own_folder = folder is None
        self.folder = Path(folder or tempfile.mkdtemp(prefix="rnn-course-dask-"))
        self.folder.mkdir(parents=True, exist_ok=True)
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.scheduler = self._spawn(
            "scheduler",
            ["scheduler", "--host", "127.0.0.1", "--port", self.address.rsplit(":", 1)[1], "--no-dashboard"],
        )
        self.workers = [self.add_worker(f"worker{index}") for index in range(workers)]
        self.wait_for_workers(workers)

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        folder = self.folder / name
        folder.mkdir(exist_ok=True)
        log = open(folder / "log", "ab")  # noqa: SIM115 (kept open for the process's life)
        return subprocess.Popen(
            [str(VENV_BIN / "dask"), *args],
            cwd=folder,
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def add_worker(self, name: str) -> subprocess.Popen:
        return self._spawn(
            name,
            [
                "worker",
                self.address,
                "--name",
                name,
                "--nworkers",
                "1",
                "--nthreads",
                "1",
                "--no-nanny",
                "--host",
                "127.0.0.1",
                "--no-dashboard",
                "--local-directory",
                str(self.folder / name),
            ],
        )

    def wait_for_workers(self, count: int, timeout: float = 120) -> None:
        from distributed import Client

        with Client(self.address, timeout=timeout) as client:
            client.wait_for_workers(count, timeout=timeout)

    def graded_on(self) -> dict[str, bool]:
        """For each worker: has it run a grading task (its process has imported nbgrader)?"""
        from distributed import Client

        def imported_nbgrader() -> bool:
            return "nbgrader" in sys.modules

        with Client(self.address) as client:
            answers = client.run(imported_nbgrader)
            names = {address: info["name"] for address, info in client.scheduler_info()["workers"].items()}
        return {names[address]: answer for address, answer in answers.items()}

    def kill_worker(self, index: int) -> None:
        """`kill -9` the worker: it gets no chance to tell the scheduler or finish its task."""
        os.kill(self.workers[index].pid, signal.SIGKILL)
        self.workers[index].wait()

    def close(self) -> None:
        """Stop the workers, then the scheduler, by PID; then anything left in their sessions."""
        for process in [*self.workers, self.scheduler]:
            if process.poll() is None:
                stop_pid(process.pid)
                process.wait()
            try:
                os.killpg(process.pid, signal.SIGKILL)  # the session's process group: what it left behind
            except ProcessLookupError:
                pass
        if self.own_folder:
            shutil.rmtree(self.folder, ignore_errors=True)
