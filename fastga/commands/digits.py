"""``fastga digits``: the main job, GeneticMLP on scikit-learn's bundled digits.

In one process (a :class:`~fastga.GeneticMLPClassifier` with the GA or an
evolution strategy, ``--algorithm``; with checkpoints and ``--resume``) or,
with ``--islands N``, as a GA island model on Ray
(:func:`fastga.distributed.digits.evolve_on_islands`). Before the run, the
kernels compile over the CPUs (:func:`fastga.compile_ahead`): a cold first
run starts sooner, and a warm cache starts nothing.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import time

import numpy as np

from ..compilation import compile_ahead, tasks_for
from ..datasets import load_digits_split
from ..distributed.digits import evolve_on_islands
from ..estimators import ALGORITHMS, GA_POP_SIZE, GeneticMLPClassifier
from ..fileio import atomic_write_bytes
from ..plotting import save_fitness_curve
from .common import (OUT, add_checkpoint_arguments, add_ga_arguments, add_run_arguments,
                     print_profile, process_age)

__all__ = ["add_parser", "add_island_arguments", "run", "run_islands", "save_results"]

#: The classifier's loss: the fitness kernel to compile ahead.
_METRIC = "cross_entropy"
_N_CLASSES = 10

#: ``fastga digits``' default algorithm: the one that reaches the main job's
#: accuracy soonest (bench/README.md, "Choosing the default algorithm").
DEFAULT_ALGORITHM = "pgpe"

#: ``--generations`` and ``--batch-size`` when not given: the GA's are the
#: estimators' defaults; an ES scores every generation on all 1437 training
#: samples (minibatch noise slows a gradient estimate more than it saves).
RUN_DEFAULTS = {"ga": {"generations": 400, "batch_size": 512},
                "es": {"generations": 600, "batch_size": None}}


def run_defaults(algorithm):
    """``{"generations", "batch_size"}`` of ``fastga digits --algorithm algorithm``."""
    return dict(RUN_DEFAULTS["ga" if algorithm == "ga" else "es"])


#: Hyperparameters ``fastga digits`` gives an evolution strategy unless
#: ``--algorithm-param`` sets them: PGPE's ClipUp step (bench/README.md,
#: "fastga digits' defaults").
ALGORITHM_PARAMS = {"pgpe": {"learning_rate": 0.05}}


def algorithm_defaults(algorithm):
    """The ``algorithm_params`` ``fastga digits --algorithm algorithm`` starts from."""
    return dict(ALGORITHM_PARAMS.get(algorithm, {}))


def _fill_defaults(args, algorithm):
    items = list(getattr(args, "algorithm_param", None) or [])
    given = {i.partition("=")[0].strip() for i in items}
    args.algorithm_param = [f"{k}={json.dumps(v)}" for k, v in algorithm_defaults(algorithm).items()
                            if k not in given] + items
    for key, value in run_defaults(algorithm).items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
        elif key == "batch_size" and args.batch_size == 0:
            args.batch_size = None


def parse_algorithm_params(items):
    """``["key=value", ...]`` -> dict; each value is read as JSON (numbers, true,
    false, null, lists), else kept as a string."""
    out = {}
    for item in items or ():
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq or not key:
            raise ValueError(f"algorithm_param: expected KEY=VALUE, got {item!r}")
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


def add_parser(sub):
    d = GeneticMLPClassifier()
    p = sub.add_parser(
        "digits",
        help="evolve an MLP classifier on scikit-learn's bundled digits (the main job)",
        description="Evolve an MLP classifier on scikit-learn's bundled 8x8 digits "
        "(pixels / 16, stratified 1437/360 split, random_state 0). Prints the test "
        "accuracy and wall time; saves the best network (.npz) and a fitness-curve PNG.",
    )
    p.add_argument("--algorithm", choices=sorted(ALGORITHMS), default=None,
                   help=f"the GA or an evolution strategy of fastga.es (default: "
                   f"{DEFAULT_ALGORITHM}; with --islands: ga)")
    p.add_argument("--algorithm-param", metavar="KEY=VALUE", action="append", default=[],
                   help="a hyperparameter of the evolution strategy, e.g. sigma=0.05 or "
                   "learning_rate=0.1 (repeatable; the value is read as JSON); the GA's are "
                   "the options below")
    ga, es = run_defaults("ga"), run_defaults("openes")
    add_run_arguments(
        p, pop_size=d.pop_size, generations=None,
        pop_size_help=f"networks per generation (default: {GA_POP_SIZE} for the GA, the "
                      "strategy's own default, 100, for an ES)",
        generations_help=f"(default: {ga['generations']} for the GA, {es['generations']} for an ES)")
    add_ga_arguments(p, d)
    p.add_argument("--hidden", type=int, nargs="+", default=list(d.architecture),
                   help="hidden layer sizes (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=None,
                   help=f"samples per generation's fitness, 0 for all (default: "
                   f"{ga['batch_size']} for the GA, all for an ES)")
    p.add_argument("--json", dest="json_path", default=None,
                   help="also write {test_accuracy, train_accuracy, generations, seconds} here")
    add_checkpoint_arguments(
        p, "digits",
        "Ctrl-C saves a checkpoint and exits with the command that resumes. "
        "With --resume, the settings come from the checkpoint and --generations is the "
        "total to reach; the result is bit-identical to a run without a stop.")
    add_island_arguments(p)
    p.set_defaults(func=run)
    return p


def save_results(out, network, history, meta, title):
    """Save the best network (``digits_best.npz``) and the fitness curve PNG in ``out``.

    Returns ``(network_path, png_path or None)``; the PNG is skipped, with a
    message, when matplotlib is missing.
    """
    os.makedirs(out, exist_ok=True)
    net_path = os.path.join(out, "digits_best.npz")
    network.save(net_path, meta=meta)
    try:
        png = save_fitness_curve(history, os.path.join(out, "digits_fitness.png"), title=title)
    except ImportError as exc:
        print(f"(no fitness-curve PNG: {exc})")
        png = None
    return net_path, png


def run(args):
    if getattr(args, "islands", 0):
        return run_islands(args)
    started = process_age()  # before this call: interpreter start and imports
    t0 = time.perf_counter()
    X_tr, X_te, y_tr, y_te = load_digits_split()
    checkpoint = args.checkpoint or args.resume or os.path.join(args.out, "digits_checkpoint.npz")
    if args.checkpoint_every is not None and args.checkpoint_every < 1:
        raise ValueError(f"checkpoint_every: must be >= 1, got {args.checkpoint_every}")
    if args.resume:
        # Settings, population and RNG counters come from the file; go on to --generations.
        clf = GeneticMLPClassifier.load(args.resume)
        _fill_defaults(args, clf.algorithm)
        done = clf.ga_.population_.generation if hasattr(clf, "ga_") else 0
        if args.generations < done:
            raise ValueError(f"generations: the checkpoint is at generation {done}; "
                             f"--generations is the total to reach, got {args.generations}")
        clf.set_params(warm_start=True, generations=args.generations - done,
                       verbose=not args.quiet, checkpoint_path=checkpoint)
        if args.checkpoint_every is not None:
            clf.set_params(checkpoint_every=args.checkpoint_every)
        print(f"resuming {args.resume} at generation {done}")
    else:
        args.algorithm = args.algorithm or DEFAULT_ALGORITHM
        _fill_defaults(args, args.algorithm)
        clf = GeneticMLPClassifier(
            architecture=tuple(args.hidden), algorithm=args.algorithm,
            algorithm_params=parse_algorithm_params(args.algorithm_param) or None,
            pop_size=args.pop_size, generations=args.generations,
            batch_size=args.batch_size, mutation_rate=args.mutation_rate, sigma=args.sigma,
            die_off_rate=args.die_off_rate, elitism=args.elitism, random_state=args.seed,
            verbose=not args.quiet, checkpoint_every=args.checkpoint_every,
            checkpoint_path=checkpoint,
        )
    cmd = ["fastga", "digits", "--resume", checkpoint, "--generations", str(args.generations)]
    if args.out != OUT:
        cmd += ["--out", args.out]
    try:
        compile_ahead(clf.network_spec(X_tr.shape[1], _N_CLASSES),
                      tasks_for(metric=_METRIC, algorithm=clf.algorithm))
        t_fit = time.perf_counter()
        clf.fit(X_tr, y_tr)
        t_fitted = time.perf_counter()
    except KeyboardInterrupt:  # before the first generation, or a second Ctrl-C while saving
        print("\ninterrupted", file=sys.stderr)
        if os.path.exists(checkpoint):
            print(f"the last checkpoint is {checkpoint}; to resume: {shlex.join(cmd)}", file=sys.stderr)
        return 130
    if clf.ga_.state_.stopped == "interrupted":
        gen = clf.ga_.population_.generation
        print(f"\ninterrupted at generation {gen} (best network so far: test accuracy "
              f"{float(clf.score(X_te, y_te)):.4f}); checkpoint saved to {checkpoint}",
              file=sys.stderr)
        print(f"to resume: {shlex.join(cmd)}", file=sys.stderr)
        return 130
    test_acc = float(clf.score(X_te, y_te))
    train_acc = float(clf.score(X_tr, y_tr))
    seconds = time.perf_counter() - t0
    net_path, png = save_results(args.out, clf.best_network_, clf.history_,
                                 {"task": "digits", "test_accuracy": test_acc,
                                  "algorithm": clf.algorithm},
                                 f"{clf.algorithm} on digits: test accuracy {test_acc:.3f}")
    print(f"test accuracy {test_acc:.4f}  train accuracy {train_acc:.4f}  "
          f"generations {clf.n_generations_}  wall time {seconds:.1f} s  ({clf.algorithm})")
    print(f"saved {net_path}" + (f" and {png}" if png else ""))
    print(f"checkpoint {checkpoint} (to go on: fastga digits --resume {shlex.quote(checkpoint)} "
          f"--generations TOTAL)")
    if args.json_path:
        result = {"test_accuracy": test_acc, "train_accuracy": train_acc,
                  "generations": int(clf.n_generations_), "seconds": seconds,
                  "algorithm": clf.algorithm}
        atomic_write_bytes(args.json_path, (json.dumps(result, indent=2) + "\n").encode())
    if args.profile:
        # The fit's own time outside its generations (checks, the final pick) is "finish" too.
        in_generations = float(clf.history_["seconds"].sum())
        wall = time.perf_counter() - t0
        print_profile(clf.history_, setup=t_fit - t0,
                      finish=(t_fitted - t_fit - in_generations) + (time.perf_counter() - t_fitted),
                      wall=wall, started=started)
    return 0


def add_island_arguments(parser):
    """The island-model options of ``fastga digits``."""
    g = parser.add_argument_group(
        "islands (Ray)",
        "With --islands N, N islands of --pop-size/N networks each run as Ray actors "
        "(the same evaluations per generation as one population of --pop-size) and "
        "exchange their best networks every --migration-every generations.")
    g.add_argument("--islands", metavar="N", type=int, default=0,
                   help="run N islands on Ray (default: one process, no Ray)")
    g.add_argument("--ray-address", metavar="ADDR", default=None,
                   help="join this Ray cluster (e.g. auto, ray://host:10001); "
                   "default: start a local Ray")
    g.add_argument("--migration-every", metavar="K", type=int, default=4,
                   help="generations between migrations (default: %(default)s)")
    g.add_argument("--migrants", metavar="M", type=int, default=10,
                   help="best genomes each island sends per migration, at most an island's "
                   "size - 1 (default: %(default)s)")
    g.add_argument("--topology", choices=("ring", "random"), default="ring",
                   help="who receives the migrants (default: %(default)s)")
    g.add_argument("--cpus-per-island", metavar="C", type=float, default=1,
                   help="CPUs (and Numba threads) per island (default: %(default)s)")
    g.add_argument("--island-checkpoint-every", metavar="E", type=int, default=1,
                   help="each island saves its GA (to restart from if it dies) after every "
                   "E-th migration (0: never; default: %(default)s) ...")
    g.add_argument("--island-checkpoint-seconds", metavar="S", type=float, default=10.0,
                   help="... if S seconds have passed since its last save (default: %(default)s)")
    return g


def run_islands(args):
    """Run ``fastga digits`` as an island model; returns the exit code."""
    t0 = time.perf_counter()
    if getattr(args, "checkpoint", None) or getattr(args, "resume", None):
        raise ValueError("islands: --checkpoint/--resume are for one-process runs; "
                         "every island checkpoints itself")
    if getattr(args, "algorithm", None) not in (None, "ga"):
        raise ValueError(f"islands: the island model runs the GA; got --algorithm {args.algorithm}")
    n = int(args.islands)
    if n < 1:
        raise ValueError(f"islands: must be >= 1, got {n}")
    if args.pop_size is None:
        args.pop_size = GA_POP_SIZE
    _fill_defaults(args, "ga")
    if args.pop_size // n < 2:
        raise ValueError(f"pop_size: {args.pop_size} networks cannot make {n} islands of >= 2")
    X_tr, X_te, y_tr, y_te = load_digits_split()
    clf = GeneticMLPClassifier(
        architecture=tuple(args.hidden), algorithm="ga", pop_size=args.pop_size // n,
        generations=args.generations,
        batch_size=args.batch_size, mutation_rate=args.mutation_rate, sigma=args.sigma,
        die_off_rate=args.die_off_rate, elitism=args.elitism, random_state=args.seed,
    )
    if args.ray_address is None:  # local islands load what this process compiles from the cache
        compile_ahead(clf.network_spec(X_tr.shape[1], _N_CLASSES), tasks_for(metric=_METRIC))
    model, net = evolve_on_islands(
        clf, n, X_tr, y_tr, args.generations, n_classes=_N_CLASSES,
        migration_every=args.migration_every, n_migrants=min(args.migrants, clf.pop_size - 1),
        topology=args.topology, num_cpus=args.cpus_per_island, address=args.ray_address,
        checkpoint_every=args.island_checkpoint_every,
        checkpoint_seconds=args.island_checkpoint_seconds, verbose=not args.quiet)
    test_acc = float(np.mean(np.argmax(net.predict(X_te), axis=1) == y_te))
    train_acc = float(np.mean(np.argmax(net.predict(X_tr), axis=1) == y_tr))
    seconds = time.perf_counter() - t0
    evaluations = int(sum(len(h) for h in model.island_histories_) * clf.pop_size
                      + sum(e["received"] for e in model.epochs_))
    net_path, png = save_results(args.out, net, model.history_,
                                 {"task": "digits", "test_accuracy": test_acc, "islands": n},
                                 f"{n} islands on digits: test accuracy {test_acc:.3f}")
    mig = model.stats_["migration_bytes"]
    print(f"test accuracy {test_acc:.4f}  train accuracy {train_acc:.4f}  "
          f"generations {model.n_generations_}  wall time {seconds:.1f} s  "
          f"({n} islands x {clf.pop_size} networks; Ray start {model.stats_['ray_start_seconds']:.1f} s, "
          f"islands ready {model.stats_['setup_seconds']:.1f} s; "
          f"{mig['serialized']:.0f} bytes per island per migration)")
    if model.restarts_:
        print(f"islands restarted from checkpoints: {model.restarts_}")
    print(f"saved {net_path}" + (f" and {png}" if png else ""))
    if args.json_path:
        result = {"test_accuracy": test_acc, "train_accuracy": train_acc,
                  "generations": int(model.n_generations_), "seconds": seconds, "islands": n,
                  "pop_size_per_island": int(clf.pop_size), "evaluations": evaluations,
                  "best_fitness": float(model.best_fitness_),
                  "ray_start_seconds": model.stats_["ray_start_seconds"],
                  "setup_seconds": model.stats_["setup_seconds"],
                  "run_seconds": model.stats_["run_seconds"],
                  "driver_cpu_seconds": model.stats_["driver_cpu_seconds"],
                  "checkpoint_seconds": model.stats_["checkpoint_seconds"],
                  "migration_bytes": mig, "restarts": len(model.restarts_)}
        atomic_write_bytes(args.json_path, (json.dumps(result, indent=2) + "\n").encode())
    return 0
