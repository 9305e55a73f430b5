"""Share of the GEMM peak on ONE thread, timed in CPU seconds (a development aid).

On a shared machine, wall-clock ratios of multi-threaded code swing with the
load of other processes; the CPU time of a single-threaded run barely does.
This prints, for the three shapes of issue 3, the fused forward + cross-entropy
GFLOP/s divided by the single-threaded float32 GEMM peak (numpy matmul
n=2048), both timed by ``time.process_time``, interleaved, medians of 7: on
the path the shape takes (direct, in slabs or GEMM:
:func:`fastga.evaluation.is_direct`, :func:`~fastga.evaluation.sample_slabs`)
and on the direct path (whole) and the GEMM path forced.

    python bench/cpu_share.py           # the three shapes
    python bench/cpu_share.py --split   # and where the time goes

``--split`` also times the three steps of the GEMM path alone, on the same
pieces of networks as :func:`fastga.evaluation._pipeline` (one thread, each
step over all pieces in turn, so a step's data is not in cache from the
previous one): the gather of the first-layer panel, the first-layer GEMM
(its share of the peak counts its own flops) and the fused epilogue (ns per
network and sample). The digits generation's shape (P=1000, 64-8-10 on 1437
samples) is added.
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


def _steps(d):
    """The gather, GEMM and epilogue of ``d``'s fused evaluation, each over all pieces."""
    from fastga import evaluation as ev
    from fastga.kernels.fitness import fused_softmax_ce, softmax_tile_outputs
    from fastga.kernels.forward import LANES, gather_first_layer, hidden_acts

    pop, X, y, rows = d["pop"], d["X"], d["y"], d["rows"]
    spec, genomes = pop.spec, pop.genomes
    n_samples, n_in = X.shape
    h1 = spec.sizes[1]
    Bp = ev.padded(n_samples)
    Xp = np.zeros((Bp, n_in), dtype=np.float32)
    Xp[:n_samples] = X
    y_pad = np.zeros(Bp, dtype=np.int32)
    y_pad[:n_samples] = y
    n = rows.shape[0]
    step = ev.chunk_rows(n, Bp, n_in, h1)
    pieces = [(lo, min(lo + step, n)) for lo in range(0, n, step)]
    panels = [np.empty(((hi - lo) * h1, n_in), np.float32) for lo, hi in pieces]
    hTs = [np.empty(((hi - lo) * h1, Bp), np.float32) for lo, hi in pieces]
    loss, acc, mom = np.empty(n), np.empty(n), np.empty((n, 2))

    def gather():
        for (lo, hi), panel in zip(pieces, panels):
            gather_first_layer(genomes, rows[lo:hi], int(spec.w_offsets[0]), n_in, h1, panel, 0,
                               hi - lo)

    def gemm():
        for panel, hT in zip(panels, hTs):
            np.matmul(panel, Xp.T, out=hT)

    def epilogue():
        for (lo, hi), hT in zip(pieces, hTs):
            fused_softmax_ce(hT, False, genomes, rows[lo:hi], spec.sizes_array, spec.w_offsets,
                             spec.b_offsets, spec.act_codes, y_pad, n_samples, loss[lo:hi],
                             acc[lo:hi], mom[lo:hi], LANES, 0, hi - lo,
                             softmax_tile_outputs(spec.sizes), hidden_acts(spec.activations))

    gather()
    gemm()
    return gather, gemm, epilogue


def _forced(run, path):
    """``run`` with the forward pass forced onto ``path`` ("direct" or "gemm")."""
    from fastga import evaluation as ev

    def forced():
        saved = ev.DIRECT_INPUT_BYTES
        ev.DIRECT_INPUT_BYTES = 1 << 40 if path == "direct" else 0
        try:
            run()
        finally:
            ev.DIRECT_INPUT_BYTES = saved
    return forced


def main(argv=()):
    from fastga import evaluation as ev

    split = "--split" in argv
    numba.set_num_threads(1)
    probe = GemmProbe(2048)
    shapes = list(zip(IDS, FULL_SHAPES))
    if split:
        shapes.append(("P1000-B1437-64x8x10", dict(P=1000, B=1437, sizes=(64, 8, 10))))
    with threadpool_limits(1):
        for ident, shape in shapes:
            case, d = fused_inputs(shape)
            run = lambda: case.fast(d)  # noqa: E731
            fns = [run, probe, _forced(run, "direct"), _forced(run, "gemm")]
            fns += list(_steps(d)) if split else []
            ts = interleaved_medians(fns, 7, clock=time.process_time)
            t_fast, t_peak, t_direct, t_gemm = ts[:4]
            peak = probe.gflops(t_peak)

            def share(t):
                return (flops(**shape) / t / 1e9) / peak
            n_in, B = shape["sizes"][0], shape["B"]
            path = ("direct" if ev.is_direct(n_in, B)
                    else "slabs" if len(ev.sample_slabs(n_in, B)) > 1 else "gemm")
            line = (f"{ident}: {share(t_fast):.2f} of the 1-thread GEMM peak ({peak:.0f} GFLOP/s), "
                    f"{path} path (direct {share(t_direct):.2f}, gemm {share(t_gemm):.2f})")
            if split:
                t_gather, t_gemm_only, t_epi = ts[4:]
                n_in, h1 = shape["sizes"][:2]
                gemm_share = 2.0 * shape["P"] * shape["B"] * n_in * h1 / t_gemm_only / 1e9 / peak
                line += (f"; gemm path {t_gemm * 1e3:.1f} ms: gather {t_gather * 1e3:.1f} ms, GEMM "
                         f"{t_gemm_only * 1e3:.1f} ms ({gemm_share:.2f} of the peak), epilogue "
                         f"{t_epi * 1e3:.1f} ms ({t_epi / shape['P'] / shape['B'] * 1e9:.1f} ns "
                         "per network and sample)")
            print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
