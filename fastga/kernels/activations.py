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

import math

import numpy as np
from numba import njit

from ..registry import LEAKY_SLOPE, Activation
from .exp import exp32, exp32_nonpos

__all__ = ["activate_block", "act_forward", "act_backward", "gelu32"]

_SLOPE = np.float32(LEAKY_SLOPE)
_F0 = np.float32(0.0)
_F1 = np.float32(1.0)
_F2 = np.float32(2.0)
_HALF = np.float32(0.5)
_INV_SQRT2 = 0.7071067811865476
_INV_SQRT2_32 = np.float32(_INV_SQRT2)
_INV_SQRT_2PI = 0.3989422804014327

# erfc(z) = t exp(-z^2 + P(t)), t = 1 / (1 + z/2), z >= 0: Numerical Recipes'
# erfcc (a Chebyshev fit), relative error below 1.2e-7. P's coefficients, constant first.
_E0, _E1, _E2, _E3, _E4, _E5, _E6, _E7, _E8, _E9 = (
    np.float32(c) for c in (-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806,
                            0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277))


@njit(cache=True, fastmath={"contract"}, error_model="numpy")
def gelu32(x):
    """``gelu(x) = x Phi(x) = x erfc(-x / sqrt 2) / 2`` of a float32, branch-free.

    Through ``erfc``, so the small negative outputs keep their relative
    accuracy (``1 + erf`` would cancel): within a few ulp where ``x >= -1``,
    about ``eps x^2`` relatively below (the conditioning of ``gelu`` itself);
    about ``1e-38`` instead of 0 below -13. NaN gives NaN.
    """
    z = abs(x * _INV_SQRT2_32)
    t = _F1 / (_F1 + _HALF * z)
    p = _E9 * t + _E8
    p = p * t + _E7
    p = p * t + _E6
    p = p * t + _E5
    p = p * t + _E4
    p = p * t + _E3
    p = p * t + _E2
    p = p * t + _E1
    p = p * t + _E0
    r = t * exp32_nonpos(p - z * z)  # erfc(|x| / sqrt 2)
    c = _F2 - r if x > _F0 else r  # erfc(-x / sqrt 2)
    return _HALF * x * c


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
    elif act == Activation.GELU:
        for j in range(n):
            vj = v[j]
            for s in range(nl):
                vj[s] = gelu32(vj[s])


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
    elif act == Activation.GELU:
        for j in range(n):
            v[j] = 0.5 * v[j] * math.erfc(-v[j] * _INV_SQRT2)


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
    elif act == Activation.GELU:  # Phi(z) + z phi(z)
        for j in range(n):
            x = z[j]
            g[j] = g[j] * (0.5 * math.erfc(-x * _INV_SQRT2)
                           + x * math.exp(-0.5 * x * x) * _INV_SQRT_2PI)
