"""Input checks that run in Python before any kernel.

Numba does not bounds-check: a wrong shape, dtype or index would corrupt
memory instead of raising. Every public entry point validates its arguments
here first.

The checks are scikit-learn's (``check_array``, ``column_or_1d``,
``assert_all_finite``, ``type_of_target``, ``check_scalar``), so fastga
accepts the same inputs as a scikit-learn estimator (lists, pandas frames,
any numeric dtype) and rejects them for the same reasons. Two conventions are added on top:

- every message starts with the offending argument's name and a colon
  (``"pop_size: ..."``), scikit-learn's own wording following it;
- an input that is not numbers at all (strings, objects, ragged lists) raises
  ``TypeError``; numbers of the wrong shape or value raise ``ValueError``.
"""

import inspect
import numbers

from functools import lru_cache
from types import SimpleNamespace

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
    "check_sample_weight",
]


@lru_cache(maxsize=None)
def _sk():
    """scikit-learn's validation functions, imported on first use: importing
    scikit-learn takes about a second, which ``import fastga`` does not pay.

    ``finite`` is the name of ``check_array``'s finiteness argument: scikit-learn
    1.6 renamed ``force_all_finite`` to ``ensure_all_finite`` (and 1.8 removed
    the old name); pyproject allows >= 1.3, so ask for whichever exists.
    """
    from sklearn.utils import assert_all_finite, check_array
    from sklearn.utils.multiclass import type_of_target
    from sklearn.utils.validation import check_scalar, column_or_1d

    finite = ("ensure_all_finite" if "ensure_all_finite" in inspect.signature(check_array).parameters
              else "force_all_finite")
    return SimpleNamespace(assert_all_finite=assert_all_finite, check_array=check_array,
                           type_of_target=type_of_target, check_scalar=check_scalar,
                           column_or_1d=column_or_1d, finite=finite)


def _named(exc, name):
    """``exc`` (same type) with its message prefixed by ``"name: "``."""
    msg = str(exc)
    if msg.startswith(f"{name}: "):
        return exc
    return type(exc)(f"{name}: {msg}")


def _not_numbers(value):
    """True if ``value`` cannot be read as an array of numbers (strings, objects, ragged)."""
    try:
        dtype = np.asarray(value).dtype
    except (TypeError, ValueError):
        return True
    return not (np.issubdtype(dtype, np.number) or dtype == np.bool_)


def _describe(value):
    """The dtype of ``value`` if it has one, else its type, for a TypeError message."""
    dtype = getattr(value, "dtype", None)
    return f"dtype {dtype}" if dtype is not None else f"a {type(value).__name__} that is not numbers"


def _array(value, name, **kwargs):
    """``check_array(value, **kwargs)``, finite, with errors named after ``name``.

    A value too large for the target dtype becomes inf in the cast and is then
    refused as not finite, so the cast's overflow warning is silenced.
    """
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            sk = _sk()
            return sk.check_array(value, input_name=name, **{sk.finite: True}, **kwargs)
    except (TypeError, ValueError) as exc:
        if _not_numbers(value):
            raise TypeError(f"{name}: expected numbers, got {_describe(value)} ({exc})") from None
        raise _named(exc, name) from None


def check_X(X, n_features=None, name="X"):
    """2-D, finite, float32 C-contiguous, at least one sample; ``n_features`` columns when given.

    An array already in that layout (what every later call of a run gets) is
    returned as is after the finiteness check alone: ``check_array``'s
    conversion machinery would cost more than a small forward pass.
    """
    if (type(X) is np.ndarray and X.dtype == np.float32 and X.ndim == 2
            and X.flags.c_contiguous and X.shape[0] >= 1 and X.shape[1] >= 1):
        try:
            _sk().assert_all_finite(X, input_name=name)
        except ValueError as exc:
            raise _named(exc, name) from None
        arr = X
    else:
        arr = _array(X, name, dtype=np.float32, order="C")
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(f"{name}: expected {n_features} features, got {arr.shape[1]}")
    return arr


