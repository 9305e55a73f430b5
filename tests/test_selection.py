"""The pure selection functions of fastga.selection."""

import numpy as np
import pytest
from scipy import stats

from fastga.selection import (
    n_survivors,
    preference_probabilities,
    rank_order,
    select_preference,
    select_tournament,
)

from . import naive


def test_rank_order_best_first_nonfinite_last_ties_stable():
    f = np.array([0.5, np.nan, 2.0, -np.inf, 2.0, np.inf, -1.0])
    order = rank_order(f)
    assert order.tolist() == [2, 4, 0, 6, 1, 3, 5]
    np.testing.assert_array_equal(order, naive.rank_order(f))


@pytest.mark.parametrize("seed", range(5))
def test_rank_order_matches_reference(seed):
    rng = np.random.default_rng(seed)
    f = np.round(rng.standard_normal(50), 1)  # many ties
    f[rng.random(50) < 0.1] = np.nan
    f[rng.random(50) < 0.05] = np.inf
    np.testing.assert_array_equal(rank_order(f), naive.rank_order(f))


def test_rank_order_does_not_modify_input():
    f = np.array([1.0, np.nan, 3.0])
    rank_order(f)
    assert np.isnan(f[1]) and f[2] == 3.0


@pytest.mark.parametrize("size", [2, 3, 10, 101, 500])
@pytest.mark.parametrize("rate", [0.0, 0.1, 0.25, 0.5, 0.7, 0.99, 1.0])
def test_n_survivors(size, rate):
    keep = n_survivors(size, rate)
    assert keep == naive.n_survivors(size, rate)
    assert 2 <= keep <= size
    if rate == 0.0:
        assert keep == size
    # die_off_rate is the share that DIES (not, as in 004, the share that lives)
    if size == 10 and rate == 0.7:
        assert keep == 3


def test_preference_probabilities_basic_properties():
    f = np.array([-3.0, 0.0, 1.0, 5.0])
    p = preference_probabilities(f, 1.0)
    assert p.sum() == pytest.approx(1.0)
    assert np.all(np.diff(p) > 0)  # fitter, likelier
    np.testing.assert_allclose(p, naive.preference_probabilities(f, 1.0), rtol=1e-12)
    # The worst keeps a small chance: F = 0.01 at the minimum.
    assert p[0] == pytest.approx(0.01 / (0.01 + (0.01 + 0.99 * 3 / 8) + (0.01 + 0.99 * 4 / 8) + 1.0))


@pytest.mark.parametrize("m", [0.0, 0.5, 1.0, 3.0, 50.0, 1e6])
def test_preference_probabilities_exponent(m):
    rng = np.random.default_rng(int(m) % 7)
    f = rng.standard_normal(12)
    p = preference_probabilities(f, m)
    assert np.isfinite(p).all() and p.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(p, naive.preference_probabilities(f, m), rtol=1e-9, atol=1e-300)
    if m == 0.0:
        np.testing.assert_allclose(p, 1 / 12)
    if m >= 50:
        assert p[np.argmax(f)] > 0.5


def test_preference_probabilities_nonfinite_and_degenerate():
    p = preference_probabilities(np.array([1.0, np.nan, np.inf, -np.inf, 2.0]), 2.0)
    assert p[1] == p[2] == p[3] == 0.0 and p.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(preference_probabilities(np.full(4, 7.0), 3.0), 0.25)
    np.testing.assert_allclose(preference_probabilities(np.full(3, np.nan), 1.0), 1 / 3)
    p = preference_probabilities(np.array([np.nan, 4.0, 4.0]), 1.0)
    np.testing.assert_allclose(p, [0.0, 0.5, 0.5])


def test_select_preference_reproducible_and_in_range():
    f = np.arange(10.0)
    a1, b1 = select_preference(f, 100, 1.0, np.random.default_rng(0))
    a2, b2 = select_preference(f, 100, 1.0, np.random.default_rng(0))
    np.testing.assert_array_equal(a1, a2)
    np.testing.assert_array_equal(b1, b2)
    assert a1.dtype == np.int64 and a1.min() >= 0 and a1.max() < 10
    assert not np.array_equal(a1, b1)


def test_tournament_selection_distribution():
    """The winner is the best of k uniform entrants: the i-th best (of n) wins
    with probability ((n - i + 1)^k - (n - i)^k) / n^k."""
    n, k, draws = 8, 3, 40000
    rng = np.random.default_rng(4)
    f = rng.permutation(n).astype(float)
    a, _ = select_tournament(f, draws, k, np.random.default_rng(5))
    order = naive.rank_order(f)
    counts = np.array([(a == i).sum() for i in order])
    i = np.arange(1, n + 1)
    p = ((n - i + 1.0) ** k - (n - i) ** k) / n ** k
    assert stats.chisquare(counts, draws * p).pvalue > 1e-4


def test_tournament_never_picks_nan_over_finite():
    f = np.array([np.nan, 1.0, np.nan, np.inf])
    a, b = select_tournament(f, 2000, 4, np.random.default_rng(0))
    # With 4 entrants, a NaN or inf wins only if all four are NaN/inf.
    share = np.isin(np.concatenate([a, b]), [0, 2, 3]).mean()
    assert share < 0.75 ** 4 + 0.05
    a, _ = select_tournament(np.array([0.0, 5.0]), 100, 50, np.random.default_rng(0))
    assert (a == 1).all()
