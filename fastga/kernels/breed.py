"""The GA's breeding step in one kernel: elites, crossover and mutation.

Row ``c`` of the children buffer is written once, by one thread, in one go:
an elite row is a copy of its parent; a child row is the crossover of its
two parents (every gene written once, see :mod:`fastga.kernels.crossover`)
and is then mutated at once, while it is still in cache
(:func:`fastga.kernels.mutation.mutate_row`). The random streams are those
of the separate kernels: child ``c`` draws its crossover from
``(seed, generation, c, CROSSOVER)`` and its mutation from
``(seed, generation, c, MUTATION)``, so the result is bit-identical to
:func:`~fastga.kernels.crossover.copy_rows`, then ``crossover_*``, then
:func:`~fastga.kernels.mutation.mutate`, and to any thread count.

The kernel computes rows ``lo .. hi-1`` and releases the GIL;
:func:`fastga.evaluation.run_rows` shares the rows out to threads (no
``parallel=True``: that costs 1-2 s of compile time per kernel).
"""

import numpy as np
from numba import njit

from .crossover import copy_row, neuron_row, single_point_row, uniform_row
from .mutation import BLOCK, NORMAL_BLOCK, mutate_row
from .rng import PURPOSE_CROSSOVER, PURPOSE_MUTATION, stream_key

__all__ = ["CROSSOVER_KINDS", "breed"]

#: Crossover codes of :func:`breed` (``none``: children are copies of ``p1``).
CROSSOVER_KINDS = {"neuron": 0, "single_point": 1, "uniform": 2, "none": 3}


@njit(nogil=True, cache=True)
def breed(parents, children, elite_src, p1, p2, seed, generation, kind, sizes, w_offs, b_offs,
          max_crossover, crossover_prob, rate, cum_probs, shift_max, swap_max, sigma, counts,
          lo, hi):
    """Write rows ``lo .. hi-1`` of ``children`` from ``parents``.

    Parameters
    ----------
    parents, children : float32 (P, n_params)
        The two genome buffers (never the same array).
    elite_src : int64 (E,)
        Row ``c < E`` of ``children`` is a copy of ``parents[elite_src[c]]``.
    p1, p2 : int64 (P - E,)
        Row ``c >= E`` is the child of ``parents[p1[c - E]]`` and
        ``parents[p2[c - E]]``.
    seed : uint64
    generation : int
    kind : int
        A value of :data:`CROSSOVER_KINDS`.
    sizes, w_offs, b_offs : int64 arrays of the :class:`~fastga.NetworkSpec`
    max_crossover, crossover_prob : float
        See :func:`fastga.kernels.crossover.crossover_neuron`.
    rate, cum_probs, shift_max, swap_max, sigma
        See :func:`fastga.kernels.mutation.mutate`.
    counts : int64 (P - E,)
        ``counts[c - E]`` gets the number of mutated weights of child ``c``.
    lo, hi : int
        The rows to write.
    """
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
        key = stream_key(seed, generation, c, PURPOSE_CROSSOVER)
        if kind == 0:
            neuron_row(pa, pb, child, key, sizes, w_offs, b_offs, max_crossover, crossover_prob,
                       take)
        elif kind == 1:
            single_point_row(pa, pb, child, key, crossover_prob)
        elif kind == 2:
            uniform_row(pa, pb, child, key, crossover_prob)
        else:
            copy_row(pa, child)
        key = stream_key(seed, generation, c, PURPOSE_MUTATION)
        # Prefetched during the mutation: the next child's rows (none after the last).
        nxt = min(c + 1, hi - 1) - n_elite
        last = c + 1 >= hi
        next_a = parents[p1[nxt]][:0] if last else parents[p1[nxt]]
        next_b = parents[p2[nxt]][:0] if last else parents[p2[nxt]]
        next_c = children[c + 1 - last]
        counts[r] = mutate_row(child, key, rate, cum_probs, shift_max, swap_max, sigma, gaps,
                               kinds, vals, normals, next_a, next_b, next_c)
