"""A notebook of every kind of output a cell can make, to compare how two ways of running it show them."""

from __future__ import annotations

CELLS = [
    "print('one')",
    "import sys\nprint('to stderr', file=sys.stderr)\nprint('then stdout')",
    "for i in range(2000):\n    print(i)",
    "import threading\nt = threading.Thread(target=lambda: print('from a thread'))\nt.start(); t.join()",
    "import os, time\nos.write(1, b'straight to fd 1\\n')\ntime.sleep(0.05)\nprint('and a print')",
    "from IPython.display import display, Markdown\nprint('before')\ndisplay(Markdown('**shown**'))\n"
    "print('after')",
    "x = 41\nx + 1",
    "pass",
    "print('last words')\nraise ValueError('on purpose')",
    "print('after the error')",
]


def merged(outputs: list) -> list[dict]:
    """Outputs as a notebook shows them: one stream output after another of the same name reads as one."""
    shown = []
    for output in outputs:
        output = {key: value for key, value in output.items() if key != "traceback"}
        if shown and output["output_type"] == "stream" and shown[-1].get("name") == output.get("name"):
            shown[-1] = {**shown[-1], "text": shown[-1]["text"] + output["text"]}
        else:
            shown.append(output)
    return shown
