"""Population forward pass and fused fitness, in pieces of networks.

Inputs that fit in a core's L2 cache (:func:`is_direct`) take the direct
path: the kernels compute every layer from the inputs, put in blocks of
``LANES`` samples once per call. The fused fitness of bigger inputs runs on
that path in slabs of samples that fit (:func:`sample_slabs`). Otherwise,
for a piece of networks the first layer is one float32 GEMM of the piece's
first-layer weights, transposed and stacked into a panel, with the inputs:
``hT = panel @ X.T`` (one single-threaded BLAS call), so that each hidden
unit's values over the samples are contiguous; a Numba epilogue does the rest
on blocks of ``LANES`` samples (see :mod:`fastga.kernels.forward`). The sample
axis is padded with zero rows to a multiple of ``LANES``. One thread runs a
piece's gather, GEMM and epilogue in turn (:func:`_pipeline`), so the
epilogue reads the product back from cache.

Pieces are sized by bytes only, never by the thread count, so results do not
depend on the number of threads. Scratch buffers live in a :class:`Workspace`
and are reused from call to call.
"""

import threading

import numpy as np

from .kernels.fitness import (center_product, fused_classify, fused_classify_pairs, fused_mse,
                              fused_mse_pairs, fused_softmax_ce, fused_softmax_ce_pairs,
                              softmax_tile_outputs)
from .kernels.forward import (ALIGN, LANES, forward_each_kernel, forward_epilogue,
                              gather_first_layer, hidden_acts)
from .registry import Metric, code_of

__all__ = ["Workspace", "chunk_rows", "padded", "forward_rows", "fitness_rows", "run_rows",
           "sample_slabs", "SLAB_MIN_BLOCKS", "fitness_kernel",
           "PIECE_BYTES", "DIRECT_INPUT_BYTES", "is_direct", "forward_each_rows",
           "SERIAL_FLOPS", "stop_threads"]

#: Upper bound of one piece's first-layer product (B x piece * h1 float32) and
#: panel, see :func:`_pipeline`.
PIECE_BYTES = 4 << 20

#: Inputs (n_in x padded B, float32) up to this size take the direct path:
#: the epilogue computes the first layer too, from the inputs, which stay in
#: a core's L2 cache from network to network (see :func:`is_direct`).
DIRECT_INPUT_BYTES = 1 << 20


