"""The generic genetic-algorithm driver.

Settings (the constructor's parameters) stay apart from the run's state
(:class:`GAState`, the population and the history): the driver is a thin
Python loop that ranks, selects and calls the in-place Numba operators.
"""

from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from ._random import philox, resolve_seed
from .evaluation import run_rows
from .history import History
from .kernels.breed import CROSSOVER_KINDS, breed
from .kernels.rng import PURPOSE_SELECTION
from .population import Population, sanitize_fitness
from .progress import progress_bar
from .selection import n_survivors, rank_order, select_preference, select_tournament
from .spec import NetworkSpec
from .validation import check_int, check_positive, check_rate, check_type_probs

__all__ = ["GeneticAlgorithm", "GAState", "CROSSOVERS", "SELECTIONS"]

CROSSOVERS = ("neuron", "single_point", "uniform", "none")
SELECTIONS = ("preference", "tournament")


@contextmanager
def _interrupts_deferred(reraise=True):
    """Hold back Ctrl-C (SIGINT) while the run's state is being updated.

    A KeyboardInterrupt can land between any two bytecodes; inside this block
    it is recorded and raised on leaving it (or, with ``reraise=False``, only
    recorded in the list the block yields), so an interrupted run is always
    in a consistent state that a checkpoint can save. Outside the main thread
    (no signals there) the block does nothing.
    """
    received = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is None:  # a handler installed outside Python: leave it alone
        yield received
        return
    signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield received
    finally:
        signal.signal(signal.SIGINT, previous)
        if received and reraise:
            if callable(previous) and previous is not signal.default_int_handler:
                previous(signal.SIGINT, None)
            elif previous is not signal.SIG_IGN:
                raise KeyboardInterrupt


@dataclass
class GAState:
    """What a run has reached (everything needed to go on bit-identically).

    Attributes
    ----------
    seed : int
        The resolved ``random_state``.
    mutation_rate : float
        The current (adaptive) mutation rate.
    best_fitness : float
        Best fitness seen so far (``-inf`` before the first evaluation).
    stall : int
        Generations since ``best_fitness`` last improved.
    evaluated : int
        Generation whose fitness is in ``population.fitness`` (-1: none).
    stopped : str or None
        Why the last run stopped early (``"threshold"``, ``"patience"``,
        ``"callback"``, ``"interrupted"``), else None.
    """

    seed: int
    mutation_rate: float
    best_fitness: float = -np.inf
    stall: int = 0
    evaluated: int = -1
    stopped: str | None = None


