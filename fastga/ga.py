"""The genetic algorithm: selection in Python, breeding in one Numba kernel.

:class:`GeneticAlgorithm` is an :class:`~fastga.algorithm.Algorithm`: ``ask``
breeds the next generation from the told one, ``tell`` records its fitness
and adapts the mutation rate, ``run`` loops the two. The operators'
hyperparameters are those of :class:`~fastga.settings.GASettings`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._random import philox
from .algorithm import Algorithm, AlgorithmState, interrupts_deferred
from .evaluation import run_rows
from .kernels.breed import BreedPlan, CrossoverParams, Layout, MutationParams, breed
from .population import Population
from .registry import Crossover, Purpose
from .selection import n_survivors, rank_order, select_preference, select_tournament
from .settings import SELECTIONS, GASettings
from .validation import check_int, check_rate

__all__ = ["GeneticAlgorithm", "GAState", "CROSSOVERS", "SELECTIONS"]

#: Crossover names (see :class:`fastga.registry.Crossover`).
CROSSOVERS = tuple(m.name.lower() for m in Crossover)

_D = GASettings()  # the defaults of every GA setting


@dataclass
class GAState(AlgorithmState):
    """What a GA run has reached (everything needed to go on bit-identically).

    Attributes
    ----------
    mutation_rate : float
        The current (adaptive) mutation rate.

    The other attributes are those of :class:`~fastga.algorithm.AlgorithmState`.
    """

    mutation_rate: float = 0.0


class GeneticAlgorithm(Algorithm):
    """Evolve a population of networks against any fitness function.

    Each generation: rank the told fitness (non-finite last), let the
    ``die_off_rate`` share die, copy the best ``elitism`` unchanged, breed the
    rest from the survivors (fitness-preference or tournament selection,
    then crossover) and mutate the children in place.

    Parameters
    ----------
    spec : NetworkSpec or sequence
        Layout of every network.
    pop_size : int, default=100
    die_off_rate, fitness_pref, selection, tournament_size, elitism, crossover, \
