"""Checkpoints: save and load populations, GA runs and estimators.

A checkpoint is one ``.npz`` written by :func:`fastga.fileio.save_npz`: an
atomic write (temporary file, fsync, rename), numeric arrays only, and a JSON
header that holds the spec, the parameters, this module's
:data:`CHECKPOINT_VERSION` and a SHA-256 of every array. Loading reads with
``allow_pickle=False`` and checks the checksum, the kind, the versions and
every shape before it builds anything, so it never runs code, and a corrupt,
truncated, foreign or newer file raises :class:`~fastga.fileio.FileFormatError`
and changes nothing.

What a GA checkpoint holds is everything :meth:`GeneticAlgorithm.run` needs
to go on bit-identically: the settings, the genomes, their fitness and
generation, :class:`~fastga.GAState` (seed, adaptive mutation rate, best
fitness, stall counter, last evaluated generation), the history and the best
genome. All random draws of a run are counter-based functions of
``(seed, generation, individual, purpose)``, so no generator state is saved:
the seed and the generation are the RNG counters.

Examples
--------
>>> import numpy as np, os, tempfile
>>> from fastga import GeneticAlgorithm
>>> X = np.linspace(-1, 1, 16, dtype=np.float32)[:, None]
>>> fit = lambda pop: -((pop.forward(X)[:, :, 0] - X[:, 0]) ** 2).mean(axis=1)
>>> ga = GeneticAlgorithm([1, 4, 1], pop_size=10, random_state=0).run(fit, 2)
>>> path = os.path.join(tempfile.mkdtemp(), "run.npz")
>>> _ = ga.save(path)
>>> GeneticAlgorithm.load(path).run(fit, 2).population_.generation
4
"""

from __future__ import annotations

import numbers
import os

import numpy as np

from .fileio import FileFormatError, load_npz, save_npz

__all__ = [
    "CHECKPOINT_VERSION",
    "FileFormatError",
    "save_population",
    "load_population",
    "save_ga",
    "load_ga",
    "save_estimator",
    "load_estimator",
    "load",
]

#: Layout version of the checkpoint payload (on top of fileio's format version).
#: 2: the mutation's random streams changed (stream version 2 of
#: :mod:`fastga.kernels.mutation`), so a GA of version 1 would not resume
#: bit-identically: it is refused (populations and estimators still load;
#: an estimator's predictions do not depend on the streams).
CHECKPOINT_VERSION = 2
#: The oldest version whose GA checkpoints resume the same run.
FIRST_RESUMABLE_VERSION = 2

KIND_POPULATION = "population"
KIND_GA = "ga"
KIND_ESTIMATOR = "estimator"


# ------------------------------------------------------------------ helpers
def _version():
    from . import __version__

    return __version__


