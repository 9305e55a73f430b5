"""The ask/tell interface: run() is exactly a loop of ask and tell."""

import numpy as np
import pytest

import fastga
from fastga import GeneticAlgorithm, SupervisedFitness
from fastga.datasets import load_digits_split


def _fitness():
    X, _, y, _ = load_digits_split()
    return SupervisedFitness(X[:300], y[:300], metric="cross_entropy", batch_size=None)


def _ga(**kw):
    return GeneticAlgorithm([64, 8, 10], pop_size=30, random_state=3,
                            **{"crossover": "uniform", **kw})


def _same(a, b):
    np.testing.assert_array_equal(a.population_.genomes, b.population_.genomes)
    np.testing.assert_array_equal(a.population_.fitness, b.population_.fitness)
    np.testing.assert_array_equal(a.best_genome_, b.best_genome_)
    assert a.best_fitness_ == b.best_fitness_
    assert a.state_ == b.state_
    assert a.history_ == b.history_


@pytest.mark.parametrize("settings", [{}, {"type_probs": (0.8, 0.1, 0.1), "crossover": "neuron"}])
def test_run_equals_an_ask_tell_loop(settings):
    fit = _fitness()
    ran = _ga(**settings).run(fit, generations=6)
    looped = _ga(**settings)
    for _ in range(6 + 1):  # a fresh run of n generations tells n + 1 times
        pop = looped.ask()
        looped.tell(fit(pop), fit.last_stats)
    _same(ran, looped)
    assert looped.population_.generation == 6


def test_run_goes_on_from_an_ask_tell_loop():
    fit = _fitness()
    ran = _ga().run(fit, generations=5)
    mixed = _ga()
    for _ in range(3):
        pop = mixed.ask()
        mixed.tell(fit(pop), fit.last_stats)
    mixed.run(fit, generations=3)  # generations 3, 4, 5: three asks and tells
    _same(ran, mixed)


def test_ask_before_tell_returns_the_same_generation():
    ga = _ga()
    pop = ga.ask()
    genomes = pop.genomes.copy()
    assert ga.ask() is pop and np.array_equal(ga.ask().genomes, genomes)
    assert pop.generation == 0


def test_tell_checks_its_input():
    ga = _ga()
    with pytest.raises(RuntimeError, match="ask"):
        ga.tell(np.zeros(30))
    ga.ask()
    with pytest.raises(ValueError, match="fitness"):
        ga.tell(np.zeros(29))
    ga.tell(np.zeros(30))
    with pytest.raises(RuntimeError, match="told already"):
        ga.tell(np.zeros(30))


def test_tell_ranks_nan_and_inf_last():
    ga = _ga(elitism=1)
    pop = ga.ask()
    f = np.arange(30, dtype=float)
    f[29] = np.nan
    f[28] = np.inf
    best = pop.genomes[27].copy()
    record = ga.tell(f)
    assert record["best_fitness"] == 27 and record["n_invalid"] == 2
    np.testing.assert_array_equal(ga.best_genome_, best)
    np.testing.assert_array_equal(ga.ask().genomes[0], best)  # the one elite


def test_replace_with_fitness_keeps_the_generation_told():
    ga = _ga()
    pop = ga.ask()
    ga.tell(np.zeros(30))
    migrant = np.full((1, pop.genomes.shape[1]), 0.5, dtype=np.float32)
    ga.replace([4], migrant, fitness=[10.0])
    assert ga.best_fitness_ == 10.0 and ga.state_.best_fitness == 10.0
    np.testing.assert_array_equal(ga.best_genome_, migrant[0])
    child = ga.ask()  # breeds: the migrant is the best, so it is the elite row
    assert child.generation == 1
    np.testing.assert_array_equal(child.genomes[0], migrant[0])


def test_replace_without_fitness_asks_for_the_generation_again():
    ga = _ga()
    ga.ask()
    ga.tell(np.zeros(30))
    seeds = np.zeros((2, ga.population_.genomes.shape[1]), dtype=np.float32)
    ga.replace([0, 1], seeds)
    pop = ga.ask()  # not bred: the generation must be told again
    assert pop.generation == 0 and np.isnan(pop.fitness).all()
    np.testing.assert_array_equal(pop.genomes[:2], seeds)
    ga.tell(np.ones(30))
    assert ga.ask().generation == 1


def test_replace_checks_its_input():
    ga = _ga()
    n = ga.ask().genomes.shape[1]
    with pytest.raises(ValueError, match="rows"):
        ga.replace([30], np.zeros((1, n)))
    with pytest.raises(ValueError, match="genomes"):
        ga.replace([0], np.zeros((1, n + 1)))
    with pytest.raises(ValueError, match="genomes"):
        ga.replace([0], np.full((1, n), np.nan))
    with pytest.raises(ValueError, match="fitness"):
        ga.replace([0, 1], np.zeros((2, n)), fitness=[1.0])


def test_ask_tell_resumes_bit_identically(tmp_path):
    fit = _fitness()
    whole = _ga()
    for _ in range(6):
        whole.tell(fit(whole.ask()), fit.last_stats)
    part = _ga()
    for _ in range(3):
        part.tell(fit(part.ask()), fit.last_stats)
    part.save(tmp_path / "ga.npz")
    part = GeneticAlgorithm.load(tmp_path / "ga.npz")
    for _ in range(3):
        part.tell(fit(part.ask()), fit.last_stats)
    _same(whole, part)


def test_settings_record_round_trips():
    s = fastga.GASettings(mutation_rate=0.05, sigma=0.2)
    ga = GeneticAlgorithm.from_settings([4, 3, 2], s, pop_size=10)
    assert ga.settings() == s and ga.pop_size == 10
    assert GeneticAlgorithm([4, 3, 2]).settings() == fastga.GASettings()
    with pytest.raises(ValueError, match="sigma"):
        fastga.GASettings(sigma=-1).validate()
    with pytest.raises(ValueError, match="crossover"):
        GeneticAlgorithm([4, 3, 2], crossover="two_point").ask()
