"""Seed a population from trained weights: a Keras model's Dense layers or a fastga network.

Individual 0 is the given network exactly; individual ``i >= 1`` is that
network plus ``sigma * N(0, 1)`` noise on every weight and bias, drawn from
the counter-based stream ``(seed, 0, i, Purpose.SEEDING)``, so the
population is the same for any thread count. Hand it to
``GeneticAlgorithm.run(..., population=pop)`` or
``GeneticMLPClassifier.fit(X, y, population=pop)`` to evolve on from a
network trained elsewhere (by gradient descent, say).

Examples
--------
>>> import numpy as np
>>> from fastga import Network
>>> net = Network([2, 3, 1], np.ones(13, dtype=np.float32))
>>> pop = seed_population(net, 5, sigma=0.1, random_state=0)
>>> bool((pop.genomes[0] == net.genome).all()), pop.size
(True, 5)
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._random import resolve_seed
from .evaluation import run_rows
from .kernels.rng import random_normal, stream_key
from .network import Network
from .population import Population
from .registry import ACTIVATION_EXPORT, Purpose
from .spec import NetworkSpec, activation_name
from .validation import check_int, check_positive

__all__ = ["from_keras", "perturb_rows", "seed_population"]

#: Keras activation functions equal to fastga's, by name -> fastga name.
_KERAS_FUNCTIONS = {e.keras: activation_name(a) for a, e in ACTIVATION_EXPORT.items()
                    if e.keras_layer is None}
#: Keras activation functions whose defaults differ from fastga's -> the layer to use instead.
_KERAS_DIFFERENT = {e.keras: e.keras_layer for e in ACTIVATION_EXPORT.values()
                    if e.keras_layer is not None}
#: Keras layer class -> (fastga name, the arguments it must have).
_KERAS_LAYERS = {e.keras_layer[0]: (activation_name(a), dict(e.keras_layer[1]))
                 for a, e in ACTIVATION_EXPORT.items() if e.keras_layer is not None}


def perturb_rows(genomes, base, seed, sigma, start):
    """Row ``i >= start`` of ``genomes`` := ``base + sigma * N(0, 1)``; rows before ``start`` := ``base``.

    Row ``i`` draws weight ``k`` from counters ``2k, 2k + 1`` of stream
    ``(seed, 0, i, Purpose.SEEDING)``, so the rows are the same for any
    thread count; :func:`fastga.evaluation.run_rows` runs
    :func:`perturb_kernel` over pieces of rows.
    """
    run_rows(perturb_kernel, genomes.shape[0], genomes, base, seed, sigma, start)


@njit(nogil=True, cache=True)
def perturb_kernel(genomes, base, seed, sigma, start, lo, hi):
    """Rows ``lo .. hi-1`` of :func:`perturb_rows`."""
    n = genomes.shape[1]
    for i in range(lo, hi):
        if i < start:
            for k in range(n):
                genomes[i, k] = base[k]
            continue
        key = stream_key(seed, 0, i, Purpose.SEEDING)
        for k in range(n):
            genomes[i, k] = np.float32(base[k] + sigma * random_normal(key, 2 * k))


def _keras_layer_kind(layer):
    return type(layer).__name__


def _keras_function(act_fn, layer):
    """fastga's name of a Keras activation function (of a Dense or Activation layer)."""
    act_name = getattr(act_fn, "__name__", str(act_fn))
    if act_name in _KERAS_DIFFERENT:
        cls, kwargs = _KERAS_DIFFERENT[act_name]
        args = ", ".join(f"{k}={v}" for k, v in kwargs)
        raise ValueError(f"model: {_keras_layer_kind(layer)} layer {layer.name!r} uses Keras' "
                         f"{act_name} function, whose defaults differ from fastga's; use a "
                         f"{cls}({args}) layer")
    if act_name not in _KERAS_FUNCTIONS:
        raise ValueError(f"model: {_keras_layer_kind(layer)} layer {layer.name!r} has activation "
                         f"{act_name!r}, not one of {sorted(_KERAS_FUNCTIONS)}")
    return _KERAS_FUNCTIONS[act_name]


def _keras_activation_layer(layer, kind):
    """fastga's name of a Keras activation layer that writes one of fastga's activations."""
    name, expected = _KERAS_LAYERS[kind]
    cfg = layer.get_config()
    for arg, value in expected.items():
        got = cfg.get(arg, getattr(layer, arg, None))
        if got is None or abs(float(got) - value) > 1e-7:
            raise ValueError(f"model: {kind} layer {layer.name!r} has {arg}={got}; fastga's "
                             f"{name} has {arg}={value}")
    return name


