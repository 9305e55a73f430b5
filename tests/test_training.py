"""The SGD training kernel against finite differences and a NumPy reference."""

import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest

from fastga.kernels.training import (
    batch_loss_grad,
    candidate_keys,
    dropout_scale,
    epoch_order,
    train_one,
)
from fastga.search import Traits, train_candidates
from fastga.spec import ACTIVATIONS, NetworkSpec
from tests import naive_training as ref

ACTS = list(ACTIVATIONS)


def table(spec, base=0):
    rows = [(spec.sizes[i], spec.sizes[i + 1], int(spec.act_codes[i]),
             base + int(spec.w_offsets[i]), base + int(spec.b_offsets[i]))
            for i in range(spec.n_layers)]
    return np.asarray(rows, dtype=np.int64)


def setup(act, dtype=np.float64, seed=0, sizes=(3, 4, 5, 2), n=6):
    rng = np.random.default_rng(seed)
    spec = NetworkSpec(list(sizes), [act] * (len(sizes) - 1))
    params = (rng.normal(size=spec.n_params) * 0.7).astype(dtype)
    X = rng.normal(size=(n, sizes[0])).astype(dtype)
    y = rng.normal(size=(n, sizes[-1])).astype(dtype)
    return spec, params, X, y


@pytest.mark.parametrize("use_mask", [False, True])
@pytest.mark.parametrize("act", ACTS)
def test_gradient_matches_finite_differences(act, use_mask):
    spec, params, X, y = setup(act)
    layers = table(spec)
    rng = np.random.default_rng(1)
    mask = (rng.random((X.shape[0], spec.sizes[1])) > 0.3) / 0.7 if use_mask else np.empty((0, 0))
    loss, grad = batch_loss_grad(params, layers, X, y, mask)
    eps = 1e-6
    num = np.empty_like(params)
    for k in range(params.size):
        p = params.copy()
        p[k] += eps
        lp, _ = batch_loss_grad(p, layers, X, y, mask)
        p[k] -= 2 * eps
        lm, _ = batch_loss_grad(p, layers, X, y, mask)
        num[k] = (lp - lm) / (2 * eps)
    assert np.isfinite(loss)
    np.testing.assert_allclose(grad, num, rtol=1e-5, atol=1e-8)
    # Non-trivial: some gradient entries are far from zero.
    assert np.abs(grad).max() > 1e-3


@pytest.mark.parametrize("act", ACTS)
def test_gradient_matches_numpy_reference(act):
    spec, params, X, y = setup(act, dtype=np.float32, seed=3)
    layers = table(spec)
    mask = ((np.random.default_rng(2).random((X.shape[0], spec.sizes[1])) > 0.5) * 2.0)
    loss, grad = batch_loss_grad(params, layers, X, y, mask.astype(np.float32))
    w = [(W.astype(np.float64), b.astype(np.float64)) for W, b in spec.unflatten(params)]
    rloss, rgrads = ref.loss_and_grads(w, spec.activations, X, y, mask)
    np.testing.assert_allclose(loss, rloss, rtol=1e-5)
    np.testing.assert_allclose(grad, spec.flatten(rgrads), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("act,dropout", [("tanh", 0.3), ("relu", 0.0), ("leaky_relu", 0.2),
                                         ("sigmoid", 0.25)])
def test_sgd_steps_match_numpy_reference(act, dropout):
    # 10 samples, batch 4: batches of 4, 4, 2 (a partial one), 3 epochs.
    spec = NetworkSpec([2, 5, 3, 1], [act, act, "linear"])
    rng = np.random.default_rng(5)
    params = (rng.normal(size=spec.n_params) * 0.5).astype(np.float32)
    X = rng.uniform(-1, 1, size=(10, 2)).astype(np.float32)
    y = rng.normal(size=(10, 1)).astype(np.float32)
    bs, lr, mom, decay, epochs = 4, 0.05, 0.9, 0.1, 3
    _, shuffle_key, drop_key = candidate_keys(7, 1, 3)
    h1 = spec.sizes[1]

    def order_fn(epoch):
        return epoch_order(shuffle_key, epoch, X.shape[0])

    def mask_fn(step, m, width):
        return np.array([[dropout_scale(drop_key, (step * bs + i) * width + k, dropout,
                                        1.0 / (1.0 - dropout))
                          for k in range(width)] for i in range(m)])

    expected = ref.train(spec.unflatten(params), spec.activations, X, y, bs, lr, mom, decay,
                         dropout, epochs, order_fn, mask_fn)
    p = params.copy()
    vel = np.zeros_like(p)
    val, trn, steps = train_one(p, vel, table(spec), bs, lr, mom, decay, dropout, X, y, X, y,
                                epochs, shuffle_key, drop_key)
    assert steps == 9
    np.testing.assert_allclose(p, spec.flatten(expected), rtol=2e-4, atol=2e-5)
    assert not np.allclose(p, params)
    if dropout:
        assert any((mask_fn(s, 4, h1) == 0).any() for s in range(9))
    pred = ref.forward(expected, spec.activations, X)[2]
    np.testing.assert_allclose(val, ((pred - y) ** 2).mean(), rtol=1e-3)


def test_epoch_order_is_a_permutation():
    key = candidate_keys(1, 2, 3)[1]
    a, b = epoch_order(key, 0, 50), epoch_order(key, 1, 50)
    assert sorted(a) == list(range(50)) and sorted(b) == list(range(50))
    assert not np.array_equal(a, b)


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 2 * np.pi, size=(n, 1)).astype(np.float32)
    return X, np.sin(X)


