"""Minibatch SGD of many small networks at once (architecture search).

Every candidate of a generation has its own layer sizes, so their parameters
live in ONE ragged float32 buffer: candidate ``c`` owns the slice described
by its rows of a layer table (``layers[layer_ptr[c]:layer_ptr[c+1]]``, one
row ``(n_in, n_out, activation, w_offset, b_offset)`` per weight layer, the
offsets absolute in the buffer). A second buffer of the same layout holds
the momentum (velocity) of every parameter.

:func:`train_candidates` trains candidates ``lo .. hi-1`` and releases the
GIL; :func:`fastga.evaluation.run_rows` shares the candidates out to
threads. The thread that gets candidate ``c`` runs that candidate's whole
training (Glorot initialisation is done before by :func:`init_candidates`,
over ranges of candidates the same way) and writes only that candidate's
slices and its entries of the outputs. All randomness
(epoch shuffles, dropout masks, initial weights) comes from counter-based
streams keyed by ``(seed, generation, candidate id, purpose)``, so the result
is bit-identical for any number of threads.

Training follows Keras' ``SGD(momentum)`` with an ``InverseTimeDecay``
schedule (``decay_steps=1``):

* step ``t`` (0-based, counted over all minibatches) uses
  ``lr_t = lr / (1 + decay * t)``;
* ``v = momentum * v - lr_t * grad``; ``w = w + v``;
* the loss is the mean squared error averaged over the minibatch and the
  outputs; the last minibatch of an epoch may be smaller;
* inverted dropout with rate ``p`` on the output of the first layer during
  training (kept units scaled by ``1 / (1 - p)``), none at evaluation.

A candidate whose loss becomes NaN or infinite stops training and reports a
NaN validation error, which the search ranks last.

The kernels trust their arguments: :mod:`fastga.search.trainer` validates
every table, offset and hyperparameter before calling them.
"""

import numpy as np
from numba import njit

from ..registry import Purpose
from .activations import act_backward, act_forward
from .rng import random_u64, random_uniform, stream_key

__all__ = [
    "act_forward",
    "act_backward",
    "candidate_keys",
    "epoch_order",
    "dropout_scale",
    "init_candidates",
    "batch_loss_grad",
    "train_one",
    "train_candidates",
    "predict_one",
]



# ----------------------------------------------------------------- randomness
@njit(cache=True)
def candidate_keys(seed, generation, cid):
    """Stream keys ``[init, shuffle, dropout]`` of candidate ``cid`` (uint64 array).

    An array rather than a tuple, so that Python callers get ``np.uint64``
    scalars: a plain Python int above 2**63 would not fit an ``int64``
    specialisation of a kernel compiled before.
    """
    out = np.empty(3, dtype=np.uint64)
    out[0] = stream_key(seed, generation, cid, Purpose.ARCH_INIT)
    out[1] = stream_key(seed, generation, cid, Purpose.SHUFFLE)
    out[2] = stream_key(seed, generation, cid, Purpose.DROPOUT)
    return out


@njit(cache=True)
def epoch_order(key, epoch, n):
    """Sample order of ``epoch``: Fisher-Yates with counters ``epoch*n + i``."""
    order = np.arange(n)
    base = np.uint64(epoch) * np.uint64(n)
    for i in range(n - 1, 0, -1):
        j = np.int64(random_u64(key, base + np.uint64(i)) % np.uint64(i + 1))
        tmp = order[i]
        order[i] = order[j]
        order[j] = tmp
    return order


@njit(cache=True, inline="always")
def dropout_scale(key, counter, p, inv_keep):
    """Inverted-dropout factor of draw ``counter``: 0 (dropped) or ``1/(1-p)``."""
    if random_uniform(key, counter) < p:
        return 0.0
    return inv_keep


