"""Bad input: a ValueError or TypeError whose message starts with the
argument's name, raised in Python before any kernel runs.

The ``no_kernels`` fixture replaces every Numba kernel the Python layer calls
by a function that fails the test, so an error that reaches a kernel first
is caught.
"""

import numpy as np
import pytest

import fastga.evaluation
import fastga.fitness
import fastga.ga
import fastga.network
import fastga.population
from numba.core.dispatcher import Dispatcher
from fastga import GeneticAlgorithm, Network, NetworkSpec, Population, SupervisedFitness
from fastga.validation import check_rows, check_type_probs

SPEC = NetworkSpec([3, 4, 2], ["relu", "softmax"])
X = np.zeros((5, 3), dtype=np.float32)
Y = np.array([0, 1, 1, 0, 1])

#: Every module of the Python layer that calls kernels; each Numba dispatcher
#: it imported is replaced in the fixture below.
CALLERS = [fastga.evaluation, fastga.population, fastga.ga, fastga.fitness, fastga.network]


def _kernel_ran(*args, **kwargs):
    raise AssertionError("a kernel ran before the input was validated")


@pytest.fixture
def no_kernels(monkeypatch):
    patched = []
    for module in CALLERS:
        for name, obj in list(vars(module).items()):
            if isinstance(obj, Dispatcher):
                monkeypatch.setattr(module, name, _kernel_ran)
                patched.append(f"{module.__name__}.{name}")
    assert any(p.startswith("fastga.evaluation.") for p in patched)
    assert "fastga.ga.breed" in patched and "fastga.population.init_genomes" in patched
    return patched


@pytest.fixture
def pop():
    return Population(SPEC, np.zeros((4, SPEC.n_params), dtype=np.float32))


def _raises(exc, name, fn, *args, **kwargs):
    with pytest.raises(exc, match=rf"^{name}\b"):
        fn(*args, **kwargs)


# ---------------------------------------------------------------- X and y
@pytest.mark.parametrize("bad,exc", [
    (np.zeros(3), ValueError),  # 1-D
    (np.zeros((5, 4)), ValueError),  # wrong number of features
    (np.zeros((5, 3, 1)), ValueError),  # 3-D
    (np.zeros((0, 3)), ValueError),  # no samples
    (np.array([[0.0, np.nan, 1.0]]), ValueError),
    (np.array([[0.0, np.inf, 1.0]]), ValueError),
    (np.array([[0.0, -np.inf, 1.0]]), ValueError),
    (np.array([["a", "b", "c"]]), TypeError),
    ([[1, 2, 3], [4, 5]], TypeError),  # ragged
])
def test_bad_X(no_kernels, pop, bad, exc):
    _raises(exc, "X", pop.forward, bad)
    _raises(exc, "X", pop.evaluate, bad, Y[: max(1, len(bad))] if hasattr(bad, "__len__") else Y)
    if not (isinstance(bad, np.ndarray) and bad.shape == (5, 4)):  # features: checked per call
        _raises(exc, "X", SupervisedFitness, bad, Y)


def test_bad_inputs_of_run(no_kernels):
    ga = GeneticAlgorithm(SPEC, pop_size=4, random_state=0)
    _raises(ValueError, "inputs", ga.run, lambda out: np.zeros(4), 1,
            inputs=np.array([[np.nan, 0, 0]]))


@pytest.mark.parametrize("bad,exc", [
    (np.array([0, 1, 1]), ValueError),  # wrong length
    (np.zeros((5, 2)), ValueError),  # 2-D labels
    (np.array([0, 1, -1, 0, 1]), ValueError),  # negative
    (np.array([0, 1, 2, 0, 1]), ValueError),  # >= n_outputs (2)
    (np.array([0, 1, 0.5, 0, 1]), ValueError),  # not whole
    (np.array([0, 1, np.nan, 0, 1]), ValueError),
    (np.array(["a"] * 5), TypeError),
])
def test_bad_labels(no_kernels, pop, bad, exc):
    _raises(exc, "y", pop.evaluate, X, bad)
    _raises(exc, "y", pop.losses, X, bad, "accuracy")


def test_labels_checked_against_the_networks_outputs(no_kernels, pop):
    _raises(ValueError, "y", SupervisedFitness, X, np.array([0, 1, 2, 0, 1]), n_outputs=2)
    _raises(ValueError, "y", SupervisedFitness, X, np.array([0, -1, 0, 0, 1]))
    fit = SupervisedFitness(X, np.array([0, 1, 2, 0, 1]))  # 3 classes, network has 2 outputs
    _raises(ValueError, "y", fit, pop)
    fit = SupervisedFitness(np.zeros((5, 7)), Y)  # 7 features, network takes 3
    _raises(ValueError, "X", fit, pop)


