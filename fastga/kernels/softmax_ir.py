"""Softmax statistics of a block of logits in registers, in LLVM IR (the
default backend).

:func:`softmax_stats` reads a block of logits; :func:`softmax_tile` computes
the output layer too, so the logits never leave the registers. Both give,
per sample, what the fused cross-entropy needs (see
:mod:`fastga.kernels.fitness`), with the exponential of
:mod:`fastga.kernels.exp` on 16-lane vectors. Their plain-Numba twins are in
:mod:`fastga.kernels.tiles_numba`.
"""

from numba import types
from numba.extending import intrinsic

from .simd import (I32, I64, IVEC, LANES, MAX_SOFTMAX_TILE, TILE_VECTORS, VECTOR_LANES, Vec,
                   arrays_ok, data)

__all__ = ["softmax_stats", "softmax_tile", "softmax_tile_upto", "SOFTMAX_WIDTHS"]


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
    m``. The exponential is :func:`fastga.kernels.exp.exp32_nonpos`, with
    the same contractions (fused multiply-adds) as Numba makes of it; the
    float32 outputs are (LANES,), written whole. Two passes over the rows, on
    explicit 16-lane vectors (LLVM's own vectorisation of such loops uses
    8-lane vectors on AVX-512 CPUs). ``n_out >= 1``.
    """
    if not arrays_ok((z, hit, chk, se, se2, zl), (y,)):
        return None
    ip = types.intp
    sig = types.void(z, ip, ip, y, ip, types.float32, hit, chk, se, se2, zl)

    def codegen(context, builder, signature, args):
        V, W = TILE_VECTORS, VECTOR_LANES
        tys = signature.args
        z_, z_off_, n_out_, y_, y_off_, tiny_ = args[:6]
        zp, yp, hp, cp, sp, s2p, zlp = (data(context, builder, tys[i], args[i])
                                        for i in (0, 3, 6, 7, 8, 9, 10))
        vec = Vec(builder)
        c = vec.i64
        tiny_v = vec.splat(tiny_)

        def zrow(j, v):
            return vec.load(zp, builder.add(z_off_, builder.add(builder.mul(j, c(LANES)),
                                                                c(W * v))))

        def loop(first, init, step):
            """``state[v] = step(j, jvec, v, state[v])`` for ``first <= j < n_out``."""
            n_st = len(init[0])

            def flat_step(j, flat):
                jvec = vec.splat(builder.trunc(j, I32))
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
        labels = [vec.load(yp, builder.add(y_off_, c(W * v)), IVEC) for v in range(V)]
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
    one fused multiply-add per step, as
    :func:`fastga.kernels.tiles_ir.dense_tile`), then the statistics of
    :func:`softmax_stats` of those ``z``, written to the (LANES,) outputs. Nothing is checked: the caller guarantees the indices.
    """
    if not isinstance(n_out, types.BaseTuple):
        return None
    R = len(n_out)
    if R > MAX_SOFTMAX_TILE or not arrays_ok((w, x, b, hit, chk, se, se2, zl), (y,)):
        return None
    ip = types.intp
    sig = types.void(n_out, w, ip, x, ip, ip, b, ip, y, ip, types.float32, hit, chk, se, se2, zl)

    def codegen(context, builder, signature, args):
        if R == 0:
            return context.get_dummy_value()
        tys = signature.args
        offs = [args[i] for i in (2, 4, 5, 7, 9, 10)]
        ptrs = [data(context, builder, tys[i], args[i]) for i in (1, 3, 6, 8, 11, 12, 13, 14, 15)]
        vec = Vec(builder)
        _tile_vectors(builder, vec, R, R, vec.i64(R), ptrs, offs)
        return context.get_dummy_value()

    return sig, codegen


#: The widths (numbers of outputs) :func:`softmax_tile_upto` has a variant of.
SOFTMAX_WIDTHS = (2, 4, 6, 8, 10, 12)


