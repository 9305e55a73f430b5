"""Fused fitness: forward epilogue plus loss, never holding (P, B, out).

Each thread owns whole networks: it runs the epilogue of
:mod:`fastga.kernels.forward` on blocks of :data:`~fastga.kernels.forward.LANES`
samples and folds the loss into per-lane float64 sums of its own network,
added up in a fixed order at the end, so no per-sample output is ever
stored and the result does not depend on the thread count.

Cross-entropy of a softmax output is computed from the logits,
``log(sum_j exp(z_j - m)) - (z_y - m)`` with ``m = max_j z_j``. The
exponentials are :func:`~fastga.kernels.exp.exp32_nonpos` (vectorised); the
logarithm of the sum, which lies in ``[1, n_out]``, is taken of a float64
product of up to :func:`log_group` consecutive sums (one ``log`` per group
instead of per sample; the product cannot overflow). A non-finite logit makes
the loss NaN, as in the NumPy reference (``tests/naive.py``).

One kernel per metric (:func:`fastga.evaluation.fitness_kernel` picks it), so
a run compiles only the one it uses. Each computes networks ``lo .. hi-1`` of
``rows`` and releases the GIL; :func:`fastga.evaluation.run_rows` shares the
networks out to threads. Their arguments:

hT : float32 (len(rows) * sizes[1], Bp)
    First-layer products, see :func:`fastga.kernels.forward.forward_epilogue`;
    ``Bp`` is ``n_samples`` rounded up to a multiple of ``LANES``. With
    ``direct``, the inputs instead, in blocks (see
    :func:`fastga.kernels.forward.layers_block`).
direct : bool
    Whether the first layer is computed from the inputs in the kernel.
genomes : float32 (P, n_params); rows : int64 (R,)
sizes, w_offs, b_offs, acts : int64 arrays of the :class:`~fastga.NetworkSpec`
y : int32 (Bp,) labels, or float32 (Bp, n_out) targets for MSE, padded to ``Bp``
    (any valid label; padded samples are ignored).
n_samples : int
    The real number of samples (the rest of ``hT``'s columns are padding).
loss_out, acc_out : float64 (R,)
    Written at ``[r]`` by the thread that owns network ``r``: the mean loss
    and the accuracy (0 for MSE).
moments_out : float64 (R, 2)
    Sum and sum of squares of network ``r``'s outputs over the batch (for the
    population's prediction variance, without storing predictions).
lanes : int
    ``LANES``, at run time (see :func:`fastga.kernels.forward.forward_epilogue`).
lo, hi : int
    The range of positions in ``rows`` to compute.
other_acts : tuple
    :func:`~fastga.kernels.forward.hidden_acts` of the networks' activations
    (type-level: ``()`` compiles the hidden layers' other activations out).

Compile time: these are plain ``nogil`` loops over networks (see
:mod:`fastga.kernels` for the model of parallelism). The block helpers are plain
functions, compiled once and inlined by LLVM; a per-network function with
one caller (``network_softmax_ce``, ``network_mse``) is ``inline="always"``
into its kernel (one copy: a plain function is compiled to machine code on
its own, and again in the kernel). Each kernel's scratch is one
:func:`~fastga.kernels.forward.layer_buffer` (one specialisation of
``scratch``; a literal size would compile another).
"""

import math

import numpy as np
from numba import njit

from .forward import (STAT_ROWS, activate_block, dense_tiles, hidden_block, layer_buffer,
                      logits_block, scratch)
from .tiles import CACHE, LANES, MAX_SOFTMAX_TILE, softmax_stats, softmax_tile_upto

__all__ = ["fused_softmax_ce", "fused_classify", "fused_mse", "network_softmax_ce",
           "softmax_tile_outputs", "network_classify", "network_mse", "log_group",
           "center_product", "pair_weights", "pair_block", "fused_softmax_ce_pairs",
           "fused_classify_pairs", "fused_mse_pairs"]

_EPS = 1e-7
_F0 = np.float32(0.0)
_F1 = np.float32(1.0)
_TINY = np.float32(2.0 ** -60)

# Rows of the per-lane float64 accumulators.
_LOSS, _PROD, _S1, _S2, _HITS = 0, 1, 2, 3, 4


