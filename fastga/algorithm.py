"""The ask/tell interface that every fastga algorithm shares.

An algorithm owns a :class:`~fastga.Population` (one float32 buffer) and a
state. One step is::

    pop = algo.ask()        # the generation to evaluate
    algo.tell(fitness)      # its fitness, one value per row, higher is better

The first :meth:`Algorithm.ask` creates the population; an ``ask`` after a
``tell`` produces the next generation (the GA breeds it, an evolution
strategy samples it). ``tell`` records the fitness, the best so far and a
history row, and updates the algorithm (the GA's adaptive mutation rate, an
ES's search distribution). :meth:`Algorithm.run` is exactly that loop, plus
stopping rules, callbacks, checkpoints and a progress bar, so a loop of
``ask``/``tell`` written by hand gives the same bits as ``run``.

Subclasses implement the hooks ``_initialize``, ``_advance``, ``_update``
and ``_validated``, and list their state in a dataclass with the fields of
:class:`AlgorithmState`; :meth:`Algorithm.save` writes any such state.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from .fileio import (array_field, build_checked, checkpoint_meta, from_json, params_of,
                     read_checkpoint, require, save_npz)
from .history import History
from .population import Population, sanitize_fitness
from .progress import progress_bar
from .timing import PHASES, GenerationClock
from .validation import check_int, check_rows

__all__ = ["Algorithm", "AlgorithmState", "interrupts_deferred"]


@contextmanager
def interrupts_deferred(reraise=True):
    """Hold back Ctrl-C (SIGINT) while a run's state is being updated.

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
class AlgorithmState:
    """What every algorithm's run has reached.

    Attributes
    ----------
    seed : int
        The resolved ``random_state``.
    best_fitness : float
        Best fitness told so far (``-inf`` before the first ``tell``).
    stall : int
        Tells since ``best_fitness`` last improved.
    evaluated : int
        Generation whose fitness is in ``population_.fitness`` (-1: none).
    stopped : str or None
        Why the last run stopped early (``"threshold"``, ``"patience"``,
        ``"callback"``, ``"interrupted"``), else None.
    """

    seed: int
    best_fitness: float = -np.inf
    stall: int = 0
    evaluated: int = -1
    stopped: str | None = None


