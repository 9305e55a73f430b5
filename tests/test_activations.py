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
