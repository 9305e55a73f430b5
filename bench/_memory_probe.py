"""Peak memory of one GA generation (a subprocess of ``test_bench_memory.py``).

Prints JSON: the peak RSS (``ru_maxrss``) of the whole process, the RSS
before fastga allocated anything, the tracemalloc peak of one evaluation,
and the budget: the two genome buffers plus the data.
"""

import json
import resource
import sys
import tracemalloc

import numpy as np


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


P, B = int(sys.argv[1]), int(sys.argv[2])
from fastga import GeneticAlgorithm, NetworkSpec, SupervisedFitness  # noqa: E402

spec = NetworkSpec([784, 16, 10], ["relu", "softmax"])
rng = np.random.default_rng(0)
X = rng.random((B, 784), dtype=np.float32)
y = rng.integers(0, 10, B)
# Compile on a tiny run first, so compilation's memory is in the baseline.
GeneticAlgorithm(spec, pop_size=4, random_state=0).run(SupervisedFitness(X[:8], y[:8]), 1)
base = rss_mb()
fitness = SupervisedFitness(X, y)
ga = GeneticAlgorithm(spec, pop_size=P, random_state=0)
ga.run(fitness, 1)  # evaluate, breed (touches both buffers), evaluate
tracemalloc.start()
fitness(ga.population_)
_, traced_peak = tracemalloc.get_traced_memory()
tracemalloc.stop()
genome_bytes = 2 * P * spec.n_params * 4
data_bytes = X.nbytes + y.nbytes
print(json.dumps({
    "peak_rss_mb": rss_mb(), "baseline_rss_mb": base,
    "budget_mb": 2 * (genome_bytes + data_bytes) / 2 ** 20,
    "genome_buffers_mb": genome_bytes / 2 ** 20, "data_mb": data_bytes / 2 ** 20,
    "evaluation_traced_peak_mb": traced_peak / 2 ** 20,
    "outputs_PxBxout_mb": P * B * spec.n_outputs * 4 / 2 ** 20,
}))
