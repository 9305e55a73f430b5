"""The counter-based streams of fastga.kernels.rng: exact values and statistics."""

import numpy as np
import pytest
from numba import njit
from scipy import stats

from fastga.kernels import rng as krng
from fastga.registry import Purpose

from . import naive

SEEDS = [0, 1, 42, 2**32 + 7, 2**63 - 1]


@njit(cache=False)  # trivial; a cache would not see edits of fastga.kernels.rng
def _uniforms(key, start, n):
    out = np.empty(n)
    for i in range(n):
        out[i] = krng.random_uniform(key, start + i)
    return out


@njit(cache=False)  # trivial; a cache would not see edits of fastga.kernels.rng
def _normals(key, n):
    out = np.empty(n)
    for i in range(n):
        out[i] = krng.random_normal(key, 2 * i)
    return out


@njit(cache=False)  # trivial; a cache would not see edits of fastga.kernels.rng
def _first_uniform_of_streams(seed, generation, n, purpose, counter):
    out = np.empty(n)
    for i in range(n):
        out[i] = krng.random_uniform(krng.stream_key(seed, generation, i, purpose), counter)
    return out


# The stream functions are intrinsics (kernel code only): called here
# through one-line Numba functions.
@njit(cache=False)
def _stream_key(seed, generation, individual, purpose):
    return krng.stream_key(seed, generation, individual, purpose)


@njit(cache=False)
def _random_u64(key, counter):
    return krng.random_u64(key, counter)


@njit(cache=False)
def _random_uniform(key, counter):
    return krng.random_uniform(key, counter)


@njit(cache=False)
def _mix64(z):
    return krng.mix64(z)


def _key(seed, generation, individual, purpose):
    # Numba returns the uint64 key as a Python int: keep it uint64.
    return np.uint64(_stream_key(np.uint64(seed), generation, individual, purpose))


# ---------------------------------------------------- exact agreement
@pytest.mark.parametrize("seed", SEEDS)
def test_kernel_matches_python_reimplementation(seed):
    for gen, ind, purpose in [(0, 0, 1), (3, 17, 2), (10**6, 2**40, 3), (2**40, 5, 6)]:
        key = _key(seed, gen, ind, purpose)
        assert int(key) == naive.stream_key(seed, gen, ind, purpose)
        for ctr in [0, 1, 2, 63, 10**9]:
            assert int(_random_u64(key, ctr)) == naive.random_u64(int(key), ctr)
            assert _random_uniform(key, ctr) == naive.random_uniform(int(key), ctr)
            assert krng.random_normal(key, ctr) == naive.random_normal(int(key), ctr)


def test_mix64_known_values():
    # SplitMix64 (Steele, Lea & Flood): the first output of seed 0 is
    # mix64(0 + GAMMA) = 0xE220A8397B1DCDAF.
    assert int(_mix64(krng.GAMMA)) == 0xE220A8397B1DCDAF
    assert naive.mix64(naive.GAMMA) == 0xE220A8397B1DCDAF
    assert int(_mix64(np.uint64(0))) == 0


def test_stream_keys_vector_matches_scalar():
    keys = krng.stream_keys(np.uint64(9), 4, 50, Purpose.MUTATION)
    assert keys.dtype == np.uint64
    for i in range(50):
        assert keys[i] == _key(9, 4, i, Purpose.MUTATION)


def test_same_key_same_numbers():
    key = _key(5, 2, 3, 1)
    a = _uniforms(key, 0, 1000)
    b = _uniforms(_key(5, 2, 3, 1), 0, 1000)
    np.testing.assert_array_equal(a, b)
    # Counter-addressed: draws 500.. are the same read from any start.
    np.testing.assert_array_equal(_uniforms(key, 500, 500), a[500:])


def test_keys_are_distinct_over_a_grid():
    keys = {int(_key(s, g, i, p)) for s in range(4) for g in range(6) for i in range(20)
            for p in range(1, 7)}
    assert len(keys) == 4 * 6 * 20 * 6


