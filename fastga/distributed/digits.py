"""``fastga digits --islands N``: the main job as an island model on Ray."""

from __future__ import annotations

import functools
import json
import time

import numpy as np

__all__ = ["add_island_arguments", "run_islands", "final_pick"]


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


def final_pick(spec, populations, X, y):
    """The network with the lowest cross-entropy on ``(X, y)`` among all final populations.

    The single-process estimator picks the best of its final population on
    the whole training set; this is the same rule over the union of the
    islands' populations.
    """
    from ..network import Network
    from ..population import Population

    genomes = np.concatenate([g for g, _ in populations], axis=0)
    loss, _ = Population(spec, genomes).losses(X, y, "cross_entropy")
    loss = np.where(np.isfinite(loss), loss, np.inf)
    best = int(np.argmin(loss))
    return Network(spec, genomes[best]), float(loss[best])


def run_islands(args):
    """Run ``fastga digits`` as an island model; returns the exit code."""
    t0 = time.perf_counter()
    from ..datasets import load_digits_split
    from ..estimators import GeneticMLPClassifier
    from ..fileio import atomic_write_bytes
    from ..fitness import SupervisedFitness
    from ..settings import GASettings
    from .model import IslandModel

    if getattr(args, "checkpoint", None) or getattr(args, "resume", None):
        raise ValueError("islands: --checkpoint/--resume are for one-process runs; "
                         "every island checkpoints itself")
    n = int(args.islands)
    if n < 1:
        raise ValueError(f"islands: must be >= 1, got {n}")
    if args.pop_size // n < 2:
        raise ValueError(f"pop_size: {args.pop_size} networks cannot make {n} islands of >= 2")
    X_tr, X_te, y_tr, y_te = load_digits_split()
    clf = GeneticMLPClassifier(
        architecture=tuple(args.hidden), pop_size=args.pop_size // n, generations=args.generations,
        batch_size=args.batch_size, mutation_rate=args.mutation_rate, sigma=args.sigma,
        die_off_rate=args.die_off_rate, elitism=args.elitism, random_state=args.seed,
    )
    spec = clf._spec(X_tr.shape[1], 10)
    model = IslandModel(
        spec, n_islands=n, pop_size=clf.pop_size, migration_every=args.migration_every,
        n_migrants=min(args.migrants, clf.pop_size - 1), topology=args.topology,
        num_cpus=args.cpus_per_island, address=args.ray_address, ga=GASettings.from_params(clf),
        checkpoint_every=args.island_checkpoint_every,
        checkpoint_seconds=args.island_checkpoint_seconds, random_state=args.seed,
        verbose=not args.quiet,
    )
    factory = functools.partial(SupervisedFitness, X_tr, y_tr, "cross_entropy", args.batch_size,
                                args.seed, 10)
    model.run(factory, args.generations)
    net, _ = final_pick(spec, model.populations_, X_tr, y_tr)
    test_acc = float(np.mean(np.argmax(net.predict(X_te), axis=1) == y_te))
    train_acc = float(np.mean(np.argmax(net.predict(X_tr), axis=1) == y_tr))
    seconds = time.perf_counter() - t0
    evaluations = int(sum(len(h) for h in model.island_histories_) * clf.pop_size
                      + sum(e["received"] for e in model.epochs_))
    from ..commands.digits import save_results

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
