"""Speed of fastga's evolution strategies: time to accuracy on digits, and the update's share.

``digits``: the main job's network (64-32-10, relu/softmax) and split
(:func:`fastga.datasets.load_digits_split`); each algorithm runs with its
defaults (or ``--set``) and ``SupervisedFitness`` on the training set
(cross-entropy); every 10 generations the test accuracy of the center (an
ES) or of the best network (the GA) is measured, outside the clock. Prints
the wall time (Numba compilation included, and the compile-free time beside
it) and generation at which 0.90, 0.95, 0.97 and 0.975 are first reached.

``--library evosax`` / ``evotorch``: the same algorithm in those libraries
(evosax has the four, EvoTorch PGPE and SNES) with fastga's defaults, the
same center and network (EvoTorch: a ``torch.bmm`` batched fitness on 2
torch threads); ``all`` runs the three interleaved per seed and prints the
medians and the ratios to fastga.

``mirror``: the fitness call of one mirrored generation (OpenES, PGPE; P=100,
digits, 64-32-10; and P=256, 784-16-10, B=1024) with and without
``Population.mirror_center``, interleaved.

``share``: the share of a generation spent in ``ask`` (sampling) and
``tell`` (shaping, weighted sums, optimizer step) at P=256, 784-16-10 and a
batch of 1024 samples; the fitness (the fused forward pass and loss) is the
rest.

    PYTHONPATH=. python bench/es_speed.py digits [--algorithms openes,pgpe,snes,sepcmaes,ga]
    PYTHONPATH=. python bench/es_speed.py digits --library evosax --algorithms openes,pgpe
    PYTHONPATH=. python bench/es_speed.py digits --library all --seeds 3 --budget 30
    PYTHONPATH=. python bench/es_speed.py share
    PYTHONPATH=. python bench/es_speed.py mirror
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
        return _done(state["hits"], elapsed, budget)

    model.run(fit, 10 ** 9, callbacks=[callback])
    return state["hits"], state["first"], state["acc"]


#: Stop a digits run once this accuracy is reached (``--stop``; default: all thresholds).
STOP = {"at": None}


def _done(hits, elapsed, budget):
    stop = STOP["at"]
    return elapsed > budget or len(hits) == len(THRESHOLDS) or (stop is not None and stop in hits)


def _clocked(step, center, budget, sync=lambda: None):
    """Run ``step()`` (one generation) until ``budget`` seconds or every
    threshold; the test accuracy of ``center()`` every 10 generations, off the
    clock (``sync()`` first waits for the work so far, on the clock):
    ``(hits, first seconds, accuracy)``."""
    X_tr, X_te, y_tr, y_te = load_digits_split()
    spec = NetworkSpec([64, 32, 10], ["relu", "softmax"])
    hits, excluded, acc, first = {}, 0.0, 0.0, None
    t0 = time.perf_counter()
    for g in range(10 ** 9):
        step()
        if first is None:
            sync()
            first = time.perf_counter() - t0  # compilation (if any) and one generation
        if g % 10:
            continue
        sync()
        t = time.perf_counter()
        w = np.asarray(center(), dtype=np.float32)
        acc = float((Network(spec, w).predict(X_te).argmax(axis=1) == y_te).mean())
        excluded += time.perf_counter() - t
        elapsed = time.perf_counter() - t0 - excluded
        for th in THRESHOLDS:
            if acc >= th and th not in hits:
                hits[th] = (elapsed, g)
        if _done(hits, elapsed, budget):
            break
    return hits, first, acc


def _fastga_settings(algo, seed):
    """fastga's model with its defaults, initialised: the center (Glorot) and settings."""
    spec = NetworkSpec([64, 32, 10], ["relu", "softmax"])
    ours = ALGORITHMS[algo](spec, random_state=seed)
    ours.initialize()
    return ours


def evosax_time_to_accuracy(algo, budget, seed=0):
    """evosax's implementation of ``algo`` on the same network, data, center and
    settings as fastga's defaults: ``({threshold: (seconds, generation)}, first
    seconds, accuracy)``.

    One jitted ask/evaluate/tell per generation (``first``: its compilation
    and first run), waited for every generation; the test accuracy of the
    center every 10 generations, off the clock.
    """
    import jax
    import jax.numpy as jnp
    import optax
    from evosax.algorithms import PGPE, SNES, Open_ES, Sep_CMA_ES
    from evosax.core.optimizer import clipup

    X_tr, _, y_tr, _ = load_digits_split()
    ours = _fastga_settings(algo, seed)
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
    elif algo == "snes":
        es = SNES(P, center)
        params = es.default_params.replace(std_init=jnp.asarray(ours.sigma))
    elif algo == "sepcmaes":
        es = Sep_CMA_ES(P, center)
        params = es.default_params.replace(std_init=jnp.asarray(ours.sigma))
    else:
        raise ValueError(f"algorithm: evosax timing for the four ES, got {algo!r}")
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

    box = {"key": jax.random.key(seed)}
    box["key"], k_init = jax.random.split(box["key"])
    box["state"] = es.init(k_init, center, params)

    def step():
        box["key"], k = jax.random.split(box["key"])
        box["state"] = generation(box["state"], k)

    return _clocked(step, lambda: box["state"].mean, budget,
                    sync=lambda: jax.block_until_ready(box["state"].mean))


