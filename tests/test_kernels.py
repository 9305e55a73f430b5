"""Every kernel against its NumPy reference (tests/naive.py) on tiny shapes."""

import numpy as np
import pytest

from fastga import evaluation
from fastga.kernels.forward import LANES
from fastga.population import Population
from fastga.spec import ACTIVATIONS, NetworkSpec

from . import naive
from .cases import CASES, TINY_SHAPES, make_spec
from .kernel_drivers import (copy_rows, crossover_neuron, crossover_single_point,
                             crossover_uniform, mutate)


def _shape_id(shape):
    return f"P{shape['P']}-B{shape['B']}-" + "x".join(map(str, shape["sizes"])) + "-" + \
        "-".join(shape["activations"])


#: The cases that run the forward pass, and so both of its paths: the direct
#: one (every layer in the epilogue, the tiny shapes' default) and the GEMM one
#: (forced by ``DIRECT_INPUT_BYTES = 0``).
FORWARD_CASES = sorted(n for n in CASES if n == "forward" or n.startswith("fused"))
PATHS = ["direct", "gemm"]


def _use_path(monkeypatch, path):
    if path == "gemm":
        monkeypatch.setattr(evaluation, "DIRECT_INPUT_BYTES", 0)
    else:
        monkeypatch.setattr(evaluation, "DIRECT_INPUT_BYTES", 1 << 40)


@pytest.mark.parametrize("shape", TINY_SHAPES, ids=_shape_id)
@pytest.mark.parametrize("name,path", [(n, "direct") for n in sorted(CASES)]
                         + [(n, "gemm") for n in FORWARD_CASES])
def test_case_matches_reference(name, path, shape, monkeypatch):
    _use_path(monkeypatch, path)
    case = CASES[name]
    inputs = case.make(**shape)
    case.check(case.fast(inputs), case.reference(inputs))


def test_paths_are_chosen_by_input_size():
    assert evaluation.is_direct(64, 1437)          # digits: 368 KB of inputs
    assert evaluation.is_direct(784, 256)          # 784 KB
    assert not evaluation.is_direct(784, 1024)     # 3.2 MB: one GEMM per piece
    assert not evaluation.is_direct(1, 10 ** 6)


@pytest.mark.parametrize("shape", [dict(P=9, B=70, sizes=(40, 9, 7, 10)),
                                   dict(P=5, B=130, sizes=(65, 5, 3)),
                                   dict(P=3, B=70, sizes=(300, 7, 10))],
                         ids=["3-layers", "ragged", "k-chunks"])
def test_direct_and_gemm_paths_agree(shape, monkeypatch):
    """Both paths give the reference's values; they differ only in rounding."""
    out = {}
    for path in PATHS:
        _use_path(monkeypatch, path)
        for name in FORWARD_CASES:
            case = CASES[name]
            inputs = case.make(**shape, seed=3)
            got = case.fast(inputs)
            case.check(got, case.reference(inputs))
            out[path, name] = got
    np.testing.assert_allclose(out["direct", "forward"], out["gemm", "forward"], rtol=1e-4,
                               atol=1e-5)


@pytest.mark.parametrize("name", ["fused_cross_entropy", "fused_accuracy", "fused_mse"])
@pytest.mark.parametrize("activations", [("relu", "softmax"), ("tanh", "softmax")])
def test_fitness_in_sample_slabs_matches_reference(name, activations, monkeypatch):
    """Inputs too big for the direct path whole, in slabs of whole blocks: 300
    samples of 20 inputs with room for 4 blocks give slabs of 128 and 172."""
    monkeypatch.setattr(evaluation, "DIRECT_INPUT_BYTES", 4 * 20 * LANES * 4)
    assert evaluation.sample_slabs(20, 300) == [(0, 128), (128, 300)]
    case = CASES[name]
    inputs = case.make(P=6, B=300, sizes=(20, 7, 5), seed=4, activations=activations)
    case.check(case.fast(inputs), case.reference(inputs))


def test_sample_slabs():
    assert evaluation.sample_slabs(64, 1437) == [(0, 1437)]        # direct, whole
    assert evaluation.sample_slabs(784, 1024) == [(0, 256), (256, 512), (512, 768), (768, 1024)]
    assert evaluation.sample_slabs(5000, 1000) == [(0, 1000)]      # GEMM: < 4 blocks fit
    slabs = evaluation.sample_slabs(784, 10000)
    assert slabs[0][0] == 0 and slabs[-1][1] == 10000
    assert all(a[1] == b[0] and a[0] % LANES == 0 for a, b in zip(slabs, slabs[1:]))
    assert max(b - a for a, b in slabs) <= 5 * LANES              # each fits 1 MB


@pytest.mark.parametrize("name", sorted(CASES))
def test_case_fast_is_repeatable(name):
    """``fast`` leaves its inputs reusable: a second call gives the same result."""
    case = CASES[name]
    inputs = case.make(**TINY_SHAPES[1], seed=3)
    first = case.fast(inputs)
    case.check(case.fast(inputs), case.reference(inputs))
    case.check(first, case.reference(inputs))


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("name", ["crossover_neuron", "crossover_uniform", "mutate", "init_normal"])
def test_operator_other_seeds(name, seed):
    case = CASES[name]
    inputs = case.make(**TINY_SHAPES[6], seed=seed)
    case.check(case.fast(inputs), case.reference(inputs))


