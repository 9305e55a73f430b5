"""Fitness shaping: raw fitness to the weights of an ES update.

Every function takes the fitness as fastga's algorithms hold it (float64,
higher is better, invalid values already ``-inf``) and depends only on the
ranks, so any monotone change of the fitness gives the same update. Tied
individuals (all the invalid ones, for example) share the mean of the
weights of the places they take: a generation in which every fitness is
invalid has equal weights everywhere, and the utilities below, which sum to
zero, then move nothing.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ranks", "centered_ranks", "rank_weights", "nes_utilities", "cma_weights"]


def ranks(fitness):
    """Ascending ranks ``0 .. P-1`` of ``fitness`` (the best has ``P - 1``); ties
    get the mean of their ranks (float64)."""
    f = np.asarray(fitness, dtype=np.float64)
    order = np.argsort(f, kind="stable")
    out = np.empty(f.shape[0], dtype=np.float64)
    out[order] = _tie_mean(f, order, np.arange(f.shape[0], dtype=np.float64))
    return out


def _tie_mean(f, order, values):
    """``values`` (in the order ``order`` of ``f``), averaged over runs of equal fitness."""
    fs = f[order]
    out = np.array(values, dtype=np.float64)
    start = np.flatnonzero(np.r_[True, fs[1:] != fs[:-1]])
    if start.shape[0] == fs.shape[0]:
        return out
    sums = np.add.reduceat(out, start)
    counts = np.diff(np.r_[start, fs.shape[0]])
    return np.repeat(sums / counts, counts)


def centered_ranks(fitness):
    """Ranks scaled to ``[-0.5, 0.5]`` (the best ``+0.5``): Salimans et al. (2017)."""
    f = np.asarray(fitness, dtype=np.float64)
    n = f.shape[0]
    return ranks(f) / (n - 1) - 0.5


def rank_weights(fitness, weights):
    """``weights[0]`` to the best, ``weights[1]`` to the second, ...; ties share the
    mean of their places' weights."""
    f = np.asarray(fitness, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    order = np.argsort(-f, kind="stable")  # best first
    out = np.empty(f.shape[0], dtype=np.float64)
    out[order] = _tie_mean(-f, order, w)
    return out


def nes_utilities(pop_size):
    """The NES utilities (Wierstra et al. 2014), best first: ``max(0, log(P/2 + 1) -
    log(k))`` for ``k = 1 .. P``, normalised to sum 1, minus ``1 / P`` (sum 0)."""
    k = np.arange(1, pop_size + 1, dtype=np.float64)
    u = np.maximum(np.log(pop_size / 2 + 1) - np.log(k), 0.0)
    return u / u.sum() - 1.0 / pop_size


def cma_weights(pop_size):
    """The recombination weights of CMA-ES (Hansen 2016, eq. 49), best first:
    ``log((P+1)/2) - log(k)`` for the better half, normalised to sum 1, and 0
    for the rest; also returns ``mu_eff``."""
    k = np.arange(1, pop_size + 1, dtype=np.float64)
    prime = np.log((pop_size + 1) / 2) - np.log(k)
    mu = max(1, int(0.5 * pop_size))
    mu_eff = prime[:mu].sum() ** 2 / (prime[:mu] ** 2).sum()
    w = np.where(prime >= 0, prime / prime[prime > 0].sum(), 0.0)
    return w, float(mu_eff)
