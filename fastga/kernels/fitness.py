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
           "center_product", "pair_product", "fused_softmax_ce_pairs", "fused_classify_pairs",
           "fused_mse_pairs"]

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
# X c - X e. ``center_product`` computes X c once per call; each pair then
# needs one product X e (e = W+ - c, rounded to float32) instead of two full
# ones. The pair's two products (no bias) go into a (2 h1, Bp) block laid out
# as the GEMM path's ``hT`` (rows 0 .. h1-1: the + network, h1 .. 2h1-1: the -
# one), and the per-network functions above run on it with ``direct`` False.
# Direct-path inputs only (``XB``: the inputs in blocks, see
# ``kernels.forward.layers_block``).


@njit(nogil=True, cache=CACHE, fastmath={"contract"}, error_model="numpy")
def center_product(XB, center, w_off, n_in, h1, A):
    """``A[j, b] = sum_i X[b, i] W[i, j]`` (no bias) of the first-layer weights ``W``
    of ``center`` (float32 (n_params,)) for every padded sample ``b``; ``A`` is
    float32 (h1, Bp)."""
    D = scratch(h1, LANES)
    zero = np.zeros(h1, dtype=np.float32)
    for blk in range(A.shape[1] // LANES):
        b0 = blk * LANES
        dense_tiles(center, w_off, h1, h1, XB, D, False, b0 * n_in, LANES, n_in, zero, 0, D, 0,
                    False)
        for j in range(h1):
            for s in range(LANES):
                A[j, b0 + s] = D[j, s]


@njit(cache=CACHE, fastmath={"contract"}, error_model="numpy")
def pair_product(XB, A, g_plus, g_minus, center, w_off, n_in, h1, E, D, zero, hp):
    """The first-layer products (no bias) of the pair ``g_plus``, ``g_minus`` into
    ``hp`` (2 h1, Bp): ``A + X E`` and ``A - X E`` with ``E = W+ - W_c`` (float32),
    or, if any first-layer weight of the pair or of ``E`` is not finite, the two
    products ``X W+`` and ``X W-`` themselves (so NaN and inf propagate as in the
    plain evaluation). ``E`` (n_in h1), ``D`` (h1, LANES) and ``zero`` (h1,) are
    scratch."""
    chk = _F0
    for i in range(n_in * h1):
        e = g_plus[w_off + i] - center[w_off + i]
        E[i] = e
        chk = chk + e * _F0 + g_minus[w_off + i] * _F0  # NaN if any is not finite
    ld = hp.shape[1]
    # Flat views and unsigned offsets: the loops over a block's samples vectorise.
    hf = hp.reshape(hp.size)
    af = A.reshape(A.size)
    df = D.reshape(D.size)
    nl = min(LANES, D.shape[1])  # a run-time trip count (see kernels.tiles_numba._lanes)
    for blk in range(ld // LANES):
        b0 = blk * LANES
        if chk == _F0:
            dense_tiles(E, 0, h1, h1, XB, D, False, b0 * n_in, LANES, n_in, zero, 0, D, 0, False)
            for j in range(h1):
                a0 = np.uint64(j * ld + b0)
                m0 = np.uint64((h1 + j) * ld + b0)
                d0 = np.uint64(j * LANES)
                for s in range(nl):
                    u = np.uint64(s)
                    a = af[a0 + u]
                    d = df[d0 + u]
                    hf[a0 + u] = a + d
                    hf[m0 + u] = a - d
        else:
            for half in range(2):
                g = g_plus if half == 0 else g_minus
                dense_tiles(g, w_off, h1, h1, XB, D, False, b0 * n_in, LANES, n_in, zero, 0, D,
                            0, False)
                for j in range(h1):
                    o = np.uint64((half * h1 + j) * ld + b0)
                    d0 = np.uint64(j * LANES)
                    for s in range(nl):
                        u = np.uint64(s)
                        hf[o + u] = df[d0 + u]


@njit(nogil=True, cache=CACHE, error_model="numpy")
def fused_softmax_ce_pairs(XB, A, center, genomes, rows, sizes, w_offs, b_offs, acts, y,
                           n_samples, loss_out, acc_out, moments_out, lanes, lo, hi, tile_out,
                           other_acts):
    """:func:`fused_softmax_ce` of the mirrored pairs ``lo .. hi-1``: networks
    ``rows[2k]`` and ``rows[2k+1]`` (``center + e_k`` and ``center - e_k``), their
    first layers from ``A`` (:func:`center_product`) and one product with ``e_k``
    (:func:`pair_product`). Writes positions ``2 lo .. 2 hi - 1`` of the outputs."""
    n_in, h1 = sizes[0], sizes[1]
    hp = scratch(2 * h1, A.shape[1])
    E = np.empty(n_in * h1, dtype=np.float32)
    D = scratch(h1, lanes)
    zero = np.zeros(h1, dtype=np.float32)
    buf = layer_buffer(sizes, lanes)
    s0 = buf.shape[0] - STAT_ROWS
    se = buf[s0]
    se2 = buf[s0 + 1]
    zl = buf[s0 + 2]
    chk = buf[s0 + 3]
    hit = buf[s0 + 4]
    tmp = np.empty(2 * lanes, dtype=np.float32)
    acc = np.empty((5, lanes), dtype=np.float64)
    for k in range(lo, hi):
        pair_product(XB, A, genomes[rows[2 * k]], genomes[rows[2 * k + 1]], center, w_offs[0],
                     n_in, h1, E, D, zero, hp)
        for i in range(2):
            r = 2 * k + i
            loss, hits, s1, s2 = network_softmax_ce(hp, i, False, genomes[rows[r]], sizes, w_offs,
                                                    b_offs, acts, y, n_samples, lanes, buf, tmp,
                                                    se, se2, zl, chk, hit, acc, tile_out,
                                                    other_acts)
            loss_out[r] = loss / n_samples
            acc_out[r] = hits / n_samples
            moments_out[r, 0] = s1
            moments_out[r, 1] = s2


@njit(nogil=True, cache=CACHE, error_model="numpy")
def fused_classify_pairs(XB, A, center, genomes, rows, sizes, w_offs, b_offs, acts, y, n_samples,
                         loss_out, acc_out, moments_out, lanes, lo, hi, other_acts):
    """:func:`fused_classify` of mirrored pairs, as :func:`fused_softmax_ce_pairs`."""
    n_in, h1 = sizes[0], sizes[1]
    hp = scratch(2 * h1, A.shape[1])
    E = np.empty(n_in * h1, dtype=np.float32)
    D = scratch(h1, lanes)
    zero = np.zeros(h1, dtype=np.float32)
    buf = layer_buffer(sizes, lanes)
    tmp = np.empty(2 * lanes, dtype=np.float32)
    mx = np.empty(lanes, dtype=np.float32)
    chk = np.empty(lanes, dtype=np.float32)
    best = np.empty(lanes, dtype=np.int32)
    acc = np.empty((5, lanes), dtype=np.float64)
    for k in range(lo, hi):
        pair_product(XB, A, genomes[rows[2 * k]], genomes[rows[2 * k + 1]], center, w_offs[0],
                     n_in, h1, E, D, zero, hp)
        for i in range(2):
            r = 2 * k + i
            loss, hits, s1, s2 = network_classify(hp, i, False, genomes[rows[r]], sizes, w_offs,
                                                  b_offs, acts, y, n_samples, lanes, buf, tmp, mx,
                                                  chk, best, acc, other_acts)
            loss_out[r] = loss / n_samples
            acc_out[r] = hits / n_samples
            moments_out[r, 0] = s1
            moments_out[r, 1] = s2


@njit(nogil=True, cache=CACHE, fastmath={"contract"}, error_model="numpy")
def fused_mse_pairs(XB, A, center, genomes, rows, sizes, w_offs, b_offs, acts, y, n_samples,
                    loss_out, acc_out, moments_out, lanes, lo, hi, other_acts):
    """:func:`fused_mse` of mirrored pairs, as :func:`fused_softmax_ce_pairs`."""
    n_in, h1 = sizes[0], sizes[1]
    hp = scratch(2 * h1, A.shape[1])
    E = np.empty(n_in * h1, dtype=np.float32)
    D = scratch(h1, lanes)
    zero = np.zeros(h1, dtype=np.float32)
    buf = layer_buffer(sizes, lanes)
    tmp = np.empty(2 * lanes, dtype=np.float32)
    acc = np.empty((5, lanes), dtype=np.float64)
    for k in range(lo, hi):
        pair_product(XB, A, genomes[rows[2 * k]], genomes[rows[2 * k + 1]], center, w_offs[0],
                     n_in, h1, E, D, zero, hp)
        for i in range(2):
            r = 2 * k + i
            loss, hits, s1, s2 = network_mse(hp, i, False, genomes[rows[r]], sizes, w_offs,
                                             b_offs, acts, y, n_samples, lanes, buf, tmp, acc,
                                             other_acts)
            loss_out[r] = loss / n_samples
            acc_out[r] = 0.0
            moments_out[r, 0] = s1
            moments_out[r, 1] = s2
