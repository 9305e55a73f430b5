"""Architecture search: traits, data splits, the search loop and its commands."""

import numpy as np
import pytest

from fastga._random import philox
from fastga.cli import main
from fastga.network import Network
from fastga.search import (
    TRAIT_NAMES,
    ArchitectureSearch,
    TraitBounds,
    Traits,
    breed,
    create_data,
    layer_func,
    make_splits,
    mutate,
    randomize,
    split_data,
)
from fastga.search.search import _rank_key


def rng(k=0):
    return philox(123, k, 1)


# ------------------------------------------------------------------ traits
def test_layer_func_is_the_reference_formula():
    got = layer_func(4, 50, 0.8)
    want = (50 * np.cos(0.8 * np.linspace(0, np.pi / 2, 4))).astype(int)
    assert np.array_equal(got, want) and got[0] == 50 and got[-1] < got[0]


def test_randomize_respects_bounds_and_drops_empty_layers():
    b = TraitBounds(n_layers=(1, 6), neurons=(2, 20), shrink=(0.9, 1.0))
    r = rng()
    seen_drop = False
    for _ in range(300):
        t = randomize(r, b)
        assert 1 <= len(t.layer_sizes) <= 6 and all(1 <= s <= 20 for s in t.layer_sizes)
        assert b.batch_size[0] <= t.batch_size <= b.batch_size[1]
        assert b.learning_rate[0] <= t.learning_rate <= b.learning_rate[1] * (1 + 1e-6)
        assert 0 <= t.momentum < 1 and 0 <= t.dropout < 1 and t.decay >= 0
        seen_drop |= len(t.layer_sizes) < 6
    assert seen_drop


def test_breed_swaps_whole_traits():
    r = rng(1)
    a, b = randomize(r), randomize(r)
    mixed = 0
    for _ in range(20):
        c, d = breed(a, b, r)
        for name in TRAIT_NAMES:
            pair = {getattr(c, name), getattr(d, name)} if name != "layer_sizes" else \
                {tuple(c.layer_sizes), tuple(d.layer_sizes)}
            want = {getattr(a, name), getattr(b, name)} if name != "layer_sizes" else \
                {tuple(a.layer_sizes), tuple(b.layer_sizes)}
            assert pair == want
        mixed += c not in (a, b)
    assert mixed > 0


def test_mutate_redraws_one_to_three_traits():
    r = rng(2)
    t = randomize(r)
    assert mutate(t, r, rate=0.0) == (t, 0)
    counts = set()
    for _ in range(100):
        m, k = mutate(t, r, rate=1.0)
        assert 1 <= k <= 3
        changed = sum(getattr(m, n) != getattr(t, n) for n in TRAIT_NAMES)
        assert changed <= k
        counts.add(k)
    assert counts == {1, 2, 3}


def test_mutation_rate_is_about_one_percent():
    r = rng(3)
    t = randomize(r)
    hits = sum(mutate(t, r)[1] > 0 for _ in range(5000))
    assert 20 <= hits <= 90


@pytest.mark.parametrize("kwargs,match", [
    (dict(shrink=(0.0, 1.5)), "^bounds.shrink: "),
    (dict(neurons=(-3, 10)), "^bounds.neurons: "),
    (dict(learning_rate=(0.0, 0.1)), "^bounds.learning_rate: "),
    (dict(momentum=(0.5, 1.0)), "^bounds.momentum: "),
    (dict(batch_size=(64, 8)), "^bounds.batch_size: "),
    (dict(dropout=(float("nan"), 0.1)), "^bounds.dropout: "),
])
def test_bad_bounds(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        TraitBounds(**kwargs)


def test_traits_round_trip():
    t = randomize(rng(4))
    assert Traits.from_dict(t.to_dict()) == t


# -------------------------------------------------------------------- data
def test_create_data_like_the_reference():
    X, y = create_data(np.cos, 500, random_state=0)
    assert X.shape == y.shape == (500, 1) and X.dtype == np.float32
    assert np.unique(X).size == 500
    assert X.min() >= 0 and X.max() <= np.float32(2 * np.pi)
    np.testing.assert_allclose(y, np.cos(X), atol=1e-6)
    X2, _ = create_data(np.cos, 500, random_state=0)
    assert np.array_equal(X, X2)
    X3, _ = create_data("sin", 50, low=-1, high=1, random_state=0)
    assert X3.min() >= -1 and X3.max() <= 1


@pytest.mark.parametrize("kwargs,match", [
    (dict(func=42), "^func: "),
    (dict(func="nope"), "^func: "),
    (dict(func=np.log, low=-2.0, high=-1.0), "^func: "),  # log of negatives: NaN at every point
    (dict(n=0), "^n: "),
    (dict(low=1.0, high=1.0), "^high: "),
    (dict(low=float("nan")), "^low: "),
])
def test_create_data_errors(kwargs, match):
    args = dict(func=np.sin, n=10, random_state=0)
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=match):
        create_data(**args)


def test_splits_are_disjoint():
    d = make_splits("sin", 1000, random_state=1)
    assert (d.X_train.shape[0], d.X_val.shape[0], d.X_test.shape[0]) == (600, 200, 200)
    tr, va, te = (set(a[:, 0].tolist()) for a in (d.X_train, d.X_val, d.X_test))
    assert not (tr & va) and not (tr & te) and not (va & te)
    with pytest.raises(ValueError, match="^test_size: "):
        split_data(d.X_train, d.y_train, 0.5, 0.5)
    with pytest.raises(ValueError, match="^X: "):
        split_data(np.empty((0, 1)), np.empty((0, 1)))