# ------------------------------------------------------------ initialisation
@njit(nogil=True, cache=True)
def init_candidates(params, velocity, layer_ptr, layers, seed, generation, ids, lo, hi):
    """Glorot-uniform weights, zero biases and zero velocity for candidates ``lo .. hi-1``."""
    for c in range(lo, hi):
        key = stream_key(seed, generation, ids[c], Purpose.ARCH_INIT)
        ctr = 0
        for li in range(layer_ptr[c], layer_ptr[c + 1]):
            n_in = layers[li, 0]
            n_out = layers[li, 1]
            w0 = layers[li, 3]
            b0 = layers[li, 4]
            limit = np.sqrt(6.0 / (n_in + n_out))
            for k in range(n_in * n_out):
                params[w0 + k] = (2.0 * random_uniform(key, ctr) - 1.0) * limit
                velocity[w0 + k] = 0.0
                ctr += 1
            for j in range(n_out):
                params[b0 + j] = 0.0
                velocity[b0 + j] = 0.0


# -------------------------------------------------------- forward / backward
@njit(cache=True)
def _unit_offsets(layers):
    """Offsets of every layer's units (input first) in a per-sample row.

    A row of the kernels' activations ``A`` holds these units' outputs, then,
    from ``uoff[-1]`` on, the same units' pre-activations (for
    :func:`~fastga.kernels.activations.act_backward`): ``2 * uoff[-1]``
    values.
    """
    n_layers = layers.shape[0]
    off = np.empty(n_layers + 2, dtype=np.int64)
    off[0] = 0
    off[1] = layers[0, 0]
    for li in range(n_layers):
        off[li + 2] = off[li + 1] + layers[li, 1]
    return off


@njit(cache=True, inline="always")
def _forward_sample(params, layers, uoff, x, A, i, M, use_mask):
    """Forward pass of one sample into row ``i`` of ``A`` (post-activation, pre-dropout,
    then the pre-activations, see :func:`_unit_offsets`).

    When ``use_mask``, the second layer reads ``A[i, first] * M[i]``.
    """
    n_layers = layers.shape[0]
    zoff = uoff[n_layers + 1]
    for k in range(layers[0, 0]):
        A[i, k] = x[k]
    for li in range(n_layers):
        n_in = layers[li, 0]
        n_out = layers[li, 1]
        w0 = layers[li, 3]
        b0 = layers[li, 4]
        src = uoff[li]
        dst = uoff[li + 1]
        for j in range(n_out):
            A[i, dst + j] = params[b0 + j]
        masked = use_mask and li == 1
        for k in range(n_in):
            ak = A[i, src + k]
            if masked:
                ak = ak * M[i, k]
            base = w0 + k * n_out
            for j in range(n_out):
                A[i, dst + j] += ak * params[base + j]
        for j in range(n_out):
            A[i, zoff + dst + j] = A[i, dst + j]
        act_forward(A[i, dst:], n_out, layers[li, 2])


@njit(cache=True, inline="always")
def _backward_sample(params, grad, gbase, layers, uoff, A, i, M, use_mask, d, dprev):
    """Accumulate into ``grad`` the gradient of one sample; ``d`` holds dL/d output."""
    n_layers = layers.shape[0]
    last = n_layers - 1
    zoff = uoff[n_layers + 1]
    out0 = uoff[last + 1]
    act_backward(A[i, out0:], A[i, zoff + out0:], d, layers[last, 1], layers[last, 2])
    for li in range(last, -1, -1):
        n_in = layers[li, 0]
        n_out = layers[li, 1]
        w0 = layers[li, 3]
        b0 = layers[li, 4]
        src = uoff[li]
        masked = use_mask and li == 1
        for j in range(n_out):
            grad[b0 - gbase + j] += d[j]
        for k in range(n_in):
            ak = A[i, src + k]
            if masked:
                ak = ak * M[i, k]
            base = w0 + k * n_out
            gb = base - gbase
            s = 0.0
            for j in range(n_out):
                grad[gb + j] += ak * d[j]
                s += params[base + j] * d[j]
            if li > 0:
                dprev[k] = s * M[i, k] if masked else s
        if li > 0:
            act_backward(A[i, src:], A[i, zoff + src:], dprev, n_in, layers[li - 1, 2])
            for k in range(n_in):
                d[k] = dprev[k]


