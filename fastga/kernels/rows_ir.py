"""Dense layers of one network on rows of its own inputs, in LLVM IR (the
default backend): the forward pass of :meth:`fastga.Population.forward_each`
and of the control rollouts (:mod:`fastga.kernels.envs`).

There the inputs of a network are a few rows (often one: a policy acting in
one environment), so the lanes of the vectors run over a layer's output
units instead of over samples as in the tiles of :mod:`fastga.kernels.tiles_ir`:
for each input row and each block of up to 64 outputs, the sum over the
inputs ``k`` broadcasts ``x[k]`` and multiplies it into the weights' row
``k``, contiguous in the genome's (n_k, n_out) matrix, with the
accumulators in registers. A partial block's vectors are read and written
with masked loads and stores (no index leaves the layer); a whole block's
weights with plain loads, which the multiply-adds take as memory operands
(a masked load is an instruction of its own: the loop issues fewer). The
activation (ReLU, tanh) is applied before the block is stored. Layers of 1
or 2 outputs (a policy's actions) pack their partial sums into one vector
(``_emit_layer``'s ``narrow``).

One block of ``nv`` vectors alone would be a chain of dependent fused
multiply-adds per vector, each waiting for the last (4 cycles): the sum is
split into :func:`splits` interleaved partial sums (input ``k`` goes to
partial sum ``k % S``, the last ``n_k % S`` inputs to the first one) added in
order at the end, so at least 8 chains run at once. The split depends on
the layer's width only, so a row's bits do not depend on the other rows.

:func:`rows_dense` is one layer; :func:`network_rows` is every layer of a
network in one function (no Numba call per network, see there).

The tanh is :func:`tanh_vector`: Cephes' ``tanhf`` on 16 lanes, the same
formula as :func:`fastga.kernels.forward.tanh32` (the Numba twin, see
there for its accuracy). The plain-Numba twin of :func:`rows_dense` is
:func:`fastga.kernels.forward.rows_dense_numba` (``FASTGA_TILES=numba``).
"""

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from ..registry import Activation
from .simd import I32, IVEC, VEC, VECTOR_LANES, Vec, arrays_ok, data, vectors_map

__all__ = ["rows_dense", "network_rows", "splits", "tanh_vector", "tanh_vectors", "TANH_SMALL",
           "TANH_POLY", "TANH_CLAMP", "ROW_VECTORS"]

#: Vectors of outputs per block of :func:`rows_dense` (64 outputs).
ROW_VECTORS = 4

#: Output widths of the packed block of a narrow layer (see ``_emit_layer``):
#: 8 partial sums of up to 2 outputs fill one vector.
NARROW = (1, 2)

#: Below this ``|x|`` the tanh is the odd polynomial; from it on ``1 - 2 / (exp(2|x|) + 1)``.
TANH_SMALL = 0.625
#: The polynomial's coefficients (Cephes' ``tanhf``), highest degree first:
#: ``tanh(x) ~ x + x z P(z)``, ``z = x * x``.
TANH_POLY = (-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1,
             -3.33332819422e-1)
#: Upper clamp of ``2|x|`` before the exponential: beyond it tanh rounds to 1
#: in float32 anyway (from ``|x| > 9.01``), and the exponential stays finite.
TANH_CLAMP = 40.0


def splits(nv):
    """Interleaved partial sums of a block of ``nv`` vectors (at least 8 chains)."""
    return {1: 8, 2: 4, 3: 3, 4: 2}[nv]