# ------------------------------------------------------------ activations
@pytest.mark.parametrize("hidden", sorted(ACTIVATIONS))
@pytest.mark.parametrize("output", sorted(ACTIVATIONS))
def test_forward_every_activation_pair(hidden, output, monkeypatch):
    shape = dict(P=3, B=5, sizes=(4, 6, 3), activations=(hidden, output))
    for path in PATHS:
        _use_path(monkeypatch, path)
        for name in ("forward", "fused_cross_entropy", "fused_mse"):
            case = CASES[name]
            inputs = case.make(**shape, seed=11)
            case.check(case.fast(inputs), case.reference(inputs))


@pytest.mark.parametrize("act", sorted(ACTIVATIONS))
def test_forward_large_inputs_stay_finite(act):
    """Saturating inputs: sigmoid/tanh/softmax must not overflow to NaN."""
    spec = NetworkSpec([3, 4, 3], [act, act])
    rng = np.random.default_rng(0)
    genomes = (5.0 * rng.standard_normal((2, spec.n_params))).astype(np.float32)
    X = (200.0 * rng.standard_normal((6, 3))).astype(np.float32)
    out = Population(spec, genomes).forward(X)
    ref = naive.forward(genomes, spec.sizes, spec.activations, X)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())


def test_fused_cross_entropy_stable_for_huge_logits():
    """Log-softmax from the logits: no overflow, no log(0), even at logits ~ 1e3."""
    spec = NetworkSpec([2, 3], ["softmax"])
    genome = spec.flatten([(np.array([[300.0, -300.0, 0.0], [0.0, 0.0, 0.0]]), np.zeros(3))])
    pop = Population(spec, genome[None, :])
    X = np.array([[4.0, 1.0], [-4.0, 0.0]], dtype=np.float32)
    y = np.array([1, 1])
    loss, acc = pop.losses(X, y)
    # sample 0: logits (1200, -1200, 0), label 1 -> 2400; sample 1: (-1200, 1200, 0) -> 0
    np.testing.assert_allclose(loss, [1200.0], rtol=1e-6)
    np.testing.assert_array_equal(acc, [0.5])


def test_leaky_relu_slope_is_one_percent():
    spec = NetworkSpec([1, 1], ["leaky_relu"])
    genome = spec.flatten([(np.array([[1.0]]), np.array([0.0]))])
    out = Population(spec, genome[None, :]).forward(np.array([[-2.0], [3.0]], dtype=np.float32))
    np.testing.assert_allclose(out[0, :, 0], [-0.02, 3.0], rtol=1e-6)


def test_forward_known_values():
    """A hand-computed network: relu hidden layer, softmax output."""
    spec = NetworkSpec([2, 2, 2], ["relu", "softmax"])
    W1 = np.array([[1.0, -1.0], [2.0, 0.5]])
    b1 = np.array([0.5, -0.25])
    W2 = np.array([[1.0, 0.0], [0.0, 1.0]])
    b2 = np.array([0.0, 1.0])
    genome = spec.flatten([(W1, b1), (W2, b2)])
    X = np.array([[1.0, 1.0]], dtype=np.float32)
    h = np.maximum(X @ W1 + b1, 0)  # (3.5, 0)
    z = h @ W2 + b2  # (3.5, 1)
    expected = np.exp(z) / np.exp(z).sum()
    out = Population(spec, genome[None, :]).forward(X)
    np.testing.assert_allclose(out[0], expected, rtol=1e-6)


# -------------------------------------------------------- chunks and rows
@pytest.mark.parametrize("path", PATHS)
def test_forward_and_fitness_in_many_chunks(monkeypatch, path):
    """Chunking over networks changes nothing (chunks of 2 networks here,
    or pieces of 1-2 networks on 4 threads for the direct path)."""
    _use_path(monkeypatch, path)
    shape = dict(P=7, B=6, sizes=(5, 4, 3), activations=("tanh", "softmax"))
    expected = {}
    for name in ("forward", "fused_cross_entropy", "fused_mse"):
        case = CASES[name]
        inputs = case.make(**shape, seed=4)
        expected[name] = (case, inputs, case.fast(inputs))
    monkeypatch.setattr(evaluation, "chunk_rows", lambda *args, **kw: 2)
    monkeypatch.setattr(evaluation, "PIECES_PER_THREAD", 1)
    import numba
    before = numba.get_num_threads()
    numba.set_num_threads(min(4, numba.config.NUMBA_NUM_THREADS))
    try:
        results = {name: case.fast(inputs) for name, (case, inputs, _) in expected.items()}
    finally:
        numba.set_num_threads(before)
    for name, (case, inputs, whole) in expected.items():
        chunked = results[name]
        case.check(chunked, case.reference(inputs))
        if isinstance(whole, dict):
            for k in whole:
                np.testing.assert_array_equal(whole[k], chunked[k])
        else:
            np.testing.assert_array_equal(whole, chunked)


def test_chunk_rows_is_bounded():
    assert evaluation.chunk_rows(1000, 256, 64, 32, chunk_bytes=1 << 20) == (1 << 20) // (4 * 32 * 256)
    assert evaluation.chunk_rows(3, 10, 10, 10) == 3
    assert evaluation.chunk_rows(5, 10 ** 9, 10, 10, chunk_bytes=1) == 1


def test_population_forward_rows_subset():
    case = CASES["forward"]
    inputs = case.make(**TINY_SHAPES[0])
    pop = inputs["pop"]
    rows = np.array([4, 0, 2])
    np.testing.assert_array_equal(pop.forward(inputs["X"], rows=rows),
                                  pop.forward(inputs["X"])[rows])


