"""Warm-up compilation: a run's kernels compiled ahead of it, over processes.

Numba compiles a kernel in the process that first calls it, on one core (its
compiler holds a process-wide lock, so threads cannot share the work), and a
GA's first run compiles the breeding kernel, a fitness kernel and the
forward pass one after the other. :func:`compile_ahead` compiles them at the
same time, in the calling process and in up to ``n_jobs - 1`` helper
processes (fresh interpreters that import the kernels only, so nothing
of the caller's ``__main__`` runs again). Every kernel is ``cache=True``:
each process writes what it compiled to Numba's cache, and the caller loads
the helpers' part from there on first use.

It is opt-in: the ``fastga`` commands call it before their run; a library
call (:meth:`fastga.GeneticAlgorithm.run`, an estimator's ``fit``) never
starts a process. It only helps a cold first run; with a warm cache it
starts nothing.

Each task runs the evaluation functions and kernels the driver calls, on
tiny networks of the run's :class:`~fastga.NetworkSpec` (kernel signatures
depend on the spec's activations and kind of output, never on the sizes of
the data), so it compiles exactly the signatures the run uses;
``tests/test_compilation.py`` checks that a run after the tasks compiles
nothing more. The tasks call the kernels, not the GA driver, so that this
module sits below it.

Nothing is started where it cannot help: with one CPU, with
``FASTGA_COMPILE_JOBS=1`` (the helpers run with it), where Numba's JIT or
cache is off, in a frozen application (its executable is not a Python), or
where every kernel of the tasks is compiled in this process already or found
in the cache. A helper that fails or outlives ``timeout`` costs only its
time (the caller compiles what it did not, on first use). The call returns
once every task the run needs at its start is compiled; a helper may go on
with a *late* task (the forward pass of a run scored by a fused fitness
kernel, used by ``predict`` at its end) during the run: :func:`finish`
waits for it, and stops it at exit, so no helper outlives the process (nor
the call, on an error or Ctrl-C in it).
"""

import atexit
import json
import os
import subprocess
import sys
import threading
import time

import numba
import numpy as np

from .evaluation import Workspace, fitness_kernel, fitness_rows, forward_rows, run_rows
from .kernels.breed import BreedPlan, CrossoverParams, Layout, MutationParams, breed
from .kernels.es import sample, sample_totals, weighted_sums
from .kernels.forward import forward_epilogue
from .kernels.init import init_genomes
from .kernels.training import init_candidates, train_candidates
from .registry import Init
from .spec import NetworkSpec

__all__ = ["TASKS", "ENV_JOBS", "compile_ahead", "finish", "run_tasks", "split_tasks",
           "tasks_for", "default_jobs"]

#: Environment variable: the number of processes :func:`compile_ahead` uses by
#: default (``1``: compile in the calling process only, on first use).
ENV_JOBS = "FASTGA_COMPILE_JOBS"

#: The tasks and their compile cost, each in a process of its own (CPU
#: seconds with an empty cache, ``bench/README.md``; used only to balance the
#: processes):
#:
#: * ``breed``: :func:`~fastga.kernels.init.init_genomes` and
#:   :func:`~fastga.kernels.breed.breed` (every crossover kind: the kind is an
#:   argument);
#: * ``es``: :func:`~fastga.kernels.init.init_genomes` (the center's
#:   initialisation), :func:`~fastga.kernels.es.sample`,
#:   :func:`~fastga.kernels.es.sample_totals` (SNES) and
#:   :func:`~fastga.kernels.es.weighted_sums`: what an evolution strategy
#:   of :mod:`fastga.es` runs instead of ``breed``;
#: * ``forward``: the forward pass of :meth:`fastga.Population.forward` and
#:   :meth:`fastga.Network.predict` on inputs that fit the direct path;
#: * ``fitness:METRIC``: the fused fitness kernel of ``METRIC``
#:   (:func:`fastga.evaluation.fitness_kernel`);
#: * ``train``: the SGD kernels of :mod:`fastga.kernels.training`, which
#:   :class:`fastga.search.ArchitectureSearch` runs (the activations are
#:   values of a table there, so one compilation serves every spec).
TASKS = {"breed": 2.6, "es": 1.0, "forward": 2.4, "fitness:cross_entropy": 2.3, "fitness:accuracy": 2.3,
         "fitness:mse": 2.0, "train": 2.7}

