"""Plain-Numba twins of the LLVM IR tiles (``FASTGA_TILES=numba``).

The same functions, arguments and semantics as :mod:`fastga.kernels.tiles_ir`
(:func:`dense_tile`, :func:`bias_rows`) and :mod:`fastga.kernels.softmax_ir`
(:func:`softmax_stats`, :func:`softmax_tile`), written as ordinary Numba
loops over flat indices, for a CPU or a Numba/llvmlite version on which the
hand-written IR misbehaves. :mod:`fastga.kernels.tiles` chooses between the
two once, at import.

What differs: the accumulators live in the output arrays (or a small scratch
array) instead of registers, and LLVM vectorises the loops over a block's
samples as it sees fit, so these are slower (see ``bench/README.md``,
"Design measurements"). The flat indices are unsigned (no negative-index
wrap-around) and the loops over samples have a run-time trip count
(:func:`_lanes`), so that those loops vectorise. The arithmetic is the same (the sums in the order of
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

__all__ = ["dense_tile", "bias_rows", "softmax_stats", "softmax_tile", "softmax_tile_upto"]

_F0 = np.float32(0.0)
_F1 = np.float32(1.0)


@njit(cache=True, inline="always")
def _lanes(a):
    """:data:`LANES` as a run-time value (``a`` holds at least that many
    elements): LLVM unrolls a loop of a constant trip count fully and then
    leaves it scalar (Numba disables the SLP vectoriser); a run-time count is
    vectorised."""
    return min(LANES, a.shape[0])


@njit(cache=True, fastmath={"contract"}, error_model="numpy")
def dense_tile(w, w_off, ldw, x, x_alt, use_alt, x_off, ldx, n_k, b, b_off, out, out_off, ldo,
               n_rows, relu, accumulate):
    """:func:`fastga.kernels.tiles_ir.dense_tile` (``n_rows <= TILE_ROWS``), the
    partial sums kept in ``out``: a whole tile of 4 rows per pass over the
    inputs, or (a layer's last, smaller tile) one row at a time."""
    wf = w.reshape(w.size)
    bf = b.reshape(b.size)
    xs = x_alt.reshape(x_alt.size) if use_alt else x.reshape(x.size)
    of = out.reshape(out.size)
    nl = _lanes(of)
    nr = min(n_rows, TILE_ROWS)
    if not accumulate:
        for r in range(nr):
            bias = bf[b_off + r]
            o = np.uint64(out_off + r * ldo)
            for s in range(nl):
                of[o + np.uint64(s)] = bias
    if nr == 4:
        o0 = np.uint64(out_off)
        o1 = np.uint64(out_off + ldo)
        o2 = np.uint64(out_off + 2 * ldo)
        o3 = np.uint64(out_off + 3 * ldo)
        for k in range(n_k):
            wk = w_off + k * ldw
            w0 = wf[wk]
            w1 = wf[wk + 1]
            w2 = wf[wk + 2]
            w3 = wf[wk + 3]
            xk = np.uint64(x_off + k * ldx)
            for s in range(nl):
                u = np.uint64(s)
                xv = xs[xk + u]
                of[o0 + u] = xv * w0 + of[o0 + u]
                of[o1 + u] = xv * w1 + of[o1 + u]
                of[o2 + u] = xv * w2 + of[o2 + u]
                of[o3 + u] = xv * w3 + of[o3 + u]
    else:
        for r in range(nr):
            o = np.uint64(out_off + r * ldo)
            for k in range(n_k):
                wk = wf[w_off + k * ldw + r]
                xk = np.uint64(x_off + k * ldx)
                for s in range(nl):
                    u = np.uint64(s)
                    of[o + u] = xs[xk + u] * wk + of[o + u]
    if relu:
        for r in range(nr):
            o = np.uint64(out_off + r * ldo)
            for s in range(nl):
                i = o + np.uint64(s)
                v = of[i]
                of[i] = v if v > _F0 else _F0


@njit(cache=True, fastmath={"contract"}, error_model="numpy")
def bias_rows(src, src_off, ld_src, n_rows, b, b_off, dst, dst_off, relu):
    """:func:`fastga.kernels.tiles_ir.bias_rows`."""
    sf = src.reshape(src.size)
    bf = b.reshape(b.size)
    df = dst.reshape(dst.size)
    nl = _lanes(df)
    for j in range(n_rows):
        bias = bf[b_off + j]
        s0 = np.uint64(src_off + j * ld_src)
        d0 = np.uint64(dst_off + j * LANES)
        for s in range(nl):
            u = np.uint64(s)
            v = sf[s0 + u] + bias
            df[d0 + u] = v if (v > _F0 or not relu) else _F0


@njit(cache=True, fastmath={"contract"}, error_model="numpy")
def softmax_stats(z, z_off, n_out, y, y_off, tiny, hit, chk, se, se2, zl):
    """:func:`fastga.kernels.softmax_ir.softmax_stats`: the same two passes over
    the rows (maximum, its first index and the finiteness check; then the
    sums), each over the block's samples."""
    zf = z.reshape(z.size)
    yf = y.reshape(y.size)
    nl = _lanes(zf)
    m = np.empty(nl, dtype=np.float32)
    best = np.empty(nl, dtype=np.int32)
    z0 = np.uint64(z_off)
    for s in range(nl):
        v = zf[z0 + np.uint64(s)]
        m[s] = v
        chk[s] = v * _F0 + _F0  # stays 0 while every logit is finite, else NaN
        best[s] = 0
    for j in range(1, n_out):
        zj = np.uint64(z_off + j * LANES)
        for s in range(nl):
            v = zf[zj + np.uint64(s)]
            gt = v > m[s]
            m[s] = v if gt else m[s]
            chk[s] = v * _F0 + chk[s]
            best[s] = np.int32(j) if gt else best[s]
    for s in range(nl):
        se[s] = _F0
        se2[s] = _F0
        zl[s] = _F0
    for j in range(n_out):
        zj = np.uint64(z_off + j * LANES)
        for s in range(nl):
            d = zf[zj + np.uint64(s)] - m[s]
            e = exp32_nonpos(d)
            ee = e if e > tiny else _F0
            se[s] += e
            se2[s] = ee * ee + se2[s]
            zl[s] = d if yf[y_off + s] == j else zl[s]
    for s in range(nl):
        ok = best[s] == yf[y_off + s] and chk[s] == _F0
        hit[s] = _F1 if ok else _F0


@njit(cache=True, fastmath={"contract"}, error_model="numpy")
def softmax_tile(n_out, w, w_off, x, x_off, n_k, b, b_off, y, y_off, tiny, hit, chk, se, se2, zl):
    """:func:`fastga.kernels.softmax_ir.softmax_tile`: the logits of the
    ``len(n_out)`` outputs into a scratch block (as :func:`dense_tile`), then
    :func:`softmax_stats` of them."""
    R = len(n_out)
    if R == 0:
        return
    wf = w.reshape(w.size)
    xf = x.reshape(x.size)
    bf = b.reshape(b.size)
    z = np.empty(R * LANES, dtype=np.float32)
    nl = _lanes(z)
    for j in range(R):
        bias = bf[b_off + j]
        zj = np.uint64(j * LANES)
        for s in range(nl):
            z[zj + np.uint64(s)] = bias
        for k in range(n_k):
            wk = wf[w_off + k * R + j]
            xk = np.uint64(x_off + k * LANES)
            for s in range(nl):
                u = np.uint64(s)
                z[zj + u] = xf[xk + u] * wk + z[zj + u]
    softmax_stats(z, 0, R, y, y_off, tiny, hit, chk, se, se2, zl)


@njit(cache=True, fastmath={"contract"}, error_model="numpy")
def softmax_tile_upto(widths, n_out, w, w_off, x, x_off, n_k, b, b_off, y, y_off, tiny, hit, chk,
                      se, se2, zl):
    """:func:`fastga.kernels.softmax_ir.softmax_tile_upto`: :func:`softmax_tile`
    of a run-time number of outputs ``n_out <= len(widths)``."""
    if len(widths) == 0:
        return
    wf = w.reshape(w.size)
    xf = x.reshape(x.size)
    bf = b.reshape(b.size)
    z = np.empty(n_out * LANES, dtype=np.float32)
    nl = _lanes(z)
    for j in range(n_out):
        bias = bf[b_off + j]
        zj = np.uint64(j * LANES)
        for s in range(nl):
            z[zj + np.uint64(s)] = bias
        for k in range(n_k):
            wk = wf[w_off + k * n_out + j]
            xk = np.uint64(x_off + k * LANES)
            for s in range(nl):
                u = np.uint64(s)
                z[zj + u] = xf[xk + u] * wk + z[zj + u]
    softmax_stats(z, 0, n_out, y, y_off, tiny, hit, chk, se, se2, zl)