def test_population_losses_and_evaluate_match_reference():
    shape = TINY_SHAPES[1]
    spec = make_spec(shape["sizes"], shape["activations"])
    rng = np.random.default_rng(5)
    genomes = (0.5 * rng.standard_normal((shape["P"], spec.n_params))).astype(np.float32)
    X = rng.standard_normal((shape["B"], spec.n_inputs)).astype(np.float32)
    y = rng.integers(0, spec.n_outputs, shape["B"])
    pop = Population(spec, genomes)
    loss, acc, _ = naive.fused_fitness(genomes, spec.sizes, spec.activations, X, y, "cross_entropy")
    np.testing.assert_allclose(pop.evaluate(X, y, "cross_entropy"), -loss, rtol=1e-5)
    np.testing.assert_array_equal(pop.evaluate(X, y, "accuracy"), acc)
    Y = rng.standard_normal((shape["B"], spec.n_outputs))
    mse, _, _ = naive.fused_fitness(genomes, spec.sizes, spec.activations, X, Y, "mse")
    np.testing.assert_allclose(pop.evaluate(X, Y, "mse"), -mse, rtol=1e-5)
    assert pop.fitness.dtype == np.float64


# ------------------------------------------------------- operator corners
def test_mutate_rate_zero_changes_nothing():
    case = CASES["mutate"]
    inputs = dict(case.make(**TINY_SHAPES[0]), rate=0.0)
    genomes, counts = case.fast(inputs)
    np.testing.assert_array_equal(genomes, inputs["genomes"])
    np.testing.assert_array_equal(counts, 0)
    case.check((genomes, counts), case.reference(inputs))


def test_mutate_rate_one_hits_every_weight():
    case = CASES["mutate_dense"]
    inputs = dict(case.make(**TINY_SHAPES[1]), type_probs=(0.0, 1.0, 0.0),
                  cum_probs=np.array([0.0, 1.0, 1.0, 1.0]))
    genomes, counts = case.fast(inputs)
    rows = inputs["rows"]
    np.testing.assert_array_equal(counts, inputs["spec"].n_params)
    np.testing.assert_array_equal(genomes[rows], -inputs["genomes"][rows])
    np.testing.assert_array_equal(genomes[0], inputs["genomes"][0])  # not in rows
    case.check((genomes, counts), case.reference(inputs))


@pytest.mark.parametrize("type_probs", [(1.0, 0.0, 0.0), (0.0, 0.0, 1.0), (0.0, 0.0, 0.0, 1.0),
                                        (0.3, 0.3, 0.4)])
@pytest.mark.parametrize("rate", [1e-9, 0.01, 0.5, 0.999, 1 - 1e-12])
def test_mutate_types_and_rates(type_probs, rate):
    case = CASES["mutate"]
    from fastga.validation import check_type_probs

    inputs = dict(case.make(**TINY_SHAPES[6], seed=2), rate=rate, type_probs=type_probs,
                  cum_probs=check_type_probs(type_probs))
    case.check(case.fast(inputs), case.reference(inputs))


def test_mutate_across_blocks_and_normal_refills():
    """Rows long enough for several draw blocks (BLOCK mutations) and several
    blocks of normals (NORMAL_BLOCK gaussians): still bit for bit the reference."""
    from fastga.kernels.mutation import BLOCK, NORMAL_BLOCK
    from fastga.validation import check_type_probs

    case = CASES["mutate"]
    for rate, probs in [(0.6, (0.2, 0.1, 0.1, 0.6)), (1.0, (0.0, 0.0, 0.0, 1.0)),
                        (0.05, (0.3, 0.3, 0.2, 0.2))]:
        inputs = dict(case.make(P=3, B=1, sizes=(40, 20, 5), seed=4), rate=rate,
                      type_probs=probs, cum_probs=check_type_probs(probs))
        fast = case.fast(inputs)
        assert fast[1].max() > (2 * BLOCK if rate > 0.5 else 0)
        if rate == 1.0:
            assert fast[1].max() > 3 * NORMAL_BLOCK
        case.check(fast, case.reference(inputs))


def test_mutate_only_touches_its_rows():
    case = CASES["mutate"]
    inputs = dict(case.make(**TINY_SHAPES[6]), rows=np.array([2, 5], dtype=np.int64))
    genomes, counts = case.fast(inputs)
    others = np.setdiff1d(np.arange(genomes.shape[0]), [2, 5])
    np.testing.assert_array_equal(genomes[others], inputs["genomes"][others])
    assert counts.sum() > 0
    case.check((genomes, counts), case.reference(inputs))


@pytest.mark.parametrize("prob,max_c", [(0.0, 0.5), (1.0, 1.0), (1.0, 0.0)])
@pytest.mark.parametrize("kind", ["neuron", "single_point", "uniform"])
def test_crossover_probabilities(kind, prob, max_c):
    case = CASES[f"crossover_{kind}"]
    inputs = dict(case.make(**TINY_SHAPES[6], seed=8), crossover_prob=prob, max_crossover=max_c)
    fast = case.fast(inputs)
    case.check(fast, case.reference(inputs))
    rows, p1 = inputs["rows"], inputs["p1"]
    if prob == 0.0 or (kind == "neuron" and max_c == 0.0):
        np.testing.assert_array_equal(fast[rows], inputs["parents"][p1])


def test_crossover_neuron_max_one_takes_every_neuron_from_parent_two():
    """With q drawn in [0, 1) nearly every neuron comes from p2; the child is
    always a per-neuron mix of exactly its two parents."""
    case = CASES["crossover_neuron"]
    inputs = dict(case.make(P=40, B=1, sizes=(3, 4, 2), activations=("relu", "softmax")),
                  crossover_prob=1.0, max_crossover=1.0)
    children = case.fast(inputs)
    parents = inputs["parents"]
    from_p2 = children[inputs["rows"]] == parents[inputs["p2"]]
    assert from_p2.mean() > 0.4


