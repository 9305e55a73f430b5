"""Island model on Ray vs one process: the main job (digits) at the same budget.

``fastga digits`` (one process, Numba on every core) against ``fastga digits
--islands 2`` (two Ray actors of one CPU each, each with half the
population, so both score the same number of networks per generation; the
islands also score their immigrants, 0.2% more). Both are timed end to end
as the user runs them, Ray's start-up included, alternately, ``ROUNDS``
times each; the medians and their ratio are printed and stored in the
benchmark's ``extra_info``. Run

    pytest bench/test_bench_islands.py --benchmark-enable -s

for the full measurement (about 15 minutes on 2 quiet cores); the islands
must reach the one-process test accuracy (within 0.01) in at most 1.3x its
wall time. With benchmarks disabled (CI) it runs once at a tiny size.
"""

import json
import statistics
import time

import pytest

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


def test_bench_islands_vs_one_process(benchmark, tmp_path):
    ray = pytest.importorskip("ray")
    if ray.is_initialized():  # each islands run starts (and stops) its own Ray, as the CLI does
        ray.shutdown()
    full = not benchmark.disabled
    size = [] if full else ["--generations", "2", "--pop-size", "20", "--hidden", "8"]
    rounds = ROUNDS if full else 1
    single, islands = [], []

    def baseline():  # not timed by pytest-benchmark; alternates with the islands' rounds
        single.append(_digits(tmp_path, f"single{len(single)}", [], size))

    def run_islands():
        islands.append(_digits(tmp_path, f"islands{len(islands)}", ["--islands", "2"], size))

    benchmark.pedantic(run_islands, setup=baseline, rounds=rounds, iterations=1)
    if not single:  # pragma: no cover - a pytest-benchmark that skips setup when disabled
        baseline()
    one = statistics.median(s["wall"] for s in single)
    isl = statistics.median(s["wall"] for s in islands)
    acc_one = statistics.median(s["test_accuracy"] for s in single)
    acc_isl = statistics.median(s["test_accuracy"] for s in islands)
    assert all(0.0 <= s["test_accuracy"] <= 1.0 for s in single + islands)
    assert all(s["islands"] == 2 for s in islands)
    if not full:
        return
    ratio = isl / one
    benchmark.extra_info.update({
        "one_process_seconds": [s["wall"] for s in single],
        "islands_seconds": [s["wall"] for s in islands],
        "one_process_accuracy": [s["test_accuracy"] for s in single],
        "islands_accuracy": [s["test_accuracy"] for s in islands],
        "ray_start_seconds": [s["ray_start_seconds"] for s in islands],
        "ratio": ratio,
    })
    print(f"\ndigits, 500 networks x 250 generations: one process {one:.1f} s, test accuracy "
          f"{acc_one:.4f}; 2 islands x 250 {isl:.1f} s, test accuracy {acc_isl:.4f}; "
          f"wall-time ratio {ratio:.2f} (medians of {rounds})")
    assert acc_isl >= acc_one - 0.01, f"islands accuracy {acc_isl:.4f} < one process {acc_one:.4f}"
    assert ratio <= 1.3, f"islands take {ratio:.2f}x the one-process wall time"
