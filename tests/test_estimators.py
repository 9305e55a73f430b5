"""GeneticMLPClassifier / GeneticMLPRegressor: scikit-learn conventions and behaviour."""

import dataclasses

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

import fastga
from fastga.datasets import load_digits_split

SMALL = dict(algorithm="ga", pop_size=30, generations=6, architecture=(8,), batch_size=64)


@pytest.fixture(scope="module")
def digits():
    return load_digits_split()


def test_init_only_stores_parameters():
    clf = fastga.GeneticMLPClassifier(pop_size=-5, mutation_rate=7.0, random_state="x")
    assert clf.pop_size == -5 and clf.mutation_rate == 7.0 and clf.random_state == "x"
    params = clf.get_params()
    for name in ("architecture", "pop_size", "generations", "die_off_rate", "fitness_pref",
                 "mutation_rate", "type_probs", "shift_max", "swap_max", "mutation_rate_cap",
                 "mutation_rate_increase", "max_crossover", "crossover_prob", "elitism",
                 "batch_size", "threshold", "random_state", "verbose"):
        assert name in params
    assert clone(clf).get_params() == params


def test_classifier_fit_predict_score(digits):
    X_tr, X_te, y_tr, y_te = digits
    clf = fastga.GeneticMLPClassifier(random_state=0, **SMALL).fit(X_tr, y_tr)
    proba = clf.predict_proba(X_te)
    assert proba.shape == (360, 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    pred = clf.predict(X_te)
    assert pred.shape == (360,) and set(np.unique(pred)) <= set(range(10))
    assert clf.score(X_te, y_te) == pytest.approx((pred == y_te).mean())
    assert isinstance(clf.best_network_, fastga.Network)
    assert len(clf.history_) == SMALL["generations"] + 1
    for col in ("best_fitness", "mean_fitness", "best_accuracy", "prediction_variance",
                "fitness_variance", "mutation_rate", "seconds"):
        assert col in clf.history_ and np.isfinite(clf.history_[col]).all()
    assert clf.n_features_in_ == 64 and list(clf.classes_) == list(range(10))


def test_classifier_learns(digits):
    X_tr, X_te, y_tr, y_te = digits
    clf = fastga.GeneticMLPClassifier(algorithm="ga", random_state=1, pop_size=100, generations=40,
                                      architecture=(16,), batch_size=128).fit(X_tr, y_tr)
    # Chance is 0.1; 40 generations of a small population reach far above it.
    assert clf.score(X_te, y_te) > 0.4
    h = clf.history_
    assert h["best_fitness"][-1] > h["best_fitness"][0]


def test_same_seed_same_result(digits):
    X_tr, _, y_tr, _ = digits
    a = fastga.GeneticMLPClassifier(random_state=3, **SMALL).fit(X_tr, y_tr)
    b = fastga.GeneticMLPClassifier(random_state=3, **SMALL).fit(X_tr, y_tr)
    c = fastga.GeneticMLPClassifier(random_state=4, **SMALL).fit(X_tr, y_tr)
    assert a.history_ == b.history_
    np.testing.assert_array_equal(a.best_network_.genome, b.best_network_.genome)
    assert not np.array_equal(a.best_network_.genome, c.best_network_.genome)


def test_warm_start_goes_on(digits):
    X_tr, _, y_tr, _ = digits
    clf = fastga.GeneticMLPClassifier(random_state=0, warm_start=True, **SMALL)
    clf.fit(X_tr, y_tr)
    clf.fit(X_tr, y_tr)
    assert clf.n_generations_ == 2 * SMALL["generations"]
    full = fastga.GeneticMLPClassifier(random_state=0, **{**SMALL, "generations": 12})
    full.fit(X_tr, y_tr)
    assert clf.history_ == full.history_


def test_threshold_stops_early(digits):
    X_tr, _, y_tr, _ = digits
    clf = fastga.GeneticMLPClassifier(random_state=0, threshold=0.0, **SMALL).fit(X_tr, y_tr)
    assert clf.n_generations_ == 0 and clf.ga_.state_.stopped == "threshold"


def test_not_fitted():
    with pytest.raises(NotFittedError):
        fastga.GeneticMLPClassifier().predict(np.zeros((2, 64)))


@pytest.mark.parametrize("bad, name", [
    (dict(pop_size=1), "pop_size"),
    (dict(mutation_rate=1.5), "mutation_rate"),
    (dict(die_off_rate=-0.1), "die_off_rate"),
    (dict(type_probs=(0.5, 0.2, 0.2)), "type_probs"),
    (dict(activation="swish"), "activation"),
    (dict(architecture=(0,)), "architecture"),
    (dict(batch_size=0), "batch_size"),
])
def test_bad_parameters_name_the_argument(digits, bad, name):
    X_tr, _, y_tr, _ = digits
    with pytest.raises((ValueError, TypeError), match=name):
        fastga.GeneticMLPClassifier(**{**SMALL, **bad}).fit(X_tr[:50], y_tr[:50])


def test_bad_data_name_the_argument(digits):
    X_tr, _, y_tr, _ = digits
    clf = fastga.GeneticMLPClassifier(**SMALL)
    with pytest.raises(ValueError, match=r"\by\b.*\[50, 40\]"):
        clf.fit(X_tr[:50], y_tr[:40])
    with pytest.raises(ValueError, match="^y: .*1 class"):
        clf.fit(X_tr[:50], -np.ones(50, dtype=int))
    X_bad = X_tr[:50].copy()
    X_bad[3, 3] = np.nan
    with pytest.raises(ValueError, match=r"\bX\b.*NaN"):
        clf.fit(X_bad, y_tr[:50])
    with pytest.raises(ValueError, match=r"\bX\b"):
        clf.fit(X_tr[:50, :, None], y_tr[:50])
    with pytest.raises(ValueError, match="^sample_weight"):
        clf.fit(X_tr[:50], y_tr[:50], sample_weight=-np.ones(50))
    clf.fit(X_tr[:50], y_tr[:50])
    with pytest.raises(ValueError, match=r"\bX\b.*10 features"):
        clf.predict(X_tr[:5, :10])


def test_regressor_fits_a_function():
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, size=(256, 2)).astype(np.float32)
    y = X[:, 0] ** 2 - X[:, 1]
    reg = fastga.GeneticMLPRegressor(architecture=(16,), pop_size=60, generations=30,
                                     batch_size=None, random_state=0).fit(X, y)
    pred = reg.predict(X)
    assert pred.shape == (256,)
    mse = float(((pred - y) ** 2).mean())
    assert mse < float(y.var())  # better than predicting the mean
    assert reg.history_["best_fitness"][-1] >= reg.history_["best_fitness"][0]
    assert "best_accuracy" not in reg.history_


