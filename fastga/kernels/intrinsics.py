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

__all__ = ["f32_as_i32", "i32_as_f32", "prefetch", "address", "dense_tile", "softmax_stats", "softmax_tile", "MAX_SOFTMAX_TILE", "TILE_VECTORS",
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


#: float32 lanes of one vector of :func:`dense_tile` (one AVX-512 register).
VECTOR_LANES = 16
#: Vectors of samples per tile: a tile covers ``VECTOR_LANES * TILE_VECTORS``
#: samples (the epilogue's ``LANES``).
TILE_VECTORS = 4

#: Samples per block (``fastga.kernels.forward.LANES``).
_LANES = VECTOR_LANES * TILE_VECTORS

_tiles = {}


def dense_tile(n_rows):
    """The intrinsic ``tile(w, w_off, ldw, x, x_off, ldx, n_k, b, b_off, out, out_off, ldo, relu)``
    for ``n_rows`` output rows (1-4 in use), see below; made once per ``n_rows``.

    For ``r < n_rows`` and ``s < VECTOR_LANES * TILE_VECTORS`` it computes::

        acc = b[b_off + r]
        for k in range(n_k):
            acc = fma(x[x_off + k * ldx + s], w[w_off + k * ldw + r], acc)
        out[out_off + r * ldo + s] = max(acc, 0) if relu else acc

    (indices into the flat data of C-contiguous float32 arrays; ``max(NaN,
    0)`` is 0, as ``x if x > 0 else 0``). The ``n_rows * TILE_VECTORS``
    accumulators stay in registers over the whole loop; each step loads
    ``TILE_VECTORS`` vectors of ``x`` and broadcasts ``n_rows`` weights. The
    sum runs in the order of ``k``, one rounding per step: the order of
    the loops it replaced. Nothing is checked: the
    caller guarantees every index is inside its array.
    """
    n_rows = int(n_rows)
    if n_rows not in _tiles:
        _tiles[n_rows] = _make_dense_tile(n_rows)
    return _tiles[n_rows]


def _make_dense_tile(R):
    V = TILE_VECTORS
    W = VECTOR_LANES

    @intrinsic
    def tile(typingctx, w, w_off, ldw, x, x_off, ldx, n_k, b, b_off, out, out_off, ldo, relu):
        for a in (w, x, b, out):
            if not (isinstance(a, types.Array) and a.dtype == types.float32 and a.layout == "C"):
                return None
        ip = types.intp
        sig = types.void(w, ip, ip, x, ip, ip, ip, b, ip, out, ip, ip, types.boolean)

        def codegen(context, builder, signature, args):
            w_, w_off_, ldw_, x_, x_off_, ldx_, nk_, b_, b_off_, o_, o_off_, ldo_, relu_ = args
            tys = signature.args

            def data(i, val):
                return context.make_array(tys[i])(context, builder, val).data

            wp, xp, bp, op = data(0, w_), data(3, x_), data(7, b_), data(9, o_)
            f32 = ir.FloatType()
            i32 = ir.IntType(32)
            i64 = ir.IntType(64)
            vty = ir.VectorType(f32, W)
            vptr = vty.as_pointer()
            fma = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(vty, [vty, vty, vty]), "llvm.fma.v16f32")
            undef = ir.Constant(vty, ir.Undefined)
            lane0 = ir.Constant(ir.VectorType(i32, W), [0] * W)

            def splat(scalar):
                v = builder.insert_element(undef, scalar, ir.Constant(i32, 0))
                return builder.shuffle_vector(v, undef, lane0)

            def const(n):
                return ir.Constant(i64, n)

            init = []
            for r in range(R):
                bias = builder.load(builder.gep(bp, [builder.add(b_off_, const(r))]))
                init.append([splat(bias)] * V)
            pre = builder.block
            loop = builder.append_basic_block("tile.loop")
            done = builder.append_basic_block("tile.done")
            builder.cbranch(builder.icmp_signed(">", nk_, const(0)), loop, done)

            builder.position_at_end(loop)
            k = builder.phi(i64)
            acc = [[builder.phi(vty) for _ in range(V)] for _ in range(R)]
            xrow = builder.add(x_off_, builder.mul(k, ldx_))
            xs = [builder.load(builder.bitcast(builder.gep(xp, [builder.add(xrow, const(W * v))]),
                                               vptr), align=4) for v in range(V)]
            wrow = builder.add(w_off_, builder.mul(k, ldw_))
            new = []
            for r in range(R):
                wv = splat(builder.load(builder.gep(wp, [builder.add(wrow, const(r))])))
                new.append([builder.call(fma, [xs[v], wv, acc[r][v]]) for v in range(V)])
            k_next = builder.add(k, const(1))
            end = builder.block
            k.add_incoming(const(0), pre)
            k.add_incoming(k_next, end)
            for r in range(R):
                for v in range(V):
                    acc[r][v].add_incoming(init[r][v], pre)
                    acc[r][v].add_incoming(new[r][v], end)
            builder.cbranch(builder.icmp_signed("<", k_next, nk_), loop, done)

            builder.position_at_end(done)
            final = [[builder.phi(vty) for _ in range(V)] for _ in range(R)]
            for r in range(R):
                for v in range(V):
                    final[r][v].add_incoming(init[r][v], pre)
                    final[r][v].add_incoming(new[r][v], end)
            zero = ir.Constant(vty, [0.0] * W)
            for r in range(R):
                orow = builder.add(o_off_, builder.mul(const(r), ldo_))
                for v in range(V):
                    val = final[r][v]
                    rect = builder.select(builder.fcmp_ordered(">", val, zero), val, zero)
                    val = builder.select(relu_, rect, val)
                    dst = builder.bitcast(builder.gep(op, [builder.add(orow, const(W * v))]), vptr)
                    builder.store(val, dst, align=4)
            return context.get_dummy_value()

        return sig, codegen

    tile.__name__ = f"dense_tile_{R}"
    return tile


