"""SNES (Schaul et al. 2011): separable natural evolution strategy."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..validation import check_positive
from .base import ESState, EvolutionStrategy
from .shaping import nes_utilities, rank_weights

__all__ = ["SNES", "SNESState"]


@dataclass
class SNESState(ESState):
    """A SNES run: the center (``mean``) and the spreads ``sigma``."""

    sigma: np.ndarray = None


class SNES(EvolutionStrategy):
    """Separable natural evolution strategy (Schaul et al. 2011).

    Samples ``center + sigma * z``, gives the NES utilities ``u`` by rank
    (:func:`~fastga.es.shaping.nes_utilities`, summing to 0), then
    ``center += learning_rate * sigma * sum u z`` and ``sigma *= exp(
    sigma_learning_rate / 2 * sum u (z**2 - 1))``, as evosax does.

    Parameters
    ----------
    spec : NetworkSpec, sequence or int
        The networks' layout, or ``n`` for plain vectors of ``n`` parameters.
    pop_size : int, default=100
    sigma : float, default=0.1
        Initial standard deviation of every parameter.
    learning_rate : float, default=1.0
        Of the center.
    sigma_learning_rate : float, optional
        Of the spreads. Default: ``(3 + log n) / (5 sqrt n)`` for ``n``
        parameters (Schaul et al.).
    center_init : float or array-like of shape (n_params,), optional
        The initial center (default as in :class:`OpenES`).
    threshold, patience, random_state, verbose
        As in :class:`OpenES`.

    Attributes
    ----------
    population_, state_ (a :class:`SNESState`), history_, best_genome_, best_fitness_, mean_
    """

    _file_kind = "snes"
    _state_class = SNESState
    _vector_fields = ("sigma",)
    _shared_coefficient = True

    def __init__(self, spec, pop_size=100, sigma=0.1, learning_rate=1.0,
                 sigma_learning_rate=None, center_init=None, threshold=None, patience=None,
                 random_state=None, verbose=False):
        self.spec = spec
        self.pop_size = pop_size
        self.sigma = sigma
        self.learning_rate = learning_rate
        self.sigma_learning_rate = sigma_learning_rate
        self.center_init = center_init
        self.threshold = threshold
        self.patience = patience
        self.random_state = random_state
        self.verbose = verbose

    def _check(self, n_params, pop_size):
        check_positive(self.learning_rate, "learning_rate")
        if self.sigma_learning_rate is not None:
            check_positive(self.sigma_learning_rate, "sigma_learning_rate")

    def _sigma_rate(self, n):
        if self.sigma_learning_rate is not None:
            return float(self.sigma_learning_rate)
        return (3.0 + np.log(n)) / (5.0 * np.sqrt(n))

    def _new_state(self, seed, center, n_params, pop_size):
        return SNESState(seed=seed, mean=center, sigma=np.full(n_params, float(self.sigma)))

    def _scale(self):
        return self.state_.sigma

    def _step(self, fitness):
        st = self.state_
        u = rank_weights(fitness, nes_utilities(fitness.shape[0]))
        s1, s2 = self._sums(u, u)
        st.mean += float(self.learning_rate) * st.sigma * s1
        st.sigma = st.sigma * np.exp(0.5 * self._sigma_rate(st.sigma.shape[0]) * (s2 - u.sum()))