#: The tasks of the forward pass and the fitness kernels share their block
#: helpers (``layers_block``, ``layer_buffer``...), compiled once per process:
#: each of them after the first in a process costs this much less.
_SHARED = {"forward", "fitness:cross_entropy", "fitness:accuracy", "fitness:mse"}
_SHARED_COST = 0.9

#: Seconds a helper takes to start and import the kernels, added to its load.
_START_COST = 0.4
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


def tasks_for(fitness=None, metric=None, algorithm="ga"):
    """The tasks of a run: ``breed`` (a GA) or ``es`` (any other ``algorithm``,
    an evolution strategy of :mod:`fastga.es`), ``forward`` (the outputs a
    fitness of outputs scores, the fitted network's ``predict``), and
    ``fitness:METRIC`` where ``fitness`` is a :class:`~fastga.SupervisedFitness`
    of ``METRIC`` or ``metric`` is given (an estimator's fit: ``cross_entropy``
    for the classifier, ``mse`` for the regressor)."""
    from .fitness import SupervisedFitness  # the driver's; helpers do not import it

    if metric is None and isinstance(fitness, SupervisedFitness):
        metric = fitness.metric
    tasks = ["breed" if algorithm == "ga" else "es", "forward"]
    if metric is not None:
        tasks.append(f"fitness:{metric}")
    return _check_tasks(tasks)


def _check_tasks(tasks):
    tasks = list(dict.fromkeys(tasks))
    for t in tasks:
        if t not in TASKS:
            raise ValueError(f"tasks: unknown task {t!r}; expected some of {sorted(TASKS)}")
    return tasks


def _kernels(spec, task):
    """The top-level kernels ``task`` compiles for networks of ``spec``."""
    if task == "breed":
        return [init_genomes, breed]
    if task == "es":
        return [init_genomes, sample, sample_totals, weighted_sums]
    if task == "forward":
        return [forward_epilogue]
    if task == "train":
        return [init_candidates, train_candidates]
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


def _genomes(spec, n):
    return np.zeros((n, spec.n_params), dtype=np.float32)


def _breed_once(spec):
    """Initialise a tiny population and breed it once, with the argument types
    :meth:`fastga.Population.random` and :class:`~fastga.GeneticAlgorithm`
    pass to the kernels (every init, crossover and mutation kind is a value,
    not a type)."""
    genomes = _genomes(spec, 4)
    children = _genomes(spec, 4)
    run_rows(init_genomes, 4, genomes, 0, int(Init.UNIFORM), 0.15, spec.sizes_array,
             spec.w_offsets, spec.b_offsets)
    rows = np.arange(4, dtype=np.int64)
    cum_probs = np.array([0.8, 0.9, 1.0, 1.0])
    run_rows(breed, 4, genomes, children, BreedPlan(rows[:1], rows[1:], rows[1:]),
             np.uint64(0), 0, Layout(spec.sizes_array, spec.w_offsets, spec.b_offsets),
             CrossoverParams(0, 0.5, 1.0), MutationParams(0.1, cum_probs, 2.0, 2.0, 0.1),
             np.empty(3, dtype=np.int64))


