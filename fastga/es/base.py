"""What fastga's evolution strategies share: sampling, the update's sums, the center.

An :class:`EvolutionStrategy` is an :class:`~fastga.algorithm.Algorithm`
whose population is sampled from a search distribution around a center:
``ask`` writes ``center + scale * z`` into the population buffer
(:func:`fastga.kernels.es.sample`), ``tell`` ranks the fitness, regenerates
the same noise to form the update's weighted sums
(:func:`fastga.kernels.es.weighted_sums`) and moves the distribution. The
noise is a function of ``(seed, generation, direction)``, never stored.

Invalid fitness (NaN, inf) ranks last and, through the rank-based shaping,
weighs like the worst valid one; a generation without any valid fitness
leaves the distribution unchanged.

Rows replaced with :meth:`~fastga.algorithm.Algorithm.replace` count for
the best so far, but the update uses the noise the rows were sampled with.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..algorithm import Algorithm, AlgorithmState, interrupts_deferred
from ..evaluation import run_rows
from ..kernels.es import BLOCK, CHUNK, sample, sample_totals, weighted_sums
from ..population import Population
from ..validation import check_int, check_positive, check_rate
from ..vector import VectorSpec

__all__ = ["ESState", "EvolutionStrategy"]


@dataclass
class ESState(AlgorithmState):
    """What an ES run has reached.

    Attributes
    ----------
    mean : ndarray of float64, shape (n_params,)
        The center of the search distribution.
    updates : int
        Updates made so far (generations told with at least one valid fitness).

    The other attributes are those of :class:`~fastga.algorithm.AlgorithmState`.
    """

    mean: np.ndarray = None
    updates: int = 0


def check_finite(value, name):
    """A finite float, else a ValueError or TypeError naming ``name``."""
    value = check_rate(value, name, -np.inf, np.inf)
    if not np.isfinite(value):
        raise ValueError(f"{name}: must be finite, got {value}")
    return value


class EvolutionStrategy(Algorithm):
    """Base class of the evolution strategies (subclasses: ``OpenES``, ``PGPE``,
    ``SNES``, ``SepCMAES``).

    Subclasses define ``_check`` (their hyperparameters), ``_new_state``,
    ``_scale`` (the per-parameter standard deviation of the sampling) and
    ``_step`` (the update from a generation's fitness).
    """

    _state_class = ESState
    #: Whether rows come in mirrored pairs ``center +- scale * z``.
    _always_antithetic = False
    #: Whether the update's coefficients share one value over many directions
    #: (SNES's utilities: the worse half's are all ``-1/P``). Sampling then also
    #: forms the noise's per-parameter totals (:func:`fastga.kernels.es.sample_totals`)
    #: and :meth:`_sums` regenerates only the directions of the other values.
    _shared_coefficient = False

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_parts", None)  # scratch of the sampling, made again when needed
        return state

    # ------------------------------------------------------------ settings
    def _antithetic(self):
        return self._always_antithetic or bool(getattr(self, "antithetic", False))

    def _validated(self):
        spec = self._spec()
        pop_size = check_int(self.pop_size, "pop_size", minimum=2)
        if self._antithetic() and pop_size % 2:
            raise ValueError(f"pop_size: must be even with antithetic (mirrored) sampling, "
                             f"got {pop_size}")
        check_positive(self.sigma, "sigma")
        if not np.isfinite(self.sigma):
            raise ValueError(f"sigma: must be finite, got {self.sigma}")
        if self.center_init is not None:
            c = np.asarray(self.center_init, dtype=np.float64) if not isinstance(
                self.center_init, (str, bytes)) else None
            if c is None or c.ndim > 1 or (c.ndim == 1 and c.shape[0] != spec.n_params):
                raise ValueError(f"center_init: expected a number or {spec.n_params} numbers, "
                                 f"got {self.center_init!r:.60}")
            if not np.isfinite(c).all():
                raise ValueError("center_init: contains NaN or infinite values")
        if self.patience is not None:
            check_int(self.patience, "patience", minimum=1)
        if self.threshold is not None:
            check_finite(self.threshold, "threshold")
        self._check(spec.n_params, pop_size)
        return spec, pop_size

    def _check(self, n_params, pop_size):
        """Check the subclass' hyperparameters (ValueError or TypeError naming them)."""

    # ------------------------------------------------------------- hooks
    def _initialize(self, seed, population):
        spec, pop_size = self._validated()
        n = spec.n_params
        if population is not None:
            if population.spec != spec:
                raise ValueError(f"population: expected genomes of {spec!r}, got "
                                 f"{population.spec!r}")
            center = population.genomes.astype(np.float64).mean(axis=0)
        elif self.center_init is not None:
            center = np.broadcast_to(np.asarray(self.center_init, dtype=np.float64), (n,)).copy()
        elif isinstance(spec, VectorSpec):
            center = np.zeros(n)
        else:  # Glorot-uniform weights, zero biases: the INIT stream's row 0
            center = Population.random(spec, 1, random_state=seed, init="glorot").genomes[0]
            center = center.astype(np.float64)
        self.state_ = self._new_state(seed, center, n, pop_size)
        pop = Population(spec, np.zeros((pop_size, n), dtype=np.float32))
        pop.mirror_center = self._sample(pop.genomes, 0)
        self.population_ = pop

    def _new_state(self, seed, center, n_params, pop_size):
        raise NotImplementedError

    def _scale(self):
        """Per-parameter standard deviation of the sampling (float64, n_params)."""
        raise NotImplementedError

    def _step(self, fitness):
        """Move the distribution after a generation with valid fitness."""
        raise NotImplementedError

    def _sample(self, out, generation):
        """Write generation ``generation`` into ``out``; returns the float32 center
        the rows are mirrored around (``Population.mirror_center``), or None."""
        mean32 = self.state_.mean.astype(np.float32)
        scale32 = self._scale().astype(np.float32)
        anti = self._antithetic()
        seed = np.uint64(self.state_.seed)
        if self._shared_coefficient and not anti:
            self._totals = self._sample_totals(out, mean32, scale32, seed, generation)
            return None
        run_rows(sample, out.shape[0] // 2 if anti else out.shape[0], out, mean32, scale32,
                 seed, generation, anti)
        return mean32 if anti else None

    def _advance(self):
        pop = self.population_
        gen = pop.generation + 1
        center = self._sample(pop.children, gen)
        unevaluated = np.full(pop.size, np.nan)
        with interrupts_deferred():  # the sample becomes the generation: all or nothing
            pop.swap()
            pop.mirror_center = center
            pop.generation = gen
            pop.fitness = unevaluated

    def _update(self, record, fitness, improved):
        if np.isfinite(fitness).any():
            self._step(fitness)
            self.state_.updates += 1
        record["sigma_mean"] = float(self._scale().mean())

    def replace(self, rows, genomes, fitness=None):
        """As :meth:`Algorithm.replace`; the generation's rows are then no longer
        marked as mirrored pairs (``Population.mirror_center``)."""
        if self.initialized:
            self.population_.mirror_center = None
        return super().replace(rows, genomes, fitness)

    @classmethod
    def from_payload(cls, arrays, meta, prefix=""):
        """As :meth:`Algorithm.from_payload`, with ``Population.mirror_center`` restored."""
        algo = super().from_payload(arrays, meta, prefix)
        pop = getattr(algo, "population_", None)
        if pop is not None and algo._antithetic() and algo.state_.evaluated != pop.generation:
            # A generation not yet told was sampled around the current center:
            # mark its pairs again if its rows are still that sample (no replace()).
            again = np.empty_like(pop.genomes)
            center = algo._sample(again, pop.generation)
            if again.tobytes() == pop.genomes.tobytes():
                pop.mirror_center = center
        return algo

    # -------------------------------------------------------------- sums
    def _directions(self, weights):
        """Per-direction coefficients ``(a, b)`` of per-row weights: with mirrored
        pairs, ``a = w+ - w-`` (the sign of the noise) and ``b = w+ + w-``."""
        w = np.asarray(weights, dtype=np.float64)
        if self._antithetic():
            return w[0::2] - w[1::2], w[0::2] + w[1::2]
        return w, w

    def _sums(self, a, b=None):
        """``(sum_d a[d] z_d, sum_d b[d] z_d**2)`` of the told generation's noise
        (float32 sums in float64 arrays, n_params each; the second None without ``b``).

        Directions whose coefficients are 0 (Sep-CMA-ES's worse half) are not
        regenerated (:func:`fastga.kernels.es.weighted_sums`). With
        :attr:`_shared_coefficient`, the value ``v`` of ``a`` shared by at least
        a quarter of the directions (where ``b`` has one value ``w`` too) is
        taken out first, ``sum_d a[d] z_d = sum_d (a[d] - v) z_d + v sum_d z_d``,
        with the noise's totals from the sampling.
        """
        a = np.array(a, dtype=np.float64)
        b = None if b is None else np.array(b, dtype=np.float64)
        va = vb = 0.0
        if self._shared_coefficient and not self._antithetic():
            values, counts = np.unique(a, return_counts=True)
            k = int(np.argmax(counts))
            on = a == values[k]
            if 4 * counts[k] >= a.shape[0] and (b is None or np.all(b[on] == b[on][0])):
                va, vb = float(values[k]), (0.0 if b is None else float(b[on][0]))
                a -= va  # exactly 0 where a == va
                if b is not None:
                    b -= vb
        s1, s2 = self._kernel_sums(a, b)
        if va != 0.0 or vb != 0.0:
            t1, t2 = self._noise_totals()
            s1 += va * t1
            if b is not None:
                s2 += vb * t2
        return s1, s2

    def _kernel_sums(self, a, b):
        n = self.population_.genomes.shape[1]
        s1 = np.empty(n, dtype=np.float64)
        s2 = np.empty(n if b is not None else 0, dtype=np.float64)
        bb = np.empty(0) if b is None else np.ascontiguousarray(b, dtype=np.float64)
        blocks = -(-n // BLOCK)
        run_rows(weighted_sums, blocks, np.ascontiguousarray(a, dtype=np.float64), bb,
                 np.uint64(self.state_.seed), self.population_.generation, s1, s2,
                 pieces=blocks)  # a block a piece: the threads finish together
        return s1, (s2 if b is not None else None)

    def _sample_totals(self, out, mean32, scale32, seed, generation):
        """Sample into ``out`` (:func:`fastga.kernels.es.sample_totals`) and return
        ``(seed, generation, P, t1, t2)``: the noise's totals ``sum_d z_d`` and
        ``sum_d z_d**2``, the chunks' float32 partial sums added in chunk order."""
        P, n = out.shape
        chunks = -(-P // CHUNK)
        parts = getattr(self, "_parts", None)
        if parts is None or parts.shape != (2, chunks, n):  # kept: no new pages each generation
            self._parts = parts = np.empty((2, chunks, n), dtype=np.float32)
        part1, part2 = parts[0], parts[1]
        run_rows(sample_totals, chunks, out, mean32, scale32, seed, generation, part1, part2)
        t1, t2 = part1[0].copy(), part2[0].copy()
        for k in range(1, chunks):  # in chunk order: the same bits for any thread count
            t1 += part1[k]
            t2 += part2[k]
        return int(seed), int(generation), P, t1.astype(np.float64), t2.astype(np.float64)

    def _noise_totals(self):
        """``(sum_d z_d, sum_d z_d**2)`` of the current generation's noise: kept from
        its sampling, else (after a load) regenerated, with the same bits."""
        pop = self.population_
        key = (int(self.state_.seed), int(pop.generation), pop.size)
        kept = getattr(self, "_totals", None)
        if kept is None or tuple(kept[:3]) != key:
            scratch = np.empty_like(pop.genomes)
            self._totals = kept = self._sample_totals(
                scratch, self.state_.mean.astype(np.float32), self._scale().astype(np.float32),
                np.uint64(self.state_.seed), pop.generation)
        return kept[3], kept[4]

    # ------------------------------------------------------------ results
    @property
    def mean_(self):
        """The center of the search distribution (float32 copy)."""
        if not self.initialized:
            raise AttributeError("mean_: the run has not started (call ask() or run())")
        return self.state_.mean.astype(np.float32)

    def _check_state(self, state, population):
        n = population.genomes.shape[1]
        for name in ("mean",) + self._vector_fields:
            v = getattr(state, name)
            if not isinstance(v, np.ndarray) or v.shape != (n,) or not np.isfinite(v).all():
                raise ValueError(f"state {name} is not {n} finite numbers")
        if state.updates < 0:
            raise ValueError(f"updates is {state.updates}")

    #: State fields that are per-parameter vectors (checked on load).
    _vector_fields = ()