TRAITS = [Traits((6, 3), 8, 0.05, 0.9, 0.01, 0.2), Traits((4,), 5, 0.1, 0.5, 0.0, 0.0),
          Traits((7, 7, 2), 16, 0.02, 0.0, 0.001, 0.1)]


def test_ragged_candidates_train_independently():
    X, y = _data()
    Xv, yv = _data(15, 1)
    together = train_candidates(TRAITS, X, y, Xv, yv, epochs=3, seed=11, generation=2,
                                ids=[5, 9, 2])
    for k, t in enumerate(TRAITS):
        alone = train_candidates([t], X, y, Xv, yv, epochs=3, seed=11, generation=2,
                                 ids=[[5, 9, 2][k]])
        assert np.array_equal(alone.networks[0].genome, together.networks[k].genome)
        assert alone.val_mse[0] == together.val_mse[k]
    assert together.networks[2].spec.sizes == (1, 7, 7, 2, 1)
    assert np.isfinite(together.val_mse).all()
    # the reported validation MSE is the trained network's
    for k in range(3):
        pred = together.networks[k].predict(Xv)
        np.testing.assert_allclose(together.val_mse[k], ((pred - yv) ** 2).mean(), rtol=1e-4)


def test_training_reduces_loss():
    X, y = _data(200)
    Xv, yv = _data(50, 1)
    t = Traits((16,), 8, 0.05, 0.9, 0.0, 0.0)
    one = train_candidates([t], X, y, Xv, yv, epochs=1, seed=0)
    many = train_candidates([t], X, y, Xv, yv, epochs=20, seed=0)
    assert many.val_mse[0] < 0.6 * one.val_mse[0]


def test_diverged_candidate_reports_nan_and_others_survive():
    X, y = _data()
    bad = Traits((8, 8), 4, 1e6, 0.9, 0.0, 0.0)
    res = train_candidates([bad, TRAITS[1]], X, y, X, y, epochs=2, seed=0)
    assert np.isnan(res.val_mse[0]) and np.isfinite(res.val_mse[1])


_SCRIPT = """
import hashlib, numpy as np
from tests.test_training import TRAITS, _data
from fastga.search import train_candidates
X, y = _data(); Xv, yv = _data(15, 1)
r = train_candidates(TRAITS * 2, X, y, Xv, yv, epochs=2, seed=3, ids=list(range(6)))
h = hashlib.sha256()
for n in r.networks: h.update(n.genome.tobytes())
h.update(r.val_mse.tobytes())
print(h.hexdigest())
"""


def test_bit_identical_for_any_thread_count():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = []
    for threads in ("1", "2"):
        env = dict(os.environ, NUMBA_NUM_THREADS=threads, PYTHONPATH=root)
        proc = subprocess.run([sys.executable, "-c", _SCRIPT], env=env, cwd=root,
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr
        out.append(proc.stdout.strip())
    assert out[0] == out[1] and len(out[0]) == 64


@pytest.mark.parametrize("kwargs,match", [
    (dict(X=np.array([[np.nan]] * 4)), "^X: "),
    (dict(X=np.empty((0, 1)), y=np.empty((0, 1))), "^X: "),
    (dict(y=np.full((40, 1), np.inf)), "^y: "),
    (dict(X_val=np.ones((3, 2))), "^X_val: "),
    (dict(epochs=0), "^epochs: "),
    (dict(traits_list=[]), "^traits_list: "),
])
def test_bad_data_raises_naming_the_argument(kwargs, match):
    X, y = _data()
    args = dict(traits_list=TRAITS[:1], X=X, y=y, X_val=X, y_val=y, epochs=1, seed=0)
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=match):
        train_candidates(**args)


@pytest.mark.parametrize("kwargs,match", [
    (dict(learning_rate=0.0), "^learning_rate: "),
    (dict(learning_rate=-1.0), "^learning_rate: "),
    (dict(learning_rate=float("nan")), "^learning_rate: "),
    (dict(layer_sizes=(4, -2)), "^layer_sizes: "),
    (dict(layer_sizes=()), "^layer_sizes: "),
    (dict(batch_size=0), "^batch_size: "),
    (dict(momentum=1.0), "^momentum: "),
    (dict(decay=-0.1), "^decay: "),
    (dict(dropout=float("nan")), "^dropout: "),
])
def test_bad_traits_raise_naming_the_trait(kwargs, match):
    base = dict(layer_sizes=(4,), batch_size=8, learning_rate=0.1, momentum=0.5, decay=0.0,
                dropout=0.0)
    base.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=match):
        Traits(**base)
