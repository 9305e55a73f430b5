"""The island model: N core GAs in Ray actors, migrating their best networks."""

from __future__ import annotations

import os
import pickle
import shutil
import tempfile
import time
import uuid

import numpy as np

from .._random import philox, resolve_seed
from ..history import History
from ..progress import progress_bar
from ..registry import Purpose
from ..settings import GASettings
from ..spec import NetworkSpec
from ..validation import check_int
from .cluster import connect
from .island import REEVALUATE, Island

__all__ = ["IslandModel", "TOPOLOGIES"]

TOPOLOGIES = ("ring", "random")


class IslandModel:
    """Evolve ``n_islands`` populations on Ray, exchanging their best networks.

    Each island is a Ray actor that holds one :class:`fastga.GeneticAlgorithm`
    and runs it on ``num_cpus`` cores (Numba and BLAS threads are capped at
    that number inside the actor). The driver runs the islands in epochs of
    ``migration_every`` generations; after each epoch, every island sends
    its ``n_migrants`` best genomes to another island (``ring``: island
    ``i`` to ``i + 1``; ``random``: each island receives from a random other
    island, drawn from the run's seed), where they replace the worst and are
    scored again by the receiver's fitness before they compete. Migrants are
    one float32 array ``(n_migrants, n_params)`` per island, put into Ray's
    object store by the sending actor and read zero-copy by the receiving
    one: they never pass through the driver.

    The driver keeps the global best genome itself (fetched only when an
    island beats it), gathers every island's history, and survives lost
    islands: each island saves its GA (:meth:`GeneticAlgorithm.save`) after
    every ``checkpoint_every`` epochs; an island whose actor dies (killed,
    out of memory, node lost) is restarted from its last checkpoint, by Ray
    (``max_restarts``) or, if Ray will not restart it, by the driver, and
    its epoch runs again.

    Parameters
    ----------
    spec : NetworkSpec or sequence
    n_islands : int, default=2
    pop_size : int, default=100
        Networks per island.
    migration_every : int, default=10
        Generations per epoch (between migrations).
    n_migrants : int, default=2
        Genomes each island sends per migration (0: isolated islands).
    topology : {"ring", "random"}, default="ring"
    num_cpus : int, default=1
        CPUs reserved per island actor (and its Numba/BLAS thread count).
    address : str, optional
        Ray cluster to join (``ray.init(address=...)``); None starts a local
        Ray with enough CPUs for the islands, unless Ray is already
        initialised in this process (then that Ray is used, and left running).
    ga : GASettings, optional
        The operator settings of every island's GA
        (:class:`~fastga.settings.GASettings`; None: its defaults).
    reevaluate : {"immigrants", "population"}, default="immigrants"
        See :class:`~fastga.distributed.island.Island`. Use
        ``"population"`` for a fitness that changes as it is called (the GAN).
    checkpoint_dir : str, optional
        Folder for the islands' checkpoints (each run uses a fresh
        sub-folder, kept after the run). On a multi-machine cluster it must
        be shared storage for an island to resume on another machine; an
        island that finds no checkpoint starts afresh (the global best is
        kept by the driver in any case). None: a temporary folder on this
        machine, deleted after the run.
    checkpoint_every : int, default=1
        Epochs between checkpoints (0: never; a lost island then starts
        afresh).
    checkpoint_seconds : float, default=10.0
        An island saves only if at least this many seconds have passed since
        its last save (None or 0: at every ``checkpoint_every`` epochs), so
        that saving stays a small share of the run however short the epochs.
        A lost island redoes the work since its last save; with saves at
        every epoch that replay is bit-identical to the run without the loss.
    max_restarts : int, default=3
        Restarts allowed per island (by Ray or by the driver).
    ray_restarts : bool, default=False
        Let Ray restart a dead island actor itself (``max_restarts`` of the
        actor); the driver then waits for it. Otherwise the driver starts a
        new actor. Either way the island resumes from its checkpoint.
    keep_top : int, optional
        Genomes per island returned in ``populations_`` (all if None).
    random_state : None, int or numpy.random.Generator
        Seeds every island (each gets its own counter-based stream) and the
        random topology.
    verbose : bool, default=False
        Progress bar over generations.

    Attributes
    ----------
    best_genome_ : ndarray of float32
        Best genome any island reported (the highest ``best_fitness_`` of
        an island's GA).
    best_fitness_ : float
    best_island_ : int
    history_ : History
        One row per generation over all islands: ``best_*`` columns are the
        maximum over islands, ``n_invalid`` the sum, ``seconds`` the
        maximum, ``fitness_variance`` the variance of the union of the
        islands' populations, the rest the mean.
    island_histories_ : list of History
    populations_ : list of (genomes, fitness)
        Each island's final population, best first (``keep_top`` rows).
    epochs_ : list of dict
        Per epoch: generation, best fitness, wall and driver CPU seconds,
        migrant bytes (raw ``m * n_params * 4`` summed over islands, and as
        serialized into the object store), summary bytes received by the
        driver.
    restarts_ : list of dict
        Every restart: island, epoch, generation restored (-1: none), and
        ``how`` (``"ray"`` or ``"driver"``).
    stats_ : dict
        ``ray_start_seconds``, ``setup_seconds``, ``run_seconds``,
        ``driver_cpu_seconds``, ``tasks``, ``checkpoint_seconds`` (the
        slowest island's checkpoint time, summed over epochs) and
        ``migration_bytes`` (raw and serialized bytes of one island's
        migrants).
    seed_ : int
    island_seeds_ : list of int
    n_generations_ : int
    """

    def __init__(self, spec, n_islands=2, pop_size=100, migration_every=10, n_migrants=2,
                 topology="ring", num_cpus=1, address=None, ga=None,
                 reevaluate="immigrants", checkpoint_dir=None, checkpoint_every=1,
                 checkpoint_seconds=10.0,
                 max_restarts=3, ray_restarts=False, keep_top=None, random_state=None,
                 verbose=False):
        self.spec = spec
        self.n_islands = n_islands
        self.pop_size = pop_size
        self.migration_every = migration_every
        self.n_migrants = n_migrants
        self.topology = topology
        self.num_cpus = num_cpus
        self.address = address
        self.ga = ga
        self.reevaluate = reevaluate
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.checkpoint_seconds = checkpoint_seconds
        self.max_restarts = max_restarts
        self.ray_restarts = ray_restarts
        self.keep_top = keep_top
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------ settings
    def _validated(self):
        spec = self.spec if isinstance(self.spec, NetworkSpec) else NetworkSpec(self.spec)
        n = check_int(self.n_islands, "n_islands", minimum=1)
        pop_size = check_int(self.pop_size, "pop_size", minimum=2)
        check_int(self.migration_every, "migration_every", minimum=1)
        check_int(self.n_migrants, "n_migrants", minimum=0, maximum=pop_size - 1)
        if self.topology not in TOPOLOGIES:
            raise ValueError(f"topology: expected one of {TOPOLOGIES}, got {self.topology!r}")
        if isinstance(self.num_cpus, bool) or not isinstance(self.num_cpus, (int, float, np.integer,
                                                                             np.floating)):
            raise TypeError(f"num_cpus: expected a number, got {type(self.num_cpus).__name__}")
        if not np.isfinite(self.num_cpus) or self.num_cpus <= 0:
            raise ValueError(f"num_cpus: must be > 0, got {self.num_cpus}")
        if self.reevaluate not in REEVALUATE:
            raise ValueError(f"reevaluate: expected one of {REEVALUATE}, got {self.reevaluate!r}")
        check_int(self.checkpoint_every, "checkpoint_every", minimum=0)
        if self.checkpoint_seconds is not None and not (
                isinstance(self.checkpoint_seconds, (int, float, np.integer, np.floating))
                and not isinstance(self.checkpoint_seconds, bool)
                and np.isfinite(self.checkpoint_seconds) and self.checkpoint_seconds >= 0):
            raise ValueError(f"checkpoint_seconds: must be None or a number >= 0, "
                             f"got {self.checkpoint_seconds!r}")
        check_int(self.max_restarts, "max_restarts", minimum=0)
        if self.keep_top is not None:
            check_int(self.keep_top, "keep_top", minimum=1)
        settings = GASettings() if self.ga is None else self.ga
        if not isinstance(settings, GASettings):
            raise TypeError(f"ga: expected a GASettings or None, got {type(settings).__name__}")
        # Every island would fail the same way: check the GA settings here, before Ray starts.
        settings.validate()
        return spec, n, pop_size, settings

    # ---------------------------------------------------------------- run
    def run(self, fitness_factory, generations, callbacks=()):
        """Evolve every island for ``generations`` generations.

        Parameters
        ----------
        fitness_factory : callable
            Picklable; called with no argument inside each island actor to
            build that island's fitness, e.g.
            ``functools.partial(SupervisedFitness, X, y, "cross_entropy", 256)``.
            Sent once to the object store, whatever the number of islands.
        generations : int
        callbacks : sequence of callables
            ``callback(model, record)`` after each epoch, where ``record``
            holds ``epoch``, ``generation``, ``best_fitness`` and the
            islands' ``summaries``; returning True stops the run.

        Returns
        -------
        self
        """
        generations = check_int(generations, "generations", minimum=0)
        if not callable(fitness_factory):
            raise TypeError(f"fitness_factory: expected a callable, got {type(fitness_factory).__name__}")
        spec, n, pop_size, settings = self._validated()
        seed = resolve_seed(self.random_state)
        self.seed_ = seed
        self.island_seeds_ = [int(philox(seed, i, Purpose.ISLAND_SEED).integers(0, 2**63 - 1))
                              for i in range(n)]
        t_start = time.perf_counter()
        threads = max(1, int(round(self.num_cpus)))
        ray, started = connect(self.address, None if self.address else
                               max(os.cpu_count() or 1, int(np.ceil(n * self.num_cpus))))
        t_ray = time.perf_counter()
        tmp = None
        if self.checkpoint_every:
            base = self.checkpoint_dir
            if base is None:
                base = tmp = tempfile.mkdtemp(prefix="fastga-islands-")
            run_dir = os.path.join(base, f"run-{seed}-{uuid.uuid4().hex[:8]}")
            os.makedirs(run_dir, exist_ok=True)
            self.checkpoint_run_dir_ = run_dir
        else:
            run_dir = None
        self._ray = ray
        self._n = n
        self._factory_ref = ray.put(fitness_factory)
        self._island_args = [
            (i, spec.to_dict(), settings, pop_size, self.island_seeds_[i], threads,
             None if run_dir is None else os.path.join(run_dir, f"island-{i:04d}.npz"),
             self.reevaluate)
            for i in range(n)
        ]
        self._actor_cls = ray.remote(Island)
        # No runtime_env: the actors can then start in Ray's pre-started workers (about a
        # second sooner); each island sets its Numba and BLAS threads itself.
        self._actor_options = {"num_cpus": self.num_cpus, "max_task_retries": 0,
                               "max_restarts": int(self.max_restarts) if self.ray_restarts else 0}
        self.islands_ = []
        self.best_genome_ = None
        self.best_fitness_ = -np.inf
        self.best_island_ = -1
        self.epochs_ = []
        self.restarts_ = []
        self._failures = [0] * n
        self._tasks = 0
        try:
            self.islands_ = [self._new_actor(i) for i in range(n)]
            infos = ray.get([a.info.remote() for a in self.islands_])
            self._incarnations = [d["incarnation"] for d in infos]
            self.island_info_ = infos
            t_setup = time.perf_counter()
            cpu0 = time.process_time()
            self._loop(generations, callbacks)
            self.stats_ = {"ray_start_seconds": t_ray - t_start, "setup_seconds": t_setup - t_ray,
                           "run_seconds": time.perf_counter() - t_setup,
                           "driver_cpu_seconds": time.process_time() - cpu0, "tasks": self._tasks,
                           "checkpoint_seconds": sum(e["checkpoint_seconds"] for e in self.epochs_)}
            hists = self._call_all("history")
            self.island_histories_ = [History(h) for h in hists]
            self.history_ = merge_histories(self.island_histories_, pop_size)
            self.populations_ = self._call_all("population", self.keep_top)
            self.n_generations_ = int(self.epochs_[-1]["generation"]) if self.epochs_ else 0
            sizes = [e["serialized_bytes_per_island"] for e in self.epochs_ if e["migrant_bytes"]]
            raw = [e["migrant_bytes"] / n for e in self.epochs_ if e["migrant_bytes"]]
            self.stats_["migration_bytes"] = {"raw": float(np.median(raw)) if raw else 0.0,
                                              "serialized": float(np.median(sizes)) if sizes else 0.0}
        finally:
            for a in self.islands_:
                try:
                    ray.kill(a, no_restart=True)
                except Exception:  # pragma: no cover - already gone
                    pass
            self._factory_ref = None
            if started:
                ray.shutdown()
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)
            self._ray = None
        return self

    # ------------------------------------------------------------ helpers
    def _new_actor(self, i):
        args = self._island_args[i]
        return self._actor_cls.options(**self._actor_options).remote(
            *args[:5], self._factory_ref, *args[5:])

    def _recover(self, i, exc, epoch):
        """Island ``i`` failed: wait for Ray to restart it, or start it again."""
        ray = self._ray
        self._failures[i] += 1
        if self._failures[i] > int(self.max_restarts):
            raise RuntimeError(f"island {i} died {self._failures[i]} times "
                               f"(max_restarts={self.max_restarts}): {exc}") from exc
        how = "ray"
        unavailable = getattr(ray.exceptions, "ActorUnavailableError", ())
        deadline = time.monotonic() + 600
        while True:  # a restarting actor answers once it is back; a dead one fails for good
            try:
                ray.get(self.islands_[i].info.remote(), timeout=max(deadline - time.monotonic(), 1))
                break
            except unavailable:
                if time.monotonic() > deadline:
                    how = "driver"
                    break
                time.sleep(0.5)
            except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError):
                how = "driver"
                break
        if how == "driver":
            try:
                ray.kill(self.islands_[i], no_restart=True)
            except Exception:  # pragma: no cover - already gone
                pass
            self.islands_[i] = self._new_actor(i)
        self._recovered_how = getattr(self, "_recovered_how", {})
        self._recovered_how[i] = how

    def _note_incarnation(self, i, summary, epoch):
        if summary["incarnation"] != self._incarnations[i]:
            self._incarnations[i] = summary["incarnation"]
            how = getattr(self, "_recovered_how", {}).pop(i, "ray")
            self.restarts_.append({"island": i, "epoch": epoch, "how": how,
                                   "restored_generation": int(summary["restored_generation"])})

    def _call_all(self, method, *args):
        """``method(*args)`` on every island, restarting lost ones."""
        ray = self._ray
        out = [None] * self._n
        for i in range(self._n):
            while True:
                try:
                    out[i] = ray.get(getattr(self.islands_[i], method).remote(*args))
                    break
                except ray.exceptions.RayActorError as exc:
                    self._recover(i, exc, len(self.epochs_))
        return out

    def _submit(self, i, target, incoming, n_migrants, checkpoint):
        self._tasks += 1
        return self.islands_[i].step.options(num_returns=2).remote(
            target, incoming, n_migrants, self.best_fitness_, checkpoint)

    def _epoch(self, epoch, target, incoming, n_migrants, checkpoint):
        """Run one epoch on every island; returns their summaries."""
        ray = self._ray
        lost = (ray.exceptions.RayActorError, ray.exceptions.ObjectLostError)
        pending = {i: self._submit(i, target, incoming[i], n_migrants, checkpoint)
                   for i in range(self._n)}
        summaries, best_refs = [None] * self._n, [None] * self._n
        while pending:
            by_ref = {refs[0]: i for i, refs in pending.items()}
            ready, _ = ray.wait(list(by_ref), num_returns=len(by_ref), timeout=1.0)
            try:  # one call for all that are ready (the common case: nobody died)
                got = dict(zip(ready, ray.get(ready)))
            except lost:
                got = {}
            for ref in ready:
                i = by_ref[ref]
                refs = pending.pop(i)
                try:
                    summaries[i] = got[ref] if ref in got else ray.get(ref)
                except lost as exc:
                    self._recover(i, exc, epoch)
                    pending[i] = self._submit(i, target, incoming[i], n_migrants, checkpoint)
                    continue
                best_refs[i] = refs[1]
                self._note_incarnation(i, summaries[i], epoch)
        # The driver's own copy of the global best: fetched only from an island that beats it.
        i_best = int(np.argmax([s["best_fitness"] for s in summaries]))
        if summaries[i_best]["best_fitness"] > self.best_fitness_:
            genome = ray.get(best_refs[i_best])
            if genome is not None:
                self.best_genome_ = np.array(genome, dtype=np.float32)
                self.best_fitness_ = float(summaries[i_best]["best_fitness"])
                self.best_island_ = i_best
        return summaries

    def _sources(self, epoch):
        """Island each island receives from after ``epoch``."""
        n = self._n
        if self.topology == "ring":
            return [(i - 1) % n for i in range(n)]
        rng = philox(self.seed_, epoch, Purpose.MIGRATION)
        draws = rng.integers(0, n - 1, size=n)
        return [int(j) if j < i else int(j) + 1 for i, j in enumerate(draws)]

    def _loop(self, generations, callbacks):
        n, k = self._n, int(self.migration_every)
        targets = list(range(k, generations, k)) + [generations]
        incoming = [[] for _ in range(n)]
        bar = progress_bar(generations, "generations", disable=not self.verbose,
                           desc=f"{n} islands")
        try:
            for epoch, target in enumerate(targets):
                t0, c0 = time.perf_counter(), time.process_time()
                last = epoch == len(targets) - 1
                m = 0 if (last or n < 2) else int(self.n_migrants)
                checkpoint = None
                if self.checkpoint_every and (epoch + 1) % int(self.checkpoint_every) == 0:
                    checkpoint = float(self.checkpoint_seconds or 0.0)
                summaries = self._epoch(epoch, target, incoming, m, checkpoint)
                if m:
                    src = self._sources(epoch)
                    incoming = [summaries[src[i]]["emigrants"] for i in range(n)]
                else:
                    incoming = [[] for _ in range(n)]
                slim = [{k_: v for k_, v in s.items() if k_ != "emigrants"} for s in summaries]
                record = {
                    "epoch": epoch, "generation": target, "best_fitness": self.best_fitness_,
                    "seconds": time.perf_counter() - t0,
                    "driver_cpu_seconds": time.process_time() - c0,
                    "migrant_bytes": sum(s["sent_bytes"] for s in summaries),
                    "serialized_bytes_per_island": float(np.mean([s["serialized_bytes"]
                                                                  for s in summaries])),
                    "summary_bytes": sum(len(pickle.dumps(s)) for s in slim),
                    "island_seconds": [s["seconds"] for s in summaries],
                    "checkpoint_seconds": max(s["seconds_checkpoint"] for s in summaries),
                    "received": sum(s["received"] for s in summaries),
                    "migrations_lost": sum(bool(s["migration_lost"]) for s in summaries),
                }
                self.epochs_.append(record)
                bar.update(target - bar.n)
                bar.set_postfix(best=f"{self.best_fitness_:.4g}", refresh=False)
                if any(cb(self, dict(record, summaries=slim)) for cb in callbacks):
                    break
        finally:
            bar.close()


