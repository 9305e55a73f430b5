"""Evolution-strategy kernels: sample a generation, and the update's weighted sums.

The noise is never stored. Direction ``d`` of generation ``g`` is the
vector ``z_d`` of standard normals of stream ``(seed, g, d, ES_NOISE)``.
Parameters come in blocks of :data:`BLOCK`; in block ``c``, parameters
``t``, ``t + Q``, ``t + 2Q`` and ``t + 3Q`` (``Q = BLOCK / 4``, ``t < Q``)
are four normals made from the two 64-bit draws ``b0, b1 = random_u64(key,
2J), random_u64(key, 2J + 1)``, ``J = c Q + t``, all in float32:

- ``u0 = 1 - (b0 >> 40) / 2**24`` and ``u1`` (of ``b1``), in (0, 1], give
  ``R**2 = -2 log32(u0 u1)``, a chi-square of 4 degrees of freedom;
- a 24-bit uniform ``v`` (bits 24..39 of ``b0``, 32..39 of ``b1``) splits it
  into two independent chi-squares of 2: ``ra = sqrt(v R**2)``, ``rb =
  sqrt((1 - v) R**2)``;
- the low 24 bits of ``b0`` and ``b1`` are two angles ``a``, ``b`` (in
  turns), and the normals are ``ra cos a, ra sin a, rb cos b, rb sin b``
  (Box-Muller, one logarithm for four normals); :func:`_sincos` reduces
  each angle to the nearest quarter turn and evaluates Cephes' ``sinf`` and
  ``cosf`` polynomials on [-pi/4, pi/4].

Branch-free, with four contiguous stores per pair of draws, the loop
vectorises (with 512-bit registers where the CPU has them, see
:func:`_wide_vectors`); ``tests/naive_es.py`` restates it in NumPy bit for
bit. ``|z| < 8.2`` (24-bit uniforms).

:func:`sample` writes the rows (each row by one thread, once), a block of
normals at a time; :func:`weighted_sums` regenerates the same noise and sums
it over the directions, split over blocks of :data:`BLOCK` *parameter
columns*, so every column's sum is taken in the order ``d = 0, 1, ...``
whatever the thread count: results are bit-identical for any number of
threads. Both release the GIL and are run by
:func:`fastga.evaluation.run_rows`.
"""

import numpy as np
from numba import njit, types
from numba.extending import intrinsic

from ..registry import Purpose
from .rng import log32, random_u64, stream_key

__all__ = ["BLOCK", "CHUNK", "sample", "sample_totals", "weighted_sums"]

_S40 = np.uint64(40)
_S32 = np.uint64(32)
_S16 = np.uint64(16)
_M16_8 = np.uint64(0xFFFF00)
_M8 = np.uint64(0xFF)
_M24 = np.uint64(0xFFFFFF)
_INV24_32 = np.float32(1.0 / 16777216.0)
_ONE32 = np.float32(1.0)
_HALF32 = np.float32(0.5)
_MINUS_TWO32 = np.float32(-2.0)
_EIGHTH_TURN = np.int32(1 << 21)
_S22 = np.int32(22)
_TURN_24 = np.float32(2.0 * np.pi / 16777216.0)  # radians per 2**-24 turn
# Cephes' sinf and cosf polynomials on [-pi/4, pi/4].
_SN0, _SN1, _SN2 = (np.float32(-1.9515295891e-4), np.float32(8.3321608736e-3),
                    np.float32(-1.6666654611e-1))
_CS0, _CS1, _CS2 = (np.float32(2.443315711809948e-5), np.float32(-1.388731625493765e-3),
                    np.float32(4.166664568298827e-2))


@njit(cache=True, inline="always")
def _sincos(c):
    """``(cos, sin)`` of the angle ``c * 2**-24`` turns (``c`` an int32 in [0, 2**24))."""
    k = (c + _EIGHTH_TURN) >> _S22              # nearest quarter turn, 0 .. 4
    x = np.float32(c - (k << _S22)) * _TURN_24  # the rest, in [-pi/4, pi/4] radians
    z = x * x
    cs = ((_CS0 * z + _CS1) * z + _CS2) * z * z - _HALF32 * z + _ONE32
    sn = ((_SN0 * z + _SN1) * z + _SN2) * z * x + x
    odd = (k & np.int32(1)) != 0                # a quarter turn swaps cos and sin
    p = sn if odd else cs
    q = cs if odd else sn
    p = -p if ((k + np.int32(1)) & np.int32(2)) != 0 else p  # cos < 0 in quarters 1, 2
    q = -q if (k & np.int32(2)) != 0 else q                  # sin < 0 in quarters 2, 3
    return p, q


#: Parameters per block of the weighted sums (scratch of a few KiB, in L1).
BLOCK = 512
QUARTER = BLOCK // 4


