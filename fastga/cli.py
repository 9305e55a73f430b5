"""The ``fastga`` command line.

Each sub-command is a module of :mod:`fastga.commands` with a module-level
``add_parser(subparsers)`` that sets ``func`` on its parser; this module only
collects them. The commands sit on top of the library and import it, never
the reverse.
"""

from __future__ import annotations

import argparse
import sys

from . import __version__
from .commands import arch, control, digits, evaluate, gan, warmup

# Every sub-command, in the order of ``--help``. A command whose optional
# dependencies (TensorFlow, Ray) are missing still registers, and fails with
# a clear message only when run.
_COMMANDS = (gan, digits, arch, control, evaluate, warmup)
SUBCOMMANDS = [command.__name__ for command in _COMMANDS]


def build_parser():
    parser = argparse.ArgumentParser(
        prog="fastga",
        description="Fast neuroevolution on multi-core CPUs.",
    )
    parser.add_argument("--version", action="version", version=f"fastga {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in _COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"fastga {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
