"""Slow, obviously-correct NumPy references of every core kernel.

Each function here re-states what a kernel of :mod:`fastga.kernels` (or a
function of :mod:`fastga.selection`) computes, in the plainest way: one
network, one layer, one child, one mutation at a time. Random draws come from
a re-implementation of the counter-based generator of
:mod:`fastga.kernels.rng` in plain Python integers (SplitMix64's finaliser of
``key + (counter + 1) * GAMMA``), so a reference draws exactly the numbers the
kernel draws. Transcendental functions on single draws use :mod:`math`
(the C library, as Numba's compiled code does), except in the mutation,
whose stream is defined with float32 polynomials (:func:`log32`,
:func:`cos2pi32`, restated here in NumPy float32 steps).

Nothing here imports fastga's kernels: the references depend on NumPy and
on the codes of :mod:`fastga.registry` only.
"""

from __future__ import annotations

import math

import numpy as np

from fastga.registry import Init, Mutation, Purpose

# ---------------------------------------------------------------- the RNG
MASK64 = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15
M1 = 0xBF58476D1CE4E5B9
M2 = 0x94D049BB133111EB


def mix64(z):
    """SplitMix64 finaliser on a Python int (mod 2**64)."""
    z &= MASK64
    z = ((z ^ (z >> 30)) * M1) & MASK64
    z = ((z ^ (z >> 27)) * M2) & MASK64
    return z ^ (z >> 31)


def stream_key(seed, generation, individual, purpose):
    """Key of the stream (seed, generation, individual, purpose)."""
    k = mix64(int(seed) * GAMMA + int(purpose))
    k = mix64(k + int(generation) * GAMMA + 1)
    return mix64(k + int(individual) * GAMMA + 1)


def random_u64(key, counter):
    """The ``counter``-th 64-bit draw of stream ``key``."""
    return mix64(int(key) + (int(counter) + 1) * GAMMA)


def random_uniform(key, counter):
    """The ``counter``-th draw of ``key`` as a float in [0, 1) (53 bits)."""
    return float(random_u64(key, counter) >> 11) * (1.0 / 9007199254740992.0)


def random_normal(key, counter):
    """Box-Muller from counters ``counter`` (u1 in (0, 1]) and ``counter + 1``."""
    u1 = 1.0 - random_uniform(key, counter)
    u2 = random_uniform(key, counter + 1)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def uniforms(key, start, count):
    """``count`` consecutive uniform draws of ``key`` from counter ``start``."""
    return np.array([random_uniform(key, c) for c in range(start, start + count)])


# --------------------------------------------------------- initialisation
def init_genomes(P, sizes, seed, scheme, scale):
    """Genomes of ``P`` networks; row ``i`` uses stream (seed, 0, i, INIT).

    ``scheme`` (an :class:`~fastga.registry.Init` code): UNIFORM, per layer,
    weights ``(2u - 1) * scale`` drawn in order, biases 0; NORMAL, every
    parameter ``scale * N(0, 1)``, each normal using two counters; GLOROT, as
    UNIFORM with the limit ``sqrt(6 / (n_in + n_out))``.
    """
    sizes = [int(s) for s in sizes]
    n_params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    out = np.zeros((P, n_params), dtype=np.float32)
    for i in range(P):
        key = stream_key(seed, 0, i, Purpose.INIT)
        if scheme == Init.NORMAL:
            for k in range(n_params):
                out[i, k] = np.float32(scale * random_normal(key, 2 * k))
            continue
        ctr = 0
        pos = 0
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            limit = scale if scheme == Init.UNIFORM else math.sqrt(6.0 / (n_in + n_out))
            for k in range(n_in * n_out):
                out[i, pos + k] = np.float32((2.0 * random_uniform(key, ctr) - 1.0) * limit)
                ctr += 1
            pos += n_in * n_out
            out[i, pos:pos + n_out] = 0.0
            pos += n_out
    return out