def _tile_vectors(builder, vec, R, lo, n_out, ptrs, offs):
    """The loop over a block's vectors of :func:`softmax_tile`, for ``R``
    columns of logits of which those below ``lo`` are all outputs and the
    others outputs where below the run-time ``n_out`` (the weights' row
    stride; ``lo < n_out <= R``). A column ``j >= n_out`` reads column
    ``n_out - 1``'s weights (no index leaves the layer) and is masked out of
    every statistic, so the results are the bits of ``R = n_out``."""
    W = VECTOR_LANES
    c = vec.i64
    wp, xp, bp, yp, hitp, chkp, sep, se2p, zlp = ptrs
    w_off_, x_off_, nk_, b_off_, y_off_, tiny_ = offs
    last = builder.sub(n_out, c(1))
    valid = [None if j < lo else builder.icmp_signed("<", c(j), n_out) for j in range(R)]
    col = [c(j) if valid[j] is None else builder.select(valid[j], c(j), last) for j in range(R)]
    bias = [vec.splat(vec.scalar(bp, builder.add(b_off_, col[j]))) for j in range(R)]
    tiny_v = vec.splat(tiny_)

    def keep(j, new, old):
        if valid[j] is None:
            return new
        return tuple(builder.select(valid[j], a, b) for a, b in zip(new, old))

    # One 16-sample vector at a time, a loop over the block's vectors.
    entry = builder.block
    vloop = builder.append_basic_block("smt.v")
    builder.branch(vloop)
    builder.position_at_end(vloop)
    v = builder.phi(I64)
    voff = builder.mul(v, c(W))
    xv = builder.add(x_off_, voff)
    zs = [row[0] for row in vec.fma_loop(
        nk_, [[bias[j]] for j in range(R)],
        lambda k: [vec.load(xp, builder.add(builder.mul(k, c(LANES)), xv))],
        lambda k, j: vec.scalar(wp, builder.add(builder.add(w_off_, builder.mul(k, n_out)),
                                                col[j])))]
    m, chk, bst = zs[0], vec.chk_step(zs[0], vec.f(0.0)), vec.i(0)
    for j in range(1, R):
        m, chk, bst = keep(j, vec.max_step(zs[j], vec.i(j), m, chk, bst), (m, chk, bst))
    label = vec.load(yp, builder.add(y_off_, voff), IVEC)
    zero = vec.f(0.0)
    sums = (zero, zero, zero)
    for j in range(R):
        sums = keep(j, vec.sum_step(builder.fsub(zs[j], m), vec.i(j), label, tiny_v, *sums), sums)
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


@intrinsic
def softmax_tile_upto(typingctx, widths, n_out, w, w_off, x, x_off, n_k, b, b_off, y, y_off, tiny,
                      hit, chk, se, se2, zl):
    """:func:`softmax_tile` for any run-time number of outputs ``1 <= n_out <=
    len(widths)``, ``widths`` a tuple whose length only is read: one variant
    of the tile per width of :data:`SOFTMAX_WIDTHS` up to that length (``n_out``
    rounded up to the next width, the extra columns masked out, see
    :func:`_tile_vectors`), chosen at run time. The same bits as
    :func:`softmax_tile` of ``n_out`` outputs; a kernel that calls it is
    compiled once for every number of outputs instead of once per number
    (compile time), at the price of at most one idle column. ``()`` does
    nothing."""
    if not isinstance(widths, types.BaseTuple) or not isinstance(n_out, types.Integer):
        return None
    L = len(widths)
    if L > MAX_SOFTMAX_TILE or not arrays_ok((w, x, b, hit, chk, se, se2, zl), (y,)):
        return None
    ip = types.intp
    sig = types.void(widths, ip, w, ip, x, ip, ip, b, ip, y, ip, types.float32, hit, chk, se, se2,
                     zl)
    variants = [r for r in SOFTMAX_WIDTHS if r < L] + ([L] if L else [])

    def codegen(context, builder, signature, args):
        if not variants:
            return context.get_dummy_value()
        tys = signature.args
        n_out_ = args[1]
        offs = [args[i] for i in (3, 5, 6, 8, 10, 11)]
        ptrs = [data(context, builder, tys[i], args[i]) for i in (2, 4, 7, 9, 12, 13, 14, 15, 16)]
        vec = Vec(builder)
        done = builder.append_basic_block("smt.done")
        lo = 0
        for r in variants:
            if r != variants[-1]:
                this = builder.append_basic_block(f"smt.w{r}")
                other = builder.append_basic_block(f"smt.gt{r}")
                builder.cbranch(builder.icmp_signed("<=", n_out_, vec.i64(r)), this, other)
                builder.position_at_end(this)
                _tile_vectors(builder, vec, r, lo, n_out_, ptrs, offs)
                builder.branch(done)
                builder.position_at_end(other)
            else:
                _tile_vectors(builder, vec, r, lo, n_out_, ptrs, offs)
                builder.branch(done)
            lo = r
        builder.position_at_end(done)
        return context.get_dummy_value()

    return sig, codegen