def softmax_tile_outputs(sizes):
    """``tile_out`` of :func:`fused_softmax_ce` for a network of layer ``sizes``:
    ``(0,) * MAX_SOFTMAX_TILE`` where the network has a hidden layer and at
    most ``MAX_SOFTMAX_TILE`` outputs (the tile of
    :func:`~fastga.kernels.tiles.softmax_tile_upto`, one compilation for all
    those numbers of outputs), else ``()``."""
    n_out = int(sizes[-1])
    return (0,) * MAX_SOFTMAX_TILE if len(sizes) >= 3 and n_out <= MAX_SOFTMAX_TILE else ()


@njit(cache=True, error_model="numpy")
def log_group(n_out):
    """Samples per lane whose softmax sums (each in [1, n_out]) are multiplied before one log.

    ``n_out ** k <= 1e300``, at most 64.
    """
    if n_out < 2:
        return 64
    k = int(300.0 / math.log10(n_out))
    return max(1, min(64, k))


@njit(cache=True, fastmath={"contract"}, error_model="numpy")
def argmax_block(res, n_out, mx, best, chk, nl):
    """``best[s]``: index of the first maximum of ``res[:n_out, s]``; ``mx[s]``: its value;
    ``chk[s]``: 0 if every output of sample ``s`` is finite, else NaN."""
    r0 = res[0]
    for s in range(nl):
        v = r0[s]
        mx[s] = v
        best[s] = 0
        chk[s] = v * _F0
    for j in range(1, n_out):
        rj = res[j]
        for s in range(nl):
            v = rj[s]
            gt = v > mx[s]
            best[s] = j if gt else best[s]
            mx[s] = v if gt else mx[s]
            chk[s] += v * _F0


@njit(cache=CACHE, fastmath={"contract"}, inline="always", error_model="numpy")
def _ce_start(lsum, prod, s1v, s2v, hitv, nl):
    """Zero the per-lane sums of :func:`fused_softmax_ce_pairs` (the products 1)."""
    for s in range(nl):
        lsum[s] = 0.0
        prod[s] = 1.0
        s1v[s] = 0.0
        s2v[s] = 0.0
        hitv[s] = 0.0


@njit(cache=CACHE, fastmath={"contract"}, inline="always", error_model="numpy")
def _ce_finish(lsum, prod, s1v, s2v, hitv, nl):
    """``(loss sum, hits, output sum, output sum of squares)`` of the folded blocks."""
    loss = 0.0
    hits = 0.0
    s1 = 0.0
    s2 = 0.0
    for s in range(nl):
        loss += lsum[s] + np.log(prod[s])
        hits += hitv[s]
        s1 += s1v[s]
        s2 += s2v[s]
    return loss, hits, s1, s2


