"""The fork server parses a kernel's command line once; each kernel gets what its own parse would give."""

from __future__ import annotations

import os

import pytest

from rnn_course.grading.sandbox import fork_server

# ipykernel is imported inside the tests, under comm_left_as_it_was: importing it swaps comm's factories,
# which the widget tests that may run after these in the same process need as they were.

LINES = [
    ["--HistoryManager.hist_file=:memory:"],
    [],
    ["--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=WARN", "--Session.debug=True"],
]


@pytest.mark.parametrize("extra", LINES)
def test_a_kernel_gets_what_parsing_its_own_command_line_gives(extra, comm_left_as_it_was):
    from ipykernel.kernelapp import IPKernelApp

    parsed = fork_server.parse_once(["-f", "/some/kernel-a.json", *extra])
    for connection_file in ("/elsewhere/kernel-b.json", "/some/kernel-a.json"):
        argv = fork_server.kernel_argv(["-f", connection_file, *extra], os.getpid())
        itself, reused = IPKernelApp(), IPKernelApp()
        itself.parse_command_line(argv)
        fork_server.use_parsed(reused, parsed, connection_file)
        reused.parse_command_line(argv)
        assert reused.cli_config == itself.cli_config and reused.config == itself.config
        assert reused.extra_args == itself.extra_args and reused.argv == itself.argv
        assert reused.cli_config.IPKernelApp.connection_file == connection_file


def test_the_parse_is_shared_by_every_kernel_with_the_same_arguments_and_no_other(comm_left_as_it_was):
    first = fork_server.parse_once(["-f", "/a.json", "--HistoryManager.hist_file=:memory:"])
    assert fork_server.parse_once(["-f", "/b.json", "--HistoryManager.hist_file=:memory:"]) is first
    assert fork_server.parse_once(["-f", "/b.json"]) is not first


def test_a_bad_argument_is_left_to_the_kernel_and_never_ends_the_fork_server(comm_left_as_it_was, capsys):
    assert fork_server.parse_once(["-f", "/a.json", "--no-such-flag"]) is None  # argparse exits on it
    assert fork_server.parse_once(["-f", "/a.json", "--help"]) is None


def test_a_command_line_without_its_connection_file_first_is_parsed_by_the_kernel_itself():
    assert fork_server.parse_once(["--HistoryManager.hist_file=:memory:", "-f", "/a.json"]) is None
    assert fork_server.parse_once([]) is None
