"""fastga's evolution strategies against evosax's, on shifted sphere and Rastrigin.

For each problem (10 and 100 dimensions), algorithm and seed 0-4, both
libraries run the same population size, generations, initial center (zeros)
and hyperparameters; the table gives the median over seeds of the final
error ``f(center) - f*`` of the center of the search distribution (lower is
better). evosax and EvoTorch minimise, fastga maximises ``-f``. evosax's
PGPE implements EvoTorch's symmetric form with ClipUp; ``--evotorch`` adds
EvoTorch's own PGPE and SNES.

evosax (with JAX) and EvoTorch (with torch) are benchmark-only dependencies:

    pip install evosax torch evotorch
    PYTHONPATH=. python bench/compare_es.py [--seeds 5] [--quick] [--evotorch]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402


def shift_of(n):
    """The optimum: a fixed draw in [-2, 2)**n (the same for every seed)."""
    return np.random.default_rng(1234).uniform(-2.0, 2.0, n)


def sphere(x, s):
    return ((x - s) ** 2).sum(axis=-1)


def rastrigin(x, s):
    d = x - s
    return 10.0 * d.shape[-1] + (d ** 2 - 10.0 * np.cos(2 * np.pi * d)).sum(axis=-1)


PROBLEMS = {"sphere": sphere, "rastrigin": rastrigin}

#: (pop_size, generations) per dimension.
BUDGET = {10: (32, 400), 100: (64, 1500)}


def settings(algo, n):
    """The hyperparameters both libraries get (fastga's names)."""
    if algo == "openes":
        return dict(sigma=0.1, learning_rate=0.05)
    if algo == "pgpe":
        return dict(sigma=0.5, learning_rate=0.005 * np.sqrt(n), sigma_learning_rate=0.1,
                    sigma_max_change=0.2)
    return dict(sigma=1.0)  # snes, sepcmaes: evosax's std_init


# ---------------------------------------------------------------- fastga
def run_fastga(algo, problem, n, seed):
    from fastga.es import ALGORITHMS

    pop_size, gens = BUDGET[n]
    s = shift_of(n)
    f = PROBLEMS[problem]
    es = ALGORITHMS[algo](n, pop_size=pop_size, random_state=seed, center_init=0.0,
                          **settings(algo, n))
    es.run(lambda pop: -f(pop.genomes.astype(np.float64), s), gens - 1)
    return float(f(es.mean_.astype(np.float64), s))


# ---------------------------------------------------------------- evosax
def run_evosax(algo, problem, n, seed):
    import jax
    import jax.numpy as jnp
    import optax
    from evosax.algorithms import PGPE, SNES, Open_ES, Sep_CMA_ES
    from evosax.core.optimizer import clipup

    pop_size, gens = BUDGET[n]
    s = shift_of(n)
    f = PROBLEMS[problem]
    kw = settings(algo, n)
    x0 = jnp.zeros(n)
    if algo == "openes":
        es = Open_ES(pop_size, x0, optimizer=optax.adam(kw["learning_rate"]),
                     std_schedule=optax.constant_schedule(kw["sigma"]))
        params = es.default_params
    elif algo == "pgpe":
        lr = kw["learning_rate"]
        es = PGPE(pop_size, x0, optimizer=clipup(learning_rate=lr, max_velocity=2 * lr))
        params = es.default_params.replace(std_init=kw["sigma"], std_lr=kw["sigma_learning_rate"],
                                           std_max_change=kw["sigma_max_change"])
    elif algo == "snes":
        es = SNES(pop_size, x0)
        params = es.default_params.replace(std_init=jnp.asarray(kw["sigma"]))
    else:
        es = Sep_CMA_ES(pop_size, x0)
        params = es.default_params.replace(std_init=jnp.asarray(kw["sigma"]))
    sj = jnp.asarray(s)

    def fj(x):
        d = x - sj
        if problem == "sphere":
            return (d ** 2).sum(axis=-1)
        return 10.0 * n + (d ** 2 - 10.0 * jnp.cos(2 * jnp.pi * d)).sum(axis=-1)

    def step(carry, key):
        state, good = carry
        k_ask, k_tell = jax.random.split(key)
        pop, state = es.ask(k_ask, state, params)
        state, _ = es.tell(k_tell, pop, fj(pop), state, params)
        # evosax computes in float32: a converged step size can underflow and
        # turn the center into NaN; the error is then that of the last finite one.
        good = jnp.where(jnp.isfinite(state.mean).all(), state.mean, good)
        return (state, good), None

    key = jax.random.key(seed)
    key, k_init = jax.random.split(key)
    state = es.init(k_init, x0, params)
    (state, good), _ = jax.lax.scan(step, (state, x0), jax.random.split(key, gens))
    return float(f(np.asarray(good, dtype=np.float64), s))


# ---------------------------------------------------------------- EvoTorch
def run_evotorch(algo, problem, n, seed):
    """EvoTorch's PGPE (ClipUp) or SNES; None for the algorithms it lacks."""
    if algo not in ("pgpe", "snes"):
        return None
    import logging

    import torch
    from evotorch import Problem

    logging.getLogger("evotorch").setLevel(logging.WARNING)
    from evotorch.algorithms import PGPE, SNES

    pop_size, gens = BUDGET[n]
    s = shift_of(n)
    f = PROBLEMS[problem]
    kw = settings(algo, n)
    st = torch.as_tensor(s, dtype=torch.float32)

    def ft(x):
        d = x - st
        if problem == "sphere":
            return (d ** 2).sum(dim=-1)
        return 10.0 * n + (d ** 2 - 10.0 * torch.cos(2 * torch.pi * d)).sum(dim=-1)

    prob = Problem("min", ft, solution_length=n, initial_bounds=(-1.0, 1.0), vectorized=True,
                   dtype=torch.float32, seed=seed)
    if algo == "pgpe":
        es = PGPE(prob, popsize=pop_size, center_learning_rate=kw["learning_rate"],
                  stdev_learning_rate=kw["sigma_learning_rate"], stdev_init=kw["sigma"],
                  stdev_max_change=kw["sigma_max_change"], center_init=torch.zeros(n),
                  optimizer="clipup", optimizer_config={"max_speed": 2 * kw["learning_rate"]})
    else:
        es = SNES(prob, popsize=pop_size, stdev_init=kw["sigma"], center_init=torch.zeros(n))
    for _ in range(gens):
        es.step()
    return float(f(es.status["center"].numpy().astype(np.float64), s))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="10 dimensions only")
    ap.add_argument("--algorithms", default="openes,pgpe,snes,sepcmaes")
    ap.add_argument("--evotorch", action="store_true",
                    help="also EvoTorch's PGPE and SNES (needs torch and evotorch)")
    args = ap.parse_args()
    dims = (10,) if args.quick else (10, 100)
    libs = [("fastga", run_fastga), ("evosax", run_evosax)]
    if args.evotorch:
        libs.append(("evotorch", run_evotorch))
    names = [lib for lib, _ in libs]
    print("| problem | n | pop | gens | algorithm | "
          + " | ".join(f"{lib} median error (min-max)" for lib in names) + " | "
          + " | ".join(f"{lib} s" for lib in names) + " |")
    print("|---|---|---|---|---|" + "---|" * (2 * len(libs)))
    for problem in PROBLEMS:
        for n in dims:
            for algo in args.algorithms.split(","):
                errors, seconds = [], []
                for lib, fn in libs:
                    t = time.perf_counter()
                    errs = [fn(algo, problem, n, seed) for seed in range(args.seeds)]
                    seconds.append("-" if errs[0] is None else f"{time.perf_counter() - t:.1f}")
                    errors.append("-" if errs[0] is None else
                                  f"{np.median(errs):.3g} ({min(errs):.3g}-{max(errs):.3g})")
                pop_size, gens = BUDGET[n]
                print(f"| {problem} | {n} | {pop_size} | {gens} | {algo} | " + " | ".join(errors)
                      + " | " + " | ".join(seconds) + " |", flush=True)


if __name__ == "__main__":
    main()
