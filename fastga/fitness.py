"""Ready-made fitness functions for supervised data."""

from __future__ import annotations

import numpy as np

from ._random import philox
from .registry import Metric, Purpose, names
from .validation import check_int, check_labels, check_sample_weight, check_targets, check_X

__all__ = ["SupervisedFitness"]


class SupervisedFitness:
    """Fitness of every network on labelled data, by the fused kernel.

    A population whose rows come in mirrored pairs (``Population.mirror_center``,
    set by :class:`~fastga.es.OpenES` and :class:`~fastga.es.PGPE`) is scored
    with one first-layer product per pair plus one with the center, where the
    inputs take the direct path and number at least
    ``fastga.evaluation.MIRROR_MIN_INPUTS`` (see :func:`fastga.evaluation.fitness_rows`):
    the same fitness within float32 rounding, for about half the first layer's
    arithmetic.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_inputs)
    y : array-like
        Labels in ``[0, n_outputs)`` for ``cross_entropy``/``accuracy``;
        targets (n_samples, n_outputs) for ``mse``.
    metric : {"cross_entropy", "accuracy", "mse"}, default="cross_entropy"
        Fitness is ``-cross_entropy``, ``accuracy`` or ``-mse``.
    batch_size : int, optional
        Score each generation on a fresh minibatch of this many samples
        (drawn without replacement from the counter-based stream of
        ``(seed, generation)``); all samples if None.
    seed : int, default=0
    n_outputs : int, optional
        Checked against the labels when given.
    sample_weight : array-like of shape (n_samples,), optional
        Non-negative weights: the loss and accuracy are weighted means over
        the batch's samples. The fused kernel computes plain means, so the
        samples of a batch are grouped by weight, the kernel scores each
        group, and the groups' means are averaged with weights ``weight *
        count``: exact, and the plain kernel path when the weights are all
        equal. It costs one kernel call per distinct weight in the batch, so
        weights with few distinct values (class weights, counts, 0/1 masks)
        cost little; prefer those to continuous weights on large batches.

    Attributes
    ----------
    last_stats : dict
        ``best_accuracy`` (classification) and ``prediction_variance`` (the
        variance of all outputs of all networks on the batch, which shows
        whether the population still predicts anything but a constant) of the
        last call.
    """

    def __init__(self, X, y, metric="cross_entropy", batch_size=None, seed=0, n_outputs=None,
                 sample_weight=None):
        if metric not in names(Metric):
            raise ValueError(f"metric: expected one of {sorted(names(Metric))}, got {metric!r}")
        self.X = check_X(X)
        n = self.X.shape[0]
        if metric == "mse":
            if n_outputs is None:
                y_arr = np.asarray(y)
                n_outputs = 1 if y_arr.ndim == 1 else y_arr.shape[1]
            self.y = check_targets(y, n, n_outputs)
        else:
            self.y = check_labels(y, n, n_outputs)
        self.metric = metric
        self.batch_size = None if batch_size is None else check_int(batch_size, "batch_size", minimum=1)
        self.seed = check_int(seed, "seed")
        self.sample_weight = None if sample_weight is None else check_sample_weight(sample_weight, n)
        self.last_stats = {}

    def batch(self, generation):
        """Indices of the minibatch of ``generation`` (None: all samples)."""
        n = self.X.shape[0]
        if self.batch_size is None or self.batch_size >= n:
            return None
        rng = philox(self.seed, generation, Purpose.BATCH)
        return np.sort(rng.choice(n, size=self.batch_size, replace=False))

    def scores(self, population, idx=None):
        """``(loss, accuracy, moments)`` of every network on the samples ``idx``
        (all if None), weighted by ``sample_weight`` (see the class docstring)."""
        X, y = (self.X, self.y) if idx is None else (self.X[idx], self.y[idx])
        from .evaluation import fitness_rows

        spec = population.spec
        if X.shape[1] != spec.n_inputs:
            raise ValueError(f"X: has {X.shape[1]} features but the networks take {spec.n_inputs}")
        if self.metric == "mse":
            if self.y.shape[1] != spec.n_outputs:
                raise ValueError(f"y: has {self.y.shape[1]} targets but the networks give {spec.n_outputs}")
        elif int(self.y.max()) >= spec.n_outputs:
            raise ValueError(f"y: label {int(self.y.max())} is out of range for {spec.n_outputs} outputs")
        rows = np.arange(population.size, dtype=np.int64)
        # Mirrored pairs of an ES share their first layer's product with the center.
        mirror = getattr(population, "mirror_center", None)
        w = self.sample_weight
        if w is not None and idx is not None:
            w = w[idx]
        if w is None or w.min() == w.max():
            loss, acc, moments = fitness_rows(spec, population.genomes, rows, X, y, self.metric,
                                              population.workspace, mirror)
            return loss, acc, moments, X.shape[0]
        values, group = np.unique(w, return_inverse=True)
        loss = np.zeros(population.size)
        acc = np.zeros(population.size)
        moments = np.zeros((population.size, 2))
        total, count = 0.0, 0
        for k, v in enumerate(values):
            sel = np.flatnonzero(group == k)
            if v == 0.0:
                continue
            lk, ak, mk = fitness_rows(spec, population.genomes, rows, X[sel], y[sel], self.metric,
                                      population.workspace, mirror)
            share = v * sel.shape[0]
            loss += share * lk
            acc += share * ak
            moments += mk
            total += share
            count += sel.shape[0]
        if total == 0.0:  # a minibatch of zero-weight samples only: nothing to compare on
            return np.zeros_like(loss), np.zeros_like(acc), moments, max(count, 1)
        return loss / total, acc / total, moments, count

    def losses(self, population):
        """Loss and accuracy of every network on all the samples (weighted)."""
        loss, acc, _, _ = self.scores(population)
        return loss, acc

    def __call__(self, population):
        loss, acc, moments, n = self.scores(population, self.batch(population.generation))
        spec = population.spec
        count = n * spec.n_outputs * population.size
        mean = moments[:, 0].sum() / count
        pred_var = max(moments[:, 1].sum() / count - mean * mean, 0.0)
        self.last_stats = {"prediction_variance": pred_var}
        if self.metric != "mse":
            self.last_stats["best_accuracy"] = float(np.nanmax(acc))
        return acc if self.metric == "accuracy" else -loss
