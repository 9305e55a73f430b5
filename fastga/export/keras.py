"""Keras export: a ``keras.Sequential`` of ``Dense`` layers equal to a fastga network.

TensorFlow/Keras is imported inside the functions only, so importing this
module costs nothing and fastga runs without TensorFlow.
"""

from __future__ import annotations

import os

import numpy as np

from ..network import Network
from ..registry import ACTIVATION_EXPORT, Activation
from ..spec import NetworkSpec

__all__ = ["to_keras", "save_keras", "as_network"]


def _import_keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter quiet
    try:
        import keras  # Keras 3 (TensorFlow >= 2.16)
    except ImportError:
        try:
            from tensorflow import keras
        except ImportError:
            raise ImportError(
                "to_keras needs TensorFlow: pip install 'fastga[gan]' (or tensorflow-cpu)"
            ) from None
    return keras


def as_network(network, genome=None):
    """A :class:`~fastga.Network` from a Network, a spec and genome, or a fitted estimator.

    Accepts a ``Network``; a ``NetworkSpec`` (or anything it accepts) with
    ``genome``; or an object with a ``best_network_`` attribute (the
    GeneticMLP estimators, :class:`~fastga.search.ArchitectureSearch`).
    """
    if genome is not None:
        spec = network if isinstance(network, NetworkSpec) else NetworkSpec(network)
        return Network(spec, genome)
    if isinstance(network, Network):
        return network
    best = getattr(network, "best_network_", None)
    if isinstance(best, Network):
        return best
    if hasattr(network, "spec") and hasattr(network, "genome"):
        return Network(network.spec, network.genome)
    raise TypeError(
        f"network: expected a fastga Network, a spec with genome=..., or a fitted estimator, "
        f"got {type(network).__name__}"
    )


def to_keras(network, path=None, *, genome=None, dropout=None, name=None):
    """Build a ``keras.Sequential`` equal to ``network``.

    Parameters
    ----------
    network : Network, NetworkSpec or fitted estimator
        See :func:`as_network`.
    path : str or os.PathLike, optional
        Also save the model there (see :func:`save_keras`).
    genome : array-like, optional
        The weights when ``network`` is a spec.
    dropout : float, optional
        Insert a ``Dropout`` layer with this rate after the first layer
        (inactive at inference, so predictions are unchanged; useful to
        continue training in Keras).
    name : str, optional
        Model name.

    Returns
    -------
    keras.Sequential
        Its ``predict`` equals :meth:`Network.predict` within 1e-5.
    """
    net = as_network(network, genome)
    keras = _import_keras()
    spec = net.spec
    layers = [keras.Input(shape=(spec.n_inputs,), dtype="float32")]
    dense = []
    for li, ((W, b), act) in enumerate(zip(net.weights, spec.activations)):
        export = ACTIVATION_EXPORT[Activation[act.upper()]]
        if export.keras_layer is not None:  # Keras' function differs: a linear Dense and a layer
            cls, kwargs = export.keras_layer
            d = keras.layers.Dense(W.shape[1], activation="linear", name=f"dense_{li}")
            layers += [d, getattr(keras.layers, cls)(**dict(kwargs), name=f"{act}_{li}")]
        else:
            d = keras.layers.Dense(W.shape[1], activation=export.keras, name=f"dense_{li}")
            layers.append(d)
        dense.append((d, W, b))
        if li == 0 and dropout and spec.n_layers > 1:
            layers.append(keras.layers.Dropout(float(dropout), name="dropout"))
    model = keras.Sequential(layers, name=name or "fastga_network")
    for d, W, b in dense:
        d.set_weights([np.asarray(W, dtype=np.float32), np.asarray(b, dtype=np.float32)])
    if path is not None:
        save_keras(model, path)
    return model


def save_keras(network, path, **kwargs):
    """Write ``network`` (a fastga network or a Keras model) to ``path`` atomically.

    The format follows the suffix: ``.keras`` (Keras 3 zip) or ``.h5``
    (legacy HDF5). The model goes to a temporary file in the same folder,
    which is then renamed over ``path``.

    Returns
    -------
    str
        ``path``.
    """
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in (".keras", ".h5"):
        raise ValueError(f"path: must end in .keras or .h5, got {path!r}")
    keras = _import_keras()
    model = network if isinstance(network, keras.Model) else to_keras(network, **kwargs)
    from ..fileio import atomic_path

    with atomic_path(path) as tmp:
        model.save(tmp)
    return path
