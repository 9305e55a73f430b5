"""Keras export: same predictions as fastga, for every activation; atomic saves."""

import os

import numpy as np
import pytest

import fastga
from fastga import Network, NetworkSpec
from fastga.export.keras import as_network, save_keras
from fastga.registry import ACTIVATION_EXPORT, Activation, names

keras = pytest.importorskip("keras")
pytestmark = pytest.mark.gan


def _net(acts, sizes=(3, 6, 5, 4), seed=0):
    spec = NetworkSpec(list(sizes), acts)
    rng = np.random.default_rng(seed)
    return Network(spec, rng.normal(size=spec.n_params).astype(np.float32) * 0.8)


#: Every activation of the registry at every layer of a 3-layer network.
ALL = names(Activation)
ACT_SETS = [[ALL[k], ALL[(k + 1) % len(ALL)], ALL[(k + 2) % len(ALL)]] for k in range(len(ALL))]


@pytest.mark.parametrize("acts", ACT_SETS, ids=["-".join(a) for a in ACT_SETS])
def test_predictions_match_fastga(acts):
    net = _net(acts)
    X = np.random.default_rng(1).normal(size=(50, 3)).astype(np.float32) * 3
    model = fastga.to_keras(net)
    got = model.predict(X, verbose=0)
    np.testing.assert_allclose(got, net.predict(X), atol=1e-5, rtol=0)
    # leaky_relu is a separate layer with slope 0.01
    if "leaky_relu" in acts:
        leaky = [lyr for lyr in model.layers if isinstance(lyr, keras.layers.LeakyReLU)]
        assert leaky and all(abs(float(lyr.negative_slope) - 0.01) < 1e-9 for lyr in leaky)


@pytest.mark.parametrize("act", list(Activation), ids=lambda a: a.name.lower())
def test_every_keras_name_is_a_keras_activation(act):
    export = ACTIVATION_EXPORT[act]
    assert keras.activations.get(export.keras).__name__ == export.keras
    if export.keras_layer is not None:
        assert hasattr(keras.layers, export.keras_layer[0])


def test_spec_and_genome_and_estimator_like():
    net = _net(["relu", "relu", "linear"])
    X = np.ones((4, 3), dtype=np.float32)
    m = fastga.to_keras(net.spec, genome=net.genome)
    np.testing.assert_allclose(m.predict(X, verbose=0), net.predict(X), atol=1e-5)

    class Fitted:
        best_network_ = net

    assert as_network(Fitted()) is net
    with pytest.raises(TypeError, match="^network: "):
        fastga.to_keras(object())


def test_dropout_layer_does_not_change_predictions():
    net = _net(["tanh", "tanh", "linear"])
    X = np.random.default_rng(2).normal(size=(10, 3)).astype(np.float32)
    m = fastga.to_keras(net, dropout=0.4)
    assert any(isinstance(lyr, keras.layers.Dropout) for lyr in m.layers)
    np.testing.assert_allclose(m.predict(X, verbose=0), net.predict(X), atol=1e-5)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_save_and_reload(tmp_path, suffix):
    if suffix == ".h5":
        pytest.importorskip("h5py")
    net = _net(["leaky_relu", "tanh", "linear"])
    X = np.random.default_rng(3).normal(size=(7, 3)).astype(np.float32)
    path = tmp_path / f"model{suffix}"
    assert fastga.to_keras(net, path=path) is not None
    assert os.path.exists(path)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp files left
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(X, verbose=0), net.predict(X), atol=1e-5)


def test_save_rejects_unknown_suffix(tmp_path):
    with pytest.raises(ValueError, match="^path: "):
        save_keras(_net(["relu", "relu", "linear"]), tmp_path / "m.onnx")


#: Hidden activations for the step-for-step test: not linear (diverges at this
#: learning rate) nor softmax (constant on the one output).
TRAINED = [a for a in names(Activation) if a not in ("linear", "softmax")]


@pytest.mark.parametrize("act", TRAINED)
def test_training_kernel_equals_keras_sgd_step_for_step(act):
    """Same initial weights, same sample order, no dropout: the SGD kernel and
    Keras SGD(momentum) + InverseTimeDecay end with the same weights."""
    from fastga.kernels.training import candidate_keys, epoch_order, init_candidates, train_one
    from fastga.search import Traits
    from fastga.search.trainer import build_layout

    rng = np.random.default_rng(0)
    X = rng.uniform(0, 2 * np.pi, size=(60, 1)).astype(np.float32)
    y = np.sin(X)
    t = Traits((8, 6), 8, 0.1, 0.7, 0.01, 0.0)
    lay = build_layout([t], 1, 1, act)
    p = np.empty(lay.n_params, np.float32)
    v = np.empty_like(p)
    init_candidates(p, v, lay.layer_ptr, lay.layers, 3, 0, np.array([0]), 0, 1)
    model = fastga.to_keras(Network(lay.specs[0], p))
    _, shuffle_key, drop_key = candidate_keys(3, 0, 0)
    val, _, steps = train_one(p, v, lay.layers, t.batch_size, t.learning_rate, t.momentum, t.decay,
                              t.dropout, X, y, X, y, 3, shuffle_key, drop_key)
    schedule = keras.optimizers.schedules.InverseTimeDecay(t.learning_rate, 1, t.decay)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=schedule, momentum=t.momentum),
                  loss="mse")
    for epoch in range(3):
        order = epoch_order(shuffle_key, epoch, X.shape[0])
        model.fit(X[order], y[order], batch_size=t.batch_size, epochs=1, shuffle=False, verbose=0)
    got = np.concatenate([w.ravel() for w in model.get_weights()])
    assert steps == 24
    np.testing.assert_allclose(got, p, atol=1e-5)
    np.testing.assert_allclose(model.evaluate(X, y, verbose=0), val, rtol=1e-4)
