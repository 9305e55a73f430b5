"""Data for the architecture search: sample a function, split it three ways.

:func:`create_data` samples a function as the reference does (``n`` distinct
points drawn without replacement from a grid of ``n + 1000`` points over
``[low, high]``). :func:`split_data` cuts a data set into training,
validation and test parts that share no sample: the search trains on the
first, ranks candidates on the second, and only the final report touches the
third.
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import numpy as np

from .._random import philox, resolve_seed
from ..registry import Purpose
from ..validation import check_int
from .trainer import check_data

__all__ = ["FUNCTIONS", "DataSplit", "create_data", "split_data", "make_splits", "get_function"]

#: Named functions for the command line (``--func``).
FUNCTIONS = {
    "sin": np.sin,
    "cos": np.cos,
    "sin2": lambda x: np.sin(2 * x),
    "sinc": lambda x: np.sinc(x / np.pi),
    "gauss": lambda x: np.exp(-((x - np.pi) ** 2)),
}


def get_function(name):
    """The function registered under ``name`` in :data:`FUNCTIONS`."""
    if name not in FUNCTIONS:
        raise ValueError(f"func: unknown function {name!r}; expected one of {sorted(FUNCTIONS)}")
    return FUNCTIONS[name]


def _finite(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name}: must be a finite number, got {value!r}")
    return float(value)


def create_data(func, n=10000, low=0.0, high=2 * np.pi, random_state=None):
    """Sample ``func`` at ``n`` distinct points of ``[low, high]``.

    Parameters
    ----------
    func : callable or str
        Vectorised ``func(x) -> y`` (NumPy in, NumPy out), or a name from
        :data:`FUNCTIONS`.
    n : int
        Number of samples (>= 1).
    low, high : float
        The range; ``low < high``.
    random_state : None, int or numpy Generator

    Returns
    -------
    X, y : float32 arrays of shape (n, 1)

    Examples
    --------
    >>> X, y = create_data(np.cos, 100, random_state=0)
    >>> X.shape, y.shape
    ((100, 1), (100, 1))
    """
    if isinstance(func, str):
        func = get_function(func)
    if not callable(func):
        raise TypeError(f"func: expected a callable or a function name, got {func!r}")
    n = check_int(n, "n", minimum=1)
    low = _finite(low, "low")
    high = _finite(high, "high")
    if not low < high:
        raise ValueError(f"high: must be above low ({low}), got {high}")
    rng = philox(resolve_seed(random_state), 0, Purpose.DATA)
    x = rng.choice(np.linspace(low, high, n + 1000), n, replace=False)
    with np.errstate(all="ignore"):  # non-finite values are reported just below
        y = np.asarray(func(x), dtype=np.float64)
    if y.shape != x.shape:
        raise ValueError(f"func: must map an array of shape {x.shape} to the same shape, got {y.shape}")
    if not np.isfinite(y).all():
        raise ValueError(f"func: gave NaN or infinite values on [{low}, {high}]")
    return x.reshape(-1, 1).astype(np.float32), y.reshape(-1, 1).astype(np.float32)


class DataSplit(NamedTuple):
    """Disjoint training, validation and test sets."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def _fraction(value, name):
    value = _finite(value, name)
    if not 0 < value < 1:
        raise ValueError(f"{name}: must lie in (0, 1), got {value}")
    return value


def split_data(X, y, val_size=0.2, test_size=0.2, random_state=None):
    """Split ``(X, y)`` into disjoint training, validation and test sets.

    Parameters
    ----------
    X : array-like (n, n_features) or (n,)
    y : array-like (n,) or (n, n_outputs)
    val_size, test_size : float
        Fractions in (0, 1); together below 1. Each part gets at least one sample.
    random_state : None, int or numpy Generator

    Returns
    -------
    DataSplit
    """
    X, y = check_data(X, y)
    val_size = _fraction(val_size, "val_size")
    test_size = _fraction(test_size, "test_size")
    if val_size + test_size >= 1:
        raise ValueError(f"test_size: val_size + test_size must be < 1, got {val_size + test_size}")
    n = X.shape[0]
    n_val = max(1, int(round(val_size * n)))
    n_test = max(1, int(round(test_size * n)))
    if n - n_val - n_test < 1:
        raise ValueError(f"X: {n} samples are too few for a training, validation and test set")
    perm = philox(resolve_seed(random_state), 0, Purpose.SPLIT).permutation(n)
    te, va, tr = perm[:n_test], perm[n_test:n_test + n_val], perm[n_test + n_val:]
    return DataSplit(X[tr], y[tr], X[va], y[va], X[te], y[te])


def make_splits(func, n=2000, low=0.0, high=2 * np.pi, val_size=0.2, test_size=0.2,
                random_state=None):
    """:func:`create_data` then :func:`split_data` (same ``random_state``)."""
    seed = resolve_seed(random_state)
    X, y = create_data(func, n, low, high, random_state=seed)
    return split_data(X, y, val_size, test_size, random_state=seed)
