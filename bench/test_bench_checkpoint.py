"""Checkpoint cost: save and load of the default digits run (P=500, 64-32-10) vs one generation.

Run ``pytest bench/test_bench_checkpoint.py --benchmark-enable -s`` for the
measurement: the medians of a save, a load and one generation (evaluation
and breeding) are measured in the same run, printed, and stored in the
benchmarks' ``extra_info`` with the ratio save/generation, which says what
``checkpoint_every=N`` costs (about ratio/N of the run time). With benchmarks
disabled (CI) it runs once on a tiny population as a smoke test.
"""

import os

import numpy as np

from fastga import GeneticAlgorithm, NetworkSpec, SupervisedFitness
from fastga.datasets import load_digits_split
from bench.peak import interleaved_medians


def _median_seconds(fn, rounds):
    return interleaved_medians([fn], rounds, warmup=0)[0]


def _setup(full):
    X, _, y, _ = load_digits_split()
    fitness = SupervisedFitness(X, y, batch_size=256, seed=0)
    spec = NetworkSpec([64, 32, 10], ["relu", "softmax"])
    ga = GeneticAlgorithm(spec, pop_size=500 if full else 20, die_off_rate=0.9, elitism=5,
                          type_probs=(0, 0, 0, 1), sigma=0.05, random_state=0)
    ga.run(fitness, 2)
    return ga, fitness


def test_bench_checkpoint_save_load_vs_generation(benchmark, tmp_path):
    full = not benchmark.disabled
    rounds = 7 if full else 1
    ga, fitness = _setup(full)
    path = tmp_path / "ck.npz"

    def one_generation():
        ga.run(fitness, 1, warm_start=True)

    one_generation()  # warm-up
    t_gen = _median_seconds(one_generation, rounds)

    def save():
        ga.save(path)

    benchmark.pedantic(save, rounds=rounds, iterations=1)
    t_save = _median_seconds(save, rounds)
    t_load = _median_seconds(lambda: GeneticAlgorithm.load(path), rounds)
    size_mb = os.path.getsize(path) / 1e6
    info = {"save_s": t_save, "load_s": t_load, "generation_s": t_gen,
            "save_over_generation": t_save / t_gen, "file_mb": size_mb}
    benchmark.extra_info.update(info)
    print(f"\ncheckpoint of P={ga.pop_size} x {ga.population_.spec.n_params} params ({size_mb:.2f} MB): "
          f"save {t_save * 1e3:.0f} ms, load {t_load * 1e3:.0f} ms, one generation {t_gen * 1e3:.0f} ms, "
          f"save/generation {t_save / t_gen:.2f}")
    back = GeneticAlgorithm.load(path)
    np.testing.assert_array_equal(back.population_.genomes, ga.population_.genomes)
