"""Evolution-strategy kernels: sample a generation, and the update's weighted sums.

The noise is never stored. Direction ``d`` of generation ``g`` is the
vector ``z_d`` of standard normals of stream ``(seed, g, d, ES_NOISE)``;
its parameters ``2j`` and ``2j + 1`` come from one 64-bit draw ``b =
random_u64(key, j)`` by float32 Box-Muller: ``r = sqrt(-2 log32(1 - (b >>
40) / 2**24))``, ``c = b & 0xFFFFFF``, ``z[2j] = r * cos2pi32(c / 2**24)``
and ``z[2j+1] = r * cos2pi32(((c - 2**22) mod 2**24) / 2**24)`` (the sine).
These are the normals of :mod:`fastga.kernels.mutation`, free of branches,
so the loops over parameters vectorise; ``tests/naive_es.py`` restates them
in NumPy bit for bit. ``|z| < 5.8`` (24-bit uniforms).

:func:`sample` writes the rows (each row is written by one thread, once);
:func:`weighted_sums` regenerates the same noise and sums it over the
directions, split over *parameter columns*, so every column's sum is taken in
the order ``d = 0, 1, ...`` whatever the thread count: results are
bit-identical for any number of threads. Both release the GIL and are run
by :func:`fastga.evaluation.run_rows`.
"""

import numpy as np
from numba import njit

from ..registry import Purpose
from .rng import cos2pi32, log32, random_u64, stream_key

__all__ = ["sample", "weighted_sums"]

_S40 = np.uint64(40)
_M24 = np.uint64(0xFFFFFF)
_M24_32 = np.int32(0xFFFFFF)
_QUARTER_TURN = np.int32(1 << 22)
_INV24_32 = np.float32(1.0 / 16777216.0)
_ONE32 = np.float32(1.0)
_MINUS_TWO32 = np.float32(-2.0)


@njit(cache=True, inline="always")
def _normal_pair(key, j):
    """The standard normals ``z[2j]`` and ``z[2j+1]`` of direction ``key`` (float32)."""
    b = random_u64(key, np.uint64(j))
    r = np.sqrt(_MINUS_TWO32 * log32(_ONE32 - np.float32(np.int32(b >> _S40)) * _INV24_32))
    c = np.int32(b & _M24)
    s = (c - _QUARTER_TURN) & _M24_32
    return (r * cos2pi32(np.float32(c) * _INV24_32),
            r * cos2pi32(np.float32(s) * _INV24_32))


@njit(nogil=True, cache=True)
def sample(genomes, mean, scale, seed, generation, antithetic, lo, hi):
    """Rows ``lo .. hi-1`` of ``genomes``: ``mean + scale * z`` (float32).

    Row ``i`` uses direction ``d = i`` or, if ``antithetic``, ``d = i // 2``
    with the sign ``-`` for odd ``i`` (``mean - scale * z_d``: exact mirror
    images).

    Parameters
    ----------
    genomes : float32 (P, n)
    mean, scale : float32 (n,)
        The center and the per-parameter standard deviation.
    seed : uint64
    generation : int
    antithetic : bool
    lo, hi : int
    """
    n = genomes.shape[1]
    n_pairs = n // 2
    for i in range(lo, hi):
        d = i // 2 if antithetic else i
        minus = antithetic and (i % 2 == 1)
        key = stream_key(seed, generation, d, Purpose.ES_NOISE)
        row = genomes[i]
        if minus:
            for j in range(n_pairs):
                z0, z1 = _normal_pair(key, j)
                k = 2 * j
                row[k] = mean[k] - scale[k] * z0
                row[k + 1] = mean[k + 1] - scale[k + 1] * z1
        else:
            for j in range(n_pairs):
                z0, z1 = _normal_pair(key, j)
                k = 2 * j
                row[k] = mean[k] + scale[k] * z0
                row[k + 1] = mean[k + 1] + scale[k + 1] * z1
        if n % 2 == 1:
            z0, z1 = _normal_pair(key, n_pairs)
            v = scale[n - 1] * z0
            row[n - 1] = mean[n - 1] - v if minus else mean[n - 1] + v


@njit(nogil=True, cache=True)
def weighted_sums(a, b, seed, generation, s1, s2, lo, hi):
    """Columns of ``s1 = sum_d a[d] z_d`` and ``s2 = sum_d b[d] z_d**2`` (float64
    arithmetic on the float32 normals).

    Writes the parameters ``2 lo .. 2 hi - 1`` (those below ``n =
    len(s1)``): ``lo, hi`` count pairs of parameters, the unit of a draw.
    The sums run over the directions ``d = 0 .. len(a) - 1`` in order.
    ``b`` of length 0 skips ``s2`` (which may then be empty too).
    """
    n = s1.shape[0]
    k0 = 2 * lo
    k1 = min(2 * hi, n)
    for k in range(k0, k1):
        s1[k] = 0.0
    second = b.shape[0] > 0
    if second:
        for k in range(k0, k1):
            s2[k] = 0.0
    full = min(hi, n // 2)  # pairs with both parameters inside the vector
    for d in range(a.shape[0]):
        key = stream_key(seed, generation, d, Purpose.ES_NOISE)
        ad = a[d]
        if second:
            bd = b[d]
            for j in range(lo, full):
                z0, z1 = _normal_pair(key, j)
                k = 2 * j
                s1[k] += ad * z0
                s1[k + 1] += ad * z1
                s2[k] += bd * (np.float64(z0) * z0)
                s2[k + 1] += bd * (np.float64(z1) * z1)
        else:
            for j in range(lo, full):
                z0, z1 = _normal_pair(key, j)
                k = 2 * j
                s1[k] += ad * z0
                s1[k + 1] += ad * z1
        if full < hi and n % 2 == 1:  # the last, unpaired parameter
            z0, z1 = _normal_pair(key, n // 2)
            s1[n - 1] += ad * z0
            if second:
                s2[n - 1] += b[d] * (np.float64(z0) * z0)
