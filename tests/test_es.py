"""The evolution strategies of fastga.es against their NumPy references, and their contracts.

Each algorithm's first generation is compared with ``tests/naive_es.py``
(the sample bit for bit, the update to float64 rounding), then: the same
bits on 1 and 2 threads, a resumed run identical to an uninterrupted one,
invalid fitness, bad hyperparameters, a solved sphere, and plain vectors
(int specs) in a Population and in the GA.
"""

import numba
import numpy as np
import pytest

from fastga import GeneticAlgorithm, History, NetworkSpec, Population
from fastga.es import PGPE, SNES, OpenES, SepCMAES
from fastga.es.shaping import centered_ranks, nes_utilities, rank_weights
from fastga.evaluation import run_rows
from fastga.kernels.es import BLOCK, CHUNK, sample, sample_totals, weighted_sums
from fastga.registry import Purpose
from fastga.vector import VectorSpec

from . import naive, naive_es

SEED = 11
N, P = 7, 6  # an odd number of parameters: the last one is unpaired


def sphere(shift):
    return lambda pop: -((pop.genomes.astype(np.float64) - shift) ** 2).sum(axis=1)


def tiny_fitness(gen):
    f = np.random.default_rng(gen).standard_normal(P)
    f[1] = np.nan  # invalid: ranks last
    f[4] = f[2]    # a tie
    return f


def _run(cls, n=N, p=P, generations=2, fitness=None, **kw):
    es = cls(n, pop_size=p, random_state=SEED, **kw)
    for g in range(generations + 1):
        pop = es.ask()
        es.tell(tiny_fitness(g) if fitness is None else fitness(pop))
    return es


# ------------------------------------------------------------- shaping
def test_shaping_matches_scipy_ranks_with_ties_and_invalid():
    f = np.array([0.3, -np.inf, 2.0, 0.3, -1.0, -np.inf, 5.0])
    np.testing.assert_allclose(centered_ranks(f), naive_es.centered_ranks(f), rtol=0, atol=1e-15)
    u = nes_utilities(7)
    np.testing.assert_allclose(rank_weights(f, u), naive_es.by_rank(f, u), atol=1e-15)
    assert abs(u.sum()) < 1e-15
    # nothing valid: all tied, equal weights, zero-sum utilities move nothing
    assert np.all(rank_weights(np.full(7, -np.inf), u) == u.mean())