@njit(cache=CACHE, fastmath={"contract"}, inline="always", error_model="numpy")
def network_softmax_ce(hT, r, direct, genome, sizes, w_offs, b_offs, acts, y_class, n_samples, nl,
                       buf, tmp, se, se2, zl, chk, hit, acc, tile_out, other_acts):
    """``(loss sum, hits, output sum, output sum of squares)`` of one network with a
    softmax output, cross-entropy taken from the logits (see the module docstring).

    ``buf`` (:func:`~fastga.kernels.forward.layer_buffer`), ``tmp`` (2 nl),
    ``se``, ``se2``, ``zl``, ``chk``, ``hit`` (nl,) float32 and ``acc`` (5, nl)
    float64 are scratch, allocated once per kernel call, not per network. The
    statistics are written by ``softmax_tile_upto`` or ``softmax_stats`` (see
    :mod:`fastga.kernels.tiles`);
    the loop over lanes that folds them into ``acc`` reads them only."""
    n_blocks = (n_samples + nl - 1) // nl
    n_layers = sizes.shape[0] - 1
    n_out = sizes[n_layers]
    group = log_group(n_out)
    tiled = len(tile_out) > 0
    for i in range(5):
        acc_i = acc[i]
        for s in range(nl):
            acc_i[s] = 0.0
    lsum = acc[_LOSS]
    prod = acc[_PROD]
    s1v = acc[_S1]
    s2v = acc[_S2]
    hitv = acc[_HITS]
    for s in range(nl):
        prod[s] = 1.0
    for blk in range(n_blocks):
        b0 = blk * nl
        n_valid = min(nl, n_samples - b0)
        # Maximum, argmax, finiteness, the sums of exp(z - max) and of their
        # squares, and the label's z - max, on 16-lane vectors (with the last layer
        # too where the logits fit in registers). e*e of an e
        # below 2**-63 is a subnormal float32, and every subnormal product
        # costs a microcode assist (~100 cycles); with wide logits most terms
        # are that small. Terms below 2**-60 are flushed from the squares'
        # sum: their squares (< 2**-120) cannot change a sum that reaches 1
        # (the maximum's term).
        if tiled:
            row = hidden_block(hT, r, b0, direct, genome, sizes, w_offs, b_offs, acts, buf, tmp,
                               nl, other_acts)
            softmax_tile_upto(tile_out, n_out, genome, w_offs[n_layers - 1], buf, row * nl,
                              sizes[n_layers - 1], genome, b_offs[n_layers - 1], y_class, b0,
                              _TINY, hit, chk, se, se2, zl)
        else:
            row = logits_block(hT, r, b0, direct, genome, sizes, w_offs, b_offs, acts, buf, tmp,
                               nl, other_acts)
            softmax_stats(buf, row * nl, n_out, y_class, b0, _TINY, hit, chk, se, se2, zl)
        # The valid lanes only (padded samples add nothing): a run-time trip
        # count, vectorised; no array is assigned in the loop over blocks
        # (see kernels.forward.layers_block).
        for s in range(n_valid):
            t = np.float64(se[s])
            # float32 division (16 lanes a vector; float64's is twice the
            # work), exact to 0.5 ulp: se lies in [1, n_out].
            inv = np.float64(_F1 / se[s])
            prod[s] *= t
            lsum[s] += np.float64(chk[s] - zl[s])
            s1v[s] += t * inv
            s2v[s] += np.float64(se2[s]) * inv * inv
            hitv[s] += np.float64(hit[s])
        if (blk + 1) % group == 0:
            for s in range(nl):
                lsum[s] += np.log(prod[s])
                prod[s] = 1.0
    loss = 0.0
    hits = 0.0
    s1 = 0.0
    s2 = 0.0
    for s in range(nl):
        loss += lsum[s] + np.log(prod[s])
        hits += hitv[s]
        s1 += s1v[s]
        s2 += s2v[s]
    return loss, hits, s1, s2


@njit(cache=CACHE, fastmath={"contract"}, inline="always", error_model="numpy")
def _classify_block(hT, r, hb0, b0, direct, genome, sizes, w_offs, b_offs, acts, y_class, n_valid,
                    nl, buf, tmp, mx, chk, best, acc, other_acts):
    """Network ``r`` on samples ``b0 .. b0 + nl`` (columns ``hb0 ..`` of ``hT``), its
    ``n_valid`` real samples folded into ``acc``, see :func:`network_classify`."""
    n_layers = sizes.shape[0] - 1
    n_out = sizes[n_layers]
    row = logits_block(hT, r, hb0, direct, genome, sizes, w_offs, b_offs, acts, buf, tmp, nl,
                       other_acts)
    res = buf[row:row + n_out]
    activate_block(res, n_out, acts[n_layers - 1], tmp, nl)
    argmax_block(res, n_out, mx, best, chk, nl)
    for s in range(n_valid):
        label = y_class[b0 + s]
        p = np.float64(res[label, s])
        if not p > _EPS:
            p = _EPS if p == p else p  # NaN stays NaN
        acc[_LOSS, s] -= np.log(p)
        has_nan = False
        for j in range(n_out):
            o = np.float64(res[j, s])
            has_nan = has_nan or o != o
            acc[_S1, s] += o
            acc[_S2, s] += o * o
        if best[s] == label and not has_nan:
            acc[_HITS, s] += 1.0


@njit(cache=CACHE, fastmath={"contract"}, error_model="numpy")
def network_classify(hT, r, direct, genome, sizes, w_offs, b_offs, acts, y_class, n_samples, nl,
                     buf, tmp, mx, chk, best, acc, other_acts):
    """Like :func:`network_softmax_ce` for any output activation: cross-entropy
    ``-log(max(p_y, 1e-7))`` of the activated outputs. ``buf``, ``tmp``,
    ``mx``, ``chk``, ``best`` and ``acc`` are the kernel's scratch."""
    n_blocks = (n_samples + nl - 1) // nl
    n_layers = sizes.shape[0] - 1
    n_out = sizes[n_layers]
    last = acts[n_layers - 1]
    acc[:] = 0.0
    for blk in range(n_blocks):
        b0 = blk * nl
        n_valid = min(nl, n_samples - b0)
        row = logits_block(hT, r, b0, direct, genome, sizes, w_offs, b_offs, acts, buf, tmp, nl,
                           other_acts)
        res = buf[row:row + n_out]
        activate_block(res, n_out, last, tmp, nl)
        argmax_block(res, n_out, mx, best, chk, nl)
        for s in range(n_valid):
            label = y_class[b0 + s]
            p = np.float64(res[label, s])
            if not p > _EPS:
                p = _EPS if p == p else p  # NaN stays NaN
            acc[_LOSS, s] -= np.log(p)
            has_nan = False
            for j in range(n_out):
                o = np.float64(res[j, s])
                has_nan = has_nan or o != o
                acc[_S1, s] += o
                acc[_S2, s] += o * o
            if best[s] == label and not has_nan:
                acc[_HITS, s] += 1.0
    return _lane_sums(acc, nl)


