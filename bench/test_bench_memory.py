"""Peak memory of a run: P=10,000 networks of 784-16-10 on 1,000 inputs.

Target (issue 3): the peak RSS is at most 2x (the two genome buffers plus
the data); nothing of size P x B x out is kept. Measured in a subprocess
(``bench/_memory_probe.py``) by ``resource.getrusage`` (whole-process peak,
interpreter and compiled kernels included, so the figure is conservative)
and ``tracemalloc`` (the peak of NumPy allocations during one evaluation).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.conftest import record

PROBE = Path(__file__).with_name("_memory_probe.py")
ROOT = Path(__file__).resolve().parents[1]


def test_peak_memory_of_a_generation(benchmark, full):
    P, B = (10_000, 1_000) if full else (200, 50)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")

    def probe():
        out = subprocess.run([sys.executable, str(PROBE), str(P), str(B)], env=env,
                             capture_output=True, text=True, check=True, timeout=1800)
        return json.loads(out.stdout.strip().splitlines()[-1])

    m = benchmark.pedantic(probe, rounds=1, iterations=1)
    # Nothing of size P x B x out is allocated by the evaluation.
    assert m["evaluation_traced_peak_mb"] < max(m["outputs_PxBxout_mb"], 1.0) or not full
    record(benchmark, "peak RSS / (2 genome buffers + data)", m["peak_rss_mb"] / (m["budget_mb"] / 2),
           2.0, "<=", **m)