@pytest.mark.parametrize("antithetic,tail", [(True, 77), (False, 77), (False, 3 * BLOCK // 4 + 5)])
def test_kernels_over_several_blocks_match_reference(antithetic, tail):
    n, p = 2 * BLOCK + tail, 4  # two full blocks and an odd tail (in the first or last quarter)
    rng = np.random.default_rng(3)
    mean = rng.standard_normal(n).astype(np.float32)
    scale = rng.random(n).astype(np.float32)
    out = np.zeros((p, n), np.float32)
    run_rows(sample, p // 2 if antithetic else p, out, mean, scale, np.uint64(9), 4, antithetic)
    assert out.tobytes() == naive_es.sample(mean, scale, 9, 4, p, antithetic).tobytes()
    a, b = rng.standard_normal(6), rng.standard_normal(6)  # a pass of four, then two
    s1, s2 = np.empty(n), np.empty(n)
    run_rows(weighted_sums, -(-n // BLOCK), a, b, np.uint64(9), 4, s1, s2)
    r1, r2 = naive_es.weighted_sums(a, b, 9, 4, n)
    assert s1.tobytes() == r1.tobytes() and s2.tobytes() == r2.tobytes()
    s1b = np.empty(n)
    run_rows(weighted_sums, -(-n // BLOCK), a, np.empty(0), np.uint64(9), 4, s1b, np.empty(0))
    assert s1b.tobytes() == s1.tobytes()
    a[[1, 4]], b[1] = 0.0, 0.0  # direction 1 is skipped, direction 4 counts in s2 only
    run_rows(weighted_sums, -(-n // BLOCK), a, b, np.uint64(9), 4, s1, s2)
    r1, r2 = naive_es.weighted_sums(a, b, 9, 4, n)
    assert s1.tobytes() == r1.tobytes() and s2.tobytes() == r2.tobytes()


@pytest.mark.parametrize("p, tail", [(5, 77), (2 * CHUNK + 3, 3 * BLOCK // 4 + 5)])
def test_sample_totals_match_reference(p, tail):
    """The rows are those of :func:`sample`; the chunks' partial totals, added in
    chunk order, are the reference's totals (one chunk: the sums with every
    coefficient 1)."""
    n = 2 * BLOCK + tail
    rng = np.random.default_rng(4)
    mean = rng.standard_normal(n).astype(np.float32)
    scale = rng.random(n).astype(np.float32)
    chunks = -(-p // CHUNK)
    out = np.zeros((p, n), np.float32)
    part1, part2 = np.empty((chunks, n), np.float32), np.empty((chunks, n), np.float32)
    run_rows(sample_totals, chunks, out, mean, scale, np.uint64(9), 4, part1, part2)
    assert out.tobytes() == naive_es.sample(mean, scale, 9, 4, p, False).tobytes()
    t1, t2 = part1[0], part2[0]
    for k in range(1, chunks):
        t1, t2 = t1 + part1[k], t2 + part2[k]
    r1, r2 = naive_es.noise_totals(9, 4, p, n, CHUNK)
    assert t1.astype(np.float64).tobytes() == r1.tobytes()
    assert t2.astype(np.float64).tobytes() == r2.tobytes()
    if p <= CHUNK:
        w1, w2 = naive_es.weighted_sums(np.ones(p), np.ones(p), 9, 4, n)
        assert r1.tobytes() == w1.tobytes() and r2.tobytes() == w2.tobytes()


def test_snes_sums_take_the_shared_utility_out():
    """SNES's worse half shares the utility -1/P: its sums use the noise totals
    (kept from the sampling, or regenerated after a load) and regenerate only the
    better half, and agree with summing every direction to float32 rounding."""
    n, p = 2 * BLOCK + 77, 2 * CHUNK + 6
    es = SNES(n, pop_size=p, random_state=SEED)
    es.ask()
    f = np.random.default_rng(3).standard_normal(p)
    f[7] = np.nan  # ranks last
    u = rank_weights(f, nes_utilities(p))
    assert np.sum(u == u.min()) == p // 2  # the shared value is there
    s1, s2 = es._sums(u, u)
    r1, r2 = naive_es.weighted_sums(u, u, SEED, 0, n)
    np.testing.assert_allclose(s1, r1, rtol=0, atol=1e-6)
    np.testing.assert_allclose(s2, r2, rtol=0, atol=1e-6)
    del es._totals  # as after a load: regenerated, the same bits
    assert [x.tobytes() for x in es._sums(u, u)] == [s1.tobytes(), s2.tobytes()]


# ----------------------------------------------------- one generation each
def _first_two(es, antithetic, scale0):
    """Tell generation 0, return (population 0, fitness 0); checks the sample."""
    pop = es.ask()
    ref = naive_es.sample(es.state_.mean, scale0, SEED, 0, P, antithetic)
    assert pop.genomes.tobytes() == ref.tobytes()
    return pop.genomes.copy()


def _check_next_sample(es, antithetic):
    pop = es.ask()
    ref = naive_es.sample(es.state_.mean, es._scale(), SEED, 1, P, antithetic)
    assert pop.genomes.tobytes() == ref.tobytes()


def test_noise_is_standard_normal_and_uncorrelated():
    n, dirs = 4 * BLOCK, 300
    z = np.empty((dirs, n), np.float32)
    run_rows(sample, dirs, z, np.zeros(n, np.float32), np.ones(n, np.float32), np.uint64(5), 2,
             False)
    x = z.astype(np.float64).ravel()
    assert abs(x.mean()) < 0.01 and abs(x.std() - 1) < 0.01
    assert abs((x ** 4).mean() - 3) < 0.05  # the kurtosis of a normal
    q = BLOCK // 4  # the four normals of one pair of draws are uncorrelated, and so their squares
    for i, j in [(0, q), (0, 2 * q), (q, 3 * q), (0, BLOCK)]:
        assert abs(np.corrcoef(z[:, i:i + q].ravel(), z[:, j:j + q].ravel())[0, 1]) < 0.02
        assert abs(np.corrcoef(z[:, i:i + q].ravel() ** 2, z[:, j:j + q].ravel() ** 2)[0, 1]) < 0.02


#: The update's sums are float32 (bit for bit as ``naive_es.weighted_sums``, above); the
#: references sum the same noise in float64, so they agree to float32 rounding.
CLOSE = dict(rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("antithetic", [True, False])
def test_openes_one_generation_matches_reference(antithetic):
    kw = dict(sigma=0.3, learning_rate=0.05, beta1=0.8, beta2=0.9, eps=1e-6, weight_decay=0.01)
    es = OpenES(N, pop_size=P, random_state=SEED, antithetic=antithetic, center_init=0.5, **kw)
    _first_two(es, antithetic, np.full(N, 0.3))
    mean0 = es.state_.mean.copy()
    f = tiny_fitness(0)
    es.tell(f)
    Z = naive_es.row_noise(SEED, 0, P, N, antithetic)
    mean, m, v = naive_es.openes_step(mean0, np.zeros(N), np.zeros(N), 1, f, Z, 0.3, 0.05, 0.8,
                                      0.9, 1e-6, 0.01)
    np.testing.assert_allclose(es.state_.mean, mean, **CLOSE)
    np.testing.assert_allclose(es.state_.m, m, **CLOSE)
    np.testing.assert_allclose(es.state_.v, v, **CLOSE)
    np.testing.assert_allclose(es.mean_, mean, **CLOSE)
    _check_next_sample(es, antithetic)


def test_pgpe_one_generation_matches_reference():
    es = PGPE(N, pop_size=P, random_state=SEED, sigma=0.2, learning_rate=0.1, momentum=0.5,
              sigma_learning_rate=0.3, sigma_max_change=0.1, max_speed=0.15,
              center_init=np.linspace(-1, 1, N))
    _first_two(es, True, np.full(N, 0.2))
    mean0, sigma0 = es.state_.mean.copy(), es.state_.sigma.copy()
    f = tiny_fitness(0)
    es.tell(f)
    Z = naive_es.row_noise(SEED, 0, P, N, True)
    mean, sigma, vel = naive_es.pgpe_step(mean0, sigma0, np.zeros(N), f, Z, 0.1, 0.15, 0.5, 0.3,
                                          0.1)
    np.testing.assert_allclose(es.state_.mean, mean, **CLOSE)
    np.testing.assert_allclose(es.state_.sigma, sigma, **CLOSE)
    np.testing.assert_allclose(es.state_.velocity, vel, **CLOSE)
    _check_next_sample(es, True)


def test_snes_one_generation_matches_reference():
    es = SNES(N, pop_size=P, random_state=SEED, sigma=0.4, learning_rate=0.7, center_init=0.2)
    _first_two(es, False, np.full(N, 0.4))
    mean0, sigma0 = es.state_.mean.copy(), es.state_.sigma.copy()
    f = tiny_fitness(0)
    es.tell(f)
    Z = naive_es.row_noise(SEED, 0, P, N, False)
    rate = (3 + np.log(N)) / (5 * np.sqrt(N))
    mean, sigma = naive_es.snes_step(mean0, sigma0, f, Z, 0.7, rate)
    np.testing.assert_allclose(es.state_.mean, mean, **CLOSE)
    np.testing.assert_allclose(es.state_.sigma, sigma, **CLOSE)
    _check_next_sample(es, False)


def test_sepcmaes_two_generations_match_reference():
    es = SepCMAES(N, pop_size=P, random_state=SEED, sigma=0.5, center_init=-0.3)
    _first_two(es, False, np.full(N, 0.5 * np.sqrt(1 + 1e-8)))
    st = es.state_
    ref = (st.mean.copy(), st.step, st.p_sigma.copy(), st.p_c.copy(), st.C.copy())
    for g in range(2):
        f = tiny_fitness(g)
        es.tell(f)
        Z = naive_es.row_noise(SEED, g, P, N, False)
        ref = naive_es.sepcma_step(*ref, f, Z, g)
        st = es.state_
        for got, want in zip((st.mean, st.step, st.p_sigma, st.p_c, st.C), ref):
            np.testing.assert_allclose(got, want, **CLOSE)
        if g == 0:
            _check_next_sample(es, False)


# ------------------------------------------------------------ contracts
ALL = [(OpenES, {}), (PGPE, {}), (SNES, {}), (SepCMAES, {})]


def _bits(es):
    out = [es.population_.genomes.tobytes(), es.best_genome_.tobytes()]
    for k, v in sorted(vars(es.state_).items()):
        out.append(np.asarray(v).tobytes())
    out += [np.asarray(es.history_[k]).tobytes() for k in es.history_.keys() if k not in History.TIMING]
    return out


@pytest.mark.parametrize("cls,kw,p", [(c, k, 10) for c, k in ALL] + [(SNES, {}, 3 * CHUNK + 6)])
def test_same_bits_on_one_and_two_threads(cls, kw, p):
    """(SNES with several chunks of directions: the noise totals' partial sums
    shared out over the threads.)"""
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs NUMBA_NUM_THREADS >= 2")
    before = numba.get_num_threads()
    try:
        results = []
        for t in (1, 2):
            numba.set_num_threads(t)
            results.append(_bits(_run(cls, n=2 * BLOCK + 77, p=p, generations=3,
                                      fitness=sphere(0.5), **kw)))
    finally:
        numba.set_num_threads(before)
    assert results[0] == results[1]


@pytest.mark.parametrize("cls,kw", ALL)
def test_resume_is_bit_identical(cls, kw, tmp_path):
    fit = sphere(0.3)
    whole = cls(9, pop_size=8, random_state=3, **kw).run(fit, 6)
    part = cls(9, pop_size=8, random_state=3, **kw).run(fit, 2)
    part.save(tmp_path / "es.npz")
    resumed = cls.load(tmp_path / "es.npz")
    assert type(resumed.state_) is type(whole.state_)
    resumed.run(fit, 4)
    assert _bits(resumed) == _bits(whole)
    assert np.array_equal(resumed.mean_, whole.mean_)


@pytest.mark.parametrize("cls,kw", [(OpenES, dict(learning_rate=0.05)),
                                    (PGPE, dict(learning_rate=0.02)), (SNES, {}), (SepCMAES, {})])
def test_shifted_sphere_is_solved(cls, kw):
    shift = np.linspace(-1, 1, 10)
    es = cls(10, pop_size=20, sigma=0.3, random_state=0, **kw).run(sphere(shift), 400)
    assert np.abs(es.mean_ - shift).max() < 0.05  # the center: OpenES' spread stays 0.3
    assert es.best_fitness_ > es.history_["best_fitness"][0] + 1.0


@pytest.mark.parametrize("cls,kw", ALL)
def test_invalid_fitness_never_poisons_the_distribution(cls, kw):
    es = cls(N, pop_size=P, random_state=1, **kw)
    es.ask()
    mean0, scale0 = es.state_.mean.copy(), es._scale().copy()
    rec = es.tell(np.full(P, np.nan))
    assert rec["n_invalid"] == P
    np.testing.assert_array_equal(es.state_.mean, mean0)  # nothing valid: no move
    np.testing.assert_array_equal(es._scale(), scale0)
    for g in range(5):
        es.ask()
        f = np.arange(P, dtype=float)
        f[g % P] = [np.nan, np.inf, -np.inf][g % 3]
        es.tell(f)
        assert np.isfinite(es.state_.mean).all() and np.isfinite(es._scale()).all()
        assert (es._scale() > 0).all()
    assert np.isfinite(es.best_fitness_)


@pytest.mark.parametrize("cls,kw,name", [
    (OpenES, dict(pop_size=7), "pop_size"),
    (PGPE, dict(pop_size=5), "pop_size"),
    (SNES, dict(pop_size=1), "pop_size"),
    (OpenES, dict(sigma=0.0), "sigma"),
    (SepCMAES, dict(sigma=np.inf), "sigma"),
    (OpenES, dict(learning_rate=-1.0), "learning_rate"),
    (OpenES, dict(beta1=1.0), "beta1"),
    (OpenES, dict(beta2=-0.1), "beta2"),
    (OpenES, dict(weight_decay=-0.1), "weight_decay"),
    (OpenES, dict(antithetic="yes"), "antithetic"),
    (PGPE, dict(max_speed=0.0), "max_speed"),
    (PGPE, dict(momentum=1.5), "momentum"),
    (PGPE, dict(sigma_max_change=1.0), "sigma_max_change"),
    (SNES, dict(sigma_learning_rate=0.0), "sigma_learning_rate"),
    (SNES, dict(center_init=[1.0, 2.0]), "center_init"),
    (SepCMAES, dict(center_init=np.nan), "center_init"),
    (SepCMAES, dict(patience=0), "patience"),
])
def test_bad_hyperparameters_raise_naming_them(cls, kw, name):
    with pytest.raises((ValueError, TypeError), match=name):
        cls(N, random_state=0, **kw).ask()


def test_networks_start_from_glorot_and_resume_spec(tmp_path):
    spec = NetworkSpec([4, 5, 3], ["tanh", "softmax"])
    es = OpenES(spec, pop_size=8, random_state=2)
    pop = es.ask()
    assert pop.genomes.shape == (8, spec.n_params)
    glorot = Population.random(spec, 1, random_state=es.state_.seed, init="glorot").genomes[0]
    np.testing.assert_array_equal(es.mean_, glorot)
    assert pop.forward(np.ones((2, 4), np.float32)).shape == (8, 2, 3)
    es.tell(np.arange(8.0))
    assert es.best_network().spec == spec
    es.save(tmp_path / "n.npz")
    assert OpenES.load(tmp_path / "n.npz").population_.spec == spec


def test_initial_population_sets_the_center():
    genomes = np.random.default_rng(0).standard_normal((4, N)).astype(np.float32)
    es = SNES(N, pop_size=P, random_state=0)
    es.initialize(Population(N, genomes))
    np.testing.assert_allclose(es.state_.mean, genomes.astype(np.float64).mean(axis=0))


# -------------------------------------------------------- plain vectors
def test_int_spec_population_has_no_network():
    pop = Population.random(5, 3, random_state=4, init="uniform", scale=0.3)
    assert pop.spec == VectorSpec(5) and pop.genomes.shape == (3, 5)
    for i in range(3):  # every gene drawn: U(-scale, scale) from the INIT stream
        key = naive.stream_key(4, 0, i, Purpose.INIT)
        want = [(2.0 * naive.random_uniform(key, k) - 1.0) * 0.3 for k in range(5)]
        np.testing.assert_array_equal(pop.genomes[i], np.asarray(want, dtype=np.float32))
    with pytest.raises(TypeError, match="plain vector"):
        pop.forward(np.zeros((2, 5), np.float32))
    with pytest.raises(TypeError, match="plain vector"):
        pop.network(0)
    es = OpenES(5, pop_size=4, random_state=0)
    es.tell(np.zeros(4)) if es.ask() is not None else None
    with pytest.raises(TypeError, match="plain vector"):
        es.best_network()
    with pytest.raises(TypeError, match="plain vector"):
        es.run(sphere(0.0), 1, inputs=np.zeros((2, 5), np.float32))


def test_neuron_crossover_acts_per_gene_on_vectors():
    from .kernel_drivers import crossover_neuron

    spec = VectorSpec(40)
    rng = np.random.default_rng(0)
    parents = rng.standard_normal((4, 40)).astype(np.float32)
    children = np.zeros((6, 40), np.float32)
    p1 = np.array([0, 1, 2, 3, 0, 1], np.int64)
    p2 = np.array([1, 2, 3, 0, 2, 3], np.int64)
    rows = np.arange(6, dtype=np.int64)
    crossover_neuron(parents, children, p1, p2, rows, np.uint64(5), 1, spec.sizes_array,
                     spec.w_offsets, spec.b_offsets, 1.0, 1.0)
    want = naive.crossover_neuron(parents, np.zeros_like(children), p1, p2, rows, 5, 1,
                                  (0, 40), 1.0, 1.0)
    np.testing.assert_array_equal(children, want)
    from_b = children == parents[p2]
    assert ((from_b[:, 1:] != from_b[:, :-1]).sum(axis=1) > 2).any()  # genes mix singly


def test_ga_on_int_spec_fills_every_gene_and_solves_a_sphere(tmp_path):
    shift = np.linspace(-0.1, 0.1, 8)
    ga = GeneticAlgorithm(8, pop_size=30, crossover="neuron", random_state=0)
    pop = ga.ask()
    assert pop.genomes.shape == (30, 8)
    assert (pop.genomes != 0).all() and np.unique(pop.genomes).size == pop.genomes.size
    first = ga.tell(sphere(shift)(pop))["best_fitness"]
    ga.run(sphere(shift), 40)
    assert ga.best_fitness_ > first
    ga.save(tmp_path / "ga.npz")
    again = GeneticAlgorithm.load(tmp_path / "ga.npz")
    assert again.population_.spec == VectorSpec(8)
    np.testing.assert_array_equal(again.best_genome_, ga.best_genome_)


def test_replace_counts_for_the_best_and_keeps_the_update():
    es = PGPE(N, pop_size=P, random_state=2)
    es.ask()
    es.tell(np.zeros(P))
    mean = es.state_.mean.copy()
    es.replace([3], np.full((1, N), 0.25, np.float32), fitness=[5.0])
    assert es.best_fitness_ == 5.0 and (es.best_genome_ == 0.25).all()
    np.testing.assert_array_equal(es.state_.mean, mean)  # told already: the update stays
    assert es.ask().generation == 1


@pytest.mark.parametrize("cls,kw", [(OpenES, {}), (OpenES, dict(antithetic=False)), (PGPE, {}),
                                    (SNES, {}), (SepCMAES, {})])
def test_mirrored_generations_are_marked_with_their_center(cls, kw):
    es = cls(N, pop_size=P, random_state=SEED, **kw)
    for g in range(2):
        pop = es.ask()
        if es._antithetic():
            np.testing.assert_array_equal(pop.mirror_center, es.state_.mean.astype(np.float32))
            z = pop.genomes[0::2].astype(np.float64) - pop.mirror_center
            np.testing.assert_allclose(pop.genomes[1::2] - pop.mirror_center, -z, atol=1e-6)
        else:
            assert pop.mirror_center is None
        es.tell(tiny_fitness(g))


def test_replace_and_resume_keep_the_mark_right(tmp_path):
    """replace() clears the mark; a saved, untold generation gets it back on load
    only if its rows are still the sample; a fitness that uses the mark resumes
    bit for bit."""
    from fastga import SupervisedFitness

    rng = np.random.default_rng(0)
    X = rng.standard_normal((70, 5)).astype(np.float32)
    fit = SupervisedFitness(X, rng.integers(0, 3, 70))
    spec = NetworkSpec([5, 6, 3], ["relu", "softmax"])
    whole = PGPE(spec, pop_size=8, random_state=4).run(fit, 2)
    whole.ask()
    whole.run(fit, 3)
    part = PGPE(spec, pop_size=8, random_state=4).run(fit, 2)
    part.ask()  # an untold generation, marked
    part.save(tmp_path / "a.npz")
    resumed = PGPE.load(tmp_path / "a.npz")
    np.testing.assert_array_equal(resumed.population_.mirror_center, part.population_.mirror_center)
    resumed.run(fit, 3)
    assert _bits(resumed) == _bits(whole)
    part.replace([0], np.zeros((1, spec.n_params), np.float32))
    assert part.population_.mirror_center is None
    part.save(tmp_path / "b.npz")
    assert PGPE.load(tmp_path / "b.npz").population_.mirror_center is None
