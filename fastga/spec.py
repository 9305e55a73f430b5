"""Network specifications: layer sizes, activations and the genome offset table.

A genome is one flat float32 vector holding, layer after layer, the weight
matrix ``W`` (``n_in x n_out``, row-major) followed by the bias ``b``
(``n_out``). :class:`NetworkSpec` computes where each of them lies.
"""

from __future__ import annotations

import json
from types import MappingProxyType

import numpy as np

from .registry import Activation, names

__all__ = ["ACTIVATIONS", "NetworkSpec", "activation_code", "activation_name"]

#: Activation names and their codes (:class:`fastga.registry.Activation`), in code order.
ACTIVATIONS = MappingProxyType({name: int(Activation[name.upper()]) for name in names(Activation)})

_ALIASES = {"identity": "linear", "none": "linear", None: "linear", "logistic": "sigmoid"}


def activation_code(act, name="activation"):
    """Return the kernel code of an activation given by name, code or callable.

    Parameters
    ----------
    act : str, int, None or callable
        A name from :data:`ACTIVATIONS`, its integer code, ``None`` (linear),
        or a callable whose ``__name__`` is such a name (e.g. Keras'
        ``activations.sigmoid``, as the GA-GAN reference passes).
    name : str, default="activation"
        Argument name that error messages start with.

    Returns
    -------
    int
    """
    if isinstance(act, (int, np.integer)) and not isinstance(act, bool):
        try:
            return int(Activation(int(act)))
        except ValueError:
            raise ValueError(f"{name}: unknown activation code {act!r}") from None
    if callable(act):
        act = getattr(act, "__name__", repr(act))
    key = act.lower() if isinstance(act, str) else act
    key = _ALIASES.get(key, key)
    if key not in ACTIVATIONS:
        raise ValueError(
            f"{name}: unknown activation {act!r}; expected one of {sorted(ACTIVATIONS)}"
        )
    return ACTIVATIONS[key]


def activation_name(code):
    """The name of an activation code (``activation_name(1) == "relu"``)."""
    return Activation(code).name.lower()


class NetworkSpec:
    """Layer sizes and activations of a fully connected network.

    Parameters
    ----------
    layer_sizes : sequence of int or sequence of [in, out, activation]
        Either the sizes ``[n_in, h1, ..., n_out]`` (then ``activations``
        gives one activation per layer), or the reference list form
        ``[[n_in, h1, act], [None, h2, act], ...]`` where ``None`` means "the
        previous layer's output size".
    activations : str or sequence of str, optional
        One activation per layer (``len(layer_sizes) - 1`` of them), or a
        single name used for every layer. Default: ``relu`` for hidden layers
        and ``linear`` for the output layer.

    Attributes
    ----------
    sizes : tuple of int
        ``(n_in, h1, ..., n_out)``.
    activations : tuple of str
        One name per layer.
    w_offsets, b_offsets : ndarray of int64
        Start of each layer's weight matrix and bias inside a genome.
    n_params : int
        Length of a genome.

    Examples
    --------
    >>> spec = NetworkSpec([64, 32, 10], ["relu", "softmax"])
    >>> spec.n_params
    2410
    >>> NetworkSpec([[100, 100, "sigmoid"], [None, 784, "sigmoid"]]).sizes
    (100, 100, 784)
    """

    def __init__(self, layer_sizes, activations=None):
        sizes, acts = _parse(layer_sizes, activations)
        self.sizes = tuple(sizes)
        self.activations = tuple(activation_name(activation_code(a, "activations")) for a in acts)
        w_off, b_off, pos = [], [], 0
        for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:]):
            w_off.append(pos)
            pos += n_in * n_out
            b_off.append(pos)
            pos += n_out
        self.w_offsets = np.asarray(w_off, dtype=np.int64)
        self.b_offsets = np.asarray(b_off, dtype=np.int64)
        self.n_params = int(pos)
        # Arrays handed to the kernels.
        self.sizes_array = np.asarray(self.sizes, dtype=np.int64)
        self.act_codes = np.asarray([ACTIVATIONS[a] for a in self.activations], dtype=np.int64)

    # ------------------------------------------------------------------ info
    @property
    def n_layers(self):
        """Number of weight layers."""
        return len(self.sizes) - 1

    @property
    def n_inputs(self):
        return self.sizes[0]

    @property
    def n_outputs(self):
        return self.sizes[-1]

    @property
    def max_width(self):
        return max(self.sizes)

    def layer_slices(self, layer):
        """Return ``(w_slice, b_slice, (n_in, n_out))`` of one layer."""
        if not 0 <= layer < self.n_layers:
            raise IndexError(f"layer: {layer} is not in [0, {self.n_layers})")
        n_in, n_out = self.sizes[layer], self.sizes[layer + 1]
        w0, b0 = int(self.w_offsets[layer]), int(self.b_offsets[layer])
        return slice(w0, w0 + n_in * n_out), slice(b0, b0 + n_out), (n_in, n_out)

    def unflatten(self, genome):
        """Split one genome into a list of ``(W, b)`` views."""
        genome = self.check_genome(genome, "genome")
        out = []
        for layer in range(self.n_layers):
            ws, bs, shape = self.layer_slices(layer)
            out.append((genome[ws].reshape(shape), genome[bs]))
        return out

    def flatten(self, weights):
        """Build a genome from a list of ``(W, b)`` pairs (inverse of :meth:`unflatten`)."""
        if len(weights) != self.n_layers:
            raise ValueError(f"weights: expected {self.n_layers} (W, b) pairs, got {len(weights)}")
        genome = np.empty(self.n_params, dtype=np.float32)
        for layer, (w, b) in enumerate(weights):
            ws, bs, shape = self.layer_slices(layer)
            w = np.asarray(w, dtype=np.float32)
            b = np.asarray(b, dtype=np.float32).reshape(-1)
            if w.shape != shape or b.shape != (shape[1],):
                raise ValueError(
                    f"weights: layer {layer} expects W {shape} and b ({shape[1]},), "
                    f"got {w.shape} and {b.shape}"
                )
            genome[ws] = w.reshape(-1)
            genome[bs] = b
        return genome

    def check_genome(self, genome, name="genome"):
        """Validate one genome against this spec and return it as float32."""
        genome = np.asarray(genome)
        if genome.ndim != 1 or genome.shape[0] != self.n_params:
            raise ValueError(
                f"{name}: expected a vector of {self.n_params} parameters for {self!r}, "
                f"got shape {genome.shape}"
            )
        return np.ascontiguousarray(genome, dtype=np.float32)

    # --------------------------------------------------------- (de)serialise
    def to_dict(self):
        return {"sizes": list(self.sizes), "activations": list(self.activations)}

    #: Limits on a spec read from a file (:meth:`from_dict`): wider layers or
    #: larger genomes are taken as a corrupt or tampered header.
    MAX_FILE_LAYER_SIZE = 2**24
    MAX_FILE_PARAMS = 2**31 - 1

    @classmethod
    def from_dict(cls, d):
        """The spec of :meth:`to_dict`'s output, as read from a file header.

        A header is not covered by a file's checksum, so its sizes are capped
        before anything is computed from them: each layer at most
        :attr:`MAX_FILE_LAYER_SIZE` wide and at most :attr:`MAX_FILE_PARAMS`
        parameters in all. Loaders then compare the spec with the arrays the
        file holds and turn a mismatch into ``FileFormatError``.
        """
        if not isinstance(d, dict) or "sizes" not in d or "activations" not in d:
            raise ValueError("spec: expected a dict with 'sizes' and 'activations'")
        sizes = d["sizes"]
        if not isinstance(sizes, (list, tuple)) or not all(
                isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in sizes):
            raise ValueError(f"spec: 'sizes' must be a list of ints, got {str(sizes)[:200]}")
        sizes = [int(v) for v in sizes]
        if sizes and max(sizes) > cls.MAX_FILE_LAYER_SIZE:
            raise ValueError(f"spec: a layer of {max(sizes)} units exceeds the limit of "
                             f"{cls.MAX_FILE_LAYER_SIZE} for a spec read from a file")
        n_params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
        if n_params > cls.MAX_FILE_PARAMS:
            raise ValueError(f"spec: {n_params} parameters exceed the limit of "
                             f"{cls.MAX_FILE_PARAMS} for a spec read from a file")
        return cls(list(sizes), list(d["activations"]))

    def to_json(self):
        return json.dumps(self.to_dict())

    def __eq__(self, other):
        return (
            isinstance(other, NetworkSpec)
            and self.sizes == other.sizes
            and self.activations == other.activations
        )

    def __hash__(self):
        return hash((self.sizes, self.activations))

    def __repr__(self):
        return f"NetworkSpec({list(self.sizes)}, {list(self.activations)})"