def evotorch_time_to_accuracy(algo, budget, seed=0):
    """EvoTorch's PGPE (ClipUp) or SNES on the same network, data, center and
    settings as fastga's defaults, 2 torch threads; the population's fitness
    is one batched forward pass (``torch.bmm`` over the networks).
    ``({threshold: (seconds, generation)}, first seconds, accuracy)``."""
    import logging

    import torch
    from evotorch import Problem

    logging.getLogger("evotorch").setLevel(logging.WARNING)
    from evotorch.algorithms import PGPE, SNES

    torch.set_num_threads(2)
    X_tr, _, y_tr, _ = load_digits_split()
    ours = _fastga_settings(algo, seed)
    n = ours.mean_.shape[0]
    X = torch.as_tensor(X_tr, dtype=torch.float32)
    y = torch.as_tensor(y_tr, dtype=torch.int64)

    def losses(w):  # (P, n) -> (P,) mean cross-entropy of each network
        P = w.shape[0]
        W1 = w[:, :2048].reshape(P, 64, 32)
        b1 = w[:, 2048:2080].reshape(P, 1, 32)
        W2 = w[:, 2080:2400].reshape(P, 32, 10)
        b2 = w[:, 2400:2410].reshape(P, 1, 10)
        h = torch.relu(torch.bmm(X.expand(P, -1, -1), W1) + b1)
        lp = torch.log_softmax(torch.bmm(h, W2) + b2, dim=-1)
        return -lp.gather(2, y.expand(P, -1)[:, :, None])[:, :, 0].mean(dim=1)

    prob = Problem("min", losses, solution_length=n, initial_bounds=(-1.0, 1.0),
                   vectorized=True, dtype=torch.float32, seed=seed)
    center = torch.as_tensor(ours.mean_)
    if algo == "pgpe":
        es = PGPE(prob, popsize=ours.pop_size, center_learning_rate=ours.learning_rate,
                  stdev_learning_rate=ours.sigma_learning_rate, stdev_init=ours.sigma,
                  stdev_max_change=ours.sigma_max_change, center_init=center,
                  optimizer="clipup", optimizer_config={"max_speed": 2 * ours.learning_rate,
                                                        "momentum": ours.momentum})
    elif algo == "snes":
        es = SNES(prob, popsize=ours.pop_size, stdev_init=ours.sigma,
                  center_learning_rate=ours.learning_rate, center_init=center)
    else:
        raise ValueError(f"algorithm: EvoTorch has PGPE and SNES, got {algo!r}")
    with torch.no_grad():
        return _clocked(es.step, lambda: es.status["center"].numpy(), budget)


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


