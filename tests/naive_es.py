"""Slow, obviously correct NumPy references of the evolution strategies.

One generation of each: the noise matrix is built row by row from the
counter streams (Python ints), the population is ``mean + scale * z`` in
float32, and each update is written from the algorithm's paper in terms of
the population's rows (not of mirrored directions). Ranks come from SciPy.
"""

import numpy as np
from scipy.stats import rankdata

from .naive import log32, random_u64, stream_key

F32 = np.float32
PURPOSE_ES_NOISE = 71


def sincos(c):
    """``(cos, sin)`` of ``c * 2**-24`` turns in float32 steps: the nearest
    quarter turn ``k``, the rest ``x`` in [-pi/4, pi/4] radians, Cephes'
    ``sinf``/``cosf`` polynomials, then the quarter's swap and signs."""
    k = (c + (1 << 21)) >> 22
    x = F32(c - (k << 22)) * F32(2.0 * np.pi / 2 ** 24)
    z = x * x
    cs = ((F32(2.443315711809948e-5) * z + F32(-1.388731625493765e-3)) * z
          + F32(4.166664568298827e-2)) * z * z - F32(0.5) * z + F32(1.0)
    sn = ((F32(-1.9515295891e-4) * z + F32(8.3321608736e-3)) * z
          + F32(-1.6666654611e-1)) * z * x + x
    cos, sin = [(cs, sn), (-sn, cs), (-cs, -sn), (sn, -cs)][k % 4]
    return F32(cos), F32(sin)


