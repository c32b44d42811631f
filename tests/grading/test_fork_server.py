"""The warm-kernel fork server outlives clients that die in the middle of a request."""

import json
import os
import signal
import socket

import pytest

from rnn_course.grading import kernels
from rnn_course.grading.limits import Limits

pytestmark = pytest.mark.grading


def test_a_client_killed_mid_request_does_not_take_the_server_down(tmp_path):
    server = kernels.ForkServer(preload=())
    try:
        server.wait_ready()
        # A client that connects and dies before asking ...
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.connect(server.address)
        # ... and one that asks, then dies before reading the answer.
        request = {"args": ["--help"], "cwd": str(tmp_path), "env": {}, "limits": Limits().as_dict()}
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.connect(server.address)
            client.sendall(json.dumps(request).encode() + b"\n")
            client.shutdown(socket.SHUT_RDWR)
        assert server.alive()
        # The next client still gets a kernel process.
        pid = kernels.request_kernel(server.address, ["--help"], str(tmp_path), {}, Limits())
        assert pid > 0
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # `--help` may already have ended it
        assert server.alive()
    finally:
        server.close()
