"""Population: one float32 buffer plus children, initialisation, compute."""

import numpy as np
import pytest

from fastga.population import Population, sanitize_fitness
from fastga.spec import NetworkSpec

from . import naive

SPEC = NetworkSpec([4, 3, 2], ["relu", "softmax"])


def test_buffers_are_contiguous_float32_and_swap_without_allocation():
    pop = Population.random(SPEC, 6, random_state=0)
    g, c = pop.genomes, pop.children
    for arr in (g, c):
        assert arr.dtype == np.float32 and arr.flags.c_contiguous
        assert arr.shape == (6, SPEC.n_params)
    assert not np.shares_memory(g, c)
    pop.swap()
    assert pop.genomes is c and pop.children is g
    pop.swap()
    assert pop.genomes is g
    assert pop.fitness.dtype == np.float64 and np.isnan(pop.fitness).all()
    assert len(pop) == pop.size == 6 and pop.generation == 0


def test_constructor_copies_and_converts():
    src = np.arange(2 * SPEC.n_params, dtype=np.float64).reshape(2, -1)
    pop = Population([4, 3, 2], src, fitness=[1.0, np.nan])
    assert pop.genomes.dtype == np.float32
    src[0, 0] = 99
    assert pop.genomes[0, 0] == 0
    assert pop.fitness[0] == 1.0 and pop.fitness[1] == -np.inf
    with pytest.raises(ValueError, match="^genomes"):
        Population(SPEC, np.zeros((2, SPEC.n_params + 1)))
    with pytest.raises(ValueError, match="^genomes"):
        Population(SPEC, np.zeros((0, SPEC.n_params)))
    with pytest.raises(ValueError, match="^fitness"):
        Population(SPEC, np.zeros((2, SPEC.n_params)), fitness=[1.0])


@pytest.mark.parametrize("init,scheme,scale", [("uniform", 0, 0.15), ("normal", 1, 1.0),
                                               ("glorot", 2, 1.0)])
def test_random_matches_reference(init, scheme, scale):
    pop = Population.random(SPEC, 5, random_state=17, init=init)
    np.testing.assert_array_equal(pop.genomes, naive.init_genomes(5, SPEC.sizes, 17, scheme, scale))


def test_random_init_statistics():
    spec = NetworkSpec([40, 30, 10], ["relu", "softmax"])
    ws = [spec.layer_slices(i) for i in range(spec.n_layers)]
    pop = Population.random(spec, 50, random_state=1, init="uniform")
    g = pop.genomes
    for w, b, _ in ws:
        assert np.abs(g[:, w]).max() <= 0.15 and np.abs(g[:, w]).max() > 0.149
        assert abs(g[:, w].mean()) < 0.01
        assert (g[:, b] == 0).all()
    pop = Population.random(spec, 50, random_state=1, init="normal", scale=2.0)
    g = pop.genomes.astype(np.float64)
    assert abs(g.mean()) < 0.05 and abs(g.std() - 2.0) < 0.05
    pop = Population.random(spec, 50, random_state=1, init="glorot")
    for w, b, (n_in, n_out) in ws:
        limit = np.sqrt(6 / (n_in + n_out))
        assert np.abs(pop.genomes[:, w]).max() <= limit
        assert abs(pop.genomes[:, w].std() - limit / np.sqrt(3)) < 0.02 * limit
        assert (pop.genomes[:, b] == 0).all()


def test_random_same_seed_same_genomes_different_seed_different():
    a = Population.random(SPEC, 4, random_state=3).genomes
    np.testing.assert_array_equal(a, Population.random(SPEC, 4, random_state=3).genomes)
    assert not np.array_equal(a, Population.random(SPEC, 4, random_state=4).genomes)
    # Rows are independent of the population size (own stream per individual).
    np.testing.assert_array_equal(Population.random(SPEC, 9, random_state=3).genomes[:4], a)
    g1 = Population.random(SPEC, 4, random_state=np.random.default_rng(8)).genomes
    g2 = Population.random(SPEC, 4, random_state=np.random.default_rng(8)).genomes
    np.testing.assert_array_equal(g1, g2)


