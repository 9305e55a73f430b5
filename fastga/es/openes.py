"""OpenAI-ES (Salimans et al. 2017): mirrored sampling, centered ranks, Adam."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..validation import check_positive, check_rate
from .base import ESState, EvolutionStrategy
from .optim import adam_step
from .shaping import centered_ranks

__all__ = ["OpenES", "OpenESState"]


@dataclass
class OpenESState(ESState):
    """An OpenES run: the center (``mean``) and Adam's moments ``m`` and ``v``."""

    m: np.ndarray = None
    v: np.ndarray = None


class OpenES(EvolutionStrategy):
    """OpenAI evolution strategy (Salimans et al. 2017).

    Each generation samples ``center +- sigma * z`` (mirrored pairs, unless
    ``antithetic=False``), shapes the fitness into centered ranks ``s`` in
    ``[-0.5, 0.5]`` and follows the gradient estimate
    ``g = sum_i s_i z_i / (pop_size * sigma) - weight_decay * center`` with
    Adam. ``sigma`` stays fixed.

    Parameters
    ----------
    spec : NetworkSpec, sequence or int
        The networks' layout, or ``n`` for plain vectors of ``n`` parameters.
    pop_size : int, default=100
        Even with antithetic sampling.
    sigma : float, default=0.1
        Standard deviation of the perturbations.
    learning_rate : float, default=0.01
        Adam's step size (Salimans et al.: 0.01).
    beta1, beta2, eps : float, default=0.9, 0.999, 1e-8
        Adam's settings (optax's defaults, as evosax uses them).
    weight_decay : float, default=0.0
        L2 coefficient pulling the center towards 0.
    antithetic : bool, default=True
        Mirrored sampling.
    center_init : float or array-like of shape (n_params,), optional
        The initial center. Default: Glorot-uniform weights and zero biases
        drawn from ``random_state`` for networks, zeros for plain vectors.
    threshold : float, optional
        Stop once the best fitness reaches it.
    patience : int, optional
        Stop after this many generations without improvement.
    random_state : None, int or numpy.random.Generator
    verbose : bool, default=False

    Attributes
    ----------
    population_ : Population
    state_ : OpenESState
    history_ : History
    best_genome_ : ndarray of float32
    best_fitness_ : float
    mean_ : ndarray of float32
        The center.

    Examples
    --------
    >>> import numpy as np
    >>> es = OpenES(10, pop_size=20, sigma=0.1, learning_rate=0.1, random_state=0)
    >>> es = es.run(lambda pop: -((pop.genomes - 1.0) ** 2).sum(axis=1), generations=200)
    >>> bool(np.abs(es.mean_ - 1.0).max() < 0.2)
    True
    """

    _file_kind = "openes"
    _state_class = OpenESState
    _vector_fields = ("m", "v")

    def __init__(self, spec, pop_size=100, sigma=0.1, learning_rate=0.01, beta1=0.9,
                 beta2=0.999, eps=1e-8, weight_decay=0.0, antithetic=True, center_init=None,
                 threshold=None, patience=None, random_state=None, verbose=False):
        self.spec = spec
        self.pop_size = pop_size
        self.sigma = sigma
        self.learning_rate = learning_rate
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weight_decay = weight_decay
        self.antithetic = antithetic
        self.center_init = center_init
        self.threshold = threshold
        self.patience = patience
        self.random_state = random_state
        self.verbose = verbose

    def _check(self, n_params, pop_size):
        if not isinstance(self.antithetic, (bool, np.bool_)):
            raise TypeError(f"antithetic: expected a bool, got {self.antithetic!r}")
        check_positive(self.learning_rate, "learning_rate")
        check_rate(self.beta1, "beta1", 0.0, 0.999999)
        check_rate(self.beta2, "beta2", 0.0, 0.999999999)
        check_positive(self.eps, "eps")
        check_positive(self.weight_decay, "weight_decay", allow_zero=True)

    def _new_state(self, seed, center, n_params, pop_size):
        return OpenESState(seed=seed, mean=center, m=np.zeros(n_params), v=np.zeros(n_params))

    def _scale(self):
        return np.full(self.state_.mean.shape[0], float(self.sigma))

    def _step(self, fitness):
        st = self.state_
        s = centered_ranks(fitness)
        a, _ = self._directions(s)
        s1, _ = self._sums(a)
        grad = s1 / (fitness.shape[0] * float(self.sigma))
        if self.weight_decay:
            grad -= float(self.weight_decay) * st.mean
        st.mean += adam_step(grad, st.m, st.v, st.updates + 1, float(self.learning_rate),
                             float(self.beta1), float(self.beta2), float(self.eps))
