"""Same random_state, same run: bit for bit, whatever the thread counts.

A small GA runs in fresh subprocesses with NUMBA_NUM_THREADS=1 or 2 and
OPENBLAS_NUM_THREADS=1 or 2 (the first layer is a float32 BLAS GEMM, large
enough here for OpenBLAS to split it over threads); the history (all but the
timing column), the best genome and the final population must be identical.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numba
import numpy as np
import pytest

from .cases import CASES, TINY_SHAPES

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import numba
    from threadpoolctl import threadpool_info
    from fastga import GeneticAlgorithm, History, NetworkSpec, SupervisedFitness

    out = sys.argv[1]
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 64)).astype(np.float32)
    y = (X[:, :10].argmax(axis=1)).astype(np.int64)
    spec = NetworkSpec([64, 32, 10], ["relu", "softmax"])
    fit = SupervisedFitness(X, y, batch_size=256, seed=1)
    ga = GeneticAlgorithm(spec, pop_size=120, elitism=2, crossover="neuron",
                          type_probs=(0.3, 0.1, 0.1, 0.5), mutation_rate=0.05,
                          random_state=1234)
    ga.run(fit, generations=3)
    ga2 = GeneticAlgorithm(spec, pop_size=40, crossover="uniform", selection="tournament",
                           init="normal", random_state=99)
    ga2.run(SupervisedFitness(X, y, metric="accuracy"), generations=2)
    arrays = {"h_" + k: v for k, v in ga.history_.to_dict().items() if k not in History.TIMING}
    arrays.update({"h2_" + k: v for k, v in ga2.history_.to_dict().items() if k not in History.TIMING})
    arrays["best_genome"] = ga.best_genome_
    arrays["population"] = ga.population_.genomes
    arrays["best_genome2"] = ga2.best_genome_
    arrays["population2"] = ga2.population_.genomes
    np.savez(out + ".npz", **arrays)
    blas = [d.get("num_threads") for d in threadpool_info() if d.get("user_api") == "blas"]
    with open(out + ".json", "w") as f:
        json.dump({"numba": numba.get_num_threads(), "blas": blas}, f)
    """
)


def _env(numba_threads, blas_threads):
    env = dict(os.environ)
    env["NUMBA_NUM_THREADS"] = str(numba_threads)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(blas_threads)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_bit_identical_for_any_thread_count(tmp_path):
    settings = {"n1b1": (1, 1), "n2b1": (2, 1), "n2b2": (2, 2)}
    procs = {}
    for name, (nt, bt) in settings.items():
        procs[name] = subprocess.Popen(
            [sys.executable, "-c", SCRIPT, str(tmp_path / name)], env=_env(nt, bt),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr[-3000:]
        with open(tmp_path / f"{name}.json") as f:
            info = json.load(f)
        nt, bt = settings[name]
        assert info["numba"] == nt
        assert all(b == bt for b in info["blas"]), info
        with np.load(tmp_path / f"{name}.npz") as data:
            results[name] = {k: data[k] for k in data.files}
    base = results["n1b1"]
    assert len(base["h_generation"]) == 4 and len(base["h2_generation"]) == 3
    for name in ("n2b1", "n2b2"):
        other = results[name]
        assert set(other) == set(base)
        for key in base:
            a, b = base[key], other[key]
            assert a.dtype == b.dtype and a.shape == b.shape, key
            assert a.tobytes() == b.tobytes(), f"{key} differs between n1b1 and {name}"


def _on_one_and_two_threads(fn):
    """``(fn() on 1 Numba thread, fn() on 2)``; the thread count restored."""
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = fn()
        numba.set_num_threads(2)
        return one, fn()
    finally:
        numba.set_num_threads(before)


@pytest.mark.parametrize("name", sorted(CASES))
def test_kernels_same_bits_with_one_and_two_threads(name):
    """In-process check: numba.set_num_threads(1) and (2) give the same bits."""
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs NUMBA_NUM_THREADS >= 2")
    case = CASES[name]
    inputs = case.make(P=13, B=6, sizes=(5, 7, 4), activations=("tanh", "softmax"), seed=2)
    one, two = _on_one_and_two_threads(lambda: case.fast(inputs))

    def flat(x):
        if isinstance(x, dict):
            return [flat(x[k]) for k in sorted(x)]
        if isinstance(x, (tuple, list)):
            return [flat(v) for v in x]
        return np.asarray(x).tobytes()

    assert flat(one) == flat(two)


@pytest.mark.parametrize("name", ["fused_cross_entropy", "fused_mse"])
def test_fitness_in_sample_slabs_same_bits_with_one_and_two_threads(name, monkeypatch):
    """The slabs of ``fastga.evaluation.sample_slabs`` depend on the shapes only."""
    from fastga import evaluation
    from fastga.kernels.forward import LANES

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs NUMBA_NUM_THREADS >= 2")
    monkeypatch.setattr(evaluation, "DIRECT_INPUT_BYTES", 4 * 20 * LANES * 4)
    case = CASES[name]
    inputs = case.make(P=13, B=300, sizes=(20, 7, 4), seed=5)
    assert len(evaluation.sample_slabs(20, 300)) == 2
    one, two = _on_one_and_two_threads(lambda: case.fast(inputs))
    for k in one:
        assert np.asarray(one[k]).tobytes() == np.asarray(two[k]).tobytes(), k
