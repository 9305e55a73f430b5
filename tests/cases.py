"""One table of {fastga, reference} setups, shared by tests and benchmarks.

Each :class:`Case` builds its inputs with ``make(P, B, sizes, seed=0,
activations=None)`` (random inputs from ``np.random.default_rng(seed)``,
never from fastga itself), runs fastga on them with ``fast(inputs)``, runs
the slow NumPy reference of :mod:`tests.naive` with ``reference(inputs)``,
and compares the two with ``check(fast_result, reference_result)``: exact
for operators (initialisation, crossover, copies, mutation, selection),
``rtol ~ 1e-5`` for float math (forward pass, fitness).

``fast`` never changes its inputs in a way that matters: in-place operators
work on a copy (mutation) or write only the children buffer, which every
call overwrites in the same rows, so one ``inputs`` dict can be reused for
any number of calls (as a benchmark does).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from fastga.evaluation import fitness_rows, run_rows
from fastga.kernels.breed import BreedPlan, CrossoverParams, Layout, MutationParams, breed
from fastga.kernels.init import init_genomes
from fastga.population import Population
from fastga.registry import Crossover, Init, code_of
from fastga.selection import n_survivors, preference_probabilities, rank_order
from fastga.spec import NetworkSpec
from fastga.validation import check_type_probs

from . import naive
from .kernel_drivers import (copy_rows, crossover_neuron, crossover_single_point,
                             crossover_uniform, mutate)

__all__ = ["Case", "CASES", "TINY_SHAPES", "BENCH_SHAPES", "make_spec"]


@dataclass(frozen=True)
class Case:
    name: str                      # e.g. "forward", "fused_cross_entropy", "crossover_neuron", "mutate"
    make: Callable[..., dict]      # make(P, B, sizes, seed=0, activations=None) -> dict of inputs
    fast: Callable[[dict], object]  # runs fastga on the inputs; returns a comparable result
    reference: Callable[[dict], object]  # the tests/naive.py reference on the same inputs
    check: Callable[[object, object], None]  # asserts fast == reference


#: Tiny shapes for the tests: several depths and every activation, hidden
#: softmax included, down to one sample and one output.
TINY_SHAPES = [
    dict(P=5, B=7, sizes=(4, 3, 2), activations=("relu", "softmax")),
    dict(P=6, B=9, sizes=(5, 4, 3, 3), activations=("tanh", "sigmoid", "softmax")),
    dict(P=4, B=5, sizes=(6, 5, 4, 3), activations=("leaky_relu", "relu", "sigmoid")),
    dict(P=3, B=4, sizes=(3, 2), activations=("linear",)),
    dict(P=7, B=3, sizes=(2, 8, 3), activations=("softmax", "tanh")),
    dict(P=2, B=1, sizes=(1, 1), activations=("sigmoid",)),
    dict(P=9, B=11, sizes=(8, 6, 5, 4, 10), activations=("relu", "leaky_relu", "tanh", "linear")),
    # Batches of 16 and more: whole blocks of samples plus a remainder.
    dict(P=4, B=33, sizes=(5, 6, 4), activations=("sigmoid", "softmax")),
    dict(P=3, B=16, sizes=(3, 5, 2), activations=("relu", "linear")),
]

#: A realistic shape for the benchmarks (the digits task: 64 -> 32 -> 10).
BENCH_SHAPES = [
    dict(P=500, B=256, sizes=(64, 32, 10), activations=("relu", "softmax")),
]


def make_spec(sizes, activations=None):
    sizes = tuple(int(s) for s in sizes)
    if activations is None:
        activations = ["relu"] * (len(sizes) - 2) + ["softmax"]
    return NetworkSpec(list(sizes), list(activations))


def _base(P, B, sizes, seed, activations, genome_scale=0.5):
    rng = np.random.default_rng(seed)
    spec = make_spec(sizes, activations)
    genomes = (genome_scale * rng.standard_normal((P, spec.n_params))).astype(np.float32)
    X = rng.standard_normal((B, spec.n_inputs)).astype(np.float32)
    return rng, spec, genomes, X


# ------------------------------------------------------------- assertions
def check_exact(fast, ref):
    """Bit-identical arrays (or tuples/dicts of arrays); NaN equals NaN."""
    if isinstance(fast, dict):
        assert set(fast) == set(ref), (sorted(fast), sorted(ref))
        for k in fast:
            check_exact(fast[k], ref[k])
        return
    if isinstance(fast, (tuple, list)):
        assert len(fast) == len(ref)
        for a, b in zip(fast, ref):
            check_exact(a, b)
        return
    fast, ref = np.asarray(fast), np.asarray(ref)
    assert fast.shape == ref.shape, (fast.shape, ref.shape)
    np.testing.assert_array_equal(fast, ref)
    if fast.dtype.kind == "f":
        # assert_array_equal treats 0.0 == -0.0 and NaN == NaN; the bits must match too.
        ref = ref.astype(fast.dtype)
        assert np.array_equal(fast.view(f"u{fast.itemsize}"), ref.view(f"u{ref.itemsize}")), \
            "bit patterns differ"


def _scale(ref):
    """RMS of the reference values (at least 1): float32 sums of many terms
    are off by a few ulp of the terms' size, not of their (maybe tiny) sum."""
    ref = np.asarray(ref, dtype=np.float64)
    return max(1.0, float(np.sqrt(np.mean(ref ** 2)))) if ref.size else 1.0