def merge_histories(histories, pop_size=None):
    """One :class:`History` over islands (rows matched by generation).

    ``best_*`` columns take the maximum over islands, ``n_invalid`` the sum,
    ``seconds`` the maximum, ``fitness_variance`` the variance of the union
    of equal-sized populations (mean of the variances plus the variance of
    the means), every other column the mean. When an island has several
    rows for one generation (its population was scored again after a
    migration), the last one counts.
    """
    gens = sorted({int(g) for h in histories for g in h["generation"]} if histories else set())
    rows = []
    per_island = []
    for h in histories:
        last = {}
        for j, g in enumerate(h["generation"]):
            last[int(g)] = j
        per_island.append(last)
    keys = []
    for h in histories:
        keys += [k for k in h.keys() if k not in keys]
    for g in gens:
        row = {"generation": float(g)}
        present = [(h, idx[g]) for h, idx in zip(histories, per_island) if g in idx]
        for key in keys:
            if key == "generation":
                continue
            vals = np.array([h[key][j] if key in h else np.nan for h, j in present])
            finite = vals[np.isfinite(vals)]
            if key == "fitness_variance" and "mean_fitness" in keys:
                means = np.array([h["mean_fitness"][j] for h, j in present])
                ok = np.isfinite(vals) & np.isfinite(means)
                row[key] = float(vals[ok].mean() + means[ok].var()) if ok.any() else np.nan
            elif not finite.size:
                row[key] = np.nan
            elif key.startswith("best_") or key in ("seconds",):
                row[key] = float(finite.max())
            elif key == "n_invalid":
                row[key] = float(finite.sum())
            else:
                row[key] = float(finite.mean())
        rows.append(row)
    out = History()
    for row in rows:
        out.append(row)
    return out