@njit(cache=True)
def _batch_grad(params, layers, uoff, X, y, order, start, m, A, M, use_mask, d, dprev, grad, gbase):
    """Gradient (into ``grad``, zeroed here) and summed squared error of one minibatch."""
    for q in range(grad.shape[0]):
        grad[q] = 0.0
    n_out = y.shape[1]
    out0 = uoff[layers.shape[0]]
    scale = 2.0 / (m * n_out)
    sse = 0.0
    for i in range(m):
        idx = order[start + i]
        _forward_sample(params, layers, uoff, X[idx], A, i, M, use_mask)
        for j in range(n_out):
            e = A[i, out0 + j] - y[idx, j]
            sse += e * e
            d[j] = e * scale
        _backward_sample(params, grad, gbase, layers, uoff, A, i, M, use_mask, d, dprev)
    return sse


@njit(cache=True)
def batch_loss_grad(params, layers, X, y, mask):
    """Mean squared error and its gradient for one batch (all of ``X``).

    Reference entry point for tests: ``params`` holds one network (offsets of
    ``layers`` relative to it, any float dtype), ``mask`` is the inverted
    dropout factor of the first layer's outputs, shape ``(len(X), h1)``, or
    an empty array for no dropout. Returns ``(loss, grad)``.
    """
    uoff = _unit_offsets(layers)
    m = X.shape[0]
    width = 0
    for li in range(layers.shape[0]):
        width = max(width, layers[li, 0], layers[li, 1])
    A = np.zeros((m, 2 * uoff[-1]), dtype=params.dtype)
    d = np.zeros(width, dtype=params.dtype)
    dprev = np.zeros(width, dtype=params.dtype)
    grad = np.zeros(params.shape[0], dtype=params.dtype)
    use_mask = mask.shape[0] > 0
    M = mask if use_mask else np.ones((m, layers[0, 1]), dtype=params.dtype)
    sse = _batch_grad(params, layers, uoff, X, y, np.arange(m), 0, m, A, M, use_mask, d, dprev,
                      grad, 0)
    return sse / (m * y.shape[1]), grad


@njit(cache=True)
def predict_one(params, layers, X, out):
    """Outputs of one network (no dropout) into ``out`` (n_samples, n_out)."""
    uoff = _unit_offsets(layers)
    A = np.empty((1, 2 * uoff[-1]), dtype=params.dtype)
    M = np.ones((1, 1), dtype=params.dtype)
    out0 = uoff[layers.shape[0]]
    for b in range(X.shape[0]):
        _forward_sample(params, layers, uoff, X[b], A, 0, M, False)
        for j in range(out.shape[1]):
            out[b, j] = A[0, out0 + j]


@njit(cache=True)
def _mse(params, layers, uoff, X, y, A, M):
    n_out = y.shape[1]
    out0 = uoff[layers.shape[0]]
    sse = 0.0
    for b in range(X.shape[0]):
        _forward_sample(params, layers, uoff, X[b], A, 0, M, False)
        for j in range(n_out):
            e = np.float64(A[0, out0 + j]) - np.float64(y[b, j])
            sse += e * e
    return sse / (X.shape[0] * n_out)


