"""The command line's shared vocabulary: one flag per knob in every sub-command.

Every command that evolves something takes ``--pop-size``, ``--generations``,
``--seed``, ``--out``, ``--quiet`` and ``--profile``; the GA's operator knobs
are ``--mutation-rate``, ``--sigma``, ``--elitism`` and ``--die-off-rate``.
Every command writes into ``--out`` (default ``fastga-out``), its files named
``<command>_<what>`` (``digits_best.npz``, ``arch_best.npz``,
``gan_samples_final.png``), so runs of different commands can share a folder.
"""

from __future__ import annotations

import os

__all__ = ["OUT", "add_run_arguments", "add_ga_arguments", "out_path", "print_profile",
           "process_age"]

#: The default output folder of every command.
OUT = "fastga-out"


def add_run_arguments(parser, *, pop_size, generations, seed=0, pop_size_help=None,
                      generations_help=None):
    """``--pop-size``, ``--generations``, ``--seed``, ``--out``, ``--quiet``, ``--profile``
    (a default that depends on other options says so in its ``*_help``)."""
    parser.add_argument("--pop-size", type=int, default=pop_size,
                        help=pop_size_help or "individuals per generation (default: %(default)s)")
    parser.add_argument("--generations", type=int, default=generations,
                        help=generations_help or "generations to run (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=seed, help="random_state (default: %(default)s)")
    parser.add_argument("--out", default=OUT, help="output folder (default: %(default)s)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--profile", action="store_true",
                        help="print where the time went (compile, fitness, selection, breeding, "
                        "the rest) at the end")


def add_ga_arguments(parser, defaults):
    """The GA's operator knobs, defaulted from ``defaults`` (anything with the
    :class:`~fastga.GASettings` attribute names)."""
    parser.add_argument("--mutation-rate", type=float, default=defaults.mutation_rate,
                        help="per-weight mutation probability (default: %(default)s)")
    parser.add_argument("--sigma", type=float, default=defaults.sigma,
                        help="gaussian mutation's standard deviation (default: %(default)s)")
    parser.add_argument("--elitism", type=int, default=defaults.elitism,
                        help="best individuals copied unchanged (default: %(default)s)")
    parser.add_argument("--die-off-rate", type=float, default=defaults.die_off_rate,
                        help="share of the population that dies each generation "
                        "(default: %(default)s)")


def add_checkpoint_arguments(parser, command, description):
    """The checkpoint flags of a command that can stop and go on:
    ``--checkpoint``, ``--checkpoint-every`` and ``--resume`` (``description``:
    what Ctrl-C and ``--resume`` do in that command)."""
    g = parser.add_argument_group("checkpoints", description)
    g.add_argument("--checkpoint", metavar="PATH", default=None,
                   help="save the run here (.npz, atomic): every --checkpoint-every generations, "
                   f"at the end and on Ctrl-C (default: OUT/{command}_checkpoint.npz)")
    g.add_argument("--checkpoint-every", metavar="N", type=int, default=None,
                   help="also checkpoint every N generations")
    g.add_argument("--resume", metavar="PATH", default=None,
                   help="go on from this checkpoint (checkpoints go back to it unless "
                   "--checkpoint says otherwise)")
    return g


def out_path(args, command, what):
    """``OUT/<command>_<what>`` (the folder is created)."""
    os.makedirs(args.out, exist_ok=True)
    return os.path.join(args.out, f"{command}_{what}")


def process_age():
    """Seconds since this process started (Linux: from ``/proc``), or None elsewhere."""
    try:
        with open("/proc/self/stat") as fh:
            start_ticks = int(fh.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as fh:
            uptime = float(fh.read().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return None


def print_profile(history, setup, finish, wall, started=None, file=None):
    """Print where a run's seconds went: ``started`` (the interpreter's start and
    the imports, before the command ran; see :func:`process_age`), ``setup``
    (before the first generation: data, compile ahead), the history's
    per-generation phases (:mod:`fastga.timing`) and ``finish`` (after the last
    one), against ``wall``, the command's time plus ``started``.

    Returns the table's rows ``{name: seconds}``.
    """
    import numpy as np

    from ..timing import PHASES

    rows = {}
    if started is not None:
        rows["start (interpreter, imports)"] = started
        wall += started
    rows["setup (data, compile ahead)"] = setup
    if "compile_seconds" in history:
        for phase in PHASES:
            rows[f"generations: {phase}"] = float(np.sum(history[f"{phase}_seconds"]))
    else:  # a history without the split (the architecture search): generations as a whole
        rows["generations"] = float(np.sum(history["seconds"]))
    rows["finish (final pick, scores, files)"] = finish
    accounted = sum(rows.values())
    print(f"where the time went (wall time {wall:.2f} s since the process started):"
          if started is not None else f"where the time went (wall time {wall:.2f} s):", file=file)
    for name, sec in rows.items():
        print(f"  {name:<36} {sec:8.3f} s  {100 * sec / wall:5.1f} %", file=file)
    print(f"  {'accounted for':<36} {accounted:8.3f} s  {100 * accounted / wall:5.1f} %",
          file=file)
    return rows
