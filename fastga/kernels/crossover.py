"""Crossover kernels: each writes only its own child rows of ``children``.

Parents are read from ``parents`` (the current generation's buffer) and
children written into ``children`` (the other buffer), so reads and writes
never alias. The random draws of child ``c`` come from the stream
``(seed, generation, c, CROSSOVER)``, which makes the result independent of
the thread count.
"""

import numpy as np
from numba import njit, prange

from .rng import PURPOSE_CROSSOVER, random_u64, random_uniform, stream_key

__all__ = ["copy_rows", "crossover_neuron", "crossover_single_point", "crossover_uniform"]


@njit(parallel=True, cache=True)
def copy_rows(src, src_rows, dst, dst_rows):
    """``dst[dst_rows[r]] = src[src_rows[r]]`` for every r (elites)."""
    n = src.shape[1]
    for r in prange(src_rows.shape[0]):
        s = src_rows[r]
        d = dst_rows[r]
        for k in range(n):
            dst[d, k] = src[s, k]


@njit(parallel=True, cache=True)
def crossover_neuron(parents, children, p1, p2, rows, seed, generation, sizes, w_offs, b_offs,
                     max_crossover, crossover_prob):
    """Neuron-wise crossover (the GeneticMLP reference's operator, done right).

    Child ``rows[r]`` starts as a copy of parent ``p1[r]``. With probability
    ``crossover_prob`` it then draws a share ``q ~ U[0, max_crossover)`` and
    every neuron of every layer is, with probability ``q``, taken whole from
    parent ``p2[r]``: its column of incoming weights and its bias.
    """
    n = parents.shape[1]
    for r in prange(rows.shape[0]):
        c = rows[r]
        a = p1[r]
        b = p2[r]
        for k in range(n):
            children[c, k] = parents[a, k]
        key = stream_key(seed, generation, c, PURPOSE_CROSSOVER)
        if random_uniform(key, 0) >= crossover_prob:
            continue
        q = random_uniform(key, 1) * max_crossover
        ctr = 2
        for layer in range(sizes.shape[0] - 1):
            n_in = sizes[layer]
            n_out = sizes[layer + 1]
            w0 = w_offs[layer]
            b0 = b_offs[layer]
            for j in range(n_out):
                u = random_uniform(key, ctr)
                ctr += 1
                if u < q:
                    for i in range(n_in):
                        children[c, w0 + i * n_out + j] = parents[b, w0 + i * n_out + j]
                    children[c, b0 + j] = parents[b, b0 + j]


@njit(parallel=True, cache=True)
def crossover_single_point(parents, children, p1, p2, rows, seed, generation, crossover_prob):
    """Single-point crossover on the flat genome (the GA-GAN reference's operator).

    With probability ``crossover_prob`` the child takes genes ``[0, k)`` from
    ``p1[r]`` and ``[k, n)`` from ``p2[r]`` with ``k`` uniform in ``[1, n)``;
    otherwise it is a copy of ``p1[r]``.
    """
    n = parents.shape[1]
    for r in prange(rows.shape[0]):
        c = rows[r]
        a = p1[r]
        b = p2[r]
        key = stream_key(seed, generation, c, PURPOSE_CROSSOVER)
        split = n
        if n > 1 and random_uniform(key, 0) < crossover_prob:
            split = 1 + np.int64(random_uniform(key, 1) * (n - 1))
            if split >= n:
                split = n - 1
        for k in range(split):
            children[c, k] = parents[a, k]
        for k in range(split, n):
            children[c, k] = parents[b, k]


@njit(parallel=True, cache=True)
def crossover_uniform(parents, children, p1, p2, rows, seed, generation, crossover_prob):
    """Uniform crossover: with probability ``crossover_prob`` each gene comes
    from either parent with probability 1/2 (one random bit per gene)."""
    n = parents.shape[1]
    one = np.uint64(1)
    for r in prange(rows.shape[0]):
        c = rows[r]
        a = p1[r]
        b = p2[r]
        key = stream_key(seed, generation, c, PURPOSE_CROSSOVER)
        if random_uniform(key, 0) >= crossover_prob:
            for k in range(n):
                children[c, k] = parents[a, k]
            continue
        bits = np.uint64(0)
        for k in range(n):
            if k % 64 == 0:
                bits = random_u64(key, 1 + k // 64)
            if bits & one:
                children[c, k] = parents[b, k]
            else:
                children[c, k] = parents[a, k]
            bits >>= one
