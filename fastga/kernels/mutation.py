"""Mutation of one genome row, in place: the row function of the breeding kernel.

Only the mutated positions are drawn: the gap to the next mutated weight is
geometric, so a generation costs about ``rate * n_params`` draws per child
rather than one per weight.

Mutation types (chosen per mutated weight by ``cum_probs``, the cumulative
``type_probs``):

0. shift: ``w *= U[0, shift_max)`` (the GeneticMLP reference's "shift");
1. sign: ``w = -w``;
2. swap: ``w = U[-swap_max, swap_max)``;
3. gaussian: ``w += N(0, sigma)``.

The stream (version 2; ``tests/naive.py`` restates it one mutation at a
time). Mutation ``m = 0, 1, ...`` of a row reads one 64-bit draw
``a = random_u64(key, m)`` and three fields of it:

* gap, bits 63..40: ``u = 1 - (a >> 40) / 2**24`` in (0, 1], ``gap =
  trunc(min(log32(u) * float32(1 / log1p(-rate)), 2**30))`` (``0`` when
  ``rate >= 1``); the mutated position is the previous one (``-1`` at
  first) plus ``gap + 1``, and the row is done once it reaches ``n``.
  ``P(gap >= k) = (1 - rate)**k`` up to the 24-bit grid and float32 rounding;
* value, bits 39..16: ``v = ((a >> 16) & 0xFFFFFF) / 2**24`` (float32, [0, 1));
  shift multiplies by ``v * float32(shift_max)``, swap sets ``(2v - 1) *
  float32(swap_max)``, sign multiplies by -1 (exact);
* type, bits 15..0: ``t = (a & 0xFFFF) / 2**16``; the type is the number of
  ``cum_probs[0..2]`` that are ``<= t`` (type probabilities on a 2**-16 grid).

The ``g``-th gaussian mutation of the row (``g = 0, 1, ...``) adds
``float32(sigma) * N_g``, Box-Muller from ``b = random_u64(key, NORMAL_BASE +
g // 2)``: ``r = sqrt(-2 log32(1 - (b >> 40) / 2**24))``, ``c = (b & 0xFFFFFF)``,
``N_g = r * cos2pi32(c / 2**24)`` for even ``g`` and ``r * cos2pi32(((c -
2**22) mod 2**24) / 2**24)`` (the sine) for odd ``g``. The normals are drawn
only for gaussian mutations (none when the gaussian probability is 0).

All of it is float32 arithmetic with the polynomial :func:`~fastga.kernels.rng.log32`
and :func:`~fastga.kernels.rng.cos2pi32`, free of branches, so the draws of
a block of mutations (and of normals) are made in loops that vectorise; a
second, scalar and branch-free loop walks the positions and applies the
block to the row (selects between the candidates, no unpredictable branches). Block
sizes are a matter of speed only: mutation ``m`` and normal ``g`` are the
same whatever block they fall in.

While it mutates a child, :func:`mutate_row` prefetches the rows the
caller works on next (see its ``next_*`` arguments): the crossover of the
next child is a memory-bound pass, this loop is compute-bound, so the loads
overlap the arithmetic.

:func:`fastga.kernels.breed.breed` calls :func:`mutate_row` for each child;
``tests/kernel_drivers.py`` runs it over many rows for the tests.
"""

import numpy as np
from numba import njit

from .bits import f32_as_i32, i32_as_f32, prefetch
from .rng import cos2pi32, log32, random_u64

__all__ = ["BLOCK", "NORMAL_BASE", "NORMAL_BLOCK", "mutate_row"]

#: Mutations drawn per vectorised block.
BLOCK = 256
#: Normals drawn per block.
NORMAL_BLOCK = 64
#: Counter of the first normal's draw (far above any mutation's counter).
NORMAL_BASE = 1 << 62

_NB = np.uint64(NORMAL_BASE)
_S40 = np.uint64(40)
_S16 = np.uint64(16)
_M24 = np.uint64(0xFFFFFF)
_M16 = np.uint64(0xFFFF)
_M24_32 = np.int32(0xFFFFFF)
_QUARTER_TURN = np.int32(1 << 22)
_TWO24 = np.int32(1 << 24)
_INV24_32 = np.float32(1.0 / 16777216.0)
_GAP_MAX = np.float32(1 << 30)
_ONE32 = np.float32(1.0)
_MINUS_ONE32 = np.float32(-1.0)
_MINUS_TWO32 = np.float32(-2.0)


@njit(cache=True, inline="always")
def _draw_block(key, m0, cnt, inv_log_keep, c0, c1, c2, shift32, swap32, gaps, kinds, vals):
    """Gaps, types and values of mutations ``m0 .. m0+cnt-1``, branch-free."""
    for j in range(cnt):
        a = random_u64(key, np.uint64(m0 + j))
        u = np.float32(_TWO24 - np.int32(a >> _S40)) * _INV24_32  # (0, 1]
        g = log32(u) * inv_log_keep
        g = g if g < _GAP_MAX else _GAP_MAX
        gaps[j] = np.int32(g)
        v = np.float32(np.int32((a >> _S16) & _M24)) * _INV24_32  # [0, 1)
        t = np.int32(a & _M16)  # t / 2**16 >= c  iff  t >= ceil(c * 2**16)
        kind = np.int32(t >= c0) + np.int32(t >= c1) + np.int32(t >= c2)
        kinds[j] = kind
        shift = v * shift32
        swap = (v + v - _ONE32) * swap32
        vals[j] = shift if kind == 0 else (_MINUS_ONE32 if kind == 1 else swap)


