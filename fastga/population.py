"""A population of networks in one contiguous float32 buffer."""

from __future__ import annotations

import numpy as np

from ._random import resolve_seed
from .evaluation import Workspace, fitness_rows, forward_each_rows, forward_rows, run_rows
from .fileio import (array_field, build_checked, checkpoint_meta, jsonable, read_checkpoint,
                     require, save_npz)
from .kernels.init import init_genomes
from .registry import Init, Metric, names
from .validation import check_int, check_labels, check_positive, check_rows, check_targets, check_X
from .vector import as_spec, spec_from_dict

__all__ = ["Population", "sanitize_fitness", "FILE_KIND"]

#: The ``kind`` of population files.
FILE_KIND = "population"


def sanitize_fitness(fitness, n=None, name="fitness"):
    """Return fitness as float64 with NaN and +-inf replaced by -inf (rank last).

    +inf is treated as invalid too: a fitness that overflowed is a broken
    network, not a perfect one.
    """
    try:
        f = np.asarray(fitness, dtype=np.float64).reshape(-1).copy()
    except (TypeError, ValueError):
        raise TypeError(f"{name}: expected one number per individual, got {type(fitness).__name__}") from None
    if n is not None and f.shape[0] != n:
        raise ValueError(f"{name}: expected {n} values (one per individual), got {f.shape[0]}")
    f[~np.isfinite(f)] = -np.inf
    return f


