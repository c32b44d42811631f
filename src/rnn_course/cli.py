"""The `rnn-course` command: `rnn-course quiz ...` and `rnn-course grade ...`."""

from __future__ import annotations

import argparse
import importlib
import sys

# Each sub-command lives in its own package and adds itself to the parser with `register(subparsers)`.
SUBCOMMANDS = {
    "quiz": "rnn_course.quiz.cli",
    "grade": "rnn_course.grading.cli",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rnn-course", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module_name in SUBCOMMANDS.values():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if not module_name.startswith(str(error.name)):
                raise  # a real bug inside the sub-command, not a missing part
            continue  # that part of the course is not installed yet
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