def check_labels(y, n_samples, n_classes=None, name="y"):
    """Integer class labels in ``[0, n_classes)`` as int64 of shape ``(n_samples,)``.

    A column vector ``(n_samples, 1)`` is accepted. Float labels must be whole numbers.
    """
    if _not_numbers(y):
        raise TypeError(f"{name}: expected integer labels, got {_describe(y)}")
    try:
        arr = _sk().column_or_1d(y)
    except ValueError as exc:
        raise _named(exc, name) from None
    if arr.shape[0] != n_samples:
        raise ValueError(f"{name}: has {arr.shape[0]} labels but X has {n_samples} samples")
    if arr.dtype.kind == "f":  # integer and bool labels are whole and finite by their dtype
        try:
            _sk().assert_all_finite(arr, input_name=name)
            kind = _sk().type_of_target(arr, input_name=name)
        except ValueError as exc:
            raise _named(exc, name) from None
        if kind not in ("binary", "multiclass"):
            raise ValueError(f"{name}: labels must be whole numbers (class indices), got {kind} values")
    arr = arr.astype(np.int64)
    if arr.min() < 0:
        raise ValueError(f"{name}: labels must be >= 0, got {arr.min()}")
    if n_classes is not None and arr.max() >= n_classes:
        raise ValueError(f"{name}: label {arr.max()} is out of range for {n_classes} outputs")
    return np.ascontiguousarray(arr)


def check_targets(y, n_samples, n_outputs, name="y"):
    """Finite regression targets as float32 ``(n_samples, n_outputs)``; 1-D ``y`` is one output."""
    arr = _array(y, name, dtype=np.float32, order="C", ensure_2d=False)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.shape != (n_samples, n_outputs):
        raise ValueError(f"{name}: expected shape ({n_samples}, {n_outputs}), got {np.shape(y)}")
    return arr


def _scalar(value, name, kind=numbers.Real, **bounds):
    """``check_scalar(value, name, kind, **bounds)``, also refusing bools and NaN."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected a number, got a bool ({value!r})")
    if isinstance(value, numbers.Real) and value != value:
        raise ValueError(f"{name}: expected a number, got nan")
    try:
        return _sk().check_scalar(value, name, kind, **bounds)
    except (TypeError, ValueError) as exc:
        raise _named(exc, name) from None


def check_rate(value, name, low=0.0, high=1.0):
    """A real number in ``[low, high]`` (not NaN), as float."""
    return float(_scalar(value, name, min_val=low, max_val=high))


def check_positive(value, name, allow_zero=False):
    """A finite real number ``> 0`` (``>= 0`` with ``allow_zero``), as float."""
    value = _scalar(value, name, min_val=0, include_boundaries="left" if allow_zero else "neither")
    if not np.isfinite(value):
        raise ValueError(f"{name}: must be finite, got {value}")
    return float(value)


def check_int(value, name, minimum=None, maximum=None):
    """An integer (not a bool) in ``[minimum, maximum]``, as int."""
    return int(_scalar(value, name, numbers.Integral, min_val=minimum, max_val=maximum))


def check_type_probs(type_probs, name="type_probs"):
    """Probabilities of (shift, sign, swap[, gaussian]); returns the 4 cumulative sums.

    The mutation kernel draws one uniform number and picks the first kind whose
    cumulative sum exceeds it, so the last sum is set to exactly 1. This runs
    at every generation on 3 or 4 numbers, so it is written out rather than
    paying ``check_array``'s fixed cost.
    """
    if isinstance(type_probs, str) or _not_numbers(type_probs):
        raise TypeError(f"{name}: expected 3 or 4 numbers, got {type_probs!r}")
    p = np.asarray(type_probs, dtype=np.float64).reshape(-1)
    if p.shape[0] not in (3, 4):
        raise ValueError(f"{name}: expected 3 (shift, sign, swap) or 4 (+ gaussian) probabilities, "
                         f"got {p.shape[0]}")
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
    """Row indices as int64 within ``[0, n)``: a 1-D integer array (scikit-learn has no
    public check for index arrays, so this one is written out)."""
    arr = np.asarray(rows)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name}: expected a 1-D integer array, got shape {arr.shape} dtype {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() >= n):
        raise ValueError(f"{name}: indices must lie in [0, {n})")
    return np.ascontiguousarray(arr, dtype=np.int64)


def check_sample_weight(sample_weight, n_samples, name="sample_weight"):
    """Finite non-negative weights as float64 of shape ``(n_samples,)``, not all zero."""
    arr = _array(sample_weight, name, dtype=np.float64, ensure_2d=False)
    if arr.ndim != 1 or arr.shape[0] != n_samples:
        raise ValueError(f"{name}: expected shape ({n_samples},), got {arr.shape}")
    if (arr < 0).any():
        raise ValueError(f"{name}: weights must be >= 0, got {arr.min()}")
    if not (arr > 0).any():
        raise ValueError(f"{name}: sample weights must contain at least one non-zero number "
                         "(all are zero)")
    return np.ascontiguousarray(arr)
