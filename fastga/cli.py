"""The ``fastga`` command line.

Each sub-command lives beside the feature it runs and registers itself
through a module-level ``add_parser(subparsers)`` that sets ``func`` on its
parser; this module only collects them.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# (module, description) of every sub-command; a module whose optional
# dependencies are missing still registers, and fails with a clear message
# only when run.
SUBCOMMANDS = [
    "fastga.commands.gan",
    "fastga.commands.digits",
    "fastga.commands.arch",
    "fastga.commands.evaluate",
]


def build_parser():
    parser = argparse.ArgumentParser(
        prog="fastga",
        description="Fast neuroevolution on multi-core CPUs.",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"fastga {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(name).add_parser(sub)
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
