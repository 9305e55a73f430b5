"""Statistical tests of the operators (fixed seeds, so they are deterministic).

Thresholds are about 4 standard errors, or p > 1e-4 for chi-square and
Kolmogorov-Smirnov tests, so a correct operator passes for any seed with
overwhelming probability while a biased one (e.g. mutating only element 0,
or taking half-neurons) fails.
"""

import numpy as np
import pytest
from scipy import stats

from fastga.ga import GeneticAlgorithm
from fastga.population import Population
from fastga.selection import n_survivors, preference_probabilities
from fastga.spec import NetworkSpec
from fastga.validation import check_type_probs

from . import naive
from .kernel_drivers import crossover_neuron, crossover_single_point, crossover_uniform, mutate

SPEC = NetworkSpec([6, 5, 4], ["relu", "softmax"])  # 35 + 24 = 59 parameters


def _genomes(P, n, seed=0):
    """Distinct, non-zero values, so every operator's effect is visible."""
    rng = np.random.default_rng(seed)
    g = rng.uniform(0.5, 1.5, size=(P, n)) * rng.choice([-1.0, 1.0], size=(P, n))
    return g.astype(np.float32)


def _mutate(genomes, rate, type_probs, seed=3, generation=1, shift_max=2.0, swap_max=2.0,
            sigma=0.1):
    g = genomes.copy()
    rows = np.arange(g.shape[0], dtype=np.int64)
    counts = np.empty(g.shape[0], dtype=np.int64)
    mutate(g, rows, np.uint64(seed), generation, float(rate), check_type_probs(type_probs),
           float(shift_max), float(swap_max), float(sigma), counts)
    return g, counts


# ---------------------------------------------------------------- mutation
@pytest.mark.parametrize("rate", [0.01, 0.1, 0.5])
def test_mutation_hits_about_rate_times_n(rate):
    P, n = 2000, SPEC.n_params
    g0 = _genomes(P, n)
    g, counts = _mutate(g0, rate, (0.0, 1.0, 0.0))  # sign flips only: every hit is visible
    changed = (g != g0).sum(axis=1)
    np.testing.assert_array_equal(changed, counts)
    total, N = counts.sum(), P * n
    assert abs(total - rate * N) < 4 * np.sqrt(N * rate * (1 - rate))
    # Per child the count is Binomial(n, rate): its variance too.
    assert abs(counts.var() / (n * rate * (1 - rate)) - 1) < 0.15


def test_mutation_spreads_uniformly_over_positions():
    """Chi-square on hit counts per position, over 3 seeds (fixed), 3000 children each."""
    P, n, rate = 3000, SPEC.n_params, 0.05
    g0 = _genomes(P, n)
    hits = np.zeros(n)
    for seed in (1, 2, 3):
        g, _ = _mutate(g0, rate, (0.0, 1.0, 0.0), seed=seed)
        hits += (g != g0).sum(axis=0)
    assert stats.chisquare(hits).pvalue > 1e-4
    # The first and last positions are hit as often as any other.
    expected = 3 * P * rate
    for pos in (0, n - 1):
        assert abs(hits[pos] - expected) < 4 * np.sqrt(expected)


@pytest.mark.parametrize("rate", [0.002, 0.1, 0.7])
def test_mutation_gaps_are_geometric(rate):
    """Gaps between mutated positions (float32 polynomial log of a 24-bit
    uniform): chi-square against Geometric(rate) on 0, 1, ... with the tail lumped."""
    n = 20_000
    P = max(4, int(40_000 / (rate * n)))
    g0 = _genomes(P, n)
    g, counts = _mutate(g0, rate, (0.0, 1.0, 0.0), seed=8)
    gaps = []
    for r in range(P):
        hit = np.flatnonzero(g[r] != g0[r])
        gaps.append(np.diff(np.concatenate(([-1], hit))) - 1)
    gaps = np.concatenate(gaps)
    k_max = int(np.log(1e-3) / np.log1p(-rate))  # cells of expected count >= ~40
    pmf = rate * (1 - rate) ** np.arange(k_max)
    expected = np.append(pmf, 1 - pmf.sum()) * gaps.size
    observed = np.bincount(np.minimum(gaps, k_max), minlength=k_max + 1)
    assert stats.chisquare(observed, expected).pvalue > 1e-4


