"""LLVM-level helpers of the kernels: bit casts, a prefetch hint and a dense tile.

Plain ``@intrinsic`` functions (they cache with the kernels that call them).

:func:`dense_tile` is the register-blocked inner product of the forward
pass, written in LLVM IR with explicit 16-lane float32 vectors: Numba's loops
cannot keep a tile of accumulators in registers across a reduction loop, and
LLVM's cost model for AVX-512 CPUs prefers 256-bit vectors in loops it
vectorises itself (``prefer-256-bit``), while explicit ``<16 x float>`` values
are lowered to whole AVX-512 registers (two AVX2 registers elsewhere).
"""

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["f32_as_i32", "i32_as_f32", "bit_blend", "prefetch", "address", "dense_tile", "bias_rows",
           "softmax_stats", "softmax_tile", "MAX_SOFTMAX_TILE", "TILE_ROWS", "TILE_VECTORS",
           "VECTOR_LANES"]


@intrinsic
def f32_as_i32(typingctx, x):
    """Reinterpret the bits of a float32 as an int32 (no conversion)."""
    if x != types.float32:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(32))

    return types.int32(types.float32), codegen


@intrinsic
def i32_as_f32(typingctx, x):
    """Reinterpret the bits of an int32 as a float32 (no conversion)."""
    if x != types.int32:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())

    return types.float32(types.int32), codegen


@intrinsic
def bit_blend(typingctx, a, b, mask):
    """The float32 whose bits are ``(bits(a) & ~mask) | (bits(b) & mask)`` for an
    int32 ``mask``: ``a`` where it is 0, ``b`` where it is -1, exact for every
    float (NaN and inf included), with no branch or select."""
    if a != types.float32 or b != types.float32 or mask != types.int32:
        return None

    def codegen(context, builder, signature, args):
        i32 = ir.IntType(32)
        x = builder.bitcast(args[0], i32)
        y = builder.bitcast(args[1], i32)
        m = args[2]
        out = builder.or_(builder.and_(x, builder.not_(m)), builder.and_(y, m))
        return builder.bitcast(out, ir.FloatType())

    return types.float32(types.float32, types.float32, types.int32), codegen


