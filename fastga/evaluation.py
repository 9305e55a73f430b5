"""Population forward pass and fused fitness, chunked over networks.

For a chunk of networks the first layer is one float32 GEMM of the chunk's
first-layer weights, transposed and stacked into a panel, with the inputs:
``hT = panel @ X.T`` (BLAS, multi-threaded), so that each hidden unit's
values over the samples are contiguous; a Numba epilogue does the rest on
blocks of ``LANES`` samples (see :mod:`fastga.kernels.forward`). The sample
axis is padded with zero rows to a multiple of ``LANES``.

Chunks are sized by bytes only, never by the thread count, so results do not
depend on the number of threads; the default keeps one chunk's product in
the L2/L3 caches, so the epilogue reads it back from cache. Scratch buffers
live in a :class:`Workspace` and are reused from call to call.
"""

import threading

import numpy as np

from .kernels.fitness import METRICS, fused_classify, fused_mse, fused_softmax_ce
from .kernels.forward import LANES, forward_epilogue, gather_first_layer

__all__ = ["Workspace", "chunk_rows", "padded", "forward_rows", "fitness_rows", "run_rows",
           "CHUNK_BYTES"]

#: Upper bound of the first-layer product of one chunk (B x chunk * h1 float32).
CHUNK_BYTES = 32 << 20


class Workspace:
    """Reusable scratch buffers, reallocated only when a shape grows."""

    def __init__(self):
        self._buffers = {}

    def get(self, name, shape, dtype=np.float32):
        size = int(np.prod(shape))
        buf = self._buffers.get(name)
        if buf is None or buf.size < size or buf.dtype != dtype:
            buf = np.empty(size, dtype=dtype)
            self._buffers[name] = buf
        return buf[:size].reshape(shape)

    def clear(self):
        self._buffers.clear()


def chunk_rows(n_rows, n_samples, n_in, h1, chunk_bytes=CHUNK_BYTES):
    """Networks per chunk so that the product and the panel fit ``chunk_bytes``."""
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


def _first_layer(spec, genomes, rows, X, ws):
    """Yield ``(start, stop, hT)`` for each chunk of ``rows``; ``hT`` is (chunk*h1, Bp)."""
    n_samples, n_in = X.shape
    h1 = spec.sizes[1]
    Xp = _pad_rows(ws, "X_pad", X, padded(n_samples))
    step = chunk_rows(rows.shape[0], Xp.shape[0], n_in, h1)
    w0 = int(spec.w_offsets[0])
    for start in range(0, rows.shape[0], step):
        stop = min(start + step, rows.shape[0])
        chunk = rows[start:stop]
        panel = ws.get("panel", (chunk.shape[0] * h1, n_in))
        run_rows(gather_first_layer, chunk.shape[0], genomes, chunk, w0, n_in, h1, panel)
        hT = ws.get("hT", (chunk.shape[0] * h1, Xp.shape[0]))
        _gemm_in_pieces(panel, Xp.T, hT, max(1, PIECE_ROWS // h1) * h1)
        yield start, stop, hT


#: Rows of ``hT`` per single-threaded BLAS call (rounded to whole networks).
PIECE_ROWS = 512

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


def run_rows(kernel, n_rows, *args):
    """``kernel(*args, lo, hi)`` over pieces ``[lo, hi)`` of ``range(n_rows)``, in parallel.

    The kernels are Numba functions with ``nogil=True`` that compute rows
    (networks) ``lo .. hi-1`` and write only those rows' outputs, so the
    result does not depend on which thread runs which piece. The pieces
    (about 4 per thread, so that a descheduled thread on a loaded machine
    holds up little) are taken in turn by ``numba.get_num_threads()``
    threads, the caller's included.

    Python threads instead of ``parallel=True``: Numba's parfor passes and
    the gufunc of a ``prange`` loop add 1-2 s of compile time per kernel
    (issue 3: the whole GA must compile in 10 s), and these kernels are
    called a few times per generation, so a thread hand-off (tens of
    microseconds) costs nothing measurable.
    """
    import numba

    n_threads = min(numba.get_num_threads(), n_rows)
    if n_threads <= 1:
        kernel(*args, 0, n_rows)
        return
    n_pieces = min(n_rows, PIECES_PER_THREAD * n_threads)
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


def _gemm_in_pieces(a, b, out, piece):
    """``out = a @ b`` as single-threaded BLAS calls on fixed row pieces, run in parallel.

    OpenBLAS' own threading splits a product by the thread count, and its
    edge kernels sum in another order than its main kernel, so the result
    would change with the number of BLAS threads. Here the pieces depend on
    the shapes only; each is one single-threaded call, and
    ``numba.get_num_threads()`` Python threads (GEMM releases the GIL) share
    them out, so the result is bit-identical for any thread count. BLAS is
    limited to one thread for the duration of the call (process-wide, with
    threadpoolctl, a core dependency).
    """
    global _blas
    import numba

    n = a.shape[0]
    starts = list(range(0, n, piece))
    n_threads = min(numba.get_num_threads(), len(starts))

    def work(k):
        for i in starts[k::n_threads]:
            j = min(i + piece, n)
            np.matmul(a[i:j], b, out=out[i:j])

    if _blas is None:
        from threadpoolctl import ThreadpoolController

        _blas = ThreadpoolController()
    with _blas.limit(limits=1, user_api="blas"):
        if n_threads <= 1:
            work(0)
            return
        for f in [_pool(n_threads).submit(work, k) for k in range(n_threads)]:
            f.result()


def forward_rows(spec, genomes, rows, X, ws, out=None):
    """Outputs (len(rows), B, n_out) float32 of ``genomes[rows]`` on ``X``.

    All arguments must already be validated (see :class:`fastga.Population`).
    """
    if out is None:
        out = np.empty((rows.shape[0], X.shape[0], spec.n_outputs), dtype=np.float32)
    for start, stop, hT in _first_layer(spec, genomes, rows, X, ws):
        run_rows(forward_epilogue, stop - start, hT, genomes, rows[start:stop], spec.sizes_array,
                 spec.w_offsets, spec.b_offsets, spec.act_codes, out[start:stop], LANES)
    return out


def fitness_rows(spec, genomes, rows, X, y, metric, ws):
    """Fused loss, accuracy and output moments of ``genomes[rows]`` on ``(X, y)``.

    ``y`` is int64 labels for ``cross_entropy``/``accuracy`` and float32
    (B, n_out) targets for ``mse``. Returns ``(loss, accuracy, moments)``.
    """
    code = METRICS[metric]
    n_samples = X.shape[0]
    n_pad = padded(n_samples)
    # One kernel per metric: a run compiles only the one it uses.
    if code == 2:
        kernel = fused_mse
        y_pad = _pad_rows(ws, "y_pad", np.ascontiguousarray(y, dtype=np.float32), n_pad)
    else:
        kernel = fused_softmax_ce if spec.activations[-1] == "softmax" else fused_classify
        y_pad = _pad_rows(ws, "y_pad", np.asarray(y).astype(np.int32), n_pad)
    n = rows.shape[0]
    loss = np.empty(n, dtype=np.float64)
    acc = np.empty(n, dtype=np.float64)
    moments = np.empty((n, 2), dtype=np.float64)
    for start, stop, hT in _first_layer(spec, genomes, rows, X, ws):
        run_rows(kernel, stop - start, hT, genomes, rows[start:stop], spec.sizes_array,
                 spec.w_offsets, spec.b_offsets, spec.act_codes, y_pad, n_samples,
                 loss[start:stop], acc[start:stop], moments[start:stop], LANES)
    return loss, acc, moments
