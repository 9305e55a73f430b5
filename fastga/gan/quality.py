"""Sample-quality measures that do not rest on the discriminator.

:class:`SampleQuality` is fitted once on real, labelled images (the training
images of a run) and scores a set of generated images:

- ``quality_precision`` and ``quality_recall``: k-NN precision and recall
  (Kynkäänniemi et al. 2019) in pixel space, ``k=3``. Each real image gets
  a ball reaching its k-th nearest real neighbour, each sample a ball
  reaching its k-th nearest sample; precision is the share of samples
  inside some real ball (they look like real data), recall the share of
  real images inside some sample ball (the samples cover the data);
- ``quality_fid``: the Fréchet distance between Gaussians fitted to the
  *classifier features* of the samples and of the real images. The
  features are the hidden layer (ReLU units) of a one-hidden-layer
  scikit-learn ``MLPClassifier`` trained on the real images with a fixed
  seed: a digits-specific stand-in for the Inception features of the usual
  FID, computed without any download;
- ``quality_confident``: share of samples that classifier puts in one
  class with probability >= ``confidence``;
- ``quality_coverage``: share of the classes holding at least
  ``class_share`` (3%) of the confident samples (1.0: every digit drawn);
- ``quality_entropy``: entropy of the histogram of predicted classes over
  ``log(n_classes)`` (1: spread evenly, 0: one class only), and
  ``quality_confident_entropy`` the same over the confident samples;
- ``quality_nn_ratio``: mean distance from a sample to its nearest real
  image over the same mean for held-out real images.

The same measures on held-out real images (:attr:`SampleQuality.real_scores_`)
are the reference line: what a perfect generator would score.
"""

from __future__ import annotations

import numpy as np

from .._random import philox
from ..registry import Purpose
from ..validation import check_int, check_positive, check_rate, check_X

__all__ = ["SampleQuality", "frechet_distance", "knn_radii", "knn_precision_recall", "QUALITY_COLUMNS"]

#: The history columns a :class:`SampleQuality` score fills, in print order.
QUALITY_COLUMNS = ("quality_precision", "quality_recall", "quality_fid", "quality_confident",
                   "quality_coverage", "quality_entropy", "quality_confident_entropy",
                   "quality_nn_ratio")


def _sq_distances(A, B):
    """Squared Euclidean distances (len(A), len(B)) in float64, clipped at 0."""
    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    d = (A * A).sum(axis=1)[:, None] + (B * B).sum(axis=1)[None, :] - 2.0 * (A @ B.T)
    return np.maximum(d, 0.0)


def knn_radii(X, k=3, chunk=2048):
    """Distance from each row of ``X`` to its k-th nearest other row (the k-NN ball's radius)."""
    X = np.asarray(X, dtype=np.float64)
    n = X.shape[0]
    if n <= k:
        raise ValueError(f"X: k-NN radii with k={k} need more than {k} points, got {n}")
    out = np.empty(n)
    for lo in range(0, n, chunk):
        d = _sq_distances(X[lo:lo + chunk], X)
        d[np.arange(d.shape[0]), lo + np.arange(d.shape[0])] = np.inf  # not its own neighbour
        out[lo:lo + chunk] = np.sqrt(np.partition(d, k - 1, axis=1)[:, k - 1])
    return out


def _inside_any_ball(points, centres, radii, chunk=1024):
    """For each point: whether some centre's ball (distance <= radius) holds it."""
    hit = np.zeros(points.shape[0], dtype=bool)
    r2 = np.asarray(radii, dtype=np.float64) ** 2
    for lo in range(0, points.shape[0], chunk):
        hit[lo:lo + chunk] = (_sq_distances(points[lo:lo + chunk], centres) <= r2[None, :]).any(axis=1)
    return hit


def knn_precision_recall(real, fake, k=3, real_radii=None):
    """k-NN precision and recall of ``fake`` against ``real`` (Kynkäänniemi et al. 2019).

    Parameters
    ----------
    real, fake : array-like of shape (n, d)
    k : int, default=3
    real_radii : ndarray, optional
        ``knn_radii(real, k)``, if already known.

    Returns
    -------
    (precision, recall) : floats in [0, 1]
    """
    real = np.asarray(real, dtype=np.float64)
    fake = np.asarray(fake, dtype=np.float64)
    if real_radii is None:
        real_radii = knn_radii(real, k)
    precision = float(_inside_any_ball(fake, real, real_radii).mean())
    recall = float(_inside_any_ball(real, fake, knn_radii(fake, k)).mean())
    return precision, recall