class Workspace:
    """Reusable scratch buffers, reallocated only when a shape grows."""

    def __init__(self):
        self._buffers = {}

    def get(self, name, shape, dtype=np.float32):
        """An uninitialised ``shape`` array whose data start on a 64-byte boundary
        (the kernels' vectors are 64 bytes; see :data:`fastga.kernels.forward.ALIGN`)."""
        size = int(np.prod(shape))
        dtype = np.dtype(dtype)
        buf = self._buffers.get(name)
        if buf is None or buf.size < size or buf.dtype != dtype:
            raw = np.empty(size + ALIGN // dtype.itemsize, dtype=dtype)
            off = (-raw.ctypes.data) % ALIGN // dtype.itemsize
            buf = raw[off:off + size]
            self._buffers[name] = buf
        return buf[:size].reshape(shape)

    def clear(self):
        self._buffers.clear()

    def __getstate__(self):
        # Scratch only: a pickle (of a population, a GA, a fitted estimator) leaves it out.
        return {"_buffers": {}}


def chunk_rows(n_rows, n_samples, n_in, h1, chunk_bytes=None):
    """Networks per piece so that the product and the panel fit ``chunk_bytes``
    (default :data:`PIECE_BYTES`)."""
    if chunk_bytes is None:
        chunk_bytes = PIECE_BYTES
    per_net = 4 * h1 * max(n_samples, n_in)
    return int(max(1, min(n_rows, chunk_bytes // max(per_net, 1))))


def padded(n_samples):
    """``n_samples`` rounded up to a multiple of ``LANES``."""
    return -(-n_samples // LANES) * LANES


def _pad_rows(ws, name, a, n_rows):
    """``a`` with zero rows appended up to ``n_rows`` (``a`` itself if none are needed)."""
    if a.shape[0] == n_rows:
        return a
    out = ws.get(name, (n_rows,) + a.shape[1:], a.dtype)
    out[: a.shape[0]] = a
    out[a.shape[0]:] = 0
    return out


#: Pieces of rows per thread in :func:`run_rows`.
PIECES_PER_THREAD = 4

_executor = None
_blas = None


def _pool(n_threads):
    """The process' worker threads (at least ``n_threads``), started on first use."""
    global _executor
    if _executor is None or _executor._max_workers < n_threads:
        from concurrent.futures import ThreadPoolExecutor

        _executor = ThreadPoolExecutor(max_workers=n_threads, thread_name_prefix="fastga")
    return _executor


def stop_threads():
    """Stop the worker threads of :func:`run_rows` (idle between calls); the
    next call starts them again. For a program that is about to exit."""
    global _executor
    if _executor is not None:
        _executor.shutdown(wait=True)
        _executor = None


def run_rows(kernel, n_rows, *args, pieces=None):
    """``kernel(*args, lo, hi)`` over pieces ``[lo, hi)`` of ``range(n_rows)``, in parallel.

    fastga's one model of parallelism (see :mod:`fastga.kernels`): the
    kernels are Numba functions with ``nogil=True`` that compute rows
    (networks, children, candidates) ``lo .. hi-1`` and write only those
    rows' outputs, so the result does not depend on which thread runs which
    piece. The pieces (``pieces``, default :data:`PIECES_PER_THREAD` per
    thread, so that a descheduled thread on a loaded machine holds up little;
    ``n_rows`` for rows of very unequal cost, taken in order) are taken in
    turn by ``numba.get_num_threads()`` threads, the caller's included.
    """
    import numba

    n_threads = min(numba.get_num_threads(), n_rows)
    if n_threads <= 1:
        kernel(*args, 0, n_rows)
        return
    n_pieces = min(n_rows, PIECES_PER_THREAD * n_threads if pieces is None else max(1, pieces))
    bounds = [n_rows * k // n_pieces for k in range(n_pieces + 1)]
    pieces = iter(range(n_pieces))
    lock = threading.Lock()

    def work():
        while True:
            with lock:
                k = next(pieces, None)
            if k is None:
                return
            kernel(*args, bounds[k], bounds[k + 1])

    futures = [_pool(n_threads - 1).submit(work) for _ in range(n_threads - 1)]
    try:
        work()
    finally:
        for f in futures:
            f.result()


def is_direct(n_inputs, n_samples):
    """Whether a batch of ``n_samples`` inputs of ``n_inputs`` features takes the direct path.

    The direct path computes every layer in the epilogue with register tiles
    (:func:`fastga.kernels.forward.dense_tiles`): no panel, no product in
    memory, but each network reads all the inputs, so they must stay in
    cache: ``4 * n_inputs * padded(n_samples) <= DIRECT_INPUT_BYTES``. Larger
    inputs take one BLAS GEMM per piece of networks (or, for the fused
    fitness, :func:`sample_slabs`). The choice depends on the shapes only
    (results do not depend on the thread count either way); the threshold's
    measurements are in ``bench/README.md``, "Design measurements".
    """
    return 4 * int(n_inputs) * padded(n_samples) <= DIRECT_INPUT_BYTES


def _input_blocks(ws, X):
    """The inputs of the direct path: blocks of ``LANES`` samples (the last one
    padded with zeros), each block transposed and contiguous, ``(n_blocks *
    n_in, LANES)``; see :func:`fastga.kernels.forward.layers_block`."""
    n_samples, n_in = X.shape
    n_blocks = padded(n_samples) // LANES
    Xp = _pad_rows(ws, "X_pad", X, n_blocks * LANES)
    XB = ws.get("X_blocks", (n_blocks, n_in, LANES))
    XB[...] = Xp.reshape(n_blocks, LANES, n_in).transpose(0, 2, 1)
    return XB.reshape(n_blocks * n_in, LANES)


def _pipeline(spec, genomes, rows, X, ws, epilogue):
    """Run every network of ``rows`` through ``epilogue``: directly on the
    inputs (:func:`is_direct`), or after a gather and first-layer GEMM, in pieces.

    Direct: the inputs are copied into blocks of ``LANES`` samples, each
    transposed, and ``epilogue(XB, True, lo, hi)`` runs over pieces of
    networks (:func:`run_rows`). Otherwise:

    A piece is :func:`chunk_rows` networks (its product and its panel within
    :data:`PIECE_BYTES`); one thread does the three steps of a piece in turn,
    so the epilogue reads the product from cache right after the GEMM wrote
    it, instead of from memory after a whole chunk's product, and the threads
    need one hand-off per call instead of three per chunk. ``epilogue(hT,
    False, lo, hi)`` computes networks ``lo .. hi-1`` (positions in ``rows``)
    from ``hT``, the piece's ``(hi - lo) * h1`` product rows.

    Each GEMM is one single-threaded BLAS call (OpenBLAS' own threading splits
    a product by the thread count, and its edge kernels sum in another order
    than its main kernel, so the result would change with the number of BLAS
    threads); BLAS is limited to one thread for the duration of the call
    (process-wide, with threadpoolctl, a core dependency). The pieces depend
    on the shapes only, so the results do not depend on the thread count.
    Much smaller pieces lose more to the inputs' packing, which BLAS repeats
    for every call, than the cache saves (see ``bench/README.md``).
    """
    global _blas
    import numba

    n_samples, n_in = X.shape
    h1 = spec.sizes[1]
    if is_direct(n_in, n_samples):
        XB = _input_blocks(ws, X)
        run_rows(lambda lo, hi: epilogue(XB, True, lo, hi), rows.shape[0])
        return
    Xp = _pad_rows(ws, "X_pad", X, padded(n_samples))
    XT = Xp.T
    n = rows.shape[0]
    step = chunk_rows(n, Xp.shape[0], n_in, h1)
    n_pieces = -(-n // step)
    n_threads = max(1, min(numba.get_num_threads(), n_pieces))
    w0 = int(spec.w_offsets[0])
    bufs = [(ws.get(f"panel{t}", (step * h1, n_in)), ws.get(f"hT{t}", (step * h1, Xp.shape[0])))
            for t in range(n_threads)]
    pieces = iter(range(n_pieces))
    lock = threading.Lock()

    def work(t):
        panel, hT = bufs[t]
        while True:
            with lock:
                k = next(pieces, None)
            if k is None:
                return
            lo = k * step
            hi = min(lo + step, n)
            m = (hi - lo) * h1
            gather_first_layer(genomes, rows[lo:hi], w0, n_in, h1, panel, 0, hi - lo)
            np.matmul(panel[:m], XT, out=hT[:m])
            epilogue(hT[:m], False, lo, hi)

    if _blas is None:
        from threadpoolctl import ThreadpoolController

        _blas = ThreadpoolController()
    with _blas.limit(limits=1, user_api="blas"):
        if n_threads <= 1:
            work(0)
            return
        futures = [_pool(n_threads - 1).submit(work, t) for t in range(1, n_threads)]
        try:
            work(0)
        finally:
            for f in futures:
                f.result()


def forward_rows(spec, genomes, rows, X, ws, out=None):
    """Outputs (len(rows), B, n_out) float32 of ``genomes[rows]`` on ``X``.

    All arguments must already be validated (see :class:`fastga.Population`).
    """
    if out is None:
        out = np.empty((rows.shape[0], X.shape[0], spec.n_outputs), dtype=np.float32)
    other_acts = hidden_acts(spec.activations)

    def epilogue(hT, direct, lo, hi):
        forward_epilogue(hT, direct, genomes, rows[lo:hi], spec.sizes_array, spec.w_offsets,
                         spec.b_offsets, spec.act_codes, out[lo:hi], LANES, 0, hi - lo, other_acts)

    _pipeline(spec, genomes, rows, X, ws, epilogue)
    return out


#: Fewest blocks of ``LANES`` samples per slab of :func:`sample_slabs` (fewer:
#: the GEMM path instead).
SLAB_MIN_BLOCKS = 4


def sample_slabs(n_inputs, n_samples):
    """``[(start, stop), ...]``: the ranges of samples that :func:`fitness_rows`
    evaluates one after the other.

    One range where the inputs take the direct path whole (:func:`is_direct`)
    or where a slab of :data:`SLAB_MIN_BLOCKS` blocks would not fit
    :data:`DIRECT_INPUT_BYTES` (the GEMM path); otherwise the fewest slabs of
    whole blocks that each fit, as even as can be, each on the direct path.
    Every network reads one slab's inputs from L2 while they stay there, its
    first-layer weights once per slab. The slabs depend on the shapes only.
    """
    if is_direct(n_inputs, n_samples):
        return [(0, n_samples)]
    per_slab = DIRECT_INPUT_BYTES // (4 * max(int(n_inputs), 1) * LANES)
    if per_slab < SLAB_MIN_BLOCKS:
        return [(0, n_samples)]
    n_blocks = padded(n_samples) // LANES
    n_slabs = -(-n_blocks // per_slab)
    return [(min(n_samples, LANES * (n_blocks * k // n_slabs)),
             min(n_samples, LANES * (n_blocks * (k + 1) // n_slabs))) for k in range(n_slabs)]


def fitness_kernel(spec, metric):
    """``(kernel, extra)``: the fused fitness kernel of ``metric`` for networks of
    ``spec`` and the arguments after its common ones (type-level tuples).

    One kernel per metric, so a run compiles only the one it uses:
    :func:`~fastga.kernels.fitness.fused_mse`; for the classification
    metrics :func:`~fastga.kernels.fitness.fused_softmax_ce` where the output
    is a softmax, else :func:`~fastga.kernels.fitness.fused_classify`.
    """
    other_acts = hidden_acts(spec.activations)
    if code_of(Metric, metric, "metric") == Metric.MSE:
        return fused_mse, (other_acts,)
    if spec.activations[-1] == "softmax":
        return fused_softmax_ce, (softmax_tile_outputs(spec.sizes), other_acts)
    return fused_classify, (other_acts,)


#: Mirrored pairs take the pairs' kernels only from this many inputs on: below
#: it the layers after the first and the loss are a large share of a
#: network's time (64-32-10: the pairs' path is about 7% faster, 784-16-10:
#: about 22%, bench/README.md), which does not pay for compiling the pairs'
#: kernels on a cold cache.
MIRROR_MIN_INPUTS = 256

#: The mirrored-pairs twin of each fused fitness kernel.
_PAIRS = {fused_softmax_ce: fused_softmax_ce_pairs, fused_classify: fused_classify_pairs,
          fused_mse: fused_mse_pairs}


def fitness_rows(spec, genomes, rows, X, y, metric, ws, mirror_center=None):
    """Fused loss, accuracy and output moments of ``genomes[rows]`` on ``(X, y)``.

    ``mirror_center`` (float32, n_params; see ``Population.mirror_center``):
    the networks ``rows[2k]``, ``rows[2k+1]`` are mirrored around it; on the
    direct path (:func:`is_direct`, or in slabs) each pair then takes its
    first layer from one shared product with the center and one product of
    its own (the ``*_pairs`` kernels of :mod:`fastga.kernels.fitness`), equal
    to the plain result within float32 rounding. On the GEMM path, and for
    fewer than :data:`MIRROR_MIN_INPUTS` inputs, it is ignored.

    ``y`` is int64 labels for ``cross_entropy``/``accuracy`` and float32
    (B, n_out) targets for ``mse``. Returns ``(loss, accuracy, moments)``.
    Where :func:`sample_slabs` gives several slabs, each is evaluated on the
    direct path in turn (the inputs put in blocks once) and the slabs' means
    are weighted by their sizes, the hits counted exactly.
    """
    n_samples, n_in = X.shape
    n_pad = padded(n_samples)
    kernel, extra = fitness_kernel(spec, metric)
    if kernel is fused_mse:
        y_pad = _pad_rows(ws, "y_pad", np.ascontiguousarray(y, dtype=np.float32), n_pad)
    else:
        y_pad = _pad_rows(ws, "y_pad", np.asarray(y).astype(np.int32), n_pad)
    n = rows.shape[0]

    def run(hT, direct, ys, count, lo, hi, out):
        kernel(hT, direct, genomes, rows[lo:hi], spec.sizes_array, spec.w_offsets, spec.b_offsets,
               spec.act_codes, ys, count, out[0][lo:hi], out[1][lo:hi], out[2][lo:hi], LANES,
               0, hi - lo, *extra)

    def outputs():
        return (np.empty(n, dtype=np.float64), np.empty(n, dtype=np.float64),
                np.empty((n, 2), dtype=np.float64))

    slabs = sample_slabs(n_in, n_samples)
    if (mirror_center is not None and n % 2 == 0 and n > 0 and n_in >= MIRROR_MIN_INPUTS
            and (len(slabs) > 1 or is_direct(n_in, n_samples))):
        return _mirrored_fitness(spec, genomes, rows, X, y_pad, ws, mirror_center, slabs,
                                 _PAIRS[kernel], extra)
    if len(slabs) == 1:
        out = outputs()
        _pipeline(spec, genomes, rows, X, ws,
                  lambda hT, direct, lo, hi: run(hT, direct, y_pad, n_samples, lo, hi, out))
        return out
    # One hand-off of pieces of networks for all the slabs (a piece runs its
    # networks on each slab in turn): a hand-off per slab would leave a
    # thread idle at the end of each.
    XB = _input_blocks(ws, X)
    parts = [(XB[s0 // LANES * n_in:padded(s1) // LANES * n_in], y_pad[s0:padded(s1)], s1 - s0,
              outputs()) for s0, s1 in slabs]

    def piece(lo, hi):
        for XBs, ys, count, out in parts:
            run(XBs, True, ys, count, lo, hi, out)

    run_rows(piece, n)
    loss = np.zeros(n)
    hits = np.zeros(n)
    moments = np.zeros((n, 2))
    for _, _, count, out in parts:
        loss += out[0] * count
        hits += np.rint(out[1] * count)
        moments += out[2]
    return loss / n_samples, hits / n_samples, moments


def _mirrored_fitness(spec, genomes, rows, X, y_pad, ws, mirror_center, slabs, pairs, extra):
    """:func:`fitness_rows` of mirrored pairs on the direct path, whole or in slabs:
    the center's first-layer product once (:func:`~fastga.kernels.fitness.center_product`),
    then the pairs kernel over pieces of pairs, each piece on every slab in turn."""
    n_samples, n_in = X.shape
    n = rows.shape[0]
    h1 = int(spec.sizes[1])
    center = np.ascontiguousarray(mirror_center, dtype=np.float32)
    if center.shape != (spec.n_params,):
        raise ValueError(f"mirror_center: expected {spec.n_params} parameters, got shape "
                         f"{center.shape}")
    XB = _input_blocks(ws, X)
    A = ws.get("mirror_A", (padded(n_samples) // LANES * h1, LANES))
    center_product(XB, center, int(spec.w_offsets[0]), n_in, h1, A)
    parts = [(XB[s0 // LANES * n_in:padded(s1) // LANES * n_in],
              A[s0 // LANES * h1:padded(s1) // LANES * h1], y_pad[s0:padded(s1)], s1 - s0,
              (np.empty(n), np.empty(n), np.empty((n, 2)))) for s0, s1 in slabs]

    def piece(lo, hi):
        for XBs, As, ys, count, out in parts:
            pairs(XBs, As, center, genomes, rows, spec.sizes_array, spec.w_offsets,
                  spec.b_offsets, spec.act_codes, ys, count, out[0], out[1], out[2], LANES, lo,
                  hi, *extra)

    run_rows(piece, n // 2)
    if len(parts) == 1:
        return parts[0][4]
    loss = np.zeros(n)
    hits = np.zeros(n)
    moments = np.zeros((n, 2))
    for _, _, _, count, out in parts:
        loss += out[0] * count
        hits += np.rint(out[1] * count)
        moments += out[2]
    return loss / n_samples, hits / n_samples, moments


#: Multiply-adds below which :func:`forward_each_rows` runs on the calling
#: thread alone: handing pieces to the pool costs more than such a call's
#: arithmetic. A function of the shapes only, so results do not depend on it.
SERIAL_FLOPS = 1 << 20


def forward_each_rows(spec, genomes, rows, obs, out=None):
    """Outputs (len(rows), E, n_out) float32: network ``genomes[rows[r]]`` on
    ``obs[r]``, for ``obs`` of shape (len(rows), E, n_in).

    All arguments must already be validated (see :meth:`fastga.Population.forward_each`).
    Small calls (:data:`SERIAL_FLOPS`) run on the calling thread; each network
    is computed by one thread either way, so the bits are the same.
    """
    n = rows.shape[0]
    if out is None:
        out = np.empty((n, obs.shape[1], spec.n_outputs), dtype=np.float32)
    args = (genomes, rows, spec.sizes_array, spec.w_offsets, spec.b_offsets, spec.act_codes, obs,
            out)
    if n * obs.shape[1] * spec.n_params <= SERIAL_FLOPS:
        forward_each_kernel(*args, 0, n)
    else:
        run_rows(forward_each_kernel, n, *args)
    return out