def from_keras(model):
    """A :class:`~fastga.Network` equal to a Keras model made of Dense layers.

    Accepted layers, in a chain: ``Dense`` (with one of fastga's activations,
    see :data:`fastga.registry.ACTIVATION_EXPORT`; a missing bias counts as
    zeros), followed optionally by ``Activation`` (one of those names), the
    layer an activation is exported as where Keras' function differs from
    fastga's (``LeakyReLU`` with negative slope 0.01), ``ReLU`` (plain) or
    ``Softmax`` (last axis); ``InputLayer`` and ``Dropout`` (no-ops at
    inference) are skipped. Models written by
    :func:`fastga.export.keras.to_keras` qualify.

    Raises
    ------
    ValueError
        A layer fastga cannot represent (message starts with ``model``).
    """
    layers = getattr(model, "layers", None)
    if layers is None:
        raise TypeError(f"model: expected a Keras model, got {type(model).__name__}")
    weights, acts = [], []

    def set_activation(name, layer):
        if not weights:
            raise ValueError(f"model: layer {layer.name!r} ({_keras_layer_kind(layer)}) comes before any Dense layer")
        if acts[-1] != "linear":
            raise ValueError(f"model: layer {layer.name!r} stacks a second activation on a Dense layer")
        acts[-1] = name

    for layer in layers:
        kind = _keras_layer_kind(layer)
        if kind in ("InputLayer", "Dropout"):
            continue
        if kind == "Dense":
            params = layer.get_weights()
            W = np.asarray(params[0], dtype=np.float32)
            b = (np.asarray(params[1], dtype=np.float32) if len(params) > 1
                 else np.zeros(W.shape[1], np.float32))
            act = _keras_function(layer.activation, layer)
            if weights and weights[-1][0].shape[1] != W.shape[0]:
                raise ValueError(f"model: Dense layer {layer.name!r} takes {W.shape[0]} inputs but "
                                 f"the previous layer gives {weights[-1][0].shape[1]}")
            weights.append((W, b))
            acts.append(act)
        elif kind == "Activation":
            set_activation(_keras_function(layer.activation, layer), layer)
        elif kind in _KERAS_LAYERS:
            set_activation(_keras_activation_layer(layer, kind), layer)
        elif kind == "ReLU":
            cfg = layer.get_config()
            if cfg.get("max_value") is not None or cfg.get("negative_slope", 0) or cfg.get("threshold", 0):
                raise ValueError(f"model: ReLU layer {layer.name!r} is not a plain relu")
            set_activation("relu", layer)
        elif kind == "Softmax":
            axis = layer.get_config().get("axis", -1)
            if axis not in (-1, [-1], 1, [1]):
                raise ValueError(f"model: Softmax layer {layer.name!r} is not over the last axis")
            set_activation("softmax", layer)
        else:
            raise ValueError(f"model: layer {layer.name!r} of type {kind} is not supported "
                             "(only Dense layers and activations)")
    if not weights:
        raise ValueError("model: has no Dense layer")
    spec = NetworkSpec([weights[0][0].shape[0]] + [W.shape[1] for W, _ in weights], acts)
    return Network(spec, spec.flatten(weights))


def _as_network(source):
    if isinstance(source, Network):
        return source
    if hasattr(source, "layers") and hasattr(source, "get_weights"):
        return from_keras(source)
    from .export.keras import as_network

    return as_network(source)


def seed_population(source, size, sigma=0.05, random_state=None):
    """A population drawn around a trained network.

    Parameters
    ----------
    source : Network, Keras model or fitted estimator
        The network to start from (see :func:`from_keras`).
    size : int
        Number of individuals, at least 1.
    sigma : float, default=0.05
        Standard deviation of the gaussian noise added to every weight and
        bias of individuals ``1 .. size-1`` (0: identical copies).
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    Population
        ``genomes[0]`` equals the source network exactly.
    """
    size = check_int(size, "size", minimum=1)
    sigma = float(check_positive(sigma, "sigma", allow_zero=True))
    net = _as_network(source)
    seed = resolve_seed(random_state)
    genomes = np.empty((size, net.spec.n_params), dtype=np.float32)
    perturb_rows(genomes, np.ascontiguousarray(net.genome, dtype=np.float32), np.uint64(seed),
                 sigma, 1)
    return Population(net.spec, genomes)
