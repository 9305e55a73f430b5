"""The generic driver GeneticAlgorithm: runs, history, adaptive rate, stopping."""

import numpy as np
import pytest

import fastga.ga as ga_module
from fastga import GeneticAlgorithm, History, NetworkSpec, Population, SupervisedFitness

from . import naive

SPEC = NetworkSpec([3, 4, 2], ["relu", "softmax"])


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3)).astype(np.float32)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.int64)
    return X, y


def _ga(**kw):
    params = dict(pop_size=12, random_state=0)
    params.update(kw)
    return GeneticAlgorithm(SPEC, **params)


class Scripted:
    """A fitness whose best value per call follows a script (all individuals
    but one get ``-1`` less)."""

    def __init__(self, bests):
        self.bests = list(bests)
        self.calls = 0

    def __call__(self, pop):
        b = self.bests[min(self.calls, len(self.bests) - 1)]
        self.calls += 1
        f = np.full(pop.size, b - 1.0)
        f[0] = b
        return f


# ------------------------------------------------------------------ runs
def test_run_history_and_best():
    X, y = _data()
    fit = SupervisedFitness(X, y)
    ga = _ga().run(fit, generations=5)
    h = ga.history_
    assert isinstance(h, History) and len(h) == 6
    for col in ("generation", "best_fitness", "mean_fitness", "fitness_variance",
                "mutation_rate", "seconds", "n_invalid", "best_accuracy", "prediction_variance"):
        assert col in h.keys(), col
        assert h[col].dtype == np.float64 and h[col].shape == (6,)
    np.testing.assert_array_equal(h["generation"], np.arange(6))
    assert (h["seconds"] > 0).all()
    assert ga.best_fitness_ == h["best_fitness"].max()
    assert (h["mean_fitness"] <= h["best_fitness"]).all()
    # best_genome_ really scores best_fitness_ (full-batch fitness is deterministic)
    pop = Population(SPEC, ga.best_genome_[None, :])
    assert fit(pop)[0] == ga.best_fitness_
    np.testing.assert_array_equal(ga.best_network().genome, ga.best_genome_)
    assert ga.population_.generation == 5 and ga.state_.stopped is None


def test_elitism_makes_the_best_monotone_and_the_ga_learns():
    X, y = _data(80)
    fit = SupervisedFitness(X, y)
    ga = _ga(pop_size=30, elitism=2, type_probs=(0.2, 0.1, 0.1, 0.6)).run(fit, generations=15)
    best = ga.history_["best_fitness"]
    assert np.all(np.diff(best) >= 0)
    assert best[-1] > best[0]


def test_generations_zero_evaluates_once():
    ga = _ga().run(Scripted([1.0]), generations=0)
    assert len(ga.history_) == 1 and ga.population_.generation == 0


def test_warm_start_continues_bit_identically():
    X, y = _data()
    once = _ga().run(SupervisedFitness(X, y, batch_size=16), generations=5)
    twice = _ga().run(SupervisedFitness(X, y, batch_size=16), generations=3)
    twice.run(SupervisedFitness(X, y, batch_size=16), generations=2)
    assert len(twice.history_) == 6
    assert twice.history_ == once.history_
    np.testing.assert_array_equal(twice.population_.genomes, once.population_.genomes)
    np.testing.assert_array_equal(twice.best_genome_, once.best_genome_)
    fresh = _ga().run(SupervisedFitness(X, y, batch_size=16), generations=3)
    fresh.run(SupervisedFitness(X, y, batch_size=16), generations=2, warm_start=False)
    assert len(fresh.history_) == 3


def test_same_seed_same_run_other_seed_other_run():
    X, y = _data()
    a = _ga(random_state=5).run(SupervisedFitness(X, y), generations=3)
    b = _ga(random_state=5).run(SupervisedFitness(X, y), generations=3)
    c = _ga(random_state=6).run(SupervisedFitness(X, y), generations=3)
    assert a.history_ == b.history_ and not (a.history_ == c.history_)


