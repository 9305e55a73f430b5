"""Control tasks: the per-network forward pass, the fused rollout kernel and
the fitness objects of fastga.control."""

import numpy as np
import pytest

from fastga import NetworkSpec, Population
from fastga.evaluation import SERIAL_FLOPS

from . import naive


def _rng(*key):
    return np.random.Generator(np.random.Philox(key=np.array((key + (0, 0))[:2], dtype=np.uint64)))


def _threads(n):
    import numba

    class _Ctx:
        def __enter__(self):
            self.old = numba.get_num_threads()
            numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))

        def __exit__(self, *exc):
            numba.set_num_threads(self.old)

    return _Ctx()


# --------------------------------------------------------------- forward_each
SPECS = [
    NetworkSpec([4, 16, 2]),
    NetworkSpec([3, 5, 7, 4], ["tanh", "sigmoid", "softmax"]),
    NetworkSpec([2, 3, 3, 1], ["leaky_relu", "relu", "tanh"]),
]


@pytest.mark.parametrize("spec", SPECS, ids=str)
@pytest.mark.parametrize("E", [1, 5])
def test_forward_each_matches_numpy(spec, E):
    pop = Population.random(spec, 7, random_state=1, init="normal")
    obs = _rng(1, E).normal(size=(7, E, spec.n_inputs)).astype(np.float32)
    out = pop.forward_each(obs)
    assert out.shape == (7, E, spec.n_outputs) and out.dtype == np.float32
    ref = np.stack([naive.network_forward(pop.genomes[r], spec.sizes, spec.activations, obs[r])
                    for r in range(7)])
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)
    # Network r on its own inputs is the shared-input forward of obs[r].
    for r in (0, 6):
        np.testing.assert_allclose(out[r], pop.forward(obs[r], rows=[r])[0], rtol=1e-5,
                                   atol=1e-6)


def test_forward_each_rows():
    pop = Population.random(SPECS[0], 9, random_state=2)
    obs = _rng(2).normal(size=(3, 2, 4)).astype(np.float32)
    out = pop.forward_each(obs, rows=[8, 0, 8])
    for k, r in enumerate([8, 0, 8]):
        np.testing.assert_array_equal(out[k], pop.forward_each(obs[k:k + 1], rows=[r])[0])
    assert not np.array_equal(out[0], out[2])


@pytest.mark.parametrize("P", [5, 600])  # below and above the serial threshold
def test_forward_each_bits_do_not_depend_on_threads(P):
    spec = NetworkSpec([6, 32, 32, 3], ["tanh", "relu", "linear"])
    pop = Population.random(spec, P, random_state=3)
    obs = _rng(3, P).normal(size=(P, 3, 6)).astype(np.float32)
    assert (P * 3 * spec.n_params > SERIAL_FLOPS) == (P == 600)
    with _threads(1):
        one = pop.forward_each(obs)
    with _threads(2):
        two = pop.forward_each(obs)
    np.testing.assert_array_equal(one, two)


def test_forward_each_bad_input_names_obs():
    pop = Population.random(SPECS[0], 4, random_state=0)
    with pytest.raises(ValueError, match="^obs"):
        pop.forward_each(np.zeros((4, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="^obs"):
        pop.forward_each(np.zeros((3, 1, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="^obs"):
        pop.forward_each(np.zeros((4, 1, 5), dtype=np.float32))
    with pytest.raises(ValueError, match="^obs"):
        pop.forward_each(np.zeros((4, 0, 4), dtype=np.float32))
    bad = np.zeros((4, 1, 4), dtype=np.float32)
    bad[2, 0, 1] = np.nan
    with pytest.raises(ValueError, match="^obs"):
        pop.forward_each(bad)
    with pytest.raises(TypeError, match="^obs"):
        pop.forward_each(object())
    # Any array-like of the right shape is converted.
    assert pop.forward_each(np.zeros((4, 1, 4)).tolist()).shape == (4, 1, 2)
