"""Batched forward pass of a population of MLPs.

The first layer of every network reads the same inputs ``X``, so for a chunk
of networks it is ONE wide matrix product ``X @ [W1_a | W1_b | ...]``: the
first-layer weights of the chunk are gathered side by side into a panel
(:func:`gather_first_layer`, a memory-bound copy) and multiplied by float32
GEMM, which runs near the machine's peak. Everything after that product (bias,
activation, the remaining small layers, and for fitness the softmax and loss)
is the epilogue, a Numba kernel parallel over networks in which each thread
owns whole networks (:func:`forward_epilogue`).

The kernels take raw arrays and trust them: the Python callers in
:mod:`fastga.population` validate shapes and offsets before any kernel runs.
"""

import numpy as np
from numba import njit, prange

from ..spec import LEAKY_SLOPE

__all__ = ["activate", "dense", "logits", "max_width", "gather_first_layer", "forward_epilogue"]

_LINEAR, _RELU, _LEAKY, _SIGMOID, _TANH, _SOFTMAX = 0, 1, 2, 3, 4, 5
_SLOPE = np.float32(LEAKY_SLOPE)


@njit(cache=True, inline="always")
def activate(v, n, act):
    """Apply activation ``act`` in place to ``v[:n]``."""
    if act == _RELU:
        for j in range(n):
            if v[j] < 0:
                v[j] = 0
    elif act == _LEAKY:
        for j in range(n):
            if v[j] < 0:
                v[j] = v[j] * _SLOPE
    elif act == _SIGMOID:
        for j in range(n):
            v[j] = 1.0 / (1.0 + np.exp(-v[j]))
    elif act == _TANH:
        for j in range(n):
            v[j] = np.tanh(v[j])
    elif act == _SOFTMAX:
        m = v[0]
        for j in range(1, n):
            if v[j] > m:
                m = v[j]
        s = np.float32(0.0)
        for j in range(n):
            v[j] = np.exp(v[j] - m)
            s += v[j]
        inv = np.float32(1.0) / s
        for j in range(n):
            v[j] *= inv


@njit(cache=True, inline="always")
def dense(genome, w_off, b_off, n_in, n_out, a, z):
    """``z[:n_out] = a[:n_in] @ W + b`` for the layer stored at the offsets."""
    for j in range(n_out):
        z[j] = genome[b_off + j]
    for k in range(n_in):
        ak = a[k]
        base = w_off + k * n_out
        for j in range(n_out):
            z[j] += ak * genome[base + j]


@njit(parallel=True, cache=True)
def gather_first_layer(genomes, rows, w_off, n_in, n_out, panel):
    """Copy the first-layer weights of ``genomes[rows]`` side by side.

    ``panel[i, r * n_out + j] = W1[rows[r]][i, j]``; ``panel`` is
    ``(n_in, len(rows) * n_out)``. Thread ``i`` writes row ``i`` only.
    """
    n_rows = rows.shape[0]
    for i in prange(n_in):
        base = w_off + i * n_out
        for r in range(n_rows):
            g = rows[r]
            col = r * n_out
            for j in range(n_out):
                panel[i, col + j] = genomes[g, base + j]


@njit(cache=True, inline="always")
def logits(h_pre, r, b, genome, sizes, w_offs, b_offs, acts, a, z):
    """Pre-activation of the last layer of network ``r`` on sample ``b``.

    ``h_pre[b, r*h1:(r+1)*h1]`` holds ``x_b @ W1`` (no bias yet). ``a`` and
    ``z`` are scratch vectors of the widest layer's size; the one returned
    holds the logits.
    """
    h1 = sizes[1]
    col = r * h1
    b0 = b_offs[0]
    for j in range(h1):
        a[j] = h_pre[b, col + j] + genome[b0 + j]
    for layer in range(1, sizes.shape[0] - 1):
        activate(a, sizes[layer], acts[layer - 1])
        dense(genome, w_offs[layer], b_offs[layer], sizes[layer], sizes[layer + 1], a, z)
        a, z = z, a
    return a


@njit(cache=True)
def max_width(sizes):
    width = 0
    for s in sizes:
        width = max(width, s)
    return width


@njit(parallel=True, cache=True)
def forward_epilogue(h_pre, genomes, rows, sizes, w_offs, b_offs, acts, out):
    """Outputs ``out[r, b, :]`` of networks ``genomes[rows]`` from first-layer products.

    Parameters
    ----------
    h_pre : float32 (B, len(rows) * sizes[1])
        ``X @ panel`` where ``panel`` comes from :func:`gather_first_layer`.
    genomes : float32 (P, n_params)
    rows : int64 (R,)
    sizes, w_offs, b_offs, acts : int64 arrays of the :class:`~fastga.NetworkSpec`
    out : float32 (R, B, n_out)
        Written; thread ``r`` writes ``out[r]`` only.
    """
    n_rows = rows.shape[0]
    n_samples = h_pre.shape[0]
    n_layers = sizes.shape[0] - 1
    n_out = sizes[n_layers]
    width = max_width(sizes)
    for r in prange(n_rows):
        genome = genomes[rows[r]]
        a = np.empty(width, dtype=np.float32)
        z = np.empty(width, dtype=np.float32)
        for b in range(n_samples):
            res = logits(h_pre, r, b, genome, sizes, w_offs, b_offs, acts, a, z)
            activate(res, n_out, acts[n_layers - 1])
            for j in range(n_out):
                out[r, b, j] = res[j]
