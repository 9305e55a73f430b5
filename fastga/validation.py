"""Input checks that run in Python before any kernel.

Numba does not bounds-check: a wrong shape or offset would corrupt memory
instead of raising. Every public entry point validates here first, and each
error names the offending argument.
"""

import numbers

import numpy as np

__all__ = [
    "check_X",
    "check_labels",
    "check_targets",
    "check_rate",
    "check_int",
    "check_positive",
    "check_type_probs",
    "check_rows",
]


def check_X(X, n_features=None, name="X"):
    """2-D, finite, float32 C-contiguous; ``n_features`` columns when given."""
    try:
        arr = np.asarray(X)
    except Exception as exc:  # ragged lists, objects
        raise TypeError(f"{name}: cannot be read as an array ({exc})") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name}: expected numbers, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array (n_samples, n_features), got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name}: has no samples")
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(f"{name}: expected {n_features} features, got {arr.shape[1]}")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: contains NaN or infinite values")
    return arr


def check_labels(y, n_samples, n_classes=None, name="y"):
    """Integer class labels in ``[0, n_classes)`` as int64."""
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array of labels, got shape {arr.shape}")
    if arr.shape[0] != n_samples:
        raise ValueError(f"{name}: has {arr.shape[0]} labels but X has {n_samples} samples")
    if not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"{name}: expected integer labels, got dtype {arr.dtype}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: contains NaN or infinite values")
    if not np.all(arr == np.round(arr)):
        raise ValueError(f"{name}: labels must be whole numbers")
    arr = arr.astype(np.int64)
    if arr.min() < 0:
        raise ValueError(f"{name}: labels must be >= 0, got {arr.min()}")
    if n_classes is not None and arr.max() >= n_classes:
        raise ValueError(f"{name}: label {arr.max()} is out of range for {n_classes} outputs")
    return np.ascontiguousarray(arr)


def check_targets(y, n_samples, n_outputs, name="y"):
    """Regression targets as float32 (n_samples, n_outputs)."""
    arr = np.asarray(y)
    if not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"{name}: expected numbers, got dtype {arr.dtype}")
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] != n_samples or arr.shape[1] != n_outputs:
        raise ValueError(
            f"{name}: expected shape ({n_samples}, {n_outputs}), got {np.asarray(y).shape}"
        )
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: contains NaN or infinite values")
    return arr


def check_rate(value, name, low=0.0, high=1.0):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a number, got {value!r}")
    value = float(value)
    if not (low <= value <= high):
        raise ValueError(f"{name}: must lie in [{low}, {high}], got {value}")
    return value


def check_positive(value, name, allow_zero=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a number, got {value!r}")
    value = float(value)
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name}: must be {'>= 0' if allow_zero else '> 0'} and finite, got {value}")
    return value


def check_int(value, name, minimum=None, maximum=None):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an int, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name}: must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name}: must be <= {maximum}, got {value}")
    return value


def check_type_probs(type_probs, name="type_probs"):
    """Probabilities of (shift, sign, swap[, gaussian]); returns the 4 cumulative sums."""
    try:
        p = np.asarray(type_probs, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise TypeError(f"{name}: expected 3 or 4 numbers, got {type_probs!r}") from None
    if p.shape[0] not in (3, 4):
        raise ValueError(f"{name}: expected 3 (shift, sign, swap) or 4 (+ gaussian) probabilities, got {p.shape[0]}")
    if not np.isfinite(p).all() or (p < 0).any():
        raise ValueError(f"{name}: probabilities must be finite and >= 0, got {type_probs!r}")
    if abs(p.sum() - 1.0) > 1e-6:
        raise ValueError(f"{name}: probabilities must sum to 1, got sum {p.sum():.6g}")
    if p.shape[0] == 3:
        p = np.append(p, 0.0)
    cum = np.cumsum(p)
    cum[-1] = 1.0
    return cum


def check_rows(rows, n, name="rows"):
    """Row indices as int64 within ``[0, n)``."""
    arr = np.asarray(rows)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name}: expected a 1-D integer array, got shape {arr.shape} dtype {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() >= n):
        raise ValueError(f"{name}: indices must lie in [0, {n})")
    return np.ascontiguousarray(arr, dtype=np.int64)
