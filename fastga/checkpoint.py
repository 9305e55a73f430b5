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

KIND_POPULATION = "population"
KIND_GA = "ga"
KIND_ESTIMATOR = "estimator"


# ------------------------------------------------------------------ helpers
from .fileio import CHECKPOINT_VERSION, FIRST_RESUMABLE_VERSION  # noqa: E402
from .fileio import array_field as _array  # noqa: E402
from .fileio import build_checked as _build  # noqa: E402
from .fileio import from_json as _from_json  # noqa: E402
from .fileio import jsonable as _jsonable  # noqa: E402
from .fileio import params_of as _params  # noqa: E402
from .fileio import read_checkpoint as _read  # noqa: E402
from .fileio import require as _require  # noqa: E402


def _version():
    from ._version import __version__

    return __version__


def save_population(pop, path, meta=None):
    """Write a :class:`~fastga.Population`; see :meth:`fastga.Population.save`."""
    return pop.save(path, meta=meta)


def load_population(path):
    """Read a population; see :meth:`fastga.Population.load`."""
    from .population import Population

    return Population.load(path)


def _ga_payload(ga, prefix=""):
    return ga._payload(prefix)


def _ga_from(arrays, meta, prefix=""):
    from .ga import GeneticAlgorithm

    return GeneticAlgorithm._from_payload(arrays, meta, prefix)


def save_ga(ga, path):
    """Write a :class:`~fastga.GeneticAlgorithm`; see :meth:`fastga.GeneticAlgorithm.save`."""
    return ga.save(path)


def load_ga(path):
    """Read a GA; see :meth:`fastga.GeneticAlgorithm.load`."""
    from .ga import GeneticAlgorithm

    return GeneticAlgorithm.load(path)


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
