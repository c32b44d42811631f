"""The kernel's websocket runs with Nagle off in `make lab`, the browser tests and the benchmark."""

from jupyter_server.serverapp import ServerApp

from rnn_course.lab_socket import SETTING, NoDelayConnection
from tests.helpers import browser
from tests.helpers.paths import ROOT


def test_jupyter_server_takes_the_setting():
    app = ServerApp()
    app.parse_command_line([SETTING])
    assert app.kernel_websocket_connection_class is NoDelayConnection


def test_make_lab_and_the_browser_harness_start_the_lab_with_it():
    makefile = (ROOT / "Makefile").read_text()
    lab = makefile.split("\nlab:")[1].split("\n\n")[0]  # the lab target's recipe
    assert SETTING.split("=", 1)[1] in lab and SETTING.split("=", 1)[0] in lab
    assert browser.LAB_SOCKET == SETTING
