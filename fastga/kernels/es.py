"""Evolution-strategy kernels: sample a generation, and the update's weighted sums.

The noise is never stored. Direction ``d`` of generation ``g`` is the
vector ``z_d`` of standard normals of stream ``(seed, g, d, ES_NOISE)``;
its parameters ``2j`` and ``2j + 1`` come from one 64-bit draw ``b =
random_u64(key, j)`` by float32 Box-Muller: ``r = sqrt(-2 log32(1 - (b >>
40) / 2**24))``, ``c = b & 0xFFFFFF``, ``z[2j] = r * cos2pi32(c / 2**24)``
and ``z[2j+1] = r * cos2pi32(((c - 2**22) mod 2**24) / 2**24)`` (the sine).
This is the construction of the gaussian mutations of
:mod:`fastga.kernels.mutation` (other counters), free of branches, so the
loops over parameters vectorise; ``tests/naive_es.py`` restates it in NumPy
bit for bit. ``|z| < 5.8`` (24-bit uniforms).

:func:`sample` writes the rows (each row by one thread, once), a block of
normals at a time; :func:`weighted_sums` regenerates the same noise and sums
it over the directions, split over blocks of :data:`BLOCK` *parameter
columns*, so every column's sum is taken in the order ``d = 0, 1, ...``
whatever the thread count: results are bit-identical for any number of
threads. Both release the GIL and are run by
:func:`fastga.evaluation.run_rows`.
"""

import numpy as np
from numba import njit

from ..registry import Purpose
from .rng import cos2pi32, log32, random_u64, stream_key

__all__ = ["BLOCK", "sample", "weighted_sums"]

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


#: Parameters per block of the weighted sums (scratch of a few KiB, in L1).
BLOCK = 512


@njit(cache=True, inline="always")
def _fill_normals(key, j0, z):
    """``z[:] =`` the normals ``2 j0 .. 2 j0 + len(z) - 1`` of direction ``key`` (even length)."""
    for t in range(z.shape[0] // 2):
        z0, z1 = _normal_pair(key, j0 + t)
        z[2 * t] = z0
        z[2 * t + 1] = z1


@njit(nogil=True, cache=True)
def sample(genomes, mean, scale, seed, generation, antithetic, lo, hi):
    """The rows of directions ``lo .. hi-1``: ``mean + scale * z`` (float32).

    Without ``antithetic`` direction ``d`` is row ``d``; with it, direction
    ``d`` is rows ``2d`` (``mean + scale * z_d``) and ``2d + 1`` (``mean -
    scale * z_d``, the exact mirror image), drawn once for both.

    Parameters
    ----------
    genomes : float32 (P, n)
    mean, scale : float32 (n,)
        The center and the per-parameter standard deviation.
    seed : uint64
    generation : int
    antithetic : bool
    lo, hi : int
        Directions (``P // 2`` of them with ``antithetic``, else ``P``).
    """
    n = genomes.shape[1]
    z = np.empty(BLOCK, dtype=np.float32)
    for d in range(lo, hi):
        key = stream_key(seed, generation, d, Purpose.ES_NOISE)
        plus = genomes[2 * d] if antithetic else genomes[d]
        minus = genomes[2 * d + 1] if antithetic else genomes[d]
        for k0 in range(0, n, BLOCK):
            m = min(BLOCK, n - k0)
            zb = z[: m + (m % 2)]
            _fill_normals(key, k0 // 2, zb)
            if antithetic:
                for t in range(m):
                    v = scale[k0 + t] * zb[t]
                    plus[k0 + t] = mean[k0 + t] + v
                    minus[k0 + t] = mean[k0 + t] - v
            else:
                for t in range(m):
                    plus[k0 + t] = mean[k0 + t] + scale[k0 + t] * zb[t]


@njit(nogil=True, cache=True)
def weighted_sums(a, b, seed, generation, s1, s2, lo, hi):
    """Blocks ``lo .. hi-1`` of ``s1 = sum_d a[d] z_d`` and ``s2 = sum_d b[d] z_d**2``.

    Block ``c`` is the parameters ``c * BLOCK .. (c + 1) * BLOCK - 1`` (those
    below ``n = len(s1)``); float64 sums of the float32 normals, over the
    directions ``d = 0 .. len(a) - 1`` in order. ``b`` of length 0 skips
    ``s2`` (which may then be empty too).
    """
    n = s1.shape[0]
    second = b.shape[0] > 0
    z = np.empty(BLOCK, dtype=np.float32)
    acc1 = np.empty(BLOCK, dtype=np.float64)
    acc2 = np.empty(BLOCK, dtype=np.float64)
    for c in range(lo, hi):
        k0 = c * BLOCK
        m = min(BLOCK, n - k0)
        zb = z[: m + (m % 2)]
        acc1[:] = 0.0
        acc2[:] = 0.0
        for d in range(a.shape[0]):
            key = stream_key(seed, generation, d, Purpose.ES_NOISE)
            _fill_normals(key, k0 // 2, zb)
            ad = a[d]
            for t in range(m):
                acc1[t] += ad * np.float64(zb[t])
            if second:
                bd = b[d]
                for t in range(m):
                    zt = np.float64(zb[t])
                    acc2[t] += bd * (zt * zt)
        for t in range(m):
            s1[k0 + t] = acc1[t]
        if second:
            for t in range(m):
                s2[k0 + t] = acc2[t]