# exp32_nonpos's constants (fastga.kernels.forward, Cephes' expf).
_EXP = dict(lo=-87.0, log2e=1.44269504088896341, ln2_hi=0.693359375, ln2_lo=-2.12194440e-4,
            p=(1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2,
               1.6666665459e-1, 5.0000001201e-1))


def _exp32_ir(builder, x, fma, floor):
    """IR of :func:`fastga.kernels.forward.exp32_nonpos` on a <16 x float>, with
    the fused multiply-adds Numba's ``contract`` makes of it."""
    vty = x.type
    ity = ir.VectorType(ir.IntType(32), vty.count)

    def cf(c):
        return ir.Constant(vty, [float(np.float32(c))] * vty.count)

    x0 = x
    x = builder.select(builder.fcmp_ordered(">", x, cf(_EXP["lo"])), x, cf(_EXP["lo"]))
    n = builder.call(floor, [builder.call(fma, [x, cf(_EXP["log2e"]), cf(0.5)])])
    neg_n = builder.fneg(n)
    r = builder.call(fma, [neg_n, cf(_EXP["ln2_hi"]), x])
    r = builder.call(fma, [neg_n, cf(_EXP["ln2_lo"]), r])
    zz = builder.fmul(r, r)
    p0, p1, p2, p3, p4, p5 = _EXP["p"]
    p = builder.call(fma, [cf(p0), r, cf(p1)])
    for c in (p2, p3, p4, p5):
        p = builder.call(fma, [p, r, cf(c)])
    p = builder.fadd(builder.call(fma, [p, zz, r]), cf(1.0))
    bits = builder.shl(builder.add(builder.fptosi(n, ity), ir.Constant(ity, [127] * vty.count)),
                       ir.Constant(ity, [23] * vty.count))
    e = builder.fmul(p, builder.bitcast(bits, vty))
    return builder.select(builder.fcmp_ordered("==", x0, x0), e, x0)