def test_random_validates():
    with pytest.raises(ValueError, match="^init"):
        Population.random(SPEC, 3, init="he")
    with pytest.raises(ValueError, match="^size"):
        Population.random(SPEC, 0)
    with pytest.raises(TypeError, match="^size"):
        Population.random(SPEC, 2.5)
    with pytest.raises(ValueError, match="^scale"):
        Population.random(SPEC, 3, scale=-1.0)
    with pytest.raises(ValueError, match="^scale"):
        Population.random(SPEC, 3, scale=float("nan"))
    with pytest.raises(TypeError, match="^scale"):
        Population.random(SPEC, 3, scale="1")


def test_set_genomes_genome_network_best_index():
    pop = Population.random(SPEC, 3, random_state=0)
    new = np.ones((3, SPEC.n_params), dtype=np.float32)
    pop.fitness[:] = 1.0
    pop.set_genomes(new)
    assert np.isnan(pop.fitness).all()
    np.testing.assert_array_equal(pop.genomes, new)
    g = pop.genome(1)
    g[0] = 5
    assert pop.genomes[1, 0] == 1
    with pytest.raises(ValueError, match="^genomes"):
        pop.set_genomes(np.ones((2, SPEC.n_params)))
    with pytest.raises(ValueError, match="^i"):
        pop.genome(3)
    pop.fitness = np.array([np.nan, 0.5, np.inf])
    assert pop.best_index() == 1
    net = pop.network(1)
    np.testing.assert_array_equal(net.genome, pop.genome(1))


def test_sanitize_fitness():
    f = sanitize_fitness([1, np.nan, np.inf, -np.inf, -2])
    np.testing.assert_array_equal(f, [1, -np.inf, -np.inf, -np.inf, -2])
    assert f.dtype == np.float64
    with pytest.raises(ValueError, match="^fitness"):
        sanitize_fitness([1.0, 2.0], n=3)


def test_forward_shape_dtype_and_reference():
    pop = Population.random(SPEC, 5, random_state=2, init="normal")
    X = np.random.default_rng(0).standard_normal((7, 4))
    out = pop.forward(X)
    assert out.shape == (5, 7, 2) and out.dtype == np.float32
    np.testing.assert_allclose(out, naive.forward(pop.genomes, SPEC.sizes, SPEC.activations, X),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out.sum(axis=2), 1.0, rtol=1e-5)  # softmax


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_evaluate_ranks_nonfinite_last():
    spec = NetworkSpec([2, 2], ["linear"])
    genomes = np.zeros((3, spec.n_params), dtype=np.float32)
    genomes[1, 0] = 3e38  # overflows to inf in the output -> NaN loss
    genomes[2, 0] = 1.0
    pop = Population(spec, genomes)
    X = np.array([[1e3, 0.0]], dtype=np.float32)
    f = pop.evaluate(X, np.array([0.0]).reshape(1, 1).repeat(2, axis=1), metric="mse")
    assert f[1] == -np.inf and np.isfinite(f[[0, 2]]).all()
    assert pop.best_index() == 0


@pytest.mark.parametrize("output", ["softmax", "sigmoid", "linear"])
@pytest.mark.parametrize("metric", ["cross_entropy", "accuracy"])
def test_network_with_nan_outputs_never_scores(metric, output):
    """A network whose outputs are NaN (e.g. a NaN or overflowed weight) must
    rank last: its fitness is -inf (NaN loss) or, for accuracy, no sample is
    counted as correct. Here every label is 0, which an argmax that skips NaN
    would "predict" for free."""
    spec = NetworkSpec([2, 3, 3], ["relu", output])
    g = np.zeros((2, spec.n_params), dtype=np.float32)
    g[1, :] = np.nan
    pop = Population(spec, g)
    X = np.ones((20, 2), dtype=np.float32)
    y = np.zeros(20, dtype=np.int64)
    f = pop.evaluate(X, y, metric)
    assert np.isfinite(f[0])
    assert not f[1] > 0, f"a NaN network scored {f[1]} on {metric}"
    if metric == "cross_entropy":
        assert f[1] == -np.inf


