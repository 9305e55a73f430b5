"""Fused fitness: forward epilogue plus loss, never holding (P, B, out).

Each thread owns whole networks: it runs the epilogue of
:mod:`fastga.kernels.forward` sample by sample and folds the loss into a
float64 sum of its own network, so no per-sample output is ever stored.
"""

import numpy as np
from numba import njit, prange

from .forward import activate, logits, max_width

__all__ = ["METRICS", "fused_fitness"]

#: Metric names and codes. Every metric reports a loss-like value and the
#: accuracy (classification metrics only); the driver turns them into fitness.
METRICS = {"cross_entropy": 0, "accuracy": 1, "mse": 2}

_SOFTMAX = 5
_EPS = 1e-7


@njit(parallel=True, cache=True)
def fused_fitness(h_pre, genomes, rows, sizes, w_offs, b_offs, acts, metric, y_class, y_value,
                  loss_out, acc_out, moments_out):
    """Mean loss and accuracy of networks ``genomes[rows]`` on one batch.

    Parameters
    ----------
    h_pre : float32 (B, len(rows) * sizes[1])
        First-layer products, see :func:`fastga.kernels.forward.gather_first_layer`.
    metric : int
        0 cross-entropy (labels in ``y_class``), 1 accuracy (labels), 2 mean
        squared error (targets in ``y_value``, (B, n_out) float32).
    loss_out, acc_out : float64 (len(rows),)
        Written at ``[r]`` by the thread that owns network ``r``: the mean
        cross-entropy or MSE, and the accuracy (0 for MSE).
    moments_out : float64 (len(rows), 2)
        Sum and sum of squares of network ``r``'s outputs over the batch (for
        the population's prediction variance, without storing predictions).
    """
    n_rows = rows.shape[0]
    n_samples = h_pre.shape[0]
    n_layers = sizes.shape[0] - 1
    n_out = sizes[n_layers]
    last = acts[n_layers - 1]
    width = max_width(sizes)
    for r in prange(n_rows):
        genome = genomes[rows[r]]
        a = np.empty(width, dtype=np.float32)
        z = np.empty(width, dtype=np.float32)
        e_buf = np.empty(n_out, dtype=np.float64)
        loss = 0.0
        hits = 0
        s1 = 0.0
        s2 = 0.0
        for b in range(n_samples):
            res = logits(h_pre, r, b, genome, sizes, w_offs, b_offs, acts, a, z)
            if metric == 2:
                activate(res, n_out, last)
                se = 0.0
                for j in range(n_out):
                    o = np.float64(res[j])
                    d = o - np.float64(y_value[b, j])
                    se += d * d
                    s1 += o
                    s2 += o * o
                loss += se / n_out
                continue
            label = y_class[b]
            if last == _SOFTMAX:
                # argmax and log-softmax straight from the logits (stable).
                m = res[0]
                best = 0
                for j in range(1, n_out):
                    if res[j] > m:
                        m = res[j]
                        best = j
                s = 0.0
                for j in range(n_out):
                    e = np.exp(np.float64(res[j] - m))
                    e_buf[j] = e
                    s += e
                loss += np.log(s) - np.float64(res[label] - m)
                for j in range(n_out):
                    o = e_buf[j] / s
                    s1 += o
                    s2 += o * o
            else:
                activate(res, n_out, last)
                m = res[0]
                best = 0
                for j in range(1, n_out):
                    if res[j] > m:
                        m = res[j]
                        best = j
                p = np.float64(res[label])
                loss -= np.log(p if p > _EPS else _EPS)
                for j in range(n_out):
                    o = np.float64(res[j])
                    s1 += o
                    s2 += o * o
            if best == label:
                hits += 1
        loss_out[r] = loss / n_samples
        acc_out[r] = hits / n_samples
        moments_out[r, 0] = s1
        moments_out[r, 1] = s2