max_crossover, crossover_prob, mutation_rate, type_probs, shift_max, swap_max, sigma, \
mutation_rate_cap, mutation_rate_increase, init, init_scale
        The operators' settings, with the defaults and meaning of
        :class:`~fastga.settings.GASettings` (``GASettings.reference()``
        gives the GeneticMLP reference's shift / sign / swap operators).
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
        Best genome of any told generation.
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

    The same run as an ask/tell loop:

    >>> ga2 = GeneticAlgorithm([1, 8, 1], pop_size=20, random_state=0)
    >>> for _ in range(4):
    ...     _ = ga2.tell(fitness(ga2.ask()))
    >>> bool((ga2.population_.genomes == ga.population_.genomes).all())
    True
    """

    _file_kind = "ga"
    _state_class = GAState

    def __init__(self, spec, pop_size=100, die_off_rate=_D.die_off_rate,
                 fitness_pref=_D.fitness_pref, selection=_D.selection,
                 tournament_size=_D.tournament_size, elitism=_D.elitism, crossover=_D.crossover,
                 max_crossover=_D.max_crossover, crossover_prob=_D.crossover_prob,
                 mutation_rate=_D.mutation_rate, type_probs=_D.type_probs, shift_max=_D.shift_max,
                 swap_max=_D.swap_max, sigma=_D.sigma, mutation_rate_cap=_D.mutation_rate_cap,
                 mutation_rate_increase=_D.mutation_rate_increase, init=_D.init,
                 init_scale=_D.init_scale, threshold=None, patience=None, random_state=None,
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

    @classmethod
    def from_settings(cls, spec, settings=None, **params):
        """A GA with the operators of ``settings`` (a :class:`GASettings`) and ``params``
        (``pop_size``, ``threshold``, ``patience``, ``random_state``, ``verbose``)."""
        settings = GASettings() if settings is None else settings
        if not isinstance(settings, GASettings):
            raise TypeError(f"settings: expected a GASettings, got {type(settings).__name__}")
        return cls(spec, **{k: getattr(settings, k) for k in GASettings.names()}, **params)

    def settings(self):
        """The operators' settings as a :class:`GASettings`."""
        return GASettings.from_params(self)

    # ------------------------------------------------------------ settings
    def _validated(self):
        """Check every parameter; returns the derived values the loop needs."""
        spec = self._spec()
        pop_size = check_int(self.pop_size, "pop_size", minimum=2)
        settings = self.settings().validate()
        if self.patience is not None:
            check_int(self.patience, "patience", minimum=1)
        if self.threshold is not None:
            check_rate(self.threshold, "threshold", -np.inf, np.inf)  # a number, not NaN
            if not np.isfinite(self.threshold):
                raise ValueError(f"threshold: must be finite, got {self.threshold}")
        return spec, pop_size, settings

    # ------------------------------------------------------------- hooks
    def _initialize(self, seed, population):
        spec, pop_size, s = self._validated()
        if population is None:
            pop = Population.random(spec, pop_size, random_state=seed, init=s.init,
                                    scale=s.init_scale)
        else:
            if population.spec != spec or population.size != pop_size:
                raise ValueError(f"population: expected {pop_size} networks of {spec!r}, got "
                                 f"{population.size} of {population.spec!r}")
            pop = Population(spec, population.genomes)
        self.population_ = pop
        self.state_ = GAState(seed=seed, mutation_rate=float(s.mutation_rate))

    def _update(self, record, fitness, improved):
        """The adaptive mutation rate: up while the best stalls, back when it improves."""
        st = self.state_
        if improved or self.population_.generation == 0:
            st.mutation_rate = float(self.mutation_rate)
        else:
            st.mutation_rate = float(min(st.mutation_rate + self.mutation_rate_increase,
                                         self.mutation_rate_cap))
        record["mutation_rate"] = st.mutation_rate

    def _advance(self):
        self._breed(*self._validated())

    def _breed(self, spec, pop_size, s):
        """Write the next generation into the children buffer, then swap.

        Returns the number of mutated weights of each child.
        """
        st, pop = self.state_, self.population_
        gen = pop.generation
        with self._phase("select"):
            plan = self._select(pop_size, s)
        n_child = plan.p1.shape[0]
        kind = s.crossover_code
        cross = CrossoverParams(int(kind),
                                float(s.max_crossover) if kind == Crossover.NEURON else 0.0,
                                float(s.crossover_prob))
        mut = MutationParams(float(st.mutation_rate), s.cum_probs, float(s.shift_max),
                             float(s.swap_max), float(s.sigma))
        layout = Layout(spec.sizes_array, spec.w_offsets, spec.b_offsets)
        counts = np.empty(n_child, dtype=np.int64)
        # One kernel, one pass per row: elites copied, children crossed and mutated.
        run_rows(breed, pop_size, pop.genomes, pop.children, plan, np.uint64(st.seed), gen,
                 layout, cross, mut, counts)
        unevaluated = np.full(pop_size, np.nan)
        with interrupts_deferred():  # the children become the generation: all or nothing
            pop.swap()
            pop.generation = gen + 1
            pop.fitness = unevaluated
        return counts

    def _select(self, pop_size, s):
        """Who breeds whom: die-off, elites, then fitness-preference or tournament mating."""
        st, pop = self.state_, self.population_
        order = rank_order(pop.fitness)
        survivors = order[: n_survivors(pop_size, s.die_off_rate)]
        n_elite = min(s.elitism, survivors.shape[0], pop_size - 1)
        n_child = pop_size - n_elite
        rng = philox(st.seed, pop.generation, Purpose.SELECTION)
        surv_fit = pop.fitness[survivors]
        if s.selection == "preference":
            i1, i2 = select_preference(surv_fit, n_child, s.fitness_pref, rng)
        else:
            i1, i2 = select_tournament(surv_fit, n_child, int(s.tournament_size), rng)
        return BreedPlan(np.ascontiguousarray(survivors[:n_elite], dtype=np.int64),
                         np.ascontiguousarray(survivors[i1], dtype=np.int64),
                         np.ascontiguousarray(survivors[i2], dtype=np.int64))

    def _check_state(self, state, population):
        if not np.isfinite(state.mutation_rate) or not 0 <= state.mutation_rate <= 1:
            raise ValueError(f"mutation rate {state.mutation_rate} is out of range")