def test_every_ga_setting_is_a_parameter_with_the_shared_default():
    """The estimators and the GA take every GASettings field, with its default:
    a new setting cannot be left out of one of them."""
    import inspect

    defaults = fastga.GASettings.defaults()
    assert defaults
    for cls in (fastga.GeneticAlgorithm, fastga.GeneticMLPClassifier, fastga.GeneticMLPRegressor):
        params = inspect.signature(cls.__init__).parameters
        for name, default in defaults.items():
            assert name in params, f"{cls.__name__} lacks the GA setting {name}"
            assert params[name].default == default, (cls.__name__, name)


def test_the_estimators_ga_has_the_estimators_settings(digits):
    X_tr, _, y_tr, _ = digits
    ref = fastga.GASettings.reference(crossover="uniform", mutation_rate_cap=0.4)
    clf = fastga.GeneticMLPClassifier(random_state=0, **{**SMALL, "generations": 1},
                                      **dataclasses.asdict(ref)).fit(X_tr, y_tr)
    assert clf.ga_.settings() == fastga.GASettings.from_params(clf) == ref
    clf.set_params(warm_start=True, sigma=0.5, patience=7).fit(X_tr, y_tr)  # goes on with them
    assert clf.ga_.sigma == 0.5 and clf.ga_.patience == 7 and clf.n_generations_ == 2


def test_gan_and_islands_take_one_settings_record():
    """GANEvolver and IslandModel take a GASettings, not copies of its fields."""
    import inspect

    from fastga.distributed import IslandModel
    from fastga.gan import GAN_SETTINGS, GANEvolver

    names = set(fastga.GASettings.names())
    for cls in (GANEvolver, IslandModel):
        params = inspect.signature(cls.__init__).parameters
        assert "ga" in params and not names & set(params), cls.__name__
    assert isinstance(GAN_SETTINGS, fastga.GASettings) and GAN_SETTINGS.validate()
    assert inspect.signature(IslandModel.__init__).parameters["ga"].default is None


@pytest.mark.parametrize("labels", [np.array(["setosa", "versicolor", "virginica"]),
                                    np.array(["b", "a", "c"], dtype=object),
                                    np.array([10, -3, 7])])