def check_close(fast, ref, rtol=1e-5, atol=1e-5):
    """``|fast - ref| <= atol * RMS(ref) + rtol * |ref|``; accuracies exactly."""
    if isinstance(fast, dict):
        assert set(fast) == set(ref), (sorted(fast), sorted(ref))
        for k in fast:
            if k in ("accuracy",):
                np.testing.assert_array_equal(fast[k], ref[k], err_msg=k)
            else:
                np.testing.assert_allclose(fast[k], ref[k], rtol=rtol, atol=atol * _scale(ref[k]),
                                           err_msg=k)
        return
    fast, ref = np.asarray(fast), np.asarray(ref)
    assert fast.shape == ref.shape, (fast.shape, ref.shape)
    np.testing.assert_allclose(fast, ref, rtol=rtol, atol=atol * _scale(ref))


# ----------------------------------------------------------- initialisation
def _make_init(scheme, scale):
    def make(P, B, sizes, seed=0, activations=None):
        spec = make_spec(sizes, activations)
        return dict(spec=spec, P=P, seed=seed + 12345, scheme=scheme, scale=scale,
                    genomes=np.empty((P, spec.n_params), dtype=np.float32))

    return make


def _fast_init(d):
    s = d["spec"]
    run_rows(init_genomes, d["genomes"].shape[0], d["genomes"], d["seed"],
             int(Init[d["scheme"].upper()]), float(d["scale"]), s.sizes_array, s.w_offsets,
             s.b_offsets)
    return d["genomes"].copy()


def _ref_init(d):
    return naive.init_genomes(d["P"], d["spec"].sizes, d["seed"], int(Init[d["scheme"].upper()]),
                              d["scale"])


# ------------------------------------------------------------ forward pass
def _make_forward(P, B, sizes, seed=0, activations=None):
    rng, spec, genomes, X = _base(P, B, sizes, seed, activations)
    pop = Population(spec, genomes)
    return dict(spec=spec, pop=pop, X=X)


def _fast_forward(d):
    return d["pop"].forward(d["X"])


def _ref_forward(d):
    s = d["spec"]
    return naive.forward(d["pop"].genomes, s.sizes, s.activations, d["X"])