def _es_once(spec):
    """Initialise a center, sample a tiny generation around it and take its
    sums, with the argument types :mod:`fastga.es` passes (antithetic
    sampling and the second sum are values, not types)."""
    genomes = _genomes(spec, 4)
    run_rows(init_genomes, 1, genomes, 0, int(Init.GLOROT), 0.15, spec.sizes_array,
             spec.w_offsets, spec.b_offsets)
    mean = genomes[0].copy()
    run_rows(sample, 2, genomes, mean, np.ones_like(mean), np.uint64(0), 1, True)
    parts = np.empty((2, 1, spec.n_params), dtype=np.float32)
    run_rows(sample_totals, 1, genomes, mean, np.ones_like(mean), np.uint64(0), 1, parts[0], parts[1])
    s1 = np.empty(spec.n_params)
    run_rows(weighted_sums, 1, np.ones(2), np.ones(2), np.uint64(0), 1, s1, np.empty_like(s1))


def _train_once(spec):
    """Initialise and train one candidate of ``spec`` for an epoch, with the
    argument types :func:`fastga.search.trainer.train_candidates` passes."""
    layers = np.array([(spec.sizes[i], spec.sizes[i + 1], spec.act_codes[i], spec.w_offsets[i],
                        spec.b_offsets[i]) for i in range(spec.n_layers)], dtype=np.int64)
    layer_ptr = np.array([0, spec.n_layers], dtype=np.int64)
    params = np.empty(spec.n_params, dtype=np.float32)
    velocity = np.empty(spec.n_params, dtype=np.float32)
    ids = np.zeros(1, dtype=np.int64)
    init_candidates(params, velocity, layer_ptr, layers, 0, 0, ids, 0, 1)
    X = np.zeros((_SAMPLES, spec.n_inputs), dtype=np.float32)
    y = np.zeros((_SAMPLES, spec.n_outputs), dtype=np.float32)
    train_candidates(params, velocity, layer_ptr, layers, np.full(1, 4, dtype=np.int64),
                     np.full(1, 0.01), np.zeros(1), np.zeros(1), np.zeros(1), X, y, X, y, 1,
                     0, 0, ids, np.empty(1), np.empty(1), np.empty(1, dtype=np.int64), 0, 1)


def _run_task(spec, task):
    """One task, through the evaluation functions that :class:`~fastga.Population`
    and :class:`~fastga.Network` call (this module imports neither: a helper
    process imports the kernels and this module only, see :func:`_helper_command`)."""
    X = np.zeros((_SAMPLES, spec.n_inputs), dtype=np.float32)
    ws = Workspace()
    if task == "breed":
        _breed_once(spec)
    elif task == "es":
        _es_once(spec)
    elif task == "train":
        _train_once(spec)
    elif task == "forward":
        forward_rows(spec, _genomes(spec, 2), np.arange(2, dtype=np.int64), X, ws)  # forward
        forward_rows(spec, _genomes(spec, 1), np.zeros(1, dtype=np.int64), X, ws)  # predict
    else:
        metric = task.split(":", 1)[1]
        if metric == "mse":
            y = np.zeros((_SAMPLES, spec.n_outputs), dtype=np.float32)
        else:
            y = np.zeros(_SAMPLES, dtype=np.int64)
        fitness_rows(spec, _genomes(spec, 2), np.arange(2, dtype=np.int64), X, y, metric, ws)


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


def _load(part, helper):
    shared = sum(1 for t in part if t in _SHARED)
    return (sum(TASKS[t] for t in part) - _SHARED_COST * max(0, shared - 1)
            + (_START_COST if helper and part else 0.0))