class Population:
    """Genomes of ``size`` networks of one :class:`~fastga.NetworkSpec`.

    The genomes are ONE C-contiguous float32 array of shape
    ``(size, spec.n_params)``; a second array of the same shape receives the
    children of a generation, and :meth:`swap` exchanges the two, so a run
    allocates no genome memory after its start.

    Parameters
    ----------
    spec : NetworkSpec, sequence or int
        The networks' layout (anything :class:`NetworkSpec` accepts), or an
        int ``n`` for plain vectors of ``n`` parameters
        (:class:`~fastga.vector.VectorSpec`: no :meth:`forward`).
    genomes : array-like of shape (size, spec.n_params)
        Initial genomes; copied into a fresh float32 buffer.
    fitness : array-like of shape (size,), optional

    Attributes
    ----------
    genomes : ndarray of float32, shape (size, n_params)
        The current generation (a view of the live buffer).
    children : ndarray of float32, shape (size, n_params)
        The buffer the next generation is written into.
    fitness : ndarray of float64, shape (size,)
        Higher is better; NaN until evaluated.
    generation : int
        Number of generations bred so far.
    mirror_center : ndarray of float32, shape (n_params,), or None
        Set by an evolution strategy that samples mirrored pairs: rows ``2k``
        and ``2k + 1`` of ``genomes`` are ``center + e_k`` and ``center -
        e_k`` (each rounded to float32). A fitness function may use it to share
        work within a pair (:class:`~fastga.SupervisedFitness` computes a
        pair's first layer from one product with ``e_k``); the result equals
        the plain evaluation within float32 rounding. Cleared by :meth:`swap`
        and :meth:`set_genomes`; whoever writes rows otherwise must clear it.
    """

    #: See the class docstring (None: rows carry no mirrored structure).
    mirror_center = None

    def __init__(self, spec, genomes, fitness=None):
        self.spec = as_spec(spec)
        arr = np.asarray(genomes)
        if arr.ndim != 2 or arr.shape[1] != self.spec.n_params:
            raise ValueError(
                f"genomes: expected shape (size, {self.spec.n_params}) for {self.spec!r}, got {arr.shape}"
            )
        if arr.shape[0] < 1:
            raise ValueError("genomes: the population is empty")
        self._buffers = [np.array(arr, dtype=np.float32, order="C", copy=True),
                         np.empty_like(arr, dtype=np.float32, order="C")]
        self._current = 0
        self.fitness = np.full(arr.shape[0], np.nan)
        if fitness is not None:
            self.fitness = sanitize_fitness(fitness, arr.shape[0])
        self.generation = 0
        self.workspace = Workspace()

    # ------------------------------------------------------------ creation
    @classmethod
    def random(cls, spec, size, random_state=None, init="uniform", scale=None):
        """A population drawn from the counter-based streams of ``random_state``.

        Parameters
        ----------
        spec : NetworkSpec or sequence
        size : int
            Number of networks, at least 1.
        random_state : None, int or numpy.random.Generator
        init : {"uniform", "normal", "glorot"}
            ``uniform``: weights U(-scale, scale), default scale 0.15, zero
            biases (the GeneticMLP reference); ``normal``: weights and biases
            N(0, scale**2), default scale 1 (the GA-GAN reference);
            ``glorot``: Glorot-uniform weights, zero biases.
        scale : float, optional
        """
        spec = as_spec(spec)
        size = check_int(size, "size", minimum=1)
        if init not in names(Init):
            raise ValueError(f"init: expected one of {sorted(names(Init))}, got {init!r}")
        if scale is None:
            scale = {"uniform": 0.15, "normal": 1.0, "glorot": 1.0}[init]
        scale = check_positive(scale, "scale")
        seed = resolve_seed(random_state)
        pop = cls.__new__(cls)
        pop.spec = spec
        pop._buffers = [np.empty((size, spec.n_params), dtype=np.float32),
                        np.empty((size, spec.n_params), dtype=np.float32)]
        pop._current = 0
        pop.fitness = np.full(size, np.nan)
        pop.generation = 0
        pop.workspace = Workspace()
        run_rows(init_genomes, size, pop._buffers[0], seed, int(Init[init.upper()]), float(scale),
                 spec.sizes_array, spec.w_offsets, spec.b_offsets)
        return pop

    # ------------------------------------------------------------- buffers
    @property
    def genomes(self):
        return self._buffers[self._current]

    @property
    def children(self):
        return self._buffers[1 - self._current]

    @property
    def size(self):
        return self._buffers[0].shape[0]

    def __len__(self):
        return self.size

    def swap(self):
        """Make the children buffer the current generation (``mirror_center`` cleared)."""
        self._current = 1 - self._current
        self.mirror_center = None

    def set_genomes(self, genomes):
        """Copy ``genomes`` into the current buffer (shape must match)."""
        arr = np.asarray(genomes)
        if arr.shape != self.genomes.shape:
            raise ValueError(f"genomes: expected shape {self.genomes.shape}, got {arr.shape}")
        np.copyto(self.genomes, arr, casting="same_kind")
        self.fitness[:] = np.nan
        self.mirror_center = None

    def genome(self, i):
        """A copy of genome ``i``."""
        i = check_int(i, "i", minimum=-self.size, maximum=self.size - 1)
        return self.genomes[i].copy()

    def network(self, i):
        """Genome ``i`` as a standalone :class:`~fastga.Network`."""
        from .network import Network

        self.spec.n_inputs  # a plain vector (VectorSpec) raises: no network
        return Network(self.spec, self.genome(i))

    def best_index(self):
        """Index of the fittest individual (NaN ranks last)."""
        return int(np.argmax(sanitize_fitness(self.fitness)))

    # ------------------------------------------------------------- compute
    def _rows(self, rows):
        if rows is None:
            return np.arange(self.size, dtype=np.int64)
        return check_rows(rows, self.size)

    def forward(self, X, rows=None):
        """Outputs of the networks on ``X``.

        Parameters
        ----------
        X : array-like of shape (B, n_inputs)
        rows : array-like of int, optional
            Which individuals; all by default.

        Returns
        -------
        ndarray of float32, shape (len(rows), B, n_outputs)
            Computed in chunks of networks, so the scratch memory is bounded
            whatever the population size.
        """
        X = check_X(X, self.spec.n_inputs)
        return forward_rows(self.spec, self.genomes, self._rows(rows), X, self.workspace)

    def forward_each(self, obs, rows=None):
        """Outputs of each network on its own inputs.

        Parameters
        ----------
        obs : array-like of shape (len(rows), E, n_inputs)
            ``obs[r]`` are the E inputs of network ``rows[r]`` (for control:
            one observation per environment the network acts in).
        rows : array-like of int, optional
            Which individuals; all by default.

        Returns
        -------
        ndarray of float32, shape (len(rows), E, n_outputs)
            Each network's rows computed by one thread, so the bits do not
            depend on the thread count; small calls run on the calling thread
            alone (no hand-off to the pool).
        """
        if rows is None:
            # All rows, every call of a user's loop: one index array, kept
            # (never written: the kernels only read it).
            rows = self.__dict__.get("_all_rows")
            if rows is None or rows.shape[0] != self.size:
                rows = np.arange(self.size, dtype=np.int64)
                self._all_rows = rows
        else:
            rows = check_rows(rows, self.size)
        if not (type(obs) is np.ndarray and obs.dtype == np.float32 and obs.flags.c_contiguous):
            try:
                obs = np.ascontiguousarray(obs, dtype=np.float32)
            except (TypeError, ValueError):
                raise TypeError("obs: expected an array of numbers, got "
                                f"{type(obs).__name__}") from None
        expected = (rows.shape[0], obs.shape[1] if obs.ndim == 3 else "E", self.spec.n_inputs)
        if obs.ndim != 3 or obs.shape[0] != rows.shape[0] or obs.shape[2] != self.spec.n_inputs:
            raise ValueError(f"obs: expected shape {expected} (networks, inputs per network, "
                             f"features), got {obs.shape}")
        if obs.shape[1] < 1:
            raise ValueError("obs: needs at least one input per network")
        # A float64 sum of float32 values cannot overflow: it is finite exactly
        # when every value is.
        if not np.isfinite(obs.sum(dtype=np.float64)):
            raise ValueError("obs: contains NaN or infinite values")
        return forward_each_rows(self.spec, self.genomes, rows, obs)

    def losses(self, X, y, metric="cross_entropy", rows=None):
        """Mean loss and accuracy of each network on ``(X, y)``, fused.

        Parameters
        ----------
        X : array-like of shape (B, n_inputs)
        y : array-like
            Class labels (B,) for ``cross_entropy`` and ``accuracy``; targets
            (B, n_outputs) or (B,) for ``mse``.
        metric : {"cross_entropy", "accuracy", "mse"}

        Returns
        -------
        loss : ndarray of float64, shape (len(rows),)
            Mean cross-entropy (``cross_entropy``, ``accuracy``) or MSE.
        accuracy : ndarray of float64, shape (len(rows),)
            Share of correct argmax predictions (zeros for ``mse``).
        """
        X, y = self._check_xy(X, y, metric)
        loss, acc, _ = fitness_rows(self.spec, self.genomes, self._rows(rows), X, y, metric,
                                    self.workspace)
        return loss, acc

    def evaluate(self, X, y, metric="cross_entropy"):
        """Fitness of every individual on ``(X, y)``; stored in :attr:`fitness`.

        Higher is better: ``-cross_entropy``, ``accuracy`` or ``-mse``. The
        fused kernel never holds the (P, B, out) outputs. Non-finite values
        become ``-inf`` and so rank last.
        """
        loss, acc = self.losses(X, y, metric)
        self.fitness = sanitize_fitness(acc if metric == "accuracy" else -loss)
        return self.fitness

    def _check_xy(self, X, y, metric):
        if metric not in names(Metric):
            raise ValueError(f"metric: expected one of {sorted(names(Metric))}, got {metric!r}")
        X = check_X(X, self.spec.n_inputs)
        if metric == "mse":
            y = check_targets(y, X.shape[0], self.spec.n_outputs)
        else:
            y = check_labels(y, X.shape[0], self.spec.n_outputs)
        return X, y

    # ---------------------------------------------------------- files
    def payload(self, prefix=""):
        """``(arrays, meta)``: genomes, fitness and generation, and the spec."""
        arrays = {
            prefix + "genomes": self.genomes,
            prefix + "fitness": np.asarray(self.fitness, dtype=np.float64),
            prefix + "generation": np.asarray(self.generation, dtype=np.int64),
        }
        return arrays, {"spec": self.spec.to_dict()}

    @classmethod
    def from_payload(cls, arrays, meta, prefix=""):
        """The population of a :meth:`payload` (checked; ValueError or KeyError if not valid).

        The spec comes from the header, which the checksum does not cover: the
        genome array must have exactly its ``n_params`` columns, compared
        before the population's buffers are allocated.
        """
        spec = spec_from_dict(meta["spec"])
        genomes = array_field(arrays, prefix + "genomes", np.float32, 2)
        require(genomes.shape[1] == spec.n_params and genomes.shape[0] >= 1,
                f"genomes have shape {genomes.shape}, expected (size, {spec.n_params})")
        fitness = array_field(arrays, prefix + "fitness", np.float64, 1, (genomes.shape[0],))
        generation = int(array_field(arrays, prefix + "generation", np.int64, 0))
        require(generation >= 0, f"generation is {generation}")
        pop = cls(spec, genomes)
        pop.fitness = np.array(fitness, dtype=np.float64)  # NaN (not evaluated) stays NaN
        pop.generation = generation
        return pop

    def save(self, path, meta=None):
        """Write genomes, fitness, generation and spec to ``path`` (.npz, atomic, no pickle).

        Parameters
        ----------
        path : str or os.PathLike
        meta : dict, optional
            Extra JSON-able information stored in the header (``pop.meta`` on load).

        Returns
        -------
        str
            ``path``.
        """
        arrays, info = self.payload()
        info["class"] = "Population"
        if meta is not None:
            if not isinstance(meta, dict):
                raise TypeError(f"meta: expected a dict, got {type(meta).__name__}")
            info["user"] = {str(k): jsonable(v, f"meta[{k!r}]") for k, v in meta.items()}
        return save_npz(path, FILE_KIND, arrays, checkpoint_meta(info))

    @classmethod
    def load(cls, path):
        """Read a population written by :meth:`save` (its ``meta`` as ``pop.meta``).

        Raises
        ------
        fastga.fileio.FileFormatError
            The file is corrupt, truncated, of another kind or of a newer version.
        """
        arrays, meta = read_checkpoint(path, FILE_KIND)
        pop = build_checked(path, "population", cls.from_payload, arrays, meta)
        user = meta.get("user")
        pop.meta = dict(user) if isinstance(user, dict) else {}
        return pop

    def __repr__(self):
        return f"Population({self.spec!r}, size={self.size}, generation={self.generation})"
