"""Counter-based random numbers for the kernels.

Every random draw is a pure function of ``(key, counter)``: the key names a
stream (seed, generation, individual and purpose), the counter says which
draw of that stream it is. Output is SplitMix64's finaliser applied to
``key + counter * GAMMA``, a counter-based generator (the construction of
Steele, Lea & Flood, "Fast splittable pseudorandom number generators", 2014).

Because a draw depends on nothing but its key and counter, a kernel that
gives each individual its own key produces the same numbers whatever thread
runs that individual, and so results are bit-identical for any thread count.
No state is shared between threads.
"""

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from ..registry import Purpose
from .bits import f32_as_i32, i32_as_f32

__all__ = [
    "GAMMA",
    "mix64",
    "stream_key",
    "random_u64",
    "random_uniform",
    "random_normal",
    "stream_keys",
    "log32",
    "cos2pi32",
]

GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53

# The purposes of the streams are :class:`fastga.registry.Purpose`; a kernel
# passes a member (``stream_key(seed, gen, i, Purpose.INIT)``), a compile-time
# constant.


def _u64(context, builder, ty, val):
    """``np.uint64(val)`` of an integer ``val`` of Numba type ``ty``."""
    return context.cast(builder, val, ty, types.uint64)


def _const(v):
    return ir.Constant(ir.IntType(64), int(v))


def _mix64_ir(builder, z):
    z = builder.mul(builder.xor(z, builder.lshr(z, _const(_S30))), _const(_M1))
    z = builder.mul(builder.xor(z, builder.lshr(z, _const(_S27))), _const(_M2))
    return builder.xor(z, builder.lshr(z, _const(_S31)))


def _draw_ir(context, builder, key_ty, key, ctr_ty, ctr):
    """``mix64(np.uint64(key) + (np.uint64(counter) + 1) * GAMMA)``."""
    k = _u64(context, builder, key_ty, key)
    c = builder.add(_u64(context, builder, ctr_ty, ctr), _const(1))
    return _mix64_ir(builder, builder.add(k, builder.mul(c, _const(GAMMA))))


def _ints(*tys):
    """Whether every type is an integer (or an ``IntEnum`` member, such as a
    :class:`~fastga.registry.Purpose`)."""
    return all(isinstance(t, (types.Integer, types.IntEnumMember)) for t in tys)


# The stream functions are intrinsics (a few LLVM instructions each, typed
# once per call site): as inlined Numba functions every call site cost its IR
# copied, typed and lowered again (compile time of the GA's kernels).
@intrinsic
def mix64(typingctx, z):
    """SplitMix64 finaliser: a bijective 64-bit mixing function."""
    if not _ints(z):
        return None

    def codegen(context, builder, signature, args):
        return _mix64_ir(builder, _u64(context, builder, signature.args[0], args[0]))

    return types.uint64(z), codegen


@intrinsic
def stream_key(typingctx, seed, generation, individual, purpose):
    """Key of the stream of one (seed, generation, individual, purpose)."""
    if not _ints(seed, generation, individual, purpose):
        return None

    def codegen(context, builder, signature, args):
        u = [_u64(context, builder, t, a) for t, a in zip(signature.args, args)]
        g = _const(GAMMA)
        k = _mix64_ir(builder, builder.add(builder.mul(u[0], g), u[3]))
        k = _mix64_ir(builder, builder.add(builder.add(k, builder.mul(u[1], g)), _const(1)))
        return _mix64_ir(builder, builder.add(builder.add(k, builder.mul(u[2], g)), _const(1)))

    return types.uint64(seed, generation, individual, purpose), codegen


@intrinsic
def random_u64(typingctx, key, counter):
    """The ``counter``-th 64-bit draw of stream ``key``."""
    if not _ints(key, counter):
        return None

    def codegen(context, builder, signature, args):
        return _draw_ir(context, builder, signature.args[0], args[0], signature.args[1], args[1])

    return types.uint64(key, counter), codegen


@intrinsic
def random_uniform(typingctx, key, counter):
    """The ``counter``-th draw of stream ``key`` as a float64 in [0, 1)."""
    if not _ints(key, counter):
        return None

    def codegen(context, builder, signature, args):
        a = _draw_ir(context, builder, signature.args[0], args[0], signature.args[1], args[1])
        f = builder.uitofp(builder.lshr(a, _const(_S11)), ir.DoubleType())
        return builder.fmul(f, ir.Constant(ir.DoubleType(), _INV53))

    return types.float64(key, counter), codegen