def split_tasks(tasks, n_jobs, late=()):
    """Split ``tasks`` over at most ``n_jobs`` processes so that the run can start
    soonest, then finish soonest (see :data:`TASKS`: the helpers' start-up, the
    code the forward and fitness tasks share); on a tie, fewer processes.

    Tasks of ``late`` are needed only after the run has started (the forward
    pass of a run whose fitness is a fused kernel: ``predict`` at its end):
    they go to helpers, after their other tasks, and the run need not wait
    for them (:func:`compile_ahead`). The first list is the caller's.
    Returns the non-empty lists, the caller's first (maybe empty), each in
    the order the tasks run: as given, the late ones last.
    """
    import itertools

    tasks = _check_tasks(tasks)
    late = set(late) & set(tasks) if n_jobs > 1 else set()
    n_bins = min(max(1, int(n_jobs)), max(len(tasks), 1))
    best = None
    # Every assignment (a run has at most a few tasks); the helpers are alike,
    # so only assignments whose helpers are used in order are tried.
    for assign in itertools.product(range(n_bins), repeat=len(tasks)):
        used = [k for k in dict.fromkeys(assign) if k]
        if used != list(range(1, len(used) + 1)):
            continue
        if any(k == 0 and t in late for t, k in zip(tasks, assign)):
            continue
        bins = [[t for t, k in zip(tasks, assign) if k == b] for b in range(n_bins)]
        early = max(_load([t for t in part if t not in late], b > 0)
                    for b, part in enumerate(bins))
        total = max(_load(part, b > 0) for b, part in enumerate(bins))
        cost = (round(early, 6), round(total, 6), len(used))
        if best is None or cost < best[0]:
            best = (cost, bins)
    bins = best[1] if best else [[]]
    bins = [[t for t in part if t not in late] + [t for t in part if t in late] for part in bins]
    return [bins[0]] + [b for b in bins[1:] if b]


#: What a helper runs (``python -c``): this fastga's package directory made the
#: ``fastga`` package without running its ``__init__``, which imports the
#: driver and scikit-learn (a second or more of start-up); then
#: :func:`_main` here, which imports the kernels and the evaluation only.
_BOOT = ("import sys, types; p = types.ModuleType('fastga'); p.__path__ = [sys.argv[1]]; "
         "sys.modules['fastga'] = p; from fastga.compilation import _main; "
         "sys.exit(_main(sys.argv[2:]))")


def _helper_command(spec, tasks, n_early=None):
    arg = json.dumps({"spec": spec.to_dict(), "tasks": tasks,
                      "early": len(tasks) if n_early is None else n_early})
    package = os.path.dirname(os.path.abspath(__file__))
    return [sys.executable, "-c", _BOOT, package, arg]