# ------------------------------------------------------------ forward pass
def layers(genome, sizes):
    """Split one genome into ``[(W, b), ...]`` (float64), W of shape (n_in, n_out)."""
    out, pos = [], 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        W = np.asarray(genome[pos:pos + n_in * n_out], dtype=np.float64).reshape(n_in, n_out)
        pos += n_in * n_out
        b = np.asarray(genome[pos:pos + n_out], dtype=np.float64)
        pos += n_out
        out.append((W, b))
    assert pos == len(genome), "genome does not match sizes"
    return out


def _sigmoid(Z):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-Z))


def _softmax(Z):
    E = np.exp(Z - Z.max(axis=-1, keepdims=True))
    return E / E.sum(axis=-1, keepdims=True)


#: Every activation of fastga by name (float64 in, float64 out, rows of ``Z``).
ACTIVATIONS = {
    "linear": lambda Z: Z,
    "relu": lambda Z: np.maximum(Z, 0.0),
    "leaky_relu": lambda Z: np.where(Z < 0, 0.01 * Z, Z),
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "softmax": _softmax,
    "gelu": lambda Z: 0.5 * Z * np.vectorize(math.erfc)(-Z / math.sqrt(2.0)),
}


def activation(name, Z):
    """Apply an activation to the rows of ``Z`` (float64)."""
    return ACTIVATIONS[name](np.asarray(Z, dtype=np.float64))


def network_logits(genome, sizes, activations, X):
    """Pre-activation of the last layer of one network on ``X`` (float64)."""
    h = np.asarray(X, dtype=np.float64)
    ws = layers(genome, sizes)
    for layer, (W, b) in enumerate(ws):
        z = h @ W + b
        if layer == len(ws) - 1:
            return z
        h = activation(activations[layer], z)


def network_forward(genome, sizes, activations, X):
    """Outputs of one network on ``X``: (B, n_out) float64."""
    return activation(activations[-1], network_logits(genome, sizes, activations, X))


def forward(genomes, sizes, activations, X, rows=None):
    """Outputs of ``genomes[rows]`` on ``X``: (R, B, n_out) float64."""
    rows = range(len(genomes)) if rows is None else rows
    return np.stack([network_forward(genomes[r], sizes, activations, X) for r in rows])


# ------------------------------------------------------------ the metrics
EPS = 1e-7


def cross_entropy(genome, sizes, activations, X, y):
    """Mean cross-entropy of one network.

    With a softmax output layer: log-softmax of the logits,
    ``logsumexp(z) - z[y]``. Otherwise the output itself is read as the
    probability: ``-log(max(p[y], 1e-7))``.
    """
    z = network_logits(genome, sizes, activations, X)
    y = np.asarray(y)
    rows = np.arange(len(y))
    if activations[-1] == "softmax":
        m = z.max(axis=1)
        lse = m + np.log(np.exp(z - m[:, None]).sum(axis=1))
        return float(np.mean(lse - z[rows, y]))
    p = activation(activations[-1], z)[rows, y]
    return float(np.mean(-np.log(np.maximum(p, EPS))))


def accuracy(genome, sizes, activations, X, y):
    """Share of samples whose first maximal output is the label (a sample
    with a NaN output is never correct).

    The argmax is taken over the outputs rounded to float32 (over the logits
    for a softmax output, which has the same argmax): the networks compute in
    float32, where e.g. saturated tanh or sigmoid outputs are exactly equal
    and the first of them wins.
    """
    if activations[-1] == "softmax":
        out = network_logits(genome, sizes, activations, X)
    else:
        out = network_forward(genome, sizes, activations, X)
    out = out.astype(np.float32)
    hit = (np.argmax(out, axis=1) == np.asarray(y)) & ~np.isnan(out).any(axis=1)
    return float(np.mean(hit))


def mse(genome, sizes, activations, X, Y):
    """Mean over samples and outputs of the squared error."""
    out = network_forward(genome, sizes, activations, X)
    return float(np.mean((out - np.asarray(Y, dtype=np.float64)) ** 2))


def output_moments(genome, sizes, activations, X):
    """Sum and sum of squares of all outputs of one network on ``X``."""
    out = network_forward(genome, sizes, activations, X)
    return float(out.sum()), float((out ** 2).sum())


