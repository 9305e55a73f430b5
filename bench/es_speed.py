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
    PYTHONPATH=. python bench/es_speed.py digits --library evosax --algorithms openes,pgpe
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


def evosax_time_to_accuracy(algo, budget, seed=0):
    """evosax's OpenES or PGPE on the same network, data, center and settings as
    fastga's defaults: ``({threshold: (seconds, generation)}, first seconds, accuracy)``.

    One jitted ask/evaluate/tell per generation (``first``: its compilation
    and first run); the test accuracy of the center every 10 generations,
    off the clock.
    """
    import jax
    import jax.numpy as jnp
    import optax
    from evosax.algorithms import PGPE, Open_ES
    from evosax.core.optimizer import clipup

    X_tr, X_te, y_tr, y_te = load_digits_split()
    spec = NetworkSpec([64, 32, 10], ["relu", "softmax"])
    ours = ALGORITHMS[algo](spec, random_state=seed)
    ours.initialize()
    center = jnp.asarray(ours.mean_)  # the same Glorot center
    P = ours.pop_size
    if algo == "openes":
        es = Open_ES(P, center, optimizer=optax.adam(ours.learning_rate),
                     std_schedule=optax.constant_schedule(ours.sigma))
        params = es.default_params
    elif algo == "pgpe":
        es = PGPE(P, center, optimizer=clipup(learning_rate=ours.learning_rate,
                                              max_velocity=2 * ours.learning_rate))
        params = es.default_params.replace(std_init=ours.sigma, std_lr=ours.sigma_learning_rate,
                                           std_max_change=ours.sigma_max_change)
    else:
        raise ValueError(f"algorithm: evosax timing for openes and pgpe only, got {algo!r}")
    Xj, yj = jnp.asarray(X_tr), jnp.asarray(y_tr)

    def logits(w, X):
        W1 = w[:2048].reshape(64, 32)
        b1 = w[2048:2080]
        W2 = w[2080:2400].reshape(32, 10)
        b2 = w[2400:2410]
        return jax.nn.relu(X @ W1 + b1) @ W2 + b2

    def loss(w):
        lp = jax.nn.log_softmax(logits(w, Xj))
        return -jnp.take_along_axis(lp, yj[:, None], axis=1).mean()

    @jax.jit
    def generation(state, key):
        k_ask, k_tell = jax.random.split(key)
        pop, state = es.ask(k_ask, state, params)
        state, _ = es.tell(k_tell, pop, jax.vmap(loss)(pop), state, params)
        return state

    key = jax.random.key(seed)
    key, k_init = jax.random.split(key)
    state = es.init(k_init, center, params)
    hits, excluded, acc = {}, 0.0, 0.0
    t0 = time.perf_counter()
    first = None
    for g in range(10 ** 9):
        key, k = jax.random.split(key)
        state = generation(state, k)
        if first is None:
            jax.block_until_ready(state.mean)
            first = time.perf_counter() - t0
        if g % 10:
            continue
        jax.block_until_ready(state.mean)  # JAX runs asynchronously: the work so far, on the clock
        t = time.perf_counter()
        w = np.asarray(state.mean)
        acc = float((Network(spec, w).predict(X_te).argmax(axis=1) == y_te).mean())
        excluded += time.perf_counter() - t
        elapsed = time.perf_counter() - t0 - excluded
        for th in THRESHOLDS:
            if acc >= th and th not in hits:
                hits[th] = (elapsed, g)
        if elapsed > budget or len(hits) == len(THRESHOLDS):
            break
    return hits, first, acc


def update_share(algo, generations=20, pop_size=256, batch=1024):
    """``(share, ms of ask + tell, ms of the fitness)`` per generation at 784-16-10:
    the medians over ``generations`` generations (the machine may be shared)."""
    rng = np.random.default_rng(0)
    X = rng.random((batch, 784), dtype=np.float32)
    y = rng.integers(0, 10, batch)
    spec = NetworkSpec([784, 16, 10], ["relu", "softmax"])
    fit = SupervisedFitness(X, y)
    es = ALGORITHMS[algo](spec, pop_size=pop_size, random_state=0)
    for _ in range(5):  # compile, start the threads, warm the caches
        es.tell(fit(es.ask()))
    t_es, t_fit = [], []
    for _ in range(generations):
        t0 = time.perf_counter()
        pop = es.ask()
        t1 = time.perf_counter()
        f = fit(pop)
        t2 = time.perf_counter()
        es.tell(f)
        t3 = time.perf_counter()
        t_es.append(t1 - t0 + t3 - t2)
        t_fit.append(t2 - t1)
    e, f = float(np.median(t_es)), float(np.median(t_fit))
    return e / (e + f), 1000 * e, 1000 * f


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["digits", "share"])
    ap.add_argument("--algorithms", default=None)
    ap.add_argument("--budget", type=float, default=30.0, help="seconds per digits run")
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--library", choices=["fastga", "evosax"], default="fastga",
                    help="evosax: its OpenES / PGPE with fastga's defaults (digits only)")
    ap.add_argument("--set", default="", help='extra parameters, e.g. "sigma=0.05,pop_size=200"')
    args = ap.parse_args()
    params = eval(f"dict({args.set})")  # a benchmark's command line, not library input
    if args.what == "share":
        for algo in (args.algorithms or "openes,pgpe,snes,sepcmaes").split(","):
            share, ms_es, ms_fit = update_share(algo)
            print(f"{algo}: ES update {100 * share:.1f}% of a generation "
                  f"(ask + tell {ms_es:.1f} ms, fitness {ms_fit:.1f} ms; medians)", flush=True)
        return
    print("| algorithm | seed | " + " | ".join(f"to {th}" for th in THRESHOLDS)
          + " | first generation (compile) | final test acc |")
    print("|---|---|" + "---|" * len(THRESHOLDS) + "---|---|")
    run = time_to_accuracy
    if args.library == "evosax":
        def run(algo, budget, seed, **kw):
            return evosax_time_to_accuracy(algo, budget, seed)
    for algo in (args.algorithms or "openes,pgpe,snes,sepcmaes,ga").split(","):
        for seed in range(args.seeds):
            hits, first, acc = run(algo, args.budget, seed, **params)
            cells = [f"{hits[th][0]:.1f} s (g{hits[th][1]})" if th in hits else "-"
                     for th in THRESHOLDS]
            print(f"| {algo} | {seed} | " + " | ".join(cells) + f" | {first:.1f} s | {acc:.3f} |",
                  flush=True)


if __name__ == "__main__":
    main()