def _check_size(v, where):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"layer_sizes: {where} must be an int, got {v!r}")
    if v < 1:
        raise ValueError(f"layer_sizes: {where} must be >= 1, got {v}")
    return int(v)


def _parse(layer_sizes, activations):
    if isinstance(layer_sizes, NetworkSpec):
        return list(layer_sizes.sizes), list(layer_sizes.activations)
    try:
        items = list(layer_sizes)
    except TypeError:
        raise TypeError(f"layer_sizes: expected a sequence, got {layer_sizes!r}") from None
    if items and all(isinstance(it, (list, tuple)) for it in items):
        # Reference form: [[in, out, act], [None, out, act], ...]
        if activations is not None:
            raise ValueError("activations: give them inside the [in, out, act] list form, not both")
        sizes, acts = [], []
        for i, it in enumerate(items):
            if len(it) != 3:
                raise ValueError(f"layer_sizes: layer {i} must be [in, out, activation], got {it!r}")
            n_in, n_out, act = it
            if i == 0:
                if n_in is None:
                    raise ValueError("layer_sizes: the first layer needs an input size")
                sizes.append(_check_size(n_in, "layer 0 input size"))
            elif n_in is not None and n_in != sizes[-1]:
                raise ValueError(
                    f"layer_sizes: layer {i} input size {n_in} does not match the previous output {sizes[-1]}"
                )
            sizes.append(_check_size(n_out, f"layer {i} output size"))
            acts.append(act)
        return sizes, acts
    if len(items) < 2:
        raise ValueError(f"layer_sizes: need at least an input and an output size, got {items!r}")
    sizes = [_check_size(v, f"entry {i}") for i, v in enumerate(items)]
    n_layers = len(sizes) - 1
    if activations is None:
        acts = ["relu"] * (n_layers - 1) + ["linear"]
    elif isinstance(activations, str) or callable(activations):
        acts = [activations] * n_layers
    else:
        acts = list(activations)
        if len(acts) != n_layers:
            raise ValueError(
                f"activations: expected {n_layers} activations (one per layer), got {len(acts)}"
            )
    return sizes, acts