def test_bad_regression_targets(no_kernels, pop):
    _raises(ValueError, "y", pop.evaluate, X, np.zeros((5, 3)), "mse")
    _raises(ValueError, "y", pop.evaluate, X, np.zeros((4, 2)), "mse")
    _raises(ValueError, "y", pop.evaluate, X, np.full((5, 2), np.inf), "mse")
    _raises(ValueError, "y", SupervisedFitness(X, np.zeros((5, 3)), metric="mse"), pop)


def test_bad_metric(no_kernels, pop):
    _raises(ValueError, "metric", pop.evaluate, X, Y, "hinge")
    _raises(ValueError, "metric", SupervisedFitness, X, Y, metric="hinge")


def test_bad_batch_size(no_kernels):
    _raises(ValueError, "batch_size", SupervisedFitness, X, Y, batch_size=0)
    _raises(TypeError, "batch_size", SupervisedFitness, X, Y, batch_size=2.5)


# ------------------------------------------------------------------- rows
@pytest.mark.parametrize("rows", [[0, 4], [-1], [[0, 1]], [0.0, 1.0]])
def test_bad_rows(no_kernels, pop, rows):
    _raises(ValueError, "rows", pop.forward, X, rows=np.array(rows))
    _raises(ValueError, "rows", pop.losses, X, Y, rows=np.array(rows))


def test_check_rows_accepts_good_rows():
    out = check_rows(np.array([3, 0], dtype=np.int32), 4)
    assert out.dtype == np.int64 and out.tolist() == [3, 0]


# ------------------------------------------------------- specs and genomes
@pytest.mark.parametrize("acts", [["swish", "softmax"], ["relu", "mish"], ["relu", 17]])
def test_unknown_activation(acts):
    _raises(ValueError, "activations", NetworkSpec, [3, 4, 2], acts)


def test_bad_layer_sizes():
    _raises(ValueError, "layer_sizes", NetworkSpec, [3])
    _raises(ValueError, "layer_sizes", NetworkSpec, [3, 0, 2])
    _raises(TypeError, "layer_sizes", NetworkSpec, [3, 2.5, 2])
    _raises(TypeError, "layer_sizes", NetworkSpec, 5)
    _raises(ValueError, "activations", NetworkSpec, [3, 4, 2], ["relu"])
    _raises(ValueError, "layer_sizes", NetworkSpec, [[3, 4, "relu"], [5, 2, "softmax"]])


def test_genome_that_does_not_match_its_spec(no_kernels):
    _raises(ValueError, "genome", SPEC.check_genome, np.zeros(SPEC.n_params - 1))
    _raises(ValueError, "genome", SPEC.unflatten, np.zeros((1, SPEC.n_params)))
    _raises(ValueError, "genome", Network, SPEC, np.zeros(SPEC.n_params + 1))
    _raises(ValueError, "genomes", Population, SPEC, np.zeros((4, SPEC.n_params + 1)))
    _raises(ValueError, "genomes", Population, SPEC, np.zeros(SPEC.n_params))
    pop = Population(SPEC, np.zeros((4, SPEC.n_params)))
    _raises(ValueError, "genomes", pop.set_genomes, np.zeros((4, SPEC.n_params - 1)))
    _raises(ValueError, "weights", SPEC.flatten, [(np.zeros((3, 4)), np.zeros(4))])


def test_network_predict_validates(no_kernels):
    net = Network(SPEC, np.zeros(SPEC.n_params))
    _raises(ValueError, "X", net.predict, np.zeros((2, 5)))
    _raises(ValueError, "X", net.predict, np.full((2, 3), np.nan))


# --------------------------------------------------------- GA settings
def _run(**kw):
    params = dict(pop_size=4, random_state=0)
    params.update(kw)
    GeneticAlgorithm(SPEC, **params).run(lambda pop: np.zeros(pop.size), generations=1)


