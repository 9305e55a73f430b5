"""Speed of fastga's evolution strategies: time to accuracy on digits, and the update's share.

``digits``: the main job's network (64-32-10, relu/softmax) and split
(:func:`fastga.datasets.load_digits_split`); each algorithm runs with its
defaults (or ``--set``) and ``SupervisedFitness`` on the training set
(cross-entropy); every 10 generations the test accuracy of the center (an
ES) or of the best network (the GA) is measured, outside the clock. Prints
the wall time (Numba compilation included, and the compile-free time beside
it) and generation at which 0.90, 0.95, 0.97 and 0.975 are first reached.

``share``: the share of a generation spent in ``ask`` (sampling) and
``tell`` (shaping, weighted sums, optimizer step) at P=256, 784-16-10 and a
batch of 1024 samples; the fitness (the fused forward pass and loss) is the
rest.

    PYTHONPATH=. python bench/es_speed.py digits [--algorithms openes,pgpe,snes,sepcmaes,ga]
    PYTHONPATH=. python bench/es_speed.py share
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from fastga import GeneticAlgorithm, Network, NetworkSpec, SupervisedFitness
from fastga.datasets import load_digits_split
from fastga.es import ALGORITHMS

THRESHOLDS = (0.90, 0.95, 0.97, 0.975)


def time_to_accuracy(algo, budget, seed=0, **params):
    """``({threshold: (seconds, generation)}, compile seconds, final accuracy)``."""
    X_tr, X_te, y_tr, y_te = load_digits_split()
    spec = NetworkSpec([64, 32, 10], ["relu", "softmax"])
    fit = SupervisedFitness(X_tr, y_tr, seed=seed)
    cls = GeneticAlgorithm if algo == "ga" else ALGORITHMS[algo]
    model = cls(spec, random_state=seed, **params)
    state = {"excluded": 0.0, "hits": {}, "acc": 0.0}
    t0 = time.perf_counter()

    def callback(alg, record):
        g = alg.population_.generation
        if g == 0:
            state["first"] = time.perf_counter() - t0  # compilation + one generation
        if g % 10:
            return False
        t = time.perf_counter()
        w = alg.best_genome_ if algo == "ga" else alg.mean_
        acc = float((Network(spec, w).predict(X_te).argmax(axis=1) == y_te).mean())
        state["excluded"] += time.perf_counter() - t
        state["acc"] = acc
        elapsed = time.perf_counter() - t0 - state["excluded"]
        for th in THRESHOLDS:
            if acc >= th and th not in state["hits"]:
                state["hits"][th] = (elapsed, g)
        return elapsed > budget or len(state["hits"]) == len(THRESHOLDS)

    model.run(fit, 10 ** 9, callbacks=[callback])
    return state["hits"], state["first"], state["acc"]


def update_share(algo, generations=10, pop_size=256, batch=1024):
    """``(share of ask + tell, seconds per generation)`` at 784-16-10."""
    rng = np.random.default_rng(0)
    X = rng.random((batch, 784), dtype=np.float32)
    y = rng.integers(0, 10, batch)
    spec = NetworkSpec([784, 16, 10], ["relu", "softmax"])
    fit = SupervisedFitness(X, y)
    es = ALGORITHMS[algo](spec, pop_size=pop_size, random_state=0)
    es.tell(fit(es.ask()))  # compile and start
    es.tell(fit(es.ask()))
    t_es = t_fit = 0.0
    for _ in range(generations):
        t = time.perf_counter()
        pop = es.ask()
        t_es -= t - time.perf_counter()
        t = time.perf_counter()
        f = fit(pop)
        t_fit -= t - time.perf_counter()
        t = time.perf_counter()
        es.tell(f)
        t_es -= t - time.perf_counter()
    return t_es / (t_es + t_fit), (t_es + t_fit) / generations


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["digits", "share"])
    ap.add_argument("--algorithms", default=None)
    ap.add_argument("--budget", type=float, default=30.0, help="seconds per digits run")
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--set", default="", help='extra parameters, e.g. "sigma=0.05,pop_size=200"')
    args = ap.parse_args()
    params = eval(f"dict({args.set})")  # a benchmark's command line, not library input
    if args.what == "share":
        for algo in (args.algorithms or "openes,pgpe,snes,sepcmaes").split(","):
            share, per_gen = update_share(algo)
            print(f"{algo}: ES update {100 * share:.1f}% of a generation "
                  f"({1000 * per_gen:.0f} ms per generation)", flush=True)
        return
    print("| algorithm | seed | " + " | ".join(f"to {th}" for th in THRESHOLDS)
          + " | first generation (compile) | final test acc |")
    print("|---|---|" + "---|" * len(THRESHOLDS) + "---|---|")
    for algo in (args.algorithms or "openes,pgpe,snes,sepcmaes,ga").split(","):
        for seed in range(args.seeds):
            hits, first, acc = time_to_accuracy(algo, args.budget, seed, **params)
            cells = [f"{hits[th][0]:.1f} s (g{hits[th][1]})" if th in hits else "-"
                     for th in THRESHOLDS]
            print(f"| {algo} | {seed} | " + " | ".join(cells) + f" | {first:.1f} s | {acc:.3f} |",
                  flush=True)


if __name__ == "__main__":
    main()
