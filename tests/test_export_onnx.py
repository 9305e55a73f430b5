"""ONNX export: onnxruntime predicts what fastga predicts (within 1e-5), for every activation."""

import os

import numpy as np
import pytest

import fastga
from fastga import Network, NetworkSpec

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from fastga.export.onnx import INPUT_NAME, OPSET, to_onnx  # noqa: E402
from fastga.registry import ACTIVATION_EXPORT, Activation, names  # noqa: E402


def _net(acts, sizes=(3, 6, 5, 4), seed=0):
    spec = NetworkSpec(list(sizes), acts)
    rng = np.random.default_rng(seed)
    return Network(spec, (rng.normal(size=spec.n_params) * 0.8).astype(np.float32))


def _run(model, X):
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {INPUT_NAME: np.asarray(X, dtype=np.float32)})[0]


#: Every activation of the registry at every layer of a 3-layer network.
ALL = names(Activation)
ACT_SETS = [[ALL[k], ALL[(k + 1) % len(ALL)], ALL[(k + 2) % len(ALL)]] for k in range(len(ALL))]


@pytest.mark.parametrize("acts", ACT_SETS, ids=["-".join(a) for a in ACT_SETS])
def test_onnxruntime_matches_fastga(acts):
    net = _net(acts)
    X = np.random.default_rng(1).normal(size=(57, 3)).astype(np.float32) * 3
    model = fastga.to_onnx(net)
    got = _run(model, X)
    assert got.shape == (57, 4) and got.dtype == np.float32
    np.testing.assert_allclose(got, net.predict(X), atol=1e-5, rtol=0)
    # per layer: MatMul, the bias Add, then the activation's nodes of the registry
    expected = []
    for act in acts:
        expected += ["MatMul", "Add"] + [s.op for s in ACTIVATION_EXPORT[Activation[act.upper()]].onnx]
    assert [n.op_type for n in model.graph.node] == expected
    if "leaky_relu" in acts:
        leaky = [n for n in model.graph.node if n.op_type == "LeakyRelu"]
        assert all(abs(a.f - 0.01) < 1e-9 for n in leaky for a in n.attribute if a.name == "alpha")


@pytest.mark.parametrize("act", list(Activation), ids=lambda a: a.name.lower())
def test_every_activation_uses_operators_of_the_opset(act):
    for step in ACTIVATION_EXPORT[act].onnx:
        schema = onnx.defs.get_schema(step.op, OPSET)  # raises if the op is newer than OPSET
        assert schema.since_version <= OPSET


def test_single_layer_and_any_batch_size():
    net = _net(["softmax"], sizes=(7, 10))
    model = to_onnx(net)
    for n in (1, 3, 200):
        X = np.random.default_rng(n).uniform(size=(n, 7)).astype(np.float32)
        np.testing.assert_allclose(_run(model, X), net.predict(X), atol=1e-5, rtol=0)


def test_fitted_estimator_and_spec_with_genome(tmp_path):
    from fastga.datasets import load_digits_split

    X_tr, X_te, y_tr, _ = load_digits_split()
    clf = fastga.GeneticMLPClassifier(architecture=(8,), pop_size=12, generations=2,
                                      random_state=0).fit(X_tr, y_tr)
    got = _run(to_onnx(clf), X_te)
    np.testing.assert_allclose(got, clf.predict_proba(X_te), atol=1e-5, rtol=0)
    assert (got.argmax(axis=1) == clf.predict(X_te)).mean() > 0.99  # ties may flip within 1e-5
    net = clf.best_network_
    np.testing.assert_array_equal(_run(to_onnx(net.spec, genome=net.genome), X_te), got)


def test_save_is_atomic_and_loads_back(tmp_path):
    net = _net(["relu", "tanh", "softmax"])
    path = tmp_path / "m.onnx"
    assert to_onnx(net, path) is not None
    assert os.listdir(tmp_path) == ["m.onnx"]  # no temporary file left behind
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    X = np.random.default_rng(2).normal(size=(9, 3)).astype(np.float32)
    np.testing.assert_allclose(_run(model, X), net.predict(X), atol=1e-5, rtol=0)


def test_bad_arguments():
    with pytest.raises(ValueError, match="^path"):
        to_onnx(_net(["relu", "relu", "linear"]), "m.keras")
    with pytest.raises(TypeError, match="^network"):
        to_onnx(object())
