"""A real JupyterHub on loopback for the hub tier: local accounts, a shared environment, stopped by PID.

The hub runs as root from this .venv with the course's own `grader/hub/jupyterhub_config.py`; it logs
learners in through PAM and starts each one's JupyterLab as that local user. Those users cannot read a
checkout in a 0700 folder (as CI clones it), so their JupyterLab and the instructor's commands run from a
shared environment in /tmp: Debian's python3.11 with hard links to this venv's packages (no download).
"""

from __future__ import annotations

import grp
import importlib.util
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.helpers import browser as harness
from tests.helpers.browser import free_port
from tests.helpers.paths import ROOT
from tests.helpers.servers import alive, stop_pid
from tests.helpers.venvs import SYSTEM_PYTHON, link, ordinary_venv

REQUIRE_ENV = "RNN_COURSE_REQUIRE_HUB"  # .ci/run sets it: a missing piece is then a failure, not a skip
HUB_CONFIG = ROOT / "grader" / "hub" / "jupyterhub_config.py"
LEARNER_CONFIG = ROOT / "grader" / "hub" / "learner"
PROXY = "configurable-http-proxy"


def hub_missing() -> str | None:
    """Why this machine cannot run the hub tier, or None when it can."""
    if os.geteuid() != 0:
        return "it runs as root (it adds local accounts, and the hub starts each learner's server as one)"
    if importlib.util.find_spec("jupyterhub") is None:
        return "JupyterHub is missing; run `make setup` (the dev extra brings it)"
    if shutil.which(PROXY) is None:
        return f"{PROXY} is not on the PATH; install it with npm: npm install -g {PROXY}"
    if not Path(SYSTEM_PYTHON).exists():
        return f"{SYSTEM_PYTHON} is missing (the learners' environment); sudo apt-get install -y python3"
    if shutil.which("useradd") is None:
        return "useradd is missing (the tier adds local accounts)"
    return harness.browser_missing()


def shared_venv(root: Path) -> Path:
    """A venv every local user can run: this venv's packages, JupyterLab's assets and server extensions."""
    venv = ordinary_venv(root)
    here = Path(sys.prefix) / "bin"
    for script in here.iterdir():  # console scripts (alembic, which nbgrader runs, jupyter, ...), re-pointed
        target = venv / "bin" / script.name
        if script.is_file() and not script.is_symlink() and not target.exists():
            head = script.read_bytes()[:200]
            if head.startswith(f"#!{here}/python".encode()):
                text = script.read_text().split("\n", 1)
                target.write_text(f"#!{venv / 'bin' / 'python'}\n{text[1]}")
                target.chmod(0o755)
    for shared in ("share/jupyter", "etc/jupyter"):
        source = Path(sys.prefix) / shared
        if source.exists():
            shutil.copytree(source, venv / shared, copy_function=link, symlinks=True, dirs_exist_ok=True)
    return venv


@dataclass
class Account:
    name: str
    password: str
    home: Path

    @property
    def uid(self) -> int:
        return pwd.getpwnam(self.name).pw_uid

    @property
    def gid(self) -> int:
        return pwd.getpwnam(self.name).pw_gid

    def chown(self, path: Path) -> None:
        """Give `path` and everything under it to this user."""
        for item in [path, *path.rglob("*")]:
            os.lchown(item, self.uid, self.gid)


def _run(*command: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr}")


def add_group(name: str) -> None:
    try:
        grp.getgrnam(name)
    except KeyError:
        _run("groupadd", name)


def add_account(name: str, group: str, homes: Path) -> Account:
    """A local user with a random password in `group`, its home under `homes` (any old one removed first)."""
    remove_account(name)
    home = homes / name
    _run("useradd", "--create-home", "--home-dir", str(home), "--shell", "/bin/bash", "--gid", group, name)
    password = secrets.token_urlsafe(12)
    done = subprocess.run(["chpasswd"], input=f"{name}:{password}\n", capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"chpasswd failed for {name}: {done.stderr}")
    return Account(name, password, home)


def remove_account(name: str) -> None:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return
    subprocess.run(["userdel", "--force", name], capture_output=True)


def remove_group(name: str) -> None:
    subprocess.run(["groupdel", name], capture_output=True)


def children(pid: int) -> list[int]:
    """The PIDs whose parent is `pid` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@dataclass
class Hub:
    """JupyterHub and its configurable-http-proxy on free 127.0.0.1 ports, in a state folder of its own."""

    state: Path
    env: dict[str, str]
    port: int = 0
    process: subprocess.Popen | None = None
    pids: dict[str, int] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120) -> Hub:
        self.port = free_port()
        self.state.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            **self.env,
            "RNN_COURSE_HUB_URL": self.url,
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        }
        command = [
            sys.executable,
            "-m",
            "jupyterhub",
            "-f",
            str(HUB_CONFIG),
            f"--JupyterHub.hub_bind_url=http://127.0.0.1:{free_port()}",
            f"--ConfigurableHTTPProxy.api_url=http://127.0.0.1:{free_port()}",
        ]
        self.log_path = self.state / "jupyterhub.log"
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            command,
            cwd=self.state,
            env=env,
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.pids["hub"] = self.process.pid
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterHub exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/hub/api", timeout=10) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.5)
        raise RuntimeError(f"JupyterHub did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 60) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def servers(self) -> dict[str, int]:
        """The hub's child processes by role: the proxy, and each single-user server by its user."""
        found = {}
        if self.process is None:
            return found
        for pid in children(self.process.pid):
            try:
                environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            user = next(
                (item.split(b"=", 1)[1].decode() for item in environ if item.startswith(b"JUPYTERHUB_USER=")),
                None,
            )
            if user:
                found[f"server:{user}"] = pid
            elif any(PROXY.encode() in part for part in cmdline):
                found["proxy"] = pid
        return found

    def stop(self) -> list[str]:
        """Stop each server by its PID (learners' servers, hub, proxy); return the roles that outlived it."""
        if self.process is None:
            return []
        self.pids.update(self.servers())
        servers = [role for role in self.pids if role.startswith("server:")]
        order = [*servers, "hub", *(["proxy"] if "proxy" in self.pids else [])]
        for role in order:
            stop_pid(self.pids[role], signal.SIGTERM, timeout=30)
        self.process.wait(timeout=10)
        for pid in self.pids.values():  # each ran in a session of its own: anything it left (kernels)
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.process = None
        return [role for role, pid in self.pids.items() if alive(pid)]