@intrinsic
def softmax_stats(typingctx, z, n_out, y, y_off, tiny, best, chk, se, se2, zl):
    """Per-sample softmax statistics of a block of logits, in registers.

    ``z`` is a (rows, LANES) float32 block, rows ``0 .. n_out-1`` the logits
    of ``LANES`` samples; ``y[y_off + s]`` (int32) is sample ``s``'s label.
    For each sample, with ``m`` the maximum logit (the first one on ties):
    ``best`` (int32) its index, ``chk`` 0 if every logit is finite (NaN
    otherwise), ``se = sum_j exp(z_j - m)`` and ``se2 = sum_j e_j**2`` over
    the terms ``e_j`` above ``tiny`` (smaller squares are subnormal and slow,
    and cannot change a sum that reaches 1), ``zl = z_y - m``. The exponential
    is :func:`fastga.kernels.forward.exp32_nonpos`, with the same contractions
    (fused multiply-adds) as Numba makes of it; the output arrays are
    (LANES,), written whole. These are the loops of
    :func:`fastga.kernels.fitness.network_softmax_ce` on explicit 16-lane
    vectors (LLVM's own vectorisation of them uses 8-lane vectors on AVX-512
    CPUs).
    """
    f32arr = (z, chk, se, se2, zl)
    if not all(isinstance(a, types.Array) and a.dtype == types.float32 and a.layout == "C"
               for a in f32arr):
        return None
    for a in (y, best):
        if not (isinstance(a, types.Array) and a.dtype == types.int32 and a.layout == "C"):
            return None
    ip = types.intp
    sig = types.void(z, ip, y, ip, types.float32, best, chk, se, se2, zl)

    def codegen(context, builder, signature, args):
        V = TILE_VECTORS
        W = VECTOR_LANES
        tys = signature.args
        z_, n_out_, y_, y_off_, tiny_, best_, chk_, se_, se2_, zl_ = args

        def data(i, val):
            return context.make_array(tys[i])(context, builder, val).data

        zp, yp, bp, cp, sp, s2p, zlp = (data(i, v) for i, v in
                                        ((0, z_), (2, y_), (5, best_), (6, chk_), (7, se_),
                                         (8, se2_), (9, zl_)))
        f32 = ir.FloatType()
        i32 = ir.IntType(32)
        i64 = ir.IntType(64)
        vty = ir.VectorType(f32, W)
        ity = ir.VectorType(i32, W)

        def intr(name, n_args, ty=vty):
            return cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ty, [ty] * n_args), name)

        fma = intr("llvm.fma.v16f32", 3)
        floor = intr("llvm.floor.v16f32", 1)

        def cf(x):
            return ir.Constant(vty, [float(np.float32(x))] * W)

        def ci(x):
            return ir.Constant(ity, [int(x)] * W)

        undef = ir.Constant(vty, ir.Undefined)
        lane0 = ir.Constant(ity, [0] * W)
        tiny_v = builder.shuffle_vector(
            builder.insert_element(undef, tiny_, ir.Constant(i32, 0)), undef, lane0)

        def vload(ptr, off, ty=vty):
            p = builder.gep(ptr, [off])
            return builder.load(builder.bitcast(p, ty.as_pointer()), align=4)

        def vstore(val, ptr, off, ty=vty):
            p = builder.gep(ptr, [off])
            builder.store(val, builder.bitcast(p, ty.as_pointer()), align=4)

        def zrow(j, v):
            return vload(zp, builder.add(builder.mul(j, ir.Constant(i64, _LANES)),
                                         ir.Constant(i64, W * v)))

        def exp32(x):
            return _exp32_ir(builder, x, fma, floor)

        one = ir.Constant(i64, 1)
        zero64 = ir.Constant(i64, 0)
        labels = [vload(yp, builder.add(y_off_, ir.Constant(i64, W * v)), ity) for v in range(V)]

        # Pass 1: maximum, its first index, finiteness.
        pre = builder.block
        m0 = [zrow(zero64, v) for v in range(V)]
        c0 = [builder.fmul(m, cf(0.0)) for m in m0]
        b0 = [ci(0)] * V
        loop1 = builder.append_basic_block("smx.max")
        done1 = builder.append_basic_block("smx.max_done")
        builder.cbranch(builder.icmp_signed(">", n_out_, one), loop1, done1)
        builder.position_at_end(loop1)
        j = builder.phi(i64)
        m_phi = [builder.phi(vty) for _ in range(V)]
        c_phi = [builder.phi(vty) for _ in range(V)]
        b_phi = [builder.phi(ity) for _ in range(V)]
        jv = builder.trunc(j, i32)
        jvec = builder.shuffle_vector(builder.insert_element(ir.Constant(ity, ir.Undefined), jv,
                                                             ir.Constant(i32, 0)),
                                      ir.Constant(ity, ir.Undefined), lane0)
        m1, c1, b1 = [], [], []
        for v in range(V):
            zj = zrow(j, v)
            gt = builder.fcmp_ordered(">", zj, m_phi[v])
            b1.append(builder.select(gt, jvec, b_phi[v]))
            m1.append(builder.select(gt, zj, m_phi[v]))
            c1.append(builder.fadd(c_phi[v], builder.fmul(zj, cf(0.0))))
        j1 = builder.add(j, one)
        end1 = builder.block
        j.add_incoming(one, pre)
        j.add_incoming(j1, end1)
        for v in range(V):
            m_phi[v].add_incoming(m0[v], pre)
            m_phi[v].add_incoming(m1[v], end1)
            c_phi[v].add_incoming(c0[v], pre)
            c_phi[v].add_incoming(c1[v], end1)
            b_phi[v].add_incoming(b0[v], pre)
            b_phi[v].add_incoming(b1[v], end1)
        builder.cbranch(builder.icmp_signed("<", j1, n_out_), loop1, done1)
        builder.position_at_end(done1)
        mx = [builder.phi(vty) for _ in range(V)]
        ck = [builder.phi(vty) for _ in range(V)]
        bs = [builder.phi(ity) for _ in range(V)]
        for v in range(V):
            for phi, a0, a1 in ((mx[v], m0[v], m1[v]), (ck[v], c0[v], c1[v]),
                                (bs[v], b0[v], b1[v])):
                phi.add_incoming(a0, pre)
                phi.add_incoming(a1, end1)

        # Pass 2: the exponentials' sums and the label's logit.
        pre2 = builder.block
        loop2 = builder.append_basic_block("smx.exp")
        done2 = builder.append_basic_block("smx.exp_done")
        zero_v = cf(0.0)
        builder.branch(loop2)
        builder.position_at_end(loop2)
        j = builder.phi(i64)
        s_phi = [builder.phi(vty) for _ in range(V)]
        s2_phi = [builder.phi(vty) for _ in range(V)]
        l_phi = [builder.phi(vty) for _ in range(V)]
        jv = builder.trunc(j, i32)
        jvec = builder.shuffle_vector(builder.insert_element(ir.Constant(ity, ir.Undefined), jv,
                                                             ir.Constant(i32, 0)),
                                      ir.Constant(ity, ir.Undefined), lane0)
        s1, s21, l1 = [], [], []
        for v in range(V):
            d = builder.fsub(zrow(j, v), mx[v])
            e = exp32(d)
            s1.append(builder.fadd(s_phi[v], e))
            ee = builder.select(builder.fcmp_ordered(">", e, tiny_v), e, zero_v)
            s21.append(builder.call(fma, [ee, ee, s2_phi[v]]))
            l1.append(builder.select(builder.icmp_signed("==", labels[v], jvec), d, l_phi[v]))
        j1 = builder.add(j, one)
        end2 = builder.block
        j.add_incoming(zero64, pre2)
        j.add_incoming(j1, end2)
        for v in range(V):
            for phi, a1 in ((s_phi[v], s1[v]), (s2_phi[v], s21[v]), (l_phi[v], l1[v])):
                phi.add_incoming(zero_v, pre2)
                phi.add_incoming(a1, end2)
        builder.cbranch(builder.icmp_signed("<", j1, n_out_), loop2, done2)
        builder.position_at_end(done2)
        for v in range(V):
            off = ir.Constant(i64, W * v)
            vstore(bs[v], bp, off, ity)
            vstore(ck[v], cp, off)
            vstore(s1[v], sp, off)
            vstore(s21[v], s2p, off)
            vstore(l1[v], zlp, off)
        return context.get_dummy_value()

    return sig, codegen



