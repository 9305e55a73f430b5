"""Forward pass with fused fitness against the machine's float32 GEMM peak.

Targets (issue 3): fused forward + cross-entropy at >= 75% of the GEMM peak
for P=256,B=1024,784-16-10; P=1024,B=256,784-16-10; P=512,B=1437,64-32-10
(relu hidden, softmax out); >= 1.5x ``torch.baddbmm`` where torch is
installed; 2 threads >= 1.7x 1 thread. Flops count every layer:
``2 * P * B * sum(n_in * n_out)``.

The setups come from the shared table ``tests/cases.py`` (``fused_cross_entropy``
and ``forward``); the NumPy reference there (one network at a time) is timed
on a few networks and reported per network.
"""

import numpy as np
import pytest

from bench.conftest import record
from bench.peak import interleaved_medians
from tests.cases import CASES

FULL_SHAPES = [
    dict(P=256, B=1024, sizes=(784, 16, 10)),
    dict(P=1024, B=256, sizes=(784, 16, 10)),
    dict(P=512, B=1437, sizes=(64, 32, 10)),
]
SMOKE_SHAPES = [
    dict(P=8, B=37, sizes=(20, 6, 4)),
    dict(P=16, B=20, sizes=(20, 6, 4)),
    dict(P=8, B=45, sizes=(8, 5, 4)),
]
IDS = ["P256-B1024-784x16x10", "P1024-B256-784x16x10", "P512-B1437-64x32x10"]

#: Untimed pause before each timed call of an interleaving with the GEMM probe
#: or torch, whose threads spin-wait after a call, then an untimed call of the
#: same callable (``warm``: the steady state a GA's back-to-back evaluations
#: run in; see :func:`bench.peak.interleaved_medians`). The figures without
#: the pause (``share_no_settle``, ``speedup_no_settle``: fastga measured
#: while the other's threads spin) and with the pause but no warm-up call
#: (``share_after_idle``, ``speedup_after_idle``) are recorded too.
SETTLE_S = 0.2


def flops(P, B, sizes):
    return 2.0 * P * B * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


def fused_inputs(shape):
    case = CASES["fused_cross_entropy"]
    d = case.make(**shape, activations=("relu", "softmax"))
    d["rows"] = np.arange(shape["P"], dtype=np.int64)  # the whole population
    return case, d


@pytest.mark.parametrize("k", range(3), ids=IDS)
def test_fused_fitness_vs_gemm_peak(benchmark, full, probe, rounds, k):
    shape = (FULL_SHAPES if full else SMOKE_SHAPES)[k]
    case, d = fused_inputs(shape)
    run = lambda: case.fast(d)  # noqa: E731
    benchmark.pedantic(run, rounds=rounds, iterations=1, warmup_rounds=1)
    settle = SETTLE_S if full else 0.0
    t_fast, t_peak = interleaved_medians([run, probe], rounds, settle=settle, warm=full)
    fl = flops(**shape)
    share = (fl / t_fast / 1e9) / probe.gflops(t_peak)
    t_fast0, t_peak0 = interleaved_medians([run, probe], rounds)
    share0 = (fl / t_fast0 / 1e9) / probe.gflops(t_peak0)
    t_fast1, t_peak1 = interleaved_medians([run, probe], rounds, settle=settle)
    share1 = (fl / t_fast1 / 1e9) / probe.gflops(t_peak1)
    # The reference, one network at a time, on a few networks.
    n_ref = 4 if full else shape["P"]
    d_ref = dict(d, rows=np.arange(n_ref, dtype=np.int64))
    (t_ref,) = interleaved_medians([lambda: case.reference(d_ref)], 1 if full else 1, warmup=0)
    per_net_speedup = (t_ref / n_ref) / (t_fast / shape["P"])
    record(benchmark, "share of float32 GEMM peak", share, 0.75, ">=", shape=IDS[k],
           gflops=fl / t_fast / 1e9, peak_gflops=probe.gflops(t_peak), share_no_settle=share0,
           share_after_idle=share1,
           speedup_vs_reference_per_network=per_net_speedup)
    # Correctness on the benchmarked shape (not timed): the fused result matches the reference.
    case.check(case.fast(d_ref), case.reference(d_ref))


@pytest.mark.parametrize("k", [0], ids=IDS[:1])
def test_fused_vs_torch_baddbmm(benchmark, full, rounds, k):
    torch = pytest.importorskip("torch")
    shape = (FULL_SHAPES if full else SMOKE_SHAPES)[k]
    case, d = fused_inputs(shape)
    spec, pop, X = d["spec"], d["pop"], d["X"]
    Ws = [torch.from_numpy(np.ascontiguousarray(np.stack([spec.unflatten(g)[i][0] for g in pop.genomes])))
          for i in range(spec.n_layers)]
    bs = [torch.from_numpy(np.ascontiguousarray(np.stack([spec.unflatten(g)[i][1] for g in pop.genomes]))[:, None, :])
          for i in range(spec.n_layers)]
    xb = torch.from_numpy(X).expand(shape["P"], *X.shape)
    y = torch.from_numpy(d["y"])

    def torch_run():
        with torch.no_grad():
            h = torch.relu(torch.baddbmm(bs[0], xb, Ws[0]))
            z = torch.baddbmm(bs[1], h, Ws[1])
            return torch.nn.functional.cross_entropy(z.transpose(1, 2), y.expand(shape["P"], -1),
                                                     reduction="none").mean(1)

    run = lambda: case.fast(d)  # noqa: E731
    benchmark.pedantic(run, rounds=rounds, iterations=1, warmup_rounds=1)
    settle = SETTLE_S if full else 0.0
    t_fast, t_torch = interleaved_medians([run, torch_run], rounds, settle=settle, warm=full)
    t_fast0, t_torch0 = interleaved_medians([run, torch_run], rounds)
    t_fast1, t_torch1 = interleaved_medians([run, torch_run], rounds, settle=settle)
    record(benchmark, "speedup vs torch.baddbmm", t_torch / t_fast, 1.5, ">=", shape=IDS[k],
           speedup_no_settle=t_torch0 / t_fast0, speedup_after_idle=t_torch1 / t_fast1)


def test_thread_scaling_and_bit_identity(benchmark, full, rounds):
    """2 threads vs 1 on the forward pass (Numba and BLAS both limited); results bit-identical."""
    import numba
    from threadpoolctl import threadpool_limits

    shape = (FULL_SHAPES if full else SMOKE_SHAPES)[0]
    case, d = fused_inputs(shape)
    fwd = CASES["forward"]
    df = dict(d)
    n_threads = numba.config.NUMBA_NUM_THREADS

    def with_threads(n, fn):
        def run():
            numba.set_num_threads(n)
            with threadpool_limits(n):
                return fn()
        return run

    one = with_threads(1, lambda: case.fast(d))
    many = with_threads(n_threads, lambda: case.fast(d))
    try:
        benchmark.pedantic(many, rounds=rounds, iterations=1, warmup_rounds=1)
        t1, t2 = interleaved_medians([one, many], rounds)
        r1, r2 = one(), many()
        o1 = with_threads(1, lambda: fwd.fast(df))()
        o2 = with_threads(n_threads, lambda: fwd.fast(df))()
    finally:
        numba.set_num_threads(n_threads)
    for key in r1:
        np.testing.assert_array_equal(r1[key], r2[key])
    np.testing.assert_array_equal(o1, o2)
    record(benchmark, f"{n_threads} threads vs 1 thread", t1 / t2, 1.7 if n_threads >= 2 else 1.0,
           ">=", shape=IDS[0], threads=n_threads)