@njit(cache=True, inline="always")
def _fill_normals(key, c, h, z):
    """``z[t + i * QUARTER]`` for ``t < h`` and ``i = 0 .. 3``: the four normals
    of draws ``2 J`` and ``2 J + 1``, ``J = c * QUARTER + t``, of direction
    ``key`` (block ``c``; ``len(z) == BLOCK``).

    Four contiguous stores per pair of draws (no interleaving), so the loop
    vectorises.
    """
    j0 = 2 * c * QUARTER
    for t in range(h):
        b0 = random_u64(key, np.uint64(j0 + 2 * t))
        b1 = random_u64(key, np.uint64(j0 + 2 * t + 1))
        u0 = _ONE32 - np.float32(np.int32(b0 >> _S40)) * _INV24_32  # (0, 1]
        u1 = _ONE32 - np.float32(np.int32(b1 >> _S40)) * _INV24_32
        r2 = _MINUS_TWO32 * log32(u0 * u1)                            # chi-square, 4 dof
        v = np.float32(np.int32(((b0 >> _S16) & _M16_8) | ((b1 >> _S32) & _M8))) * _INV24_32
        ra = np.sqrt(v * r2)                                          # chi, 2 dof each,
        rb = np.sqrt((_ONE32 - v) * r2)                               # independent
        p, q = _sincos(np.int32(b0 & _M24))
        p2, q2 = _sincos(np.int32(b1 & _M24))
        z[t] = ra * p
        z[QUARTER + t] = ra * q
        z[2 * QUARTER + t] = rb * p2
        z[3 * QUARTER + t] = rb * q2


