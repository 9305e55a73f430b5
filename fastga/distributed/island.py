"""One island: the core GA in a Ray actor, with migration and checkpoints.

:class:`Island` is a plain class; :class:`~fastga.distributed.IslandModel`
turns it into a Ray actor (``ray.remote(num_cpus=...)(Island)``). Ray is
imported only inside the methods that need it. The island drives its GA
through the GA's public step API only: ``run`` for the generations,
``replace`` for the immigrants (with their fitness when they are scored
here), ``save``/``load`` for checkpoints.
"""

from __future__ import annotations

import os
import time
import uuid

import numpy as np

from ..ga import GeneticAlgorithm
from ..population import Population
from ..selection import rank_order
from ..spec import NetworkSpec
from .cluster import configure_threads

__all__ = ["Island", "REEVALUATE"]

#: How immigrants get their fitness on the receiving island.
REEVALUATE = ("immigrants", "population")


class Island:
    """The state of one island (runs inside a Ray actor).

    Parameters
    ----------
    index : int
    spec : NetworkSpec, dict (``NetworkSpec.to_dict()``) or sequence
    settings : GASettings or None
        The GA's operator settings (None: the defaults).
    pop_size : int
    seed : int
        This island's ``random_state``.
    fitness_factory : callable
        Called once, with no argument, in the actor: returns the fitness
        (``fitness(population) -> (P,)``).
    threads : int
        Numba and BLAS threads of this process.
    checkpoint_path : str, optional
        Where :meth:`step` saves the GA (``GeneticAlgorithm.save``). If the
        file exists when the island starts (a restarted actor), the island
        goes on from it.
    reevaluate : {"immigrants", "population"}
        ``"immigrants"``: the receiving island scores only the immigrants
        (one call of the fitness on a population of ``m`` rows, at the
        current generation, so the scores are comparable with the residents'
        for any fitness that depends only on the genome and the
        generation); ``"population"``: the whole island is scored again
        (for a stateful fitness such as the GAN's, whose scores drift).
    """

    def __init__(self, index, spec, settings, pop_size, seed, fitness_factory, threads=1,
                 checkpoint_path=None, reevaluate="immigrants"):
        self.threads = configure_threads(threads)["numba"]
        self.index = int(index)
        self.checkpoint_path = checkpoint_path
        self.reevaluate = reevaluate
        self.incarnation = uuid.uuid4().hex
        self.restored_generation = -1
        self.fitness = writable(fitness_factory)()
        self.ga = None
        if checkpoint_path and os.path.exists(checkpoint_path):
            self.ga = GeneticAlgorithm.load(checkpoint_path)
            self.restored_generation = int(self.ga.population_.generation)
        if self.ga is None:
            if isinstance(spec, dict):
                spec = NetworkSpec.from_dict(spec)
            elif not isinstance(spec, NetworkSpec):
                spec = NetworkSpec(spec)
            spec = NetworkSpec.from_dict(spec.to_dict())  # fresh, writable int arrays
            self.ga = GeneticAlgorithm.from_settings(spec, settings, pop_size=pop_size,
                                                     random_state=seed)
            self.ga.initialize()
        self.ga.set_params(verbose=False)
        self._threads = threads
        self._last_save = time.monotonic()

    # ------------------------------------------------------------ helpers
    def info(self):
        """Where and how this island runs (also a cheap liveness probe)."""
        import numba

        return {"index": self.index, "pid": os.getpid(), "incarnation": self.incarnation,
                "numba_threads": int(numba.get_num_threads()),
                "generation": int(self.ga.population_.generation),
                "restored_generation": self.restored_generation}

    def _evaluated(self):
        return self.ga.state_.evaluated == self.ga.population_.generation

    def _immigrate(self, genomes):
        """Replace the worst ``m`` networks by ``genomes`` (``GeneticAlgorithm.replace``)
        and score them here."""
        ga = self.ga
        pop = ga.population_
        m = min(int(genomes.shape[0]), pop.size - 1)
        if m <= 0:
            return 0
        if genomes.shape[1] != pop.spec.n_params:
            raise ValueError(f"immigrants: expected {pop.spec.n_params} parameters, got {genomes.shape[1]}")
        guests = genomes[:m]
        if not self._evaluated():  # no ranking yet: take the last rows, scored with the rest
            ga.replace(np.arange(pop.size - m, pop.size, dtype=np.int64), guests)
            return m
        rows = rank_order(pop.fitness)[pop.size - m:]
        if self.reevaluate == "population":
            ga.replace(rows, guests)  # untold: the next run() scores the whole island again
        else:
            visitors = Population(pop.spec, guests)
            visitors.generation = pop.generation
            ga.replace(rows, guests, self.fitness(visitors))
        return m

    def _receive(self, incoming):
        """Fetch and take the immigrants; returns (taken, bytes, lost)."""
        import ray

        if not incoming:
            return 0, 0, False
        try:
            genomes = ray.get(incoming[0], timeout=120)
        except (ray.exceptions.RayError, TimeoutError):
            # The sending island died (its objects went with it): skip this migration.
            return 0, 0, True
        return self._immigrate(np.asarray(genomes, dtype=np.float32)), int(genomes.nbytes), False

    # --------------------------------------------------------------- work
    def step(self, target_generation, incoming=(), n_migrants=0, global_best=-np.inf,
             checkpoint=0.0):
        """Take the immigrants, evolve to ``target_generation``, send emigrants.

        Idempotent: an island already at ``target_generation`` (restored from
        a checkpoint written after this step) neither takes immigrants nor
        breeds again; it only reports.

        Parameters
        ----------
        target_generation : int
        incoming : list of ObjectRef
            At most one reference to a float32 array ``(m, n_params)`` (kept
            nested in a list so that Ray hands over the reference, and this
            island fetches the array itself, zero-copy from the object store).
        n_migrants : int
            How many of the best networks to offer to the next island.
        global_best : float
            The driver's best fitness; the island's best genome is returned
            only if it beats it.
        checkpoint : float or None
            Save the GA after the step if at least this many seconds have
            passed since this island's last save (0: always); None: do not.

        Returns
        -------
        summary : dict
            Generation, best fitness, the last history row, the emigrants as
            ``[ObjectRef]`` (created with ``ray.put`` in this actor), their
            size in bytes, timings.
        best_genome : ndarray of float32 or None
            This island's best genome if it beats ``global_best``.
        """
        import ray

        t0 = time.perf_counter()
        configure_threads(self._threads)  # Numba's thread count is per calling thread
        ga = self.ga
        received, received_bytes, lost = 0, 0, False
        start = int(ga.population_.generation)
        if start < target_generation or not self._evaluated():
            received, received_bytes, lost = self._receive(list(incoming))
        t1 = time.perf_counter()
        ga.run(self.fitness, max(int(target_generation) - int(ga.population_.generation), 0),
               warm_start=True)
        t2 = time.perf_counter()
        pop = ga.population_
        emigrants, sent_bytes, serialized_bytes = [], 0, 0
        if n_migrants > 0:
            rows = rank_order(pop.fitness)[: min(int(n_migrants), pop.size)]
            genomes = np.ascontiguousarray(pop.genomes[rows], dtype=np.float32)
            emigrants = [ray.put(genomes)]
            sent_bytes = int(genomes.nbytes)
            serialized_bytes = serialized_size(genomes)
        saved = 0.0
        due = checkpoint is not None and checkpoint is not False and (
            time.monotonic() - self._last_save >= float(checkpoint))
        if due and self.checkpoint_path:
            t3 = time.perf_counter()
            ga.save(self.checkpoint_path)
            saved = time.perf_counter() - t3
            self._last_save = time.monotonic()
        hist = ga.history_
        last = {k: float(hist[k][-1]) for k in hist.keys()} if len(hist) else {}
        best = float(ga.best_fitness_)
        summary = {
            "index": self.index,
            "incarnation": self.incarnation,
            "restored_generation": self.restored_generation,
            "generation": int(pop.generation),
            "generations_run": int(pop.generation) - start,
            "best_fitness": best,
            "last": last,
            "emigrants": emigrants,
            "sent_bytes": sent_bytes,
            "serialized_bytes": serialized_bytes,
            "received": received,
            "received_bytes": received_bytes,
            "migration_lost": lost,
            "seconds_receive": t1 - t0,
            "seconds_evolve": t2 - t1,
            "seconds_checkpoint": saved,
            "seconds": time.perf_counter() - t0,
        }
        best_genome = None
        if best > global_best and np.isfinite(best):
            best_genome = np.array(ga.best_genome_, dtype=np.float32)
        return summary, best_genome

    # ------------------------------------------------------------ results
    def history(self):
        """The island's history, column name -> float64 array."""
        return self.ga.history_.to_dict()

    def population(self, top=None):
        """The final genomes (best first) and their fitness; the ``top`` best only if given."""
        pop = self.ga.population_
        order = rank_order(pop.fitness)
        if top is not None:
            order = order[: int(top)]
        return np.ascontiguousarray(pop.genomes[order]), np.asarray(pop.fitness[order], dtype=np.float64)


