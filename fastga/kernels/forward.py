"""Batched forward pass of a population of MLPs: two paths, one result.

**Direct path** (inputs that fit in a core's L2 cache,
:func:`fastga.evaluation.is_direct`): every layer, the first included, is
computed in the epilogue by register tiles
(:func:`~fastga.kernels.tiles_ir.dense_tile`: 4 output rows x 64 samples
of accumulators held in AVX-512 registers over the whole sum, written in
LLVM IR with explicit 16-lane vectors, or its plain-Numba twin, see
:mod:`fastga.kernels.tiles`; wide layers in K-chunks that stay in L1,
:func:`k_chunk`). Each network reads the inputs in blocks of ``LANES``
samples, transposed and contiguous, which stay in cache from network to
network; nothing of size (networks x samples) is written. The fused fitness
of inputs too big for the cache runs on this path in slabs of samples
(:func:`fastga.evaluation.sample_slabs`).

**GEMM path** (larger inputs): for a piece of networks the first-layer
weights are gathered, transposed, one above the other into a panel
(:func:`gather_first_layer`, a memory-bound copy) and multiplied by ONE
float32 GEMM, ``hT = panel @ X.T``. Row ``r * h1 + j`` of ``hT`` holds hidden
unit ``j`` of network ``r`` for every sample, contiguous over samples; the
epilogue reads it back from cache and runs the other layers with the same
tiles.

The epilogue (:func:`forward_epilogue`, and the fused fitness kernels of
:mod:`fastga.kernels.fitness`) is a Numba kernel over a range of networks
that releases the GIL; :func:`fastga.evaluation.run_rows` gives each thread
whole networks, so results do not depend on the thread count. It works on
blocks of :data:`LANES` samples: every scratch row is ``LANES`` floats,
64-byte aligned (:func:`scratch`), and the exponential is a polynomial
(:func:`~fastga.kernels.exp.exp32`) that vectorises (the C library's ``exp``
does not). The
caller pads the sample axis to a multiple of ``LANES``; padded lanes are
computed and ignored.

The kernels take raw arrays and trust them: the Python callers in
:mod:`fastga.evaluation` validate shapes and offsets before any kernel runs.

Caching: Numba's cache of a function is invalidated by a change of its own
source file only. After editing a helper that other modules' kernels
compile in (the tiles, :mod:`fastga.kernels.exp`, :mod:`fastga.kernels.bits`),
delete ``fastga/kernels/__pycache__/*.nbi`` and ``*.nbc``; an installed
release brings all its files anew. The kernels that call the tiles are
cached for the default tile backend only (:data:`fastga.kernels.tiles.CACHE`).
"""

import numpy as np
from numba import njit, types
from numba.extending import overload

from ..registry import Activation
from .activations import activate_block
from .bits import address, prefetch
from .exp import exp32, exp32_nonpos
from .rows_ir import TANH_CLAMP, TANH_POLY, TANH_SMALL
from .rows_ir import network_rows as network_rows_ir
from .rows_ir import rows_dense as rows_dense_ir
from .tiles import (BACKEND, CACHE, TILE_ROWS, TILE_VECTORS, VECTOR_LANES, bias_rows,
                    dense_tile)

__all__ = ["LANES", "ALIGN", "K_CHUNK_BYTES", "STAT_ROWS", "scratch", "exp32", "exp32_nonpos",
           "activate_block", "k_chunk", "dense_tiles", "hidden_acts", "layer_buffer",
           "logits_block", "hidden_block", "layers_block", "gather_first_layer",
           "forward_epilogue", "tanh32", "rows_dense", "rows_dense_numba", "network_rows",
           "network_rows_numba", "fused_act", "all_fused",
           "activate_rows", "policy_forward", "each_buffers", "forward_each_kernel"]

#: Samples per block of the epilogue (four AVX-512 registers of float32): the
#: samples of one tile (:mod:`fastga.kernels.tiles`).
LANES = VECTOR_LANES * TILE_VECTORS