def _jsonable(value, name):
    """``value`` as plain JSON (lists for tuples); TypeError if it cannot be."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (tuple, list)):
        return [_jsonable(v, name) for v in value]
    raise TypeError(f"{name}: a {type(value).__name__} cannot be saved in a checkpoint "
                    "(use plain numbers, strings, None or sequences of them)")


def _from_json(value):
    """Lists back to tuples (every sequence parameter of fastga is a tuple)."""
    if isinstance(value, list):
        return tuple(_from_json(v) for v in value)
    return value


def _params(obj, names, seed=None):
    out = {}
    for k in names:
        v = getattr(obj, k)
        if k == "random_state" and not (v is None or isinstance(v, numbers.Integral)):
            if seed is None:
                raise TypeError("random_state: a Generator cannot be saved before the run; "
                                "pass an int seed")
            v = int(seed)  # the resolved seed: a fresh run from the copy repeats this one
        out[k] = _jsonable(v, k)
    return out


def _require(cond, msg):
    if not cond:
        raise ValueError(msg)


def _array(arrays, name, dtype, ndim, shape=None):
    if name not in arrays:
        raise KeyError(f"array {name!r} is missing")
    a = arrays[name]
    _require(a.dtype == np.dtype(dtype), f"array {name!r} has dtype {a.dtype}, expected {np.dtype(dtype)}")
    _require(a.ndim == ndim, f"array {name!r} has {a.ndim} dimensions, expected {ndim}")
    if shape is not None:
        _require(a.shape == tuple(shape), f"array {name!r} has shape {a.shape}, expected {tuple(shape)}")
    return a


def _read(path, kind):
    """``load_npz`` plus the checkpoint-version check."""
    arrays, meta = load_npz(path, kind=kind)
    version = meta.get("checkpoint_version") if isinstance(meta, dict) else None
    if not isinstance(version, int) or version < 1:
        raise FileFormatError(f"{str(path)!r} is not a fastga checkpoint (no checkpoint version)")
    if version > CHECKPOINT_VERSION:
        raise FileFormatError(
            f"{str(path)!r} is a checkpoint of version {version}; this fastga reads up to "
            f"{CHECKPOINT_VERSION}: upgrade fastga"
        )
    if kind == KIND_GA and version < FIRST_RESUMABLE_VERSION:
        raise FileFormatError(
            f"{str(path)!r} is a checkpoint of version {version}, written with the mutation "
            f"random streams of an older fastga (before checkpoint version "
            f"{FIRST_RESUMABLE_VERSION}): resumed here it would not repeat its run. Load it with "
            f"the fastga that wrote it ({meta.get('fastga_version')!r}), or restart the run "
            f"from its seed"
        )
    return arrays, meta


def _build(path, what, builder, *args):
    """Run ``builder``; any inconsistency of the file becomes a FileFormatError."""
    try:
        return builder(*args)
    except FileFormatError:
        raise
    except (KeyError, ValueError, TypeError, IndexError, AttributeError) as exc:
        raise FileFormatError(f"{str(path)!r} is not a valid {what} checkpoint: {exc}") from None


# --------------------------------------------------------------- population
def _population_payload(pop, prefix=""):
    arrays = {
        prefix + "genomes": pop.genomes,
        prefix + "fitness": np.asarray(pop.fitness, dtype=np.float64),
        prefix + "generation": np.asarray(pop.generation, dtype=np.int64),
    }
    return arrays, {"spec": pop.spec.to_dict()}


def _population_from(arrays, meta, prefix=""):
    from .population import Population
    from .spec import NetworkSpec

    spec = NetworkSpec.from_dict(meta["spec"])
    genomes = _array(arrays, prefix + "genomes", np.float32, 2)
    _require(genomes.shape[1] == spec.n_params and genomes.shape[0] >= 1,
             f"genomes have shape {genomes.shape}, expected (size, {spec.n_params})")
    fitness = _array(arrays, prefix + "fitness", np.float64, 1, (genomes.shape[0],))
    generation = int(_array(arrays, prefix + "generation", np.int64, 0))
    _require(generation >= 0, f"generation is {generation}")
    pop = Population(spec, genomes)
    pop.fitness = np.array(fitness, dtype=np.float64)  # NaN (not evaluated) stays NaN
    pop.generation = generation
    return pop


def save_population(pop, path, meta=None):
    """Write a :class:`~fastga.Population` (genomes, fitness, generation, spec).

    Parameters
    ----------
    pop : Population
    path : str or os.PathLike
    meta : dict, optional
        Extra JSON-able information stored in the header.

    Returns
    -------
    str
        ``path``.
    """
    arrays, info = _population_payload(pop)
    info.update({"checkpoint_version": CHECKPOINT_VERSION, "class": "Population",
                 "fastga_version": _version()})
    if meta is not None:
        if not isinstance(meta, dict):
            raise TypeError(f"meta: expected a dict, got {type(meta).__name__}")
        info["user"] = {str(k): _jsonable(v, f"meta[{k!r}]") for k, v in meta.items()}
    return save_npz(path, KIND_POPULATION, arrays, info)


def load_population(path):
    """Read a population written by :func:`save_population` (its ``meta`` as ``pop.meta``)."""
    arrays, meta = _read(path, KIND_POPULATION)
    pop = _build(path, "population", _population_from, arrays, meta)
    user = meta.get("user")
    pop.meta = dict(user) if isinstance(user, dict) else {}
    return pop


# ----------------------------------------------------------------------- GA
def _ga_param_names():
    import inspect

    from .ga import GeneticAlgorithm

    return [p for p in inspect.signature(GeneticAlgorithm.__init__).parameters
            if p not in ("self", "spec")]


def _ga_payload(ga, prefix=""):
    from .spec import NetworkSpec

    spec = ga.spec if isinstance(ga.spec, NetworkSpec) else NetworkSpec(ga.spec)
    fitted = hasattr(ga, "state_")
    meta = {
        "class": type(ga).__name__,
        "spec": spec.to_dict(),
        "params": _params(ga, _ga_param_names(), ga.state_.seed if fitted else None),
        "fitted": fitted,
    }
    arrays = {}
    if fitted:
        st = ga.state_
        pop_arrays, _ = _population_payload(ga.population_, prefix)
        arrays.update(pop_arrays)
        cols = ga.history_.keys()
        n = len(ga.history_)
        hist = np.empty((n, len(cols)), dtype=np.float64)
        for j, k in enumerate(cols):
            hist[:, j] = ga.history_[k]
        arrays.update({
            prefix + "history": hist,
            prefix + "best_genome": np.asarray(ga.best_genome_, dtype=np.float32),
            prefix + "best_fitness": np.asarray(ga.best_fitness_, dtype=np.float64),
            prefix + "state_seed": np.asarray(st.seed, dtype=np.int64),
            prefix + "state_mutation_rate": np.asarray(st.mutation_rate, dtype=np.float64),
            prefix + "state_best_fitness": np.asarray(st.best_fitness, dtype=np.float64),
            prefix + "state_stall": np.asarray(st.stall, dtype=np.int64),
            prefix + "state_evaluated": np.asarray(st.evaluated, dtype=np.int64),
        })
        meta["history_columns"] = list(cols)
        meta["stopped"] = st.stopped
    return arrays, meta


def _ga_from(arrays, meta, prefix=""):
    from .ga import GAState, GeneticAlgorithm
    from .history import History
    from .spec import NetworkSpec

    spec = NetworkSpec.from_dict(meta["spec"])
    names = set(_ga_param_names())
    params = meta["params"]
    _require(isinstance(params, dict), "params is not a dict")
    unknown = set(params) - names
    _require(not unknown, f"unknown GeneticAlgorithm parameters {sorted(unknown)}")
    ga = GeneticAlgorithm(spec, **{k: _from_json(v) for k, v in params.items()})
    _, pop_size, _, _ = ga._validated()  # the saved settings must be valid ones
    if not meta.get("fitted"):
        return ga
    pop = _population_from(arrays, meta, prefix)
    _require(pop.size == pop_size, f"the population has {pop.size} networks but pop_size is {pop_size}")
    cols = meta["history_columns"]
    _require(isinstance(cols, list) and all(isinstance(c, str) for c in cols),
             "history_columns is not a list of names")
    hist = _array(arrays, prefix + "history", np.float64, 2)
    _require(hist.shape[1] == len(cols), f"history has {hist.shape[1]} columns, expected {len(cols)}")
    best_genome = _array(arrays, prefix + "best_genome", np.float32, 1, (spec.n_params,))
    stopped = meta.get("stopped")
    _require(stopped is None or isinstance(stopped, str), "stopped is not a string")
    seed = int(_array(arrays, prefix + "state_seed", np.int64, 0))
    _require(seed >= 0, f"seed is {seed}")
    evaluated = int(_array(arrays, prefix + "state_evaluated", np.int64, 0))
    _require(-1 <= evaluated <= pop.generation, f"evaluated generation {evaluated} is out of range")
    state = GAState(
        seed=seed,
        mutation_rate=float(_array(arrays, prefix + "state_mutation_rate", np.float64, 0)),
        best_fitness=float(_array(arrays, prefix + "state_best_fitness", np.float64, 0)),
        stall=int(_array(arrays, prefix + "state_stall", np.int64, 0)),
        evaluated=evaluated,
        stopped=stopped,
    )
    ga.population_ = pop
    ga.state_ = state
    ga.history_ = History({c: hist[:, j] for j, c in enumerate(cols)})
    ga.best_genome_ = np.array(best_genome, dtype=np.float32)
    ga.best_fitness_ = float(_array(arrays, prefix + "best_fitness", np.float64, 0))
    return ga


def save_ga(ga, path):
    """Write a :class:`~fastga.GeneticAlgorithm`: settings and, once run, its whole state.

    Returns
    -------
    str
        ``path``.
    """
    arrays, meta = _ga_payload(ga)
    meta["checkpoint_version"] = CHECKPOINT_VERSION
    meta["fastga_version"] = _version()
    return save_npz(path, KIND_GA, arrays, meta)


def load_ga(path):
    """Read a GA written by :func:`save_ga`; ``.run(fitness, more)`` goes on bit-identically."""
    arrays, meta = _read(path, KIND_GA)
    return _build(path, "GeneticAlgorithm", _ga_from, arrays, meta)


# --------------------------------------------------------------- estimators
def _estimator_classes():
    from .estimators import GeneticMLPClassifier, GeneticMLPRegressor

    return {c.__name__: c for c in (GeneticMLPClassifier, GeneticMLPRegressor)}


def save_estimator(est, path):
    """Write a GeneticMLP estimator: its parameters, fitted attributes and GA state.

    Returns
    -------
    str
        ``path``.
    """
    name = type(est).__name__
    if name not in _estimator_classes():
        raise TypeError(f"est: expected a GeneticMLPClassifier or GeneticMLPRegressor, got {name}")
    has_ga = hasattr(est, "ga_")
    seed = est.ga_.state_.seed if has_ga and hasattr(est.ga_, "state_") else None
    meta = {
        "checkpoint_version": CHECKPOINT_VERSION,
        "fastga_version": _version(),
        "class": name,
        "params": _params(est, sorted(est.get_params(deep=False)), seed),
        "has_ga": has_ga,
        "fitted": hasattr(est, "best_network_"),
    }
    arrays = {}
    if has_ga:
        ga_arrays, ga_meta = _ga_payload(est.ga_, prefix="ga_")
        arrays.update(ga_arrays)
        meta["ga"] = ga_meta
    if meta["fitted"]:
        net = est.best_network_
        arrays["best_network"] = net.genome
        meta["best_network_spec"] = net.spec.to_dict()
        fitted = {"n_features_in_": int(est.n_features_in_), "n_generations_": int(est.n_generations_),
                  "train_loss_": float(est.train_loss_)}
        if hasattr(est, "classes_"):
            arrays["classes"] = np.asarray(est.classes_, dtype=np.int64)
        if hasattr(est, "n_outputs_"):
            fitted["n_outputs_"] = int(est.n_outputs_)
            fitted["y_1d"] = bool(est._y_1d)
        meta["fitted_attrs"] = fitted
    return save_npz(path, KIND_ESTIMATOR, arrays, meta)


def _estimator_from(arrays, meta, cls):
    from .network import Network
    from .spec import NetworkSpec

    classes = _estimator_classes()
    name = meta["class"]
    _require(name in classes, f"unknown estimator class {name!r}")
    cls = classes[name] if cls is None else cls
    params = meta["params"]
    _require(isinstance(params, dict), "params is not a dict")
    allowed = set(cls().get_params(deep=False))
    unknown = set(params) - allowed
    _require(not unknown, f"unknown {name} parameters {sorted(unknown)}")
    est = cls(**{k: _from_json(v) for k, v in params.items()})
    ga = _ga_from(arrays, meta["ga"], prefix="ga_") if meta.get("has_ga") else None
    fitted = meta.get("fitted")
    if fitted:
        _require(ga is not None, "a fitted estimator without its GA")
        spec = NetworkSpec.from_dict(meta["best_network_spec"])
        genome = _array(arrays, "best_network", np.float32, 1, (spec.n_params,))
        attrs = meta["fitted_attrs"]
        net = Network(spec, genome)
        n_features = int(attrs["n_features_in_"])
        _require(n_features == spec.n_inputs, "n_features_in_ does not match the network")
        classes_ = None
        if name == "GeneticMLPClassifier":
            classes_ = _array(arrays, "classes", np.int64, 1, (spec.n_outputs,))
        else:
            _require(int(attrs["n_outputs_"]) == spec.n_outputs, "n_outputs_ does not match the network")
    if ga is not None:
        est.ga_ = ga
    if fitted:
        est.best_network_ = net
        est.n_features_in_ = n_features
        est.n_generations_ = int(attrs["n_generations_"])
        est.train_loss_ = float(attrs["train_loss_"])
        est.history_ = ga.history_
        if classes_ is not None:
            est.classes_ = np.array(classes_)
        else:
            est.n_outputs_ = int(attrs["n_outputs_"])
            est._y_1d = bool(attrs["y_1d"])
    return est


def load_estimator(path, cls=None):
    """Read an estimator written by :func:`save_estimator`.

    Parameters
    ----------
    path : str or os.PathLike
    cls : type, optional
        Expected class; a file holding another estimator raises
        :class:`~fastga.fileio.FileFormatError`.
    """
    arrays, meta = _read(path, KIND_ESTIMATOR)
    if cls is not None and meta.get("class") != cls.__name__:
        raise FileFormatError(f"{str(path)!r} holds a {meta.get('class')}, not a {cls.__name__}")
    return _build(path, "estimator", _estimator_from, arrays, meta, cls)


def load(path):
    """Read any fastga checkpoint: a Population, a GeneticAlgorithm or an estimator."""
    import json

    arrays, meta = load_npz(path)  # verifies the whole file first
    try:
        with np.load(path, allow_pickle=False) as data:
            kind = json.loads(bytes(data["__header__"]).decode("utf-8")).get("kind")
    except (OSError, ValueError, KeyError) as exc:  # the file changed under us
        raise FileFormatError(f"{str(path)!r} cannot be read: {exc}") from None
    readers = {KIND_POPULATION: load_population, KIND_GA: load_ga, KIND_ESTIMATOR: load_estimator}
    if kind not in readers:
        raise FileFormatError(f"{str(path)!r} holds a {kind!r}, not a checkpoint")
    return readers[kind](path)
