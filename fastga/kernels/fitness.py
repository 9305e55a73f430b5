"""Fused fitness: forward epilogue plus loss, never holding (P, B, out).

Each thread owns whole networks: it runs the epilogue of
:mod:`fastga.kernels.forward` on blocks of :data:`~fastga.kernels.forward.LANES`
samples and folds the loss into per-lane float64 sums of its own network,
added up in a fixed order at the end, so no per-sample output is ever
stored and the result does not depend on the thread count.

Cross-entropy of a softmax output is computed from the logits,
``log(sum_j exp(z_j - m)) - (z_y - m)`` with ``m = max_j z_j``. The
exponentials are :func:`~fastga.kernels.forward.exp32` (vectorised); the
logarithm of the sum, which lies in ``[1, n_out]``, is taken of a float64
product of up to :func:`log_group` consecutive sums (one ``log`` per group
instead of per sample; the product cannot overflow). A non-finite logit makes
the loss NaN, as in the reference.
"""

import math

import numpy as np
from numba import njit, prange

from .forward import activate_block, exp32, logits_block, max_width

__all__ = ["METRICS", "fused_fitness", "log_group"]

#: Metric names and codes. Every metric reports a loss-like value and the
#: accuracy (classification metrics only); the driver turns them into fitness.
METRICS = {"cross_entropy": 0, "accuracy": 1, "mse": 2}

_SOFTMAX = 5
_EPS = 1e-7
_F0 = np.float32(0.0)

# Rows of the per-lane float64 accumulators.
_LOSS, _PROD, _S1, _S2, _HITS = 0, 1, 2, 3, 4


@njit(cache=True)
def log_group(n_out):
    """Samples per lane whose softmax sums (each in [1, n_out]) are multiplied before one log.

    ``n_out ** k <= 1e300``, at most 64.
    """
    if n_out < 2:
        return 64
    k = int(300.0 / math.log10(n_out))
    return max(1, min(64, k))


@njit(cache=True, inline="always")
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


@njit(parallel=True, cache=True, fastmath={"contract"})
def fused_fitness(hT, genomes, rows, sizes, w_offs, b_offs, acts, metric, y_class, y_value,
                  n_samples, loss_out, acc_out, moments_out, lanes):
    """Mean loss and accuracy of networks ``genomes[rows]`` on one batch.

    Parameters
    ----------
    hT : float32 (len(rows) * sizes[1], Bp)
        First-layer products, see :func:`fastga.kernels.forward.forward_epilogue`;
        ``Bp`` is ``n_samples`` rounded up to a multiple of ``LANES``.
    metric : int
        0 cross-entropy (labels in ``y_class``), 1 accuracy (labels), 2 mean
        squared error (targets in ``y_value``).
    y_class : int32 (Bp,)
        Labels, padded (any valid label) to ``Bp``; ignored for ``mse``.
    y_value : float32 (Bp, n_out)
        Targets, padded to ``Bp``; ignored unless ``mse``.
    n_samples : int
        The real number of samples (the rest of ``hT``'s columns are padding).
    loss_out, acc_out : float64 (len(rows),)
        Written at ``[r]`` by the thread that owns network ``r``: the mean
        cross-entropy or MSE, and the accuracy (0 for MSE).
    moments_out : float64 (len(rows), 2)
        Sum and sum of squares of network ``r``'s outputs over the batch (for
        the population's prediction variance, without storing predictions).
    lanes : int
        ``LANES``, at run time (see :func:`fastga.kernels.forward.forward_epilogue`).
    """
    n_rows = rows.shape[0]
    nl = lanes
    n_blocks = (n_samples + nl - 1) // nl
    n_layers = sizes.shape[0] - 1
    n_out = sizes[n_layers]
    last = acts[n_layers - 1]
    width = max_width(sizes)
    group = log_group(n_out)
    fused_softmax = metric != 2 and last == _SOFTMAX
    for r in prange(n_rows):
        genome = genomes[rows[r]]
        a = np.empty((width, nl), dtype=np.float32)
        z = np.empty((width, nl), dtype=np.float32)
        tmp = np.empty(2 * nl, dtype=np.float32)
        mx = np.empty(nl, dtype=np.float32)
        se = np.empty(nl, dtype=np.float32)
        se2 = np.empty(nl, dtype=np.float32)
        zl = np.empty(nl, dtype=np.float32)
        chk = np.empty(nl, dtype=np.float32)
        best = np.empty(nl, dtype=np.int32)
        acc = np.zeros((5, nl), dtype=np.float64)
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
            res = logits_block(hT, r, b0, genome, sizes, w_offs, b_offs, acts, a, z, tmp, nl)
            if metric == 2:
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
                continue
            if fused_softmax:
                argmax_block(res, n_out, mx, best, chk, nl)
                for s in range(nl):
                    se[s] = _F0
                    se2[s] = _F0
                    zl[s] = _F0
                yb = y_class[b0:b0 + nl]
                for j in range(n_out):
                    rj = res[j]
                    for s in range(nl):
                        v = rj[s]
                        d = v - mx[s]
                        e = exp32(d)
                        se[s] += e
                        se2[s] += e * e
                        zl[s] = d if yb[s] == j else zl[s]
                for s in range(nl):
                    valid = s < n_valid
                    t = np.float64(se[s])
                    inv = 1.0 / t
                    prod[s] *= t if valid else 1.0
                    lsum[s] += np.float64(chk[s] - zl[s]) if valid else 0.0
                    s1v[s] += t * inv if valid else 0.0
                    s2v[s] += np.float64(se2[s]) * inv * inv if valid else 0.0
                    hitv[s] += 1.0 if valid and best[s] == yb[s] and chk[s] == _F0 else 0.0
                if (blk + 1) % group == 0:
                    for s in range(nl):
                        lsum[s] += np.log(prod[s])
                        prod[s] = 1.0
            else:
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
        loss = 0.0
        hits = 0.0
        s1 = 0.0
        s2 = 0.0
        for s in range(nl):
            if fused_softmax:
                loss += acc[_LOSS, s] + np.log(acc[_PROD, s])
            else:
                loss += acc[_LOSS, s]
            hits += acc[_HITS, s]
            s1 += acc[_S1, s]
            s2 += acc[_S2, s]
        loss_out[r] = loss / n_samples
        acc_out[r] = hits / n_samples if metric != 2 else 0.0
        moments_out[r, 0] = s1
        moments_out[r, 1] = s2
