"""Seeding a population from trained weights (a fastga Network or a Keras model)."""

import numba
import numpy as np
import pytest

from fastga import GeneticAlgorithm, Network, NetworkSpec, SupervisedFitness
from fastga.registry import ACTIVATION_EXPORT, Activation, Purpose, names
from fastga.seeding import from_keras, perturb_rows, seed_population

from . import naive


def _net(sizes=(3, 5, 4), acts=("tanh", "softmax"), seed=0):
    spec = NetworkSpec(list(sizes), list(acts))
    rng = np.random.default_rng(seed)
    return Network(spec, rng.normal(size=spec.n_params).astype(np.float32))


def reference_perturb(P, base, seed, sigma, start):
    """Slow, obviously-correct perturb_rows: one draw at a time from the Python RNG reference."""
    out = np.empty((P, base.shape[0]), dtype=np.float32)
    for i in range(P):
        if i < start:
            out[i] = base
            continue
        key = naive.stream_key(seed, 0, i, Purpose.SEEDING)
        for k in range(base.shape[0]):
            out[i, k] = np.float32(float(base[k]) + sigma * naive.random_normal(key, 2 * k))
    return out


@pytest.mark.parametrize("P, n, start, sigma", [(1, 4, 1, 0.3), (5, 7, 1, 0.05), (6, 3, 0, 1.0), (4, 9, 2, 0.0)])
def test_perturb_rows_matches_reference(P, n, start, sigma):
    base = np.random.default_rng(n).normal(size=n).astype(np.float32)
    got = np.full((P, n), np.nan, np.float32)
    perturb_rows(got, base, np.uint64(123), sigma, start)
    want = reference_perturb(P, base, 123, sigma, start)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(got[:start], np.broadcast_to(base, (start, n)))


def test_first_individual_exact_and_rest_around_it():
    net = _net()
    pop = seed_population(net, 300, sigma=0.2, random_state=4)
    assert pop.spec == net.spec and pop.size == 300
    np.testing.assert_array_equal(pop.genomes[0], net.genome)
    noise = (pop.genomes[1:].astype(np.float64) - net.genome)
    assert abs(noise.mean()) < 0.01
    assert 0.19 < noise.std() < 0.21
    assert not np.any(np.all(noise == 0, axis=1))  # every other individual differs
    same = seed_population(net, 300, sigma=0.2, random_state=4)
    np.testing.assert_array_equal(same.genomes, pop.genomes)
    other = seed_population(net, 300, sigma=0.2, random_state=5)
    assert not np.array_equal(other.genomes[1:], pop.genomes[1:])
    np.testing.assert_array_equal(seed_population(net, 3, sigma=0.0).genomes,
                                  np.broadcast_to(net.genome, (3, net.spec.n_params)))


def test_same_population_for_any_thread_count():
    net = _net(sizes=(6, 20, 3))
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = seed_population(net, 40, random_state=1).genomes
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = seed_population(net, 40, random_state=1).genomes
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one, many)


def test_bad_arguments():
    with pytest.raises(ValueError, match="^size"):
        seed_population(_net(), 0)
    with pytest.raises(ValueError, match="^sigma"):
        seed_population(_net(), 3, sigma=-1.0)
    with pytest.raises(TypeError, match="^network"):
        seed_population(object(), 3)


def test_seeded_run_starts_from_the_source():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0)
    # A "trained elsewhere" network: the best of a short run.
    trained = GeneticAlgorithm([3, 5, 3], pop_size=30, random_state=0).run(
        SupervisedFitness(X, y), 15).best_network()
    pop = seed_population(trained, 20, sigma=0.01, random_state=1)
    ga = GeneticAlgorithm(trained.spec, pop_size=20, random_state=2, elitism=1)
    ga.run(SupervisedFitness(X, y), 0, population=pop)
    source_fitness = float(SupervisedFitness(X, y)(seed_population(trained, 1)).max())
    assert ga.population_.fitness[0] == source_fitness
    assert ga.best_fitness_ >= source_fitness


def test_estimator_fit_from_a_seeded_population():
    from fastga.datasets import load_digits_split
    from fastga.estimators import GeneticMLPClassifier

    X_tr, _, y_tr, _ = load_digits_split()
    src = GeneticMLPClassifier(architecture=(8,), pop_size=20, generations=4, random_state=0).fit(X_tr, y_tr)
    pop = seed_population(src, 20, sigma=0.01, random_state=3)
    clf = GeneticMLPClassifier(architecture=(8,), pop_size=20, generations=0, random_state=1)
    clf.fit(X_tr, y_tr, population=pop)
    assert clf.train_loss_ <= src.train_loss_  # the source is in the population
    with pytest.raises(ValueError, match="^population"):
        GeneticMLPClassifier(architecture=(9,), pop_size=20, generations=0).fit(X_tr, y_tr, population=pop)