# ------------------------------------------------------------------ training
@njit(cache=True)
def train_one(params, velocity, layers, batch_size, lr, momentum, decay, dropout,
              X, y, Xv, yv, epochs, shuffle_key, drop_key):
    """Train one network in place; returns ``(val_mse, last_epoch_train_mse, steps)``.

    ``layers`` is this candidate's slice of the layer table (absolute
    offsets into ``params``/``velocity``). ``val_mse`` is NaN when training
    diverged.
    """
    n = X.shape[0]
    n_out = y.shape[1]
    uoff = _unit_offsets(layers)
    gbase = layers[0, 3]
    last = layers.shape[0] - 1
    gend = layers[last, 4] + layers[last, 1]
    width = 0
    for li in range(layers.shape[0]):
        width = max(width, layers[li, 0], layers[li, 1])
    h1 = layers[0, 1]
    bs = min(batch_size, n)
    A = np.empty((bs, 2 * uoff[-1]), dtype=params.dtype)
    M = np.ones((bs, h1), dtype=params.dtype)
    d = np.empty(width, dtype=params.dtype)
    dprev = np.empty(width, dtype=params.dtype)
    grad = np.empty(gend - gbase, dtype=params.dtype)
    use_mask = dropout > 0.0 and layers.shape[0] > 1
    inv_keep = 1.0 / (1.0 - dropout)
    step = 0
    train_mse = np.nan
    diverged = False
    for epoch in range(epochs):
        order = epoch_order(shuffle_key, epoch, n)
        sse_epoch = 0.0
        for start in range(0, n, bs):
            m = min(bs, n - start)
            if use_mask:
                base = np.uint64(step) * np.uint64(bs) * np.uint64(h1)
                for i in range(m):
                    for k in range(h1):
                        ctr = base + np.uint64(i * h1 + k)
                        M[i, k] = dropout_scale(drop_key, ctr, dropout, inv_keep)
            sse = _batch_grad(params, layers, uoff, X, y, order, start, m, A, M, use_mask, d,
                              dprev, grad, gbase)
            if not np.isfinite(sse):
                diverged = True
                break
            sse_epoch += sse
            lr_t = lr / (1.0 + decay * step)
            for q in range(grad.shape[0]):
                v = momentum * velocity[gbase + q] - lr_t * grad[q]
                velocity[gbase + q] = v
                params[gbase + q] += v
            step += 1
        if diverged:
            break
        train_mse = sse_epoch / (n * n_out)
    if diverged:
        return np.nan, np.nan, step
    A1 = np.empty((1, 2 * uoff[-1]), dtype=params.dtype)
    val = _mse(params, layers, uoff, Xv, yv, A1, M)
    if not np.isfinite(val):
        val = np.nan
    return val, train_mse, step


@njit(nogil=True, cache=True)
def train_candidates(params, velocity, layer_ptr, layers, batch_sizes, lrs, momenta, decays,
                     dropouts, X, y, Xv, yv, epochs, seed, generation, ids,
                     val_mse, train_mse, steps, lo, hi):
    """Train candidates ``lo .. hi-1``, one after the other.

    Parameters
    ----------
    params, velocity : float32 (total,)
        Ragged buffers of all candidates' parameters and momenta; already
        initialised (see :func:`init_candidates`).
    layer_ptr : int64 (C + 1,)
        Candidate ``c`` owns rows ``layer_ptr[c]:layer_ptr[c+1]`` of ``layers``.
    layers : int64 (L, 5)
        ``(n_in, n_out, activation, w_offset, b_offset)`` per weight layer.
    batch_sizes : int64 (C,); lrs, momenta, decays, dropouts : float64 (C,)
    X, y, Xv, yv : float32 training and validation data.
    epochs : int
        The same budget for every candidate.
    seed, generation : int; ids : int64 (C,)
        Stream keys of candidate ``c`` are ``(seed, generation, ids[c], purpose)``.
    val_mse, train_mse : float64 (C,); steps : int64 (C,)
        Written at ``[c]`` for ``lo <= c < hi`` only.
    lo, hi : int
        The candidates to train.
    """
    for c in range(lo, hi):
        shuffle_key = stream_key(seed, generation, ids[c], Purpose.SHUFFLE)
        drop_key = stream_key(seed, generation, ids[c], Purpose.DROPOUT)
        lay = layers[layer_ptr[c]:layer_ptr[c + 1]]
        v, t, s = train_one(params, velocity, lay, batch_sizes[c], lrs[c], momenta[c], decays[c],
                            dropouts[c], X, y, Xv, yv, epochs, shuffle_key, drop_key)
        val_mse[c] = v
        train_mse[c] = t
        steps[c] = s