def test_evaluate_memory_is_bounded():
    """The fused fitness never holds the (P, B, out) outputs: its peak
    allocation stays far below their size (here 1000 x 512 x 50 float32 = 102 MB)."""
    import tracemalloc

    spec = NetworkSpec([8, 4, 50], ["relu", "softmax"])
    pop = Population.random(spec, 1000, random_state=0)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((512, 8)).astype(np.float32)
    y = rng.integers(0, 50, 512)
    pop.evaluate(X[:16], y[:16])  # compile and warm up outside the trace
    tracemalloc.start()
    try:
        pop.evaluate(X, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    full = 1000 * 512 * 50 * 4
    assert peak < full / 5, f"peak {peak / 1e6:.1f} MB vs outputs {full / 1e6:.1f} MB"


# ------------------------------------------------------------ NetworkSpec
def test_spec_offsets_and_layout():
    spec = NetworkSpec([4, 3, 2], ["relu", "softmax"])
    assert spec.n_params == 4 * 3 + 3 + 3 * 2 + 2 == 23
    assert spec.w_offsets.tolist() == [0, 15] and spec.b_offsets.tolist() == [12, 21]
    assert spec.sizes_array.dtype == spec.act_codes.dtype == spec.w_offsets.dtype == np.int64
    genome = np.arange(23, dtype=np.float32)
    (W1, b1), (W2, b2) = spec.unflatten(genome)
    # W is (n_in, n_out) row-major: W[i, j] = genome[w0 + i * n_out + j]
    assert W1[2, 1] == 2 * 3 + 1 and W2[1, 0] == 15 + 1 * 2 + 0
    np.testing.assert_array_equal(b1, [12, 13, 14])
    np.testing.assert_array_equal(spec.flatten(spec.unflatten(genome)), genome)
    W1[0, 0] = 99  # views into the genome
    assert genome[0] == 99
    assert NetworkSpec([64, 32, 10], ["relu", "softmax"]).n_params == 2410


def test_spec_forms_defaults_and_aliases():
    ref = NetworkSpec([[100, 100, "sigmoid"], [None, 784, "tanh"]])
    assert ref.sizes == (100, 100, 784) and ref.activations == ("sigmoid", "tanh")
    assert NetworkSpec([3, 5, 5, 2]).activations == ("relu", "relu", "linear")
    assert NetworkSpec([3, 5, 2], "tanh").activations == ("tanh", "tanh")
    assert NetworkSpec([3, 2], ["identity"]).activations == ("linear",)
    assert NetworkSpec([3, 2], ["logistic"]).activations == ("sigmoid",)
    assert NetworkSpec([3, 2], [None]).activations == ("linear",)

    def sigmoid(x):
        return x

    assert NetworkSpec([3, 2], [sigmoid]).activations == ("sigmoid",)
    assert NetworkSpec([3, 2], [4]).activations == ("tanh",)


def test_spec_roundtrip_and_equality():
    spec = NetworkSpec([5, 4, 3], ["leaky_relu", "softmax"])
    assert NetworkSpec.from_dict(spec.to_dict()) == spec
    import json

    assert NetworkSpec.from_dict(json.loads(spec.to_json())) == spec
    assert hash(NetworkSpec([5, 4, 3], ["leaky_relu", "softmax"])) == hash(spec)
    assert spec != NetworkSpec([5, 4, 3], ["relu", "softmax"])
    assert NetworkSpec(spec) == spec
    with pytest.raises(ValueError, match="^spec"):
        NetworkSpec.from_dict({"sizes": [1, 2]})


def test_population_network_predicts_like_forward():
    pop = Population.random(SPEC, 3, random_state=4, init="normal")
    X = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_array_equal(pop.network(2).predict(X), pop.forward(X)[2])
