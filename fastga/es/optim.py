"""Optimizers of an ES center: Adam and ClipUp, as steps on float64 vectors.

Both *ascend* (the gradient points to higher fitness) and update their
state arrays in place, so the state is plain arrays a checkpoint saves.
"""

from __future__ import annotations

import numpy as np

__all__ = ["adam_step", "clipup_step"]


def adam_step(grad, m, v, t, learning_rate, beta1, beta2, eps):
    """Adam (Kingma and Ba 2015): the step for the ``t``-th update (``t >= 1``).

    ``m`` and ``v`` are the moment estimates, updated in place. The step is
    ``learning_rate * m_hat / (sqrt(v_hat) + eps)`` (optax's ``adam``).
    """
    m *= beta1
    m += (1.0 - beta1) * grad
    v *= beta2
    v += (1.0 - beta2) * (grad * grad)
    m_hat = m / (1.0 - beta1 ** t)
    v_hat = v / (1.0 - beta2 ** t)
    return learning_rate * m_hat / (np.sqrt(v_hat) + eps)


def clipup_step(grad, velocity, learning_rate, momentum, max_speed):
    """ClipUp (Toklu et al. 2020): the step, which is the new velocity.

    The gradient is normalised to length ``learning_rate`` (none if it is
    zero), added to ``momentum * velocity``, and the sum is scaled down to
    length ``max_speed`` if it is longer. ``velocity`` is updated in place.
    """
    norm = float(np.sqrt((grad * grad).sum()))
    velocity *= momentum
    if norm > 0.0:
        velocity += grad * (learning_rate / norm)
    speed = float(np.sqrt((velocity * velocity).sum()))
    if speed > max_speed:
        velocity *= max_speed / speed
    return velocity.copy()