def tanh_vector(vec, x):
    """tanh of the 16 lanes of ``x`` (see :func:`fastga.kernels.forward.tanh32`)."""
    b, f = vec.b, vec.f
    zero = f(0.0)
    neg = b.fcmp_ordered("<", x, zero)
    ax = b.select(neg, b.fneg(x), x)
    z = b.fmul(x, x)
    c0, c1, c2, c3, c4 = TANH_POLY
    p = vec.fma(f(c0), z, f(c1))
    for c in (c2, c3, c4):
        p = vec.fma(p, z, f(c))
    small = vec.fma(b.fmul(p, z), x, x)
    # The exponential and the division (a 16-lane division is slow) only
    # where some lane needs them: the same bits either way.
    need = b.bitcast(b.fcmp_ordered(">=", ax, f(TANH_SMALL)), ir.IntType(VECTOR_LANES))
    pre = b.block
    with b.if_then(b.icmp_unsigned("!=", need, ir.Constant(ir.IntType(VECTOR_LANES), 0))):
        a2 = b.fadd(ax, ax)
        a2 = b.select(b.fcmp_ordered("<", a2, f(TANH_CLAMP)), a2, f(TANH_CLAMP))
        e = vec.exp32(a2)
        big = b.fsub(f(1.0), b.fdiv(f(2.0), b.fadd(e, f(1.0))))
        big = b.select(neg, b.fneg(big), big)
        mixed = b.select(b.fcmp_ordered("<", ax, f(TANH_SMALL)), small, big)
        then = b.block
    y = b.phi(VEC)
    y.add_incoming(small, pre)
    y.add_incoming(mixed, then)
    return b.select(b.fcmp_ordered("==", x, x), y, x)


def _masked_fns(builder, ptr_type):
    mod = builder.module
    mask_t = ir.VectorType(ir.IntType(1), VECTOR_LANES)
    load = cgutils.get_or_insert_function(
        mod, ir.FunctionType(VEC, [ptr_type, I32, mask_t, VEC]), "llvm.masked.load.v16f32.p0")
    store = cgutils.get_or_insert_function(
        mod, ir.FunctionType(ir.VoidType(), [VEC, ptr_type, I32, mask_t]),
        "llvm.masked.store.v16f32.p0")
    return load, store