def test_run_with_given_population():
    pop = Population.random(SPEC, 12, random_state=9)
    seen = []

    def fitness(p):
        seen.append(p.genomes.copy())
        return np.zeros(p.size)

    _ga().run(fitness, generations=1, population=pop)
    np.testing.assert_array_equal(seen[0], pop.genomes)
    with pytest.raises(ValueError, match="^population"):
        _ga(pop_size=5).run(fitness, generations=1, population=pop)


@pytest.mark.parametrize("crossover", ["neuron", "single_point", "uniform", "none"])
@pytest.mark.parametrize("selection", ["preference", "tournament"])
def test_every_operator_runs(crossover, selection):
    X, y = _data()
    ga = _ga(crossover=crossover, selection=selection, type_probs=(0.25, 0.25, 0.25, 0.25))
    ga.run(SupervisedFitness(X, y, metric="accuracy"), generations=2)
    assert len(ga.history_) == 3 and np.isfinite(ga.history_["best_fitness"]).all()


# ------------------------------------------------------ adaptive mutation
def test_adaptive_mutation_rate_rises_caps_and_falls_back(monkeypatch):
    used = {}
    real = ga_module.breed

    def spy(parents, children, plan, seed, generation, layout, cross, mut, *rest):
        used[generation] = mut.rate  # called once per piece of rows: generation -> rate
        return real(parents, children, plan, seed, generation, layout, cross, mut, *rest)

    monkeypatch.setattr(ga_module, "breed", spy)
    # best: 0 (start), stalls 5 times, improves, stalls twice, improves
    script = [0, 0, 0, 0, 0, 0, 1, 1, 1, 2]
    ga = _ga(mutation_rate=0.1, mutation_rate_increase=0.05, mutation_rate_cap=0.22)
    ga.run(Scripted(script), generations=len(script) - 1)
    expected = [0.1, 0.15, 0.2, 0.22, 0.22, 0.22, 0.1, 0.15, 0.2, 0.1]
    np.testing.assert_allclose(ga.history_["mutation_rate"], expected, rtol=1e-12)
    # the rate recorded for generation g is the one used to breed generation g + 1
    np.testing.assert_allclose([used[g] for g in sorted(used)], expected[:-1], rtol=1e-12)
    assert max(used.values()) <= 0.22


def test_mutation_rate_increase_zero_keeps_the_rate():
    ga = _ga(mutation_rate=0.05, mutation_rate_increase=0.0).run(Scripted([0.0]), generations=4)
    np.testing.assert_array_equal(ga.history_["mutation_rate"], 0.05)


# ------------------------------------------------------------- stopping
def test_threshold_stops():
    ga = _ga(threshold=3.0).run(Scripted([0, 1, 2, 3, 4, 5, 6]), generations=10)
    assert len(ga.history_) == 4 and ga.state_.stopped == "threshold"
    assert ga.best_fitness_ == 3.0


def test_patience_stops():
    ga = _ga(patience=3).run(Scripted([0, 1, 1, 1, 1, 1, 1]), generations=10)
    assert len(ga.history_) == 5 and ga.state_.stopped == "patience"


def test_callback_stops_and_sees_each_record():
    records = []

    def cb(ga, record):
        records.append(dict(record))
        return record["generation"] >= 2

    ga = _ga().run(Scripted([0, 1, 2, 3, 4]), generations=10, callbacks=[cb])
    assert len(ga.history_) == 3 and ga.state_.stopped == "callback"
    assert [r["generation"] for r in records] == [0, 1, 2]
    assert records[1]["best_fitness"] == 1.0


def test_last_stats_enter_the_history():
    class WithStats(Scripted):
        def __call__(self, pop):
            self.last_stats = {"custom": float(self.calls)}
            return super().__call__(pop)

    ga = _ga().run(WithStats([0, 1, 2]), generations=2)
    np.testing.assert_array_equal(ga.history_["custom"], [0.0, 1.0, 2.0])


