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
    ia = pa.view(np.int32)
    ib = pb.view(np.int32)
    ic = child.view(np.int32)
    for layer in range(sizes.shape[0] - 1):
        n_in = sizes[layer]
        n_out = sizes[layer + 1]
        w0 = w_offs[layer]
        b0 = b_offs[layer]
        for j in range(n_out):
            take[j] = -1 if random_uniform(key, ctr + j) < q else 0
        ctr += n_out
        # Bit blend on int32 views, (a & ~m) | (b & m), exact for every float
        # (NaN and inf included) and free of branches and selects; 2-D views
        # keep every inner index a plain loop counter from 0 (no negative-index
        # wrap-around), so the loop vectorises.
        n_w = n_in * n_out
        wa = ia[w0:w0 + n_w].reshape((n_in, n_out))
        wb = ib[w0:w0 + n_w].reshape((n_in, n_out))
        wc = ic[w0:w0 + n_w].reshape((n_in, n_out))
        for i in range(n_in):
            ai = wa[i]
            bi = wb[i]
            ci = wc[i]
            for j in range(n_out):
                m = take[j]
                ci[j] = (ai[j] & ~m) | (bi[j] & m)
        xa = ia[b0:b0 + n_out]
        xb = ib[b0:b0 + n_out]
        xc = ic[b0:b0 + n_out]
        for j in range(n_out):
            m = take[j]
            xc[j] = (xa[j] & ~m) | (xb[j] & m)


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
    xb = pb[split:]  # a view: its index starts at 0 (no wrap-around), the loop vectorises
    xc = child[split:]
    for k in range(n - split):
        xc[k] = xb[k]


@njit(cache=True, inline="always")
def uniform_row(pa, pb, child, key, crossover_prob):
    """Uniform crossover of one child (see :func:`crossover_uniform`)."""
    n = child.shape[0]
    if random_uniform(key, 0) >= crossover_prob:
        copy_row(pa, child)
        return
    one = np.uint64(1)
    ia = pa.view(np.int32)
    ib = pb.view(np.int32)
    ic = child.view(np.int32)
    for blk in range(0, n, 64):
        # Gene blk + k comes from pb if bit k of the block's draw is set: a bit
        # blend on int32 views over a block of 64 (vectorises; exact bits).
        bits = random_u64(key, 1 + blk // 64)
        m_end = min(64, n - blk)
        xa = ia[blk:blk + m_end]
        xb = ib[blk:blk + m_end]
        xc = ic[blk:blk + m_end]
        for k in range(m_end):
            m = -np.int32((bits >> np.uint64(k)) & one)
            xc[k] = (xa[k] & ~m) | (xb[k] & m)


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
