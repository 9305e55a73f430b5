"""Fused fitness against the unfused path: forward pass, then the loss in NumPy.

The fused kernel never stores the (P, B, out) outputs; the unfused path
(``Population.forward`` then a NumPy log-softmax cross-entropy) is what a
user-written fitness would do. Both are timed interleaved on the digits
shape P=512, B=1437, 64-32-10 (the setup of ``tests/cases.py``'s
``fused_cross_entropy``), and the NumPy reference there is timed per network.
There is no issue target here; the figure shows what fusing buys.
"""

import numpy as np

from bench.conftest import record
from bench.peak import interleaved_medians
from tests.cases import CASES


def _unfused(pop, X, y):
    out = pop.forward(X)  # (P, B, out), softmax probabilities
    p = out[:, np.arange(len(y)), y].astype(np.float64)
    return -np.log(np.maximum(p, 1e-7)).mean(axis=1)


def test_fused_vs_forward_then_numpy(benchmark, full, rounds):
    shape = dict(P=512, B=1437, sizes=(64, 32, 10)) if full else dict(P=6, B=21, sizes=(8, 5, 4))
    case = CASES["fused_cross_entropy"]
    d = case.make(**shape, activations=("relu", "softmax"))
    d["rows"] = np.arange(shape["P"], dtype=np.int64)
    fused = lambda: case.fast(d)  # noqa: E731
    unfused = lambda: _unfused(d["pop"], d["X"], d["y"])  # noqa: E731
    benchmark.pedantic(fused, rounds=rounds, iterations=1, warmup_rounds=1)
    t_fused, t_unfused = interleaved_medians([fused, unfused], rounds)
    # (No value check here: the unfused path clamps probabilities at 1e-7, as a
    # user-written loss would, so it differs for poor networks; tests/ checks
    # the fused values against the reference.)
    assert np.isfinite(unfused()).all()
    n_ref = 4 if full else shape["P"]
    d_ref = dict(d, rows=np.arange(n_ref, dtype=np.int64))
    (t_ref,) = interleaved_medians([lambda: case.reference(d_ref)], 1, warmup=0)
    record(benchmark, "speedup vs forward + NumPy loss", t_unfused / t_fused, 1.0, ">=",
           speedup_vs_reference_per_network=(t_ref / n_ref) / (t_fused / shape["P"]))