@njit(cache=True, inline="always")
def _draw_normals(key, g0, sigma32, normals):
    """``float32(sigma) * N_g`` for ``g = g0 .. g0 + len(normals) - 1``, branch-free."""
    for i in range(normals.shape[0]):
        g = np.uint64(g0 + i)
        b = random_u64(key, _NB + (g >> np.uint64(1)))
        r = np.sqrt(_MINUS_TWO32 * log32(_ONE32 - np.float32(np.int32(b >> _S40)) * _INV24_32))
        # Odd g: a quarter turn back, the sine of the pair.
        c = np.int32((np.int32(b & _M24) - _QUARTER_TURN * np.int32(g & np.uint64(1))) & _M24_32)
        normals[i] = sigma32 * (r * cos2pi32(np.float32(c) * _INV24_32))


@njit(cache=True, inline="always")
def mutate_row(row, key, rate, cum_probs, shift_max, swap_max, sigma, gaps, kinds, vals,
               normals, next_a, next_b, next_c):
    """Mutate one genome ``row`` in place from stream ``key`` (``(seed,
    generation, row, MUTATION)``); returns the number of mutated weights.
    ``rate`` lies in [0, 1]; ``cum_probs`` is a float64 array of 4
    non-decreasing values ending at 1 (see the module docstring). Scratch: ``gaps`` and ``kinds``
    int32 and ``vals`` float32 of :data:`BLOCK` (or any length > 0), ``normals``
    float32 of :data:`NORMAL_BLOCK` (or any length > 0).

    ``next_a, next_b, next_c``: float32 rows the caller works on next (the
    next child's parents and the child): each mutation prefetches one cache
    line of each, in turn from the start, so that the next crossover, a
    memory-bound pass, reads from cache what this compute-bound loop fetched
    meanwhile. A hint only (empty arrays: none); the result does not depend
    on it."""
    n = row.shape[0]
    if rate <= 0.0 or n == 0:
        return 0
    inv_log_keep = np.float32(1.0 / np.log1p(-rate)) if rate < 1.0 else np.float32(0.0)
    c0 = np.int32(np.ceil(min(cum_probs[0], 1.0) * 65536.0))  # exact: a power-of-two scaling
    c1 = np.int32(np.ceil(min(cum_probs[1], 1.0) * 65536.0))
    c2 = np.int32(np.ceil(min(cum_probs[2], 1.0) * 65536.0))
    shift32 = np.float32(shift_max)
    swap32 = np.float32(swap_max)
    sigma32 = np.float32(sigma)
    n_normal = np.uint64(normals.shape[0])
    g_next = 0  # the first normal of the next block of normals
    # normals[ni] is the next gaussian's; a block is drawn when needed (none
    # without gaussians: then ni stays 0 and normals[0] is read, never used).
    ni = n_normal if c2 < 65536 else np.uint64(0)
    r = min(rate, 1.0)
    m0 = 0
    pos = np.int64(-1)
    block = gaps.shape[0]
    n_pf = min(next_a.shape[0], next_b.shape[0], next_c.shape[0])
    while True:
        # About the number still to come, plus a margin (the stream does not
        # depend on it: only the work wasted past the row's end does).
        cnt = min(block, np.int64((n - 1 - pos) * r * 1.0625) + 16)
        _draw_block(key, m0, cnt, inv_log_keep, c0, c1, c2, shift32, swap32, gaps, kinds, vals)
        count = m0  # mutations applied before this block
        m0 += cnt
        for j in range(cnt):
            pos += np.int64(gaps[j]) + 1
            if pos >= n:
                return count + j
            if ni == n_normal:
                _draw_normals(key, g_next, sigma32, normals)
                g_next += normals.shape[0]
                ni = np.uint64(0)
            p = np.uint64(pos)  # unsigned: no negative-index wrap-around
            k = kinds[j]
            x = vals[j]
            w = row[p]
            # Select on the bits: shift and sign multiply, swap sets, gaussian
            # adds the next normal; all three are computed, then two selects
            # (cmov: the type is random, a branch would be mispredicted).
            wm = f32_as_i32(w * x)
            wa = f32_as_i32(w + normals[ni])
            xs = f32_as_i32(x)
            is_gauss = k == 3
            out = wm if k < 2 else xs
            out = wa if is_gauss else out
            row[p] = i32_as_f32(out)
            line = (count + j) * 16  # 16 float32 a cache line
            if line < n_pf:
                prefetch(next_a, line)
                prefetch(next_b, line)
                prefetch(next_c, line)
            ni += np.uint64(is_gauss)
