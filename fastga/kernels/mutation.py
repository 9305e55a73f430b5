"""Mutation kernels, in place on the children's rows.

Only the mutated positions are drawn: the gap to the next mutated weight is
geometric, ``floor(log(U) / log(1 - rate))``, so a generation costs about
``rate * n_params`` draws per child rather than one per weight.

Mutation types (chosen per mutated weight by ``cum_probs``, the cumulative
``type_probs``):

0. shift: ``w *= U[0, shift_max)`` (the GeneticMLP reference's "shift");
1. sign: ``w = -w``;
2. swap: ``w = U[-swap_max, swap_max)``;
3. gaussian: ``w += N(0, sigma)``.
"""

import numpy as np
from numba import njit, prange

from .rng import PURPOSE_MUTATION, random_normal, random_uniform, stream_key

__all__ = ["mutate", "mutate_row"]


@njit(cache=True)
def mutate_row(row, key, rate, cum_probs, shift_max, swap_max, sigma):
    """Mutate one genome ``row`` in place from stream ``key``; returns the number
    of mutated weights (see :func:`mutate`)."""
    n = row.shape[0]
    if rate <= 0.0:
        return 0
    log_keep = np.log1p(-rate) if rate < 1.0 else 0.0
    c0 = cum_probs[0]
    c1 = cum_probs[1]
    c2 = cum_probs[2]
    count = 0
    ctr = 0
    pos = -1
    while True:
        if rate >= 1.0:
            pos += 1
        else:
            u = 1.0 - random_uniform(key, ctr)  # (0, 1]
            ctr += 1
            gap = np.floor(np.log(u) / log_keep)
            if gap >= n - pos - 1:
                break
            pos += np.int64(gap) + 1
        if pos >= n:
            break
        # Draw ``ctr`` picks the type; shift and swap read draw ``ctr + 1``,
        # gaussian draws ``ctr + 1`` and ``ctr + 2``, sign reads none. The
        # shift/sign/swap choice is made with selects, not branches: the
        # type is random, so branches would be mispredicted often.
        t = random_uniform(key, ctr)
        v = random_uniform(key, ctr + 1)
        w = row[pos]
        if t < c2:
            w_shift = w * np.float32(v * shift_max)
            w_swap = np.float32((2.0 * v - 1.0) * swap_max)
            w_other = -w if t < c1 else w_swap
            w = w_shift if t < c0 else w_other
            ctr += 1 if (t >= c0 and t < c1) else 2
        else:
            w = w + np.float32(sigma * random_normal(key, ctr + 1))
            ctr += 3
        row[pos] = w
        count += 1
    return count


@njit(parallel=True, cache=True)
def mutate(genomes, rows, seed, generation, rate, cum_probs, shift_max, swap_max, sigma, counts):
    """Mutate ``genomes[rows]`` in place; ``counts[r]`` gets the number of mutated weights.

    Row ``rows[r]`` draws from the stream ``(seed, generation, rows[r], MUTATION)``.
    ``rate`` must lie in [0, 1]; ``cum_probs`` is a float64 array of 4
    non-decreasing values ending at 1.
    """
    for i in prange(rows.shape[0]):
        r = np.int64(i)
        g = rows[r]
        key = stream_key(seed, generation, g, PURPOSE_MUTATION)
        counts[r] = mutate_row(genomes[g], key, rate, cum_probs, shift_max, swap_max, sigma)