def fused_fitness(genomes, sizes, activations, X, y, metric, rows=None):
    """What the fused kernel reports: ``(loss, accuracy, moments)`` per row.

    ``metric`` is ``cross_entropy``/``accuracy`` (loss is the cross-entropy,
    labels ``y``) or ``mse`` (targets ``y``, accuracy 0).
    """
    rows = range(len(genomes)) if rows is None else rows
    loss, acc, mom = [], [], []
    for r in rows:
        g = genomes[r]
        if metric == "mse":
            loss.append(mse(g, sizes, activations, X, y))
            acc.append(0.0)
        else:
            loss.append(cross_entropy(g, sizes, activations, X, y))
            acc.append(accuracy(g, sizes, activations, X, y))
        mom.append(output_moments(g, sizes, activations, X))
    return np.array(loss), np.array(acc), np.array(mom).reshape(-1, 2)


# --------------------------------------------------------------- crossover
def copy_rows(src, src_rows, dst, dst_rows):
    """``dst[dst_rows[r]] = src[src_rows[r]]``; returns a new array."""
    out = np.array(dst, copy=True)
    for s, d in zip(src_rows, dst_rows):
        out[d] = src[s]
    return out


def neuron_slices(sizes):
    """For each neuron of each layer: (indices of its incoming weights, index of its bias)."""
    out, pos = [], 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        W = np.arange(pos, pos + n_in * n_out).reshape(n_in, n_out)
        pos += n_in * n_out
        for j in range(n_out):
            out.append((W[:, j], pos + j))
        pos += n_out
    return out


def crossover_neuron(parents, children, p1, p2, rows, seed, generation, sizes,
                     max_crossover, crossover_prob):
    """Neuron-wise crossover; returns a new children array.

    Child ``rows[r]`` copies parent ``p1[r]``; if draw 0 is below
    ``crossover_prob`` it draws ``q = u1 * max_crossover`` and each neuron
    (in layer order, neuron order; draws 2, 3, ...) whose draw is below
    ``q`` is taken whole (incoming column and bias) from parent ``p2[r]``.
    """
    out = np.array(children, copy=True)
    for r, c in enumerate(rows):
        a, b = parents[p1[r]], parents[p2[r]]
        child = a.copy()
        key = stream_key(seed, generation, c, Purpose.CROSSOVER)
        if random_uniform(key, 0) < crossover_prob:
            q = random_uniform(key, 1) * max_crossover
            for n, (w_idx, b_idx) in enumerate(neuron_slices(sizes)):
                if random_uniform(key, 2 + n) < q:
                    child[w_idx] = b[w_idx]
                    child[b_idx] = b[b_idx]
        out[c] = child
    return out


def crossover_single_point(parents, children, p1, p2, rows, seed, generation, crossover_prob):
    """Single-point crossover: genes ``[0, k)`` from ``p1``, ``[k, n)`` from ``p2``,
    ``k = 1 + floor(u1 * (n - 1))``, when draw 0 is below ``crossover_prob``."""
    out = np.array(children, copy=True)
    n = parents.shape[1]
    for r, c in enumerate(rows):
        key = stream_key(seed, generation, c, Purpose.CROSSOVER)
        split = n
        if n > 1 and random_uniform(key, 0) < crossover_prob:
            split = min(1 + int(math.floor(random_uniform(key, 1) * (n - 1))), n - 1)
        out[c, :split] = parents[p1[r], :split]
        out[c, split:] = parents[p2[r], split:]
    return out


