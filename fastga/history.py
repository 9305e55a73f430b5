"""Per-generation records of a run."""

from __future__ import annotations

import numpy as np

__all__ = ["History"]


class History:
    """Columns of per-generation values (one row per evaluated generation).

    Always present: ``generation``, ``best_fitness``, ``mean_fitness``,
    ``fitness_variance``, ``n_invalid`` (non-finite fitness values),
    ``seconds`` (the generation's wall time, from the previous ``tell`` to
    this one) and its split (:mod:`fastga.timing`): ``compile_seconds``
    (Numba compilation and cache loads), ``fitness_seconds`` (between
    ``ask`` and ``tell``: the fitness), ``select_seconds`` (the GA's
    selection, an ES's update), ``breed_seconds`` (breeding, an ES's
    sampling, the first population's drawing) and ``other_seconds`` (the
    rest: bookkeeping, callbacks, checkpoints). The GA adds ``mutation_rate``. A fitness object may add columns through its
    ``last_stats`` dict (e.g. ``best_accuracy``, ``prediction_variance``).
    Indexing by name returns a float64 array.
    """

    def __init__(self, columns=None):
        self._cols = {k: list(map(float, v)) for k, v in (columns or {}).items()}

    def append(self, row):
        n = len(self)
        for key, value in row.items():
            col = self._cols.setdefault(key, [float("nan")] * n)
            col.append(float(value))
        for key, col in self._cols.items():
            if len(col) < n + 1:
                col.append(float("nan"))

    def __len__(self):
        return max((len(c) for c in self._cols.values()), default=0)

    def __getitem__(self, key):
        return np.asarray(self._cols[key], dtype=np.float64)

    def __contains__(self, key):
        return key in self._cols

    def keys(self):
        return list(self._cols)

    def set_last(self, key, value):
        """Overwrite column ``key`` of the last row."""
        if key not in self._cols:
            self._cols[key] = [float("nan")] * len(self)
        self._cols[key][-1] = float(value)

    def to_dict(self):
        """Column name -> float64 array."""
        return {k: self[k] for k in self._cols}

    def copy(self):
        return History(self.to_dict())

    #: Columns that measure wall time and so differ from run to run.
    TIMING = ("seconds", "compile_seconds", "fitness_seconds", "select_seconds", "breed_seconds",
              "other_seconds")

    def __eq__(self, other):
        """Equal values in every column but the timing ones (bit for bit, NaN == NaN)."""
        if not isinstance(other, History) or set(self.keys()) != set(other.keys()):
            return False
        return all(np.array_equal(self[k], other[k], equal_nan=True)
                   for k in self.keys() if k not in self.TIMING)

    def __repr__(self):
        return f"History({len(self)} generations, columns={self.keys()})"
