"""Mutation + crossover of one generation against one copy of the population.

Target (issue 3): neuron-wise crossover of every child plus mutation (rate
0.1, RNG included) costs at most 3x one ``np.copyto`` of the (P, n_params)
float32 population, at P=1000 with 784-16-10 and P=256 with 784-128-64-10.
The inputs come from ``tests/cases.py`` (``breed_neuron``, ``crossover_neuron``
and ``mutate``). The measured call is the GA's ``_breed``: the fused kernel
:func:`fastga.kernels.breed.breed` (5 elites copied, the other rows crossed
and mutated in one pass) shared out to threads by ``run_rows``. The separate
kernels (``crossover_neuron`` then ``mutate``, the previous ``_breed``) are
timed against the copy too (``separate_kernels_ratio``), and the fused
kernel on one thread (``one_thread_ratio``). The NumPy references of
``tests/naive.py`` are timed on a few rows and reported per row.
"""

import numba
import numpy as np
import pytest

from bench.conftest import record
from bench.peak import interleaved_medians
from fastga.evaluation import run_rows
from fastga.kernels.breed import BreedPlan, CrossoverParams, Layout, MutationParams, breed
from fastga.registry import Crossover
from tests.cases import CASES
from tests.kernel_drivers import crossover_neuron, mutate

FULL_SHAPES = [dict(P=1000, B=1, sizes=(784, 16, 10)), dict(P=256, B=1, sizes=(784, 128, 64, 10))]
SMOKE_SHAPES = [dict(P=20, B=1, sizes=(30, 8, 4)), dict(P=8, B=1, sizes=(30, 12, 6, 4))]
IDS = ["P1000-784x16x10", "P256-784x128x64x10"]
RATE = 0.1


@pytest.mark.parametrize("k", range(2), ids=IDS)
def test_mutation_crossover_vs_copyto(benchmark, full, rounds, k):
    shape = (FULL_SHAPES if full else SMOKE_SHAPES)[k]
    xo = CASES["crossover_neuron"].make(**shape)
    mu = CASES["mutate"].make(**shape)
    spec = xo["spec"]
    parents, children = xo["parents"], xo["children"]
    rows = xo["rows"]
    counts = np.empty(rows.shape[0], dtype=np.int64)
    cum = mu["cum_probs"]
    gen = [0]

    n_elite = 5 if shape["P"] > 10 else 1
    elite_src = np.arange(n_elite, dtype=np.int64)
    p1 = np.resize(xo["p1"], shape["P"] - n_elite)
    p2 = np.resize(xo["p2"], shape["P"] - n_elite)
    counts_all = np.empty(shape["P"] - n_elite, dtype=np.int64)

    def operators():  # as GeneticAlgorithm._breed runs them
        gen[0] += 1  # a fresh generation each call: fresh random streams
        run_rows(breed, shape["P"], parents, children, BreedPlan(elite_src, p1, p2), xo["seed"],
                 gen[0], Layout(spec.sizes_array, spec.w_offsets, spec.b_offsets),
                 CrossoverParams(int(Crossover.NEURON), 0.5, 1.0),
                 MutationParams(RATE, cum, 2.0, 2.0, 0.1), counts_all)

    def separate():  # the previous _breed: one kernel per operator
        gen[0] += 1
        crossover_neuron(parents, children, xo["p1"], xo["p2"], rows, xo["seed"], gen[0],
                         spec.sizes_array, spec.w_offsets, spec.b_offsets, 0.5, 1.0)
        mutate(children, rows, mu["seed"], gen[0], RATE, cum, 2.0, 2.0, 0.1, counts)

    scratch = np.empty_like(parents)
    copy = lambda: np.copyto(scratch, parents)  # noqa: E731
    benchmark.pedantic(operators, rounds=rounds, iterations=1, warmup_rounds=1)
    separate()  # compile outside the timing
    # Two interleavings: the separate kernels are parfors, and after one the
    # OpenMP pool's threads spin-wait for a while, taking a core from the
    # run_rows threads of the next call (2.55 -> 3.1 at P=1000 when the three
    # ran in turn). The GA runs no parfor, so the headline ratio is timed
    # beside the copy alone.
    t_ops, t_copy = interleaved_medians([operators, copy], rounds)
    t_sep, t_copy_sep = interleaved_medians([separate, copy], rounds)
    n_threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        t_ops1, t_copy1 = interleaved_medians([operators, copy], rounds)
    finally:
        numba.set_num_threads(n_threads)
    # The NumPy references on a few rows (they are per-row Python loops).
    n_ref = 3 if full else rows.shape[0]
    xo_ref = dict(xo, rows=rows[:n_ref], p1=xo["p1"][:n_ref], p2=xo["p2"][:n_ref])
    mu_ref = dict(mu, rows=mu["rows"][:n_ref], rate=RATE)
    (t_ref,) = interleaved_medians(
        [lambda: (CASES["crossover_neuron"].reference(xo_ref), CASES["mutate"].reference(mu_ref))],
        1, warmup=0)
    speedup = (t_ref / n_ref) / (t_ops / rows.shape[0])
    record(benchmark, "time / np.copyto of the population", t_ops / t_copy, 3.0, "<=", shape=IDS[k],
           copyto_gbytes_per_s=2 * parents.nbytes / t_copy / 1e9,
           speedup_vs_reference_per_row=speedup, separate_kernels_ratio=t_sep / t_copy_sep,
           threads=n_threads, one_thread_ratio=t_ops1 / t_copy1)