def test_kernels_accept_noncontiguous_rows_only_via_validation():
    """The kernels trust their arguments; Population validates rows first."""
    pop = Population(NetworkSpec([2, 2]), np.zeros((3, 6), dtype=np.float32))
    with pytest.raises(ValueError, match="^rows"):
        pop.forward(np.zeros((1, 2)), rows=np.array([0, 3]))


def test_crossover_neuron_parents_buffer_unchanged():
    case = CASES["crossover_neuron"]
    inputs = case.make(**TINY_SHAPES[2])
    before = inputs["parents"].copy()
    case.fast(inputs)
    np.testing.assert_array_equal(inputs["parents"], before)


def test_operators_at_extreme_seeds_and_generations():
    """The row functions (through the test drivers) with a uint64 seed of
    2**63 - 1 and generation 10**6, as the GA passes them."""
    spec = NetworkSpec([3, 2, 2], ["relu", "softmax"])
    rng = np.random.default_rng(0)
    parents = rng.standard_normal((4, spec.n_params)).astype(np.float32)
    children = np.zeros_like(parents)
    rows = np.arange(1, 4, dtype=np.int64)
    p = np.array([0, 1, 2], dtype=np.int64)
    crossover_neuron(parents, children, p, p[::-1].copy(), rows, np.uint64(2**63 - 1), 10 ** 6,
                     spec.sizes_array, spec.w_offsets, spec.b_offsets, 0.5, 1.0)
    ref = naive.crossover_neuron(parents, np.zeros_like(parents), p, p[::-1], rows, 2**63 - 1,
                                 10 ** 6, spec.sizes, 0.5, 1.0)
    np.testing.assert_array_equal(children, ref)
    counts = np.empty(3, dtype=np.int64)
    cum = np.array([0.5, 0.7, 0.9, 1.0])
    mutate(children, rows, np.uint64(2**63 - 1), 10 ** 6, 0.3, cum, 2.0, 2.0, 0.1, counts)
    ref_g, ref_c = naive.mutate(ref, rows, 2**63 - 1, 10 ** 6, 0.3, (0.5, 0.2, 0.2, 0.1), 2.0,
                                2.0, 0.1)
    np.testing.assert_array_equal(children, ref_g)
    np.testing.assert_array_equal(counts, ref_c)


@pytest.mark.parametrize("shape", [TINY_SHAPES[1], TINY_SHAPES[6]], ids=["P6", "P9"])
@pytest.mark.parametrize("kind", ["neuron", "single_point", "uniform", "none"])
def test_breed_equals_copy_crossover_then_mutate(kind, shape):
    """The fused breeding kernel gives the bits of the one-operator drivers run
    in turn (elites copied, children crossed, then mutated): the same streams."""
    case = CASES[f"breed_{kind}"]
    d = case.make(**shape, seed=5)
    children, counts = case.fast(d)
    s = d["spec"]
    parents = d["parents"]
    n_elite = d["elite_src"].shape[0]
    rows = np.arange(n_elite, parents.shape[0], dtype=np.int64)
    expected = np.full_like(parents, np.nan)
    copy_rows(parents, d["elite_src"], expected, np.arange(n_elite, dtype=np.int64))
    args = (parents, expected, d["p1"], d["p2"], rows, d["seed"], d["generation"])
    if kind == "neuron":
        crossover_neuron(*args, s.sizes_array, s.w_offsets, s.b_offsets, d["max_crossover"],
                         d["crossover_prob"])
    elif kind == "single_point":
        crossover_single_point(*args, d["crossover_prob"])
    elif kind == "uniform":
        crossover_uniform(*args, d["crossover_prob"])
    else:
        copy_rows(parents, d["p1"], expected, rows)
    expected_counts = np.empty(rows.shape[0], dtype=np.int64)
    mutate(expected, rows, d["seed"], d["generation"], d["rate"], d["cum_probs"], 2.0, 2.0, 0.3,
           expected_counts)
    assert expected_counts.sum() > 0
    np.testing.assert_array_equal(children.view(np.int32), expected.view(np.int32))
    np.testing.assert_array_equal(counts, expected_counts)