def _emit_layer(builder, vec, wp, w_off_, nk_, nout_, b_off_, xp, x_off_, ldx_, nr_, op, o_off_,
                ldo_, act_):
    """The IR of :func:`rows_dense` at the builder's position (i64 values, float pointers)."""
    W = VECTOR_LANES
    c = vec.i64
    vptr = VEC.as_pointer()
    mload, mstore = _masked_fns(builder, vptr)
    iota = ir.Constant(IVEC, list(range(W)))
    align = ir.Constant(I32, 4)
    zero = vec.f(0.0)
    is_relu = builder.icmp_signed("==", act_, c(int(Activation.RELU)))
    is_tanh = builder.icmp_signed("==", act_, c(int(Activation.TANH)))
    n_blocks = builder.sdiv(builder.add(nout_, c(W * ROW_VECTORS - 1)), c(W * ROW_VECTORS))

    def load(ptr, off, mask):
        return builder.call(mload, [vec._at(ptr, off, VEC), align, mask, zero])

    def block(nv, j0, rem, xrow, orow, full=False):
        """Outputs ``j0 .. j0 + rem - 1`` (``rem <= 16 nv``) of one row; ``full``:
        ``rem == 16 nv``, the weights and biases read by plain loads (which
        the multiply-adds take as operands)."""

        def wload(off, mask):
            return vec.load(wp, off) if full else load(wp, off, mask)
        S = splits(nv)
        rem32 = builder.trunc(rem, I32)
        masks = [builder.icmp_signed("<", iota, vec.splat(builder.sub(rem32, ir.Constant(
            I32, W * v)))) for v in range(nv)]
        bias = [wload(builder.add(b_off_, builder.add(j0, c(W * v))), masks[v])
                for v in range(nv)]
        init = bias + [zero] * (nv * (S - 1))
        wcol = builder.add(w_off_, j0)

        def fma_k(k, accs):
            """``accs[v] += x[k] * W[k, j0 + 16 v ...]``."""
            xk = vec.splat(vec.scalar(xp, builder.add(xrow, k)))
            wrow = builder.add(wcol, builder.mul(k, nout_))
            return [vec.fma(xk, wload(builder.add(wrow, c(W * v)), masks[v]), accs[v])
                    for v in range(nv)]

        n_main = builder.sdiv(nk_, c(S))

        def step(i, state):
            k0 = builder.mul(i, c(S))
            new = []
            for s in range(S):
                new += fma_k(builder.add(k0, c(s)), state[s * nv:(s + 1) * nv])
            return new

        state = vec.loop(c(0), n_main, init, step)
        first = vec.loop(builder.mul(n_main, c(S)), nk_, state[:nv],
                         lambda k, st: fma_k(k, st))
        res = list(first)
        for s in range(1, S):
            res = [builder.fadd(res[v], state[s * nv + v]) for v in range(nv)]
        def store(out_v):
            # Whole vectors are stored unmasked: the next layer reads this
            # row's values one by one, and a load can be forwarded from an
            # ordinary store still in flight but not from a masked one.
            for v in range(nv - 1):
                vec.store(out_v[v], op, builder.add(orow, builder.add(j0, c(W * v))))
            v = nv - 1
            off = builder.add(orow, builder.add(j0, c(W * v)))
            with builder.if_else(builder.icmp_signed(">=", rem, c(W * nv))) as (full, part):
                with full:
                    vec.store(out_v[v], op, off)
                with part:
                    builder.call(mstore, [out_v[v], vec._at(op, off, VEC), align, masks[v]])

        with builder.if_else(is_tanh) as (then, otherwise):
            with then:
                store([tanh_vector(vec, r) for r in res])
            with otherwise:
                store([vec.relu_if(is_relu, r) for r in res])

    def narrow(m, xrow, orow):
        """All ``m`` outputs of one row (``8 m <= 16``), packed: lane ``s m + j``
        holds partial sum ``s`` of output ``j`` (the same sums as :func:`block`
        with one vector), so one step of the loop takes 8 inputs: the
        weights of inputs ``k .. k+7`` are ``8 m`` contiguous floats."""
        S = splits(1)
        lanes = S * m
        used = builder.icmp_signed("<", iota, ir.Constant(IVEC, [lanes] * W))
        first = builder.icmp_signed("<", iota, ir.Constant(IVEC, [m] * W))
        spread = ir.Constant(IVEC, [min(f // m, S - 1) for f in range(W)])
        X8 = ir.VectorType(ir.FloatType(), S).as_pointer()
        acc = load(wp, b_off_, first)
        n_main = builder.sdiv(nk_, c(S))

        def step(i, st):
            k0 = builder.mul(i, c(S))
            # 8 inputs by a plain 8-lane load (forwarded from the previous
            # layer's whole-vector stores, where a masked load is not).
            xs = builder.load(builder.bitcast(builder.gep(xp, [builder.add(xrow, k0)]), X8),
                              align=4)
            xv = builder.shuffle_vector(xs, xs, spread)
            w_at = builder.add(w_off_, builder.mul(k0, c(m)))
            wv = vec.load(wp, w_at) if lanes == W else load(wp, w_at, used)
            return [vec.fma(xv, wv, st[0])]

        (acc,) = vec.loop(c(0), n_main, [acc], step)

        def tail(k, st):
            xk = vec.splat(vec.scalar(xp, builder.add(xrow, k)))
            wv = load(wp, builder.add(w_off_, builder.mul(k, c(m))), first)
            return [builder.select(first, vec.fma(xk, wv, st[0]), st[0])]

        (acc,) = vec.loop(builder.mul(n_main, c(S)), nk_, [acc], tail)
        res = acc
        for s in range(1, S):
            idx = ir.Constant(IVEC, [min(s * m + f, W - 1) for f in range(W)])
            res = builder.fadd(res, builder.shuffle_vector(acc, acc, idx))

        def store(v):
            builder.call(mstore, [v, vec._at(op, orow, VEC), align, first])

        with builder.if_else(is_tanh) as (then, otherwise):
            with then:
                store(tanh_vector(vec, res))
            with otherwise:
                store(vec.relu_if(is_relu, res))

    def row(e):
        xrow = builder.add(x_off_, builder.mul(e, ldx_))
        orow = builder.add(o_off_, builder.mul(e, ldo_))

        def one_block(jb):
            j0 = builder.mul(jb, c(W * ROW_VECTORS))
            rem = builder.sub(nout_, j0)
            # Blocks of 4 vectors, the last one of 1-4 (its width chosen at run time).
            done = builder.append_basic_block("rows.done")
            for nv in range(1, ROW_VECTORS + 1):
                this = builder.append_basic_block(f"rows.nv{nv}")
                other = builder.append_basic_block(f"rows.gt{nv}")
                cond = (builder.icmp_signed("<=", rem, c(W * nv)) if nv < ROW_VECTORS
                        else ir.Constant(ir.IntType(1), 1))
                builder.cbranch(cond, this, other)
                builder.position_at_end(this)
                with builder.if_else(builder.icmp_signed(">=", rem, c(W * nv))) as (f, p):
                    with f:
                        block(nv, j0, rem, xrow, orow, full=True)
                    with p:
                        block(nv, j0, rem, xrow, orow)
                builder.branch(done)
                builder.position_at_end(other)
            builder.unreachable()
            builder.position_at_end(done)

        # Layers of 1 or 2 outputs (a policy's actions) take the packed block.
        done = builder.append_basic_block("rows.row_done")
        for m in NARROW:
            this = builder.append_basic_block(f"rows.narrow{m}")
            other = builder.append_basic_block(f"rows.not{m}")
            builder.cbranch(builder.icmp_signed("==", nout_, c(m)), this, other)
            builder.position_at_end(this)
            narrow(m, xrow, orow)
            builder.branch(done)
            builder.position_at_end(other)
        vec.for_range(n_blocks, one_block)
        builder.branch(done)
        builder.position_at_end(done)

    vec.for_range(nr_, row)


@intrinsic
def rows_dense(typingctx, w, w_off, n_k, n_out, b_off, x, x_alt, x_use_alt, x_off, ldx, n_rows,
               out, out_alt, out_use_alt, out_off, ldo, act):
    """``rows_dense(w, w_off, n_k, n_out, b_off, x, x_alt, x_use_alt, x_off, ldx, n_rows, out,
    out_alt, out_use_alt, out_off, ldo, act)``: one dense layer of one network on
    ``n_rows`` rows of inputs.

    With ``xs`` the flat data of ``x_alt`` if ``x_use_alt`` else of ``x``, and
    ``os`` that of ``out_alt`` if ``out_use_alt`` else of ``out``, for ``e <
    n_rows`` and ``j < n_out`` it computes::

        h = w[b_off + j] + sum_k xs[x_off + e * ldx + k] * w[w_off + k * n_out + j]
        os[out_off + e * ldo + j] = act(h)

    (flat indices of C-contiguous float32 arrays; the sum over ``k < n_k`` in
    the interleaved partial sums of the module docstring, one rounding per
    fused multiply-add). ``act`` is an :class:`~fastga.registry.Activation`
    code: ReLU (``max(h, 0)``, NaN gives 0) and tanh (:func:`tanh_vector`)
    are applied; any other activation is left to the caller (``h`` is
    stored). The two sources and destinations let one call site serve every
    layer (inputs or scratch, to scratch or outputs) without assigning an
    array variable (compile time, and Numba's reference counting). Nothing
    is checked: the caller guarantees the indices.
    """
    if not arrays_ok((w, x, x_alt, out, out_alt)):
        return None
    ip, bl = types.intp, types.boolean
    sig = types.void(w, ip, ip, ip, ip, x, x_alt, bl, ip, ip, ip, out, out_alt, bl, ip, ip, ip)

    def codegen(context, builder, signature, args):
        (_, w_off_, nk_, nout_, b_off_, _, _, x_alt_, x_off_, ldx_, nr_, _, _, o_alt_, o_off_,
         ldo_, act_) = args
        tys = signature.args
        wp, x0p, xap, o0p, oap = (data(context, builder, tys[i], args[i])
                                  for i in (0, 5, 6, 11, 12))
        xp = builder.select(x_alt_, xap, x0p)
        op = builder.select(o_alt_, oap, o0p)
        _emit_layer(builder, Vec(builder), wp, w_off_, nk_, nout_, b_off_, xp, x_off_, ldx_, nr_,
                    op, o_off_, ldo_, act_)
        return context.get_dummy_value()

    return sig, codegen


def _i64_arrays_ok(arrays):
    return all(isinstance(a, types.Array) and a.dtype == types.int64 and a.layout == "C"
               for a in arrays)


@intrinsic
def network_rows(typingctx, w, g_off, sizes, w_offs, b_offs, acts, n_layers, x, x_off, n_rows,
                 buf, half, out, out_off):
    """``network_rows(w, g_off, sizes, w_offs, b_offs, acts, n_layers, x, x_off, n_rows, buf,
    half, out, out_off)``: every layer of one network on ``n_rows`` rows of its
    own inputs, by :func:`rows_dense`'s code in a loop over the layers.

    The genome starts at flat index ``g_off`` of ``w``; ``sizes``, ``w_offs``,
    ``b_offs``, ``acts`` (int64) are the :class:`~fastga.NetworkSpec`'s arrays
    and every activation must be one :func:`rows_dense` applies (ReLU, tanh,
    linear). Row ``e`` of the inputs is ``x[x_off + e * sizes[0] + i]``; the
    outputs go to ``out[out_off + e * sizes[-1] + j]``; the hidden layers to
    the halves of ``buf`` in turn (flat offsets 0 and ``half``, rows
    ``sizes[layer]`` apart). One function for the whole network: a Numba
    function per network would take and drop a reference to each of its
    array arguments on every call (an atomic operation each), which costs
    more than a small network's arithmetic. Nothing is checked.
    """
    if not arrays_ok((w, x, buf, out)) or not _i64_arrays_ok((sizes, w_offs, b_offs, acts)):
        return None
    ip = types.intp
    sig = types.void(w, ip, sizes, w_offs, b_offs, acts, ip, x, ip, ip, buf, ip, out, ip)

    def codegen(context, builder, signature, args):
        (_, g_off_, _, _, _, _, nl_, _, x_off_, nr_, _, half_, _, o_off_) = args
        tys = signature.args
        wp, xp0, bufp, outp = (data(context, builder, tys[i], args[i]) for i in (0, 7, 10, 12))
        szp, wop, bop, acp = (data(context, builder, tys[i], args[i]) for i in (2, 3, 4, 5))
        vec = Vec(builder)
        c = vec.i64

        def at(ptr, i):
            return builder.load(builder.gep(ptr, [i]))

        def layer(lay):
            first = builder.icmp_signed("==", lay, c(0))
            last = builder.icmp_signed("==", lay, builder.sub(nl_, c(1)))
            nk = at(szp, lay)
            nout = at(szp, builder.add(lay, c(1)))
            src = builder.mul(builder.and_(builder.sub(lay, c(1)), c(1)), half_)
            dst = builder.mul(builder.and_(lay, c(1)), half_)
            _emit_layer(builder, vec, wp, builder.add(g_off_, at(wop, lay)), nk, nout,
                        builder.add(g_off_, at(bop, lay)), builder.select(first, xp0, bufp),
                        builder.select(first, x_off_, src), nk, nr_,
                        builder.select(last, outp, bufp), builder.select(last, o_off_, dst),
                        nout, at(acp, lay))

        vec.for_range(nl_, layer)
        return context.get_dummy_value()

    return sig, codegen


tanh_vectors = vectors_map(
    tanh_vector,
    """``dst[16 v + i] = tanh(src[16 v + i])`` for ``v < n_vectors`` by
    :func:`tanh_vector`.""")