def test_mutation_type_frequencies_follow_type_probs():
    """shift_max=0 makes a shift give 0, sigma=0 leaves a gaussian hit unchanged,
    a sign flip gives -w and a swap a value of U[-1000, 1000): the four are told apart."""
    P, n = 400, SPEC.n_params
    probs = np.array([0.45, 0.25, 0.2, 0.1])
    g0 = _genomes(P, n)
    g, counts = _mutate(g0, 1.0, probs, shift_max=0.0, swap_max=1000.0, sigma=0.0)
    assert (counts == n).all()
    shift = g == 0
    sign = g == -g0
    gauss = g == g0
    swap = ~(shift | sign | gauss)
    observed = np.array([shift.sum(), sign.sum(), swap.sum(), gauss.sum()])
    assert observed.sum() == P * n
    assert stats.chisquare(observed, probs * P * n).pvalue > 1e-4
    assert np.abs(g[swap]).max() <= 1000.0


def test_mutation_three_type_probs_never_gaussian():
    g0 = _genomes(300, SPEC.n_params)
    g, _ = _mutate(g0, 1.0, (0.5, 0.5, 0.0), shift_max=0.0, sigma=5.0)
    assert np.all((g == 0) | (g == -g0))


def test_mutation_value_distributions():
    P, n = 300, SPEC.n_params
    g0 = _genomes(P, n)
    # shift: w * U[0, shift_max)
    g, _ = _mutate(g0, 1.0, (1.0, 0.0, 0.0), shift_max=3.0)
    ratio = (g / g0).ravel()
    assert ratio.min() >= 0 and ratio.max() < 3.0 + 1e-6
    assert stats.kstest(ratio / 3.0, "uniform").pvalue > 1e-4
    # swap: U[-swap_max, swap_max)
    g, _ = _mutate(g0, 1.0, (0.0, 0.0, 1.0), swap_max=0.7)
    assert stats.kstest((g.ravel() + 0.7) / 1.4, "uniform").pvalue > 1e-4
    # gaussian: w + N(0, sigma)
    g, _ = _mutate(g0, 1.0, (0.0, 0.0, 0.0, 1.0), sigma=0.25)
    delta = (g.astype(np.float64) - g0).ravel() / 0.25
    assert stats.kstest(delta, "norm").pvalue > 1e-4


def test_mutation_independent_of_row_order():
    """A child's mutation depends on its own stream only (not on the other rows)."""
    g0 = _genomes(20, SPEC.n_params)
    all_rows, _ = _mutate(g0, 0.2, (0.3, 0.3, 0.2, 0.2))
    g = g0.copy()
    counts = np.empty(1, dtype=np.int64)
    mutate(g, np.array([13], dtype=np.int64), np.uint64(3), 1, 0.2,
           check_type_probs((0.3, 0.3, 0.2, 0.2)), 2.0, 2.0, 0.1, counts)
    np.testing.assert_array_equal(g[13], all_rows[13])


# --------------------------------------------------------------- crossover
def _neuron_crossover(P, max_crossover, crossover_prob, seed=5):
    n = SPEC.n_params
    rng = np.random.default_rng(seed)
    parents = _genomes(2 * P, n, seed=seed)
    children = np.zeros((P, n), dtype=np.float32)
    p1 = np.arange(P, dtype=np.int64)
    p2 = np.arange(P, 2 * P, dtype=np.int64)
    rows = rng.permutation(P).astype(np.int64)
    crossover_neuron(parents, children, p1, p2, rows, np.uint64(seed), 2, SPEC.sizes_array,
                     SPEC.w_offsets, SPEC.b_offsets, float(max_crossover), float(crossover_prob))
    # child rows[r] was bred from p1[r], p2[r]
    out = np.empty_like(children)
    out[np.arange(P)] = children[rows]
    return parents[p1], parents[p2], out