def noise(seed, generation, d, n):
    """The standard normals ``z_d`` (float32, n) of direction ``d``.

    Parameter ``k`` is in block ``k // 512`` at ``t = k % 512``: quarter ``t
    // 128`` of the four normals of draws ``2J``, ``2J + 1`` (``J = 128 (k //
    512) + t % 128``): two 24-bit uniforms ``u0, u1`` in (0, 1] give ``R**2 =
    -2 log32(u0 u1)`` (chi-square, 4 degrees of freedom), a 24-bit uniform
    ``v`` splits it into ``ra = sqrt(v R**2)``, ``rb = sqrt((1 - v) R**2)``,
    and two 24-bit angles ``a``, ``b``: ``(ra cos a, ra sin a, rb cos b, rb sin b)``.
    """
    key = stream_key(seed, generation, d, PURPOSE_ES_NOISE)
    z = np.empty(n, dtype=F32)
    for k in range(n):
        t = k % 512
        J = 128 * (k // 512) + t % 128
        b0, b1 = random_u64(key, 2 * J), random_u64(key, 2 * J + 1)
        u0 = F32(1.0) - F32(b0 >> 40) * F32(2.0 ** -24)
        u1 = F32(1.0) - F32(b1 >> 40) * F32(2.0 ** -24)
        r2 = F32(-2.0) * log32(u0 * u1)
        v = F32(((b0 >> 16) & 0xFFFF00) | ((b1 >> 32) & 0xFF)) * F32(2.0 ** -24)
        ra, rb = np.sqrt(v * r2), np.sqrt((F32(1.0) - v) * r2)
        ca, sa = sincos(b0 & 0xFFFFFF)
        cb, sb = sincos(b1 & 0xFFFFFF)
        z[k] = F32((ra * ca, ra * sa, rb * cb, rb * sb)[t // 128])
    return z


def weighted_sums(a, b, seed, generation, n):
    """The kernel's float32 sums ``s1 = sum_d a[d] z_d``, ``s2 = sum_d b[d] z_d**2``,
    added in the order ``d = 0, 1, ...`` (float64 arrays of the float32 values)."""
    s1, s2 = np.zeros(n, F32), np.zeros(n, F32)
    for d in range(len(a)):
        z = noise(seed, generation, d, n)
        s1 = s1 + F32(a[d]) * z
        s2 = s2 + F32(b[d]) * (z * z)
    return s1.astype(np.float64), s2.astype(np.float64)


def noise_totals(seed, generation, P, n, chunk):
    """``(sum_d z_d, sum_d z_d**2)`` over ``d < P`` as the sampling forms them:
    float32 sums over each chunk of ``chunk`` directions in order, then the
    chunks' sums added in chunk order (float64 arrays of the float32 values)."""
    t1 = t2 = None
    for d0 in range(0, P, chunk):
        p1, p2 = np.zeros(n, F32), np.zeros(n, F32)
        for d in range(d0, min(d0 + chunk, P)):
            z = noise(seed, generation, d, n)
            p1 = p1 + z
            p2 = p2 + z * z
        t1, t2 = (p1, p2) if t1 is None else (t1 + p1, t2 + p2)
    return t1.astype(np.float64), t2.astype(np.float64)


def row_noise(seed, generation, P, n, antithetic):
    """Signed noise of every row (float32, (P, n)): row ``i`` is ``+z_i``, or
    ``+z_{i//2}`` / ``-z_{i//2}`` for even / odd ``i`` when antithetic."""
    if antithetic:
        return np.stack([(-1) ** (i % 2) * noise(seed, generation, i // 2, n) for i in range(P)])
    return np.stack([noise(seed, generation, i, n) for i in range(P)])


def sample(mean, scale, seed, generation, P, antithetic):
    """The population ``mean + scale * z`` (float32 arithmetic, as the kernel)."""
    Z = row_noise(seed, generation, P, len(mean), antithetic)
    m, s = np.asarray(mean, F32), np.asarray(scale, F32)
    out = np.empty_like(Z)
    for i in range(P):
        sign = -1 if antithetic and i % 2 else 1
        out[i] = m + s * Z[i] if sign > 0 else m - s * (-Z[i])
    return out


def fitness_for_ranks(fitness):
    f = np.asarray(fitness, dtype=np.float64)
    return np.where(np.isfinite(f), f, -np.inf)


def centered_ranks(fitness):
    f = fitness_for_ranks(fitness)
    return (rankdata(f, method="average") - 1) / (len(f) - 1) - 0.5


def by_rank(fitness, weights):
    """``weights[k]`` for the (k+1)-th best; ties get the mean of their places."""
    f = fitness_for_ranks(fitness)
    r = rankdata(-f, method="ordinal") - 1
    w = np.asarray(weights, dtype=np.float64)[r]
    out = np.empty_like(w)
    for i in range(len(f)):
        out[i] = w[f == f[i]].mean()
    return out


def openes_step(mean, m, v, t, fitness, Z, sigma, lr, b1, b2, eps, wd):
    """OpenES (Salimans et al. 2017) with Adam; ``Z`` the rows' signed noise."""
    s = centered_ranks(fitness)
    g = (s @ Z.astype(np.float64)) / (len(s) * sigma) - wd * mean
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    mh, vh = m / (1 - b1 ** t), v / (1 - b2 ** t)
    return mean + lr * mh / (np.sqrt(vh) + eps), m, v


def pgpe_step(mean, sigma, velocity, fitness, Z, lr, max_speed, momentum, sigma_lr, max_change):
    """Symmetric PGPE (Sehnke et al. 2010; EvoTorch's form) with ClipUp."""
    s = centered_ranks(fitness)
    Z = Z.astype(np.float64)
    eps = sigma * Z[0::2]  # the + rows' perturbations
    sp, sm = s[0::2], s[1::2]
    n_dirs = len(sp)
    g_mu = ((sp - sm) / 2) @ eps / n_dirs
    g_sigma = ((sp + sm) / 2) @ ((eps ** 2 - sigma ** 2) / sigma) / n_dirs
    step = g_mu / np.linalg.norm(g_mu) * lr
    velocity = momentum * velocity + step
    speed = np.linalg.norm(velocity)
    if speed > max_speed:
        velocity = velocity * (max_speed / speed)
    new_sigma = np.clip(sigma + sigma_lr * g_sigma, sigma * (1 - max_change),
                        sigma * (1 + max_change))
    return mean + velocity, new_sigma, velocity


def snes_step(mean, sigma, fitness, Z, lr, sigma_lr):
    """SNES (Schaul et al. 2011; evosax's form)."""
    P = len(fitness)
    k = np.arange(1, P + 1)
    u = np.maximum(0, np.log(P / 2 + 1) - np.log(k))
    u = u / u.sum() - 1 / P
    w = by_rank(fitness, u)
    Z = Z.astype(np.float64)
    new_mean = mean + lr * sigma * (w @ Z)
    new_sigma = sigma * np.exp(0.5 * sigma_lr * (w @ (Z ** 2 - 1)))
    return new_mean, new_sigma


def sepcma_step(mean, step, p_s, p_c, C, fitness, Z, generation):
    """Sep-CMA-ES (Ros and Hansen 2008; evosax's form: positive weights only)."""
    P, n = Z.shape
    k = np.arange(1, P + 1)
    wp = np.log((P + 1) / 2) - np.log(k)
    mu = P // 2
    mu_eff = wp[:mu].sum() ** 2 / (wp[:mu] ** 2).sum()
    weights = np.where(wp >= 0, wp / wp[wp > 0].sum(), 0)
    c_c = (4 + mu_eff / n) / (n + 4 + 2 * mu_eff / n)
    c_1 = 2 / ((n + 1.3) ** 2 + mu_eff)
    c_mu = min(1 - c_1 - 1e-8, 2 * (mu_eff + 1 / mu_eff - 2) / ((n + 2) ** 2 + mu_eff))
    c_s = (mu_eff + 2) / (n + mu_eff + 5)
    d_s = 1 + 2 * max(0, np.sqrt((mu_eff - 1) / (n + 1)) - 1) + c_s
    chi = np.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n ** 2))
    w = by_rank(fitness, weights)
    D = np.sqrt(C)
    Y = D * Z.astype(np.float64)  # (x - mean) / step
    y_w = w @ Y
    mean = mean + step * y_w
    p_s = (1 - c_s) * p_s + np.sqrt(c_s * (2 - c_s) * mu_eff) * (y_w / D)
    ns = np.linalg.norm(p_s)
    step = step * np.exp(c_s / d_s * (ns / chi - 1))
    h = ns / np.sqrt(1 - (1 - c_s) ** (2 * (generation + 2))) < (1.4 + 2 / (n + 1)) * chi
    p_c = (1 - c_c) * p_c + h * np.sqrt(c_c * (2 - c_c) * mu_eff) * y_w
    dh = (1 - h) * c_c * (2 - c_c)
    C = (1 + c_1 * dh - c_1 - c_mu * weights.sum()) * C + c_1 * p_c ** 2 + c_mu * (w @ Y ** 2)
    return mean, step, p_s, p_c, np.clip(C, 0, 1e8) + 1e-8