# ---------------------------------------------------------- bad fitness
def test_nan_and_inf_fitness_rank_last_and_the_run_goes_on():
    calls = []

    def fitness(pop):
        calls.append(pop.genomes.copy())
        f = pop.genomes[:, 0].astype(np.float64)
        f[::3] = np.nan
        f[1] = np.inf
        f[2] = -np.inf
        return f

    ga = _ga(elitism=1).run(fitness, generations=4)
    h = ga.history_
    assert len(h) == 5 and np.isfinite(h["best_fitness"]).all()
    np.testing.assert_array_equal(h["n_invalid"], [6] * 5)  # rows 0, 3, 6, 9 + 1 + 2
    # The elite (row 0 of the next generation) is the best FINITE individual.
    for before, after in zip(calls[:-1], calls[1:]):
        f = before[:, 0].astype(np.float64)
        f[::3] = np.nan
        f[1] = np.inf
        f[2] = -np.inf
        np.testing.assert_array_equal(after[0], before[naive.rank_order(f)[0]])


def test_all_nan_fitness_does_not_crash():
    ga = _ga().run(lambda pop: np.full(pop.size, np.nan), generations=3)
    h = ga.history_
    assert len(h) == 4 and (h["best_fitness"] == -np.inf).all()
    assert np.isnan(h["mean_fitness"]).all()
    assert ga.best_fitness_ == -np.inf


def test_network_that_overflows_gets_minus_inf():
    X, y = _data()
    pop = Population.random(SPEC, 12, random_state=0)
    g = pop.genomes.copy()
    g[3, :] = 3e38
    fit = SupervisedFitness(X, y)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ga = _ga().run(fit, generations=2, population=Population(SPEC, g))
    assert np.isfinite(ga.history_["best_fitness"]).all()


def test_fitness_of_wrong_length_or_type_is_an_error():
    with pytest.raises(ValueError, match="^fitness"):
        _ga().run(lambda pop: np.zeros(3), generations=1)
    with pytest.raises(ValueError, match="^fitness"):
        _ga().run(lambda pop: None, generations=1)  # one NaN, not 12 values
    with pytest.raises(TypeError, match="^fitness"):
        _ga().run(lambda pop: {"a": 1}, generations=1)
    with pytest.raises(TypeError, match="^fitness"):
        _ga().run(lambda pop: ["a"] * pop.size, generations=1)


# ------------------------------------------------------- fused fitness
@pytest.mark.parametrize("acts", [("relu", "softmax"), ("tanh", "sigmoid")])
def test_fused_fitness_equals_forward_then_numpy_metric(acts):
    spec = NetworkSpec([3, 5, 4], list(acts))
    rng = np.random.default_rng(2)
    pop = Population(spec, rng.standard_normal((9, spec.n_params)).astype(np.float32))
    X = rng.standard_normal((25, 3)).astype(np.float32)
    y = rng.integers(0, 4, 25)
    out = pop.forward(X).astype(np.float64)  # (P, B, 4)
    rows = np.arange(25)
    p_true = out[:, rows, y]
    if acts[-1] == "softmax":
        ce = -np.log(p_true).mean(axis=1)
    else:
        ce = -np.log(np.maximum(p_true, naive.EPS)).mean(axis=1)
    fit = SupervisedFitness(X, y, metric="cross_entropy")
    np.testing.assert_allclose(fit(pop), -ce, rtol=1e-5)
    acc = (out.argmax(axis=2) == y).mean(axis=1)
    np.testing.assert_array_equal(SupervisedFitness(X, y, metric="accuracy")(pop), acc)
    assert fit.last_stats["best_accuracy"] == acc.max()
    np.testing.assert_allclose(fit.last_stats["prediction_variance"], out.var(), rtol=1e-5)
    Y = rng.standard_normal((25, 4)).astype(np.float32)
    mse = ((out - Y) ** 2).mean(axis=(1, 2))
    np.testing.assert_allclose(SupervisedFitness(X, Y, metric="mse")(pop), -mse, rtol=1e-5)


