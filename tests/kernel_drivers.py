"""One operator over many rows: small Numba loops over the kernels' row functions.

The GA breeds with one fused kernel (:func:`fastga.kernels.breed.breed`);
these drivers run each row function of :mod:`fastga.kernels.crossover` and
:mod:`fastga.kernels.mutation` on its own, on the same random streams
(``(seed, generation, child, CROSSOVER)`` and ``(..., MUTATION)``), so the
tests compare every operator with its NumPy reference (``tests/naive.py``)
and breed's bits with crossover-then-mutation. Plain serial loops: the
streams make the rows independent of the order they are computed in.
"""

import numpy as np
from numba import njit

from fastga.kernels.crossover import copy_row, neuron_row, single_point_row, uniform_row
from fastga.kernels.mutation import BLOCK, NORMAL_BLOCK, mutate_row
from fastga.kernels.rng import stream_key
from fastga.registry import Purpose

__all__ = ["copy_rows", "crossover_neuron", "crossover_single_point", "crossover_uniform",
           "mutate"]


@njit(cache=True)
def copy_rows(src, src_rows, dst, dst_rows):
    """``dst[dst_rows[r]] = src[src_rows[r]]`` for every r (elites)."""
    for r in range(src_rows.shape[0]):
        copy_row(src[src_rows[r]], dst[dst_rows[r]])


@njit(cache=True)
def crossover_neuron(parents, children, p1, p2, rows, seed, generation, sizes, w_offs, b_offs,
                     max_crossover, crossover_prob):
    """Neuron-wise crossover of children ``rows`` (see
    :func:`fastga.kernels.crossover.neuron_row`).

    Child ``rows[r]`` is a copy of parent ``p1[r]``, except that with
    probability ``crossover_prob`` it draws a share ``q ~ U[0, max_crossover)``
    and every neuron of every layer is, with probability ``q``, taken whole
    from parent ``p2[r]``: its column of incoming weights and its bias.
    """
    width = 1
    for s in sizes:
        width = max(width, s)
    take = np.empty(width, dtype=np.int32)
    for r in range(rows.shape[0]):
        c = rows[r]
        key = stream_key(seed, generation, c, Purpose.CROSSOVER)
        neuron_row(parents[p1[r]], parents[p2[r]], children[c], key, sizes, w_offs, b_offs,
                   max_crossover, crossover_prob, take)


@njit(cache=True)
def crossover_single_point(parents, children, p1, p2, rows, seed, generation, crossover_prob):
    """Single-point crossover on the flat genome: with probability
    ``crossover_prob`` the child takes genes ``[0, k)`` from ``p1[r]`` and
    ``[k, n)`` from ``p2[r]`` with ``k`` uniform in ``[1, n)``; otherwise it is
    a copy of ``p1[r]``."""
    for r in range(rows.shape[0]):
        c = rows[r]
        key = stream_key(seed, generation, c, Purpose.CROSSOVER)
        single_point_row(parents[p1[r]], parents[p2[r]], children[c], key, crossover_prob)


@njit(cache=True)
def crossover_uniform(parents, children, p1, p2, rows, seed, generation, crossover_prob):
    """Uniform crossover: with probability ``crossover_prob`` each gene comes
    from either parent with probability 1/2 (one random bit per gene)."""
    for r in range(rows.shape[0]):
        c = rows[r]
        key = stream_key(seed, generation, c, Purpose.CROSSOVER)
        uniform_row(parents[p1[r]], parents[p2[r]], children[c], key, crossover_prob)


@njit(cache=True)
def mutate(genomes, rows, seed, generation, rate, cum_probs, shift_max, swap_max, sigma, counts):
    """Mutate ``genomes[rows]`` in place; ``counts[r]`` gets the number of mutated weights.

    Row ``rows[r]`` draws from the stream ``(seed, generation, rows[r], MUTATION)``.
    ``rate`` must lie in [0, 1]; ``cum_probs`` is a float64 array of 4
    non-decreasing values ending at 1.
    """
    gaps = np.empty(BLOCK, dtype=np.int32)
    kinds = np.empty(BLOCK, dtype=np.int32)
    vals = np.empty(BLOCK, dtype=np.float32)
    normals = np.empty(NORMAL_BLOCK, dtype=np.float32)
    none = vals[:0]
    for r in range(rows.shape[0]):
        g = rows[r]
        key = stream_key(seed, generation, g, Purpose.MUTATION)
        counts[r] = mutate_row(genomes[g], key, rate, cum_probs, shift_max, swap_max, sigma,
                               gaps, kinds, vals, normals, none, none, none)
