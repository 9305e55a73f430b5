"""Plain parameter vectors: the layout of black-box optimisation.

``spec`` may be an int ``n`` wherever an algorithm or a
:class:`~fastga.Population` takes a layout: the genomes are then plain
vectors of ``n`` float32 parameters, with no network to run. The fitness
reads ``population.genomes`` (shape ``(P, n)``) directly.

For the kernels a :class:`VectorSpec` is one layer of ``n`` neurons without
inputs: each parameter is the "bias" of its own neuron, so the GA's
neuron-wise crossover acts gene by gene and the initialisation draws every
parameter (see :func:`fastga.kernels.init.init_genomes`).
"""

from __future__ import annotations

import numbers

import numpy as np

from .spec import NetworkSpec
from .validation import check_int

__all__ = ["VectorSpec", "as_spec", "spec_from_dict"]


class VectorSpec:
    """A plain vector of ``n_params`` float32 parameters.

    Parameters
    ----------
    n_params : int
        Length of every genome, at least 1.

    Attributes
    ----------
    n_params : int
    sizes_array, w_offsets, b_offsets : ndarray of int64
        The kernels' layout: one layer of ``n_params`` neurons with no inputs.

    Examples
    --------
    >>> VectorSpec(5).n_params
    5
    """

    def __init__(self, n_params):
        self.n_params = check_int(n_params, "spec", minimum=1)
        self.sizes_array = np.asarray([0, self.n_params], dtype=np.int64)
        self.w_offsets = np.zeros(1, dtype=np.int64)
        self.b_offsets = np.zeros(1, dtype=np.int64)

    def _no_network(self):
        return TypeError(f"{self!r} is a plain vector, not a network: forward(), losses(), "
                         "evaluate(), network(), best_network() and inputs= need a NetworkSpec")

    @property
    def n_inputs(self):
        raise self._no_network()

    @property
    def n_outputs(self):
        raise self._no_network()

    def check_genome(self, genome, name="genome"):
        """Validate one genome and return it as float32."""
        genome = np.asarray(genome)
        if genome.ndim != 1 or genome.shape[0] != self.n_params:
            raise ValueError(f"{name}: expected a vector of {self.n_params} parameters, "
                             f"got shape {genome.shape}")
        return np.ascontiguousarray(genome, dtype=np.float32)

    def to_dict(self):
        return {"vector": self.n_params}

    @classmethod
    def from_dict(cls, d):
        if not isinstance(d, dict) or "vector" not in d:
            raise ValueError("spec: expected a dict with 'vector'")
        return cls(d["vector"])

    def __eq__(self, other):
        return isinstance(other, VectorSpec) and self.n_params == other.n_params

    def __hash__(self):
        return hash(("vector", self.n_params))

    def __repr__(self):
        return f"VectorSpec({self.n_params})"


def as_spec(spec):
    """``spec`` as a :class:`VectorSpec` (an int or a VectorSpec) or a
    :class:`~fastga.NetworkSpec` (anything ``NetworkSpec`` accepts)."""
    if isinstance(spec, (VectorSpec, NetworkSpec)):
        return spec
    if isinstance(spec, numbers.Integral) and not isinstance(spec, (bool, np.bool_)):
        return VectorSpec(spec)
    return NetworkSpec(spec)


def spec_from_dict(d):
    """The spec of a ``to_dict()`` of either kind."""
    if isinstance(d, dict) and "vector" in d:
        return VectorSpec.from_dict(d)
    return NetworkSpec.from_dict(d)