def test_save_load_keeps_labels_and_feature_names(tmp_path, labels):
    pd = pytest.importorskip("pandas")
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True, as_frame=True)
    yy = labels[y.to_numpy()]
    clf = fastga.GeneticMLPClassifier(pop_size=12, generations=2, architecture=(4,), random_state=0)
    clf.fit(X, yy)
    back = fastga.GeneticMLPClassifier.load(clf.save(tmp_path / "clf.npz"))
    np.testing.assert_array_equal(back.classes_, clf.classes_)
    assert back.classes_.dtype == clf.classes_.dtype
    np.testing.assert_array_equal(back.feature_names_in_, clf.feature_names_in_)
    np.testing.assert_array_equal(back.predict(X), clf.predict(X))
    with pytest.raises(ValueError, match="feature names"):
        back.predict(pd.DataFrame(X.to_numpy(), columns=list("abcd")))


def test_regressor_save_load_and_sample_weight(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (80, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    w = rng.integers(0, 3, 80)
    reg = fastga.GeneticMLPRegressor(pop_size=16, generations=3, architecture=(4,), random_state=0)
    reg.fit(X, y, sample_weight=w)
    back = fastga.GeneticMLPRegressor.load(reg.save(tmp_path / "reg.npz"))
    pred = back.predict(X)
    assert pred.dtype == np.float64 and pred.shape == (80,)
    np.testing.assert_array_equal(pred, reg.predict(X))
    # zero weights = the samples left out
    kept = fastga.GeneticMLPRegressor(pop_size=16, generations=3, architecture=(4,),
                                      random_state=0).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(kept.history_["best_fitness"], reg.history_["best_fitness"],
                               rtol=1e-6)


# ------------------------------------------------------------ algorithms
ALGOS = ("ga", "openes", "pgpe", "snes", "sepcmaes")
TINY = dict(pop_size=12, generations=4, architecture=(4,), batch_size=64)


def _tiny(algo, cls=None, **kw):
    cls = cls or fastga.GeneticMLPClassifier
    return cls(algorithm=algo, random_state=0, **{**TINY, **kw})


@pytest.mark.parametrize("algo", ALGOS)
def test_each_algorithm_fits_saves_loads_and_goes_on_bit_identically(tmp_path, digits, algo):
    from fastga.es import ALGORITHMS

    X, _, y, _ = digits
    X, y = X[:200], y[:200]
    ckpt = tmp_path / "ckpt.npz"
    half = _tiny(algo, checkpoint_every=2, checkpoint_path=str(ckpt)).fit(X, y)
    expected = fastga.GeneticAlgorithm if algo == "ga" else ALGORITHMS[algo]
    assert type(half.ga_) is expected and half.n_generations_ == 4
    back = fastga.GeneticMLPClassifier.load(ckpt)
    assert type(back.ga_) is expected and back.algorithm == algo
    np.testing.assert_array_equal(back.predict_proba(X), half.predict_proba(X))
    np.testing.assert_array_equal(back.best_network_.genome, half.best_network_.genome)
    full = _tiny(algo, generations=8).fit(X, y)
    back.set_params(warm_start=True, checkpoint_every=None, checkpoint_path=None).fit(X, y)
    half.set_params(warm_start=True, checkpoint_every=None, checkpoint_path=None).fit(X, y)
    for est in (back, half):
        assert est.n_generations_ == 8 and est.history_ == full.history_
        np.testing.assert_array_equal(est.ga_.population_.genomes, full.ga_.population_.genomes)
        np.testing.assert_array_equal(est.best_network_.genome, full.best_network_.genome)
    if algo != "ga":
        np.testing.assert_array_equal(back.ga_.mean_, full.ga_.mean_)
        assert "sigma_mean" in full.history_


@pytest.mark.parametrize("algo", ALGOS)
def test_each_algorithm_pickles_and_clones(digits, algo):
    import pickle

    from sklearn.base import clone

    X, _, y, _ = digits
    X, y = X[:200], y[:200]
    est = _tiny(algo, algorithm_params=None if algo == "ga" else {"sigma": 0.2}).fit(X, y)
    copy = clone(est)
    assert not hasattr(copy, "ga_") and copy.get_params() == est.get_params()
    assert copy.algorithm_params is not est.algorithm_params or est.algorithm_params is None
    back = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(back.predict(X), est.predict(X))
    est.set_params(warm_start=True, generations=2).fit(X, y)
    back.set_params(warm_start=True, generations=2).fit(X, y)
    np.testing.assert_array_equal(back.ga_.population_.genomes, est.ga_.population_.genomes)
    assert back.history_ == est.history_
    again = clone(copy).fit(X, y)  # a clone fits the same as a fresh estimator
    np.testing.assert_array_equal(again.best_network_.genome,
                                  type(copy)(**copy.get_params()).fit(X, y).best_network_.genome)


@pytest.mark.parametrize("algo", ["openes", "snes"])
def test_an_es_keeps_the_best_of_its_population_and_center(digits, algo):
    from fastga.fitness import SupervisedFitness
    from fastga.population import Population

    X, _, y, _ = digits
    X, y = X[:200], y[:200]
    est = _tiny(algo, generations=6).fit(X, y)
    es = est.ga_
    rows = np.vstack([es.population_.genomes, es.mean_[None]])
    fit = SupervisedFitness(X, y, n_outputs=10)
    loss, _ = fit.losses(Population(est.best_network_.spec, rows))
    best = int(np.argmin(loss))
    np.testing.assert_array_equal(est.best_network_.genome, rows[best])
    assert est.train_loss_ == pytest.approx(float(loss.min()))


def test_the_center_can_be_the_final_network(digits):
    """With a large spread the sampled networks are worse than their center."""
    X, _, y, _ = digits
    X, y = X[:200], y[:200]
    est = _tiny("openes", generations=10, algorithm_params={"sigma": 1.0}).fit(X, y)
    np.testing.assert_array_equal(est.best_network_.genome, est.ga_.mean_)


def test_algorithm_params_are_checked_and_named(digits):
    X, _, y, _ = digits
    X, y = X[:50], y[:50]
    with pytest.raises(ValueError,
                       match="algorithm_params: 'momentum' is not a parameter of OpenES"):
        _tiny("openes", algorithm_params={"momentum": 0.5}).fit(X, y)
    with pytest.raises(ValueError, match="learning_rate"):
        _tiny("pgpe", algorithm_params={"learning_rate": -1.0}).fit(X, y)
    with pytest.raises(ValueError,
                       match="algorithm_params: 'pop_size' is a parameter of the estimator"):
        _tiny("snes", algorithm_params={"pop_size": 10}).fit(X, y)
    with pytest.raises(ValueError, match="^algorithm_params: the GA takes its settings"):
        _tiny("ga", algorithm_params={"sigma": 0.1}).fit(X, y)
    with pytest.raises(ValueError, match="'algorithm' parameter"):
        _tiny("cmaes").fit(X, y)
    with pytest.raises(ValueError, match="pop_size: must be even"):
        _tiny("pgpe", pop_size=11).fit(X, y)


def test_es_params_and_pop_size_defaults(digits):
    from fastga.es import PGPE

    X, _, y, _ = digits
    est = fastga.GeneticMLPClassifier(algorithm="pgpe", generations=1, architecture=(4,),
                                      algorithm_params={"learning_rate": 0.1}, random_state=0)
    est.fit(X[:100], y[:100])
    assert est.ga_.pop_size == PGPE(4).pop_size and est.ga_.learning_rate == 0.1
    assert est.ga_.sigma == PGPE(4).sigma  # the estimator's own sigma is the GA's
    ga = fastga.GeneticMLPClassifier(algorithm="ga", generations=0, architecture=(4,),
                                     random_state=0).fit(X[:100], y[:100])
    assert ga.ga_.pop_size == 500
    # a warm start with other algorithm_params goes on with them
    est.set_params(warm_start=True, algorithm_params={"momentum": 0.5}).fit(X[:100], y[:100])
    assert est.ga_.momentum == 0.5 and est.ga_.learning_rate == PGPE(4).learning_rate
    assert est.n_generations_ == 2
    # another algorithm starts afresh
    est.set_params(algorithm="snes", algorithm_params=None).fit(X[:100], y[:100])
    assert type(est.ga_).__name__ == "SNES" and est.n_generations_ == 1


@pytest.mark.parametrize("algo", ["pgpe", "sepcmaes"])
def test_es_regressor_learns_and_round_trips(tmp_path, algo):
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, size=(256, 2)).astype(np.float32)
    y = X[:, 0] ** 2 - X[:, 1]
    reg = fastga.GeneticMLPRegressor(algorithm=algo, architecture=(16,), pop_size=40,
                                     generations=60, batch_size=None, random_state=0).fit(X, y)
    assert float(((reg.predict(X) - y) ** 2).mean()) < float(y.var())
    back = fastga.GeneticMLPRegressor.load(reg.save(tmp_path / "reg.npz"))
    np.testing.assert_array_equal(back.predict(X), reg.predict(X))
    assert type(back.ga_) is type(reg.ga_)
