"""scikit-learn's own estimator checks and workflows on the GeneticMLP estimators.

``parametrize_with_checks`` runs every check of ``check_estimator``; the
estimators declare no expected failure (``EXPECTED_FAILED_CHECKS`` is empty).
scikit-learn skips its array-API check unless ``SCIPY_ARRAY_API=1`` was set
before SciPy was imported, so that check also runs in a fresh interpreter
with the variable set.
"""

import os
import pickle
import subprocess
import sys

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris, make_regression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from fastga.estimators import EXPECTED_FAILED_CHECKS, GeneticMLPClassifier, GeneticMLPRegressor

#: Small settings at which every check passes quickly.
CHECKED = dict(pop_size=60, generations=40, architecture=(16,), random_state=0)


def _estimators():
    return [GeneticMLPClassifier(**CHECKED), GeneticMLPRegressor(**CHECKED)]


@parametrize_with_checks(_estimators(), expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS)
def test_sklearn_check(estimator, check):
    check(estimator)


def test_no_check_is_marked():
    assert EXPECTED_FAILED_CHECKS == {}
    for est in _estimators():
        assert est._more_tags()["_xfail_checks"] == {}


@pytest.mark.parametrize("estimator", _estimators(), ids=lambda e: type(e).__name__)
def test_parameters_are_validated_declaratively(estimator):
    """Every parameter has a constraint, and a value that breaks it raises
    scikit-learn's InvalidParameterError (a ValueError) naming the parameter."""
    from sklearn.utils._param_validation import InvalidParameterError
    from sklearn.utils.estimator_checks import check_param_validation

    check_param_validation(type(estimator).__name__, estimator)
    X, y = load_iris(return_X_y=True)
    with pytest.raises(InvalidParameterError, match="'sigma' parameter"):
        clone(estimator).set_params(sigma=-1.0).fit(X, y)


_ARRAY_API = """
import warnings
from sklearn.utils.estimator_checks import check_estimator
from fastga.estimators import GeneticMLPClassifier, GeneticMLPRegressor
for cls in (GeneticMLPClassifier, GeneticMLPRegressor):
    est = cls(pop_size=20, generations=3, architecture=(4,), random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(est, on_fail=None, on_skip=None)
    runs = [r for r in results if r["check_name"] == "check_array_api_input"]
    assert runs, "no array-API check ran"
    assert all(r["status"] == "passed" for r in runs), runs
print("ok")
"""


def test_array_api_check_with_scipy_array_api():
    env = dict(os.environ, SCIPY_ARRAY_API="1")
    out = subprocess.run([sys.executable, "-c", _ARRAY_API], env=env, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("ok")


# ------------------------------------------------------------------ workflows
@pytest.fixture(scope="module")
def iris_strings():
    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])
    return X, names[y]