# ------------------------------------------------------------------ search
@pytest.fixture(scope="module")
def data():
    return make_splits("sin", 300, random_state=0)


def _fit(data, **kw):
    args = dict(population_size=6, generations=3, epochs=2, random_state=7)
    args.update(kw)
    return ArchitectureSearch(**args).fit(data.X_train, data.y_train, data.X_val, data.y_val)


def test_search_is_reproducible_and_keeps_its_size(data):
    a, b = _fit(data), _fit(data)
    assert a.history_ == b.history_
    assert a.best_traits_ == b.best_traits_
    assert np.array_equal(a.best_network_.genome, b.best_network_.genome)
    assert len(a.population_) == 6 and len(a.history_) == 3
    # survivors are never trained again: 6 new, then 6 - 1 elite per generation
    assert len(a.results_) == 6 + 2 * 5
    assert a.history_["n_trained"].tolist() == [6, 5, 5]
    assert len({r["id"] for r in a.results_}) == len(a.results_)
    assert np.all(np.diff(a.history_["best_val_mse"]) <= 0)
    c = _fit(data, random_state=8)
    assert c.history_ != a.history_


def test_best_score_is_the_best_networks_validation_mse(data):
    s = _fit(data)
    assert isinstance(s.best_network_, Network)
    assert s.best_network_.spec.sizes == (1,) + s.best_traits_.layer_sizes + (1,)
    np.testing.assert_allclose(s.best_score_, s.mse(data.X_val, data.y_val), rtol=1e-4)
    assert s.best_score_ == min(r["val_mse"] for r in s.results_ if np.isfinite(r["val_mse"]))
    assert s.predict(data.X_test).shape == (data.X_test.shape[0], 1)
    assert s.predict(data.X_test[:, 0]).shape == (data.X_test.shape[0], 1)


def test_fit_holds_out_validation_when_not_given(data):
    s = ArchitectureSearch(population_size=3, generations=1, epochs=1, random_state=0)
    s.fit(data.X_train[:, 0], data.y_train[:, 0])
    assert np.isfinite(s.best_score_)


def test_diverged_candidates_rank_last():
    assert np.argsort(_rank_key([0.3, np.nan, 0.1, np.inf]), kind="stable").tolist() == [2, 0, 1, 3]
    d = make_splits("sin", 100, random_state=0)
    s = ArchitectureSearch(population_size=4, generations=2, epochs=2, random_state=0,
                           bounds={"learning_rate": (1e6, 1e7)})
    s.fit(d.X_train, d.y_train, d.X_val, d.y_val)
    assert np.isnan(s.best_score_) and s.history_["n_diverged"][0] == 4


@pytest.mark.parametrize("kwargs,match", [
    (dict(population_size=1), "^population_size: "),
    (dict(generations=0), "^generations: "),
    (dict(epochs=-1), "^epochs: "),
    (dict(activation="swish"), "^activation: "),
    (dict(bounds={"learning_rate": (-1.0, 0.1)}), "^bounds.learning_rate: "),
    (dict(bounds={"neurons": (0, 4)}), "^bounds.neurons: "),
    (dict(mutation_rate=2.0), "^mutation_rate: "),
])
def test_bad_settings(data, kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        _fit(data, **kwargs)


def test_bad_data(data):
    X = data.X_train.copy()
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="^X: "):
        _fit(data, generations=1).fit(X, data.y_train)
    with pytest.raises(ValueError, match="^X: "):
        ArchitectureSearch().fit(np.empty((0, 1)), np.empty((0, 1)))
    with pytest.raises(ValueError, match="^X_val: "):
        ArchitectureSearch().fit(data.X_train, data.y_train, X_val=data.X_val)
    with pytest.raises(ValueError, match="^y: "):
        ArchitectureSearch().fit(data.X_train, data.y_train[:10])


# ---------------------------------------------------------------- commands
def test_arch_and_evaluate_commands(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["arch", "--func", "cos", "--pop-size", "4", "--generations", "2",
                 "--epochs", "2", "--samples", "200", "--out", str(out), "--no-keras", "--quiet"])
    assert code == 0
    assert (out / "arch_best.npz").exists() and (out / "arch_best_fit.png").exists()
    assert (out / "arch_best_fit.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = capsys.readouterr().out
    assert "validation MSE" in text
    net = Network.load(out / "arch_best.npz")
    assert net.meta["func"] == "cos" and "traits" in net.meta
    assert main(["evaluate", str(out / "arch_best.npz"), "--angle", "40"]) == 0
    text = capsys.readouterr().out
    pred = net.predict(np.array([[np.radians(40.0)]], dtype=np.float32))[0, 0]
    assert f"prediction {pred:.6f}" in text and f"true cos(x) {np.cos(np.radians(40)):.6f}" in text


def test_commands_report_bad_arguments(tmp_path, capsys):
    assert main(["arch", "--pop-size", "1", "--out", str(tmp_path), "--quiet"]) == 2
    assert "population_size" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "missing.npz"), "--angle", "40"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_estimator_conventions(data):
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError

    s = ArchitectureSearch(population_size=3, generations=1, epochs=1, random_state=0)
    assert clone(s).get_params() == s.get_params()
    assert not hasattr(s, "best_network_")
    with pytest.raises(NotFittedError):
        s.predict(data.X_test)
    s.fit(data.X_train, data.y_train, data.X_val, data.y_val)
    r2 = s.score(data.X_test, data.y_test)
    mse = s.mse(data.X_test, data.y_test)
    np.testing.assert_allclose(r2, 1 - mse / data.y_test.var(), rtol=1e-4)