# ---------------------------------------------------------- statistics
def test_uniform_moments_and_distribution():
    u = _uniforms(_key(1, 0, 0, 1), 0, 200_000)
    n = u.shape[0]
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 4 * np.sqrt(1 / 12 / n)
    assert abs(u.var() - 1 / 12) < 4 * np.sqrt(1 / 180 / n)  # var of (u-1/2)^2 is 1/180
    assert stats.kstest(u, "uniform").pvalue > 1e-4
    counts = np.histogram(u, bins=64, range=(0, 1))[0]
    assert stats.chisquare(counts).pvalue > 1e-4


def test_uniform_bits_are_balanced():
    key = _key(3, 1, 2, 2)
    draws = np.array([naive.random_u64(int(key), c) for c in range(4000)], dtype=np.uint64)
    bits = (draws[:, None] >> np.arange(64, dtype=np.uint64)) & np.uint64(1)
    share = bits.mean(axis=0)
    assert np.all(np.abs(share - 0.5) < 4 * np.sqrt(0.25 / 4000))


def test_normal_moments_and_distribution():
    z = _normals(_key(2, 0, 0, 3), 100_000)
    n = z.shape[0]
    assert np.isfinite(z).all()
    assert abs(z.mean()) < 4 / np.sqrt(n)
    assert abs(z.var() - 1) < 4 * np.sqrt(2 / n)
    assert abs(stats.skew(z)) < 4 * np.sqrt(6 / n)
    assert abs(stats.kurtosis(z)) < 4 * np.sqrt(24 / n)
    assert stats.kstest(z, "norm").pvalue > 1e-4


@pytest.mark.parametrize("vary", ["seed", "generation", "individual", "purpose"])
def test_neighbouring_streams_are_independent(vary):
    """Correlation of streams whose keys differ by one in one coordinate."""
    base = dict(seed=7, generation=3, individual=11, purpose=3)
    other = dict(base)
    other[vary] += 1
    a = _uniforms(_key(**base), 0, 50_000)
    b = _uniforms(_key(**other), 0, 50_000)
    r = np.corrcoef(a, b)[0, 1]
    assert abs(r) < 4 / np.sqrt(a.shape[0])
    # Same counter across many neighbouring individuals: uniform as well.
    first = _first_uniform_of_streams(np.uint64(7), 3, 20_000, 3, 0)
    assert stats.kstest(first, "uniform").pvalue > 1e-4


def test_within_stream_lag_correlation():
    u = _uniforms(_key(11, 0, 0, 1), 0, 100_000)
    for lag in (1, 2, 64):
        r = np.corrcoef(u[:-lag], u[lag:])[0, 1]
        assert abs(r) < 4 / np.sqrt(u.shape[0])
    # Box-Muller pairs use counters (c, c + 1): consecutive normals uncorrelated.
    z = _normals(_key(11, 0, 0, 1), 50_000)
    assert abs(np.corrcoef(z[:-1], z[1:])[0, 1]) < 4 / np.sqrt(z.shape[0])


def test_philox_streams_of_the_driver():
    from fastga._random import philox, resolve_seed

    a = philox(5, 3, 4).random(1000)
    np.testing.assert_array_equal(a, philox(5, 3, 4).random(1000))
    for other in (philox(6, 3, 4), philox(5, 4, 4), philox(5, 3, 5)):
        b = other.random(1000)
        assert not np.array_equal(a, b)
        assert abs(np.corrcoef(a, b)[0, 1]) < 4 / np.sqrt(1000)
    assert resolve_seed(12) == 12
    assert resolve_seed(np.random.default_rng(1)) == resolve_seed(np.random.default_rng(1))
    assert resolve_seed(None) != resolve_seed(None)


def test_int64_key_gives_the_same_draws():
    """A key passed as a (signed) Python int must not be promoted to float64."""
    for seed in (1, 42, 1234):
        key = _key(seed, 0, 0, 1)
        small = int(key) & ((1 << 63) - 1)
        for ctr in (0, 5):
            assert int(_random_u64(small, ctr)) == naive.random_u64(small, ctr)
            assert _random_uniform(small, ctr) == naive.random_uniform(small, ctr)


