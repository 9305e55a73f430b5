"""gymnasium's classic-control environments, ported to Numba, vectorised.

The dynamics, rewards and termination rules are those of gymnasium's
CartPole-v1, Acrobot-v1, MountainCarContinuous-v0 and Pendulum-v1 (see
:mod:`fastga.kernels.envs`); episodes are truncated at gymnasium's time
limits (500, 500, 999 and 200 steps). Initial states are drawn from
fastga's counter-based streams, from the same distributions as gymnasium's
but not the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._random import resolve_seed
from ..kernels.envs import ENVIRONMENTS
from ..validation import check_int

__all__ = ["EnvInfo", "ClassicControlEnv", "make", "NAMES", "INFO"]


@dataclass(frozen=True)
class EnvInfo:
    """What the task layer needs to know of a ported environment.

    Attributes
    ----------
    name : str
        gymnasium's id.
    obs_dim, state_dim : int
        Sizes of an observation and of the internal (float64) state.
    discrete : bool
        Whether actions are integers ``0 .. n_actions - 1``.
    n_actions : int
        Number of discrete actions, or of action components (continuous).
    max_steps : int
        gymnasium's time limit (truncation).
    action_low, action_high : tuple of float
        Bounds of a continuous action (empty for discrete spaces).
    obs_high : tuple of float
        Bounds of the observation space (symmetric except MountainCar's).
    obs_low : tuple of float
    reward_threshold : float or None
        gymnasium's threshold of a solved task.
    """

    name: str
    obs_dim: int
    state_dim: int
    discrete: bool
    n_actions: int
    max_steps: int
    action_low: tuple
    action_high: tuple
    obs_low: tuple
    obs_high: tuple
    reward_threshold: float | None


_INF = float("inf")
_TH = 12 * 2 * np.pi / 360

INFO = {
    "CartPole-v1": EnvInfo("CartPole-v1", 4, 4, True, 2, 500, (), (),
                           (-4.8, -_INF, -2 * _TH, -_INF), (4.8, _INF, 2 * _TH, _INF), 475.0),
    "Acrobot-v1": EnvInfo("Acrobot-v1", 6, 4, True, 3, 500, (), (),
                          (-1.0, -1.0, -1.0, -1.0, -4 * np.pi, -9 * np.pi),
                          (1.0, 1.0, 1.0, 1.0, 4 * np.pi, 9 * np.pi), -100.0),
    "MountainCarContinuous-v0": EnvInfo("MountainCarContinuous-v0", 2, 2, False, 1, 999,
                                        (-1.0,), (1.0,), (-1.2, -0.07), (0.6, 0.07), 90.0),
    "Pendulum-v1": EnvInfo("Pendulum-v1", 3, 2, False, 1, 200, (-2.0,), (2.0,),
                           (-1.0, -1.0, -8.0), (1.0, 1.0, 8.0), None),
}

#: The ids of the ported environments.
NAMES = tuple(INFO)


class ClassicControlEnv:
    """N copies of one ported environment, stepped together.

    There is no automatic reset: once a copy terminates or is truncated,
    its further steps are not meaningful (as with gymnasium's environments
    without a wrapper); call :meth:`reset` again, or mask the finished copies.

    Attributes
    ----------
    info : EnvInfo
    num_envs : int
        Copies since the last :meth:`reset` (0 before it).
    """

    def __init__(self, name):
        if name not in INFO:
            raise ValueError(f"name: expected one of {list(NAMES)}, got {name!r}")
        self.info = INFO[name]
        self._reset_kernel, self._step_kernel, self.rollout_kernel = ENVIRONMENTS[name]
        self.num_envs = 0

    @property
    def name(self):
        return self.info.name

    # ------------------------------------------------------------- spaces
    @property
    def observation_space(self):
        """gymnasium's ``Box`` of the observations (needs gymnasium)."""
        from gymnasium import spaces

        return spaces.Box(np.asarray(self.info.obs_low, dtype=np.float32),
                          np.asarray(self.info.obs_high, dtype=np.float32), dtype=np.float32)

    @property
    def action_space(self):
        """gymnasium's ``Discrete`` or ``Box`` of one copy's actions (needs gymnasium)."""
        from gymnasium import spaces

        if self.info.discrete:
            return spaces.Discrete(self.info.n_actions)
        return spaces.Box(np.asarray(self.info.action_low, dtype=np.float32),
                          np.asarray(self.info.action_high, dtype=np.float32), dtype=np.float32)

    # -------------------------------------------------------------- state
    @property
    def state(self):
        """The float64 states, (num_envs, state_dim) (a view: writable, for tests)."""
        self._check_reset()
        return self._state

    @property
    def elapsed_steps(self):
        """Steps since each copy's reset, (num_envs,) int64 (a view)."""
        self._check_reset()
        return self._t

    def _check_reset(self):
        if self.num_envs == 0:
            raise RuntimeError("call reset() first")

    # -------------------------------------------------------------- steps
    def reset(self, n=1, seed=None):
        """Start ``n`` new episodes.

        Parameters
        ----------
        n : int
            Number of copies.
        seed : None or int
            Copy ``i`` starts from episode ``i`` of the reset stream of
            ``seed`` (the stream :class:`~fastga.control.RolloutFitness`
            uses for common episodes at generation 0).

        Returns
        -------
        ndarray of float32, shape (n, obs_dim)
        """
        n = check_int(n, "n", minimum=1)
        seed = resolve_seed(seed)
        info = self.info
        self._state = np.zeros((n, info.state_dim), dtype=np.float64)
        self._t = np.zeros(n, dtype=np.int64)
        obs = np.empty((n, info.obs_dim), dtype=np.float32)
        self._reset_kernel(self._state, self._t, obs, seed, 0, 0, n)
        self.num_envs = n
        return obs

    def step(self, actions):
        """Advance every copy by one step.

        Parameters
        ----------
        actions : array-like
            (num_envs,) ints in ``[0, n_actions)`` for a discrete space;
            (num_envs, n_actions) floats for a continuous one ((num_envs,)
            too where there is one component). Continuous actions are
            clipped to the bounds by the dynamics, as gymnasium does.

        Returns
        -------
        obs : ndarray of float32, shape (num_envs, obs_dim)
        reward : ndarray of float64, shape (num_envs,)
        terminated, truncated : ndarray of bool, shape (num_envs,)
            ``truncated``: the copy reached the time limit ``max_steps``.
        """
        self._check_reset()
        n, info = self.num_envs, self.info
        if info.discrete:
            try:
                a = np.asarray(actions)
            except (TypeError, ValueError):
                raise TypeError("actions: expected an array of ints") from None
            if a.shape != (n,) or not (np.issubdtype(a.dtype, np.integer) or a.dtype == bool):
                raise ValueError(f"actions: expected ({n},) ints for {info.name}, got shape "
                                 f"{a.shape} of {a.dtype}")
            a = a.astype(np.int64)
            if n and (a.min() < 0 or a.max() >= info.n_actions):
                raise ValueError(f"actions: expected values in [0, {info.n_actions}), got "
                                 f"{a.min()} .. {a.max()}")
            u = np.zeros((n, 1), dtype=np.float32)
        else:
            u = np.asarray(actions, dtype=np.float32)
            if u.ndim == 1 and info.n_actions == 1:
                u = u.reshape(n if u.shape[0] == n else -1, 1)
            if u.shape != (n, info.n_actions):
                raise ValueError(f"actions: expected shape ({n}, {info.n_actions}) for "
                                 f"{info.name}, got {np.shape(actions)}")
            if not np.isfinite(u).all():
                raise ValueError("actions: contains NaN or infinite values")
            u = np.ascontiguousarray(u)
            a = np.zeros(n, dtype=np.int64)
        obs = np.empty((n, info.obs_dim), dtype=np.float32)
        reward = np.empty(n, dtype=np.float64)
        terminated = np.empty(n, dtype=np.bool_)
        truncated = np.empty(n, dtype=np.bool_)
        self._step_kernel(self._state, self._t, a, u, info.max_steps, obs, reward, terminated,
                          truncated, 0, n)
        return obs, reward, terminated, truncated

    def __repr__(self):
        return f"ClassicControlEnv({self.name!r}, num_envs={self.num_envs})"


def make(name):
    """The vectorised Numba port of gymnasium environment ``name`` (one of :data:`NAMES`)."""
    return ClassicControlEnv(name)