#: Vectors of samples :func:`softmax_tile` computes at a time (a divisor of
#: ``TILE_VECTORS``).
SOFTMAX_TILE_VECTORS = 1


@intrinsic
def softmax_tile(typingctx, n_out, w, w_off, x, n_k, b, b_off, y, y_off, tiny, best, chk, se, se2,
                 zl):
    """``softmax_tile(n_out, w, w_off, x, n_k, b, b_off, y, y_off, tiny, best, chk, se, se2, zl)``:
    a softmax output layer of ``len(n_out)`` units, ``n_out`` a tuple, so that
    the number is part of its type, a compile-time constant: the caller is
    compiled for the one value in use (see
    :func:`fastga.kernels.fitness.fused_softmax_ce`); ``()`` does nothing.

    The last dense layer and :func:`softmax_stats` at once, the logits never
    leaving the registers: for each 16-sample vector of the block it computes
    ``z_j = b[b_off + j] + sum_k x[k, s] w[w_off + k * n_out + j]`` (``x`` a
    (rows, LANES) float32 block, the sum in the order of ``k``, one fused
    multiply-add per step, as :func:`dense_tile`), then the statistics of
    :func:`softmax_stats` of those ``z``, written to the (LANES,) outputs.
    Nothing is checked: the caller guarantees the indices and ``n_k >= 1``.
    """
    if not isinstance(n_out, types.BaseTuple):
        return None
    R = len(n_out)
    if not 0 <= R <= MAX_SOFTMAX_TILE:
        return None
    for a in (w, x, b, chk, se, se2, zl):
        if not (isinstance(a, types.Array) and a.dtype == types.float32 and a.layout == "C"):
            return None
    for a in (y, best):
        if not (isinstance(a, types.Array) and a.dtype == types.int32 and a.layout == "C"):
            return None
    ip = types.intp
    sig = types.void(n_out, w, ip, x, ip, b, ip, y, ip, types.float32, best, chk, se, se2, zl)
    inner = _make_softmax_tile(R) if R else None

    def codegen(context, builder, signature, args):
        if inner is not None:
            inner(context, builder, types.void(*signature.args[1:]), args[1:])
        return context.get_dummy_value()

    return sig, codegen