def mirror_cost(algo="pgpe", pop_size=100, repeats=40, mnist_like=False):
    """``(ms plain, ms mirrored)``: medians of the fitness call on digits (64-32-10,
    the training set; or, ``mnist_like``, 784-16-10 on 1024 random samples, the
    setting of ``share``) of one mirrored generation, interleaved, with and
    without ``Population.mirror_center``."""
    if mnist_like:
        rng = np.random.default_rng(0)
        X_tr, y_tr = rng.random((1024, 784), dtype=np.float32), rng.integers(0, 10, 1024)
        spec = NetworkSpec([784, 16, 10], ["relu", "softmax"])
    else:
        X_tr, _, y_tr, _ = load_digits_split()
        spec = NetworkSpec([64, 32, 10], ["relu", "softmax"])
    fit = SupervisedFitness(X_tr, y_tr)
    es = ALGORITHMS[algo](spec, pop_size=pop_size, random_state=0)
    for _ in range(3):
        es.tell(fit(es.ask()))
    pop = es.ask()
    center = pop.mirror_center
    times = {True: [], False: []}
    for _ in range(repeats):
        for mirrored in (False, True):
            pop.mirror_center = center if mirrored else None
            t = time.perf_counter()
            fit(pop)
            times[mirrored].append(time.perf_counter() - t)
    pop.mirror_center = center
    return 1000 * float(np.median(times[False])), 1000 * float(np.median(times[True]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["digits", "share", "mirror"])
    ap.add_argument("--algorithms", default=None)
    ap.add_argument("--budget", type=float, default=30.0, help="seconds per digits run")
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--stop", type=float, default=None, choices=THRESHOLDS,
                    help="stop a run once this test accuracy is reached")
    ap.add_argument("--library", choices=["fastga", "evosax", "evotorch", "all"],
                    default="fastga", help="evosax / evotorch: their implementation with "
                    "fastga's defaults; all: the three, interleaved per seed (digits only)")
    ap.add_argument("--set", default="", help='extra parameters, e.g. "sigma=0.05,pop_size=200"')
    args = ap.parse_args()
    params = eval(f"dict({args.set})")  # a benchmark's command line, not library input
    STOP["at"] = args.stop
    if args.what == "mirror":
        for algo in (args.algorithms or "pgpe,openes").split(","):
            for mnist_like, size, what in ((False, 100, "digits 64-32-10, P=100"),
                                           (True, 256, "784-16-10, P=256, B=1024")):
                plain, mirrored = mirror_cost(algo, size, 40 if size == 100 else 15, mnist_like)
                print(f"{algo}, {what}: fitness of a mirrored generation {mirrored:.2f} ms, "
                      f"plain {plain:.2f} ms, ratio {mirrored / plain:.3f} (medians, interleaved)",
                      flush=True)
        return
    if args.what == "share":
        for algo in (args.algorithms or "openes,pgpe,snes,sepcmaes").split(","):
            share, ms_es, ms_fit = update_share(algo)
            print(f"{algo}: ES update {100 * share:.1f}% of a generation "
                  f"(ask + tell {ms_es:.1f} ms, fitness {ms_fit:.1f} ms; medians)", flush=True)
        return
    libs = {"fastga": lambda algo, budget, seed: time_to_accuracy(algo, budget, seed, **params),
            "evosax": evosax_time_to_accuracy, "evotorch": evotorch_time_to_accuracy}
    names = ["fastga", "evosax", "evotorch"] if args.library == "all" else [args.library]
    print("| library | algorithm | seed | " + " | ".join(f"to {th}" for th in THRESHOLDS)
          + " | first generation (compile) | final test acc |")
    print("|---|---|---|" + "---|" * len(THRESHOLDS) + "---|---|")
    rows = {}
    for algo in (args.algorithms or "openes,pgpe,snes,sepcmaes,ga").split(","):
        for seed in range(args.seeds):
            for lib in names:
                if lib == "evotorch" and algo not in ("pgpe", "snes"):
                    continue
                if lib == "evosax" and algo == "ga":
                    continue
                hits, first, acc = libs[lib](algo, args.budget, seed)
                rows.setdefault((lib, algo), []).append((hits, first))
                cells = [f"{hits[th][0]:.2f} s (g{hits[th][1]})" if th in hits else "-"
                         for th in THRESHOLDS]
                print(f"| {lib} | {algo} | {seed} | " + " | ".join(cells)
                      + f" | {first:.2f} s | {acc:.3f} |", flush=True)
    if len(names) > 1:
        _summary(rows, args.budget)


def _summary(rows, budget):
    """Medians over the seeds and the libraries' ratios to fastga (a threshold
    not reached counts as the budget: the ratio is then a lower bound, '>')."""
    print("\n| algorithm | library | " + " | ".join(f"to {th} (median)" for th in THRESHOLDS[:2])
          + " | first generation | per generation | " + " | ".join(
              f"x fastga to {th}" for th in THRESHOLDS[:2]) + " |")
    print("|---|---|" + "---|" * 6)
    for (lib, algo), runs in rows.items():
        base = rows.get(("fastga", algo))
        cells, ratios = [], []
        for th in THRESHOLDS[:2]:
            t = [h[th][0] if th in h else np.inf for h, _ in runs]
            med = float(np.median(t))
            cells.append(f"{med:.2f} s" if np.isfinite(med) else f"> {budget:.0f} s")
            if base is not None:
                tb = float(np.median([h[th][0] if th in h else np.inf for h, _ in base]))
                if not np.isfinite(tb):
                    ratios.append("-")
                else:
                    r = min(med, budget) / tb
                    ratios.append(("> " if not np.isfinite(med) else "") + f"{r:.1f}x")
        # steady generations: (time to the first threshold reached - first generation) / generations
        per = [(h[th][0] - f) / h[th][1] for h, f in runs
               for th in THRESHOLDS[:1] if th in h and h[th][1] > 0]
        per_cell = f"{1000 * float(np.median(per)):.1f} ms" if per else "-"
        first = float(np.median([f for _, f in runs]))
        print(f"| {algo} | {lib} | " + " | ".join(cells) + f" | {first:.2f} s | {per_cell} | "
              + " | ".join(ratios) + " |", flush=True)


if __name__ == "__main__":
    main()