@njit(cache=True, inline="always")
def random_normal(key, counter):
    """A standard normal draw from counters ``counter`` and ``counter + 1`` (Box-Muller)."""
    u1 = 1.0 - random_uniform(key, counter)  # (0, 1]
    u2 = random_uniform(key, counter + 1)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


@njit(cache=True)
def stream_keys(seed, generation, n, purpose):
    """Keys of individuals ``0 .. n-1`` (uint64 array)."""
    out = np.empty(n, dtype=np.uint64)
    for i in range(n):
        out[i] = stream_key(seed, generation, i, purpose)
    return out


# ------------------------------------------------ float32 math that vectorises
# The C library's log and cos are calls, so a loop of them does not
# vectorise; these are branch-free float32 polynomials (plain multiplies and
# adds, no FMA contraction), so a loop of them compiles to SIMD code and
# tests/naive.py reproduces them bit for bit with NumPy float32 arithmetic.


# Cephes' logf: log(x) = e ln 2 + log(m), m in [sqrt(1/2), sqrt(2)), f = m - 1.
_SQRT2 = np.float32(1.41421356237)
_LOG_C = (np.float32(7.0376836292e-2), np.float32(-1.1514610310e-1),
          np.float32(1.1676998740e-1), np.float32(-1.2420140846e-1),
          np.float32(1.4249322787e-1), np.float32(-1.6668057665e-1),
          np.float32(2.0000714765e-1), np.float32(-2.4999993993e-1),
          np.float32(3.3333331174e-1))
_L0, _L1, _L2, _L3, _L4, _L5, _L6, _L7, _L8 = _LOG_C
_LN2_HI = np.float32(0.693359375)
_LN2_LO = np.float32(-2.12194440e-4)
_HALF32 = np.float32(0.5)
_ONE32 = np.float32(1.0)


@njit(cache=True)
def log32(x):
    """``log(x)`` of a positive, normal float32 (within 2 ulp; Cephes' ``logf``).

    No checks: 0, negatives, subnormals, inf and NaN give garbage. Exact 0
    at ``x = 1``.
    """
    bits = f32_as_i32(x)
    e = (bits >> np.int32(23)) - np.int32(127)
    m = i32_as_f32(np.int32((bits & np.int32(0x7FFFFF)) | np.int32(0x3F800000)))  # [1, 2)
    big = m >= _SQRT2
    m = m * _HALF32 if big else m
    e = e + np.int32(1) if big else e
    f = m - _ONE32
    z = f * f
    y = _L0 * f + _L1
    y = y * f + _L2
    y = y * f + _L3
    y = y * f + _L4
    y = y * f + _L5
    y = y * f + _L6
    y = y * f + _L7
    y = y * f + _L8
    y = y * f * z
    fe = np.float32(e)
    y = y + fe * _LN2_LO
    y = y - _HALF32 * z
    return (f + y) + fe * _LN2_HI


# cos(2 pi q) = sum_k (-1)^k (2 pi)^(2k) / (2k)! q^(2k), q in [0, 1/4].
_COS_C = tuple(np.float32((-1) ** k * (2 * np.pi) ** (2 * k) / float(np.prod(np.arange(1, 2 * k + 1))))
               for k in range(8))
_C0, _C1, _C2, _C3, _C4, _C5, _C6, _C7 = _COS_C
_QUARTER32 = np.float32(0.25)


@njit(cache=True)
def cos2pi32(u):
    """``cos(2 pi u)`` of a float32 ``u`` in [0, 1] (absolute error < 1e-6).

    Reduced by symmetry to ``q`` in [0, 1/4] (exact float32 steps), then a
    Taylor polynomial of degree 14 in ``q``.
    """
    a = _ONE32 - u
    y = u if u <= a else a                # [0, 1/2]: cos(2 pi u) = cos(2 pi (1 - u))
    b = _HALF32 - y
    flip = y > _QUARTER32                 # cos(2 pi y) = -cos(2 pi (1/2 - y))
    q = b if flip else y
    z = q * q
    p = _C7 * z + _C6
    p = p * z + _C5
    p = p * z + _C4
    p = p * z + _C3
    p = p * z + _C2
    p = p * z + _C1
    p = p * z + _C0
    return -p if flip else p