@njit(cache=CACHE, fastmath={"contract"}, inline="always", error_model="numpy")
def _mse_block(hT, r, hb0, b0, direct, genome, sizes, w_offs, b_offs, acts, y_value, n_valid, nl,
               buf, tmp, acc, other_acts):
    """Network ``r`` on samples ``b0 .. b0 + nl`` (columns ``hb0 ..`` of ``hT``), its
    ``n_valid`` real samples folded into ``acc``, see :func:`network_mse`."""
    n_layers = sizes.shape[0] - 1
    n_out = sizes[n_layers]
    row = logits_block(hT, r, hb0, direct, genome, sizes, w_offs, b_offs, acts, buf, tmp, nl,
                       other_acts)
    res = buf[row:row + n_out]
    activate_block(res, n_out, acts[n_layers - 1], tmp, nl)
    for s in range(n_valid):
        se_s = 0.0
        for j in range(n_out):
            o = np.float64(res[j, s])
            d = o - np.float64(y_value[b0 + s, j])
            se_s += d * d
            acc[_S1, s] += o
            acc[_S2, s] += o * o
        acc[_LOSS, s] += se_s / n_out


@njit(cache=CACHE, fastmath={"contract"}, inline="always", error_model="numpy")
def network_mse(hT, r, direct, genome, sizes, w_offs, b_offs, acts, y_value, n_samples, nl, buf,
                tmp, acc, other_acts):
    """``(squared error sum / n_out, 0, output sum, output sum of squares)`` of one network;
    ``buf``, ``tmp`` and ``acc`` are the kernel's scratch."""
    n_blocks = (n_samples + nl - 1) // nl
    n_layers = sizes.shape[0] - 1
    n_out = sizes[n_layers]
    last = acts[n_layers - 1]
    acc[:] = 0.0
    for blk in range(n_blocks):
        b0 = blk * nl
        n_valid = min(nl, n_samples - b0)
        row = logits_block(hT, r, b0, direct, genome, sizes, w_offs, b_offs, acts, buf, tmp, nl,
                           other_acts)
        res = buf[row:row + n_out]
        activate_block(res, n_out, last, tmp, nl)
        for s in range(n_valid):
            se_s = 0.0
            for j in range(n_out):
                o = np.float64(res[j, s])
                d = o - np.float64(y_value[b0 + s, j])
                se_s += d * d
                acc[_S1, s] += o
                acc[_S2, s] += o * o
            acc[_LOSS, s] += se_s / n_out
    return _lane_sums(acc, nl)


@njit(cache=True, error_model="numpy")
def _lane_sums(acc, nl):
    loss = 0.0
    hits = 0.0
    s1 = 0.0
    s2 = 0.0
    for s in range(nl):
        loss += acc[_LOSS, s]
        hits += acc[_HITS, s]
        s1 += acc[_S1, s]
        s2 += acc[_S2, s]
    return loss, hits, s1, s2


