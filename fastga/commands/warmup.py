"""``fastga warmup``: compile the kernels of the common runs into Numba's cache.

A first run on a new machine (or after an upgrade) compiles its kernels
before it starts; this command does it ahead, over the CPUs
(:func:`fastga.compile_ahead`), so that the runs after it start at once.
The kernels depend on the activations and the kind of output, never on the
sizes of the data nor (up to 12 classes) on the number of classes, so a few
specs cover the common runs: a classifier with a softmax output (the
``fastga digits`` job, :class:`~fastga.GeneticMLPClassifier` and
:class:`~fastga.GeneticAlgorithm` with a
:class:`~fastga.SupervisedFitness`), a regressor (MSE) and, with
``--search``, the architecture search of ``fastga arch``. The cache is
specific to the CPU and to these sources (see
:mod:`fastga.kernels.cachedir`); the command prints where it is.
"""

from __future__ import annotations

import time

from ..compilation import compile_ahead, run_tasks
from ..kernels.cachedir import cache_dir
from ..spec import ACTIVATIONS, NetworkSpec

__all__ = ["add_parser", "jobs_for", "run"]


def add_parser(sub):
    p = sub.add_parser(
        "warmup",
        help="compile the kernels of the common runs into the cache (once per machine)",
        description=__doc__.split("\n\n")[0] + " Runs after it start at once.",
    )
    p.add_argument("--activation", nargs="+", default=["relu"], choices=sorted(ACTIVATIONS),
                   help="hidden-layer activations to compile for (default: relu)")
    p.add_argument("--search", action="store_true",
                   help="also the architecture search's SGD kernels (fastga arch)")
    p.add_argument("--jobs", type=int, default=None,
                   help="processes (default: FASTGA_COMPILE_JOBS, else the CPUs)")
    p.set_defaults(func=run)
    return p


def jobs_for(activations=("relu",), search=False):
    """``[(spec, tasks), ...]``: what :func:`run` compiles, in order."""
    jobs = []
    for act in dict.fromkeys(activations):
        jobs.append((NetworkSpec([2, 2, 2], [act, "softmax"]),
                     ["breed", "es", "forward", "fitness:cross_entropy"]))
        jobs.append((NetworkSpec([2, 2, 1], [act, "linear"]), ["forward", "fitness:mse"]))
    if search:
        jobs.append((NetworkSpec([1, 1, 1], ["tanh", "linear"]), ["train", "forward"]))
    return jobs


def run(args):
    if args.jobs is not None and args.jobs < 1:
        raise ValueError(f"jobs: must be >= 1, got {args.jobs}")
    t0 = time.perf_counter()
    for spec, tasks in jobs_for(args.activation, args.search):
        compile_ahead(spec, tasks, n_jobs=args.jobs)
        run_tasks(spec, tasks)  # what compile_ahead left (or loads it from the cache)
    print(f"kernels compiled in {time.perf_counter() - t0:.1f} s; cache: {cache_dir()}")
    return 0
