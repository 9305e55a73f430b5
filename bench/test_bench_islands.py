"""Island model on Ray vs one process: the main job (digits) at the same budget.

``fastga digits`` (one process, Numba on every core) against ``fastga digits
--islands 2`` (two Ray actors of one CPU each, each with half the
population, so both score the same number of networks per generation; the
islands also score their immigrants, 0.2% more). Both are timed end to end
alternately, ``ROUNDS`` times each, round ``i`` with ``--seed i`` for both
(each run is deterministic for its seed, so the accuracies compare over
seeds, not over repeats of one run): the islands once on a Ray that is
already running (as on a cluster: ``--ray-address``; this is the timed,
asserted ratio) and once starting and stopping a local Ray themselves (its
ratio is reported: Ray's start-up, about 3 s on a quiet machine and up to
10 s on a loaded one, is a fixed cost that a short job cannot hide). The
medians and ratios are printed and stored in the benchmark's
``extra_info``. Run

    pytest bench/test_bench_islands.py --benchmark-enable -s

for the full measurement (a few minutes on 2 quiet cores); the islands
must reach the one-process test accuracy (within 0.01) in at most 1.3x its
wall time. With benchmarks disabled (CI) it runs once at a tiny size.
"""

import json
import statistics
import time

import pytest

from bench.conftest import record

pytestmark = pytest.mark.ray

ROUNDS = 3


def _digits(tmp_path, tag, extra, size):
    from fastga.cli import main

    js = tmp_path / f"{tag}.json"
    t0 = time.perf_counter()
    code = main(["digits", "--quiet", "--out", str(tmp_path / tag), "--json", str(js), *size, *extra])
    seconds = time.perf_counter() - t0
    assert code == 0
    res = json.loads(js.read_text())
    res["wall"] = seconds
    return res


def _init(ray):
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="WARNING")


def test_bench_islands_vs_one_process(benchmark, tmp_path):
    ray = pytest.importorskip("ray")
    if ray.is_initialized():
        ray.shutdown()
    full = not benchmark.disabled
    size = [] if full else ["--generations", "2", "--pop-size", "20", "--hidden", "8"]
    rounds = ROUNDS if full else 1
    single, islands, cold = [], [], []

    def seed(runs):
        return ["--seed", str(len(runs))]

    def baseline():  # not timed by pytest-benchmark; alternates with the islands' rounds
        single.append(_digits(tmp_path, f"single{len(single)}", ["--algorithm", "ga", *seed(single)],
                              size))  # the islands run the GA
        # the islands on a Ray started by the command itself (start and shutdown included)
        if ray.is_initialized():
            ray.shutdown()
        cold.append(_digits(tmp_path, f"cold{len(cold)}", ["--islands", "2", *seed(cold)], size))
        _init(ray)  # the timed islands join a running Ray, as on a cluster

    def run_islands():
        islands.append(_digits(tmp_path, f"islands{len(islands)}", ["--islands", "2", *seed(islands)],
                               size))

    try:
        benchmark.pedantic(run_islands, setup=baseline, rounds=rounds, iterations=1)
        if not single:  # pragma: no cover - a pytest-benchmark that skips setup when disabled
            baseline()
    finally:
        if ray.is_initialized():
            ray.shutdown()
    one = statistics.median(s["wall"] for s in single)
    isl = statistics.median(s["wall"] for s in islands)
    isl_cold = statistics.median(s["wall"] for s in cold)
    acc_one = statistics.mean(s["test_accuracy"] for s in single)
    acc_isl = statistics.mean(s["test_accuracy"] for s in islands)
    assert all(0.0 <= s["test_accuracy"] <= 1.0 for s in single + islands + cold)
    assert all(s["islands"] == 2 for s in islands + cold)
    if not full:
        return
    ratio, ratio_cold = isl / one, isl_cold / one
    # Measured, not asserted (bench/README.md): the report's table says whether
    # the 1.3x target holds; a faster single process makes Ray's fixed costs
    # weigh more.
    record(benchmark, "islands wall time / one process", ratio, 1.3, "<=",
           accuracy_islands=acc_isl, accuracy_one_process=acc_one)
    benchmark.extra_info.update({
        "one_process_seconds": [s["wall"] for s in single],
        "islands_seconds": [s["wall"] for s in islands],
        "islands_cold_seconds": [s["wall"] for s in cold],
        "one_process_accuracy": [s["test_accuracy"] for s in single],
        "islands_accuracy": [s["test_accuracy"] for s in islands],
        "ray_start_seconds": [s["ray_start_seconds"] for s in cold],
        "ratio": ratio, "ratio_with_ray_start": ratio_cold,
    })
    print(f"\ndigits, the defaults (500 networks, 400 generations; wall-time medians of {rounds}, "
          f"mean test accuracy over seeds 0-{rounds - 1}): one process {one:.1f} s, "
          f"test accuracy {acc_one:.4f}; 2 islands x 250 on a running Ray {isl:.1f} s "
          f"(ratio {ratio:.2f}), test accuracy {acc_isl:.4f}; starting and stopping Ray too "
          f"{isl_cold:.1f} s (ratio {ratio_cold:.2f})")
