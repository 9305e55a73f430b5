"""The ``fastga`` command line.

Each sub-command is a module of :mod:`fastga.commands` with a module-level
``add_parser(subparsers)`` that sets ``func`` on its parser; this module only
collects them. The commands sit on top of the library and import it, never
the reverse. A run imports only the command it runs (``fastga control`` does
not load scikit-learn for ``fastga arch``'s sake); ``fastga --help`` imports
them all.
"""

from __future__ import annotations

import argparse
import atexit
import importlib
import os
import sys
import threading

from . import __version__
from .evaluation import stop_threads

# Every sub-command, in the order of ``--help``. A command whose optional
# dependencies (TensorFlow, Ray) are missing still registers, and fails with
# a clear message only when run.
_NAMES = ("gan", "digits", "arch", "control", "evaluate", "warmup")
SUBCOMMANDS = [f"{__package__}.commands.{name}" for name in _NAMES]


def build_parser(only=None):
    """The ``fastga`` parser with every sub-command, or with only the command
    named ``only`` complete (the others are bare names, and their modules are
    not imported)."""
    parser = argparse.ArgumentParser(
        prog="fastga",
        description="Fast neuroevolution on multi-core CPUs.",
    )
    parser.add_argument("--version", action="version", version=f"fastga {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in zip(_NAMES, SUBCOMMANDS):
        if only is None or name == only:
            importlib.import_module(module).add_parser(sub)
        else:
            sub.add_parser(name)
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv[0] if argv and argv[0] in _NAMES else None)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"fastga {args.command}: error: {exc}", file=sys.stderr)
        return 2


def run(argv=None):
    """The ``fastga`` program: :func:`main`, then a prompt exit.

    A normal interpreter exit tears down every module (Numba, scikit-learn,
    SciPy, matplotlib...), a few tenths of a second after the command's work
    is done and its files are closed. Once ``main`` has returned, this stops
    the kernels' idle worker threads, flushes the output streams, runs the
    exit handlers (:mod:`atexit`: logging, helper processes, Ray) and ends
    the process at once, so that a command's own timings (``--profile``)
    account for its wall time. Where another non-daemon thread is still
    running, or the interpreter cannot run the exit handlers first, it
    returns the exit status for a normal exit instead.
    """
    code = main(argv)
    stop_threads()
    sys.stdout.flush()
    sys.stderr.flush()
    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)
    others = [t for t in threading.enumerate()
              if t is not threading.main_thread() and not t.daemon]
    if run_exit_handlers is None or others:
        return code
    run_exit_handlers()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run())
