"""Run every kernel of a GA once and print the seconds it took (a subprocess of
``test_bench_compile.py``; NUMBA_CACHE_DIR is set by the caller)."""

import json
import time

t0 = time.perf_counter()
import numpy as np  # noqa: E402

from fastga import GeneticAlgorithm, NetworkSpec, Population, SupervisedFitness  # noqa: E402

t_import = time.perf_counter() - t0
t1 = time.perf_counter()
rng = np.random.default_rng(0)
X = rng.standard_normal((30, 6)).astype(np.float32)
y = rng.integers(0, 3, 30)
spec = NetworkSpec([6, 5, 3], ["relu", "softmax"])
for crossover in ("neuron", "single_point", "uniform"):
    ga = GeneticAlgorithm(spec, pop_size=8, crossover=crossover, random_state=0)
    ga.run(SupervisedFitness(X, y), 2)
pop = Population.random(spec, 4, random_state=1, init="normal")
pop.forward(X)
pop.losses(X, rng.standard_normal((30, 3)).astype(np.float32), "mse")
t_first = time.perf_counter() - t1
print(json.dumps({"import_s": t_import, "first_call_s": t_first}))