def test_neuron_crossover_keeps_each_neuron_whole():
    a, b, c = _neuron_crossover(500, max_crossover=1.0, crossover_prob=1.0)
    from_b = np.zeros((c.shape[0], len(naive.neuron_slices(SPEC.sizes))), dtype=bool)
    for k, (w_idx, b_idx) in enumerate(naive.neuron_slices(SPEC.sizes)):
        idx = np.append(w_idx, b_idx)
        all_a = (c[:, idx] == a[:, idx]).all(axis=1)
        all_b = (c[:, idx] == b[:, idx]).all(axis=1)
        assert np.all(all_a ^ all_b), f"neuron {k} is split between parents"
        from_b[:, k] = all_b
    # Both parents contribute, and mixed children exist.
    assert from_b.any() and (~from_b).any()
    assert (from_b.any(axis=1) & (~from_b).any(axis=1)).mean() > 0.5


@pytest.mark.parametrize("max_crossover,prob", [(0.5, 1.0), (1.0, 0.6), (0.2, 0.5)])
def test_neuron_crossover_share_from_parent_two(max_crossover, prob):
    """E[share of neurons from p2] = crossover_prob * max_crossover / 2."""
    P = 4000
    a, b, c = _neuron_crossover(P, max_crossover, prob, seed=7)
    neurons = naive.neuron_slices(SPEC.sizes)
    bias_idx = np.array([bi for _, bi in neurons])
    share = (c[:, bias_idx] == b[:, bias_idx]).mean(axis=1)  # per child
    expected = prob * max_crossover / 2
    assert abs(share.mean() - expected) < 4 * share.std() / np.sqrt(P)
    # Children that are not crossovers are exact copies of p1: share 1 - prob.
    copies = (c == a).all(axis=1).mean()
    assert copies >= (1 - prob) - 4 * np.sqrt(prob * (1 - prob) / P)


def test_single_point_crossover_is_prefix_plus_suffix():
    P, n = 3000, SPEC.n_params
    parents = _genomes(2 * P, n, seed=1)
    children = np.zeros((P, n), dtype=np.float32)
    p1 = np.arange(P, dtype=np.int64)
    p2 = p1 + P
    crossover_single_point(parents, children, p1, p2, p1.copy(), np.uint64(1), 0, 0.7)
    from_b = children == parents[p2]
    assert np.all(from_b | (children == parents[p1]))
    split = n - from_b.sum(axis=1)
    for r in range(P):  # genes [0, split) from p1, [split, n) from p2
        assert not from_b[r, : split[r]].any() and from_b[r, split[r]:].all()
    crossed = split < n
    assert abs(crossed.mean() - 0.7) < 4 * np.sqrt(0.21 / P)
    assert split[crossed].min() >= 1
    counts = np.bincount(split[crossed], minlength=n)[1:n]  # split uniform on [1, n-1]
    assert stats.chisquare(counts).pvalue > 1e-4


def test_uniform_crossover_share():
    P, n = 2000, SPEC.n_params
    parents = _genomes(2 * P, n, seed=2)
    children = np.zeros((P, n), dtype=np.float32)
    p1 = np.arange(P, dtype=np.int64)
    crossover_uniform(parents, children, p1, p1 + P, p1.copy(), np.uint64(2), 0, 1.0)
    from_b = children == parents[p1 + P]
    assert np.all(from_b | (children == parents[p1]))
    assert abs(from_b.mean() - 0.5) < 4 * np.sqrt(0.25 / (P * n))
    assert stats.chisquare(from_b.sum(axis=0)).pvalue > 1e-4  # every gene alike


