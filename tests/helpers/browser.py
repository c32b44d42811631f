"""A real JupyterLab server and a headless Debian Chromium, shared by the browser tests and the benchmark."""

import html
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from rnn_course.lab_socket import SETTING as LAB_SOCKET  # the kernel's websocket as `make lab` runs it
from tests.helpers.paths import ROOT
from tests.helpers.servers import free_port  # noqa: F401 (the lab's port; callers import it from here too)

CHROMIUM = Path(os.environ.get("RNN_COURSE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",  # containers often give /dev/shm only 64 MB, which crashes tabs
]
ENABLE_HINT = "install Debian's Chromium to enable it: sudo apt-get install -y chromium"
REQUIRE_ENV = "RNN_COURSE_REQUIRE_BROWSER"
ARTIFACTS = ROOT / "test-artifacts" / "browser"  # screenshots of failed tests

# Settings the lab starts with: no news pop-up, and every cell kept in the page (no virtual scrolling),
# so that the tests see all outputs at once.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}

# A traceback as JupyterLab renders it: IPython's header line, or a line that starts with an exception name.
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|^\s*[\w.]*(Error|Exception|Interrupt)\b", re.M)


def browser_missing() -> str | None:
    """Why the browser tier cannot run here, or None when it can."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} not found; {ENABLE_HINT}"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Python playwright is missing; run `make setup` (playwright is in the dev extra)"
    return None


def venv_python() -> str:
    """The project's .venv interpreter, falling back to the running one."""
    candidate = ROOT / ".venv" / "bin" / "python"
    return str(candidate) if candidate.exists() else sys.executable


def copy_lessons(dest: Path) -> Path:
    """Copy the lesson notebooks into dest/notebooks, so running cells never touches the committed ones."""
    skip = shutil.ignore_patterns(".ipynb_checkpoints")
    shutil.copytree(ROOT / "notebooks", dest / "notebooks", ignore=skip)
    return dest


def release_assignment(dest: Path, assignment: str = "rnn_from_scratch") -> Path:
    """Copy the nbgrader course into dest/grader, run `rnn-course grade release` there; return the notebook.

    The committed grader/ folder is left alone.
    """
    course = dest / "grader"
    course.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "grader" / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "grader" / "source" / assignment, course / "source" / assignment)
    cli = Path(venv_python()).parent / "rnn-course"
    command = [str(cli)] if cli.exists() else [venv_python(), "-m", "rnn_course.cli"]
    result = subprocess.run(
        [*command, "grade", "release", assignment, "--course-dir", str(course)],
        cwd=dest, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"rnn-course grade release failed ({result.returncode}):\n{result.stderr[-3000:]}")
    notebooks = sorted((course / "release" / assignment).glob("*.ipynb"))
    if not notebooks:
        raise RuntimeError(f"rnn-course grade release wrote no notebook under {course / 'release'}")
    return notebooks[0]


@dataclass
class Lab:
    """A JupyterLab server on the loopback, with its own settings, workspaces and runtime folders."""

    root_dir: Path
    state_dir: Path
    port: int = 0
    token: str = ""
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 90) -> "Lab":
        self.port, self.token = free_port(), secrets.token_hex(16)
        env = dict(os.environ)
        for name in ("settings", "workspaces", "runtime", "config"):
            (self.state_dir / name).mkdir(parents=True, exist_ok=True)
        for name, values in LAB_SETTINGS.items():
            path = self.state_dir / "settings" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        env.update(
            JUPYTERLAB_SETTINGS_DIR=str(self.state_dir / "settings"),
            JUPYTERLAB_WORKSPACES_DIR=str(self.state_dir / "workspaces"),
            JUPYTER_RUNTIME_DIR=str(self.state_dir / "runtime"),
            JUPYTER_CONFIG_DIR=str(self.state_dir / "config"),
            PYDEVD_DISABLE_FILE_VALIDATION="1",
            RNN_COURSE_DATA_DIR=str(self.state_dir / "quiz-progress"),  # the quiz keeps its record here
        )
        command = [
            venv_python(), "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
            f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root_dir}",
            "--ServerApp.port_retries=0", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly", LAB_SOCKET,
        ]  # fmt: skip
        if os.geteuid() == 0:  # containers and CI often run as root
            command.append("--allow-root")
        self.log_path = self.state_dir / "jupyterlab.log"
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(command, cwd=self.root_dir, env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                self.api("GET", "/api/status")
                return self
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"JupyterLab did not answer within {timeout_s:.0f} s:\n{self.log_tail()}")

    def api(self, method: str, path: str):
        """Call the server's REST API with the token; return the decoded JSON (or None)."""
        request = urllib.request.Request(
            f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def lab_url(self, relpath: str) -> str:
        """The lab opened on one notebook, with a fresh workspace (no tabs restored from earlier pages)."""
        return f"{self.url}/lab/tree/{relpath}?reset&token={self.token}"

    def kernel_state(self, relpath: str) -> str | None:
        """The execution state of the kernel the lab runs for this notebook, or None when there is none."""
        for session in self.api("GET", "/api/sessions") or []:
            if session.get("path") == relpath and session.get("kernel"):
                return session["kernel"].get("execution_state")
        return None

    def shutdown_kernels(self) -> None:
        for kernel in self.api("GET", "/api/kernels") or []:
            try:
                self.api("DELETE", f"/api/kernels/{kernel['id']}")
            except urllib.error.URLError:
                pass

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Shut the kernels down, then stop the server by its PID (SIGTERM, then SIGKILL)."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            self.shutdown_kernels()
        except (urllib.error.URLError, OSError):
            pass
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)


