"""`make lab` starts a JupyterLab that serves lesson 1."""

import json
import os
import secrets
import signal
import subprocess
import time
import urllib.request

import pytest

from tests.helpers.paths import ROOT
from tests.helpers.servers import free_port


@pytest.mark.notebooks
def test_make_lab_serves_lesson_one():
    port, token = free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_TOKEN": token}
    command = ["make", "-s", "lab", f"PORT={port}", "LAB_ARGS=--no-browser --ip=127.0.0.1"]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    server = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True, **quiet)
    url = f"http://127.0.0.1:{port}/api/contents/notebooks/01_rnn_syntax.ipynb?token={token}"
    try:
        deadline, notebook = time.monotonic() + 90, None
        while time.monotonic() < deadline and notebook is None:
            assert server.poll() is None, "make lab exited early"
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    notebook = json.load(response)
            except OSError:
                time.sleep(0.5)
        assert notebook is not None, "JupyterLab did not answer within 90 s"
        assert notebook["type"] == "notebook"
        assert notebook["content"]["cells"][0]["source"].startswith("# Lesson 1")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
