"""Ready-made fitness functions for supervised data."""

from __future__ import annotations

import numpy as np

from ._random import philox
from .registry import Metric, Purpose, names
from .validation import check_int, check_labels, check_targets, check_X

__all__ = ["SupervisedFitness"]


class SupervisedFitness:
    """Fitness of every network on labelled data, by the fused kernel.

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

    Attributes
    ----------
    last_stats : dict
        ``best_accuracy`` (classification) and ``prediction_variance`` (the
        variance of all outputs of all networks on the batch, which shows
        whether the population still predicts anything but a constant) of the
        last call.
    """

    def __init__(self, X, y, metric="cross_entropy", batch_size=None, seed=0, n_outputs=None):
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
        self.last_stats = {}

    def batch(self, generation):
        """Indices of the minibatch of ``generation`` (None: all samples)."""
        n = self.X.shape[0]
        if self.batch_size is None or self.batch_size >= n:
            return None
        rng = philox(self.seed, generation, Purpose.BATCH)
        return np.sort(rng.choice(n, size=self.batch_size, replace=False))

    def __call__(self, population):
        idx = self.batch(population.generation)
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
        loss, acc, moments = fitness_rows(spec, population.genomes, rows, X, y, self.metric,
                                          population.workspace)
        count = X.shape[0] * spec.n_outputs * population.size
        mean = moments[:, 0].sum() / count
        pred_var = max(moments[:, 1].sum() / count - mean * mean, 0.0)
        self.last_stats = {"prediction_variance": pred_var}
        if self.metric != "mse":
            self.last_stats["best_accuracy"] = float(np.nanmax(acc))
        return acc if self.metric == "accuracy" else -loss
