"""The math of every activation (:class:`fastga.registry.Activation`), in one module.

Two forms of each:

- :func:`activate_block`: float32, in place on a block of the forward pass
  (rows = units, ``LANES`` samples per row), used by
  :mod:`fastga.kernels.forward` and :mod:`fastga.kernels.fitness`. Its loops
  run over samples and vectorise: the exponential is
  :func:`~fastga.kernels.exp.exp32`, not the C library's (a call per
  element).
- :func:`act_forward` and :func:`act_backward`: one sample's vector, any
  float dtype, for the SGD training kernel (:mod:`fastga.kernels.training`).
  The backward pass gets both the outputs and the pre-activations of the
  layer; each activation uses whichever gives its derivative most simply.

The codes are the registry's: Numba reads ``Activation.RELU`` as a
compile-time constant, so each branch costs nothing where ``act`` is known.
The NumPy references are ``activation`` in ``tests/naive.py`` and
``activate``/``activation_vjp`` in ``tests/naive_training.py``.

The kernels of the other modules compile these functions in, and Numba
invalidates a cached kernel only when its own file changes: after editing
this module, delete ``fastga/kernels/__pycache__/*.nbi`` and ``*.nbc``.
"""

import numpy as np
from numba import njit

from ..registry import LEAKY_SLOPE, Activation
from .exp import exp32

__all__ = ["activate_block", "act_forward", "act_backward"]

_SLOPE = np.float32(LEAKY_SLOPE)
_F0 = np.float32(0.0)
_F1 = np.float32(1.0)


@njit(cache=True, fastmath={"contract"}, error_model="numpy")
def activate_block(v, n, act, tmp, nl):
    """Apply activation ``act`` in place to rows ``v[:n]`` of a block (n, LANES),
    samples ``0 .. nl-1`` of each row.

    ``tmp`` is float32 scratch of at least ``2 * nl`` (softmax only).
    """
    # Row views (``vj = v[j]``) keep every inner index a plain loop counter,
    # which Numba's negative-index handling needs for contiguous SIMD access.
    if act == Activation.RELU:
        for j in range(n):
            vj = v[j]
            for s in range(nl):
                x = vj[s]
                vj[s] = x if x > _F0 else _F0
    elif act == Activation.LEAKY_RELU:
        for j in range(n):
            vj = v[j]
            for s in range(nl):
                x = vj[s]
                vj[s] = x if x > _F0 else x * _SLOPE
    elif act == Activation.SIGMOID:
        for j in range(n):
            vj = v[j]
            for s in range(nl):
                vj[s] = 1.0 / (1.0 + np.exp(-vj[s]))
    elif act == Activation.TANH:
        for j in range(n):
            vj = v[j]
            for s in range(nl):
                vj[s] = np.tanh(vj[s])
    elif act == Activation.SOFTMAX:
        m = tmp[:nl]
        t = tmp[nl:2 * nl]
        v0 = v[0]
        for s in range(nl):
            m[s] = v0[s]
            t[s] = _F0
        for j in range(1, n):
            vj = v[j]
            for s in range(nl):
                x = vj[s]
                ms = m[s]
                m[s] = x if x > ms else ms
        for j in range(n):
            vj = v[j]
            for s in range(nl):
                e = exp32(vj[s] - m[s])
                vj[s] = e
                t[s] += e
        for s in range(nl):
            t[s] = _F1 / t[s]
        for j in range(n):
            vj = v[j]
            for s in range(nl):
                vj[s] *= t[s]


@njit(cache=True, inline="always")
def act_forward(v, n, act):
    """Apply activation ``act`` in place to ``v[:n]`` (any float dtype)."""
    if act == Activation.RELU:
        for j in range(n):
            if v[j] < 0:
                v[j] = 0.0
    elif act == Activation.LEAKY_RELU:
        for j in range(n):
            if v[j] < 0:
                v[j] = v[j] * LEAKY_SLOPE
    elif act == Activation.SIGMOID:
        for j in range(n):
            v[j] = 1.0 / (1.0 + np.exp(-v[j]))
    elif act == Activation.TANH:
        for j in range(n):
            v[j] = np.tanh(v[j])
    elif act == Activation.SOFTMAX:
        m = v[0]
        for j in range(1, n):
            if v[j] > m:
                m = v[j]
        s = 0.0
        for j in range(n):
            v[j] = np.exp(v[j] - m)
            s += v[j]
        for j in range(n):
            v[j] = v[j] / s


@njit(cache=True, inline="always")
def act_backward(a, z, g, n, act):
    """Turn ``g[:n]`` (dL/d output) into dL/d pre-activation, given the layer's
    outputs ``a`` and pre-activations ``z``.

    relu and leaky_relu use ``a > 0`` (pre-activation > 0), sigmoid
    ``a(1-a)``, tanh ``1 - a^2``, softmax its Jacobian
    ``a_j (g_j - sum_k g_k a_k)``; an activation whose derivative is not a
    function of its output reads ``z``.
    """
    if act == Activation.RELU:
        for j in range(n):
            if not a[j] > 0:
                g[j] = 0.0
    elif act == Activation.LEAKY_RELU:
        for j in range(n):
            if not a[j] > 0:
                g[j] = g[j] * LEAKY_SLOPE
    elif act == Activation.SIGMOID:
        for j in range(n):
            g[j] = g[j] * a[j] * (1.0 - a[j])
    elif act == Activation.TANH:
        for j in range(n):
            g[j] = g[j] * (1.0 - a[j] * a[j])
    elif act == Activation.SOFTMAX:
        s = 0.0
        for j in range(n):
            s += g[j] * a[j]
        for j in range(n):
            g[j] = a[j] * (g[j] - s)