@intrinsic
def prefetch(typingctx, arr, index):
    """A hint to fetch the cache line of ``arr[index]`` into all cache levels
    (no effect on results). ``index``: an integer, or a tuple of one integer
    per dimension."""
    if not isinstance(arr, types.Array):
        return None
    if isinstance(index, types.Integer):
        n_idx = 1
    elif isinstance(index, types.BaseTuple) and all(isinstance(t, types.Integer) for t in index):
        n_idx = len(index)
    else:
        return None
    if n_idx != arr.ndim:
        return None

    def codegen(context, builder, signature, args):
        aryty, idxty = signature.args
        ary = context.make_array(aryty)(context, builder, args[0])
        if isinstance(idxty, types.BaseTuple):
            idx = [context.cast(builder, v, t, types.intp)
                   for v, t in zip(cgutils.unpack_tuple(builder, args[1], n_idx), idxty)]
        else:
            idx = [context.cast(builder, args[1], idxty, types.intp)]
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, idx)
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [ptr.type, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        # read, high locality (all cache levels), data
        builder.call(fn, [ptr, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return types.void(arr, index), codegen


@intrinsic
def address(typingctx, arr):
    """The address of ``arr``'s first element, as an integer (for alignment)."""
    if not isinstance(arr, types.Array):
        return None

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        return builder.ptrtoint(ary.data, context.get_value_type(types.intp))

    return types.intp(arr), codegen


#: float32 lanes of one vector of the tiles (one AVX-512 register).
VECTOR_LANES = 16
#: Vectors of samples per tile: a tile covers ``VECTOR_LANES * TILE_VECTORS``
#: samples (the epilogue's ``LANES``).
TILE_VECTORS = 4
#: Most outputs of :func:`softmax_tile` (its accumulators, one register each).
MAX_SOFTMAX_TILE = 12

#: Samples per block (``fastga.kernels.forward.LANES``).
_LANES = VECTOR_LANES * TILE_VECTORS
_I32 = ir.IntType(32)
_I64 = ir.IntType(64)
_VEC = ir.VectorType(ir.FloatType(), VECTOR_LANES)
_IVEC = ir.VectorType(_I32, VECTOR_LANES)

# exp32_nonpos's constants (fastga.kernels.forward, Cephes' expf).
_EXP = dict(lo=-87.0, log2e=1.44269504088896341, ln2_hi=0.693359375, ln2_lo=-2.12194440e-4,
            p=(1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2,
               1.6666665459e-1, 5.0000001201e-1))


def _arrays_ok(f32_arrays, i32_arrays=()):
    """Whether every argument is a C-contiguous float32 (resp. int32) array."""
    return (all(isinstance(a, types.Array) and a.dtype == types.float32 and a.layout == "C"
                for a in f32_arrays)
            and all(isinstance(a, types.Array) and a.dtype == types.int32 and a.layout == "C"
                    for a in i32_arrays))


def _data(context, builder, ty, val):
    """The data pointer of the array ``val`` of Numba type ``ty``."""
    return context.make_array(ty)(context, builder, val).data


class _Vec:
    """The 16-lane vector operations of one IR builder."""

    def __init__(self, builder):
        self.b = builder
        self.fma_fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(_VEC, [_VEC] * 3), "llvm.fma.v16f32")
        self.floor_fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(_VEC, [_VEC]), "llvm.floor.v16f32")

    @staticmethod
    def i64(n):
        return ir.Constant(_I64, n)

    @staticmethod
    def f(c):
        """A float32 constant in every lane."""
        return ir.Constant(_VEC, [float(np.float32(c))] * VECTOR_LANES)

    @staticmethod
    def i(c):
        """An int32 constant in every lane."""
        return ir.Constant(_IVEC, [int(c)] * VECTOR_LANES)

    def fma(self, x, y, z):
        return self.b.call(self.fma_fn, [x, y, z])

    def splat(self, scalar):
        """``scalar`` (a float32 or an int32) in every lane."""
        ty = _IVEC if scalar.type == _I32 else _VEC
        undef = ir.Constant(ty, ir.Undefined)
        v = self.b.insert_element(undef, scalar, ir.Constant(_I32, 0))
        return self.b.shuffle_vector(v, undef, ir.Constant(_IVEC, [0] * VECTOR_LANES))

    def scalar(self, ptr, off):
        return self.b.load(self.b.gep(ptr, [off]))

    def _at(self, ptr, off, ty):
        return self.b.bitcast(self.b.gep(ptr, [off]), ty.as_pointer())

    def load(self, ptr, off, ty=_VEC):
        """The vector at element ``off`` of ``ptr`` (any alignment)."""
        return self.b.load(self._at(ptr, off, ty), align=4)

    def store(self, val, ptr, off):
        self.b.store(val, self._at(ptr, off, val.type), align=4)

    def exp32(self, x):
        """:func:`fastga.kernels.forward.exp32_nonpos`, with the fused
        multiply-adds Numba's ``contract`` makes of it."""
        b, f = self.b, self.f
        x0 = x
        x = b.select(b.fcmp_ordered(">", x, f(_EXP["lo"])), x, f(_EXP["lo"]))
        n = b.call(self.floor_fn, [self.fma(x, f(_EXP["log2e"]), f(0.5))])
        neg_n = b.fneg(n)
        r = self.fma(neg_n, f(_EXP["ln2_hi"]), x)
        r = self.fma(neg_n, f(_EXP["ln2_lo"]), r)
        zz = b.fmul(r, r)
        p0, p1, p2, p3, p4, p5 = _EXP["p"]
        p = self.fma(f(p0), r, f(p1))
        for c in (p2, p3, p4, p5):
            p = self.fma(p, r, f(c))
        p = b.fadd(self.fma(p, zz, r), f(1.0))
        bits = b.shl(b.add(b.fptosi(n, _IVEC), self.i(127)), self.i(23))
        e = b.fmul(p, b.bitcast(bits, _VEC))
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
        i = b.phi(_I64)
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


#: Output rows of one :func:`dense_tile` (4 rows x 4 vectors: 16 accumulators
#: of the 32 AVX-512 registers). Tiles of up to 6 rows were no faster within
#: the noise.
TILE_ROWS = 4


@intrinsic
def dense_tile(typingctx, w, w_off, ldw, x, x_alt, use_alt, x_off, ldx, n_k, b, b_off, out,
               out_off, ldo, n_rows, relu, accumulate):
    """``dense_tile(w, w_off, ldw, x, x_alt, use_alt, x_off, ldx, n_k, b, b_off, out, out_off,
    ldo, n_rows, relu, accumulate)``: the register tile of the forward pass.

    With ``xs`` the flat data of ``x_alt`` if ``use_alt`` else of ``x``, for
    ``r < n_rows`` (1 to :data:`TILE_ROWS`) and ``s < VECTOR_LANES *
    TILE_VECTORS`` it computes::

        acc = out[out_off + r * ldo + s] if accumulate else b[b_off + r]
        for k in range(n_k):
            acc = fma(xs[x_off + k * ldx + s], w[w_off + k * ldw + r], acc)
        out[out_off + r * ldo + s] = max(acc, 0) if relu else acc

    (indices into the flat data of C-contiguous float32 arrays; ``max(NaN,
    0)`` is 0, as ``x if x > 0 else 0``). The ``TILE_ROWS * TILE_VECTORS``
    accumulators stay in registers over the whole loop; each step loads
    ``TILE_VECTORS`` vectors of ``xs`` and broadcasts ``TILE_ROWS`` weights.
    The sum runs in the order of ``k``, one rounding per step.

    * ``n_rows`` is a run-time value: rows ``n_rows .. TILE_ROWS-1`` repeat
      row ``n_rows - 1`` and are not stored. One tile for every row count
      (there were four, one per count, each compiled into every kernel:
      compile time), at the price of idle rows in a layer's last tile.
    * ``accumulate`` continues a sum over a later range of ``k`` (a K-chunked
      layer, see :func:`fastga.kernels.forward.dense_tiles`): float32 partial
      sums in ``out`` are the values the registers held, so the result is
      the same bits as in one pass.
    * The two sources let one call site read either the inputs or the
      previous layer's block without assigning an array variable in the
      caller's loop: every such assignment costs Numba's reference counting
      two atomic operations (the digits shape's first layer ran at 0.90 of
      the GEMM peak through such a loop, 1.03-1.07 without).

    Nothing is checked: the caller guarantees every index is inside its
    array.
    """
    if not _arrays_ok((w, x, x_alt, b, out)):
        return None
    ip = types.intp
    sig = types.void(w, ip, ip, x, x_alt, types.boolean, ip, ip, ip, b, ip, out, ip, ip, ip,
                     types.boolean, types.boolean)

    def codegen(context, builder, signature, args):
        R, V, W = TILE_ROWS, TILE_VECTORS, VECTOR_LANES
        (w_, w_off_, ldw_, x_, xa_, alt_, x_off_, ldx_, nk_, b_, b_off_, o_, o_off_, ldo_, nr_,
         relu_, accum_) = args
        tys = signature.args
        wp, x0p, xap, bp, op = (_data(context, builder, tys[i], args[i]) for i in (0, 3, 4, 9, 11))
        xp = builder.select(alt_, xap, x0p)
        vec = _Vec(builder)
        c = vec.i64
        last = builder.sub(nr_, c(1))
        rows = [c(0)] + [builder.select(builder.icmp_signed("<", c(r), nr_), c(r), last)
                         for r in range(1, R)]
        init = []
        for r in range(R):
            bias = vec.splat(vec.scalar(bp, builder.add(b_off_, rows[r])))
            orow = builder.add(o_off_, builder.mul(rows[r], ldo_))
            with builder.if_else(accum_) as (then, otherwise):
                with then:
                    part = [vec.load(op, builder.add(orow, c(W * v))) for v in range(V)]
                    then_block = builder.block
                with otherwise:
                    else_block = builder.block
            row = []
            for v in range(V):
                phi = builder.phi(_VEC)
                phi.add_incoming(part[v], then_block)
                phi.add_incoming(bias, else_block)
                row.append(phi)
            init.append(row)

        def load_x(k):
            row = builder.add(x_off_, builder.mul(k, ldx_))
            return [vec.load(xp, builder.add(row, c(W * v))) for v in range(V)]

        def load_w(k, r):
            return vec.scalar(wp, builder.add(builder.add(w_off_, builder.mul(k, ldw_)), rows[r]))

        final = vec.fma_loop(nk_, init, load_x, load_w)
        for r in range(R):
            orow = builder.add(o_off_, builder.mul(c(r), ldo_))

            def store_row():
                for v in range(V):
                    vec.store(vec.relu_if(relu_, final[r][v]), op, builder.add(orow, c(W * v)))

            if r == 0:
                store_row()
            else:
                with builder.if_then(builder.icmp_signed("<", c(r), nr_)):
                    store_row()
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def bias_rows(typingctx, src, src_off, ld_src, n_rows, b, b_off, dst, dst_off, relu):
    """``dst[dst_off + j * LANES + s] = v if not relu else max(v, 0)`` with
    ``v = src[src_off + j * ld_src + s] + b[b_off + j]``, for ``j < n_rows``
    and the ``LANES`` samples ``s`` of a block (flat indices of C-contiguous
    float32 arrays; ``max(NaN, 0)`` is 0, as in :func:`dense_tile`).

    The GEMM path's first layer: a block of the product rows plus the bias,
    into the epilogue's scratch block, without the row views (and their
    reference counting) a Numba loop would need. Nothing is checked.
    """
    if not _arrays_ok((src, b, dst)):
        return None
    ip = types.intp
    sig = types.void(src, ip, ip, ip, b, ip, dst, ip, types.boolean)

    def codegen(context, builder, signature, args):
        src_, src_off_, ld_, n_, b_, b_off_, dst_, dst_off_, relu_ = args
        tys = signature.args
        sp, bp, dp = (_data(context, builder, tys[i], args[i]) for i in (0, 4, 6))
        vec = _Vec(builder)
        c = vec.i64

        def body(j):
            bias = vec.splat(vec.scalar(bp, builder.add(b_off_, j)))
            s0 = builder.add(src_off_, builder.mul(j, ld_))
            d0 = builder.add(dst_off_, builder.mul(j, c(_LANES)))
            for v in range(TILE_VECTORS):
                x = builder.fadd(vec.load(sp, builder.add(s0, c(VECTOR_LANES * v))), bias)
                vec.store(vec.relu_if(relu_, x), dp, builder.add(d0, c(VECTOR_LANES * v)))

        vec.for_range(n_, body)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def softmax_stats(typingctx, z, z_off, n_out, y, y_off, tiny, hit, chk, se, se2, zl):
    """Per-sample softmax statistics of a block of logits, in registers.

    Row ``j < n_out`` of the logits of ``LANES`` samples starts at flat index
    ``z_off + j * LANES`` of the float32 array ``z``; ``y[y_off + s]`` (int32)
    is sample ``s``'s label. For each sample, with ``m`` the maximum logit
    (the first one on ties): ``chk`` 0 if every logit is finite (NaN
    otherwise), ``hit`` 1.0 if the maximum's index is the label and every
    logit is finite (else 0.0), ``se = sum_j exp(z_j - m)`` and ``se2 =
    sum_j e_j**2`` over the terms ``e_j`` above ``tiny`` (smaller squares are
    subnormal and slow, and cannot change a sum that reaches 1), ``zl = z_y -
    m``. The exponential is :func:`fastga.kernels.forward.exp32_nonpos`, with
    the same contractions (fused multiply-adds) as Numba makes of it; the
    float32 outputs are (LANES,), written whole. Two passes over the rows, on
    explicit 16-lane vectors (LLVM's own vectorisation of such loops uses
    8-lane vectors on AVX-512 CPUs). ``n_out >= 1``.
    """
    if not _arrays_ok((z, hit, chk, se, se2, zl), (y,)):
        return None
    ip = types.intp
    sig = types.void(z, ip, ip, y, ip, types.float32, hit, chk, se, se2, zl)

    def codegen(context, builder, signature, args):
        V, W = TILE_VECTORS, VECTOR_LANES
        tys = signature.args
        z_, z_off_, n_out_, y_, y_off_, tiny_ = args[:6]
        zp, yp, hp, cp, sp, s2p, zlp = (_data(context, builder, tys[i], args[i])
                                        for i in (0, 3, 6, 7, 8, 9, 10))
        vec = _Vec(builder)
        c = vec.i64
        tiny_v = vec.splat(tiny_)

        def zrow(j, v):
            return vec.load(zp, builder.add(z_off_, builder.add(builder.mul(j, c(_LANES)),
                                                                c(W * v))))

        def loop(first, init, step):
            """``state[v] = step(j, jvec, v, state[v])`` for ``first <= j < n_out``."""
            n_st = len(init[0])

            def flat_step(j, flat):
                jvec = vec.splat(builder.trunc(j, _I32))
                return [a for v in range(V)
                        for a in step(j, jvec, v, flat[v * n_st:(v + 1) * n_st])]

            flat = vec.loop(c(first), n_out_, [a for row in init for a in row], flat_step)
            return [flat[v * n_st:(v + 1) * n_st] for v in range(V)]

        # Pass 1: maximum, its first index, finiteness.
        init = []
        for v in range(V):
            z0 = zrow(c(0), v)
            init.append([z0, vec.chk_step(z0, vec.f(0.0)), vec.i(0)])
        stats = loop(1, init, lambda j, jv, v, st: vec.max_step(zrow(j, v), jv, *st))
        # Pass 2: the exponentials' sums and the label's logit.
        labels = [vec.load(yp, builder.add(y_off_, c(W * v)), _IVEC) for v in range(V)]
        zero = vec.f(0.0)
        sums = loop(0, [[zero, zero, zero] for _ in range(V)],
                    lambda j, jv, v, st: vec.sum_step(builder.fsub(zrow(j, v), stats[v][0]), jv,
                                                      labels[v], tiny_v, *st))
        for v in range(V):
            off = c(W * v)
            vec.store(vec.hit(stats[v][2], labels[v], stats[v][1]), hp, off)
            vec.store(stats[v][1], cp, off)
            for ptr, val in zip((sp, s2p, zlp), sums[v]):
                vec.store(val, ptr, off)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def softmax_tile(typingctx, n_out, w, w_off, x, x_off, n_k, b, b_off, y, y_off, tiny, hit, chk,
                 se, se2, zl):
    """``softmax_tile(n_out, w, w_off, x, x_off, n_k, b, b_off, y, y_off, tiny, hit, chk, se, se2,
    zl)``: a softmax output layer of ``len(n_out)`` units, ``n_out`` a tuple, so
    that the number is part of its type, a compile-time constant: the caller
    is compiled for the one value in use (see
    :func:`fastga.kernels.fitness.fused_softmax_ce`); ``()`` does nothing.

    The last dense layer and :func:`softmax_stats` at once, the logits never
    leaving the registers: for each 16-sample vector of the block it computes
    ``z_j = b[b_off + j] + sum_k x[x_off + k * LANES + s] w[w_off + k * n_out
    + j]`` (flat indices of the float32 arrays, the sum in the order of ``k``,
    one fused multiply-add per step, as :func:`dense_tile`), then the
    statistics of :func:`softmax_stats` of those ``z``, written to the
    (LANES,) outputs. Nothing is checked: the caller guarantees the indices.
    """
    if not isinstance(n_out, types.BaseTuple):
        return None
    R = len(n_out)
    if R > MAX_SOFTMAX_TILE or not _arrays_ok((w, x, b, hit, chk, se, se2, zl), (y,)):
        return None
    ip = types.intp
    sig = types.void(n_out, w, ip, x, ip, ip, b, ip, y, ip, types.float32, hit, chk, se, se2, zl)

    def codegen(context, builder, signature, args):
        if R == 0:
            return context.get_dummy_value()
        W = VECTOR_LANES
        tys = signature.args
        w_off_, x_off_, nk_, b_off_, y_off_, tiny_ = (args[i] for i in (2, 4, 5, 7, 9, 10))
        wp, xp, bp, yp, hitp, chkp, sep, se2p, zlp = (
            _data(context, builder, tys[i], args[i]) for i in (1, 3, 6, 8, 11, 12, 13, 14, 15))
        vec = _Vec(builder)
        c = vec.i64
        bias = [vec.splat(vec.scalar(bp, builder.add(b_off_, c(j)))) for j in range(R)]
        tiny_v = vec.splat(tiny_)

        # One 16-sample vector at a time (two at a time, sharing the weights'
        # broadcasts, were no faster), a loop over the block's vectors.
        entry = builder.block
        vloop = builder.append_basic_block("smt.v")
        builder.branch(vloop)
        builder.position_at_end(vloop)
        v = builder.phi(_I64)
        voff = builder.mul(v, c(W))
        xv = builder.add(x_off_, voff)
        zs = [row[0] for row in vec.fma_loop(
            nk_, [[bias[j]] for j in range(R)],
            lambda k: [vec.load(xp, builder.add(builder.mul(k, c(_LANES)), xv))],
            lambda k, j: vec.scalar(wp, builder.add(builder.add(w_off_, builder.mul(k, c(R))),
                                                    c(j))))]
        m, chk, bst = zs[0], vec.chk_step(zs[0], vec.f(0.0)), vec.i(0)
        for j in range(1, R):
            m, chk, bst = vec.max_step(zs[j], vec.i(j), m, chk, bst)
        label = vec.load(yp, builder.add(y_off_, voff), _IVEC)
        zero = vec.f(0.0)
        sums = (zero, zero, zero)
        for j in range(R):
            sums = vec.sum_step(builder.fsub(zs[j], m), vec.i(j), label, tiny_v, *sums)
        vec.store(vec.hit(bst, label, chk), hitp, voff)
        vec.store(chk, chkp, voff)
        for ptr, val in zip((sep, se2p, zlp), sums):
            vec.store(val, ptr, voff)
        v_next = builder.add(v, c(1))
        v.add_incoming(c(0), entry)
        v.add_incoming(v_next, builder.block)
        exit_ = builder.append_basic_block("smt.exit")
        builder.cbranch(builder.icmp_signed("<", v_next, c(TILE_VECTORS)), vloop, exit_)
        builder.position_at_end(exit_)
        return context.get_dummy_value()

    return sig, codegen
