"""A full generation (evaluate, select, crossover, mutate) on digits.

Target (issue 3): fastga's generation at P=1000 is >= 300x faster than the
reference notebook's NumPy ``GeneticMLP`` (``bench/reference_geneticmlp.py``)
on the same task, with the notebook's own settings (``architecture=(8,)``,
``pop_size=1000``, ``max_crossover=0.3``, ``crossover_prob=0.5``): 64-8-10
networks (relu hidden, softmax out) scored by cross-entropy on the 1437
digits training samples, die-off 0.5, neuron-wise crossover, mutation rate
0.1. Both run in the same process; the reference (seconds per generation
at P=1000) runs one generation once.

Also reported: the share of the generation spent in the fused evaluation
(the rest is selection, crossover, mutation and the driver's Python).
"""

import numpy as np
import pytest

from bench import reference_geneticmlp as ref
from bench.conftest import record
from bench.peak import interleaved_medians
from fastga import GeneticAlgorithm, NetworkSpec, SupervisedFitness
from fastga.datasets import load_digits_split

HIDDEN = 8  # the notebook's run: GeneticMLP(architecture=(8,), pop_size=1000, ...)


def _fastga(P, X, y):
    spec = NetworkSpec([64, HIDDEN, 10], ["relu", "softmax"])
    ga = GeneticAlgorithm(spec, pop_size=P, die_off_rate=0.5, fitness_pref=1.0, crossover="neuron",
                          max_crossover=0.3, crossover_prob=0.5, mutation_rate=0.1,
                          type_probs=(0.8, 0.1, 0.1), random_state=0)
    fitness = SupervisedFitness(X, y)
    ga.run(fitness, 0)  # initialise and evaluate generation 0
    return ga, fitness


def test_generation_vs_reference_geneticmlp(benchmark, full, rounds):
    X, _, y, _ = load_digits_split()
    P = 1000 if full else 16
    if not full:
        X, y = X[:100], y[:100]
    ga, fitness = _fastga(P, X, y)
    one_generation = lambda: ga.run(fitness, 1, warm_start=True)  # noqa: E731
    benchmark.pedantic(one_generation, rounds=rounds, iterations=1, warmup_rounds=1)
    evaluate = lambda: fitness(ga.population_)  # noqa: E731
    t_gen, t_eval = interleaved_medians([one_generation, evaluate], rounds)

    ref.seed(0)
    model = ref.GeneticMLP(architecture=(HIDDEN,), input_shape=64, output_shape=10, pop_size=P,
                           die_off_rate=0.5, fitness_pref=1.0, generations=1, mutation_rate=0.1,
                           max_crossover=0.3, crossover_prob=0.5)
    models = model.initial_population()
    (t_ref,) = interleaved_medians([lambda: model.fit(X, y, models=models)], 1, warmup=0)
    record(benchmark, "speedup vs reference GeneticMLP", t_ref / t_gen, 300.0, ">=", P=P,
           generation_ms=t_gen * 1e3, evaluation_share=t_eval / t_gen, reference_s=t_ref)
    assert np.isfinite(ga.history_["best_fitness"][-1])
