"""The 16-lane float32 vectors of the register tiles: their geometry, and an
LLVM IR builder of their operations.

The tiles (:mod:`fastga.kernels.tiles_ir`, :mod:`fastga.kernels.softmax_ir`)
are written in LLVM IR with explicit ``<16 x float>`` vectors: Numba's loops
cannot keep a tile of accumulators in registers across a reduction loop, and
LLVM's cost model for AVX-512 CPUs prefers 256-bit vectors in loops it
vectorises itself (``prefer-256-bit``), while explicit 16-lane vectors are
lowered to whole AVX-512 registers (two AVX2 registers elsewhere).
:class:`Vec` wraps one IR builder with the few vector operations they need.
The geometry constants are shared with the plain-Numba twins
(:mod:`fastga.kernels.tiles_numba`).
"""

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .exp import EXP_LO, EXP_POLY, LN2_HI, LN2_LO, LOG2E

__all__ = ["VECTOR_LANES", "TILE_VECTORS", "TILE_ROWS", "LANES", "MAX_SOFTMAX_TILE", "I32", "I64",
           "VEC", "IVEC", "Vec", "arrays_ok", "data", "vectors_map", "exp32_vectors"]

#: float32 lanes of one vector of the tiles (one AVX-512 register).
VECTOR_LANES = 16
#: Vectors of samples per tile: a tile covers ``VECTOR_LANES * TILE_VECTORS``
#: samples (:data:`LANES`).
TILE_VECTORS = 4
#: Samples per block (``fastga.kernels.forward.LANES``).
LANES = VECTOR_LANES * TILE_VECTORS
#: Output rows of one ``dense_tile`` (4 rows x 4 vectors: 16 accumulators of
#: the 32 AVX-512 registers).
TILE_ROWS = 4
#: Most outputs of ``softmax_tile`` (its accumulators, one register each).
MAX_SOFTMAX_TILE = 12

#: LLVM types of the tiles: integers, and 16-lane float32 and int32 vectors.
I32 = ir.IntType(32)
I64 = ir.IntType(64)
VEC = ir.VectorType(ir.FloatType(), VECTOR_LANES)
IVEC = ir.VectorType(I32, VECTOR_LANES)


def arrays_ok(f32_arrays, i32_arrays=()):
    """Whether every argument is a C-contiguous float32 (resp. int32) array."""
    return (all(isinstance(a, types.Array) and a.dtype == types.float32 and a.layout == "C"
                for a in f32_arrays)
            and all(isinstance(a, types.Array) and a.dtype == types.int32 and a.layout == "C"
                    for a in i32_arrays))


def data(context, builder, ty, val):
    """The data pointer of the array ``val`` of Numba type ``ty``."""
    return context.make_array(ty)(context, builder, val).data