def crossover_uniform(parents, children, p1, p2, rows, seed, generation, crossover_prob):
    """Uniform crossover: gene ``k`` from ``p2`` iff bit ``k % 64`` of 64-bit draw
    ``1 + k // 64`` is set (when draw 0 is below ``crossover_prob``)."""
    out = np.array(children, copy=True)
    n = parents.shape[1]
    for r, c in enumerate(rows):
        key = stream_key(seed, generation, c, Purpose.CROSSOVER)
        child = parents[p1[r]].copy()
        if random_uniform(key, 0) < crossover_prob:
            for k in range(n):
                if (random_u64(key, 1 + k // 64) >> (k % 64)) & 1:
                    child[k] = parents[p2[r], k]
        out[c] = child
    return out


# ---------------------------------------------------------------- mutation
F32 = np.float32
_LOG_C = [F32(7.0376836292e-2), F32(-1.1514610310e-1), F32(1.1676998740e-1),
          F32(-1.2420140846e-1), F32(1.4249322787e-1), F32(-1.6668057665e-1),
          F32(2.0000714765e-1), F32(-2.4999993993e-1), F32(3.3333331174e-1)]
_COS_C = [F32((-1) ** k * (2 * math.pi) ** (2 * k) / math.factorial(2 * k)) for k in range(8)]


def log32(x):
    """Cephes' ``logf`` in float32 steps (x a positive, normal float32, scalar or array):
    ``x = 2**e * m``, ``m`` in [sqrt(1/2), sqrt(2)), ``f = m - 1``,
    ``log x = e ln2 + f - f**2/2 + f**3 P(f)`` (ln2 in two parts)."""
    x = np.asarray(x, dtype=F32)
    bits = x.view(np.int32)
    e = (bits >> 23) - 127
    m = ((bits & 0x7FFFFF) | 0x3F800000).astype(np.int32).view(F32)  # [1, 2)
    big = m >= F32(1.41421356237)
    m = np.where(big, m * F32(0.5), m).astype(F32)
    e = np.where(big, e + 1, e)
    f = (m - F32(1.0)).astype(F32)
    z = f * f
    y = _LOG_C[0] * f + _LOG_C[1]
    for c in _LOG_C[2:]:
        y = y * f + c
    y = y * f * z
    fe = e.astype(F32)
    y = y + fe * F32(-2.12194440e-4)
    y = y - F32(0.5) * z
    return ((f + y) + fe * F32(0.693359375)).astype(F32)


def cos2pi32(u):
    """``cos(2 pi u)`` for float32 ``u`` in [0, 1]: ``y = min(u, 1 - u)``, then
    ``q = y`` or ``1/2 - y`` (negated) in [0, 1/4], Taylor series of degree
    14 in ``q`` (Horner in ``q**2``), all in float32."""
    u = np.asarray(u, dtype=F32)
    y = np.minimum(u, F32(1.0) - u)
    flip = y > F32(0.25)
    q = np.where(flip, F32(0.5) - y, y).astype(F32)
    z = q * q
    p = _COS_C[7] * z + _COS_C[6]
    for c in _COS_C[5::-1]:
        p = p * z + c
    return np.where(flip, -p, p).astype(F32)


NORMAL_BASE = 1 << 62


def mutation_normal(key, g):
    """Normal ``g`` of a row's gaussian mutations (see :func:`mutate`)."""
    b = random_u64(key, NORMAL_BASE + g // 2)
    r = np.sqrt(F32(-2.0) * log32(F32(1.0) - F32(b >> 40) * F32(2.0 ** -24)))
    c = b & 0xFFFFFF
    if g % 2:
        c = (c - (1 << 22)) % (1 << 24)  # a quarter turn back: the sine
    return F32(r * cos2pi32(F32(c) * F32(2.0 ** -24)))


def mutate(genomes, rows, seed, generation, rate, type_probs, shift_max, swap_max, sigma):
    """Mutation by geometric skipping; returns ``(new genomes, counts)``.

    For row ``g`` (stream (seed, generation, g, MUTATION)), mutation ``m``
    (0, 1, ...) reads the draw ``a = random_u64(key, m)``: the gap to it from
    the previous mutated position (-1 at first) is ``trunc(min(log32(1 -
    (a >> 40) / 2**24) * float32(1 / log1p(-rate)), 2**30))`` (0 when rate
    is 1; none when it is 0); ``v = ((a >> 16) & 0xFFFFFF) / 2**24``; the
    type is the number of ``cum[0..2]`` that are ``<= (a & 0xFFFF) / 2**16``.
    Shift multiplies by ``v * float32(shift_max)``, sign negates, swap sets
    ``(2v - 1) * float32(swap_max)``, the ``k``-th gaussian adds
    ``float32(sigma) * mutation_normal(key, k)``. All genome arithmetic is
    float32.
    """
    p = np.asarray(type_probs, dtype=np.float64)
    if p.shape[0] == 3:
        p = np.append(p, 0.0)
    cum = np.cumsum(p)
    cum[-1] = 1.0
    out = np.array(genomes, dtype=np.float32, copy=True)
    n = out.shape[1]
    counts = np.zeros(len(rows), dtype=np.int64)
    inv_log_keep = F32(1.0 / math.log1p(-rate)) if 0.0 < rate < 1.0 else F32(0.0)
    for r, g in enumerate(rows):
        if rate <= 0.0:
            continue
        key = stream_key(seed, generation, g, Purpose.MUTATION)
        m = 0
        n_gauss = 0
        pos = -1
        while True:
            a = random_u64(key, m)
            m += 1
            u = F32((1 << 24) - (a >> 40)) * F32(2.0 ** -24)  # (0, 1]
            gap = min(float(log32(u) * inv_log_keep), 2.0 ** 30)
            pos += int(gap) + 1  # int() truncates
            if pos >= n:
                break
            v = F32((a >> 16) & 0xFFFFFF) * F32(2.0 ** -24)
            t = (a & 0xFFFF) / 65536.0
            kind = int((cum[:3] <= t).sum())
            w = out[g, pos]
            if kind == Mutation.SHIFT:
                w = F32(w * (v * F32(shift_max)))
            elif kind == Mutation.SIGN:
                w = F32(-w)
            elif kind == Mutation.SWAP:
                w = F32((v + v - F32(1.0)) * F32(swap_max))
            else:
                w = F32(w + F32(sigma) * mutation_normal(key, n_gauss))
                n_gauss += 1
            out[g, pos] = w
            counts[r] += 1
    return out, counts


def breed(parents, elite_src, p1, p2, seed, generation, kind, sizes, max_crossover,
          crossover_prob, rate, type_probs, shift_max, swap_max, sigma):
    """One generation's breeding, step by step: the elites (rows ``0 .. E-1``,
    copies of ``parents[elite_src]``), then crossover of children ``E .. P-1``
    (``kind`` ``none``: copies of ``p1``), then mutation of the children.
    Returns ``(children, counts)``."""
    P = parents.shape[0]
    E = len(elite_src)
    children = np.full_like(parents, np.nan)
    children = copy_rows(parents, elite_src, children, np.arange(E))
    rows = np.arange(E, P)
    if kind == "neuron":
        children = crossover_neuron(parents, children, p1, p2, rows, seed, generation, sizes,
                                    max_crossover, crossover_prob)
    elif kind == "single_point":
        children = crossover_single_point(parents, children, p1, p2, rows, seed, generation,
                                          crossover_prob)
    elif kind == "uniform":
        children = crossover_uniform(parents, children, p1, p2, rows, seed, generation,
                                     crossover_prob)
    else:
        children = copy_rows(parents, p1, children, rows)
    return mutate(children, rows, seed, generation, rate, type_probs, shift_max, swap_max, sigma)


# --------------------------------------------------------------- selection
def rank_order(fitness):
    """Indices best first; NaN and +-inf last; ties by index."""
    f = [float(v) for v in fitness]

    def key(i):
        return (0, -f[i], i) if math.isfinite(f[i]) else (1, 0.0, i)

    return np.array(sorted(range(len(f)), key=key), dtype=np.int64)


def n_survivors(size, die_off_rate, minimum=2):
    """``size`` minus the ``floor(size * die_off_rate)`` that die, within [minimum, size]."""
    dead = int(math.floor(size * die_off_rate + 1e-9))
    return min(size, max(minimum, size - dead))


def preference_probabilities(fitness, preference):
    """``P_i = F_i^m / sum F^m`` with ``F`` the finite fitness min-max scaled
    onto [0.01, 1] (all 1 if equal); non-finite fitness gets 0; uniform if
    nothing is finite."""
    f = [float(v) for v in fitness]
    finite = [v for v in f if math.isfinite(v)]
    if not finite:
        return np.full(len(f), 1.0 / len(f))
    lo, hi = min(finite), max(finite)
    F = []
    for v in f:
        if not math.isfinite(v):
            F.append(0.0)
        elif hi > lo:
            F.append((0.01 + 0.99 * (v - lo) / (hi - lo)) ** preference)
        else:
            F.append(1.0)
    total = sum(F)
    return np.array([v / total for v in F])


def bit_blend(a, b, mask):
    """Float32 ``a`` where the int32 ``mask`` is 0, ``b`` where it is -1: the bits
    ``(a & ~mask) | (b & mask)``, elementwise."""
    a = np.asarray(a, np.float32).view(np.int32)
    b = np.asarray(b, np.float32).view(np.int32)
    return ((a & ~mask) | (b & mask)).view(np.float32)


# ------------------------------------------------- the forward pass's tiles
def dense_tile(W, b, X, relu):
    """``W.T @ X + b`` (float64), then ReLU (``max(v, 0)``, NaN -> 0) if ``relu``:
    ``W`` (n_in, n_out), ``b`` (n_out,), ``X`` (n_in, samples) -> (n_out, samples)."""
    Z = W.astype(np.float64).T @ X.astype(np.float64) + b.astype(np.float64)[:, None]
    return np.where(Z > 0, Z, 0.0) if relu else Z


def softmax_stats(Z, y, tiny):
    """Per-sample softmax statistics of logits ``Z`` (n_out, samples), labels ``y``:
    ``hit`` (1 if the first index of the maximum is the label and every logit is
    finite, else 0), ``chk`` (0 if every logit is finite, else NaN), ``se = sum
    exp(z - max)``, ``se2 = sum e**2`` over ``e > tiny``, ``zl = z_y - max``;
    float64, one sample at a time."""
    n_out, n = Z.shape
    best = np.zeros(n, dtype=np.int64)
    chk = np.zeros(n)
    se, se2, zl = np.zeros(n), np.zeros(n), np.zeros(n)
    for s in range(n):
        z = Z[:, s].astype(np.float64)
        finite = bool(np.all(np.isfinite(z)))
        chk[s] = 0.0 if finite else np.nan
        m = z[0]
        for j in range(1, n_out):
            if z[j] > m:
                m, best[s] = z[j], j
        if not finite:
            continue
        e = np.exp(np.maximum(z - m, -87.0))
        se[s] = e.sum()
        se2[s] = np.sum(np.where(e > tiny, e, 0.0) ** 2)
        zl[s] = z[y[s]] - m
    hit = np.where((best == y) & (chk == 0), 1.0, 0.0)
    return hit, chk, se, se2, zl


def mirrored_genomes(genomes, sizes, center):
    """The float64 genomes whose plain evaluation is what the mirrored-pairs
    kernels compute: rows ``2k`` and ``2k+1`` are a pair around ``center``; the
    first-layer weights become ``Wc + E`` and ``Wc - E`` with ``E = W_2k - Wc``
    (rounded to float32, as the kernel forms it), the rest of each genome
    unchanged. A pair with a non-finite first-layer weight (of either row, or of
    ``E``) is evaluated plainly."""
    out = np.array(genomes, dtype=np.float64)
    nw = sizes[0] * sizes[1]
    c = np.asarray(center, dtype=np.float32)[:nw]
    for k in range(len(genomes) // 2):
        g0 = np.asarray(genomes[2 * k], dtype=np.float32)[:nw]
        g1 = np.asarray(genomes[2 * k + 1], dtype=np.float32)[:nw]
        with np.errstate(over="ignore", invalid="ignore"):
            E = g0 - c
        if not (np.isfinite(E).all() and np.isfinite(g1).all()):
            continue
        out[2 * k, :nw] = c.astype(np.float64) + E
        out[2 * k + 1, :nw] = c.astype(np.float64) - E
    return out
