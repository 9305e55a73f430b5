"""Selection operators: small pure functions of fitness and a generator.

Fitness is "higher is better" everywhere; non-finite values rank last.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "rank_order",
    "n_survivors",
    "preference_probabilities",
    "select_preference",
    "select_tournament",
]


def rank_order(fitness):
    """Indices from best to worst; NaN and +-inf last; ties keep index order."""
    f = np.asarray(fitness, dtype=np.float64)
    key = np.where(np.isfinite(f), f, -np.inf)
    return np.argsort(-key, kind="stable")


def n_survivors(size, die_off_rate, minimum=2):
    """How many of ``size`` survive a die-off of ``die_off_rate``.

    ``die_off_rate`` is the share that DIES (the GeneticMLP reference used it,
    by a slicing slip, as the share that survives). At least ``minimum`` (and
    at most ``size``) survive so that two parents always exist.
    """
    keep = int(np.ceil(size * (1.0 - die_off_rate) - 1e-9))
    return int(min(size, max(minimum, keep)))


def preference_probabilities(fitness, preference):
    """Mating probabilities ``P_i = F_i^m / sum_n F_n^m`` of the survivors.

    Fitness can be negative (e.g. minus a loss), so it is first made
    positive by min-max scaling onto ``[0.01, 1]``:
    ``F = 0.01 + 0.99 * (f - min f) / (max f - min f)``. The worst survivor
    thus keeps a small chance, the best the largest. Non-finite fitness gets
    probability 0. With ``m = 0`` mating is uniform; as ``m`` grows only the
    best mates. If all finite values are equal, or none is finite, the
    probabilities are uniform over the finite ones (over all, if none).
    """
    f = np.asarray(fitness, dtype=np.float64)
    finite = np.isfinite(f)
    if not finite.any():
        return np.full(f.shape[0], 1.0 / f.shape[0])
    lo, hi = f[finite].min(), f[finite].max()
    pos = np.zeros_like(f)
    if hi > lo:
        pos[finite] = 0.01 + 0.99 * (f[finite] - lo) / (hi - lo)
    else:
        pos[finite] = 1.0
    with np.errstate(over="ignore", under="ignore"):
        w = pos ** float(preference)
    w[~finite] = 0.0
    total = w.sum()
    if not np.isfinite(total) or total <= 0:
        w = finite.astype(np.float64)
        total = w.sum()
    return w / total


def select_preference(fitness, n, preference, rng):
    """Draw ``n`` parent pairs by fitness preference; returns two int64 arrays."""
    p = preference_probabilities(fitness, preference)
    k = p.shape[0]
    return (rng.choice(k, size=n, replace=True, p=p).astype(np.int64),
            rng.choice(k, size=n, replace=True, p=p).astype(np.int64))


def select_tournament(fitness, n, tournament_size, rng):
    """Draw ``n`` parent pairs, each the best of ``tournament_size`` random entrants."""
    f = np.asarray(fitness, dtype=np.float64)
    key = np.where(np.isfinite(f), f, -np.inf)
    k = key.shape[0]

    def one():
        entrants = rng.integers(0, k, size=(n, tournament_size))
        best = np.argmax(key[entrants], axis=1)
        return entrants[np.arange(n), best].astype(np.int64)

    return one(), one()
