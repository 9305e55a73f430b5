"""The activations' kernels (fastga.kernels.activations) against their NumPy
references, for every activation of the registry."""

import numpy as np
import pytest

from fastga.kernels.activations import act_backward, act_forward, activate_block
from fastga.kernels.forward import LANES
from fastga.registry import Activation

from . import naive, naive_training

ACTS = list(Activation)


def _ids(act):
    return act.name.lower()


@pytest.mark.parametrize("act", ACTS, ids=_ids)
def test_block_matches_reference(act):
    """Rows are units, columns samples (softmax runs over the rows)."""
    rng = np.random.default_rng(int(act))
    n = 5
    v = np.empty((n, LANES), dtype=np.float32)
    v[:] = rng.uniform(-12.0, 12.0, size=v.shape)
    v[:, :8] = np.linspace(-4, 4, 8 * n).reshape(n, 8)  # the curved part of every activation
    v[:, 8] = 0.0
    ref = naive.activation(act.name.lower(), v.T.astype(np.float64)).T
    out = v.copy()
    tmp = np.empty(2 * LANES, dtype=np.float32)
    activate_block(out, n, int(act), tmp, LANES)
    assert np.all(np.abs(out - ref) <= 1e-5 * np.abs(ref) + 1e-6), \
        f"max error {np.max(np.abs(out - ref)):.3g}"


@pytest.mark.parametrize("act", ACTS, ids=_ids)
def test_block_leaves_other_samples_and_rows(act):
    v = np.random.default_rng(0).normal(size=(4, LANES)).astype(np.float32)
    out = v.copy()
    activate_block(out, 3, int(act), np.empty(2 * LANES, np.float32), LANES // 2)
    np.testing.assert_array_equal(out[3], v[3])
    np.testing.assert_array_equal(out[:, LANES // 2:], v[:, LANES // 2:])


@pytest.mark.parametrize("act", ACTS, ids=_ids)
def test_training_forward_and_backward_match_reference(act):
    rng = np.random.default_rng(int(act))
    n = 7
    z = rng.uniform(-3.0, 3.0, size=n)
    g = rng.normal(size=n)
    a = z.copy()
    act_forward(a, n, int(act))
    name = act.name.lower()
    np.testing.assert_allclose(a, naive_training.activate(z[None, :], name)[0], rtol=1e-12,
                               atol=1e-15)
    gz = g.copy()
    act_backward(a, z, gz, n, int(act))
    np.testing.assert_allclose(gz, naive_training.activation_vjp(z[None, :], g[None, :], name)[0],
                               rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("path", ["direct", "gemm"])
@pytest.mark.parametrize("act", ACTS, ids=_ids)
def test_population_losses_and_evaluate_with_every_hidden_activation(act, path, monkeypatch):
    """The fused fitness (Population.losses / evaluate) on both paths of the
    forward pass, with ``act`` on both hidden layers, against NumPy."""
    from fastga import NetworkSpec, evaluation
    from fastga.population import Population

    monkeypatch.setattr(evaluation, "DIRECT_INPUT_BYTES", 0 if path == "gemm" else 1 << 40)
    name = act.name.lower()
    rng = np.random.default_rng(7)
    for output in ("softmax", "linear"):
        spec = NetworkSpec([6, 9, 5, 4], [name, name, output])
        genomes = (0.6 * rng.standard_normal((5, spec.n_params))).astype(np.float32)
        X = (2 * rng.standard_normal((70, 6))).astype(np.float32)
        y = rng.integers(0, 4, 70)
        pop = Population(spec, genomes)
        loss, acc = pop.losses(X, y)
        ref_loss, ref_acc, _ = naive.fused_fitness(genomes, spec.sizes, spec.activations, X, y,
                                                   "cross_entropy")
        np.testing.assert_allclose(loss, ref_loss, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(acc, ref_acc)
        Y = rng.standard_normal((70, 4))
        ref_mse, _, _ = naive.fused_fitness(genomes, spec.sizes, spec.activations, X, Y, "mse")
        np.testing.assert_allclose(pop.evaluate(X, Y, "mse"), -ref_mse, rtol=1e-5)