def compile_ahead(spec, tasks=None, n_jobs=None, timeout=600.0, fitness=None, late=None):
    """Compile the kernels of a run on networks of ``spec`` ahead of it, over processes.

    Call it once, before the first run in a process, to shorten a cold
    start (an empty Numba cache); it returns at once when there is nothing
    to share out.

    Parameters
    ----------
    spec : NetworkSpec or sequence
    tasks : sequence of str, optional
        Names of :data:`TASKS`; default :func:`tasks_for` ``(fitness)``.
    n_jobs : int, optional
        Processes, the caller's included; default :func:`default_jobs`.
        ``1`` compiles nothing ahead.
    timeout : float
        Seconds to wait for the helpers; one still running then is stopped
        (the caller compiles its part on first use).
    fitness : callable, optional
        The run's fitness, for the default ``tasks``.
    late : sequence of str, optional
        Tasks the run needs only once it has started; helpers compile them
        after their other tasks while the run goes on (see
        :func:`split_tasks`, :func:`finish`). Default: ``forward`` where
        ``tasks`` has a fitness task (a fused fitness kernel scores the
        generations; the forward pass serves ``predict`` at the end), else
        none.

    Returns
    -------
    dict
        ``"here"`` and ``"helpers"``: the tasks this process ran and those
        each helper ran before the call returned (empty where nothing was
        started), ``"failed"``: the helpers' tasks that did not finish,
        ``"background"``: the late tasks helpers are still compiling (see
        :func:`finish`), ``"seconds"``: wall time.

    Examples
    --------
    >>> import fastga
    >>> fit = fastga.SupervisedFitness(X, y)                  # doctest: +SKIP
    >>> fastga.compile_ahead([64, 32, 10], fitness=fit)       # doctest: +SKIP
    >>> fastga.GeneticAlgorithm([64, 32, 10]).run(fit, 100)   # doctest: +SKIP
    """
    spec = spec if isinstance(spec, NetworkSpec) else NetworkSpec(spec)
    tasks = tasks_for(fitness) if tasks is None else _check_tasks(tasks)
    if late is None:
        late = ["forward"] if any(t.startswith("fitness:") for t in tasks) else []
    n_jobs = default_jobs() if n_jobs is None else int(n_jobs)
    report = {"here": [], "helpers": [], "failed": [], "background": [], "seconds": 0.0}
    if (n_jobs <= 1 or _running or numba.config.DISABLE_JIT
            or os.environ.get("NUMBA_DISABLE_CACHE")
            # A frozen application's executable is the application itself, not
            # a Python that runs the helper.
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
    late = set(late)
    mine, *theirs = split_tasks(cold, n_jobs, late)
    env = dict(os.environ)
    env[ENV_JOBS] = "1"
    procs = []
    for part in theirs:
        early = [t for t in part if t not in late]
        try:
            proc = subprocess.Popen(_helper_command(spec, part, len(early)), env=env,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL)
        except (OSError, ValueError):
            report["failed"].extend(part)
            continue
        procs.append((early, part[len(early):], proc, _reader(proc)))
    kept = []
    try:
        run_tasks(spec, mine)
        report["here"] = mine
        deadline = time.perf_counter() + timeout
        for early, rest, proc, ready in procs:
            # The helper prints a line once its early tasks are done.
            ready.join(max(0.0, deadline - time.perf_counter()))
            if ready.line == "ready" and rest and proc.poll() is None:
                if early:
                    report["helpers"].append(early)
                report["background"].extend(rest)
                kept.append((rest, proc))
                continue
            try:
                proc.wait(timeout=max(0.0, deadline - time.perf_counter()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.returncode == 0:
                report["helpers"].append(early + rest)
            elif ready.line == "ready":
                if early:
                    report["helpers"].append(early)
                report["failed"].extend(rest)
            else:
                report["failed"].extend(early + rest)
    finally:  # Ctrl-C or an error here: no helper outlives the call
        for _, _, proc, _ in procs:
            if proc.poll() is None and not any(proc is p for _, p in kept):
                proc.kill()
                proc.wait()
    _background.extend(kept)
    report["seconds"] = time.perf_counter() - t0
    return report


_background = []  # (tasks, process) of the helpers compiling late tasks


class _reader(threading.Thread):
    """Reads a helper's first line (``ready``) in a thread: a pipe has no
    portable timeout."""

    def __init__(self, proc):
        super().__init__(daemon=True)
        self.proc = proc
        self.line = None
        self.start()

    def run(self):
        try:
            self.line = self.proc.stdout.readline().decode(errors="replace").strip()
        except (OSError, ValueError):
            self.line = ""


def finish(timeout=None):
    """Wait for the helpers still compiling late tasks (see :func:`compile_ahead`),
    at most ``timeout`` seconds, then stop those still running.

    Returns ``{"done": [...], "failed": [...]}``: their tasks. Called at
    exit too, with no wait: no helper outlives the process.
    """
    out = {"done": [], "failed": []}
    deadline = None if timeout is None else time.perf_counter() + timeout
    while _background:
        tasks, proc = _background.pop(0)
        try:
            proc.wait(timeout=None if deadline is None
                      else max(0.0, deadline - time.perf_counter()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        out["done" if proc.returncode == 0 else "failed"].extend(tasks)
    return out


atexit.register(finish, 0.0)


def _main(argv):
    if len(argv) != 1:
        print("usage: python -m fastga.compilation "
              "'{\"spec\": {\"sizes\": [...], \"activations\": [...]}, \"tasks\": [...]}'",
              file=sys.stderr)
        return 2
    job = json.loads(argv[0])
    spec, tasks = NetworkSpec.from_dict(job["spec"]), job["tasks"]
    n_early = job.get("early", len(tasks))
    run_tasks(spec, tasks[:n_early])
    print("ready", flush=True)  # the caller's run may start
    run_tasks(spec, tasks[n_early:])
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
