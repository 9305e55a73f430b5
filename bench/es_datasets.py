"""Which algorithm for the estimators: the GA and each ES on several bundled data sets.

Each run is what a GeneticMLP estimator's ``fit`` does with that algorithm,
cut at a fixed wall-time budget: one hidden layer of 32 (relu), softmax
(cross-entropy) or linear (MSE) output, ``SupervisedFitness`` on minibatches
of ``--batch-size`` (the estimators' default, 512) seeded by the run's seed,
then the final network is the one with the lowest loss on the whole training
set among the final population (and, for an ES, its center). Reported: test
accuracy (classification) or test R^2 (regression), and the generations run.

Data sets (scikit-learn's bundled ones, nothing downloaded): digits (the main
job's split, :func:`fastga.datasets.load_digits_split`), iris, wine,
breast_cancer (stratified 75/25 splits, random_state 0, features standardised
on the training part); diabetes and ``make_friedman1`` (n=1000, noise 1,
random_state 0) (75/25 splits, random_state 0; features and targets
standardised on the training part).

Every algorithm runs once on a tiny problem of each loss first (Numba's
compilation and cache loading), so the budget is warm.

    PYTHONPATH=. python bench/es_datasets.py [--budget 5] [--seeds 3]
        [--algorithms ga,openes,pgpe,snes,sepcmaes] [--datasets digits,iris,...]
        [--set "snes:sigma=0.05"] [--generations 400]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from fastga import GeneticAlgorithm, Network, NetworkSpec, SupervisedFitness
from fastga.datasets import load_digits_split
from fastga.es import ALGORITHMS, EvolutionStrategy
from fastga.population import Population

CLASSIFICATION = ("digits", "iris", "wine", "breast_cancer")
REGRESSION = ("diabetes", "friedman1")
#: The estimators' GA population (``GeneticMLPClassifier(pop_size=500)``).
GA_POP = 500


def load(name):
    """``(X_tr, X_te, y_tr, y_te, task)`` with ``task`` "classification" or "regression"."""
    from sklearn import datasets
    from sklearn.model_selection import train_test_split

    if name == "digits":
        return (*load_digits_split(), "classification")
    if name in CLASSIFICATION:
        X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
        X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
        task = "classification"
    else:
        if name == "diabetes":
            X, y = datasets.load_diabetes(return_X_y=True)
        else:
            X, y = datasets.make_friedman1(n_samples=1000, noise=1.0, random_state=0)
        X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=0)
        mu, sd = y_tr.mean(), y_tr.std()
        y_tr, y_te = (y_tr - mu) / sd, (y_te - mu) / sd
        task = "regression"
    mu, sd = X_tr.mean(axis=0), X_tr.std(axis=0)
    sd[sd == 0] = 1.0
    X_tr, X_te = (X_tr - mu) / sd, (X_te - mu) / sd
    f32 = lambda a: np.ascontiguousarray(a, dtype=np.float32)  # noqa: E731
    if task == "classification":
        return f32(X_tr), f32(X_te), y_tr.astype(np.int64), y_te.astype(np.int64), task
    return f32(X_tr), f32(X_te), f32(y_tr), f32(y_te), task


def make(algo, spec, seed, params):
    if algo == "ga":
        return GeneticAlgorithm(spec, pop_size=GA_POP, random_state=seed, **params)
    return ALGORITHMS[algo](spec, random_state=seed, **params)


def one_run(algo, data, seed, budget, batch_size, params, generations=None):
    """``(test score, generations, seconds)``: a run cut at ``budget`` wall seconds
    (at least 2 generations), or of exactly ``generations`` generations if given."""
    X_tr, X_te, y_tr, y_te, task = data
    n_out = int(y_tr.max()) + 1 if task == "classification" else 1
    metric = "cross_entropy" if task == "classification" else "mse"
    spec = NetworkSpec([X_tr.shape[1], 32, n_out],
                       ["relu", "softmax" if task == "classification" else "linear"])
    model = make(algo, spec, seed, params)
    model.initialize()
    yy = y_tr if task == "classification" else y_tr[:, None]
    fit = SupervisedFitness(X_tr, yy, metric, batch_size, seed=model.state_.seed, n_outputs=n_out)
    t0 = time.perf_counter()
    stop = lambda alg, rec: (alg.population_.generation >= 2  # noqa: E731
                             and time.perf_counter() - t0 >= budget)
    if generations is None:
        model.run(fit, 10 ** 9, callbacks=[stop], warm_start=True)
    else:
        model.run(fit, generations, warm_start=True)
    seconds = time.perf_counter() - t0
    genomes = model.population_.genomes
    if isinstance(model, EvolutionStrategy):
        genomes = np.vstack([genomes, model.mean_[None]])
    loss, _ = fit.losses(Population(spec, genomes))
    best = int(np.argmax(np.where(np.isfinite(loss), -loss, -np.inf)))
    out = Network(spec, genomes[best]).predict(X_te)
    if task == "classification":
        score = float((out.argmax(axis=1) == y_te).mean())
    else:
        score = float(1 - ((out[:, 0] - y_te) ** 2).sum() / ((y_te - y_te.mean()) ** 2).sum())
    return score, int(model.population_.generation), seconds


def parse_sets(text):
    """``"snes:sigma=0.05,pop_size=50;openes:sigma=0.05"`` -> ``[(algo, label, params)]``."""
    out = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        algo, _, kv = part.partition(":")
        params = {}
        for item in filter(None, kv.split(",")):
            k, _, v = item.partition("=")
            params[k.strip()] = json.loads(v)
        out.append((algo.strip(), f"{algo.strip()} {kv}", params))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--algorithms", default="ga,openes,pgpe,snes,sepcmaes")
    ap.add_argument("--datasets", default=",".join(CLASSIFICATION + REGRESSION))
    ap.add_argument("--budget", type=float, default=5.0, help="wall seconds per run")
    ap.add_argument("--generations", type=int, default=None,
                    help="run exactly this many generations instead (bit-identical per seed, "
                    "whatever the machine's load)")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=512)
    ap.add_argument("--set", default="", help='extra configurations, e.g. "snes:sigma=0.05"')
    ap.add_argument("--json", default=None, help="write the raw figures here")
    args = ap.parse_args()
    configs = [(a, a, {}) for a in filter(None, args.algorithms.split(","))]
    configs += parse_sets(args.set)
    names = args.datasets.split(",")
    data = {n: load(n) for n in names}
    for algo, _, params in configs:  # warm-up: compile or load every kernel
        for n in ("iris", "diabetes"):
            one_run(algo, load(n), 0, 0.0, args.batch_size, params)
    raw = []
    for name in names:
        for algo, label, params in configs:
            for seed in range(args.seeds):
                score, gens, secs = one_run(algo, data[name], seed, args.budget, args.batch_size,
                                            params, args.generations)
                raw.append({"dataset": name, "config": label, "seed": seed, "score": score,
                            "generations": gens, "seconds": secs})
                print(f"{name:14s} {label:28s} seed {seed}: {score:.4f} ({gens} generations, "
                      f"{secs:.1f} s)", flush=True)
    print()
    print("| configuration | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for _, label, _ in configs:
        cells = []
        for name in names:
            rows = [r for r in raw if r["dataset"] == name and r["config"] == label]
            med = float(np.median([r["score"] for r in rows]))
            gens = int(np.median([r["generations"] for r in rows]))
            secs = float(np.median([r["seconds"] for r in rows]))
            cells.append(f"{med:.3f} ({secs:.1f} s)" if args.generations
                         else f"{med:.3f} (g{gens})")
        print(f"| {label} | " + " | ".join(cells) + " |")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(raw, fh, indent=1)


if __name__ == "__main__":
    main()