class Algorithm:
    """Base class of fastga's algorithms: ask/tell, run, save/load.

    Subclasses store their parameters in ``__init__`` (scikit-learn style:
    no validation there) and must have the parameters ``threshold``,
    ``patience`` and ``verbose``.
    """

    #: The ``kind`` written in checkpoint files.
    _file_kind = "algorithm"
    #: The state dataclass of the subclass.
    _state_class = AlgorithmState

    # ------------------------------------------------------------- hooks
    def _validated(self):
        """Check the parameters; return what the hooks need (subclass)."""
        raise NotImplementedError

    def _initialize(self, seed, population):
        """Create ``population_`` (from ``population`` if given) and ``state_`` (subclass)."""
        raise NotImplementedError

    def _advance(self):
        """Turn the told generation into the next one, in ``population_`` (subclass)."""
        raise NotImplementedError

    def _update(self, record, fitness, improved):
        """Learn from a told generation; may add columns to ``record`` (subclass)."""

    # --------------------------------------------------------- parameters
    @classmethod
    def _param_names(cls):
        return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]

    def get_params(self, deep=False):
        """The constructor's parameters, as stored (scikit-learn style)."""
        return {k: getattr(self, k) for k in self._param_names()}

    def set_params(self, **params):
        """Set constructor parameters (a running state keeps going with them)."""
        names = set(self._param_names())
        for k, v in params.items():
            if k not in names:
                raise ValueError(f"{k}: not a parameter of {type(self).__name__}")
            setattr(self, k, v)
        return self

    # -------------------------------------------------------------- steps
    @property
    def initialized(self):
        """Whether the run has started (the first :meth:`ask` or :meth:`initialize`)."""
        return hasattr(self, "state_")

    def initialize(self, population=None):
        """Start a fresh run: resolve ``random_state`` and create the population.

        Parameters
        ----------
        population : Population, optional
            Start from these genomes instead of drawn ones (copied).

        Returns
        -------
        self
        """
        from ._random import resolve_seed

        self._validated()
        seed = resolve_seed(self.random_state)
        self._initialize(seed, population)
        self.history_ = History()
        self.best_genome_ = self.population_.genomes[0].copy()
        self.best_fitness_ = -np.inf
        return self

    def _phase(self, name):
        """Book the block's time to phase ``name`` of the generation (see :mod:`fastga.timing`)."""
        clock = getattr(self, "_clock", None)
        return clock.phase(name) if clock is not None else contextlib.nullcontext()

    def ask(self):
        """The population to evaluate next.

        The first call starts the run (:meth:`initialize`). A call after a
        :meth:`tell` produces the next generation; a call before it returns
        the same, not yet told, generation.

        Returns
        -------
        Population
            Evaluate ``population.genomes`` (or ``population.forward(X)``) and
            give one fitness per row to :meth:`tell`.
        """
        if getattr(self, "_clock", None) is None:
            self._clock = GenerationClock()
        if not self.initialized:
            with self._phase("breed"):
                self.initialize()
        elif self.state_.evaluated == self.population_.generation:
            with self._phase("breed"):
                self._advance()
        self._clock.open("fitness")
        return self.population_

    def tell(self, fitness, stats=None):
        """Give the fitness of the generation :meth:`ask` returned.

        Parameters
        ----------
        fitness : array-like of shape (pop_size,)
            Higher is better. NaN and infinite values rank last.
        stats : dict, optional
            Extra columns for this generation's history row.

        Returns
        -------
        dict
            The generation's history row.
        """
        if not self.initialized:
            raise RuntimeError("tell: call ask() first")
        clock = getattr(self, "_clock", None) or GenerationClock()
        clock.close()
        pop = self.population_
        if self.state_.evaluated == pop.generation:
            raise RuntimeError(f"tell: generation {pop.generation} was told already; call ask() "
                               "for the next one")
        f = sanitize_fitness(fitness, pop.size)
        finite = np.isfinite(f)
        record = {
            "generation": pop.generation,
            "best_fitness": float(f.max()) if finite.any() else -np.inf,
            "mean_fitness": float(f[finite].mean()) if finite.any() else np.nan,
            "fitness_variance": float(f[finite].var()) if finite.any() else np.nan,
            "n_invalid": int((~finite).sum()),
        }
        record.update(stats or {})
        with interrupts_deferred():  # all or nothing: a checkpoint sees a consistent state
            st = self.state_
            pop.fitness = f
            st.evaluated = pop.generation
            improved = record["best_fitness"] > st.best_fitness
            if improved:
                st.best_fitness = record["best_fitness"]
                self.best_fitness_ = st.best_fitness
                self.best_genome_ = pop.genomes[pop.best_index()].copy()
                st.stall = 0
            else:
                st.stall += 1
            with clock.phase("select"):
                self._update(record, f, improved)
            split = clock.seconds()
            record.update({f"{k}_seconds": split[k] for k in PHASES})
            record["seconds"] = sum(split.values())
            self.history_.append(record)
            self._clock = GenerationClock()  # the next generation's time starts now
        return record

    def replace(self, rows, genomes, fitness=None):
        """Overwrite rows of the current generation (migrants, seeds).

        Parameters
        ----------
        rows : array-like of int
            Which rows of ``population_.genomes``.
        genomes : array-like of shape (len(rows), n_params)
        fitness : array-like of shape (len(rows),), optional
            Their known fitness. Given after a :meth:`tell`, the generation
            stays told (the best so far is updated); otherwise the whole
            generation must be told again, so the next :meth:`ask` returns it
            unchanged.

        Returns
        -------
        self
        """
        if not self.initialized:
            self.initialize()
        pop = self.population_
        rows = check_rows(rows, pop.size)
        arr = np.asarray(genomes)
        if arr.shape != (rows.shape[0], pop.genomes.shape[1]):
            raise ValueError(f"genomes: expected shape {(rows.shape[0], pop.genomes.shape[1])}, "
                             f"got {arr.shape}")
        if not np.isfinite(arr).all():
            raise ValueError("genomes: contains NaN or infinite values")
        f = None if fitness is None else sanitize_fitness(fitness, rows.shape[0])
        with interrupts_deferred():
            pop.genomes[rows] = arr
            if f is None or self.state_.evaluated != pop.generation:
                self.state_.evaluated = -1
                pop.fitness = np.full(pop.size, np.nan)
                return self
            pop.fitness[rows] = f
            k = int(np.argmax(f))
            if f[k] > self.state_.best_fitness:
                self.state_.best_fitness = float(f[k])
                self.best_fitness_ = float(f[k])
                self.best_genome_ = np.array(pop.genomes[rows[k]], dtype=np.float32)
                self.state_.stall = 0
        return self

    # ---------------------------------------------------------------- run
    def _stop_reason(self, record, callbacks):
        if self.threshold is not None and record["best_fitness"] >= self.threshold:
            return "threshold"
        if self.patience is not None and self.state_.stall >= self.patience:
            return "patience"
        for cb in callbacks:
            verdict = cb(self, record)
            if verdict:
                return verdict if isinstance(verdict, str) else "callback"
        return None

    def run(self, fitness, generations, inputs=None, callbacks=(), population=None,
            warm_start=None, checkpoint_every=None, checkpoint_path=None):
        """Run ``generations`` generations: a loop of :meth:`ask` and :meth:`tell`.

        Parameters
        ----------
        fitness : callable
            ``fitness(population) -> (P,)`` scores, higher is better; or, if
            ``inputs`` is given, ``fitness(outputs) -> (P,)`` where
            ``outputs = population.forward(inputs)`` has shape (P, B, out).
            NaN or infinite scores rank last. A fitness object may expose a
            ``last_stats`` dict whose entries are added to the history.
        generations : int
            Number of new generations. On a fresh run the initial population
            is told too, so the loop makes ``generations + 1`` tells and
            ``history_`` gains ``generations + 1`` rows; going on from a told
            generation makes ``generations`` asks and tells.
        inputs : array-like, optional
        callbacks : sequence of callables
            ``callback(algorithm, record)`` after each tell, where ``record``
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
            a checkpoint is also written at the end of the run and on Ctrl-C
            (KeyboardInterrupt): the run then stops, sets ``state_.stopped =
            "interrupted"`` and returns normally with the best so far;
            ``type(self).load(checkpoint_path).run(fitness, more)`` goes on
            bit-identically. Without ``checkpoint_path`` the
            KeyboardInterrupt propagates (the state is consistent, so
            :meth:`save` still works).

        Returns
        -------
        self

        Notes
        -----
        Kernels compile on first use (Numba, cached on disk). To compile a
        run's kernels ahead, over every CPU, call :func:`fastga.compile_ahead`
        first.
        """
        generations = check_int(generations, "generations", minimum=0)
        if checkpoint_every is not None:
            checkpoint_every = check_int(checkpoint_every, "checkpoint_every", minimum=1)
            if checkpoint_path is None:
                raise ValueError("checkpoint_path: required with checkpoint_every")
        if not callable(fitness):
            raise TypeError(f"fitness: expected a callable, got {type(fitness).__name__}")
        self._validated()
        if inputs is not None:  # before initialize(): no kernel runs on bad input
            from .validation import check_X

            inputs = check_X(inputs, self._spec().n_inputs, name="inputs")
        if warm_start is None:
            warm_start = self.initialized
        if not warm_start or not self.initialized:
            self.initialize(population)
        elif population is not None:
            raise ValueError("population: give it only for a fresh run (warm_start=False)")
        self.state_.stopped = None
        start, saved = self.population_.generation, None  # saved: (generation, evaluated)
        bar = progress_bar(generations, "generations", disable=not self.verbose)
        try:
            while True:
                if self.state_.evaluated == self.population_.generation:
                    if bar.n >= generations:
                        break
                    pop = self.ask()
                    bar.update(1)
                else:
                    pop = self.ask()
                raw = fitness(pop if inputs is None else pop.forward(inputs))
                record = self.tell(raw, getattr(fitness, "last_stats", None))
                bar.set_postfix(best=f"{record['best_fitness']:.4g}", refresh=False)
                stop = self._stop_reason(record, callbacks)
                if (checkpoint_every and pop.generation != start
                        and pop.generation % checkpoint_every == 0):
                    self.save(checkpoint_path)
                    saved = (pop.generation, self.state_.evaluated)
                if stop:
                    self.state_.stopped = stop
                    break
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

    # ------------------------------------------------------------ results
    def _spec(self):
        """The validated layout of the population (subclass may override)."""
        from .vector import as_spec

        return as_spec(self.spec)

    def best_network(self):
        """The best network told so far, as a :class:`~fastga.Network`."""
        from .network import Network

        if not hasattr(self, "best_genome_"):
            raise AttributeError("best_network: run() or tell() has not been called yet")
        self.population_.spec.n_inputs  # a plain vector (VectorSpec) raises: no network
        return Network(self.population_.spec, self.best_genome_)

    # --------------------------------------------------------------- files
    def payload(self, prefix=""):
        """``(arrays, meta)`` of the parameters and, once started, the whole run.

        What :meth:`save` writes (``arrays`` names prefixed with ``prefix``),
        for a file format that holds an algorithm among other things (an
        estimator's, the GA-GAN's); :meth:`from_payload` reads it back.
        """
        fitted = self.initialized
        names = [k for k in self._param_names() if k != "spec"]
        meta = {
            "class": type(self).__name__,
            "spec": self._spec().to_dict(),
            "params": params_of(self, names, self.state_.seed if fitted else None),
            "fitted": fitted,
        }
        arrays = {}
        if not fitted:
            return arrays, meta
        pop_arrays, _ = self.population_.payload(prefix)
        arrays.update(pop_arrays)
        cols = self.history_.keys()
        hist = np.empty((len(self.history_), len(cols)), dtype=np.float64)
        for j, k in enumerate(cols):
            hist[:, j] = self.history_[k]
        arrays[prefix + "history"] = hist
        arrays[prefix + "best_genome"] = np.asarray(self.best_genome_, dtype=np.float32)
        arrays[prefix + "best_fitness"] = np.asarray(self.best_fitness_, dtype=np.float64)
        state_meta = {}
        for fld in dataclasses.fields(self.state_):
            v = getattr(self.state_, fld.name)
            if v is None or isinstance(v, str):
                state_meta[fld.name] = v
            elif isinstance(v, np.ndarray):
                arrays[prefix + "state_" + fld.name] = v
            elif isinstance(v, (bool, np.bool_)):
                arrays[prefix + "state_" + fld.name] = np.asarray(v, dtype=np.bool_)
            elif isinstance(v, (int, np.integer)):
                arrays[prefix + "state_" + fld.name] = np.asarray(v, dtype=np.int64)
            else:
                arrays[prefix + "state_" + fld.name] = np.asarray(v, dtype=np.float64)
        meta["state"] = state_meta
        meta["history_columns"] = list(cols)
        return arrays, meta

    @classmethod
    def from_payload(cls, arrays, meta, prefix=""):
        """The algorithm of a :meth:`payload` (its parameters checked; the run
        restored where it had started)."""
        from .vector import spec_from_dict

        spec = spec_from_dict(meta["spec"])
        params = meta["params"]
        require(isinstance(params, dict), "params is not a dict")
        unknown = set(params) - set(cls._param_names())
        require(not unknown, f"unknown {cls.__name__} parameters {sorted(unknown)}")
        algo = cls(spec, **{k: from_json(v) for k, v in params.items()})
        algo._validated()  # the saved settings must be valid ones
        if not meta.get("fitted"):
            return algo
        pop = Population.from_payload(arrays, meta, prefix)
        require(pop.size == algo.pop_size,
                f"the population has {pop.size} networks but pop_size is {algo.pop_size}")
        cols = meta["history_columns"]
        require(isinstance(cols, list) and all(isinstance(c, str) for c in cols),
                "history_columns is not a list of names")
        hist = array_field(arrays, prefix + "history", np.float64, 2)
        require(hist.shape[1] == len(cols), f"history has {hist.shape[1]} columns, expected {len(cols)}")
        best_genome = array_field(arrays, prefix + "best_genome", np.float32, 1, (spec.n_params,))
        # Files of fastga 0.1 kept only ``stopped`` in the header.
        state_meta = meta["state"] if "state" in meta else {"stopped": meta.get("stopped")}
        values = {}
        for fld in dataclasses.fields(cls._state_class):
            if fld.name in state_meta:
                v = state_meta[fld.name]
                require(v is None or isinstance(v, str), f"state {fld.name} is not a string")
                values[fld.name] = v
                continue
            key = prefix + "state_" + fld.name
            require(key in arrays, f"array {key!r} is missing")
            a = arrays[key]
            values[fld.name] = a.item() if a.ndim == 0 else np.array(a)
        state = cls._state_class(**values)
        require(isinstance(state.seed, int) and state.seed >= 0, f"seed is {state.seed}")
        require(-1 <= state.evaluated <= pop.generation,
                f"evaluated generation {state.evaluated} is out of range")
        algo._check_state(state, pop)
        algo.population_ = pop
        algo.state_ = state
        algo.history_ = History({c: hist[:, j] for j, c in enumerate(cols)})
        algo.best_genome_ = np.array(best_genome, dtype=np.float32)
        algo.best_fitness_ = float(array_field(arrays, prefix + "best_fitness", np.float64, 0))
        return algo

    def _check_state(self, state, population):
        """Raise ValueError if a loaded ``state`` does not fit (subclass)."""

    def save(self, path):
        """Write the parameters and the whole run state to ``path`` (one ``.npz``).

        Atomic and pickle-free (:mod:`fastga.fileio`). The fitness function
        is not saved: give it again to :meth:`run`.

        Returns
        -------
        str
            ``path``.
        """
        arrays, meta = self.payload()
        return save_npz(path, self._file_kind, arrays, checkpoint_meta(meta))

    @classmethod
    def load(cls, path):
        """Read an algorithm written by :meth:`save`; ``.run(fitness, more)`` goes on
        bit-identically.

        Raises
        ------
        fastga.fileio.FileFormatError
            The file is corrupt, truncated, of another kind or of a newer version.
        """
        arrays, meta = read_checkpoint(path, cls._file_kind)
        if meta.get("class") != cls.__name__:
            from .fileio import FileFormatError

            raise FileFormatError(f"{str(path)!r} holds a {meta.get('class')}, not a {cls.__name__}")
        return build_checked(path, cls.__name__, cls.from_payload, arrays, meta)