@njit(nogil=True, cache=CACHE, error_model="numpy")
def fused_softmax_ce(hT, direct, genomes, rows, sizes, w_offs, b_offs, acts, y, n_samples,
                     loss_out, acc_out, moments_out, lanes, lo, hi, tile_out, other_acts):
    """Mean cross-entropy and accuracy of networks ``genomes[rows]`` with a softmax
    output, from the logits; ``y`` holds int32 labels (see the module docstring).

    ``tile_out`` (see :func:`softmax_tile_outputs`): ``(0,) * MAX_SOFTMAX_TILE``
    for the output layer and its softmax statistics in registers
    (``softmax_tile_upto`` of :mod:`fastga.kernels.tiles`: a few variants of
    the tile, by width, chosen at run time), or ``()``. Its length is part of
    its type: the kernel is compiled, and cached, once for every number of
    outputs up to ``MAX_SOFTMAX_TILE`` (a new number of classes compiles
    nothing), and once for the untiled path. ``other_acts`` (see
    :func:`~fastga.kernels.forward.hidden_acts`): ``()`` where every hidden
    layer is ReLU, which compiles the other activations out, else ``(0,)``."""
    buf = layer_buffer(sizes, lanes)
    s0 = buf.shape[0] - STAT_ROWS
    se = buf[s0]
    se2 = buf[s0 + 1]
    zl = buf[s0 + 2]
    chk = buf[s0 + 3]
    hit = buf[s0 + 4]
    tmp = np.empty(2 * lanes, dtype=np.float32)
    acc = np.empty((5, lanes), dtype=np.float64)
    for r in range(lo, hi):
        loss, hits, s1, s2 = network_softmax_ce(hT, r, direct, genomes[rows[r]], sizes, w_offs,
                                                b_offs, acts, y, n_samples, lanes, buf, tmp, se,
                                                se2, zl, chk, hit, acc, tile_out, other_acts)
        loss_out[r] = loss / n_samples
        acc_out[r] = hits / n_samples
        moments_out[r, 0] = s1
        moments_out[r, 1] = s2


@njit(nogil=True, cache=CACHE, error_model="numpy")
def fused_classify(hT, direct, genomes, rows, sizes, w_offs, b_offs, acts, y, n_samples,
                   loss_out, acc_out, moments_out, lanes, lo, hi, other_acts):
    """Mean cross-entropy ``-log(max(p_y, 1e-7))`` and accuracy of networks
    ``genomes[rows]``, any output activation; ``y`` holds int32 labels."""
    buf = layer_buffer(sizes, lanes)
    tmp = np.empty(2 * lanes, dtype=np.float32)
    mx = np.empty(lanes, dtype=np.float32)
    chk = np.empty(lanes, dtype=np.float32)
    best = np.empty(lanes, dtype=np.int32)
    acc = np.empty((5, lanes), dtype=np.float64)
    for r in range(lo, hi):
        loss, hits, s1, s2 = network_classify(hT, r, direct, genomes[rows[r]], sizes, w_offs, b_offs,
                                              acts, y, n_samples, lanes, buf, tmp, mx, chk, best,
                                              acc, other_acts)
        loss_out[r] = loss / n_samples
        acc_out[r] = hits / n_samples
        moments_out[r, 0] = s1
        moments_out[r, 1] = s2


@njit(nogil=True, cache=CACHE, fastmath={"contract"}, error_model="numpy")
def fused_mse(hT, direct, genomes, rows, sizes, w_offs, b_offs, acts, y, n_samples,
              loss_out, acc_out, moments_out, lanes, lo, hi, other_acts):
    """Mean squared error (averaged over the outputs) of networks ``genomes[rows]``;
    ``y`` holds float32 targets (Bp, n_out); ``acc_out`` gets 0."""
    buf = layer_buffer(sizes, lanes)
    tmp = np.empty(2 * lanes, dtype=np.float32)
    acc = np.empty((5, lanes), dtype=np.float64)
    for r in range(lo, hi):
        loss, hits, s1, s2 = network_mse(hT, r, direct, genomes[rows[r]], sizes, w_offs, b_offs, acts, y,
                                         n_samples, lanes, buf, tmp, acc, other_acts)
        loss_out[r] = loss / n_samples
        acc_out[r] = 0.0
        moments_out[r, 0] = s1
        moments_out[r, 1] = s2


# ------------------------------------------------------------ mirrored pairs
# An evolution strategy's mirrored pairs (``fastga.Population.mirror_center``):
# rows 2k and 2k+1 are c + e and c - e, so their first layers are X c + X e and
# X c - X e. :func:`center_product` computes X c once per call; each pair then
# needs one product X E (E = W+ - W_c, rounded to float32) instead of two full
# ones. Block by block, the pair's two products (no bias) go into a small
# (2 h1, LANES) block laid out as the GEMM path's ``hT`` (rows 0 .. h1-1: the +
# network, h1 .. 2h1-1: the - one), from which both networks run on the
# block (``direct`` False) while it is in L1; each network has its own per-lane
# sums, folded as in the single-network functions above (the softmax one
# written out: an inlined helper's array arguments would cost reference
# counting in the loop over blocks). Direct-path inputs only (``XB``: the
# inputs in blocks, see ``kernels.forward.layers_block``).


