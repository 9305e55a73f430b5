"""Crossover kernels: each writes only its own child rows of ``children``.

Parents are read from ``parents`` (the current generation's buffer) and
children written into ``children`` (the other buffer), so reads and writes
never alias. The random draws of child ``c`` come from the stream
``(seed, generation, c, CROSSOVER)``, which makes the result independent of
the thread count.

The work on one child is a row function (``*_row``), shared by the kernels
here (one operator over many rows, used by the tests and benchmarks) and by
the GA's fused breeding kernel :func:`fastga.kernels.breed.breed`. Each row
function writes every gene of the child exactly once.
"""

import numpy as np
from numba import njit, prange

from .intrinsics import bit_blend
from .rng import PURPOSE_CROSSOVER, random_u64, random_uniform, stream_key

__all__ = ["copy_rows", "crossover_neuron", "crossover_single_point", "crossover_uniform",
           "copy_row", "neuron_row", "single_point_row", "uniform_row"]


@njit(cache=True)
def copy_row(src, dst):
    """``dst[:] = src``."""
    for k in range(dst.shape[0]):
        dst[k] = src[k]


@njit(cache=True, inline="always")
def neuron_row(pa, pb, child, key, sizes, w_offs, b_offs, max_crossover, crossover_prob, take):
    """Neuron-wise crossover of one child (see :func:`crossover_neuron`).

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
    """Single-point crossover of one child (see :func:`crossover_single_point`)."""
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
    """Uniform crossover of one child (see :func:`crossover_uniform`)."""
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


@njit(parallel=True, cache=True)
def copy_rows(src, src_rows, dst, dst_rows):
    """``dst[dst_rows[r]] = src[src_rows[r]]`` for every r (elites)."""
    for r in prange(src_rows.shape[0]):
        copy_row(src[src_rows[r]], dst[dst_rows[r]])


@njit(parallel=True, cache=True)
def crossover_neuron(parents, children, p1, p2, rows, seed, generation, sizes, w_offs, b_offs,
                     max_crossover, crossover_prob):
    """Neuron-wise crossover (the GeneticMLP reference's operator, done right).

    Child ``rows[r]`` is a copy of parent ``p1[r]``, except that with
    probability ``crossover_prob`` it draws a share ``q ~ U[0, max_crossover)``
    and every neuron of every layer is, with probability ``q``, taken whole
    from parent ``p2[r]``: its column of incoming weights and its bias.
    """
    width = 1
    for s in sizes:
        width = max(width, s)
    for i in prange(rows.shape[0]):
        r = np.int64(i)
        c = rows[r]
        take = np.empty(width, dtype=np.int32)
        key = stream_key(seed, generation, c, PURPOSE_CROSSOVER)
        neuron_row(parents[p1[r]], parents[p2[r]], children[c], key, sizes, w_offs, b_offs,
                   max_crossover, crossover_prob, take)


@njit(parallel=True, cache=True)
def crossover_single_point(parents, children, p1, p2, rows, seed, generation, crossover_prob):
    """Single-point crossover on the flat genome (the GA-GAN reference's operator).

    With probability ``crossover_prob`` the child takes genes ``[0, k)`` from
    ``p1[r]`` and ``[k, n)`` from ``p2[r]`` with ``k`` uniform in ``[1, n)``;
    otherwise it is a copy of ``p1[r]``.
    """
    for i in prange(rows.shape[0]):
        r = np.int64(i)
        c = rows[r]
        key = stream_key(seed, generation, c, PURPOSE_CROSSOVER)
        single_point_row(parents[p1[r]], parents[p2[r]], children[c], key, crossover_prob)


@njit(parallel=True, cache=True)
def crossover_uniform(parents, children, p1, p2, rows, seed, generation, crossover_prob):
    """Uniform crossover: with probability ``crossover_prob`` each gene comes
    from either parent with probability 1/2 (one random bit per gene)."""
    for i in prange(rows.shape[0]):
        r = np.int64(i)
        c = rows[r]
        key = stream_key(seed, generation, c, PURPOSE_CROSSOVER)
        uniform_row(parents[p1[r]], parents[p2[r]], children[c], key, crossover_prob)
