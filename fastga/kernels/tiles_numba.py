"""Plain-Numba twins of the LLVM IR tiles (``FASTGA_TILES=numba``).

The same functions, arguments and semantics as :mod:`fastga.kernels.tiles_ir`
(:func:`dense_tile`, :func:`bias_rows`) and :mod:`fastga.kernels.softmax_ir`
(:func:`softmax_stats`, :func:`softmax_tile`), written as ordinary Numba
loops over flat indices, for a CPU or a Numba/llvmlite version on which the
hand-written IR misbehaves. :mod:`fastga.kernels.tiles` chooses between the
two once, at import.

What differs: the accumulators live in the output arrays (or a small scratch
array) instead of registers, and LLVM vectorises the loops as it sees fit,
so these are slower. The arithmetic is the same (the sums in the order of
``k``, one fused multiply-add per step where ``contract`` fuses them, the
exponential of :mod:`fastga.kernels.exp`), but nothing promises the same
bits as the IR path: where LLVM does not fuse a multiply and an add, a
result may differ by a rounding. The tests compare both with the NumPy
reference within float32 tolerance.
"""

import numpy as np
from numba import njit

from .exp import exp32_nonpos
from .simd import LANES, TILE_ROWS

__all__ = ["dense_tile", "bias_rows", "softmax_stats", "softmax_tile"]

_F0 = np.float32(0.0)
_F1 = np.float32(1.0)


@njit(cache=True, fastmath={"contract"}, error_model="numpy")
def dense_tile(w, w_off, ldw, x, x_alt, use_alt, x_off, ldx, n_k, b, b_off, out, out_off, ldo,
               n_rows, relu, accumulate):
    """:func:`fastga.kernels.tiles_ir.dense_tile` (``n_rows <= TILE_ROWS``), the
    partial sums kept in ``out``."""
    wf = w.reshape(w.size)
    xs = x_alt.reshape(x_alt.size) if use_alt else x.reshape(x.size)
    bf = b.reshape(b.size)
    of = out.reshape(out.size)
    for r in range(min(n_rows, TILE_ROWS)):
        o = out_off + r * ldo
        if not accumulate:
            bias = bf[b_off + r]
            for s in range(LANES):
                of[o + s] = bias
        for k in range(n_k):
            wk = wf[w_off + k * ldw + r]
            xk = x_off + k * ldx
            for s in range(LANES):
                of[o + s] = xs[xk + s] * wk + of[o + s]
        if relu:
            for s in range(LANES):
                v = of[o + s]
                of[o + s] = v if v > _F0 else _F0


@njit(cache=True, fastmath={"contract"}, error_model="numpy")
def bias_rows(src, src_off, ld_src, n_rows, b, b_off, dst, dst_off, relu):
    """:func:`fastga.kernels.tiles_ir.bias_rows`."""
    sf = src.reshape(src.size)
    bf = b.reshape(b.size)
    df = dst.reshape(dst.size)
    for j in range(n_rows):
        bias = bf[b_off + j]
        s0 = src_off + j * ld_src
        d0 = dst_off + j * LANES
        for s in range(LANES):
            v = sf[s0 + s] + bias
            df[d0 + s] = v if (v > _F0 or not relu) else _F0


@njit(cache=True, fastmath={"contract"}, error_model="numpy")
def softmax_stats(z, z_off, n_out, y, y_off, tiny, hit, chk, se, se2, zl):
    """:func:`fastga.kernels.softmax_ir.softmax_stats`, one sample at a time."""
    zf = z.reshape(z.size)
    yf = y.reshape(y.size)
    for s in range(LANES):
        z0 = zf[z_off + s]
        m = z0
        c = z0 * _F0 + _F0  # 0 while every logit is finite, else NaN
        best = 0
        for j in range(1, n_out):
            zj = zf[z_off + j * LANES + s]
            gt = zj > m
            m = zj if gt else m
            c = zj * _F0 + c
            best = j if gt else best
        label = yf[y_off + s]
        t = _F0
        t2 = _F0
        zy = _F0
        for j in range(n_out):
            d = zf[z_off + j * LANES + s] - m
            e = exp32_nonpos(d)
            ee = e if e > tiny else _F0
            t += e
            t2 = ee * ee + t2
            zy = d if label == j else zy
        hit[s] = _F1 if (best == label and c == _F0) else _F0
        chk[s] = c
        se[s] = t
        se2[s] = t2
        zl[s] = zy


@njit(cache=True, fastmath={"contract"}, error_model="numpy")
def softmax_tile(n_out, w, w_off, x, x_off, n_k, b, b_off, y, y_off, tiny, hit, chk, se, se2, zl):
    """:func:`fastga.kernels.softmax_ir.softmax_tile`: the logits of the
    ``len(n_out)`` outputs into a scratch block, then :func:`softmax_stats`."""
    R = len(n_out)
    if R == 0:
        return
    wf = w.reshape(w.size)
    xf = x.reshape(x.size)
    bf = b.reshape(b.size)
    z = np.empty(R * LANES, dtype=np.float32)
    for j in range(R):
        bias = bf[b_off + j]
        for s in range(LANES):
            z[j * LANES + s] = bias
        for k in range(n_k):
            wk = wf[w_off + k * R + j]
            xk = x_off + k * LANES
            for s in range(LANES):
                z[j * LANES + s] = xf[xk + s] * wk + z[j * LANES + s]
    softmax_stats(z, 0, R, y, y_off, tiny, hit, chk, se, se2, zl)
