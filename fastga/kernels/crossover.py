"""Crossover of one child: row functions of the breeding kernel.

Each ``*_row`` function writes one child row from two parent rows (the
parents' buffer and the children's are different arrays, so reads and
writes never alias), every gene exactly once, drawing from the child's
stream ``key`` (``(seed, generation, child, CROSSOVER)``), which makes the
result independent of the thread count. The GA's fused breeding kernel
:func:`fastga.kernels.breed.breed` calls them; ``tests/kernel_drivers.py``
runs each over many rows to test it against its NumPy reference.
"""

import numpy as np
from numba import njit

from .bits import bit_blend
from .rng import random_u64, random_uniform

__all__ = ["copy_row", "neuron_row", "single_point_row", "uniform_row"]


@njit(cache=True)
def copy_row(src, dst):
    """``dst[:] = src``."""
    for k in range(dst.shape[0]):
        dst[k] = src[k]


@njit(cache=True, inline="always")
def neuron_row(pa, pb, child, key, sizes, w_offs, b_offs, max_crossover, crossover_prob, take):
    """Neuron-wise crossover of one child.

    With probability ``crossover_prob`` the child draws a share ``q ~
    U[0, max_crossover)`` and takes every neuron of every layer (its column
    of incoming weights and its bias) from ``pb`` with probability ``q``,
    else from ``pa``; otherwise it is a copy of ``pa``.

    Draw 0 decides whether to cross, draw 1 gives ``q``, then one draw per
    neuron, layer by layer; each layer's choices are drawn first, then the
    layer's weights and biases are written once, each from its parent.
    ``take`` is int32 scratch of at least the widest layer (bit masks).
    """
    if random_uniform(key, 0) >= crossover_prob:
        copy_row(pa, child)
        return
    q = random_uniform(key, 1) * max_crossover
    ctr = 2
    for layer in range(sizes.shape[0] - 1):
        n_in = sizes[layer]
        n_out = sizes[layer + 1]
        for j in range(n_out):
            take[j] = -1 if random_uniform(key, ctr + j) < q else 0
        ctr += n_out
        # A bit blend (exact for every float, NaN and inf included, free of
        # branches and selects). Unsigned flat indices: no negative-index
        # wrap-around, so the inner loops vectorise, with no views or reshapes
        # (their code costs compile time).
        w0 = np.uint64(w_offs[layer])
        for i in range(n_in):
            base = w0 + np.uint64(i * n_out)
            for j in range(n_out):
                k = base + np.uint64(j)
                child[k] = bit_blend(pa[k], pb[k], take[j])
        b0 = np.uint64(b_offs[layer])
        for j in range(n_out):
            k = b0 + np.uint64(j)
            child[k] = bit_blend(pa[k], pb[k], take[j])


@njit(cache=True, inline="always")
def single_point_row(pa, pb, child, key, crossover_prob):
    """Single-point crossover of one child: with probability ``crossover_prob``
    genes ``[0, k)`` from ``pa`` and ``[k, n)`` from ``pb``, ``k`` uniform in
    ``[1, n)``; otherwise a copy of ``pa``."""
    n = child.shape[0]
    split = n
    if n > 1 and random_uniform(key, 0) < crossover_prob:
        split = 1 + np.int64(random_uniform(key, 1) * (n - 1))
        if split >= n:
            split = n - 1
    for k in range(split):
        child[k] = pa[k]
    for k in range(split, n):
        p = np.uint64(k)  # unsigned: no wrap-around, the loop vectorises
        child[p] = pb[p]


@njit(cache=True, inline="always")
def uniform_row(pa, pb, child, key, crossover_prob):
    """Uniform crossover of one child: with probability ``crossover_prob`` each
    gene from either parent with probability 1/2 (one random bit per gene);
    otherwise a copy of ``pa``."""
    n = child.shape[0]
    if random_uniform(key, 0) >= crossover_prob:
        copy_row(pa, child)
        return
    one = np.uint64(1)
    for blk in range(0, n, 64):
        # Gene blk + k comes from pb if bit k of the block's draw is set: a bit
        # blend over a block of 64 (vectorises; exact bits).
        bits = random_u64(key, 1 + blk // 64)
        m_end = min(64, n - blk)
        b = np.uint64(blk)
        for k in range(m_end):
            m = np.int32(-np.int64((bits >> np.uint64(k)) & one))
            p = b + np.uint64(k)
            child[p] = bit_blend(pa[p], pb[p], m)