def launch_chromium(playwright):
    """Debian's Chromium, headless, with no network chatter of its own."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)


def in_a_thread_of_its_own(function, *args) -> None:
    """Run `function` in a new thread: Playwright's sync API refuses a thread where an asyncio loop is
    marked running, and an earlier test in the same session (nbclient's kernels) can leave one so."""
    failure = []

    def run():
        try:
            function(*args)
        except BaseException as error:  # handed back to the test's own thread below
            failure.append(error)

    worker = threading.Thread(target=run, name="playwright")
    worker.start()
    worker.join()
    if failure:
        raise failure[0]


# ---------------------------------------------------------------------------------------------------------
# Page helpers: open a notebook, run it, read its outputs. NOTEBOOK is the notebook in the visible tab.

NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden)"
STDERR = f'{NOTEBOOK} .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
PROMPTS_JS = (
    f"const prompts = [...document.querySelectorAll('{NOTEBOOK} .jp-CodeCell .jp-InputArea-prompt')]"
    ".map(p => p.textContent);"
)


def open_notebook(page, lab: Lab, relpath: str, timeout_ms: int = 120_000) -> None:
    """Load JupyterLab on one notebook and wait until its kernel has started and is idle.

    On a cold server the lab can ask which kernel to start before it has the kernel list;
    its default (the notebook's own python3) is accepted, as a learner would.
    """
    page.goto(lab.lab_url(relpath))
    page.locator(f"{NOTEBOOK} .jp-Notebook").wait_for(timeout=timeout_ms)
    ask = page.locator(".jp-Dialog", has_text="Select Kernel")
    deadline = time.monotonic() + timeout_ms / 1000
    while time.monotonic() < deadline:
        if ask.is_visible():
            ask.locator(".jp-mod-accept").click()
        if lab.kernel_state(relpath) == "idle":
            wait_kernel_idle(page, timeout_ms)
            return
        page.wait_for_timeout(250)
    raise TimeoutError(f"the kernel of {relpath} did not start within {timeout_ms / 1000:.0f} s")


def wait_kernel_idle(page, timeout_ms: int = 120_000) -> None:
    idle = f'{NOTEBOOK} .jp-Notebook-ExecutionIndicator[data-status="idle"]'
    page.locator(idle).wait_for(timeout=timeout_ms)


def run_all_cells(page, timeout_ms: int = 180_000) -> None:
    """Run > Run All Cells through the menu, then wait until no cell is queued or running."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(3):  # a click that lands before the kernel is connected runs nothing: retry it
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
        try:
            started = f"() => {{ {PROMPTS_JS} return prompts.some(p => /\\[(\\*|\\d+)\\]/.test(p)); }}"
            page.wait_for_function(started, timeout=15_000, polling=100)
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
    finished = f"() => {{ {PROMPTS_JS} return prompts.every(p => !p.includes('*')); }}"
    page.wait_for_function(finished, timeout=timeout_ms, polling=250)
    wait_kernel_idle(page, timeout_ms)


def wait_until(page, predicate_js: str, arg, what: str, timeout_ms: int = 30_000) -> None:
    """Wait for a JavaScript predicate; fail with an AssertionError that says what did not happen."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(predicate_js, arg=arg, timeout=timeout_ms, polling=50)
    except PlaywrightTimeout:
        raise AssertionError(f"{what} (waited {timeout_ms / 1000:.0f} s)") from None


def executed_prompt_count(page) -> int:
    """How many code cells show an execution count like [3]:."""
    texts = page.locator(f"{NOTEBOOK} .jp-CodeCell .jp-InputArea-prompt").all_text_contents()
    return sum(bool(re.search(r"\[\d+\]", text)) for text in texts)


def error_outputs(page) -> list[str]:
    """Texts of the error outputs (tracebacks) JupyterLab rendered; plain stderr warnings are left out."""
    return [text for text in page.locator(STDERR).all_inner_texts() if TRACEBACK.search(text)]


def stderr_outputs(page) -> list[str]:
    """Every stderr output, warnings included (reported, not failed on)."""
    return page.locator(STDERR).all_inner_texts()


def shown_labels(quiz) -> list[str]:
    texts = quiz.locator(".rnn-quiz-choices label").all_inner_texts()
    return [" ".join(text.split()) for text in texts if text.strip()]


def plain(labels: list[str]) -> list[str]:
    """The labels as the page shows them: Markdown rendered, so no backticks, spaces folded."""
    from rnn_course.quiz.widget import markdown_html

    texts = [html.unescape(re.sub(r"<[^>]+>", "", markdown_html(label, inline=True))) for label in labels]
    return [" ".join(text.split()) for text in texts]
