"""Evolutionary search over network traits (architecture and SGD hyperparameters)."""

from __future__ import annotations

import math
import time

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin

from .._random import philox, resolve_seed
from ..history import History
from ..progress import progress_bar
from ..registry import Purpose
from ..spec import activation_code
from ..validation import check_int, check_rate
from .trainer import check_data, train_candidates
from .traits import TraitBounds, breed, mutate, randomize

__all__ = ["ArchitectureSearch"]


def _rank_key(scores):
    """Sort keys: finite validation MSE ascending, diverged (NaN/inf) last."""
    s = np.asarray(scores, dtype=np.float64)
    return np.where(np.isfinite(s), s, np.inf)


class ArchitectureSearch(RegressorMixin, BaseEstimator):
    """Evolve network traits; every candidate is trained by SGD kernels and ranked on validation MSE.

    Each generation trains all its new candidates in parallel (a ``nogil``
    kernel over candidates on fastga's threads, parameters in one ragged
    float32 buffer),
    each from a fresh Glorot initialisation for the same number of
    ``epochs``. Survivors keep their trained weights and score and are never
    trained again, so every candidate gets the same budget. Diverged
    candidates (NaN/inf loss) rank last.

    Parameters
    ----------
    population_size : int
        Candidates per generation (>= 2); constant over the run.
    generations : int
        Number of generations (>= 1); generation 0 is random.
    epochs : int
        Training epochs of every candidate.
    activation : str
        Hidden-layer activation (output is linear).
    bounds : TraitBounds or dict, optional
        Ranges of the traits (defaults: :class:`TraitBounds`).
    elite_fraction : float
        Share of the best candidates carried over unchanged.
    parent_fraction : float
        Share of the best candidates that breed.
    random_fraction : float
        Share of each new generation drawn at random (fresh ideas).
    mutation_rate : float
        Probability that a child has 1 to 3 traits re-drawn (the reference's 1%).
    validation_fraction : float
        Used by :meth:`fit` when no validation set is given.
    random_state : None, int or numpy Generator
        The search is reproducible from it (whatever the thread count).
    verbose : bool
        Show a progress bar (one step per generation).

    Attributes
    ----------
    best_traits_ : Traits
    best_network_ : Network
        Trained network of the best candidate.
    best_score_ : float
        Its validation MSE.
    history_ : History
        Per generation: ``best_val_mse``, ``median_val_mse``, ``n_trained``,
        ``n_diverged``, ``best_n_params``, ``seconds``.
    results_ : list of dict
        Every trained candidate: ``generation``, ``id``, ``traits``,
        ``val_mse``, ``train_mse``.
    n_features_in_, n_outputs_ : int

    Examples
    --------
    >>> from fastga.search import ArchitectureSearch, make_splits
    >>> d = make_splits("sin", 400, random_state=0)
    >>> s = ArchitectureSearch(population_size=4, generations=2, epochs=2, random_state=0)
    >>> s = s.fit(d.X_train, d.y_train, d.X_val, d.y_val)
    >>> s.predict(d.X_test).shape
    (80, 1)
    """

    def __init__(self, population_size=20, generations=10, epochs=10, activation="tanh",
                 bounds=None, elite_fraction=0.2, parent_fraction=0.5, random_fraction=0.2,
                 mutation_rate=0.01, validation_fraction=0.25, random_state=None, verbose=False):
        self.population_size = population_size
        self.generations = generations
        self.epochs = epochs
        self.activation = activation
        self.bounds = bounds
        self.elite_fraction = elite_fraction
        self.parent_fraction = parent_fraction
        self.random_fraction = random_fraction
        self.mutation_rate = mutation_rate
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ fit
    def _validated(self):
        p = check_int(self.population_size, "population_size", minimum=2)
        g = check_int(self.generations, "generations", minimum=1)
        e = check_int(self.epochs, "epochs", minimum=1)
        activation_code(self.activation)
        bounds = TraitBounds.coerce(self.bounds)
        elite = check_rate(self.elite_fraction, "elite_fraction")
        parents = check_rate(self.parent_fraction, "parent_fraction")
        rand = check_rate(self.random_fraction, "random_fraction")
        mut = check_rate(self.mutation_rate, "mutation_rate")
        n_elite = max(1, int(round(elite * p)))
        n_parents = max(2, int(round(parents * p)))
        n_random = int(round(rand * p))
        if n_elite + n_random > p:
            raise ValueError(
                f"random_fraction: elites ({n_elite}) plus random candidates ({n_random}) "
                f"exceed population_size ({p})")
        return p, g, e, bounds, n_elite, min(n_parents, p), n_random, mut

    def fit(self, X, y, X_val=None, y_val=None):
        """Run the search.

        Parameters
        ----------
        X : array-like (n, n_features) or (n,)
        y : array-like (n,) or (n, n_outputs)
            Training data.
        X_val, y_val : array-like, optional
            Validation data that ranks the candidates. When absent,
            ``validation_fraction`` of ``(X, y)`` is held out for it.

        Returns
        -------
        self
        """
        p, n_gen, epochs, bounds, n_elite, n_parents, n_random, mut = self._validated()
        seed = resolve_seed(self.random_state)
        X, y = check_data(X, y)
        if (X_val is None) != (y_val is None):
            raise ValueError("X_val: give both X_val and y_val, or neither")
        if X_val is None:
            frac = check_rate(self.validation_fraction, "validation_fraction")
            if not 0 < frac < 1:
                raise ValueError(f"validation_fraction: must lie in (0, 1), got {frac}")
            n_val = max(1, int(round(frac * X.shape[0])))
            if X.shape[0] - n_val < 1:
                raise ValueError(f"X: {X.shape[0]} samples are too few to hold out a validation set")
            perm = philox(seed, 0, Purpose.VALSPLIT).permutation(X.shape[0])
            X_val, y_val = X[perm[:n_val]], y[perm[:n_val]]
            X, y = X[perm[n_val:]], y[perm[n_val:]]
        else:
            X_val, y_val = check_data(X_val, y_val, "X_val", "y_val", n_features=X.shape[1],
                                      n_outputs=y.shape[1])

        history = History()
        results = []
        next_id = 0
        pop = []  # list of (traits, val_mse, network)
        bar = progress_bar(n_gen, "gen", disable=not self.verbose, desc="search")
        try:
            for gen in range(n_gen):
                t0 = time.perf_counter()
                rng = philox(seed, gen, Purpose.TRAITS)
                if gen == 0:
                    keep, new = [], [randomize(rng, bounds) for _ in range(p)]
                else:
                    keep = pop[:n_elite]
                    parents = [c[0] for c in pop[:n_parents]]
                    new = [randomize(rng, bounds) for _ in range(n_random)]
                    while len(keep) + len(new) < p:
                        i, j = rng.choice(len(parents), size=2, replace=False)
                        for child in breed(parents[i], parents[j], rng):
                            if len(keep) + len(new) < p:
                                new.append(mutate(child, rng, bounds, mut)[0])
                ids = np.arange(next_id, next_id + len(new), dtype=np.int64)
                next_id += len(new)
                res = train_candidates(new, X, y, X_val, y_val, epochs, seed, gen, ids,
                                       activation=self.activation)
                for k, t in enumerate(new):
                    results.append({"generation": gen, "id": int(ids[k]), "traits": t.to_dict(),
                                    "val_mse": float(res.val_mse[k]),
                                    "train_mse": float(res.train_mse[k])})
                cands = keep + [(t, float(res.val_mse[k]), res.networks[k])
                                for k, t in enumerate(new)]
                order = np.argsort(_rank_key([c[1] for c in cands]), kind="stable")
                pop = [cands[i] for i in order]
                scores = np.array([c[1] for c in pop])
                finite = scores[np.isfinite(scores)]
                history.append({
                    "generation": gen,
                    "best_val_mse": pop[0][1],
                    "median_val_mse": float(np.median(finite)) if finite.size else math.nan,
                    "n_trained": len(new),
                    "n_diverged": int((~np.isfinite(res.val_mse)).sum()),
                    "best_n_params": pop[0][2].spec.n_params,
                    "seconds": time.perf_counter() - t0,
                })
                bar.update(1)
                bar.set_postfix(best_mse=f"{pop[0][1]:.5f}")
        finally:
            bar.close()

        self.best_traits_, self.best_score_, self.best_network_ = pop[0]
        self.population_ = [c[0] for c in pop]
        self.scores_ = np.array([c[1] for c in pop])
        self.history_ = history
        self.results_ = results
        self.n_features_in_ = X.shape[1]
        self.n_outputs_ = y.shape[1]
        self.seed_ = seed
        return self

    # ------------------------------------------------------------- results
    def _check_fitted(self):
        if not hasattr(self, "best_network_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("ArchitectureSearch: call fit() first")

    def predict(self, X):
        """Outputs of the best network, float32 (n_samples, n_outputs)."""
        self._check_fitted()
        arr = np.asarray(X)
        if arr.ndim == 1:
            arr = arr.reshape(-1, 1)
        return self.best_network_.predict(arr)

    # score(X, y): R^2 of the best network (from RegressorMixin).

    def mse(self, X, y):
        """Mean squared error of the best network on ``(X, y)``."""
        X, y = check_data(X, y, n_features=getattr(self, "n_features_in_", None))
        return float(((self.predict(X).astype(np.float64) - y) ** 2).mean())