class Vec:
    """The 16-lane vector operations of one IR builder."""

    def __init__(self, builder):
        self.b = builder
        self.fma_fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(VEC, [VEC] * 3), "llvm.fma.v16f32")
        self.floor_fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(VEC, [VEC]), "llvm.floor.v16f32")

    @staticmethod
    def i64(n):
        return ir.Constant(I64, n)

    @staticmethod
    def f(c):
        """A float32 constant in every lane."""
        return ir.Constant(VEC, [float(np.float32(c))] * VECTOR_LANES)

    @staticmethod
    def i(c):
        """An int32 constant in every lane."""
        return ir.Constant(IVEC, [int(c)] * VECTOR_LANES)

    def fma(self, x, y, z):
        return self.b.call(self.fma_fn, [x, y, z])

    def splat(self, scalar):
        """``scalar`` (a float32 or an int32) in every lane."""
        ty = IVEC if scalar.type == I32 else VEC
        undef = ir.Constant(ty, ir.Undefined)
        v = self.b.insert_element(undef, scalar, ir.Constant(I32, 0))
        return self.b.shuffle_vector(v, undef, ir.Constant(IVEC, [0] * VECTOR_LANES))

    def scalar(self, ptr, off):
        return self.b.load(self.b.gep(ptr, [off]))

    def _at(self, ptr, off, ty):
        return self.b.bitcast(self.b.gep(ptr, [off]), ty.as_pointer())

    def load(self, ptr, off, ty=VEC):
        """The vector at element ``off`` of ``ptr`` (any alignment)."""
        return self.b.load(self._at(ptr, off, ty), align=4)

    def store(self, val, ptr, off):
        self.b.store(val, self._at(ptr, off, val.type), align=4)

    def exp32(self, x):
        """:func:`fastga.kernels.exp.exp32_nonpos` of a vector, the same bits: its
        constants, with the fused multiply-adds Numba's ``contract`` makes of it."""
        b, f = self.b, self.f
        x0 = x
        x = b.select(b.fcmp_ordered(">", x, f(EXP_LO)), x, f(EXP_LO))
        n = b.call(self.floor_fn, [self.fma(x, f(LOG2E), f(0.5))])
        neg_n = b.fneg(n)
        r = self.fma(neg_n, f(LN2_HI), x)
        r = self.fma(neg_n, f(LN2_LO), r)
        zz = b.fmul(r, r)
        p0, p1, p2, p3, p4, p5 = EXP_POLY
        p = self.fma(f(p0), r, f(p1))
        for c in (p2, p3, p4, p5):
            p = self.fma(p, r, f(c))
        p = b.fadd(self.fma(p, zz, r), f(1.0))
        bits = b.shl(b.add(b.fptosi(n, IVEC), self.i(127)), self.i(23))
        e = b.fmul(p, b.bitcast(bits, VEC))
        return b.select(b.fcmp_ordered("==", x0, x0), e, x0)

    def loop(self, start, n, init, step):
        """``state = step(i, state)`` for ``start <= i < n`` (i64 values), the
        ``state`` (a list of values, ``init`` before the first step) carried in
        phi nodes; returns the final state (``init`` if the loop does not run)."""
        b = self.b
        pre = b.block
        body = b.append_basic_block("loop.body")
        done = b.append_basic_block("loop.done")
        b.cbranch(b.icmp_signed(">", n, start), body, done)
        b.position_at_end(body)
        i = b.phi(I64)
        state = [b.phi(v.type) for v in init]
        new = step(i, state)
        i_next = b.add(i, self.i64(1))
        end = b.block
        i.add_incoming(start, pre)
        i.add_incoming(i_next, end)
        for phi, a0, a1 in zip(state, init, new):
            phi.add_incoming(a0, pre)
            phi.add_incoming(a1, end)
        b.cbranch(b.icmp_signed("<", i_next, n), body, done)
        b.position_at_end(done)
        final = []
        for a0, a1 in zip(init, new):
            phi = b.phi(a0.type)
            phi.add_incoming(a0, pre)
            phi.add_incoming(a1, end)
            final.append(phi)
        return final

    def fma_loop(self, n_k, init, load_x, load_w):
        """``acc[r][v] = fma(x_k[v], w(k, r), acc[r][v])`` for ``k < n_k``, the
        accumulators (``init``: rows x vectors) held in registers (phi nodes).

        ``load_x(k)``: the step's input vectors; ``load_w(k, r)``: its scalar
        weights. Returns the final accumulators (``init`` if ``n_k <= 0``).
        """
        n_rows, n_vec = len(init), len(init[0])

        def step(k, flat):
            xs = load_x(k)
            new = []
            for r in range(n_rows):
                wv = self.splat(load_w(k, r))
                new += [self.fma(xs[v], wv, flat[r * n_vec + v]) for v in range(n_vec)]
            return new

        flat = self.loop(self.i64(0), n_k, [a for row in init for a in row], step)
        return [flat[r * n_vec:(r + 1) * n_vec] for r in range(n_rows)]

    def relu_if(self, relu, x):
        """``x if x > 0 else 0`` (NaN gives 0) where the boolean ``relu``, else ``x``."""
        b = self.b
        zero = self.f(0.0)
        return b.select(relu, b.select(b.fcmp_ordered(">", x, zero), x, zero), x)

    def for_range(self, n, body):
        """``body(j)`` for ``0 <= j < n`` (an i64 loop, nothing carried)."""
        self.loop(self.i64(0), n, [], lambda j, state: body(j) or [])

    def chk_step(self, zj, chk):
        """``zj * 0 + chk`` (one fused multiply-add, exact): stays 0 while every
        ``zj`` is finite, else NaN."""
        return self.fma(zj, self.f(0.0), chk)

    def max_step(self, zj, j, m, chk, best):
        """One logit ``zj`` (index ``j``, a vector) into the running maximum, its
        first index and the finiteness check (:meth:`chk_step`)."""
        b = self.b
        gt = b.fcmp_ordered(">", zj, m)
        return b.select(gt, zj, m), self.chk_step(zj, chk), b.select(gt, j, best)

    def hit(self, best, label, chk):
        """1.0 where the maximum's index ``best`` is the ``label`` and ``chk`` is 0
        (every logit finite), else 0.0."""
        b = self.b
        ok = b.and_(b.icmp_signed("==", best, label), b.fcmp_ordered("==", chk, self.f(0.0)))
        return b.select(ok, self.f(1.0), self.f(0.0))

    def sum_step(self, d, j, label, tiny, se, se2, zl):
        """One ``d = z_j - max`` into ``sum e``, ``sum e**2`` over ``e > tiny``
        and the label's ``d``, ``e = exp32(d)``."""
        b = self.b
        e = self.exp32(d)
        ee = b.select(b.fcmp_ordered(">", e, tiny), e, self.f(0.0))
        return (b.fadd(se, e), self.fma(ee, ee, se2),
                b.select(b.icmp_signed("==", label, j), d, zl))


def vectors_map(apply, doc):
    """An intrinsic ``(src, dst, n_vectors)``: ``dst[16 v + i] = apply(vec,
    src[16 v .. 16 v + 15])[i]`` for ``v < n_vectors``, one vector at a time.
    It serves tests, which compare a vector function of the IR with its Numba
    twin and NumPy; nothing is checked."""

    def typer(typingctx, src, dst, n_vectors):
        if not arrays_ok((src, dst)) or not isinstance(n_vectors, types.Integer):
            return None
        sig = types.void(src, dst, types.intp)

        def codegen(context, builder, signature, args):
            tys = signature.args
            sp, dp = data(context, builder, tys[0], args[0]), data(context, builder, tys[1], args[1])
            vec = Vec(builder)

            def body(v):
                off = builder.mul(v, vec.i64(VECTOR_LANES))
                vec.store(apply(vec, vec.load(sp, off)), dp, off)

            vec.for_range(args[2], body)
            return context.get_dummy_value()

        return sig, codegen

    typer.__doc__ = doc
    return intrinsic(typer)


exp32_vectors = vectors_map(
    lambda vec, x: vec.exp32(x),
    """``dst[16 v + i] = exp32_nonpos(src[16 v + i])`` for ``v < n_vectors``, by
    :meth:`Vec.exp32` (the IR exponential of the softmax tiles).""")