@pytest.mark.parametrize("name,value,exc", [
    ("pop_size", 1, ValueError),
    ("pop_size", 0, ValueError),
    ("pop_size", 4.0, TypeError),
    ("die_off_rate", -0.1, ValueError),
    ("die_off_rate", 1.5, ValueError),
    ("die_off_rate", float("nan"), ValueError),
    ("mutation_rate", 1.01, ValueError),
    ("mutation_rate", -0.5, ValueError),
    ("mutation_rate", "0.1", TypeError),
    ("crossover_prob", 2.0, ValueError),
    ("max_crossover", -1.0, ValueError),
    ("mutation_rate_cap", 1.2, ValueError),
    ("mutation_rate_cap", 0.05, ValueError),  # below mutation_rate (0.1)
    ("mutation_rate_increase", -0.1, ValueError),
    ("type_probs", (0.5, 0.2, 0.2), ValueError),  # sums to 0.9
    ("type_probs", (0.5, 0.3, 0.3, 0.1), ValueError),  # sums to 1.2
    ("type_probs", (0.5, 0.5), ValueError),
    ("type_probs", (1.2, -0.1, -0.1), ValueError),
    ("type_probs", ("a", "b", "c"), TypeError),
    ("shift_max", -1.0, ValueError),
    ("swap_max", float("inf"), ValueError),
    ("sigma", -0.1, ValueError),
    ("fitness_pref", -1.0, ValueError),
    ("fitness_pref", "high", TypeError),
    ("fitness_pref", float("nan"), ValueError),
    ("threshold", "0.9", TypeError),
    ("threshold", float("nan"), ValueError),
    ("elitism", -1, ValueError),
    ("selection", "roulette", ValueError),
    ("tournament_size", 0, ValueError),
    ("crossover", "two_point", ValueError),
    ("threshold", float("inf"), ValueError),
    ("patience", 0, ValueError),
    ("random_state", -3, ValueError),
    ("random_state", "seed", TypeError),
    ("random_state", True, TypeError),
    ("init", "he", ValueError),
    ("init_scale", 0.0, ValueError),
    ("init_scale", "big", TypeError),
])
def test_bad_setting(no_kernels, name, value, exc):
    _raises(exc, name, _run, **{name: value})


def test_bad_run_arguments(no_kernels):
    ga = GeneticAlgorithm(SPEC, pop_size=4, random_state=0)
    _raises(ValueError, "generations", ga.run, lambda pop: np.zeros(4), -1)
    _raises(TypeError, "generations", ga.run, lambda pop: np.zeros(4), 2.0)
    _raises(TypeError, "fitness", ga.run, "not callable", 1)
    bad_spec = GeneticAlgorithm([[3, 2, "swish"]], pop_size=4, random_state=0)
    _raises(ValueError, "activations", bad_spec.run, lambda pop: np.zeros(4), 1)


def test_check_type_probs_values():
    np.testing.assert_allclose(check_type_probs((0.8, 0.1, 0.1)), [0.8, 0.9, 1.0, 1.0])
    np.testing.assert_allclose(check_type_probs((0.25, 0.25, 0.25, 0.25)), [0.25, 0.5, 0.75, 1.0])
    _raises(ValueError, "type_probs", check_type_probs, (np.nan, 0.5, 0.5))


def test_settings_are_not_touched_by_init():
    """scikit-learn convention: __init__ stores, run validates."""
    ga = GeneticAlgorithm(SPEC, pop_size=-5, mutation_rate=7)
    assert ga.pop_size == -5 and ga.mutation_rate == 7


# ------------------------------------------------ scikit-learn conventions
def test_check_X_takes_what_scikit_learn_takes_without_copying():
    from fastga.validation import check_X

    out = check_X([[1, 2, 3], [4, 5, 6]])  # lists, ints
    assert out.dtype == np.float32 and out.flags.c_contiguous and out.shape == (2, 3)
    assert check_X(X) is X  # already float32, C-contiguous: no copy
    assert check_X(np.asfortranarray(np.ones((4, 3)))).flags.c_contiguous
    _raises(ValueError, "X", check_X, np.full((2, 3), 1e39))  # overflows float32
    for bad in (np.nan, np.inf):  # already float32 C-contiguous: only finiteness is checked
        _raises(ValueError, "X", check_X, np.array([[0.0, bad]], dtype=np.float32))
    _raises(ValueError, "X", check_X, np.zeros((0, 3), dtype=np.float32))
    _raises(ValueError, "X", check_X, np.zeros((2, 0), dtype=np.float32))
    _raises(ValueError, "inputs", lambda: check_X(np.zeros(3), name="inputs"))


def test_labels_and_scalars():
    from fastga.validation import check_int, check_labels, check_positive, check_rate

    assert check_labels(np.array([[1], [0]]), 2).tolist() == [1, 0]  # a column vector
    assert check_labels(np.array([1.0, 0.0]), 2).dtype == np.int64  # whole floats
    assert check_int(np.int32(3), "n") == 3 and type(check_int(np.int32(3), "n")) is int
    assert check_rate(np.float32(0.5), "r") == 0.5 and check_positive(2, "s") == 2.0
    _raises(TypeError, "n", check_int, True, "n")
    _raises(TypeError, "r", check_rate, np.bool_(True), "r")
    _raises(ValueError, "s", check_positive, np.inf, "s")
    _raises(ValueError, "s", check_positive, 0, "s")
    assert check_positive(0, "s", allow_zero=True) == 0.0


def test_bad_fitness_seed(no_kernels):
    _raises(TypeError, "seed", SupervisedFitness, X, Y, seed=1.5)
    _raises(TypeError, "seed", SupervisedFitness, X, Y, seed="7")
