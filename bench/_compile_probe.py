"""Run every kernel of a GA once and print the seconds it took (a subprocess of
``test_bench_compile.py``; NUMBA_CACHE_DIR is set by the caller).

``python bench/_compile_probe.py`` compiles ahead as the ``fastga`` commands
do (:func:`fastga.compile_ahead`), then runs three GA runs (every crossover
kind), a forward pass and an MSE evaluation; ``python bench/_compile_probe.py
NAME`` calls the one kernel ``NAME`` of :data:`KERNELS` on tiny arrays instead;
``python bench/_compile_probe.py classes K1 K2 ...`` fits a tiny
:class:`~fastga.GeneticMLPClassifier` on K1 classes, then on K2... in turn
and prints each fit's seconds (``fit_s``: what a new number of classes
compiles); ``python bench/_compile_probe.py first-generation`` prints the
seconds from the loaded data (scikit-learn imported) to the end of the first generation of the
digits job (its ``compile_ahead``, then a 1-generation fit of its classifier
with its default algorithm; ``fit_s``: to the end of that fit).
Times are wall-clock and CPU (``process_time``: compilation is single-threaded,
so on a loaded machine the CPU time is the better figure); ``helpers_cpu_s``
is the CPU time of the helper processes that :func:`fastga.compile_ahead`
started (with ``FASTGA_COMPILE_JOBS=1`` it starts none and everything
compiles in this process).
"""

import json
import sys
import time

t0 = time.perf_counter()
import numpy as np  # noqa: E402

from fastga import (GeneticAlgorithm, NetworkSpec, Population, SupervisedFitness,  # noqa: E402
                    compile_ahead)

t_import = time.perf_counter() - t0

#: Kernels of the Python layer, by module.
KERNELS = {
    "init_genomes": "fastga.kernels.init",
    "gather_first_layer": "fastga.kernels.forward",
    "forward_epilogue": "fastga.kernels.forward",
    "fused_softmax_ce": "fastga.kernels.fitness",
    "fused_classify": "fastga.kernels.fitness",
    "fused_mse": "fastga.kernels.fitness",
    "breed": "fastga.kernels.breed",
}


def _kernel_args(name, spec, P=4, B=30):
    from fastga.kernels.breed import BreedPlan, CrossoverParams, Layout, MutationParams
    from fastga.kernels.forward import LANES

    g = np.zeros((P, spec.n_params), np.float32)
    ch = np.zeros_like(g)
    rows = np.arange(P, dtype=np.int64)
    h1 = spec.sizes[1]
    hT = np.zeros((P * h1, 64), np.float32)
    arrays = (spec.sizes_array, spec.w_offsets, spec.b_offsets)
    fit = (np.zeros(P), np.zeros(P), np.zeros((P, 2)), LANES, 0, P)
    cum = np.array([0.25, 0.5, 0.75, 1.0])
    return {
        "init_genomes": (g, np.uint64(0), 0, 0.15, *arrays, 0, P),
        "gather_first_layer": (g, rows, 0, spec.n_inputs, h1, np.zeros((P * h1, spec.n_inputs),
                                                                         np.float32), 0, P),
        "forward_epilogue": (hT, False, g, rows, *arrays, spec.act_codes,
                             np.zeros((P, B, spec.n_outputs), np.float32), LANES, 0, P, ()),
        "fused_softmax_ce": (hT, False, g, rows, *arrays, spec.act_codes, np.zeros(64, np.int32), B, *fit,
                             (0,) * spec.n_outputs, ()),
        "fused_classify": (hT, False, g, rows, *arrays, spec.act_codes, np.zeros(64, np.int32), B, *fit,
                           ()),
        "fused_mse": (hT, False, g, rows, *arrays, spec.act_codes,
                      np.zeros((64, spec.n_outputs), np.float32), B, *fit, ()),
        "breed": (g, ch, BreedPlan(rows[:1], rows[1:], rows[1:]), np.uint64(0), 1,
                  Layout(*arrays), CrossoverParams(0, 0.5, 1.0),
                  MutationParams(0.1, cum, 2.0, 2.0, 0.1), np.zeros(P - 1, np.int64), 0, P),
    }[name]


def main(argv):
    import importlib

    spec = NetworkSpec([6, 5, 3], ["relu", "softmax"])
    t1, c1 = time.perf_counter(), time.process_time()
    if argv and argv[0] == "first-generation":
        from fastga.compilation import tasks_for
        from fastga.datasets import load_digits_split
        from fastga.estimators import GeneticMLPClassifier

        X_tr, _, y_tr, _ = load_digits_split()
        t1 = time.perf_counter()  # scikit-learn is imported and the data loaded (the "start")
        from fastga.commands.digits import DEFAULT_ALGORITHM

        clf = GeneticMLPClassifier(algorithm=DEFAULT_ALGORITHM, generations=1, random_state=0,
                                   verbose=False)
        compile_ahead(clf.network_spec(X_tr.shape[1], 10),
                      tasks_for(metric="cross_entropy", algorithm=clf.algorithm))
        marks = []  # the end of each told generation: 0 (the initial sample), then 1
        clf.fit(X_tr, y_tr, callbacks=[lambda algo, record: marks.append(time.perf_counter())])
        print(json.dumps({"import_s": t_import, "first_generation_s": marks[-1] - t1,
                          "fit_s": time.perf_counter() - t1}))
        return
    if argv and argv[0] == "classes":
        from fastga import GeneticMLPClassifier

        X = np.random.default_rng(0).standard_normal((60, 8)).astype(np.float32)
        fit_s = {}
        for k in argv[1:]:
            t = time.perf_counter()
            GeneticMLPClassifier(architecture=(16,), pop_size=8, generations=2,
                                 random_state=0).fit(X, np.arange(60) % int(k))
            fit_s[k] = time.perf_counter() - t
        print(json.dumps({"import_s": t_import, "fit_s": fit_s}))
        return
    if argv:
        name = argv[0]
        kernel = getattr(importlib.import_module(KERNELS[name]), name)
        kernel(*_kernel_args(name, spec))
    else:
        rng = np.random.default_rng(0)
        X = rng.standard_normal((30, 6)).astype(np.float32)
        y = rng.integers(0, 3, 30)
        compile_ahead(spec, fitness=SupervisedFitness(X, y))
        for crossover in ("neuron", "single_point", "uniform"):
            ga = GeneticAlgorithm(spec, pop_size=8, crossover=crossover, random_state=0)
            ga.run(SupervisedFitness(X, y), 2)
        pop = Population.random(spec, 4, random_state=1, init="normal")
        pop.forward(X)
        pop.losses(X, rng.standard_normal((30, 3)).astype(np.float32), "mse")
    wall, cpu = time.perf_counter() - t1, time.process_time() - c1
    try:  # the helper processes of fastga.compilation (CPU time, all of them)
        import resource

        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        children = usage.ru_utime + usage.ru_stime
    except ImportError:  # not on Windows
        children = float("nan")
    print(json.dumps({"import_s": t_import, "first_call_s": wall, "first_call_cpu_s": cpu,
                      "helpers_cpu_s": children}))


if __name__ == "__main__":
    main(sys.argv[1:])
