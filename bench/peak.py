"""The machine's float32 GEMM peak, measured in the same run as a benchmark.

A large square ``numpy.matmul`` (multi-threaded OpenBLAS) is the yardstick:
every "share of peak" in ``bench/`` divides a kernel's GFLOP/s by this
number, measured in the same process, interleaved with the kernel, so that
load from other processes hits both alike.
"""

import time

import numpy as np

__all__ = ["GemmProbe", "interleaved_medians"]


class GemmProbe:
    """``n x n @ n x n`` float32 matmul (``2 n**3`` flops per call), ``n = 2048`` by default."""

    def __init__(self, n=2048, seed=0):
        rng = np.random.default_rng(seed)
        self.n = int(n)
        self.a = rng.standard_normal((n, n), dtype=np.float32)
        self.b = rng.standard_normal((n, n), dtype=np.float32)
        self.c = np.empty((n, n), dtype=np.float32)
        self.flops = 2.0 * n ** 3

    def __call__(self):
        np.matmul(self.a, self.b, out=self.c)

    def gflops(self, seconds):
        return self.flops / seconds / 1e9


def interleaved_medians(fns, rounds, warmup=1, clock=time.perf_counter, settle=0.0, warm=False):
    """Median seconds of each callable, run in turn ``rounds`` times (after ``warmup``).

    Interleaving puts every callable under the same background load, so the
    ratio of two medians is far steadier than two separate measurements on
    a shared machine.

    ``settle``: seconds to wait (untimed) before each timed call. After a
    multi-threaded call, OpenBLAS' worker threads spin-wait (``sched_yield``)
    for about 0.1 s (its ``THREAD_TIMEOUT``, 2**28 cycles) and torch's OpenMP
    threads spin too, taking CPU from whatever runs next: without a pause,
    the callable after :class:`GemmProbe` is measured under that load
    (``bench/README.md``, "How the forward pass works").

    ``warm``: run each callable once more, untimed, right before each of its
    timed calls (after the pause). A call that follows an idle pause is
    measured with idle cores (the second core's thread must be woken, which
    takes a few hundred microseconds on this VM) and with other tenants'
    data in its caches; a GA evaluates back to back, so the steady state is
    the figure that counts. The warm-up call of the GEMM probe leaves
    OpenBLAS' threads spinning, which only helps the probe's timed call.
    """
    for _ in range(warmup):
        for fn in fns:
            fn()
    times = [[] for _ in fns]
    for _ in range(rounds):
        for k, fn in enumerate(fns):
            if settle:
                time.sleep(settle)
            if warm:
                fn()
            t0 = clock()
            fn()
            times[k].append(clock() - t0)
    return [float(np.median(t)) for t in times]
