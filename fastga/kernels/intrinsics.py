"""LLVM-level helpers of the kernels: bit casts, a prefetch hint and a dense tile.

Plain ``@intrinsic`` functions (they cache with the kernels that call them).

:func:`dense_tile` is the register-blocked inner product of the forward
pass, written in LLVM IR with explicit 16-lane float32 vectors: Numba's loops
cannot keep a tile of accumulators in registers across a reduction loop, and
LLVM's cost model for AVX-512 CPUs prefers 256-bit vectors in loops it
vectorises itself (``prefer-256-bit``), while explicit ``<16 x float>`` values
are lowered to whole AVX-512 registers (two AVX2 registers elsewhere).
"""

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["f32_as_i32", "i32_as_f32", "prefetch", "dense_tile", "TILE_VECTORS",
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


#: float32 lanes of one vector of :func:`dense_tile` (one AVX-512 register).
VECTOR_LANES = 16
#: Vectors of samples per tile: a tile covers ``VECTOR_LANES * TILE_VECTORS``
#: samples (the epilogue's ``LANES``).
TILE_VECTORS = 4

_tiles = {}


def dense_tile(n_rows):
    """The intrinsic ``tile(w, w_off, ldw, x, x_off, ldx, n_k, b, b_off, out, out_off, ldo, relu)``
    for ``n_rows`` (1-4) output rows, see below; made once per ``n_rows``.

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
    :func:`fastga.kernels.forward.dense_block`. Nothing is checked: the
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
