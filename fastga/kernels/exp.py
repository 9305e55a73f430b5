"""The float32 exponential of the kernels (Cephes' ``expf``), branch-free.

``exp(x) = 2**n * exp(r)`` with ``n = floor(x log2(e) + 1/2)`` and ``r = x -
n ln 2`` (``ln 2`` in two parts, so ``r`` is exact), ``exp(r)`` a degree-7
polynomial. Branch-free, so a loop of it vectorises (the C library's ``exp``
is a call and does not).

The 16-lane LLVM IR version of :mod:`fastga.kernels.intrinsics` (the softmax
statistics) uses the same constants and gives the same bits
(``tests/test_kernels.py`` checks it).
"""

import numpy as np
from numba import njit

from .intrinsics import i32_as_f32

__all__ = ["EXP_LO", "EXP_HI", "LOG2E", "LN2_HI", "LN2_LO", "EXP_POLY", "exp32", "exp32_nonpos"]

#: Lower clamp of the argument: below it the result is about ``exp(-87)``.
EXP_LO = np.float32(-87.0)
#: Upper clamp of :func:`exp32` (``exp`` overflows float32 at 88.72).
EXP_HI = np.float32(88.3)
#: ``log2(e)``.
LOG2E = np.float32(1.44269504088896341)
#: ``ln 2 = LN2_HI + LN2_LO``; ``LN2_HI`` has few bits, so ``n * LN2_HI`` is exact.
LN2_HI = np.float32(0.693359375)
LN2_LO = np.float32(-2.12194440e-4)
#: The polynomial's coefficients, highest degree first:
#: ``exp(r) ~ 1 + r + r**2 * (((((P0 r + P1) r + P2) r + P3) r + P4) r + P5)``.
EXP_POLY = (np.float32(1.9875691500e-4), np.float32(1.3981999507e-3),
            np.float32(8.3334519073e-3), np.float32(4.1665795894e-2),
            np.float32(1.6666665459e-1), np.float32(5.0000001201e-1))

# Module-level scalars: compile-time constants in the Numba code.
_P0, _P1, _P2, _P3, _P4, _P5 = EXP_POLY
_HALF = np.float32(0.5)
_F1 = np.float32(1.0)


@njit(cache=True, fastmath={"contract"}, error_model="numpy")
def exp32_nonpos(x):
    """:func:`exp32` of an ``x <= 88.3`` (or NaN), the same value, without the
    upper clamp and the overflow select (a softmax's ``z - max z``; also the
    body of :func:`exp32`)."""
    x0 = x
    x = x if x > EXP_LO else EXP_LO
    n = np.floor(x * LOG2E + _HALF)
    r = x - n * LN2_HI
    r = r - n * LN2_LO
    z = r * r
    p = _P0 * r + _P1
    p = p * r + _P2
    p = p * r + _P3
    p = p * r + _P4
    p = p * r + _P5
    p = p * z + r + _F1
    scale = i32_as_f32(np.int32((np.int32(n) + np.int32(127)) << np.int32(23)))
    e = p * scale
    return e if x0 == x0 else x0


@njit(cache=True, fastmath={"contract"}, error_model="numpy")
def exp32(x):
    """``exp(x)`` of a float32, within 2 ulp on [-87, 88.3].

    Branch-free, so a loop of it vectorises. Below -87 it returns about
    ``exp(-87)`` (1.6e-38), which is 0 next to any term of a softmax; above
    88.3 it returns inf (the true value overflows at 88.72); NaN gives NaN.
    """
    e = exp32_nonpos(x if x < EXP_HI else EXP_HI)  # NaN goes in as EXP_HI ...
    e = e if x < EXP_HI else np.float32(np.inf)
    return e if x == x else x  # ... and comes out as itself