@intrinsic
def _wide_vectors(typingctx):
    """Let LLVM vectorise the calling kernel with 512-bit registers where the
    CPU has them (the function attribute ``prefer-vector-width``; by default
    LLVM prefers 256 bits on AVX-512 CPUs). The results do not change: the
    same float32 operations, more lanes at a time."""
    def codegen(context, builder, signature, args):
        # llvmlite accepts only the attributes it knows: add the string attribute as is
        set.add(builder.function.attributes, '"prefer-vector-width"="512"')
        return context.get_dummy_value()

    return types.none(), codegen


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
    _wide_vectors()
    n = genomes.shape[1]
    z = np.empty(BLOCK, dtype=np.float32)
    for d in range(lo, hi):
        key = stream_key(seed, generation, d, Purpose.ES_NOISE)
        i = 2 * d if antithetic else d
        for k0 in range(0, n, BLOCK):
            m = min(BLOCK, n - k0)
            _fill_normals(key, k0 // BLOCK, min(QUARTER, m), z)
            _write(genomes[i, k0:k0 + m], mean[k0:k0 + m], scale[k0:k0 + m], z, False)
            if antithetic:
                _write(genomes[i + 1, k0:k0 + m], mean[k0:k0 + m], scale[k0:k0 + m], z, True)


@njit(cache=True, inline="always")
def _write(out, mean, scale, z, minus):
    """``out[:] = mean + scale * z`` (or ``mean - scale * z``), ``len(out)`` of them."""
    if minus:
        for t in range(out.shape[0]):
            out[t] = mean[t] - scale[t] * z[t]
    else:
        for t in range(out.shape[0]):
            out[t] = mean[t] + scale[t] * z[t]


@njit(cache=True, inline="always")
def _accumulate(acc1, acc2, a, b, d0, z, k, m, second):
    """Add directions ``d0 .. d0 + k - 1`` (normals ``z[0 .. k-1]``) to the
    float32 sums of the first ``m`` parameters, in that order: ``acc1 +=
    a[d] z_d``, ``acc2 += b[d] z_d**2``. One pass over the sums for ``k``
    directions (the order of the additions is that of ``k = 1``)."""
    if k == 4:
        a0, a1 = np.float32(a[d0]), np.float32(a[d0 + 1])
        a2, a3 = np.float32(a[d0 + 2]), np.float32(a[d0 + 3])
        for t in range(m):
            acc1[t] = (((acc1[t] + a0 * z[0, t]) + a1 * z[1, t]) + a2 * z[2, t]) + a3 * z[3, t]
        if second:
            b0, b1 = np.float32(b[d0]), np.float32(b[d0 + 1])
            b2, b3 = np.float32(b[d0 + 2]), np.float32(b[d0 + 3])
            for t in range(m):
                y0, y1, y2, y3 = z[0, t], z[1, t], z[2, t], z[3, t]
                acc2[t] = (((acc2[t] + b0 * (y0 * y0)) + b1 * (y1 * y1))
                           + b2 * (y2 * y2)) + b3 * (y3 * y3)
    else:
        for i in range(k):
            ad = np.float32(a[d0 + i])
            for t in range(m):
                acc1[t] += ad * z[i, t]
            if second:
                bd = np.float32(b[d0 + i])
                for t in range(m):
                    y = z[i, t]
                    acc2[t] += bd * (y * y)


@njit(nogil=True, cache=True)
def weighted_sums(a, b, seed, generation, s1, s2, lo, hi):
    """Blocks ``lo .. hi-1`` of ``s1 = sum_d a[d] z_d`` and ``s2 = sum_d b[d] z_d**2``.

    Block ``c`` is the parameters ``c * BLOCK .. (c + 1) * BLOCK - 1`` (those
    below ``n = len(s1)``); float32 sums (``a[d]`` and ``b[d]`` rounded to
    float32, ``s = s + a[d] * z_d`` and ``s = s + b[d] * (z_d * z_d)``), over
    the directions ``d = 0 .. len(a) - 1`` in order, stored in the float64
    ``s1``, ``s2``. ``b`` of length 0 skips ``s2`` (which may then be empty
    too).

    Directions whose coefficients are both 0 in float32 are not generated:
    adding ``0 * z`` leaves a sum that starts at ``+0`` unchanged bit for bit
    (such a sum is never ``-0``), so skipping them gives the same bits.
    """
    _wide_vectors()
    n = s1.shape[0]
    second = b.shape[0] > 0
    live = np.empty(a.shape[0], dtype=np.int64)
    n_dirs = 0
    for d in range(a.shape[0]):
        if np.float32(a[d]) != 0 or (second and np.float32(b[d]) != 0):
            live[n_dirs] = d
            n_dirs += 1
    al = np.empty(n_dirs, dtype=np.float64)
    bl = np.empty(n_dirs if second else 0, dtype=np.float64)
    for i in range(n_dirs):
        al[i] = a[live[i]]
        if second:
            bl[i] = b[live[i]]
    z = np.empty((4, BLOCK), dtype=np.float32)
    acc1 = np.empty(BLOCK, dtype=np.float32)
    acc2 = np.empty(BLOCK, dtype=np.float32)
    for c in range(lo, hi):
        k0 = c * BLOCK
        m = min(BLOCK, n - k0)
        h = min(QUARTER, m)
        acc1[:] = 0.0
        acc2[:] = 0.0
        for d0 in range(0, n_dirs, 4):  # four directions per pass over the sums
            k = min(4, n_dirs - d0)
            for i in range(k):
                key = stream_key(seed, generation, live[d0 + i], Purpose.ES_NOISE)
                _fill_normals(key, c, h, z[i])
            _accumulate(acc1, acc2, al, bl, d0, z, k, m, second)
        for t in range(m):
            s1[k0 + t] = acc1[t]
        if second:
            for t in range(m):
                s2[k0 + t] = acc2[t]


#: Directions per chunk of :func:`sample_totals` (the totals' partial sums).
CHUNK = 16


@njit(nogil=True, cache=True)
def sample_totals(genomes, mean, scale, seed, generation, part1, part2, lo, hi):
    """Chunks ``lo .. hi-1`` of the rows, as :func:`sample` writes them (not
    mirrored: direction ``d`` is row ``d``), and the chunks' partial totals of
    the noise.

    Chunk ``k`` is the directions ``k * CHUNK .. (k + 1) * CHUNK - 1`` (those
    below ``P = len(genomes)``); ``part1[k] = sum_d z_d`` and ``part2[k] =
    sum_d z_d**2`` over them, float32 sums in the order ``d = k * CHUNK, ...``.
    The totals are the chunks' partial sums added in chunk order
    (:func:`fastga.es.base.EvolutionStrategy._noise_totals`), so their bits do
    not depend on the thread count. They let an update whose coefficients
    share one value ``v`` over many directions regenerate only the others:
    ``sum_d a[d] z_d = sum_d (a[d] - v) z_d + v sum_d z_d``.

    A chunk is written a column block at a time (``CHUNK`` rows of
    :data:`BLOCK` parameters), four directions per pass over the block's sums
    (as in :func:`weighted_sums`, with coefficients 1: the same bits as adding
    one direction at a time), which stay in L1.
    """
    _wide_vectors()
    P, n = genomes.shape
    z = np.empty((4, BLOCK), dtype=np.float32)
    acc1 = np.empty(BLOCK, dtype=np.float32)
    acc2 = np.empty(BLOCK, dtype=np.float32)
    ones = np.ones(4, dtype=np.float64)
    keys = np.empty(CHUNK, dtype=np.uint64)
    for k in range(lo, hi):
        d0 = k * CHUNK
        d1 = min(d0 + CHUNK, P)
        for d in range(d0, d1):
            keys[d - d0] = stream_key(seed, generation, d, Purpose.ES_NOISE)
        for k0 in range(0, n, BLOCK):
            m = min(BLOCK, n - k0)
            acc1[:] = 0.0
            acc2[:] = 0.0
            for e0 in range(d0, d1, 4):
                j = min(4, d1 - e0)
                for i in range(j):
                    _fill_normals(keys[e0 + i - d0], k0 // BLOCK, min(QUARTER, m), z[i])
                    _write(genomes[e0 + i, k0:k0 + m], mean[k0:k0 + m], scale[k0:k0 + m], z[i],
                           False)
                _accumulate(acc1, acc2, ones, ones, 0, z, j, m, True)
            for t in range(m):
                part1[k, k0 + t] = acc1[t]
                part2[k, k0 + t] = acc2[t]