# ----------------------------------------------------------------------- Keras
@pytest.mark.gan
class TestKeras:
    @pytest.fixture(autouse=True)
    def _keras(self):
        self.keras = pytest.importorskip("keras")

    def test_hand_built_model(self):
        k = self.keras
        model = k.Sequential([
            k.Input(shape=(4,)),
            k.layers.Dense(6, activation="relu"),
            k.layers.Dropout(0.3),
            k.layers.Dense(5),
            k.layers.LeakyReLU(negative_slope=0.01),
            k.layers.Dense(5, use_bias=False),
            k.layers.Activation("tanh"),
            k.layers.Dense(3),
            k.layers.Softmax(),
        ])
        net = from_keras(model)
        assert net.spec.sizes == (4, 6, 5, 5, 3)
        assert net.spec.activations == ("relu", "leaky_relu", "tanh", "softmax")
        X = np.random.default_rng(0).normal(size=(30, 4)).astype(np.float32)
        np.testing.assert_allclose(net.predict(X), model.predict(X, verbose=0), atol=1e-5, rtol=0)
        pop = seed_population(model, 8, random_state=0)
        np.testing.assert_array_equal(pop.genomes[0], net.genome)

    def test_unsupported_layers_are_clear_errors(self):
        k = self.keras
        cases = [
            k.Sequential([k.Input(shape=(4,)), k.layers.Dense(3), k.layers.LeakyReLU(negative_slope=0.2)]),
            k.Sequential([k.Input(shape=(4,)), k.layers.Dense(3, activation="elu")]),
            k.Sequential([k.Input(shape=(4,)), k.layers.Dense(3, activation="relu"), k.layers.ReLU()]),
            k.Sequential([k.Input(shape=(4,)), k.layers.BatchNormalization(), k.layers.Dense(3)]),
            k.Sequential([k.Input(shape=(4,)), k.layers.Dense(3, activation="leaky_relu")]),
        ]
        for model in cases:
            with pytest.raises(ValueError, match="^model"):
                from_keras(model)

    @pytest.mark.parametrize("act", list(Activation), ids=lambda a: a.name.lower())
    def test_every_activation_as_keras_writes_it(self, act):
        """A Dense layer with the activation, or a linear Dense and an
        Activation layer, or (where Keras' function differs from fastga's)
        the layer the export writes; the function itself is then refused."""
        k = self.keras
        export = ACTIVATION_EXPORT[act]
        name = act.name.lower()
        if export.keras_layer is None:
            tails = [[k.layers.Dense(3, activation=export.keras)],
                     [k.layers.Dense(3), k.layers.Activation(export.keras)]]
        else:
            cls, kwargs = export.keras_layer
            tails = [[k.layers.Dense(3), getattr(k.layers, cls)(**dict(kwargs))]]
            for bad in ([k.layers.Dense(3, activation=export.keras)],
                        [k.layers.Dense(3), k.layers.Activation(export.keras)]):
                with pytest.raises(ValueError, match=f"^model: .*use a {cls}"):
                    from_keras(k.Sequential([k.Input(shape=(4,)), k.layers.Dense(5)] + bad))
        X = np.random.default_rng(0).normal(size=(30, 4)).astype(np.float32) * 2
        for tail in tails:
            model = k.Sequential([k.Input(shape=(4,)), k.layers.Dense(5, activation="tanh")] + tail)
            net = from_keras(model)
            assert net.spec.activations == ("tanh", name)
            np.testing.assert_allclose(net.predict(X), model.predict(X, verbose=0), atol=1e-5,
                                       rtol=0)

    def test_keras_round_trip_with_to_keras(self):
        to_keras = pytest.importorskip("fastga.export.keras").to_keras
        every = names(Activation)
        for acts in [[every[(k + i) % len(every)] for i in range(3)] for k in range(0, len(every), 3)]:
            net = _net(sizes=(3, 7, 6, 4), acts=acts, seed=2)
            model = to_keras(net, dropout=0.2)
            back = from_keras(model)
            assert back.spec == net.spec
            np.testing.assert_array_equal(back.genome, net.genome)
            X = np.random.default_rng(3).normal(size=(25, 3)).astype(np.float32) * 2
            np.testing.assert_allclose(model.predict(X, verbose=0), net.predict(X), atol=1e-5, rtol=0)
            pop = seed_population(model, 6, sigma=0.1, random_state=0)
            np.testing.assert_array_equal(pop.genomes[0], net.genome)