# ------------------------------------- float32 polynomials of the mutation
@njit(cache=False)  # trivial; a cache would not see edits of fastga.kernels.rng
def _log32_all(x):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = krng.log32(x[i])
    return out


@njit(cache=False)
def _cos2pi32_all(x):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = krng.cos2pi32(x[i])
    return out


_CHUNK = 1 << 21  # the 2**24 grid in pieces (memory)


def test_log32_on_the_24_bit_grid():
    """Every input the mutation gives it, j / 2**24 for j = 1 .. 2**24: bit for bit
    the reference, within 1 ulp (float32) of log, exactly 0 at 1."""
    for lo in range(1, 2**24 + 1, _CHUNK):
        x = np.arange(lo, min(lo + _CHUNK, 2**24 + 1), dtype=np.float32) * np.float32(2.0**-24)
        fast = _log32_all(x)
        np.testing.assert_array_equal(fast.view(np.int32), naive.log32(x).view(np.int32))
        exact = np.log(x.astype(np.float64))
        ulp = np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)
        nz = exact != 0
        assert np.max(np.abs(fast[nz] - exact[nz]) / ulp[nz]) <= 1.0
        assert np.all(fast[x < 1] < 0)
    assert fast[-1] == 0.0 and x[-1] == 1.0


def test_log32_over_the_float32_range():
    rng = np.random.default_rng(0)
    x = np.exp(rng.uniform(-80, 80, 200_000)).astype(np.float32)
    fast = _log32_all(x)
    np.testing.assert_array_equal(fast.view(np.int32), naive.log32(x).view(np.int32))
    exact = np.log(x.astype(np.float64))
    assert np.max(np.abs(fast - exact) / np.maximum(np.abs(exact), 1e-30)) < 2.5e-7


def test_cos2pi32_on_the_24_bit_grid():
    for lo in range(0, 2**24 + 1, _CHUNK):
        u = np.arange(lo, min(lo + _CHUNK, 2**24 + 1), dtype=np.float32) * np.float32(2.0**-24)
        fast = _cos2pi32_all(u)
        np.testing.assert_array_equal(fast.view(np.int32), naive.cos2pi32(u).view(np.int32))
        assert np.max(np.abs(fast - np.cos(2 * np.pi * u.astype(np.float64)))) < 3e-7
        assert np.all(np.abs(fast) <= 1.0)


def test_mutation_normals_distribution():
    """The pooled Box-Muller normals of the mutation (cos and sine halves): bit for
    bit the reference, and N(0, 1) by moments and Kolmogorov-Smirnov."""
    from fastga.kernels.mutation import NORMAL_BLOCK, _draw_normals

    key = _key(4, 2, 9, Purpose.MUTATION)
    n = 100_000 // NORMAL_BLOCK * NORMAL_BLOCK
    z = np.empty(n, dtype=np.float32)
    for g0 in range(0, n, NORMAL_BLOCK):
        _draw_normals(key, g0, np.float32(1.0), z[g0:g0 + NORMAL_BLOCK])
    for g in list(range(130)) + [n - 1]:
        assert z[g] == naive.mutation_normal(int(key), g)
    z = z.astype(np.float64)
    assert np.isfinite(z).all() and np.abs(z).max() < 6.0  # 24-bit u: |N| <= 5.77
    assert abs(z.mean()) < 4 / np.sqrt(n)
    assert abs(z.var() - 1) < 4 * np.sqrt(2 / n)
    assert abs(stats.skew(z)) < 4 * np.sqrt(6 / n)
    assert abs(stats.kurtosis(z)) < 4 * np.sqrt(24 / n)
    assert stats.kstest(z, "norm").pvalue > 1e-4
    # The cos and sine halves of a pair are uncorrelated.
    assert abs(np.corrcoef(z[0::2], z[1::2])[0, 1]) < 4 / np.sqrt(n / 2)