# --------------------------------------------------------------- selection
def _one_generation(P, fitness_values, **params):
    """Run one breeding step with identity-preserving settings; return
    (gen-0 genomes, gen-1 genomes)."""
    spec = NetworkSpec([2, 2], ["linear"])
    g0 = _genomes(P, spec.n_params, seed=11)
    g0[:, 0] = np.arange(P)  # genome i carries its index
    seen = []

    def fitness(pop):
        seen.append(pop.genomes.copy())
        return fitness_values

    settings = dict(pop_size=P, die_off_rate=0.5, crossover="none", mutation_rate=0.0, mutation_rate_cap=0.0,
                    mutation_rate_increase=0.0, random_state=0)
    settings.update(params)
    ga = GeneticAlgorithm(spec, **settings)
    ga.run(fitness, generations=1, population=Population(spec, g0))
    return seen[0], seen[1]


def test_elitism_copies_the_best_unchanged():
    P, k = 30, 4
    rng = np.random.default_rng(0)
    f = rng.standard_normal(P)
    f[3] = np.nan
    f[7] = np.inf
    before, after = _one_generation(P, f, elitism=k, mutation_rate=0.5, mutation_rate_cap=0.5,
                                    crossover="neuron")
    best = naive.rank_order(f)[:k]
    np.testing.assert_array_equal(after[:k], before[best])
    assert 3 not in best and 7 not in best


@pytest.mark.parametrize("die_off_rate", [0.0, 0.3, 0.5, 0.9])
def test_die_off_removes_exactly_the_worst_share(die_off_rate):
    P = 40
    rng = np.random.default_rng(1)
    f = rng.standard_normal(P)
    before, after = _one_generation(P, f, die_off_rate=die_off_rate, elitism=0,
                                    fitness_pref=0.0)
    parent = after[:, 0].astype(int)  # crossover none, no mutation: child == parent
    np.testing.assert_array_equal(after, before[parent])
    keep = n_survivors(P, die_off_rate)
    assert keep == naive.n_survivors(P, die_off_rate)
    assert keep == P - int(np.floor(P * die_off_rate + 1e-9)) or keep == 2
    survivors = set(naive.rank_order(f)[:keep].tolist())
    assert set(parent.tolist()) <= survivors
    # With 40 children drawn uniformly from the survivors, most of them mate.
    assert len(set(parent.tolist())) >= min(keep, 5)


def test_preference_mating_favours_fitter_survivors():
    P, m = 400, 3.0
    f = np.linspace(-2.0, 1.0, P)
    before, after = _one_generation(P, f, die_off_rate=0.5, elitism=0, fitness_pref=m)
    parent = after[:, 0].astype(int)
    keep = n_survivors(P, 0.5)
    order = naive.rank_order(f)[:keep]
    counts = np.array([(parent == i).sum() for i in order])
    p = naive.preference_probabilities(f[order], m)
    # Fitter survivors (first in order) are drawn more often, as P_i says.
    top, bottom = counts[: keep // 4].sum(), counts[-keep // 4:].sum()
    assert top > 3 * bottom
    assert abs(top - P * p[: keep // 4].sum()) < 4 * np.sqrt(P * p[: keep // 4].sum())
    assert stats.spearmanr(f[order], counts).statistic > 0.5


def test_preference_probabilities_shape_the_draws():
    """rng draws from select_preference follow P_i (chi-square)."""
    from fastga.selection import select_preference

    f = np.array([3.0, 1.0, -2.0, 0.5, np.nan, 2.0])
    p = preference_probabilities(f, 2.0)
    a, b = select_preference(f, 20000, 2.0, np.random.default_rng(3))
    for draws in (a, b):
        counts = np.bincount(draws, minlength=6)
        assert counts[4] == 0
        finite = p > 0
        assert stats.chisquare(counts[finite], 20000 * p[finite]).pvalue > 1e-4