def test_workspace_reuse_across_batch_sizes_and_metrics():
    """One Population (one Workspace) evaluated on batches of changing size and
    metric gives what a fresh Population gives each time."""
    spec = make_spec((5, 7, 3), ("tanh", "softmax"))
    rng = np.random.default_rng(6)
    genomes = (0.5 * rng.standard_normal((6, spec.n_params))).astype(np.float32)
    pop = Population(spec, genomes)
    for B, metric in [(40, "cross_entropy"), (3, "mse"), (17, "accuracy"), (40, "mse"), (1, "cross_entropy"),
                      (16, "accuracy")]:
        X = rng.standard_normal((B, 5)).astype(np.float32)
        if metric == "mse":
            y = rng.standard_normal((B, 3)).astype(np.float32)
        else:
            y = rng.integers(0, 3, B)
        fresh = Population(spec, genomes)
        np.testing.assert_array_equal(pop.forward(X), fresh.forward(X))
        for a, b in zip(pop.losses(X, y, metric), fresh.losses(X, y, metric)):
            np.testing.assert_array_equal(a, b)
        loss, acc, _ = naive.fused_fitness(genomes, spec.sizes, spec.activations, X, y, metric)
        got_loss, got_acc = pop.losses(X, y, metric)
        np.testing.assert_allclose(got_loss, loss, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(got_acc, acc)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the reference on the infinite weight
@pytest.mark.parametrize("sizes,activations", [((5, 7, 3), ("relu", "softmax")),
                                                ((5, 6, 4, 3), ("tanh", "relu", "softmax")),
                                                ((5, 7, 3), ("relu", "sigmoid")),
                                                ((4, 3), ("softmax",))])
@pytest.mark.parametrize("metric", ["cross_entropy", "accuracy", "mse"])
@pytest.mark.parametrize("slabs", [False, True])
def test_mirrored_pairs_fitness_matches_plain_and_reference(sizes, activations, metric, slabs,
                                                            monkeypatch):
    """Rows 2k, 2k+1 mirrored around a center (``Population.mirror_center``):
    the pairs' kernels (one first-layer product per pair plus the center's)
    give the plain fitness within float32 rounding, and what the NumPy
    reference gives for the same first-layer sums, whole or in slabs of
    samples; a pair with an infinite weight is NaN as on the plain path."""
    from fastga.evaluation import Workspace, fitness_rows

    monkeypatch.setattr(evaluation, "MIRROR_MIN_INPUTS", 1)  # tiny inputs take the pairs too
    B = 71  # two blocks of samples, the second one padded
    if slabs:  # room for one block: forced to slabs of LANES samples, then 7
        monkeypatch.setattr(evaluation, "SLAB_MIN_BLOCKS", 1)
        monkeypatch.setattr(evaluation, "DIRECT_INPUT_BYTES", 4 * sizes[0] * LANES)
        assert evaluation.sample_slabs(sizes[0], B) == [(0, LANES), (LANES, B)]
    spec = make_spec(sizes, activations)
    rng = np.random.default_rng(8)
    center = (0.5 * rng.standard_normal(spec.n_params)).astype(np.float32)
    e = 0.3 * rng.standard_normal((5, spec.n_params))
    genomes = np.empty((10, spec.n_params), np.float32)
    genomes[0::2] = center + e
    genomes[1::2] = center - e
    genomes[5, 2] = np.inf  # pair 2 falls back to its two plain products
    X = rng.standard_normal((B, sizes[0])).astype(np.float32)
    y = (rng.standard_normal((B, sizes[-1])).astype(np.float32) if metric == "mse"
         else rng.integers(0, sizes[-1], B))
    rows = np.arange(10, dtype=np.int64)
    ws = Workspace()
    plain = fitness_rows(spec, genomes, rows, X, y, metric, ws)
    pairs = fitness_rows(spec, genomes, rows, X, y, metric, ws, mirror_center=center)
    loss, acc, mom = naive.fused_fitness(naive.mirrored_genomes(genomes, spec.sizes, center),
                                         spec.sizes, spec.activations, X, y, metric)
    ok = np.isfinite(plain[0])
    np.testing.assert_array_equal(np.isfinite(pairs[0]), ok)
    np.testing.assert_allclose(pairs[0][ok], plain[0][ok], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(pairs[0][ok], loss[ok], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(pairs[2][ok], mom[ok], rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(pairs[1][ok], acc[ok])
    np.testing.assert_array_equal(pairs[1][~ok], plain[1][~ok])  # the same plain products
    np.testing.assert_array_equal(np.isnan(pairs[0]), np.isnan(plain[0]))


def test_mirrored_pairs_fitness_same_bits_for_any_thread_count(monkeypatch):
    import numba

    from fastga.evaluation import Workspace, fitness_rows

    monkeypatch.setattr(evaluation, "MIRROR_MIN_INPUTS", 1)
    spec = make_spec((6, 9, 4), ("relu", "softmax"))
    rng = np.random.default_rng(9)
    center = rng.standard_normal(spec.n_params).astype(np.float32)
    e = rng.standard_normal((7, spec.n_params))
    genomes = np.empty((14, spec.n_params), np.float32)
    genomes[0::2], genomes[1::2] = center + e, center - e
    X = rng.standard_normal((150, 6)).astype(np.float32)
    y = rng.integers(0, 4, 150)
    rows = np.arange(14, dtype=np.int64)
    before = numba.get_num_threads()
    try:
        got = []
        for t in sorted({1, numba.config.NUMBA_NUM_THREADS}):
            numba.set_num_threads(t)
            out = fitness_rows(spec, genomes, rows, X, y, "cross_entropy", Workspace(), center)
            got.append([a.tobytes() for a in out])
    finally:
        numba.set_num_threads(before)
    assert all(g == got[0] for g in got)


# ---------------------------------------------------- property-based shapes
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@st.composite
def _shapes(draw):
    n_layers = draw(st.integers(1, 3))
    sizes = tuple(draw(st.lists(st.integers(1, 24), min_size=n_layers + 1, max_size=n_layers + 1)))
    acts = tuple(draw(st.lists(st.sampled_from(sorted(ACTIVATIONS)), min_size=n_layers,
                               max_size=n_layers)))
    return dict(P=draw(st.integers(1, 6)), B=draw(st.integers(1, 40)), sizes=sizes,
                activations=acts)


@settings(max_examples=40, deadline=None, database=None, derandomize=True)  # same cases every run
@given(shape=_shapes(), seed=st.integers(0, 2**16),
       name=st.sampled_from(["forward", "fused_cross_entropy", "fused_accuracy", "fused_mse",
                             "crossover_neuron", "crossover_single_point", "crossover_uniform",
                             "mutate", "init_normal", "init_glorot"]),
       path=st.sampled_from(PATHS))
def test_random_shapes_match_reference(shape, seed, name, path):
    case = CASES[name]
    inputs = case.make(**shape, seed=seed)
    with pytest.MonkeyPatch.context() as mp:
        _use_path(mp, path)
        case.check(case.fast(inputs), case.reference(inputs))


@pytest.mark.parametrize("act", ["softmax", "sigmoid", "tanh"])
def test_activation_accuracy_across_the_float32_range(act):
    """Outputs as accurate as float32 logits allow, for pre-activations from
    -85 to 85 (softmax: logits spread over 85 units, so the smallest
    probabilities are ~1e-37). A float32 logit ``z`` is off by about
    ``eps * |z|``, which moves ``exp(z)`` by that much relatively: the bound
    is ``8 eps (1 + max |z|)`` relative (plus ``8 eps`` absolute for
    sigmoid and tanh), a few ulp more than the logits' own rounding."""
    K = 18
    spec = NetworkSpec([1, K], [act])
    w = np.linspace(-85.0, 85.0, K) if act != "softmax" else np.linspace(-85.0, 0.0, K)
    genome = spec.flatten([(w[None, :], np.zeros(K))])
    X = np.linspace(-1.0, 1.0, 41, dtype=np.float32)[:, None]
    out = Population(spec, genome[None, :]).forward(X)[0].astype(np.float64)
    ref = naive.network_forward(genome, spec.sizes, spec.activations, X)
    eps = float(np.finfo(np.float32).eps)
    z = np.abs(X.astype(np.float64) * w[None, :])
    rel = 8 * eps * (1 + (z.max(axis=1, keepdims=True) if act == "softmax" else z))
    bound = rel * np.abs(ref) + (8 * eps if act != "softmax" else 0.0)
    assert np.all(np.abs(out - ref) <= bound), \
        f"max error / bound {np.max(np.abs(out - ref) / np.maximum(bound, 1e-300)):.3g}"


# ------------------------------------------- the register tiles, one block
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from numba import njit  # noqa: E402

from fastga.kernels import softmax_ir, tiles, tiles_ir, tiles_numba  # noqa: E402
from fastga.kernels.bits import bit_blend  # noqa: E402
from fastga.kernels.exp import exp32_nonpos  # noqa: E402
from fastga.kernels.forward import LANES, dense_tiles, scratch  # noqa: E402
from fastga.kernels.simd import TILE_ROWS, exp32_vectors  # noqa: E402

TINY = np.float32(2.0 ** -60)


def _block_fns(dense_tile, bias_rows, softmax_stats, softmax_tile):
    """The test's one-block wrappers around one backend's tiles (compiled once each)."""

    @njit
    def dense_block(w, n_in, n_out, b, X, relu, use_alt, split):
        """The tiles reading ``X`` (at row 2 of a bigger array) or, with
        ``use_alt``, the same values in the other source; out at row 1. The
        sum over the inputs in two calls (the second one accumulating) from
        input ``split`` on."""
        big = scratch(n_in + 2, LANES)
        big[:] = np.nan
        big[2:] = X
        alt = scratch(n_in, LANES)
        alt[:] = X
        out = scratch(n_out + 2, LANES)
        out[:] = -7.0
        x_off = 0 if use_alt else 2 * LANES
        for r0 in range(0, n_out, TILE_ROWS):
            nr = min(TILE_ROWS, n_out - r0)
            dense_tile(w, r0, n_out, big, alt, use_alt, x_off, LANES, split, b, r0, out,
                       (1 + r0) * LANES, LANES, nr, relu and split >= n_in, False)
            if split < n_in:
                dense_tile(w, r0 + split * n_out, n_out, big, alt, use_alt,
                           x_off + split * LANES, LANES, n_in - split, b, r0, out,
                           (1 + r0) * LANES, LANES, nr, relu, True)
        return out

    @njit
    def bias_block(src, off, n_rows, b, relu):
        out = scratch(n_rows + 2, LANES)
        out[:] = -7.0
        bias_rows(src, off, src.shape[1], n_rows, b, 0, out, LANES, relu)
        return out

    @njit
    def stats_block(Z, y, tiny):
        st = scratch(5, LANES)
        big = scratch(Z.shape[0] + 1, LANES)
        big[0] = np.nan
        big[1:] = Z
        softmax_stats(big, LANES, Z.shape[0], y, 0, tiny, st[4], st[3], st[0], st[1], st[2])
        return st[4], st[3], st[0], st[1], st[2]

    @njit
    def softmax_tile_block(tile_out, w, H, b, y, tiny):
        st = scratch(5, LANES)
        big = scratch(H.shape[0] + 3, LANES)
        big[:3] = np.nan
        big[3:] = H
        softmax_tile(tile_out, w, 0, big, 3 * LANES, H.shape[0], b, 0, y, 0, tiny, st[4], st[3],
                     st[0], st[1], st[2])
        return st[4], st[3], st[0], st[1], st[2]

    return dict(dense=dense_block, bias=bias_block, stats=stats_block, softmax=softmax_tile_block)


#: Both tile backends, called directly: the IR tiles and their Numba twins.
BACKENDS = {
    "ir": _block_fns(tiles_ir.dense_tile, tiles_ir.bias_rows, softmax_ir.softmax_stats,
                     softmax_ir.softmax_tile),
    "numba": _block_fns(tiles_numba.dense_tile, tiles_numba.bias_rows,
                        tiles_numba.softmax_stats, tiles_numba.softmax_tile),
}


@njit
def _dense_tiles_block(w, n_in, n_out, b, X, relu, use_alt):
    """forward.dense_tiles (the backend in use, in K-chunks) on one block, as
    the ``dense`` wrapper of :func:`_block_fns`."""
    big = scratch(n_in + 2, LANES)
    big[:] = np.nan
    big[2:] = X
    alt = scratch(n_in, LANES)
    alt[:] = X
    out = scratch(n_out + 2, LANES)
    out[:] = -7.0
    x_off = 0 if use_alt else 2 * LANES
    dense_tiles(w, 0, n_out, n_out, big, alt, use_alt, x_off, LANES, n_in, b, 0, out, LANES, relu)
    return out


def _check_stats(got, ref):
    hit, chk, se, se2, zl = got
    r_hit, r_chk, r_se, r_se2, r_zl = ref
    np.testing.assert_array_equal(hit, r_hit)
    np.testing.assert_array_equal(chk, r_chk)  # 0, or NaN where a logit is not finite
    ok = r_chk == 0
    np.testing.assert_allclose(se[ok], r_se[ok], rtol=2e-6)
    np.testing.assert_allclose(se2[ok], r_se2[ok], rtol=2e-6)
    np.testing.assert_allclose(zl[ok], r_zl[ok], rtol=1e-6, atol=1e-6)


def _check_dense(got, n_in, n_out, w, b, X, relu):
    ref = naive.dense_tile(w.reshape(n_in, n_out), b, X, relu)
    # The float32 sum's error bound: (n_in + 1) * 2**-24 * sum of |terms|.
    mag = np.abs(w.reshape(n_in, n_out).astype(np.float64)).T @ np.nan_to_num(np.abs(X)) \
        + np.abs(b)[:, None]
    inner = got[1:-1]
    assert np.array_equal(np.isnan(inner), np.isnan(ref))
    ok = ~np.isnan(ref)
    assert np.all(np.abs(inner[ok] - ref[ok]) <= (n_in + 1) * 2.0 ** -24 * mag[ok] + 1e-30)
    assert np.all(got[0] == -7.0) and np.all(got[-1] == -7.0)  # nothing else written


def _dense_inputs(n_in, n_out):
    rng = np.random.default_rng(n_in * 31 + n_out)
    w = rng.standard_normal(n_in * n_out).astype(np.float32)
    b = rng.standard_normal(n_out).astype(np.float32)
    X = rng.standard_normal((n_in, LANES)).astype(np.float32)
    X[0, 5] = np.nan  # NaN: ReLU gives 0, no ReLU keeps NaN
    return w, b, X


@pytest.mark.parametrize("n_in,n_out", [(1, 1), (5, 3), (9, 4), (17, 7), (64, 10), (300, 7),
                                        (784, 16)])
@pytest.mark.parametrize("relu", [False, True])
def test_dense_tiles_match_reference(n_in, n_out, relu):
    """Also in K-chunks (300 and 784 inputs: 3 and 7 chunks, see forward.k_chunk)."""
    w, b, X = _dense_inputs(n_in, n_out)
    for use_alt in (False, True):
        _check_dense(_dense_tiles_block(w, n_in, n_out, b, X, relu, use_alt), n_in, n_out, w, b,
                     X, relu)


@pytest.mark.parametrize("backend", sorted(BACKENDS))
@pytest.mark.parametrize("n_in,n_out", [(1, 1), (5, 3), (9, 6), (40, 10)])
@pytest.mark.parametrize("relu", [False, True])
def test_dense_tile_backends_match_reference(backend, n_in, n_out, relu):
    """Each backend's tile, in one pass and with the sum split in two
    (``accumulate``), every row count of a tile (n_out mod TILE_ROWS)."""
    w, b, X = _dense_inputs(n_in, n_out)
    for use_alt in (False, True):
        for split in sorted({n_in, max(1, n_in // 2)}):
            got = BACKENDS[backend]["dense"](w, n_in, n_out, b, X, relu, use_alt, split)
            _check_dense(got, n_in, n_out, w, b, X, relu)


@pytest.mark.parametrize("backend", sorted(BACKENDS))
@pytest.mark.parametrize("n_rows", [1, 3, 16])
@pytest.mark.parametrize("relu", [False, True])
def test_bias_rows_match_reference(backend, n_rows, relu):
    rng = np.random.default_rng(n_rows)
    src = rng.standard_normal((n_rows + 3, 2 * LANES)).astype(np.float32)
    src[1, LANES + 3] = np.nan  # NaN: ReLU gives 0, no ReLU keeps NaN
    b = rng.standard_normal(n_rows).astype(np.float32)
    off = 1 * src.shape[1] + LANES  # rows 1.., the second block of samples
    got = BACKENDS[backend]["bias"](src, off, n_rows, b, relu)
    v = src[1:1 + n_rows, LANES:].astype(np.float64) + b[:, None]
    ref = np.where(v > 0, v, 0.0) if relu else v
    np.testing.assert_array_equal(got[1:-1], ref.astype(np.float32))
    assert np.all(got[0] == -7.0) and np.all(got[-1] == -7.0)


@pytest.mark.parametrize("backend", sorted(BACKENDS))
@pytest.mark.parametrize("n_out", [1, 2, 3, 10, 13])
def test_softmax_stats_match_reference(backend, n_out):
    rng = np.random.default_rng(n_out)
    Z = (30.0 * rng.standard_normal((n_out, LANES))).astype(np.float32)  # wide: tiny terms
    Z[:, 1] = 2.0                                  # all tied: the first index wins
    if n_out > 2:
        Z[2, 3] = Z[1, 3] = Z[:, 3].max() + 1.0    # a tie for the maximum
        Z[1, 4] = np.nan
        Z[0, 6] = -np.inf
        Z[2, 7] = np.inf
    y = rng.integers(0, n_out, LANES).astype(np.int32)
    y[1] = n_out - 1       # all tied: a miss unless n_out == 1
    if n_out > 2:
        y[3] = 2           # tied with index 1, which comes first: a miss
        y[8] = int(np.argmax(Z[:, 8]))  # a hit
    _check_stats(BACKENDS[backend]["stats"](Z, y, TINY), naive.softmax_stats(Z, y, float(TINY)))


@pytest.mark.parametrize("backend", sorted(BACKENDS))
@pytest.mark.parametrize("n_out", [1, 2, 3, 10, 12])
def test_softmax_tile_matches_reference(backend, n_out):
    """Logits from exact float32 sums (multiples of 1/8), so ties are ties."""
    rng = np.random.default_rng(100 + n_out)
    n_k = 7
    w = (rng.integers(-8, 9, n_k * n_out) / 8).astype(np.float32)
    b = (rng.integers(-8, 9, n_out) / 8).astype(np.float32)
    H = (rng.integers(0, 9, (n_k, LANES)) / 8).astype(np.float32)
    H[:, 9] = 0.0                 # every logit is its bias
    H[2, 10] = np.nan             # a NaN input: every logit NaN
    y = rng.integers(0, n_out, LANES).astype(np.int32)
    got = BACKENDS[backend]["softmax"]((0,) * n_out, w, H, b, y, TINY)
    Z = naive.dense_tile(w.reshape(n_k, n_out), b, H, False)
    _check_stats(got, naive.softmax_stats(Z, y, float(TINY)))


@njit
def _exp32_numba(x):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = exp32_nonpos(x[i])
    return out


@njit
def _exp32_ir(x):
    out = np.empty_like(x)
    exp32_vectors(x, out, x.shape[0] // 16)
    return out


def test_exp32_ir_and_numba_agree_bit_for_bit():
    """The softmax tiles' IR exponential and exp32_nonpos share their constants
    (fastga.kernels.exp) and give the same bits: around the lower clamp,
    far below it, around 0, up to the upper clamp, random, and special values."""
    f32 = np.float32
    lo = f32(-87.0)
    near_lo = lo + np.arange(-300, 300, dtype=np.int32).astype(f32) * np.spacing(lo)
    special = np.array([0.0, -0.0, -1e-45, -1e-30, -np.inf, np.nan, -3.4e38, -1e4, -88.0, -87.5,
                        -86.99, 88.29, 88.3, 1.0, -1.0, -0.5, 0.5], dtype=f32)
    rng = np.random.default_rng(0)
    x = np.concatenate([near_lo, special, np.linspace(-200.0, 88.3, 20000, dtype=f32),
                        rng.uniform(-90.0, 0.0, 40000).astype(f32),
                        -np.logspace(-40, 38, 4000, dtype=f32),
                        np.logspace(-40, 1.9, 2000, dtype=f32)])
    x = np.ascontiguousarray(np.concatenate([x, np.zeros((-x.size) % 16, f32)]))
    a = _exp32_numba(x)
    b = _exp32_ir(x)
    np.testing.assert_array_equal(a.view(np.int32), b.view(np.int32))
    ok = np.isfinite(x) & (x >= -87.0)
    np.testing.assert_allclose(a[ok], np.exp(x[ok].astype(np.float64)), rtol=3e-7)


def test_tiles_backend_comes_from_the_environment():
    assert tiles.BACKEND == (os.environ.get("FASTGA_TILES") or "ir")
    expected = tiles_ir if tiles.BACKEND == "ir" else tiles_numba
    assert tiles.dense_tile is expected.dense_tile
    assert tiles.CACHE == (tiles.BACKEND == "ir")


_ROOT = Path(__file__).resolve().parents[1]


def _run_with_tiles(value, args):
    env = dict(os.environ, FASTGA_TILES=value, PYTHONPATH=str(_ROOT))
    return subprocess.run([sys.executable, *args], cwd=_ROOT, env=env, capture_output=True,
                          text=True)


@pytest.mark.skipif(os.environ.get("FASTGA_TILES", "ir") != "ir", reason="runs the other backend")
def test_numba_tiles_path_matches_reference():
    """The forward pass and the fused fitness through the Numba twins
    (``FASTGA_TILES=numba``, a fresh process: the choice is made at import),
    against the NumPy reference on tiny shapes, both paths."""
    sel = ("backend_comes_from or (test_case_matches_reference and (forward or fused) "
           "and (P5-B7 or P6-B9)) or in_sample_slabs and relu or mirrored_pairs_fitness_matches")
    res = _run_with_tiles("numba", ["-m", "pytest", "-q", "-x", "-p", "no:randomly",
                                    "-p", "no:cacheprovider", str(Path(__file__)), "-k", sel])
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert " passed" in res.stdout


def test_bad_tiles_backend_is_a_clear_error():
    res = _run_with_tiles("avx", ["-c", "import fastga"])
    assert res.returncode != 0
    assert "FASTGA_TILES: expected one of ('ir', 'numba'), got 'avx'" in res.stderr


@njit
def _bit_blend_all(a, b, m):
    out = np.empty_like(a)
    for i in range(a.shape[0]):
        out[i] = bit_blend(a[i], b[i], m[i])
    return out


def test_bit_blend_matches_reference():
    # Every special value on either side (NaN payloads, -0.0, infinities,
    # subnormals), both masks, and a mask of mixed bits (the reference's
    # bitwise formula, whatever the mask).
    special = np.array([np.nan, -np.nan, 0.0, -0.0, np.inf, -np.inf, 1e-45, -3.5, 7.25],
                       dtype=np.float32)
    a = np.repeat(special, special.size)
    b = np.tile(special, special.size)
    a = np.concatenate([a, a, a])
    b = np.concatenate([b, b, b])
    m = np.repeat(np.array([0, -1, 0x0F0F0F0F], dtype=np.int32), special.size ** 2)
    got = _bit_blend_all(a, b, m)
    np.testing.assert_array_equal(got.view(np.int32), naive.bit_blend(a, b, m).view(np.int32))
    n = special.size ** 2
    np.testing.assert_array_equal(got[:n].view(np.int32), a[:n].view(np.int32))
    np.testing.assert_array_equal(got[n:2 * n].view(np.int32), b[n:2 * n].view(np.int32))