# ------------------------------------------------------------ fused fitness
def _make_fused(metric):
    def make(P, B, sizes, seed=0, activations=None):
        rng, spec, genomes, X = _base(P, B, sizes, seed, activations)
        pop = Population(spec, genomes)
        if metric == "mse":
            y = rng.standard_normal((B, spec.n_outputs)).astype(np.float32)
        else:
            y = rng.integers(0, spec.n_outputs, size=B).astype(np.int64)
        # Every other row, in a shuffled order, to exercise ``rows``.
        rows = rng.permutation(P)[: max(1, (P + 1) // 2)].astype(np.int64)
        return dict(spec=spec, pop=pop, X=X, y=y, metric=metric, rows=rows)

    return make


def _fast_fused(d):
    pop = d["pop"]
    loss, acc, moments = fitness_rows(pop.spec, pop.genomes, d["rows"], d["X"], d["y"],
                                      d["metric"], pop.workspace)
    return dict(loss=loss.copy(), accuracy=acc.copy(), moments=moments.copy())


def _ref_fused(d):
    s = d["spec"]
    loss, acc, moments = naive.fused_fitness(d["pop"].genomes, s.sizes, s.activations, d["X"],
                                             d["y"], d["metric"], rows=d["rows"])
    return dict(loss=loss, accuracy=acc, moments=moments)


def _check_fused(fast, ref):
    """Loss and sum of squares to rtol 1e-5, accuracy exactly; the plain sum
    of the outputs (which may cancel to near 0) to 1e-6 of the sum of their
    magnitudes, bounded by ``sqrt(count * sum of squares)``, so at most
    ``1e-6 * sqrt(B * n_out * s2)`` with B * n_out <= 4096 here."""
    fm, rm = fast["moments"], ref["moments"]
    check_close({k: fast[k] for k in ("loss", "accuracy")},
                {k: ref[k] for k in ("loss", "accuracy")}, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(fm[:, 1], rm[:, 1], rtol=1e-5, atol=1e-5, err_msg="moments s2")
    bound = 1e-6 * np.sqrt(4096 * np.abs(rm[:, 1])) + 1e-6
    assert np.all(np.abs(fm[:, 0] - rm[:, 0]) <= bound + 1e-5 * np.abs(rm[:, 0])), \
        ("moments s1", fm[:, 0], rm[:, 0])


# --------------------------------------------------------------- crossover
def _make_crossover(kind, **params):
    def make(P, B, sizes, seed=0, activations=None):
        rng, spec, genomes, X = _base(P, B, sizes, seed, activations)
        n_elite = 1 if P > 1 else 0
        rows = np.arange(n_elite, P, dtype=np.int64)
        p1 = rng.integers(0, P, size=rows.shape[0]).astype(np.int64)
        p2 = rng.integers(0, P, size=rows.shape[0]).astype(np.int64)
        d = dict(spec=spec, kind=kind, parents=genomes,
                 children=np.full_like(genomes, np.nan), p1=p1, p2=p2, rows=rows,
                 seed=np.uint64(seed + 777), generation=3)
        d.update(params)
        return d

    return make


def _fast_crossover(d):
    s, kind = d["spec"], d["kind"]
    args = (d["parents"], d["children"], d["p1"], d["p2"], d["rows"], d["seed"], d["generation"])
    if kind == "neuron":
        crossover_neuron(*args, s.sizes_array, s.w_offsets, s.b_offsets,
                         float(d["max_crossover"]), float(d["crossover_prob"]))
    elif kind == "single_point":
        crossover_single_point(*args, float(d["crossover_prob"]))
    else:
        crossover_uniform(*args, float(d["crossover_prob"]))
    return d["children"].copy()


def _ref_crossover(d):
    s, kind = d["spec"], d["kind"]
    children = np.full_like(d["parents"], np.nan)
    args = (d["parents"], children, d["p1"], d["p2"], d["rows"], int(d["seed"]), d["generation"])
    if kind == "neuron":
        return naive.crossover_neuron(*args, s.sizes, d["max_crossover"], d["crossover_prob"])
    if kind == "single_point":
        return naive.crossover_single_point(*args, d["crossover_prob"])
    return naive.crossover_uniform(*args, d["crossover_prob"])


def _make_copy_rows(P, B, sizes, seed=0, activations=None):
    rng, spec, genomes, X = _base(P, B, sizes, seed, activations)
    k = max(1, P // 2)
    src_rows = rng.choice(P, size=k, replace=False).astype(np.int64)
    dst_rows = rng.permutation(P)[:k].astype(np.int64)
    return dict(spec=spec, src=genomes, dst=np.full_like(genomes, np.nan),
                src_rows=src_rows, dst_rows=dst_rows)


def _fast_copy_rows(d):
    copy_rows(d["src"], d["src_rows"], d["dst"], d["dst_rows"])
    return d["dst"].copy()


def _ref_copy_rows(d):
    return naive.copy_rows(d["src"], d["src_rows"], np.full_like(d["src"], np.nan), d["dst_rows"])


# ---------------------------------------------------------------- mutation
def _make_mutate(rate, type_probs, shift_max=2.0, swap_max=2.0, sigma=0.3):
    def make(P, B, sizes, seed=0, activations=None):
        rng, spec, genomes, X = _base(P, B, sizes, seed, activations)
        rows = np.arange(1 if P > 1 else 0, P, dtype=np.int64)
        return dict(spec=spec, genomes=genomes, rows=rows, seed=np.uint64(seed + 99),
                    generation=5, rate=float(rate), type_probs=tuple(type_probs),
                    cum_probs=check_type_probs(type_probs), shift_max=float(shift_max),
                    swap_max=float(swap_max), sigma=float(sigma))

    return make


def _fast_mutate(d):
    g = d["genomes"].copy()
    counts = np.empty(d["rows"].shape[0], dtype=np.int64)
    mutate(g, d["rows"], d["seed"], d["generation"], d["rate"], d["cum_probs"], d["shift_max"],
           d["swap_max"], d["sigma"], counts)
    return g, counts


def _ref_mutate(d):
    return naive.mutate(d["genomes"], d["rows"], int(d["seed"]), d["generation"], d["rate"],
                        d["type_probs"], d["shift_max"], d["swap_max"], d["sigma"])


# ---------------------------------------------------------------- breeding
def _make_breed(kind):
    def make(P, B, sizes, seed=0, activations=None):
        rng, spec, genomes, X = _base(P, B, sizes, seed, activations)
        n_elite = min(2, P - 1) if P > 1 else 0
        n_child = P - n_elite
        return dict(spec=spec, kind=kind, parents=genomes, children=np.full_like(genomes, np.nan),
                    elite_src=rng.choice(P, size=n_elite, replace=False).astype(np.int64),
                    p1=rng.integers(0, P, size=n_child).astype(np.int64),
                    p2=rng.integers(0, P, size=n_child).astype(np.int64),
                    seed=np.uint64(seed + 4321), generation=7, max_crossover=0.5,
                    crossover_prob=0.8, rate=0.2, type_probs=(0.4, 0.2, 0.2, 0.2),
                    cum_probs=check_type_probs((0.4, 0.2, 0.2, 0.2)))

    return make


def _fast_breed(d):
    s = d["spec"]
    counts = np.empty(d["p1"].shape[0], dtype=np.int64)
    run_rows(breed, d["parents"].shape[0], d["parents"], d["children"],
             BreedPlan(d["elite_src"], d["p1"], d["p2"]), d["seed"], d["generation"],
             Layout(s.sizes_array, s.w_offsets, s.b_offsets),
             CrossoverParams(int(code_of(Crossover, d["kind"], "kind")), d["max_crossover"],
                             d["crossover_prob"]),
             MutationParams(d["rate"], d["cum_probs"], 2.0, 2.0, 0.3), counts)
    return d["children"].copy(), counts


def _ref_breed(d):
    return naive.breed(d["parents"], d["elite_src"], d["p1"], d["p2"], int(d["seed"]),
                       d["generation"], d["kind"], d["spec"].sizes, d["max_crossover"],
                       d["crossover_prob"], d["rate"], d["type_probs"], 2.0, 2.0, 0.3)


# --------------------------------------------------------------- selection
def _make_selection(P, B, sizes, seed=0, activations=None):
    rng = np.random.default_rng(seed)
    f = rng.standard_normal(P)
    f[rng.random(P) < 0.2] = np.nan
    if P > 3:
        f[1] = np.inf
        f[2] = f[0]  # a tie
    return dict(fitness=f, die_off_rate=0.4, preference=2.0)


def _fast_selection(d):
    f = d["fitness"]
    order = rank_order(f)
    keep = n_survivors(f.shape[0], d["die_off_rate"])
    return dict(order=order, keep=np.array(keep),
                probs=preference_probabilities(f[order[:keep]], d["preference"]))


def _ref_selection(d):
    f = d["fitness"]
    order = naive.rank_order(f)
    keep = naive.n_survivors(f.shape[0], d["die_off_rate"])
    return dict(order=order, keep=np.array(keep),
                probs=naive.preference_probabilities(f[order[:keep]], d["preference"]))


def _check_selection(fast, ref):
    np.testing.assert_array_equal(fast["order"], ref["order"])
    assert int(fast["keep"]) == int(ref["keep"])
    np.testing.assert_allclose(fast["probs"], ref["probs"], rtol=1e-12, atol=1e-15)


# ------------------------------------------------------------------ table
CASES: dict[str, Case] = {
    c.name: c
    for c in [
        Case("init_uniform", _make_init("uniform", 0.15), _fast_init, _ref_init, check_exact),
        Case("init_normal", _make_init("normal", 1.0), _fast_init, _ref_init, check_exact),
        Case("init_glorot", _make_init("glorot", 1.0), _fast_init, _ref_init, check_exact),
        Case("forward", _make_forward, _fast_forward, _ref_forward, check_close),
        Case("fused_cross_entropy", _make_fused("cross_entropy"), _fast_fused, _ref_fused,
             _check_fused),
        Case("fused_accuracy", _make_fused("accuracy"), _fast_fused, _ref_fused, _check_fused),
        Case("fused_mse", _make_fused("mse"), _fast_fused, _ref_fused, _check_fused),
        Case("crossover_neuron", _make_crossover("neuron", max_crossover=0.5, crossover_prob=0.8),
             _fast_crossover, _ref_crossover, check_exact),
        Case("crossover_single_point", _make_crossover("single_point", crossover_prob=0.8),
             _fast_crossover, _ref_crossover, check_exact),
        Case("crossover_uniform", _make_crossover("uniform", crossover_prob=0.8),
             _fast_crossover, _ref_crossover, check_exact),
        Case("copy_rows", _make_copy_rows, _fast_copy_rows, _ref_copy_rows, check_exact),
        Case("mutate", _make_mutate(0.2, (0.4, 0.2, 0.2, 0.2)), _fast_mutate, _ref_mutate,
             check_exact),
        Case("mutate_dense", _make_mutate(1.0, (0.25, 0.25, 0.25, 0.25)), _fast_mutate,
             _ref_mutate, check_exact),
        Case("breed_neuron", _make_breed("neuron"), _fast_breed, _ref_breed, check_exact),
        Case("breed_single_point", _make_breed("single_point"), _fast_breed, _ref_breed,
             check_exact),
        Case("breed_uniform", _make_breed("uniform"), _fast_breed, _ref_breed, check_exact),
        Case("breed_none", _make_breed("none"), _fast_breed, _ref_breed, check_exact),
        Case("selection", _make_selection, _fast_selection, _ref_selection, _check_selection),
    ]
}