@njit(nogil=True, cache=CACHE, fastmath={"contract"}, error_model="numpy")
def center_product(XB, center, w_off, n_in, h1, A):
    """``A[blk * h1 + j, s] = sum_i X[blk * LANES + s, i] W[i, j]`` (no bias) of the
    first-layer weights ``W`` of ``center`` (float32 (n_params,)) on every block
    of samples; ``A`` is float32 (n_blocks * h1, LANES), a block's rows contiguous."""
    zero = np.zeros(h1, dtype=np.float32)
    for blk in range(A.shape[0] // h1):
        dense_tiles(center, w_off, h1, h1, XB, A, False, blk * LANES * n_in, LANES, n_in, zero, 0,
                    A, blk * h1 * LANES, False)


@njit(cache=CACHE, fastmath={"contract"}, error_model="numpy")
def pair_weights(g_plus, g_minus, center, w_off, n_w, E):
    """``E = W+ - W_c`` (the first ``n_w`` weights from ``w_off``, float32); whether
    ``E`` and both rows' first-layer weights are all finite."""
    bad = np.int32(0)
    for i in range(n_w):
        e = g_plus[w_off + i] - center[w_off + i]
        E[i] = e
        m = g_minus[w_off + i]
        # x - x is NaN exactly where x is inf or NaN; an integer OR reduction
        # vectorises (a float sum would be one long chain of dependent adds).
        bad |= np.int32((e - e) != (e - e)) | np.int32((m - m) != (m - m))
    return bad == 0


@njit(cache=CACHE, fastmath={"contract"}, error_model="numpy")
def pair_block(XB, A, g_plus, g_minus, E, mirrored, blk, w_off, n_in, h1, D, zero, hp):
    """The pair's first-layer products (no bias) on block ``blk`` into ``hp`` (2 h1,
    LANES): ``A + X E`` and ``A - X E`` if ``mirrored``, else (a non-finite
    weight: NaN and inf then propagate as in the plain evaluation) ``X W+`` and
    ``X W-`` themselves. ``D`` (h1, LANES) and ``zero`` (h1,) are scratch."""
    x_off = blk * LANES * n_in
    hf = hp.reshape(hp.size)
    if mirrored:
        dense_tiles(E, 0, h1, h1, XB, D, False, x_off, LANES, n_in, zero, 0, D, 0, False)
        # Flat views and unsigned offsets: the loop over the block vectorises.
        af = A.reshape(A.size)
        df = D.reshape(D.size)
        n = np.uint64(h1 * min(LANES, D.shape[1]))  # a run-time trip count
        a0 = np.uint64(blk * h1 * LANES)
        for u in range(n):
            a = af[a0 + u]
            d = df[u]
            hf[u] = a + d
            hf[n + u] = a - d
    else:
        dense_tiles(g_plus, w_off, h1, h1, XB, D, False, x_off, LANES, n_in, zero, 0, hp, 0,
                    False)
        dense_tiles(g_minus, w_off, h1, h1, XB, D, False, x_off, LANES, n_in, zero, 0, hp,
                    h1 * LANES, False)


@njit(nogil=True, cache=CACHE, error_model="numpy")
def fused_softmax_ce_pairs(XB, A, center, genomes, rows, sizes, w_offs, b_offs, acts, y,
                           n_samples, loss_out, acc_out, moments_out, lanes, lo, hi, tile_out,
                           other_acts):
    """:func:`fused_softmax_ce` of the mirrored pairs ``lo .. hi-1``: networks
    ``rows[2k]`` and ``rows[2k+1]`` (``center + e_k`` and ``center - e_k``), their
    first layers from ``A`` (:func:`center_product`) and one product with ``e_k``
    (:func:`pair_block`). Writes positions ``2 lo .. 2 hi - 1`` of the outputs."""
    n_in, h1 = sizes[0], sizes[1]
    hp = scratch(2 * h1, lanes)
    D = scratch(h1, lanes)
    E = np.empty(n_in * h1, dtype=np.float32)
    zero = np.zeros(h1, dtype=np.float32)
    buf = layer_buffer(sizes, lanes)
    s0 = buf.shape[0] - STAT_ROWS
    se = buf[s0]
    se2 = buf[s0 + 1]
    zl = buf[s0 + 2]
    chk = buf[s0 + 3]
    hit = buf[s0 + 4]
    tmp = np.empty(2 * lanes, dtype=np.float32)
    acc = np.empty((10, lanes), dtype=np.float64)  # the + network's sums, then the - one's
    lsum, prod, s1v, s2v, hitv = acc[_LOSS], acc[_PROD], acc[_S1], acc[_S2], acc[_HITS]
    lsum2, prod2, s1v2, s2v2 = acc[5 + _LOSS], acc[5 + _PROD], acc[5 + _S1], acc[5 + _S2]
    hitv2 = acc[5 + _HITS]
    n_blocks = (n_samples + lanes - 1) // lanes
    n_layers = sizes.shape[0] - 1
    n_out = sizes[n_layers]
    group = log_group(n_out)
    tiled = len(tile_out) > 0
    for k in range(lo, hi):
        g_plus = genomes[rows[2 * k]]
        g_minus = genomes[rows[2 * k + 1]]
        mirrored = pair_weights(g_plus, g_minus, center, w_offs[0], n_in * h1, E)
        _ce_start(lsum, prod, s1v, s2v, hitv, lanes)
        _ce_start(lsum2, prod2, s1v2, s2v2, hitv2, lanes)
        for blk in range(n_blocks):
            b0 = blk * lanes
            n_valid = min(lanes, n_samples - b0)
            pair_block(XB, A, g_plus, g_minus, E, mirrored, blk, w_offs[0], n_in, h1, D, zero, hp)
            if tiled:
                row = hidden_block(hp, 0, 0, False, g_plus, sizes, w_offs, b_offs, acts, buf, tmp,
                                   lanes, other_acts)
                softmax_tile_upto(tile_out, n_out, g_plus, w_offs[n_layers - 1], buf, row * lanes,
                                  sizes[n_layers - 1], g_plus, b_offs[n_layers - 1], y, b0,
                                  _TINY, hit, chk, se, se2, zl)
            else:
                row = logits_block(hp, 0, 0, False, g_plus, sizes, w_offs, b_offs, acts, buf, tmp,
                                   lanes, other_acts)
                softmax_stats(buf, row * lanes, n_out, y, b0, _TINY, hit, chk, se, se2, zl)
            # (the fold of network_softmax_ce, written out: an inlined helper's
            # array arguments cost reference counting in the loop over blocks)
            for s in range(n_valid):
                t = np.float64(se[s])
                inv = np.float64(_F1 / se[s])
                prod[s] *= t
                lsum[s] += np.float64(chk[s] - zl[s])
                s1v[s] += t * inv
                s2v[s] += np.float64(se2[s]) * inv * inv
                hitv[s] += np.float64(hit[s])
            if (blk + 1) % group == 0:
                for s in range(lanes):
                    lsum[s] += np.log(prod[s])
                    prod[s] = 1.0
            if tiled:
                row = hidden_block(hp, 1, 0, False, g_minus, sizes, w_offs, b_offs, acts, buf,
                                   tmp, lanes, other_acts)
                softmax_tile_upto(tile_out, n_out, g_minus, w_offs[n_layers - 1], buf,
                                  row * lanes, sizes[n_layers - 1], g_minus,
                                  b_offs[n_layers - 1], y, b0, _TINY, hit, chk, se, se2, zl)
            else:
                row = logits_block(hp, 1, 0, False, g_minus, sizes, w_offs, b_offs, acts, buf,
                                   tmp, lanes, other_acts)
                softmax_stats(buf, row * lanes, n_out, y, b0, _TINY, hit, chk, se, se2, zl)
            for s in range(n_valid):
                t = np.float64(se[s])
                inv = np.float64(_F1 / se[s])
                prod2[s] *= t
                lsum2[s] += np.float64(chk[s] - zl[s])
                s1v2[s] += t * inv
                s2v2[s] += np.float64(se2[s]) * inv * inv
                hitv2[s] += np.float64(hit[s])
            if (blk + 1) % group == 0:
                for s in range(lanes):
                    lsum2[s] += np.log(prod2[s])
                    prod2[s] = 1.0
        r = 2 * k
        loss, hits, s1, s2 = _ce_finish(lsum, prod, s1v, s2v, hitv, lanes)
        loss_out[r] = loss / n_samples
        acc_out[r] = hits / n_samples
        moments_out[r, 0] = s1
        moments_out[r, 1] = s2
        loss, hits, s1, s2 = _ce_finish(lsum2, prod2, s1v2, s2v2, hitv2, lanes)
        loss_out[r + 1] = loss / n_samples
        acc_out[r + 1] = hits / n_samples
        moments_out[r + 1, 0] = s1
        moments_out[r + 1, 1] = s2


@njit(nogil=True, cache=CACHE, error_model="numpy")
def fused_classify_pairs(XB, A, center, genomes, rows, sizes, w_offs, b_offs, acts, y, n_samples,
                         loss_out, acc_out, moments_out, lanes, lo, hi, other_acts):
    """:func:`fused_classify` of mirrored pairs, as :func:`fused_softmax_ce_pairs`."""
    n_in, h1 = sizes[0], sizes[1]
    hp = scratch(2 * h1, lanes)
    D = scratch(h1, lanes)
    E = np.empty(n_in * h1, dtype=np.float32)
    zero = np.zeros(h1, dtype=np.float32)
    buf = layer_buffer(sizes, lanes)
    tmp = np.empty(2 * lanes, dtype=np.float32)
    mx = np.empty(lanes, dtype=np.float32)
    chk = np.empty(lanes, dtype=np.float32)
    best = np.empty(lanes, dtype=np.int32)
    accs = np.empty((2, 5, lanes), dtype=np.float64)
    n_blocks = (n_samples + lanes - 1) // lanes
    for k in range(lo, hi):
        g_plus = genomes[rows[2 * k]]
        g_minus = genomes[rows[2 * k + 1]]
        mirrored = pair_weights(g_plus, g_minus, center, w_offs[0], n_in * h1, E)
        accs[:] = 0.0
        for blk in range(n_blocks):
            b0 = blk * lanes
            pair_block(XB, A, g_plus, g_minus, E, mirrored, blk, w_offs[0], n_in, h1, D, zero, hp)
            for i in range(2):
                g = g_plus if i == 0 else g_minus
                _classify_block(hp, i, 0, b0, False, g, sizes, w_offs, b_offs, acts, y,
                                min(lanes, n_samples - b0), lanes, buf, tmp, mx, chk, best,
                                accs[i], other_acts)
        for i in range(2):
            loss, hits, s1, s2 = _lane_sums(accs[i], lanes)
            r = 2 * k + i
            loss_out[r] = loss / n_samples
            acc_out[r] = hits / n_samples
            moments_out[r, 0] = s1
            moments_out[r, 1] = s2


@njit(nogil=True, cache=CACHE, fastmath={"contract"}, error_model="numpy")
def fused_mse_pairs(XB, A, center, genomes, rows, sizes, w_offs, b_offs, acts, y, n_samples,
                    loss_out, acc_out, moments_out, lanes, lo, hi, other_acts):
    """:func:`fused_mse` of mirrored pairs, as :func:`fused_softmax_ce_pairs`."""
    n_in, h1 = sizes[0], sizes[1]
    hp = scratch(2 * h1, lanes)
    D = scratch(h1, lanes)
    E = np.empty(n_in * h1, dtype=np.float32)
    zero = np.zeros(h1, dtype=np.float32)
    buf = layer_buffer(sizes, lanes)
    tmp = np.empty(2 * lanes, dtype=np.float32)
    accs = np.empty((2, 5, lanes), dtype=np.float64)
    n_blocks = (n_samples + lanes - 1) // lanes
    for k in range(lo, hi):
        g_plus = genomes[rows[2 * k]]
        g_minus = genomes[rows[2 * k + 1]]
        mirrored = pair_weights(g_plus, g_minus, center, w_offs[0], n_in * h1, E)
        accs[:] = 0.0
        for blk in range(n_blocks):
            b0 = blk * lanes
            pair_block(XB, A, g_plus, g_minus, E, mirrored, blk, w_offs[0], n_in, h1, D, zero, hp)
            for i in range(2):
                g = g_plus if i == 0 else g_minus
                _mse_block(hp, i, 0, b0, False, g, sizes, w_offs, b_offs, acts, y,
                           min(lanes, n_samples - b0), lanes, buf, tmp, accs[i], other_acts)
        for i in range(2):
            loss, hits, s1, s2 = _lane_sums(accs[i], lanes)
            r = 2 * k + i
            loss_out[r] = loss / n_samples
            acc_out[r] = 0.0
            moments_out[r, 0] = s1
            moments_out[r, 1] = s2