def test_pipeline_with_string_labels(iris_strings):
    X, y = iris_strings
    pipe = make_pipeline(StandardScaler(), GeneticMLPClassifier(
        pop_size=60, generations=80, architecture=(8,), random_state=0))
    pipe.fit(X, y)
    clf = pipe[-1]
    assert list(clf.classes_) == ["setosa", "versicolor", "virginica"]
    pred = pipe.predict(X)
    assert pred.dtype == y.dtype and set(pred) <= set(y)
    assert pipe.score(X, y) > 0.8
    proba = pipe.predict_proba(X)
    assert proba.shape == (150, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("labels", [
    np.array(["b", "c", "a"]),
    np.array([3, -1, 7]),
    np.array([True, False, True]),
    np.array(["ab", "a", "B"], dtype=object),
    np.array([2.0, -1.0, 0.0]),
])
def test_classes_are_sorted_as_label_encoder_sorts_them(labels):
    from sklearn.preprocessing import LabelEncoder

    X, y = load_iris(return_X_y=True)
    yy = labels[y]
    clf = GeneticMLPClassifier(pop_size=10, generations=2, architecture=(4,),
                               random_state=0).fit(X, yy)
    np.testing.assert_array_equal(clf.classes_, LabelEncoder().fit(yy).classes_)
    assert clf.classes_.dtype == LabelEncoder().fit(yy).classes_.dtype
    assert set(clf.predict(X)) <= set(yy)


def test_feature_names_are_set_and_checked():
    pytest.importorskip("pandas")
    X, y = load_iris(return_X_y=True, as_frame=True)
    clf = GeneticMLPClassifier(pop_size=10, generations=2, architecture=(4,), random_state=0)
    clf.fit(X, y)
    assert clf.n_features_in_ == 4
    assert list(clf.feature_names_in_) == list(X.columns)
    renamed = X.rename(columns={X.columns[0]: "other"})
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(renamed)
    with pytest.warns(UserWarning, match="feature names"):
        np.testing.assert_array_equal(clf.predict(X.to_numpy()), clf.predict(X))


def test_grid_search(iris_strings):
    X, y = iris_strings
    base = GeneticMLPClassifier(algorithm="ga", pop_size=30, generations=15, architecture=(8,),
                                random_state=0)
    grid = GridSearchCV(make_pipeline(StandardScaler(), base),
                        {"geneticmlpclassifier__mutation_rate": [0.1, 0.2],
                         "geneticmlpclassifier__sigma": [0.05, 0.1]}, cv=3)
    grid.fit(X, y)
    assert set(grid.best_params_) == {"geneticmlpclassifier__mutation_rate",
                                      "geneticmlpclassifier__sigma"}
    assert grid.cv_results_["mean_test_score"].shape == (4,)
    assert grid.best_score_ > 0.6
    assert grid.predict(X[:5]).dtype == y.dtype


def test_cross_val_score_regressor():
    X, y = make_regression(n_samples=200, n_features=5, noise=1.0, random_state=0)
    reg = make_pipeline(StandardScaler(), GeneticMLPRegressor(
        pop_size=60, generations=60, architecture=(8,), random_state=0))
    scores = cross_val_score(reg, X, y / y.std(), cv=3)
    assert scores.shape == (3,)
    assert np.all(np.isfinite(scores))
    assert scores.mean() > 0.3


@pytest.mark.parametrize("dump, load", [
    (pickle.dumps, pickle.loads),
    (lambda obj: _joblib_dump(obj), lambda path: joblib.load(path)),
])
def test_pickle_round_trip(iris_strings, dump, load):
    X, y = iris_strings
    clf = GeneticMLPClassifier(pop_size=20, generations=5, architecture=(4,), random_state=0)
    clf.fit(X, y)
    back = load(dump(clf))
    np.testing.assert_array_equal(back.predict(X), clf.predict(X))
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    assert back.history_ == clf.history_
    assert back.ga_.population_.workspace._buffers == {}  # scratch is not pickled
    # the GA goes on bit-identically after the round trip
    ga = load(dump(clf.ga_))
    clf.set_params(warm_start=True, generations=3).fit(X, y)
    back.set_params(warm_start=True, generations=3).fit(X, y)
    np.testing.assert_array_equal(back.ga_.population_.genomes, clf.ga_.population_.genomes)
    assert ga.population_.generation == 5


def _joblib_dump(obj, _counter=[0]):
    import tempfile

    _counter[0] += 1
    path = os.path.join(tempfile.mkdtemp(prefix="fastga-joblib-"), f"obj{_counter[0]}.joblib")
    joblib.dump(obj, path)
    return path


def test_clone_is_safe_and_unfitted(iris_strings):
    X, y = iris_strings
    clf = GeneticMLPClassifier(pop_size=10, generations=2, architecture=(4,), type_probs=[0, 0, 0, 1],
                               random_state=0).fit(X, y)
    copy = clone(clf)
    assert not hasattr(copy, "ga_") and not hasattr(copy, "classes_")
    assert copy.get_params() == clf.get_params()
    assert copy.type_probs == clf.type_probs and copy.type_probs is not clf.type_probs


def test_sample_weight_weights_the_fitness():
    from fastga.fitness import SupervisedFitness
    from fastga.population import Population

    X, y = load_iris(return_X_y=True)
    pop = Population.random([4, 6, 3], 12, random_state=0, init="normal")
    w = np.random.default_rng(0).integers(0, 4, size=150).astype(float)
    weighted = SupervisedFitness(X, y, sample_weight=w, n_outputs=3)
    repeated = SupervisedFitness(np.repeat(X, w.astype(int), axis=0), np.repeat(y, w.astype(int)),
                                 n_outputs=3)
    np.testing.assert_allclose(weighted(pop), repeated(pop), rtol=1e-6)
    loss_w, acc_w = weighted.losses(pop)
    loss_r, acc_r = repeated.losses(pop)
    np.testing.assert_allclose(acc_w, acc_r, rtol=1e-12)
    # equal weights take the plain path: the same bits as no weights
    plain = SupervisedFitness(X, y, n_outputs=3)
    same = SupervisedFitness(X, y, sample_weight=np.full(150, 2.5), n_outputs=3)
    np.testing.assert_array_equal(plain(pop), same(pop))


def test_sample_weight_changes_the_fit():
    X, y = load_iris(return_X_y=True)
    kw = dict(pop_size=20, generations=5, architecture=(4,), random_state=0)
    w = np.where(y == 0, 10.0, 1.0)
    a = GeneticMLPClassifier(**kw).fit(X, y)
    b = GeneticMLPClassifier(**kw).fit(X, y, sample_weight=w)
    c = GeneticMLPClassifier(**kw).fit(X, y, sample_weight=np.ones(150))
    assert a.history_ == c.history_
    assert not np.array_equal(a.history_["best_fitness"], b.history_["best_fitness"])