def test_run_with_inputs_passes_outputs():
    X, y = _data()

    def on_outputs(out):
        assert out.shape == (12, X.shape[0], 2) and out.dtype == np.float32
        return (out.argmax(axis=2) == y).mean(axis=1)

    a = _ga().run(on_outputs, generations=2, inputs=X)
    b = _ga().run(SupervisedFitness(X, y, metric="accuracy"), generations=2)
    np.testing.assert_array_equal(a.history_["best_fitness"], b.history_["best_fitness"])
    np.testing.assert_array_equal(a.population_.genomes, b.population_.genomes)


def test_minibatches_change_per_generation_and_repeat_per_seed():
    X, y = _data(50)
    fit = SupervisedFitness(X, y, batch_size=10, seed=4)
    b0, b1 = fit.batch(0), fit.batch(1)
    assert b0.shape == (10,) and np.all(np.diff(b0) > 0) and b0.max() < 50
    assert not np.array_equal(b0, b1)
    np.testing.assert_array_equal(b0, SupervisedFitness(X, y, batch_size=10, seed=4).batch(0))
    assert SupervisedFitness(X, y, batch_size=50).batch(0) is None
    pop = Population.random(SPEC, 4, random_state=0)
    np.testing.assert_allclose(fit(pop), SupervisedFitness(X[b0], y[b0])(pop), rtol=0, atol=0)


# --------------------------------------------------------------- History
def test_history_columns_padding_and_equality():
    h = History()
    h.append({"generation": 0, "best_fitness": 1.0, "seconds": 0.5})
    h.append({"generation": 1, "best_fitness": 2.0, "extra": 7.0, "seconds": 0.1})
    assert len(h) == 2
    np.testing.assert_array_equal(h["extra"], [np.nan, 7.0])
    h.append({"generation": 2, "best_fitness": 2.0, "seconds": 0.2})
    np.testing.assert_array_equal(h["extra"], [np.nan, 7.0, np.nan])
    h.set_last("best_fitness", 3.0)
    assert h["best_fitness"][-1] == 3.0
    other = h.copy()
    other.set_last("seconds", 99.0)  # timing differs: still equal
    assert other == h
    other.set_last("best_fitness", 3.5)
    assert not (other == h)
    assert History(h.to_dict()) == h and "extra" in h and "nope" not in h
    assert not (h == {"generation": [0, 1, 2]})


# ------------------------------------------------------------ corners
@pytest.mark.parametrize("params", [
    dict(pop_size=2),
    dict(pop_size=2, elitism=1, die_off_rate=1.0),
    dict(pop_size=5, elitism=4),
    dict(pop_size=6, elitism=0, die_off_rate=0.0, fitness_pref=0.0),
    dict(pop_size=6, selection="tournament", tournament_size=50),
    dict(pop_size=6, mutation_rate=1.0, mutation_rate_cap=1.0, type_probs=(0, 0, 0, 1)),
])
def test_corner_settings_run(params):
    X, y = _data()
    ga = GeneticAlgorithm(SPEC, random_state=1, **params).run(SupervisedFitness(X, y),
                                                              generations=3)
    assert len(ga.history_) == 4
    assert np.isfinite(ga.population_.genomes).all()
    assert ga.population_.genomes.shape == (params["pop_size"], SPEC.n_params)


def test_threshold_met_at_generation_zero():
    ga = _ga(threshold=-1.0).run(Scripted([0.0]), generations=5)
    assert len(ga.history_) == 1 and ga.state_.stopped == "threshold"
    assert ga.population_.generation == 0


def test_no_crossover_no_mutation_breeds_copies_of_survivors():
    seen = []

    def fitness(pop):
        seen.append(pop.genomes.copy())
        return pop.genomes[:, 0].astype(np.float64)

    _ga(crossover="none", mutation_rate=0.0, mutation_rate_cap=0.0, die_off_rate=0.5).run(
        fitness, generations=2)
    for before, after in zip(seen[:-1], seen[1:]):
        order = naive.rank_order(before[:, 0])
        survivors = before[order[: naive.n_survivors(12, 0.5)]]
        for row in after:
            assert (survivors == row).all(axis=1).any()
