"""PGPE (Sehnke et al. 2010): symmetric sampling, learned spreads, ClipUp."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..validation import check_positive, check_rate
from .base import ESState, EvolutionStrategy
from .optim import clipup_step
from .shaping import centered_ranks

__all__ = ["PGPE", "PGPEState"]


@dataclass
class PGPEState(ESState):
    """A PGPE run: the center (``mean``), the spreads ``sigma`` and ClipUp's ``velocity``."""

    sigma: np.ndarray = None
    velocity: np.ndarray = None


class PGPE(EvolutionStrategy):
    """Policy gradients with parameter-based exploration (Sehnke et al. 2010).

    The symmetric variant, as EvoTorch implements it: pairs ``center +-
    sigma * z``, fitness shaped into centered ranks ``s``; with ``a = (s+ -
    s-) / 2`` and ``b = (s+ + s-) / 2`` per pair and ``D = pop_size / 2``
    pairs, the center follows ``sum a sigma z / D`` with ClipUp (Toklu et al.
    2020) and the per-parameter spreads move by ``sigma_learning_rate * sum b
    sigma (z**2 - 1) / D``, each by at most ``sigma_max_change`` of itself.

    Parameters
    ----------
    spec : NetworkSpec, sequence or int
        The networks' layout, or ``n`` for plain vectors of ``n`` parameters.
    pop_size : int, default=100
        Even.
    sigma : float, default=0.1
        Initial standard deviation of every parameter.
    learning_rate : float, default=0.075
        ClipUp's step size: the length of the normalised gradient step
        (Toklu et al. suggest half the largest step, 0.15 for their policies).
    max_speed : float, optional
        ClipUp's largest step. Default: ``2 * learning_rate`` (EvoTorch).
    momentum : float, default=0.9
    sigma_learning_rate : float, default=0.1
    sigma_max_change : float, default=0.2
        Largest relative change of a spread in one generation, in (0, 1).
    center_init : float or array-like of shape (n_params,), optional
        The initial center (default as in :class:`OpenES`).
    threshold, patience, random_state, verbose
        As in :class:`OpenES`.

    Attributes
    ----------
    population_, state_ (a :class:`PGPEState`), history_, best_genome_, best_fitness_, mean_
    """

    _file_kind = "pgpe"
    _state_class = PGPEState
    _always_antithetic = True
    _vector_fields = ("sigma", "velocity")

    def __init__(self, spec, pop_size=100, sigma=0.1, learning_rate=0.075, max_speed=None,
                 momentum=0.9, sigma_learning_rate=0.1, sigma_max_change=0.2, center_init=None,
                 threshold=None, patience=None, random_state=None, verbose=False):
        self.spec = spec
        self.pop_size = pop_size
        self.sigma = sigma
        self.learning_rate = learning_rate
        self.max_speed = max_speed
        self.momentum = momentum
        self.sigma_learning_rate = sigma_learning_rate
        self.sigma_max_change = sigma_max_change
        self.center_init = center_init
        self.threshold = threshold
        self.patience = patience
        self.random_state = random_state
        self.verbose = verbose

    def _check(self, n_params, pop_size):
        check_positive(self.learning_rate, "learning_rate")
        if self.max_speed is not None:
            check_positive(self.max_speed, "max_speed")
        check_rate(self.momentum, "momentum", 0.0, 1.0)
        check_positive(self.sigma_learning_rate, "sigma_learning_rate", allow_zero=True)
        c = check_rate(self.sigma_max_change, "sigma_max_change", 0.0, 1.0)
        if not 0.0 < c < 1.0:
            raise ValueError(f"sigma_max_change: must be in (0, 1), got {c}")

    def _new_state(self, seed, center, n_params, pop_size):
        return PGPEState(seed=seed, mean=center, sigma=np.full(n_params, float(self.sigma)),
                         velocity=np.zeros(n_params))

    def _scale(self):
        return self.state_.sigma

    def _step(self, fitness):
        st = self.state_
        s = centered_ranks(fitness)
        a, b = self._directions(s)  # s+ - s-, s+ + s-
        a, b = a / 2, b / 2
        n_dirs = a.shape[0]
        s1, s2 = self._sums(a, b)
        sigma = st.sigma
        grad_mean = sigma * s1 / n_dirs
        grad_sigma = sigma * (s2 - b.sum()) / n_dirs
        lr = float(self.learning_rate)
        speed = 2.0 * lr if self.max_speed is None else float(self.max_speed)
        st.mean += clipup_step(grad_mean, st.velocity, lr, float(self.momentum), speed)
        change = float(self.sigma_max_change) * sigma
        st.sigma = np.clip(sigma + float(self.sigma_learning_rate) * grad_sigma,
                           sigma - change, sigma + change)
