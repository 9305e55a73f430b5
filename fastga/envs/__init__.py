"""Vectorised environments stepped by Numba kernels.

``fastga.envs.make(name)`` gives a :class:`ClassicControlEnv`, a port of one
of gymnasium's classic-control environments (:data:`NAMES`) that steps N
copies at once::

    env = fastga.envs.make("CartPole-v1")
    obs = env.reset(n=8, seed=0)                       # (8, 4) float32
    obs, reward, terminated, truncated = env.step(np.zeros(8, dtype=np.int64))

gymnasium is not needed (it is only used for ``observation_space`` and
``action_space``). :class:`fastga.control.RolloutFitness` runs whole
episodes of a population's policies in these environments inside one kernel.
"""

from .classic_control import NAMES, ClassicControlEnv, EnvInfo, make

__all__ = ["make", "NAMES", "ClassicControlEnv", "EnvInfo"]
