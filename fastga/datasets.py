"""Bundled and local data sets. Nothing is ever downloaded.

- :func:`load_digits_split`: scikit-learn's bundled 8x8 digits, scaled to
  [0, 1], split 1437/360 stratified with random_state 0.
- :func:`load_mnist`: MNIST from a local file the user names.
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["load_digits_split"]


def load_digits_split(test_size=360, random_state=0):
    """The digits data set (pixels / 16), stratified train/test split.

    Returns
    -------
    X_train, X_test : ndarray of float32, shapes (1437, 64) and (360, 64)
    y_train, y_test : ndarray of int64
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y.astype(np.int64), test_size=test_size, stratify=y, random_state=random_state
    )
    return X_tr, X_te, y_tr, y_te