def writable(obj):
    """``obj`` with read-only arrays replaced by writable copies (through partials).

    Ray hands arrays out of its object store read-only (zero-copy); Numba
    types a read-only array apart from a writable one, so kernels called on
    them would be compiled again (and cached apart) in every island process.
    Copying the arrays of a ``functools.partial`` factory (its arguments,
    recursively through lists, tuples and dicts) keeps the signatures of a
    plain process, whose compiled kernels are in Numba's cache.
    """
    import functools

    if isinstance(obj, np.ndarray):
        return obj if obj.flags.writeable else obj.copy()
    if isinstance(obj, functools.partial):
        return functools.partial(writable(obj.func), *[writable(a) for a in obj.args],
                                 **{k: writable(v) for k, v in obj.keywords.items()})
    if type(obj) in (list, tuple):
        return type(obj)(writable(v) for v in obj)
    if type(obj) is dict:
        return {k: writable(v) for k, v in obj.items()}
    return obj


def serialized_size(array):
    """Bytes Ray's serializer produces for ``array`` (what the object store holds).

    Falls back to ``array.nbytes`` if Ray's (private) serialization context
    cannot be reached.
    """
    try:
        import ray

        ctx = ray._private.worker.global_worker.get_serialization_context()
        return int(ctx.serialize(array).total_bytes)
    except Exception:  # pragma: no cover - private API of Ray
        return int(np.asarray(array).nbytes)
