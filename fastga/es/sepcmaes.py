"""Sep-CMA-ES (Ros and Hansen 2008): CMA-ES with a diagonal covariance."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import ESState, EvolutionStrategy
from .shaping import cma_weights, rank_weights

__all__ = ["SepCMAES", "SepCMAESState"]

_C_MAX = 1e8
_C_EPS = 1e-8
_STEP_MAX = 1e8


@dataclass
class SepCMAESState(ESState):
    """A Sep-CMA-ES run: the center (``mean``), the step size ``step``, the
    evolution paths ``p_sigma`` and ``p_c`` and the diagonal covariance ``C``."""

    step: float = 0.0
    p_sigma: np.ndarray = None
    p_c: np.ndarray = None
    C: np.ndarray = None


def _constants(n, pop_size):
    """The strategy's constants (Hansen 2016, with evosax's choices for Sep-CMA-ES:
    the better half recombined, no negative weights)."""
    w, mu_eff = cma_weights(pop_size)
    c_c = (4 + mu_eff / n) / (n + 4 + 2 * mu_eff / n)
    c_1 = 2 / ((n + 1.3) ** 2 + mu_eff)
    c_mu = min(1 - c_1 - 1e-8, 2 * (mu_eff + 1 / mu_eff - 2) / ((n + 2) ** 2 + mu_eff))
    c_sigma = (mu_eff + 2) / (n + mu_eff + 5)
    d_sigma = 1 + 2 * max(0.0, np.sqrt((mu_eff - 1) / (n + 1)) - 1) + c_sigma
    chi_n = np.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n ** 2))
    return w, mu_eff, c_c, c_1, c_mu, c_sigma, d_sigma, chi_n


class SepCMAES(EvolutionStrategy):
    """Separable CMA-ES (Ros and Hansen 2008), as evosax implements it.

    Samples ``center + step * sqrt(C) * z``; the better half is recombined
    with the CMA weights; the step size follows cumulative step-size
    adaptation and the diagonal ``C`` the rank-one and rank-mu updates
    restricted to the diagonal. After every update ``C`` is clipped to
    ``[0, 1e8]`` and loaded with ``1e-8``.

    Parameters
    ----------
    spec : NetworkSpec, sequence or int
        The networks' layout, or ``n`` for plain vectors of ``n`` parameters.
    pop_size : int, default=100
    sigma : float, default=0.1
        Initial step size.
    center_init : float or array-like of shape (n_params,), optional
        The initial center (default as in :class:`OpenES`).
    threshold, patience, random_state, verbose
        As in :class:`OpenES`.

    Attributes
    ----------
    population_, state_ (a :class:`SepCMAESState`), history_, best_genome_, best_fitness_, mean_
    """

    _file_kind = "sepcmaes"
    _state_class = SepCMAESState
    _vector_fields = ("p_sigma", "p_c", "C")

    def __init__(self, spec, pop_size=100, sigma=0.1, center_init=None, threshold=None,
                 patience=None, random_state=None, verbose=False):
        self.spec = spec
        self.pop_size = pop_size
        self.sigma = sigma
        self.center_init = center_init
        self.threshold = threshold
        self.patience = patience
        self.random_state = random_state
        self.verbose = verbose

    def _new_state(self, seed, center, n_params, pop_size):
        return SepCMAESState(seed=seed, mean=center, step=float(self.sigma),
                             p_sigma=np.zeros(n_params), p_c=np.zeros(n_params),
                             C=np.full(n_params, 1.0 + _C_EPS))

    def _scale(self):
        return self.state_.step * np.sqrt(self.state_.C)

    def _step(self, fitness):
        st = self.state_
        n, pop_size = st.mean.shape[0], fitness.shape[0]
        w_best, mu_eff, c_c, c_1, c_mu, c_sigma, d_sigma, chi_n = _constants(n, pop_size)
        w = rank_weights(fitness, w_best)
        zw, zw2 = self._sums(w, w)  # sum w z, sum w z**2
        D = np.sqrt(st.C)
        y_w = D * zw
        st.mean = st.mean + st.step * y_w
        st.p_sigma = (1 - c_sigma) * st.p_sigma + np.sqrt(c_sigma * (2 - c_sigma) * mu_eff) * zw
        norm = float(np.sqrt((st.p_sigma * st.p_sigma).sum()))
        st.step = float(min(st.step * np.exp((c_sigma / d_sigma) * (norm / chi_n - 1)),
                            _STEP_MAX))
        t = self.population_.generation + 2
        h = norm / np.sqrt(1 - (1 - c_sigma) ** (2 * t)) < (1.4 + 2 / (n + 1)) * chi_n
        st.p_c = (1 - c_c) * st.p_c + h * np.sqrt(c_c * (2 - c_c) * mu_eff) * y_w
        delta_h = (1 - h) * c_c * (2 - c_c)
        C = ((1 + c_1 * delta_h - c_1 - c_mu * w_best.sum()) * st.C + c_1 * st.p_c ** 2
             + c_mu * st.C * zw2)
        st.C = np.clip(C, 0.0, _C_MAX) + _C_EPS

    def _check_state(self, state, population):
        super()._check_state(state, population)
        if not np.isfinite(state.step) or state.step < 0:
            raise ValueError(f"step size {state.step} is out of range")
