"""The register tiles of the forward pass, in LLVM IR (the default backend).

:func:`dense_tile` is the register-blocked inner product of a dense layer:
``TILE_ROWS`` output rows x ``LANES`` samples of accumulators held in
registers over the whole sum (see :mod:`fastga.kernels.simd` for why LLVM
IR). :func:`bias_rows` adds the biases to a block of first-layer products
(the GEMM path). Plain ``@intrinsic`` functions, cached with the kernels that
call them; :mod:`fastga.kernels.tiles_numba` holds their plain-Numba twins
and :mod:`fastga.kernels.tiles` chooses between the two.
"""

from numba import types
from numba.extending import intrinsic

from .simd import LANES, TILE_ROWS, TILE_VECTORS, VEC, VECTOR_LANES, Vec, arrays_ok, data

__all__ = ["dense_tile", "bias_rows"]


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
      (compile time), at the price of idle rows in a layer's last tile.
    * ``accumulate`` continues a sum over a later range of ``k`` (a K-chunked
      layer, see :func:`fastga.kernels.forward.dense_tiles`): float32 partial
      sums in ``out`` are the values the registers held, so the result is
      the same bits as in one pass.
    * The two sources let one call site read either the inputs or the
      previous layer's block without assigning an array variable in the
      caller's loop: every such assignment costs Numba's reference counting
      two atomic operations (see ``bench/README.md``, "Design measurements").

    Nothing is checked: the caller guarantees every index is inside its
    array.
    """
    if not arrays_ok((w, x, x_alt, b, out)):
        return None
    ip = types.intp
    sig = types.void(w, ip, ip, x, x_alt, types.boolean, ip, ip, ip, b, ip, out, ip, ip, ip,
                     types.boolean, types.boolean)

    def codegen(context, builder, signature, args):
        R, V, W = TILE_ROWS, TILE_VECTORS, VECTOR_LANES
        (w_, w_off_, ldw_, x_, xa_, alt_, x_off_, ldx_, nk_, b_, b_off_, o_, o_off_, ldo_, nr_,
         relu_, accum_) = args
        tys = signature.args
        wp, x0p, xap, bp, op = (data(context, builder, tys[i], args[i]) for i in (0, 3, 4, 9, 11))
        xp = builder.select(alt_, xap, x0p)
        vec = Vec(builder)
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
                phi = builder.phi(VEC)
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
    if not arrays_ok((src, b, dst)):
        return None
    ip = types.intp
    sig = types.void(src, ip, ip, ip, b, ip, dst, ip, types.boolean)

    def codegen(context, builder, signature, args):
        src_, src_off_, ld_, n_, b_, b_off_, dst_, dst_off_, relu_ = args
        tys = signature.args
        sp, bp, dp = (data(context, builder, tys[i], args[i]) for i in (0, 4, 6))
        vec = Vec(builder)
        c = vec.i64

        def body(j):
            bias = vec.splat(vec.scalar(bp, builder.add(b_off_, j)))
            s0 = builder.add(src_off_, builder.mul(j, ld_))
            d0 = builder.add(dst_off_, builder.mul(j, c(LANES)))
            for v in range(TILE_VECTORS):
                x = builder.fadd(vec.load(sp, builder.add(s0, c(VECTOR_LANES * v))), bias)
                vec.store(vec.relu_if(relu_, x), dp, builder.add(d0, c(VECTOR_LANES * v)))

        vec.for_range(n_, body)
        return context.get_dummy_value()

    return sig, codegen