def _sqrt_psd(S):
    """Symmetric square root of a symmetric positive semi-definite matrix (eigh)."""
    w, V = np.linalg.eigh((S + S.T) / 2.0)
    return (V * np.sqrt(np.maximum(w, 0.0))) @ V.T


def trace_sqrt_product(S1, S2):
    """``trace(sqrtm(S1 @ S2))`` for covariance matrices ``S1``, ``S2``.

    ``S1 @ S2`` is similar to the symmetric ``sqrt(S1) @ S2 @ sqrt(S1)``,
    whose eigenvalues are real and >= 0: the trace of the square root is the
    sum of their square roots (exact, and stable where a general ``sqrtm``
    returns complex round-off).
    """
    R = _sqrt_psd(np.asarray(S1, dtype=np.float64))
    M = R @ np.asarray(S2, dtype=np.float64) @ R
    return float(np.sqrt(np.maximum(np.linalg.eigvalsh((M + M.T) / 2.0), 0.0)).sum())


def frechet_distance(mu1, S1, mu2, S2):
    """Fréchet distance between N(mu1, S1) and N(mu2, S2) (the FID formula)."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    diff = mu1 - mu2
    value = float(diff @ diff + np.trace(S1) + np.trace(S2) - 2.0 * trace_sqrt_product(S1, S2))
    return max(0.0, value)


def _moments(F):
    F = np.asarray(F, dtype=np.float64)
    return F.mean(axis=0), np.cov(F, rowvar=False).reshape(F.shape[1], F.shape[1])


class SampleQuality:
    """Score generated images against real ones (precision, recall, FID, classes).

    Parameters
    ----------
    confidence : float, default=0.9
        Probability above which a prediction counts as confident.
    k : int, default=3
        Neighbours of the k-NN precision and recall.
    class_share : float, default=0.03
        A class is covered when it holds at least this share of the
        confident samples.
    hidden : int, default=64
        Hidden units of the classifier (its features for the FID).
    max_train : int, default=5000
        Use at most this many real images (a random subset), so MNIST stays
        quick.
    random_state : int, default=0

    Attributes
    ----------
    classifier_ : sklearn.neural_network.MLPClassifier
    n_classes_ : int
    real_ : ndarray of float32
        The real images the samples are compared with.
    real_accuracy_ : float
        Held-out accuracy of the classifier.
    real_nn_distance_ : float
        Mean nearest-neighbour distance of held-out real images to
        :attr:`real_` (the ``quality_nn_ratio`` denominator).
    real_scores_ : dict
        :meth:`score` of the held-out real images: the reference line.
    n_holdout_ : int
    """

    def __init__(self, confidence=0.9, k=3, class_share=0.03, hidden=64, max_train=5000,
                 random_state=0):
        self.confidence = confidence
        self.k = k
        self.class_share = class_share
        self.hidden = hidden
        self.max_train = max_train
        self.random_state = random_state

    def fit(self, X, y, X_holdout=None, y_holdout=None):
        """Train the classifier and index the real images ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n, n_pixels)
        y : array-like of shape (n,)
        X_holdout, y_holdout : array-like, optional
            Real images not in ``X``, scored as the reference line. Default:
            a random fifth of ``X`` (at most 1000) is held out.
        """
        from sklearn.neural_network import MLPClassifier

        check_rate(self.confidence, "confidence")
        k = check_int(self.k, "k", minimum=1)
        check_rate(self.class_share, "class_share")
        hidden = check_int(self.hidden, "hidden", minimum=1)
        check_positive(self.max_train, "max_train")
        X = check_X(X)
        y = np.asarray(y).reshape(-1).astype(np.int64)
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"y: expected {X.shape[0]} labels, got {y.shape[0]}")
        rng = philox(int(self.random_state), 0, Purpose.USER)
        order = rng.permutation(X.shape[0])
        if X_holdout is None:
            n_hold = max(1, min(X.shape[0] // 5, 1000))
            hold, order = order[:n_hold], order[n_hold:]
            X_hold, y_hold = X[hold], y[hold]
        else:
            X_hold = check_X(X_holdout, X.shape[1], name="X_holdout")
            y_hold = np.asarray(y_holdout).reshape(-1).astype(np.int64)
            if y_hold.shape[0] != X_hold.shape[0]:
                raise ValueError(f"y_holdout: expected {X_hold.shape[0]} labels, got {y_hold.shape[0]}")
        train = np.sort(order[: int(self.max_train)])
        if train.shape[0] <= k:
            raise ValueError(f"X: need more than {k} real images besides the held-out ones, "
                             f"got {train.shape[0]}")
        self.real_ = np.ascontiguousarray(X[train])
        self.classifier_ = MLPClassifier(hidden_layer_sizes=(hidden,), alpha=1e-3, max_iter=400,
                                         random_state=int(self.random_state) % (2**31))
        import warnings

        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.classifier_.fit(self.real_, y[train])
        self.n_classes_ = int(self.classifier_.classes_.shape[0])
        self.real_accuracy_ = float((self.classifier_.predict(X_hold) == y_hold).mean())
        self.real_radii_ = knn_radii(self.real_, k)
        self.real_mu_, self.real_cov_ = _moments(self.features(self.real_))
        self.real_nn_distance_ = 1.0
        self.real_nn_distance_ = float(self._nn_distance(X_hold).mean())
        self.n_holdout_ = int(X_hold.shape[0])
        self.real_scores_ = self.score(X_hold)
        return self

    def features(self, images):
        """The classifier's hidden-layer (ReLU) activations of ``images``: the FID features."""
        W, b = self.classifier_.coefs_[0], self.classifier_.intercepts_[0]
        return np.maximum(np.asarray(images, dtype=np.float64) @ W + b, 0.0)

    def _nn_distance(self, samples):
        out = np.empty(samples.shape[0])
        for lo in range(0, samples.shape[0], 1024):
            out[lo:lo + 1024] = np.sqrt(_sq_distances(samples[lo:lo + 1024], self.real_).min(axis=1))
        return out

    def _entropy(self, label):
        """Entropy of a histogram of class labels over ``log(n_classes)``."""
        counts = np.bincount(label, minlength=self.n_classes_).astype(np.float64)
        p = counts / counts.sum()
        nz = p[p > 0]
        return max(0.0, float(-(nz * np.log(nz)).sum() / np.log(max(self.n_classes_, 2))))

    def by_class(self, samples, per_class=10):
        """Indices of the first ``per_class`` confidently classified samples of each class.

        Returns
        -------
        ndarray of int, shape (n_classes, per_class)
            Row ``c``: samples the classifier gives class ``classes_[c]``
            with probability >= ``confidence``, in the order given; -1 where
            a class has fewer.
        """
        if not hasattr(self, "classifier_"):
            raise AttributeError("by_class: fit() has not been called yet")
        samples = check_X(samples, self.real_.shape[1], name="samples")
        per_class = check_int(per_class, "per_class", minimum=1)
        proba = self.classifier_.predict_proba(samples)
        sure = proba.max(axis=1) >= self.confidence
        label = proba.argmax(axis=1)
        out = np.full((self.n_classes_, per_class), -1, dtype=np.int64)
        for c in range(self.n_classes_):
            idx = np.flatnonzero(sure & (label == c))[:per_class]
            out[c, :idx.shape[0]] = idx
        return out

    def score(self, samples):
        """Quality of ``samples`` (n, n_pixels), n > k, as a dict (see the module's doc)."""
        if not hasattr(self, "classifier_"):
            raise AttributeError("score: fit() has not been called yet")
        samples = check_X(samples, self.real_.shape[1], name="samples")
        if samples.shape[0] <= self.k:
            raise ValueError(f"samples: need more than k={self.k} samples, got {samples.shape[0]}")
        proba = self.classifier_.predict_proba(samples)
        sure = proba.max(axis=1) >= self.confidence
        label = proba.argmax(axis=1)
        if sure.any():
            counts = np.bincount(label[sure], minlength=self.n_classes_)
            coverage = float((counts >= self.class_share * sure.sum()).mean())
        else:
            coverage = 0.0
        precision, recall = knn_precision_recall(self.real_, samples, self.k, self.real_radii_)
        mu, cov = _moments(self.features(samples))
        return {
            "quality_precision": precision,
            "quality_recall": recall,
            "quality_fid": frechet_distance(mu, cov, self.real_mu_, self.real_cov_),
            "quality_confident": float(sure.mean()),
            "quality_coverage": coverage,
            "quality_entropy": self._entropy(label),
            "quality_confident_entropy": self._entropy(label[sure]) if sure.any() else 0.0,
            "quality_nn_ratio": float(self._nn_distance(samples).mean() / max(self.real_nn_distance_, 1e-12)),
        }