class GeneticAlgorithm:
    """Evolve a population of networks against any fitness function.

    Each generation: evaluate, rank (non-finite fitness last), let the
    ``die_off_rate`` share die, copy the best ``elitism`` unchanged, breed the
    rest from the survivors (fitness-preference or tournament selection,
    then crossover) and mutate the children in place.

    Parameters
    ----------
    spec : NetworkSpec or sequence
        Layout of every network.
    pop_size : int, default=100
    die_off_rate : float, default=0.5
        Share of the population that dies each generation (the worst).
    fitness_pref : float, default=1.0
        Exponent ``m`` of fitness-preference mating, see
        :func:`fastga.selection.preference_probabilities`.
    selection : {"preference", "tournament"}, default="preference"
    tournament_size : int, default=3
    elitism : int, default=1
        The best ``elitism`` survivors pass unchanged into the next generation.
    crossover : {"neuron", "single_point", "uniform", "none"}, default="neuron"
    max_crossover : float, default=0.5
        Upper bound of the share of neurons a child takes from its second
        parent (neuron-wise crossover).
    crossover_prob : float, default=1.0
        Probability that a child is a crossover rather than a copy of its
        first parent.
    mutation_rate : float, default=0.1
        Per-weight mutation probability (the base rate).
    type_probs : sequence of 3 or 4 floats, default=(0.8, 0.1, 0.1)
        Probabilities of shift, sign, swap and (optionally) gaussian mutation.
    shift_max, swap_max, sigma : float
        Shift multiplies by U[0, shift_max); swap draws U[-swap_max,
        swap_max); gaussian adds N(0, sigma).
    mutation_rate_cap : float, default=0.25
    mutation_rate_increase : float, default=0.025
        While the best fitness does not improve, the rate rises by this much
        per generation, up to the cap; it falls back to ``mutation_rate`` as
        soon as the best improves.
    init : {"uniform", "normal", "glorot"}, default="uniform"
    init_scale : float, optional
    threshold : float, optional
        Stop once the best fitness reaches it.
    patience : int, optional
        Stop after this many generations without improvement.
    random_state : None, int or numpy.random.Generator
    verbose : bool, default=False
        Show a progress bar.

    Attributes
    ----------
    population_ : Population
    state_ : GAState
    history_ : History
    best_genome_ : ndarray of float32
        Best genome seen in any evaluated generation.
    best_fitness_ : float

    Examples
    --------
    >>> import numpy as np
    >>> X = np.linspace(-1, 1, 32, dtype=np.float32)[:, None]
    >>> def fitness(pop):
    ...     out = pop.forward(X)[:, :, 0]
    ...     return -((out - X[:, 0] ** 2) ** 2).mean(axis=1)
    >>> ga = GeneticAlgorithm([1, 8, 1], pop_size=20, random_state=0)
    >>> ga = ga.run(fitness, generations=3)
    >>> len(ga.history_)
    4
    """

    def __init__(self, spec, pop_size=100, die_off_rate=0.5, fitness_pref=1.0,
                 selection="preference", tournament_size=3, elitism=1, crossover="neuron",
                 max_crossover=0.5, crossover_prob=1.0, mutation_rate=0.1,
                 type_probs=(0.8, 0.1, 0.1), shift_max=2.0, swap_max=2.0, sigma=0.1,
                 mutation_rate_cap=0.25, mutation_rate_increase=0.025, init="uniform",
                 init_scale=None, threshold=None, patience=None, random_state=None,
                 verbose=False):
        self.spec = spec
        self.pop_size = pop_size
        self.die_off_rate = die_off_rate
        self.fitness_pref = fitness_pref
        self.selection = selection
        self.tournament_size = tournament_size
        self.elitism = elitism
        self.crossover = crossover
        self.max_crossover = max_crossover
        self.crossover_prob = crossover_prob
        self.mutation_rate = mutation_rate
        self.type_probs = type_probs
        self.shift_max = shift_max
        self.swap_max = swap_max
        self.sigma = sigma
        self.mutation_rate_cap = mutation_rate_cap
        self.mutation_rate_increase = mutation_rate_increase
        self.init = init
        self.init_scale = init_scale
        self.threshold = threshold
        self.patience = patience
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------ settings
    def _validated(self):
        """Check every setting; returns the derived values the loop needs."""
        spec = self.spec if isinstance(self.spec, NetworkSpec) else NetworkSpec(self.spec)
        pop_size = check_int(self.pop_size, "pop_size", minimum=2)
        check_rate(self.die_off_rate, "die_off_rate", 0.0, 1.0)
        check_positive(self.fitness_pref, "fitness_pref", allow_zero=True)
        if self.selection not in SELECTIONS:
            raise ValueError(f"selection: expected one of {SELECTIONS}, got {self.selection!r}")
        check_int(self.tournament_size, "tournament_size", minimum=1)
        elitism = check_int(self.elitism, "elitism", minimum=0, maximum=pop_size - 1)
        if self.crossover not in CROSSOVERS:
            raise ValueError(f"crossover: expected one of {CROSSOVERS}, got {self.crossover!r}")
        check_rate(self.max_crossover, "max_crossover")
        check_rate(self.crossover_prob, "crossover_prob")
        check_rate(self.mutation_rate, "mutation_rate")
        cum_probs = check_type_probs(self.type_probs)
        check_positive(self.shift_max, "shift_max", allow_zero=True)
        check_positive(self.swap_max, "swap_max", allow_zero=True)
        check_positive(self.sigma, "sigma", allow_zero=True)
        if self.init_scale is not None:
            check_positive(self.init_scale, "init_scale")
        check_rate(self.mutation_rate_cap, "mutation_rate_cap")
        check_positive(self.mutation_rate_increase, "mutation_rate_increase", allow_zero=True)
        if self.mutation_rate_cap < self.mutation_rate:
            raise ValueError(
                f"mutation_rate_cap: must be >= mutation_rate ({self.mutation_rate}), got {self.mutation_rate_cap}"
            )
        if self.patience is not None:
            check_int(self.patience, "patience", minimum=1)
        if self.threshold is not None:
            check_rate(self.threshold, "threshold", -np.inf, np.inf)  # a number, not NaN
            if not np.isfinite(self.threshold):
                raise ValueError(f"threshold: must be finite, got {self.threshold}")
        return spec, pop_size, elitism, cum_probs

    # ---------------------------------------------------------------- run
    def initialize(self, population=None):
        """Start a fresh run: resolve ``random_state`` and create the population.

        Parameters
        ----------
        population : Population, optional
            Start from these genomes instead of random ones (copied).
        """
        spec, pop_size, _, _ = self._validated()
        seed = resolve_seed(self.random_state)
        if population is None:
            pop = Population.random(spec, pop_size, random_state=seed, init=self.init,
                                    scale=self.init_scale)
        else:
            if population.spec != spec or population.size != pop_size:
                raise ValueError(
                    f"population: expected {pop_size} networks of {spec!r}, got {population.size} of {population.spec!r}"
                )
            pop = Population(spec, population.genomes)
        self.population_ = pop
        self.state_ = GAState(seed=seed, mutation_rate=float(self.mutation_rate))
        self.history_ = History()
        self.best_genome_ = pop.genomes[0].copy()
        self.best_fitness_ = -np.inf
        return self

    def run(self, fitness, generations, inputs=None, callbacks=(), population=None,
            warm_start=None, checkpoint_every=None, checkpoint_path=None):
        """Breed ``generations`` generations, evaluating each.

        Parameters
        ----------
        fitness : callable
            ``fitness(population) -> (P,)`` scores, higher is better; or, if
            ``inputs`` is given, ``fitness(outputs) -> (P,)`` where
            ``outputs = population.forward(inputs)`` has shape (P, B, out).
            NaN or infinite scores rank last. A fitness object may expose a
            ``last_stats`` dict whose entries are added to the history.
        generations : int
            Number of breeding steps. The population is evaluated before
            each, and once more at the end, so ``history_`` gains
            ``generations + 1`` rows on a fresh run.
        inputs : array-like, optional
        callbacks : sequence of callables
            ``callback(ga, record)`` after each evaluation, where ``record``
            is that generation's history row; returning True (or a string,
            recorded as ``state_.stopped``) stops the run.
        population : Population, optional
            Initial genomes for a fresh run.
        warm_start : bool, optional
            Go on from the current population and state instead of starting
            afresh. Default: go on if this object has already run.
        checkpoint_every : int, optional
            Save a checkpoint (:meth:`save`) to ``checkpoint_path`` after
            every generation that is a multiple of this.
        checkpoint_path : str or os.PathLike, optional
            Where checkpoints go (one file, replaced atomically). When given,
            a checkpoint is also written at the end of the run and on
            Ctrl-C (KeyboardInterrupt): the run then stops, sets
            ``state_.stopped = "interrupted"`` and returns normally with the
            best so far; ``GeneticAlgorithm.load(checkpoint_path).run(fitness,
            more)`` goes on bit-identically. Without ``checkpoint_path`` the
            KeyboardInterrupt propagates (the state is consistent, so
            :meth:`save` still works).

        Returns
        -------
        self

        Notes
        -----
        The first run in a process compiles the kernels it uses (breeding,
        the fused fitness of a :class:`~fastga.SupervisedFitness`, the forward
        pass) over the CPUs at once, before its first generation
        (:func:`fastga.compilation.compile_ahead`); ``FASTGA_COMPILE_JOBS=1``
        compiles them in this process only, on first use.
        """
        generations = check_int(generations, "generations", minimum=0)
        if checkpoint_every is not None:
            checkpoint_every = check_int(checkpoint_every, "checkpoint_every", minimum=1)
            if checkpoint_path is None:
                raise ValueError("checkpoint_path: required with checkpoint_every")
        if not callable(fitness):
            raise TypeError(f"fitness: expected a callable, got {type(fitness).__name__}")
        spec, pop_size, elitism, cum_probs = self._validated()
        if inputs is not None:  # before initialize(): no kernel runs on bad input
            from .validation import check_X

            inputs = check_X(inputs, spec.n_inputs, name="inputs")
        if warm_start is None:
            warm_start = hasattr(self, "state_")
        if not warm_start or not hasattr(self, "state_"):
            self.initialize(population)
        elif population is not None:
            raise ValueError("population: give it only for a fresh run (warm_start=False)")
        self.state_.stopped = None
        start, saved = self.population_.generation, None  # saved: (generation, evaluated)
        bar = progress_bar(generations, "generations", disable=not self.verbose)
        try:
            for _ in range(generations + 1):
                t0 = time.perf_counter()
                pop = self.population_
                if self.state_.evaluated != pop.generation:
                    record, f = self._evaluate(fitness, inputs)
                    stop = self._after_evaluation(record, f, callbacks)
                    self.history_.set_last("seconds", time.perf_counter() - t0)
                    bar.set_postfix(best=f"{record['best_fitness']:.4g}", refresh=False)
                    if (checkpoint_every and pop.generation != start
                            and pop.generation % checkpoint_every == 0):
                        self.save(checkpoint_path)
                        saved = (pop.generation, self.state_.evaluated)
                    if stop:
                        break
                if bar.n >= generations:
                    break
                t1 = time.perf_counter()
                self._breed(spec, pop_size, elitism, cum_probs)
                bar.update(1)
                self.history_.set_last("seconds", self.history_["seconds"][-1] + time.perf_counter() - t1)
        except KeyboardInterrupt:
            self.state_.stopped = "interrupted"
            if checkpoint_path is None:
                raise
        finally:
            bar.close()
        if checkpoint_path is not None and (
                saved != (self.population_.generation, self.state_.evaluated)
                or self.state_.stopped == "interrupted"):
            self.save(checkpoint_path)
        return self

    def _evaluate(self, fitness, inputs):
        pop = self.population_
        raw = fitness(pop if inputs is None else pop.forward(inputs))
        f = sanitize_fitness(raw, pop.size)
        finite = np.isfinite(f)
        best = float(f.max()) if finite.any() else -np.inf
        record = {
            "generation": pop.generation,
            "best_fitness": best,
            "mean_fitness": float(f[finite].mean()) if finite.any() else np.nan,
            "fitness_variance": float(f[finite].var()) if finite.any() else np.nan,
            "n_invalid": int((~finite).sum()),
        }
        record.update(getattr(fitness, "last_stats", None) or {})
        return record, f

    def _after_evaluation(self, record, f, callbacks):
        with _interrupts_deferred():  # all or nothing: a checkpoint sees a consistent state
            self._record(record, f)
        if self.threshold is not None and record["best_fitness"] >= self.threshold:
            self.state_.stopped = "threshold"
            return True
        if self.patience is not None and self.state_.stall >= self.patience:
            self.state_.stopped = "patience"
            return True
        for cb in callbacks:
            verdict = cb(self, record)
            if verdict:
                self.state_.stopped = verdict if isinstance(verdict, str) else "callback"
                return True
        return False

    def _record(self, record, f):
        """Store one evaluation: fitness, best so far, adaptive rate, history row."""
        st, pop = self.state_, self.population_
        pop.fitness = f
        st.evaluated = pop.generation
        best = record["best_fitness"]
        if best > st.best_fitness:
            improved = True
            st.best_fitness = best
            self.best_fitness_ = best
            self.best_genome_ = pop.genomes[pop.best_index()].copy()
            st.stall = 0
        else:
            improved = False
            st.stall += 1
        # The adaptive mutation rate: up while the best stalls, back when it improves.
        if improved or pop.generation == 0:
            st.mutation_rate = float(self.mutation_rate)
        else:
            st.mutation_rate = float(min(st.mutation_rate + self.mutation_rate_increase,
                                         self.mutation_rate_cap))
        record["mutation_rate"] = st.mutation_rate
        record["seconds"] = 0.0
        self.history_.append(record)

    def _breed(self, spec, pop_size, elitism, cum_probs):
        """Write the next generation into the children buffer, then swap."""
        st, pop = self.state_, self.population_
        gen = pop.generation
        order = rank_order(pop.fitness)
        survivors = order[: n_survivors(pop_size, self.die_off_rate)]
        n_elite = min(elitism, survivors.shape[0])
        parents, children = pop.genomes, pop.children
        n_child = pop_size - n_elite
        rng = philox(st.seed, gen, PURPOSE_SELECTION)
        surv_fit = pop.fitness[survivors]
        if self.selection == "preference":
            i1, i2 = select_preference(surv_fit, n_child, self.fitness_pref, rng)
        else:
            i1, i2 = select_tournament(surv_fit, n_child, int(self.tournament_size), rng)
        p1 = np.ascontiguousarray(survivors[i1], dtype=np.int64)
        p2 = np.ascontiguousarray(survivors[i2], dtype=np.int64)
        counts = np.empty(n_child, dtype=np.int64)
        # One kernel, one pass per row: elites copied, children crossed and mutated.
        run_rows(breed, pop_size, parents, children, survivors[:n_elite].astype(np.int64), p1, p2,
                 np.uint64(st.seed), gen, CROSSOVER_KINDS[self.crossover], spec.sizes_array,
                 spec.w_offsets, spec.b_offsets,
                 float(self.max_crossover) if self.crossover == "neuron" else 0.0,
                 float(self.crossover_prob), float(st.mutation_rate), cum_probs,
                 float(self.shift_max), float(self.swap_max), float(self.sigma), counts)
        unevaluated = np.full(pop_size, np.nan)
        with _interrupts_deferred():  # the children become the generation: all or nothing
            pop.swap()
            pop.generation = gen + 1
            pop.fitness = unevaluated
        return counts

    # --------------------------------------------------------- checkpoints
    def save(self, path):
        """Write the settings and the whole run state to ``path`` (one ``.npz``).

        Atomic and pickle-free (see :mod:`fastga.checkpoint`). The fitness
        function is not saved: give it again to :meth:`run`.

        Returns
        -------
        str
            ``path``.
        """
        from .checkpoint import save_ga

        return save_ga(self, path)

    @classmethod
    def load(cls, path):
        """Read a GA written by :meth:`save`; ``.run(fitness, more)`` goes on bit-identically.

        Raises
        ------
        fastga.fileio.FileFormatError
            The file is corrupt, truncated, of another kind or of a newer
            version.
        """
        from .checkpoint import load_ga

        return load_ga(path)

    # ------------------------------------------------------------ results
    def best_network(self):
        """The best network seen so far, as a :class:`~fastga.Network`."""
        from .network import Network

        if not hasattr(self, "best_genome_"):
            raise AttributeError("best_network: run() has not been called yet")
        return Network(self.population_.spec, self.best_genome_)
