"""The GA's breeding step in one kernel: elites, crossover and mutation.

Row ``c`` of the children buffer is written once, by one thread, in one go:
an elite row is a copy of its parent; a child row is the crossover of its
two parents (every gene written once, see :mod:`fastga.kernels.crossover`)
and is then mutated at once, while it is still in cache
(:func:`fastga.kernels.mutation.mutate_row`). The random streams are those
of the separate kernels: child ``c`` draws its crossover from
``(seed, generation, c, CROSSOVER)`` and its mutation from
``(seed, generation, c, MUTATION)``, so the result is bit-identical to the
row operators applied one after the other (``tests/kernel_drivers.py``;
``tests/test_kernels.py`` checks it) and to any thread count.

The kernel computes rows ``lo .. hi-1`` and releases the GIL;
:func:`fastga.evaluation.run_rows` shares the rows out to threads. Its
settings come in small typed records (:class:`CrossoverParams`,
:class:`MutationParams`), so two floats cannot be swapped by position.
"""

from typing import NamedTuple

import numpy as np
from numba import njit

from ..registry import Crossover, Purpose
from .crossover import copy_row, neuron_row, single_point_row, uniform_row
from .mutation import BLOCK, NORMAL_BLOCK, mutate_row
from .rng import stream_key

__all__ = ["Layout", "BreedPlan", "CrossoverParams", "MutationParams", "breed"]


class Layout(NamedTuple):
    """The genome offset table of a :class:`~fastga.NetworkSpec` (int64 arrays)."""

    sizes: np.ndarray
    w_offs: np.ndarray
    b_offs: np.ndarray


class BreedPlan(NamedTuple):
    """Who breeds whom (int64 arrays).

    Row ``c < len(elite_src)`` of the children is a copy of
    ``parents[elite_src[c]]``; row ``c`` after them is the child of
    ``parents[p1[r]]`` and ``parents[p2[r]]``, ``r = c - len(elite_src)``.
    """

    elite_src: np.ndarray
    p1: np.ndarray
    p2: np.ndarray


class CrossoverParams(NamedTuple):
    """``kind`` (a :class:`~fastga.registry.Crossover` code), ``max_share`` (the
    neuron-wise crossover's upper bound of the share taken from the second
    parent) and ``prob`` (the probability that a child is a crossover)."""

    kind: int
    max_share: float
    prob: float


class MutationParams(NamedTuple):
    """Per-weight ``rate``, cumulative kind probabilities ``cum_probs`` (float64,
    4, in :class:`~fastga.registry.Mutation` order) and the kinds' scales."""

    rate: float
    cum_probs: np.ndarray
    shift_max: float
    swap_max: float
    sigma: float


@njit(nogil=True, cache=True)
def breed(parents, children, plan, seed, generation, layout, cross, mut, counts, lo, hi):
    """Write rows ``lo .. hi-1`` of ``children`` from ``parents``.

    Parameters
    ----------
    parents, children : float32 (P, n_params)
        The two genome buffers (never the same array).
    plan : BreedPlan
    seed : uint64
    generation : int
    layout : Layout
    cross : CrossoverParams
    mut : MutationParams
    counts : int64 (P - E,)
        ``counts[c - E]`` gets the number of mutated weights of child ``c``.
    lo, hi : int
        The rows to write.
    """
    elite_src, p1, p2 = plan
    sizes, w_offs, b_offs = layout
    n_elite = elite_src.shape[0]
    width = 1
    for s in sizes:
        width = max(width, s)
    take = np.empty(width, dtype=np.int32)
    gaps = np.empty(BLOCK, dtype=np.int32)  # the mutation's scratch
    kinds = np.empty(BLOCK, dtype=np.int32)
    vals = np.empty(BLOCK, dtype=np.float32)
    normals = np.empty(NORMAL_BLOCK, dtype=np.float32)
    for c in range(lo, hi):
        child = children[c]
        if c < n_elite:
            copy_row(parents[elite_src[c]], child)
            continue
        r = c - n_elite
        pa = parents[p1[r]]
        pb = parents[p2[r]]
        key = stream_key(seed, generation, c, Purpose.CROSSOVER)
        if cross.kind == Crossover.NEURON:
            neuron_row(pa, pb, child, key, sizes, w_offs, b_offs, cross.max_share, cross.prob,
                       take)
        elif cross.kind == Crossover.SINGLE_POINT:
            single_point_row(pa, pb, child, key, cross.prob)
        elif cross.kind == Crossover.UNIFORM:
            uniform_row(pa, pb, child, key, cross.prob)
        else:
            copy_row(pa, child)
        key = stream_key(seed, generation, c, Purpose.MUTATION)
        # Prefetched during the mutation: the next child's rows (none after the last).
        nxt = min(c + 1, hi - 1) - n_elite
        last = c + 1 >= hi
        next_a = parents[p1[nxt]][:0] if last else parents[p1[nxt]]
        next_b = parents[p2[nxt]][:0] if last else parents[p2[nxt]]
        next_c = children[c + 1 - last]
        counts[r] = mutate_row(child, key, mut.rate, mut.cum_probs, mut.shift_max, mut.swap_max,
                               mut.sigma, gaps, kinds, vals, normals, next_a, next_b, next_c)