#: Most outputs of :func:`softmax_tile` (its accumulators, one register each).
MAX_SOFTMAX_TILE = 12


def _make_softmax_tile(R):
    """The code generator of :func:`softmax_tile` for ``R`` outputs (its
    arguments without ``n_out``)."""
    V = TILE_VECTORS
    W = VECTOR_LANES
    U = SOFTMAX_TILE_VECTORS

    if True:
        def codegen(context, builder, signature, args):
            tys = signature.args
            (w_, w_off_, x_, nk_, b_, b_off_, y_, y_off_, tiny_, best_, chk_, se_, se2_,
             zl_) = args

            def data(i):
                return context.make_array(tys[i])(context, builder, args[i]).data

            wp, xp, bp, yp, bestp, chkp, sep, se2p, zlp = (data(i) for i in
                                                           (0, 2, 4, 6, 9, 10, 11, 12, 13))
            f32 = ir.FloatType()
            i32 = ir.IntType(32)
            i64 = ir.IntType(64)
            vty = ir.VectorType(f32, W)
            ity = ir.VectorType(i32, W)
            fma = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(vty, [vty] * 3), "llvm.fma.v16f32")
            floor = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(vty, [vty]), "llvm.floor.v16f32")
            lane0 = ir.Constant(ity, [0] * W)

            def splat(scalar, ty=vty):
                u = ir.Constant(ty, ir.Undefined)
                return builder.shuffle_vector(
                    builder.insert_element(u, scalar, ir.Constant(i32, 0)), u, lane0)

            def const(n):
                return ir.Constant(i64, n)

            def cf(c):
                return ir.Constant(vty, [float(c)] * W)

            def at(ptr, off, ty=vty):
                return builder.bitcast(builder.gep(ptr, [off]), ty.as_pointer())

            bias = [splat(builder.load(builder.gep(bp, [builder.add(b_off_, const(j))])))
                    for j in range(R)]
            tiny_v = splat(tiny_)
            entry = builder.block
            vloop = builder.append_basic_block("smt.v")
            kloop = builder.append_basic_block("smt.k")
            kdone = builder.append_basic_block("smt.stats")
            exit_ = builder.append_basic_block("smt.exit")
            builder.branch(vloop)

            builder.position_at_end(vloop)
            v = builder.phi(i64)
            # U vectors of samples at a time: they share the weights'
            # broadcasts, and their softmax chains run side by side.
            voffs = [builder.mul(builder.add(v, const(u)), const(W)) for u in range(U)]
            builder.branch(kloop)

            builder.position_at_end(kloop)
            k = builder.phi(i64)
            acc = [[builder.phi(vty) for _ in range(U)] for _ in range(R)]
            krow = builder.mul(k, const(_LANES))
            xv = [builder.load(at(xp, builder.add(krow, voffs[u])), align=4) for u in range(U)]
            wrow = builder.add(w_off_, builder.mul(k, const(R)))
            new = []
            for j in range(R):
                wj = splat(builder.load(builder.gep(wp, [builder.add(wrow, const(j))])))
                new.append([builder.call(fma, [xv[u], wj, acc[j][u]]) for u in range(U)])
            k_next = builder.add(k, const(1))
            k.add_incoming(const(0), vloop)
            k.add_incoming(k_next, kloop)
            for j in range(R):
                for u in range(U):
                    acc[j][u].add_incoming(bias[j], vloop)
                    acc[j][u].add_incoming(new[j][u], kloop)
            builder.cbranch(builder.icmp_signed("<", k_next, nk_), kloop, kdone)

            builder.position_at_end(kdone)
            for u in range(U):
                voff = voffs[u]
                zs = [new[j][u] for j in range(R)]
                label = builder.load(at(yp, builder.add(y_off_, voff), ity), align=4)
                m = zs[0]
                chk = builder.fmul(zs[0], cf(0.0))
                bst = ir.Constant(ity, [0] * W)
                for j in range(1, R):
                    gt = builder.fcmp_ordered(">", zs[j], m)
                    bst = builder.select(gt, ir.Constant(ity, [j] * W), bst)
                    m = builder.select(gt, zs[j], m)
                    chk = builder.fadd(chk, builder.fmul(zs[j], cf(0.0)))
                sv = cf(0.0)
                s2v = cf(0.0)
                zlv = cf(0.0)
                for j in range(R):
                    d = builder.fsub(zs[j], m)
                    e = _exp32_ir(builder, d, fma, floor)
                    sv = builder.fadd(sv, e)
                    ee = builder.select(builder.fcmp_ordered(">", e, tiny_v), e, cf(0.0))
                    s2v = builder.call(fma, [ee, ee, s2v])
                    zlv = builder.select(builder.icmp_signed(
                        "==", label, ir.Constant(ity, [j] * W)), d, zlv)
                builder.store(bst, at(bestp, voff, ity), align=4)
                builder.store(chk, at(chkp, voff), align=4)
                builder.store(sv, at(sep, voff), align=4)
                builder.store(s2v, at(se2p, voff), align=4)
                builder.store(zlv, at(zlp, voff), align=4)
            v_next = builder.add(v, const(U))
            v.add_incoming(const(0), entry)
            v.add_incoming(v_next, kdone)
            builder.cbranch(builder.icmp_signed("<", v_next, const(V)), vloop, exit_)

            builder.position_at_end(exit_)
            return context.get_dummy_value()

        return codegen
