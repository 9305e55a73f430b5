"""The GA's settings: one record, shared by every class that runs a GA.

:class:`GASettings` holds the operators' hyperparameters (selection,
crossover, mutation, the adaptive mutation rate, initialisation) with their
defaults and their validation. :class:`~fastga.GeneticAlgorithm` takes the
same names as keyword arguments; the estimators, ``GANEvolver`` and
``IslandModel`` take a ``GASettings`` (or build one from their own keyword
arguments of the same names), so a setting is defined, defaulted and checked
here only.

The defaults are the ones that learn best on the bundled digits task
(``bench/README.md``, "GA defaults"): gaussian mutation at rate 0.2 with
sigma 0.05, a die-off of 0.9 and 5 elites. The GeneticMLP reference's
operators stay available by name: ``GASettings.reference()``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields

import numpy as np

from .registry import Crossover, Init, code_of
from .validation import check_int, check_positive, check_rate, check_type_probs

__all__ = ["GASettings", "SELECTIONS"]

#: Selection schemes of the GA (Python-side only: no kernel reads them).
SELECTIONS = ("preference", "tournament")


@dataclass(frozen=True)
class GASettings:
    """Hyperparameters of the genetic operators.

    Parameters
    ----------
    die_off_rate : float, default=0.9
        Share of the population that dies each generation (the worst).
    fitness_pref : float, default=1.0
        Exponent ``m`` of fitness-preference mating
        (:func:`fastga.selection.preference_probabilities`).
    selection : {"preference", "tournament"}, default="preference"
    tournament_size : int, default=3
    elitism : int, default=5
        The best ``elitism`` survivors pass unchanged into the next
        generation (at most the number of survivors).
    crossover : {"neuron", "single_point", "uniform", "none"}, default="neuron"
    max_crossover : float, default=0.5
        Upper bound of the share of neurons a child takes from its second
        parent (neuron-wise crossover).
    crossover_prob : float, default=1.0
        Probability that a child is a crossover rather than a copy of its
        first parent.
    mutation_rate : float, default=0.2
        Per-weight mutation probability (the base rate).
    type_probs : sequence of 3 or 4 floats, default=(0, 0, 0, 1)
        Probabilities of shift, sign, swap and (optionally) gaussian mutation
        (the order of :class:`fastga.registry.Mutation`).
    shift_max, swap_max, sigma : float, default=2.0, 2.0, 0.05
        Shift multiplies by U[0, shift_max); swap draws U[-swap_max,
        swap_max); gaussian adds N(0, sigma).
    mutation_rate_cap : float, default=0.3
    mutation_rate_increase : float, default=0.01
        While the best fitness does not improve, the rate rises by this much
        per generation, up to the cap; it falls back to ``mutation_rate`` as
        soon as the best improves.
    init : {"uniform", "normal", "glorot"}, default="uniform"
    init_scale : float, optional
        Scale of ``init`` (see :meth:`fastga.Population.random`).
    """

    die_off_rate: float = 0.9
    fitness_pref: float = 1.0
    selection: str = "preference"
    tournament_size: int = 3
    elitism: int = 5
    crossover: str = "neuron"
    max_crossover: float = 0.5
    crossover_prob: float = 1.0
    mutation_rate: float = 0.2
    type_probs: tuple = (0.0, 0.0, 0.0, 1.0)
    shift_max: float = 2.0
    swap_max: float = 2.0
    sigma: float = 0.05
    mutation_rate_cap: float = 0.3
    mutation_rate_increase: float = 0.01
    init: str = "uniform"
    init_scale: float | None = None

    @classmethod
    def names(cls):
        """The field names, in order."""
        return tuple(f.name for f in fields(cls))

    @classmethod
    def defaults(cls):
        """Field name -> default value."""
        return {f.name: f.default for f in fields(cls)}

    @classmethod
    def from_params(cls, obj):
        """The settings read from the attributes of the same names of ``obj``."""
        return cls(**{k: getattr(obj, k) for k in cls.names()})

    @classmethod
    def reference(cls, **changes):
        """The GeneticMLP reference's operators: shift / sign / swap mutation
        (0.8 / 0.1 / 0.1) at rate 0.1, a die-off of 0.5 and one elite."""
        base = dict(die_off_rate=0.5, elitism=1, mutation_rate=0.1, type_probs=(0.8, 0.1, 0.1, 0.0),
                    mutation_rate_cap=0.25, mutation_rate_increase=0.025)
        base.update(changes)
        return cls(**base)

    def replace(self, **changes):
        """A copy with ``changes``."""
        return dataclasses.replace(self, **changes)

    def to_dict(self):
        d = dataclasses.asdict(self)
        d["type_probs"] = [float(p) for p in np.asarray(self.type_probs, dtype=float).ravel()]
        return d

    def validate(self):
        """Check every setting (errors name the setting); returns self."""
        check_rate(self.die_off_rate, "die_off_rate")
        check_positive(self.fitness_pref, "fitness_pref", allow_zero=True)
        if self.selection not in SELECTIONS:
            raise ValueError(f"selection: expected one of {SELECTIONS}, got {self.selection!r}")
        check_int(self.tournament_size, "tournament_size", minimum=1)
        check_int(self.elitism, "elitism", minimum=0)
        code_of(Crossover, self.crossover, "crossover")
        check_rate(self.max_crossover, "max_crossover")
        check_rate(self.crossover_prob, "crossover_prob")
        check_rate(self.mutation_rate, "mutation_rate")
        check_type_probs(self.type_probs)
        check_positive(self.shift_max, "shift_max", allow_zero=True)
        check_positive(self.swap_max, "swap_max", allow_zero=True)
        check_positive(self.sigma, "sigma", allow_zero=True)
        check_rate(self.mutation_rate_cap, "mutation_rate_cap")
        check_positive(self.mutation_rate_increase, "mutation_rate_increase", allow_zero=True)
        if self.mutation_rate_cap < self.mutation_rate:
            raise ValueError(f"mutation_rate_cap: must be >= mutation_rate ({self.mutation_rate}), "
                             f"got {self.mutation_rate_cap}")
        code_of(Init, self.init, "init")
        if self.init_scale is not None:
            check_positive(self.init_scale, "init_scale")
        return self

    @property
    def cum_probs(self):
        """Cumulative ``type_probs`` over the four :class:`~fastga.registry.Mutation` kinds."""
        return check_type_probs(self.type_probs)

    @property
    def crossover_code(self):
        return code_of(Crossover, self.crossover, "crossover")