#: Byte alignment of the blocks the tiles read and write: a 64-byte vector
#: that straddles two cache lines costs two loads.
ALIGN = 64

@njit(cache=True, error_model="numpy")
def scratch(n_rows, n_cols):
    """An uninitialised float32 (n_rows, n_cols) block whose data start on an
    :data:`ALIGN`-byte boundary (NumPy and Numba align to 16 or 32 bytes)."""
    n = n_rows * n_cols
    buf = np.empty(n + ALIGN // 4, dtype=np.float32)
    off = ((-address(buf)) % ALIGN) // 4
    return buf[off:off + n].reshape((n_rows, n_cols))


#: Bytes of one K-chunk of :func:`dense_tiles` (its inputs and weights), to
#: stay in a core's L1 data cache while every tile of the chunk reads it (see
#: :func:`k_chunk`; tuned on a 48 KB L1d, see ``bench/README.md``). The
#: chunks change no bit.
K_CHUNK_BYTES = 40 << 10


@njit(cache=True, error_model="numpy", inline="always")
def k_chunk(n_k, n_out):
    """Inputs per K-chunk of a layer of ``n_k`` inputs and ``n_out`` outputs: all of
    them where a block's inputs and the weights fit :data:`K_CHUNK_BYTES`, else
    the most that fit, a multiple of 16 (at least 16).

    Without chunks, each tile of 4 output rows would read the block's whole
    (n_k, LANES) inputs again, from L2 where they exceed L1 (784 inputs:
    200 KB).
    """
    if 4 * n_k * (LANES + n_out) <= K_CHUNK_BYTES:
        return max(n_k, 1)
    return max(16, K_CHUNK_BYTES // (4 * (LANES + n_out)) // 16 * 16)


@njit(cache=CACHE, error_model="numpy", inline="always")
def dense_tiles(w, w_off, ldw, n_rows, x, x_alt, use_alt, x_off, ldx, n_k, b, b_off, out, out_off,
                relu):
    """``out[out_off + r * LANES + s] = sum_k xs[x_off + k * ldx + s] w[w_off + k * ldw + r]
    + b[b_off + r]`` (then ReLU if ``relu``) for ``r < n_rows`` and the ``LANES``
    samples ``s`` of a block, with ``xs`` the flat data of ``x_alt`` if
    ``use_alt`` else of ``x``.

    Flat indices of C-contiguous float32 arrays: a genome's (n_in, n_out)
    weight matrix has ``ldw = n_out``. The rows are split into tiles of
    :data:`~fastga.kernels.simd.TILE_ROWS` (``dense_tile`` of
    :mod:`fastga.kernels.tiles`; the last one may have fewer); the inputs
    into chunks of :func:`k_chunk`, each read by every tile while in L1, the
    partial sums kept in ``out`` (the same bits as one pass). The caller
    guarantees the indices.
    """
    kc = k_chunk(n_k, n_rows)
    for k0 in range(0, max(n_k, 1), kc):
        kn = min(kc, n_k - k0)
        last = k0 + kn >= n_k
        for r0 in range(0, n_rows, TILE_ROWS):
            dense_tile(w, w_off + k0 * ldw + r0, ldw, x, x_alt, use_alt, x_off + k0 * ldx, ldx, kn,
                       b, b_off + r0, out, out_off + r0 * LANES, LANES,
                       min(TILE_ROWS, n_rows - r0), relu and last, k0 > 0)


def activate_hidden(other_acts, buf, row, n, act, tmp, nl):
    """:func:`activate_block` of rows ``row .. row + n - 1`` of ``buf`` if ``act``
    is not ReLU (applied with the layer, see :func:`layers_block`); nothing,
    and nothing compiled, where ``other_acts`` is ``()``. Kernel code only."""
    raise NotImplementedError("activate_hidden runs in compiled code only")


@overload(activate_hidden, jit_options={"cache": True, "error_model": "numpy"})
def _activate_hidden(other_acts, buf, row, n, act, tmp, nl):
    # Chosen when a caller is typed: with () the call, and activate_block's
    # code, never enter the kernel (an untaken branch is still compiled).
    if isinstance(other_acts, types.BaseTuple) and len(other_acts) == 0:
        return lambda other_acts, buf, row, n, act, tmp, nl: None

    def impl(other_acts, buf, row, n, act, tmp, nl):
        if act != Activation.RELU:
            activate_block(buf[row:row + n], n, act, tmp, nl)

    return impl


def hidden_acts(activations):
    """``other_acts`` of :func:`layers_block` for a network's activation names:
    ``()`` where every hidden layer is ReLU, else ``(0,)``."""
    return () if all(a == "relu" for a in activations[:-1]) else (0,)


#: Rows at the end of a :func:`layer_buffer` for a kernel's per-sample
#: statistics (the fused softmax's ``se``, ``se2``, ``zl``, ``chk``, ``hit``).
STAT_ROWS = 5


@njit(cache=True, error_model="numpy")
def layer_buffer(sizes, nl):
    """The scratch block of :func:`layers_block`: (2 * width + STAT_ROWS, ``nl``)
    float32, with ``width`` the widest layer after the inputs, 64-byte aligned
    (one allocation, one specialisation of :func:`scratch`)."""
    width = 1
    for i in range(1, sizes.shape[0]):
        width = max(width, sizes[i])
    return scratch(2 * width + STAT_ROWS, nl)


@njit(cache=CACHE, fastmath={"contract"}, error_model="numpy", inline="always")
def logits_block(hT, r, b0, direct, genome, sizes, w_offs, b_offs, acts, buf, tmp, nl,
                 other_acts):
    """The row of ``buf`` from which the pre-activations of the last layer of
    network ``r`` on samples ``b0 .. b0+LANES`` stand, see :func:`layers_block`."""
    return layers_block(hT, r, b0, direct, genome, sizes, w_offs, b_offs, acts, buf, tmp, nl,
                        sizes.shape[0] - 1, other_acts)


@njit(cache=CACHE, fastmath={"contract"}, error_model="numpy", inline="always")
def hidden_block(hT, r, b0, direct, genome, sizes, w_offs, b_offs, acts, buf, tmp, nl,
                 other_acts):
    """The row of ``buf`` from which the activations of the last hidden layer of
    network ``r`` (at least two layers) on samples ``b0 .. b0+LANES`` stand, see
    :func:`layers_block`."""
    n_hidden = sizes.shape[0] - 2
    row = layers_block(hT, r, b0, direct, genome, sizes, w_offs, b_offs, acts, buf, tmp, nl,
                       n_hidden, other_acts)
    activate_hidden(other_acts, buf, row, sizes[n_hidden], acts[n_hidden - 1], tmp, nl)
    return row


@njit(cache=CACHE, fastmath={"contract"}, error_model="numpy")
def layers_block(hT, r, b0, direct, genome, sizes, w_offs, b_offs, acts, buf, tmp, nl, n_dense,
                 other_acts):
    """Pre-activations of layer ``n_dense`` (1 = the first) of network ``r`` on
    samples ``b0 .. b0+LANES``, in rows ``row .. row + sizes[n_dense] - 1`` of
    ``buf``; returns ``row``.

    ``direct`` False: ``hT[r*h1 + j, b]`` holds ``x_b @ W1[:, j]`` (no bias
    yet), the first-layer GEMM's product. ``direct`` True: ``hT`` is the
    inputs, padded and in blocks, ``(Bp // LANES * n_in, LANES)``: rows
    ``blk * n_in .. (blk + 1) * n_in - 1`` are block ``blk``'s inputs,
    transposed (``hT[blk * n_in + i, s] = X[blk * LANES + s, i]``), so each
    block reads 64-byte lines in order (rows of one (n_in, Bp) matrix would
    be a 4-KB-plus stride apart); the first layer is computed
    here too (:func:`dense_tiles`; ``r`` is unused). ``buf`` is a
    :func:`layer_buffer`: the layers are written to its
    two halves in turn, addressed by row offsets, never by array variables
    (each assignment of an array costs Numba's reference counting two atomic
    operations, a measurable share of a small layer). A ReLU is applied in the same pass
    as the layer it follows (the last layer's too, where it is the output
    activation: applying it again is a no-op).

    ``other_acts`` (see :func:`hidden_acts`): ``()`` where every hidden layer
    is ReLU, else ``(0,)``. Its length is part of its type, so with ``()``
    the calls of :func:`activate_block` between layers are compiled out: the
    code of a branch that is never taken still slows the tiles' loop.
    """
    width = (buf.shape[0] - STAT_ROWS) // 2
    h1 = sizes[1]
    relu = acts[0] == Activation.RELU
    cur = 0
    first = 0
    if not direct:
        first = 1
        row = r * h1
        # The next block's product rows (the next network's first block after
        # the last one) are prefetched: a row of hT is read in short pieces,
        # 4 KB apart, which the hardware prefetcher does not follow.
        nxt_b = b0 + nl
        nxt_row = row
        if nxt_b >= hT.shape[1]:
            nxt_b = 0
            nxt_row = row + h1
        if nxt_row + h1 <= hT.shape[0]:
            for j in range(h1):
                for c in range(0, nl, 16):
                    prefetch(hT, (nxt_row + j, nxt_b + c))
        bias_rows(hT, row * hT.shape[1] + b0, hT.shape[1], h1, genome, b_offs[0], buf, 0, relu)
    # One call site of dense_tiles for every layer (its tiles are inlined:
    # compile time): the direct path's first layer reads the block's inputs,
    # (n_in, LANES) contiguous in ``hT``, the other layers the previous
    # layer's rows of ``buf``.
    for layer in range(first, n_dense):
        if layer > 0:
            activate_hidden(other_acts, buf, cur, sizes[layer], acts[layer - 1], tmp, nl)
        n_out = sizes[layer + 1]
        nxt = width - cur
        from_buf = layer > 0
        x_off = cur * nl if from_buf else b0 * sizes[0]
        dense_tiles(genome, w_offs[layer], n_out, n_out, hT, buf, from_buf, x_off, nl,
                    sizes[layer], genome, b_offs[layer], buf, nxt * nl,
                    acts[layer] == Activation.RELU)
        cur = nxt
    return cur


@njit(nogil=True, cache=True, error_model="numpy")
def gather_first_layer(genomes, rows, w_off, n_in, n_out, panel, lo, hi):
    """Copy the first-layer weights of ``genomes[rows[lo:hi]]``, transposed, one above the other.

    ``panel[r * n_out + j, i] = W1[rows[r]][i, j]``; ``panel`` is
    ``(len(rows) * n_out, n_in)``. Writes the rows of networks ``lo .. hi-1`` only.
    """
    for r in range(lo, hi):
        g = rows[r]
        row = r * n_out
        src = genomes[g, w_off:w_off + n_in * n_out]
        for j in range(n_out):
            dst = panel[row + j]
            for i in range(n_in):
                dst[i] = src[i * n_out + j]


@njit(cache=CACHE, fastmath={"contract"}, inline="always", error_model="numpy")
def forward_network(hT, r, direct, genome, sizes, w_offs, b_offs, acts, out_r, lanes, buf, tmp,
                    other_acts):
    """Outputs ``out_r[b, :]`` of one network (row block ``r`` of ``hT``), see
    :func:`forward_epilogue`; ``buf`` and ``tmp`` are scratch."""
    n_samples = out_r.shape[0]
    n_layers = sizes.shape[0] - 1
    n_out = sizes[n_layers]
    last = acts[n_layers - 1]
    nl = lanes
    for b0 in range(0, n_samples, nl):
        row = logits_block(hT, r, b0, direct, genome, sizes, w_offs, b_offs, acts, buf, tmp, nl,
                           other_acts)
        res = buf[row:row + n_out]
        activate_block(res, n_out, last, tmp, nl)
        n_valid = min(nl, n_samples - b0)
        for s in range(n_valid):
            for j in range(n_out):
                out_r[b0 + s, j] = res[j, s]


@njit(nogil=True, cache=CACHE, error_model="numpy")
def forward_epilogue(hT, direct, genomes, rows, sizes, w_offs, b_offs, acts, out, lanes, lo,
                     hi, other_acts):
    """Outputs ``out[r, b, :]`` of networks ``genomes[rows]`` from first-layer products.

    Parameters
    ----------
    hT : float32 (len(rows) * sizes[1], Bp)
        ``panel @ X.T`` where ``panel`` comes from :func:`gather_first_layer`
        and ``Bp`` is the number of samples rounded up to a multiple of
        :data:`LANES` (padded samples are ignored); or, with ``direct``, the
        inputs themselves in blocks, see :func:`layers_block`.
    direct : bool
        Whether the first layer is computed here from the inputs (see
        :func:`logits_block`) instead of read from a product.
    genomes : float32 (P, n_params)
    rows : int64 (R,)
    sizes, w_offs, b_offs, acts : int64 arrays of the :class:`~fastga.NetworkSpec`
    out : float32 (R, B, n_out)
        Written; thread ``r`` writes ``out[r]`` only.
    lanes : int
        :data:`LANES`, passed at run time on purpose: a loop with a constant
        trip count is fully unrolled by LLVM and then left scalar (Numba
        disables the SLP vectoriser), a run-time count is vectorised.
    lo, hi : int
        Networks ``lo .. hi-1`` (positions in ``rows``) are computed.
    other_acts : tuple
        :func:`hidden_acts` of the networks' activations (type-level: ``()``
        compiles the hidden layers' other activations out).
    """
    buf = layer_buffer(sizes, lanes)
    tmp = np.empty(2 * lanes, dtype=np.float32)
    for r in range(lo, hi):
        forward_network(hT, r, direct, genomes[rows[r]], sizes, w_offs, b_offs, acts, out[r],
                        lanes, buf, tmp, other_acts)


# ------------------------------------------------ per-network inputs (forward_each)
_T0, _T1, _T2, _T3, _T4 = (np.float32(c) for c in TANH_POLY)
_T_SMALL = np.float32(TANH_SMALL)
_T_CLAMP = np.float32(TANH_CLAMP)
_F1 = np.float32(1.0)
_F2 = np.float32(2.0)


@njit(cache=True, fastmath={"contract"}, error_model="numpy")
def tanh32(x):
    """``tanh(x)`` of a float32, branch-free (a loop of it vectorises; the C
    library's ``tanhf`` is a call per element): Cephes' ``tanhf``.

    ``x + x z P(z)`` (``z = x^2``, :data:`~fastga.kernels.rows_ir.TANH_POLY`)
    below ``|x| = 0.625``, else ``sign(x) (1 - 2 / (exp32(2|x|) + 1))`` with
    :func:`~fastga.kernels.exp.exp32` (``2|x|`` clamped at 40, where tanh is
    1 in float32). Within 2 ulp of the true tanh over the float32 range
    (``tests/test_control.py`` checks it against NumPy's); NaN gives NaN.
    The same formula as the IR lanes of :func:`~fastga.kernels.rows_ir.tanh_vector`.
    """
    ax = -x if x < 0 else x
    z = x * x
    p = _T0 * z + _T1
    p = p * z + _T2
    p = p * z + _T3
    p = p * z + _T4
    small = (p * z) * x + x
    a2 = ax + ax
    a2 = a2 if a2 < _T_CLAMP else _T_CLAMP
    big = _F1 - _F2 / (exp32_nonpos(a2) + _F1)
    big = -big if x < 0 else big
    y = small if ax < _T_SMALL else big
    return y if x == x else x


@njit(cache=True, fastmath={"contract"}, error_model="numpy")
def rows_dense_numba(w, w_off, n_k, n_out, b_off, x, x_alt, x_use_alt, x_off, ldx, n_rows, out,
                     out_alt, out_use_alt, out_off, ldo, act):
    """The plain-Numba twin of :func:`fastga.kernels.rows_ir.rows_dense` (same
    arguments and contract; ``FASTGA_TILES=numba``). The sum runs over ``k`` in
    order in one partial sum (the IR splits it), so a result may differ from
    the IR's by a few roundings."""
    xs = x_alt if x_use_alt else x
    ds = out_alt if out_use_alt else out
    nj = np.uint64(n_out)
    for e in range(n_rows):
        o = np.uint64(out_off + e * ldo)
        xr = x_off + e * ldx
        bo = np.uint64(b_off)
        for j in range(n_out):
            uj = np.uint64(j)
            ds[o + uj] = w[bo + uj]
        base = np.uint64(w_off)
        for k in range(n_k):
            xk = xs[xr + k]
            for j in range(n_out):
                uj = np.uint64(j)
                ds[o + uj] += xk * w[base + uj]
            base += nj
        if act == Activation.RELU:
            for j in range(n_out):
                uj = np.uint64(j)
                v = ds[o + uj]
                ds[o + uj] = v if v > 0 else np.float32(0.0)
        elif act == Activation.TANH:
            for j in range(n_out):
                uj = np.uint64(j)
                ds[o + uj] = tanh32(ds[o + uj])


@njit(cache=True, fastmath={"contract"}, error_model="numpy")
def network_rows_numba(w, g_off, sizes, w_offs, b_offs, acts, n_layers, x, x_off, n_rows, buf,
                       half, out, out_off):
    """The plain-Numba twin of :func:`fastga.kernels.rows_ir.network_rows`: a loop
    of :func:`rows_dense_numba` over the layers."""
    for layer in range(n_layers):
        first = layer == 0
        last = layer == n_layers - 1
        n_o = sizes[layer + 1]
        rows_dense_numba(w, g_off + w_offs[layer], sizes[layer], n_o, g_off + b_offs[layer], x,
                         buf, not first, x_off if first else ((layer - 1) & 1) * half,
                         sizes[layer], n_rows, buf, out, last,
                         out_off if last else (layer & 1) * half, n_o, acts[layer])


#: One dense layer, and a whole network whose activations are all fused
#: (:func:`fused_act`), on rows of its own inputs: the IR functions (default
#: backend) or their twins.
rows_dense = rows_dense_ir if BACKEND == "ir" else rows_dense_numba
network_rows = network_rows_ir if BACKEND == "ir" else network_rows_numba


@njit(cache=True, fastmath={"contract"}, error_model="numpy", inline="always")
def fused_act(act):
    """Whether :func:`rows_dense` applies activation ``act`` itself."""
    return act == Activation.RELU or act == Activation.TANH or act == Activation.LINEAR


@njit(cache=True, error_model="numpy")
def all_fused(acts):
    """Whether :func:`rows_dense` applies every activation of ``acts`` itself, so
    that :func:`network_rows` computes the network."""
    for a in acts:
        if not fused_act(a):
            return False
    return True


@njit(cache=True, fastmath={"contract"}, error_model="numpy")
def activate_rows(h, n_rows, n_out, act, tmp):
    """Activation ``act`` in place on ``h[:n_rows, :n_out]`` (one row per sample), with
    :func:`activate_block`: element-wise activations read the rows as a block of
    ``n_rows`` rows of ``n_out`` lanes; softmax, which sums over the units, goes
    through ``tmp`` (at least ``n_out * n_rows + 2 * n_rows`` floats), transposed.
    For the activations :func:`rows_dense` does not apply (:func:`fused_act`)."""
    if act == Activation.LINEAR:
        return
    if act != Activation.SOFTMAX:
        activate_block(h[:n_rows], n_rows, act, tmp, n_out)
        return
    t = tmp[:n_out * n_rows].reshape((n_out, n_rows))
    for e in range(n_rows):
        for j in range(n_out):
            t[j, e] = h[e, j]
    activate_block(t, n_out, act, tmp[n_out * n_rows:], n_rows)
    for e in range(n_rows):
        for j in range(n_out):
            h[e, j] = t[j, e]


@njit(cache=True, error_model="numpy")
def activate_flat(a, off, n_rows, n_out, act, tmp):
    """:func:`activate_rows` of the (n_rows, n_out) rows at flat offset ``off`` of ``a``.

    A function of its own: the views it makes would cost the caller's loop
    Numba's reference counting of every array it holds (an atomic operation
    each, per call)."""
    activate_rows(a[off:off + n_rows * n_out].reshape((n_rows, n_out)), n_rows, n_out, act, tmp)


@njit(cache=CACHE, fastmath={"contract"}, error_model="numpy")
def policy_forward(w, g_off, sizes, w_offs, b_offs, acts, x, x_off, n_rows, buf, tmp, out,
                   out_off):
    """Outputs of one network on ``n_rows`` rows of its own inputs.

    ``w`` is the flat float32 data of the genomes, the network's genome
    starting at ``g_off``; row ``e`` of its inputs is ``x[x_off + e *
    sizes[0] + i]``; its outputs go to ``out[out_off + e * sizes[-1] + j]``.
    ``buf`` is flat float32 scratch of :func:`each_buffers` (two halves the
    hidden layers take in turn, rows ``sizes[layer]`` apart), ``tmp`` scratch
    for :func:`activate_rows`. One call site of :func:`rows_dense` for every
    layer (its IR is inlined: compile time).
    """
    n_layers = sizes.shape[0] - 1
    half = buf.shape[0] // 2
    for layer in range(n_layers):
        first = layer == 0
        last = layer == n_layers - 1
        n_o = sizes[layer + 1]
        act = acts[layer]
        src = x_off if first else ((layer - 1) & 1) * half
        dst = out_off if last else (layer & 1) * half
        rows_dense(w, g_off + w_offs[layer], sizes[layer], n_o, g_off + b_offs[layer], x, buf,
                   not first, src, sizes[layer], n_rows, buf, out, last, dst, n_o, act)
        if not fused_act(act):
            if last:
                activate_flat(out, dst, n_rows, n_o, act, tmp)
            else:
                activate_flat(buf, dst, n_rows, n_o, act, tmp)


@njit(cache=True, error_model="numpy")
def each_buffers(sizes, n_rows):
    """Scratch of :func:`policy_forward` for up to ``n_rows`` input rows:
    ``(buf, tmp)``."""
    width = 1
    for i in range(1, sizes.shape[0]):
        width = max(width, sizes[i])
    buf = np.empty(2 * n_rows * width, dtype=np.float32)
    tmp = np.empty(width * n_rows + 2 * max(n_rows, width), dtype=np.float32)
    return buf, tmp


@njit(nogil=True, cache=CACHE, error_model="numpy")
def forward_each_kernel(genomes, rows, sizes, w_offs, b_offs, acts, obs, out, lo, hi):
    """``out[r] = network genomes[rows[r]]`` on its own inputs ``obs[r]`` for
    ``r`` in ``lo .. hi-1``.

    ``obs`` is float32 (R, E, n_in), ``out`` float32 (R, E, n_out), both
    C-contiguous; writes ``out[lo:hi]`` only.
    """
    n_rows = obs.shape[1]
    n_in = sizes[0]
    n_layers = sizes.shape[0] - 1
    n_out = sizes[n_layers]
    n_params = genomes.shape[1]
    buf, tmp = each_buffers(sizes, n_rows)
    half = buf.shape[0] // 2
    fused = all_fused(acts)
    w = genomes.reshape(genomes.size)
    x = obs.reshape(obs.size)
    o = out.reshape(out.size)
    for r in range(lo, hi):
        g_off = rows[r] * n_params
        if fused:
            network_rows(w, g_off, sizes, w_offs, b_offs, acts, n_layers, x, r * n_rows * n_in,
                         n_rows, buf, half, o, r * n_rows * n_out)
        else:
            policy_forward(w, g_off, sizes, w_offs, b_offs, acts, x, r * n_rows * n_in, n_rows,
                           buf, tmp, o, r * n_rows * n_out)
