"""The browser harness's pure parts: what counts as an error output, the course copy, the skip reason."""

from tests.helpers import browser as harness

# Texts exactly as JupyterLab 4.6 rendered them in a stderr output area (innerText).
RAISED = (
    "---------------------------------------------------------------------------\n"
    "ZeroDivisionError                         Traceback (most recent call last)\n"
    "Cell In[2], line 1\n----> 1 1/0\n\nZeroDivisionError: division by zero"
)
SYNTAX = "  Cell In[1], line 1\n    x = = 1\n        ^\nSyntaxError: invalid syntax\n"
WARNING = (
    "/tmp/ipykernel_8708/2119123094.py:5: UserWarning: a harmless warning\n"
    '  warnings.warn("a harmless warning")\n'
)
TORCH_WARNING = (
    "/work/main/.venv/lib/python3.11/site-packages/torch/nn/modules/rnn.py:123: UserWarning: dropout option "
    "adds dropout after all but last recurrent layer, so non-zero dropout expects num_layers greater than 1\n"
)


def test_tracebacks_count_as_errors_and_warnings_do_not():
    assert harness.TRACEBACK.search(RAISED)
    assert harness.TRACEBACK.search(SYNTAX)
    assert not harness.TRACEBACK.search(WARNING)
    assert not harness.TRACEBACK.search(TORCH_WARNING)
    assert not harness.TRACEBACK.search("warn\n")


def test_course_copy_holds_every_lesson_and_leaves_the_originals(tmp_path):
    copied = harness.copy_lessons(tmp_path)
    names = sorted(p.name for p in (copied / "notebooks").glob("*.ipynb"))
    assert names == sorted(p.name for p in (harness.ROOT / "notebooks").glob("*.ipynb"))
    assert names and (copied / "notebooks").resolve() != (harness.ROOT / "notebooks").resolve()


def test_a_missing_browser_is_explained_with_how_to_enable_it(monkeypatch, tmp_path):
    monkeypatch.setattr(harness, "CHROMIUM", tmp_path / "no-chromium")
    reason = harness.browser_missing()
    assert reason and "no-chromium" in reason and "apt-get install" in reason


def test_free_port_is_on_the_loopback_and_free():
    import socket

    port = harness.free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))  # raises if something already listens there
