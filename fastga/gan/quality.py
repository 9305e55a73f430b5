"""A sample-quality measure that does not rest on the discriminator.

A classifier trained once on the real, labelled images scores generated
samples, and a nearest-neighbour search compares them to the real images:

- ``quality_confident``: share of samples the classifier puts in one class
  with probability >= ``confidence``;
- ``quality_entropy``: entropy of the histogram of predicted classes,
  divided by ``log(n_classes)`` (1: spread evenly over all classes, 0: all
  in one class, i.e. mode collapse);
- ``quality_confident_entropy``: the same entropy over the confident
  samples only (0 when there are none): variety among the recognisable
  samples. Unlike ``quality_entropy`` it stays near 0 for noise, which the
  classifier spreads over all classes with low confidence;
- ``quality_nn_ratio``: mean distance from a sample to its nearest real
  image, divided by the same mean for held-out real images (about 1: as
  close to the data as real digits are; much more: not digit-like). It
  guards against the classifier being confident about noise.
"""

from __future__ import annotations

import numpy as np

from .._random import philox
from ..registry import Purpose
from ..validation import check_X

__all__ = ["SampleQuality"]


class SampleQuality:
    """Score generated images with a classifier trained on real ones.

    Parameters
    ----------
    confidence : float, default=0.9
        Probability above which a prediction counts as confident.
    max_train : int, default=5000
        Train on at most this many real images (a random subset), so MNIST
        stays quick.
    random_state : int, default=0

    Attributes
    ----------
    classifier_ : sklearn.linear_model.LogisticRegression
    n_classes_ : int
    real_accuracy_ : float
        Held-out accuracy of the classifier on real images.
    real_nn_distance_ : float
        Mean nearest-neighbour distance of held-out real images to the
        training images (the ``quality_nn_ratio`` denominator).
    """

    def __init__(self, confidence=0.9, max_train=5000, random_state=0):
        self.confidence = confidence
        self.max_train = max_train
        self.random_state = random_state

    def fit(self, X, y):
        """Train the classifier and the neighbour index on real images ``(X, y)``."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.neighbors import NearestNeighbors

        X = check_X(X)
        y = np.asarray(y).reshape(-1).astype(np.int64)
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"y: expected {X.shape[0]} labels, got {y.shape[0]}")
        rng = philox(int(self.random_state), 0, Purpose.USER)
        order = rng.permutation(X.shape[0])
        n_hold = max(1, min(X.shape[0] // 5, 1000))
        hold, train = order[:n_hold], order[n_hold:][: int(self.max_train)]
        if train.shape[0] < 2:
            raise ValueError(f"X: need at least {n_hold + 2} real images, got {X.shape[0]}")
        self.classifier_ = LogisticRegression(max_iter=500, C=1.0)
        self.classifier_.fit(X[train], y[train])
        self.n_classes_ = int(self.classifier_.classes_.shape[0])
        self.real_accuracy_ = float((self.classifier_.predict(X[hold]) == y[hold]).mean())
        self.neighbors_ = NearestNeighbors(n_neighbors=1).fit(X[train])
        self.real_nn_distance_ = float(self.neighbors_.kneighbors(X[hold])[0].mean())
        self.real_scores_ = self.score(X[hold])
        return self

    def _entropy(self, label):
        """Entropy of a histogram of class labels over ``log(n_classes)``."""
        counts = np.bincount(label, minlength=self.n_classes_).astype(np.float64)
        p = counts / counts.sum()
        nz = p[p > 0]
        return max(0.0, float(-(nz * np.log(nz)).sum() / np.log(max(self.n_classes_, 2))))

    def score(self, samples):
        """Quality of generated ``samples`` (n, n_pixels) as a dict of floats."""
        samples = check_X(samples, self.neighbors_.n_features_in_, name="samples")
        proba = self.classifier_.predict_proba(samples)
        confident = float((proba.max(axis=1) >= self.confidence).mean())
        label = proba.argmax(axis=1)
        entropy = self._entropy(label)
        sure = proba.max(axis=1) >= self.confidence
        entropy_sure = self._entropy(label[sure]) if sure.any() else 0.0
        dist = float(self.neighbors_.kneighbors(samples)[0].mean())
        ratio = dist / self.real_nn_distance_ if self.real_nn_distance_ > 0 else np.inf
        return {
            "quality_confident": confident,
            "quality_entropy": entropy,
            "quality_confident_entropy": entropy_sure,
            "quality_nn_ratio": float(ratio),
        }
