"""Compiling a run's kernels ahead of it, spread over processes.

Numba compiles a kernel in the process that first calls it, on one core:
its compiler holds a process-wide lock, so threads cannot share the work.
A GA's first run compiles the breeding kernel, a fitness kernel and the
forward pass (``predict``) one after the other, about 11 s of CPU on the
benchmark machine (issue 3: at most 10 s for the first call of the whole
GA). :func:`compile_ahead` compiles them at the same time, in the calling
process and in up to ``n_jobs - 1`` helper processes (``python -m
fastga.compilation``, fresh interpreters: nothing of the caller's
``__main__`` runs again). Every kernel is ``cache=True``, so each process
writes what it compiled to Numba's cache, and the caller loads the helpers'
part from there on its first call (a few tens of milliseconds a kernel).

Each task runs the library's own code on a few samples of tiny networks of
the same :class:`~fastga.NetworkSpec` (kernel signatures depend on the
spec's activations and number of outputs, never on the sizes of the data),
so it compiles exactly the signatures the run uses
(``tests/test_compilation.py`` checks that a run after the tasks compiles
nothing more).

Nothing is started where it cannot help: with one CPU, with
``FASTGA_COMPILE_JOBS=1`` (the helpers run with it), where Numba's JIT or
cache is off, in a frozen application (its executable is not a Python), or
where every kernel of the tasks is compiled in this process already or found
in the cache. A helper that fails or outlives
``timeout`` costs nothing but its time: the caller then compiles what it
did not, on first use, as without this module.

:meth:`fastga.GeneticAlgorithm.run` calls :func:`compile_ahead` before a
run's first generation with the tasks of its fitness (see
:func:`run_tasks`).
"""

import json
import os
import subprocess
import sys
import time

import numpy as np

__all__ = ["TASKS", "ENV_JOBS", "compile_ahead", "run_tasks", "split_tasks", "tasks_for",
           "default_jobs"]

#: Environment variable: the number of processes :func:`compile_ahead` uses by
#: default (``1``: compile in the calling process only, on first use).
ENV_JOBS = "FASTGA_COMPILE_JOBS"

#: The tasks and their compile cost (CPU seconds on the benchmark machine with
#: an empty cache; used only to balance the processes):
#:
#: * ``breed``: :func:`~fastga.kernels.init.init_genomes` and
#:   :func:`~fastga.kernels.breed.breed` (every crossover kind: the kind is an
#:   argument);
#: * ``forward``: the forward pass of :meth:`fastga.Population.forward` and
#:   :meth:`fastga.Network.predict` on inputs that fit the direct path;
#: * ``fitness:METRIC``: the fused fitness kernel of ``METRIC``
#:   (:func:`fastga.evaluation.fitness_kernel`).
TASKS = {"breed": 5.5, "forward": 1.5, "fitness:cross_entropy": 4.2, "fitness:accuracy": 4.2,
         "fitness:mse": 1.2}

#: Seconds a helper takes to start and import fastga, added to its load.
_START_COST = 0.5
_SAMPLES = 8
_running = False  # True while this process runs tasks (no helpers from inside them)


def default_jobs():
    """Processes for :func:`compile_ahead`: ``FASTGA_COMPILE_JOBS`` if set, else
    the CPUs this process may run on."""
    env = os.environ.get(ENV_JOBS, "").strip()
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            raise ValueError(f"{ENV_JOBS}: expected an integer, got {env!r}") from None
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def tasks_for(fitness=None):
    """The tasks of a GA run whose fitness is ``fitness``: ``breed``, ``forward``
    (the outputs a fitness of outputs scores, the fitted network's
    ``predict``), and ``fitness:METRIC`` where ``fitness`` is a
    :class:`~fastga.SupervisedFitness`."""
    from .fitness import SupervisedFitness

    tasks = ["breed", "forward"]
    if isinstance(fitness, SupervisedFitness):
        tasks.append(f"fitness:{fitness.metric}")
    return tasks


def _check_tasks(tasks):
    tasks = list(dict.fromkeys(tasks))
    for t in tasks:
        if t not in TASKS:
            raise ValueError(f"tasks: unknown task {t!r}; expected some of {sorted(TASKS)}")
    return tasks


def _kernels(spec, task):
    """The top-level kernels ``task`` compiles for networks of ``spec``."""
    if task == "breed":
        from .kernels.breed import breed
        from .kernels.init import init_genomes

        return [init_genomes, breed]
    if task == "forward":
        from .kernels.forward import forward_epilogue

        return [forward_epilogue]
    from .evaluation import fitness_kernel

    return [fitness_kernel(spec, task.split(":", 1)[1])[0]]


def _ready(kernel):
    """Whether calling ``kernel`` needs no compiling that a helper could do:
    compiled in this process, found in the cache, or not cached at all."""
    if kernel.overloads:
        return True
    try:
        index = kernel._cache._cache_file._load_index()  # Numba's own cache index
        magic = kernel.targetctx.codegen().magic_tuple()
    except Exception:  # no cache (cache=False, another Numba): a helper cannot help
        return True
    return any(key[1] == magic for key in index)


def _tiny_population(spec):
    from .population import Population

    genomes = np.zeros((2, spec.n_params), dtype=np.float32)  # no init kernel
    return Population(spec, genomes)


