"""Share of the GEMM peak on ONE thread, timed in CPU seconds (a development aid).

On a shared machine, wall-clock ratios of multi-threaded code swing with the
load of other processes; the CPU time of a single-threaded run barely does.
This prints, for the three shapes of issue 3, the fused forward + cross-entropy
GFLOP/s divided by the single-threaded float32 GEMM peak (numpy matmul
n=2048), both timed by ``time.process_time``, interleaved, medians of 7.

    python bench/cpu_share.py
"""

import sys
import time
from pathlib import Path

import numba
import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.peak import GemmProbe, interleaved_medians  # noqa: E402
from bench.test_bench_forward import FULL_SHAPES, IDS, flops, fused_inputs  # noqa: E402


def main():
    numba.set_num_threads(1)
    probe = GemmProbe(2048)
    with threadpool_limits(1):
        for ident, shape in zip(IDS, FULL_SHAPES):
            case, d = fused_inputs(shape)
            run = lambda: case.fast(d)  # noqa: E731
            t_fast, t_peak = interleaved_medians([run, probe], 7, clock=time.process_time)
            share = (flops(**shape) / t_fast / 1e9) / probe.gflops(t_peak)
            print(f"{ident}: {share:.2f} of the 1-thread GEMM peak ({probe.gflops(t_peak):.0f} GFLOP/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