def _run_task(spec, task):
    X = np.zeros((_SAMPLES, spec.n_inputs), dtype=np.float32)
    if task == "breed":
        from .ga import GeneticAlgorithm

        ga = GeneticAlgorithm(spec, pop_size=8, elitism=1, random_state=0)
        ga.run(lambda pop: np.zeros(pop.size), 1)
    elif task == "forward":
        pop = _tiny_population(spec)
        pop.forward(X)
        pop.network(0).predict(X)
    else:
        metric = task.split(":", 1)[1]
        if metric == "mse":
            y = np.zeros((_SAMPLES, spec.n_outputs), dtype=np.float32)
        else:
            y = np.zeros(_SAMPLES, dtype=np.int64)
        _tiny_population(spec).losses(X, y, metric)


def run_tasks(spec, tasks):
    """Run ``tasks`` (names of :data:`TASKS`) in this process, compiling (or
    loading from the cache) the kernels they use for networks of ``spec``."""
    global _running
    tasks = _check_tasks(tasks)
    was, _running = _running, True
    try:
        for task in tasks:
            _run_task(spec, task)
    finally:
        _running = was


def split_tasks(tasks, n_jobs):
    """Split ``tasks`` over at most ``n_jobs`` processes, longest first, each to
    the least loaded one; the first list is the caller's, which has no start-up
    cost. Returns the non-empty lists, the caller's first (maybe empty)."""
    tasks = _check_tasks(tasks)
    n_jobs = max(1, int(n_jobs))
    bins = [[] for _ in range(min(n_jobs, max(len(tasks), 1)))]
    load = [0.0] + [_START_COST] * (len(bins) - 1)
    for t in sorted(tasks, key=lambda t: -TASKS[t]):
        k = min(range(len(bins)), key=lambda i: (load[i], i))
        bins[k].append(t)
        load[k] += TASKS[t]
    return [bins[0]] + [b for b in bins[1:] if b]


def _site_dirs():
    import site
    import sysconfig

    dirs = {sysconfig.get_paths()[k] for k in ("purelib", "platlib")}
    try:
        dirs.update(site.getsitepackages())
        dirs.add(site.getusersitepackages())
    except AttributeError:  # an old virtualenv's site module
        pass
    return {os.path.abspath(d) for d in dirs}


def _helper_command(spec, tasks):
    arg = json.dumps({"spec": spec.to_dict(), "tasks": tasks})
    return [sys.executable, "-m", "fastga.compilation", arg]


def compile_ahead(spec, tasks, n_jobs=None, timeout=600.0):
    """Compile the kernels of ``tasks`` for networks of ``spec``, over processes.

    Parameters
    ----------
    spec : NetworkSpec or sequence
    tasks : sequence of str
        Names of :data:`TASKS` (see :func:`tasks_for`).
    n_jobs : int, optional
        Processes, the caller's included; default :func:`default_jobs`.
        ``1`` compiles nothing ahead.
    timeout : float
        Seconds to wait for the helpers; one still running then is stopped
        (the caller compiles its part on first use).

    Returns
    -------
    dict
        ``"here"`` and ``"helpers"``: the tasks this process ran and those
        each helper ran (empty where nothing was started), ``"failed"``:
        the helpers' tasks that did not finish, ``"seconds"``: wall time.
    """
    from .spec import NetworkSpec

    spec = spec if isinstance(spec, NetworkSpec) else NetworkSpec(spec)
    tasks = _check_tasks(tasks)
    n_jobs = default_jobs() if n_jobs is None else int(n_jobs)
    report = {"here": [], "helpers": [], "failed": [], "seconds": 0.0}
    import numba

    if (n_jobs <= 1 or _running or numba.config.DISABLE_JIT
            or os.environ.get("NUMBA_DISABLE_CACHE")
            # A frozen application's executable is the application itself, not
            # a Python that runs ``-m fastga.compilation``.
            or getattr(sys, "frozen", False) or not sys.executable):
        return report
    cold, seen = [], set()
    for t in tasks:  # cross_entropy and accuracy share a kernel: one task of the two
        kernels = tuple(_kernels(spec, t))
        if kernels not in seen and not all(_ready(k) for k in kernels):
            cold.append(t)
        seen.add(kernels)
    if len(cold) < 2:  # nothing to share out: first use compiles it, as usual
        return report
    t0 = time.perf_counter()
    mine, *theirs = split_tasks(cold, n_jobs)
    env = dict(os.environ)
    env[ENV_JOBS] = "1"
    # This fastga, importable in the helper whatever put it on sys.path here
    # (a source checkout; an installed fastga is found as it is, and a
    # site-packages directory on PYTHONPATH would come before the stdlib).
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if root not in _site_dirs():
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    procs = []
    for part in theirs:
        try:
            procs.append((part, subprocess.Popen(_helper_command(spec, part), env=env,
                                                 stdin=subprocess.DEVNULL,
                                                 stdout=subprocess.DEVNULL,
                                                 stderr=subprocess.PIPE)))
        except (OSError, ValueError):
            report["failed"].extend(part)
    try:
        run_tasks(spec, mine)
        report["here"] = mine
        deadline = time.perf_counter() + timeout
        for part, proc in procs:
            try:
                proc.communicate(timeout=max(0.0, deadline - time.perf_counter()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
            if proc.returncode == 0:
                report["helpers"].append(part)
            else:
                report["failed"].extend(part)
    finally:  # Ctrl-C or an error here: no helper outlives the call
        for _, proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    report["seconds"] = time.perf_counter() - t0
    return report


def _main(argv):
    from .spec import NetworkSpec

    if len(argv) != 1:
        print("usage: python -m fastga.compilation "
              "'{\"spec\": {\"sizes\": [...], \"activations\": [...]}, \"tasks\": [...]}'",
              file=sys.stderr)
        return 2
    job = json.loads(argv[0])
    run_tasks(NetworkSpec.from_dict(job["spec"]), job["tasks"])
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
