"""A single evolved network: a spec and one genome, and its file format."""

from __future__ import annotations

import numpy as np

from .evaluation import Workspace, forward_rows
from .fileio import array_field, build_checked, load_npz, require, save_npz
from .spec import NetworkSpec
from .validation import check_X

__all__ = ["Network"]


class Network:
    """One fully connected network, e.g. the best of a population.

    Parameters
    ----------
    spec : NetworkSpec or sequence
    genome : array-like of shape (spec.n_params,)

    Examples
    --------
    >>> net = Network([2, 3, 1], np.zeros(13, dtype=np.float32))
    >>> net.predict(np.ones((4, 2))).shape
    (4, 1)
    """

    def __init__(self, spec, genome):
        self.spec = spec if isinstance(spec, NetworkSpec) else NetworkSpec(spec)
        self.genome = self.spec.check_genome(genome).copy()
        self._ws = Workspace()

    @property
    def weights(self):
        """List of ``(W, b)`` per layer (views into :attr:`genome`)."""
        return self.spec.unflatten(self.genome)

    def predict(self, X):
        """Network outputs, float32 of shape (n_samples, n_outputs)."""
        X = check_X(X, self.spec.n_inputs)
        g = self.genome.reshape(1, -1)
        return forward_rows(self.spec, g, np.zeros(1, dtype=np.int64), X, self._ws)[0]

    def save(self, path, meta=None):
        """Write the network to ``path`` (.npz, atomic, no pickle).

        The file holds ``sizes`` (int64), ``activations`` (as a JSON header
        entry) and one ``W{i}``/``b{i}`` array per layer, so it can be read
        with NumPy alone (see the README's standalone ``predict``).
        """
        arrays = {"sizes": np.asarray(self.spec.sizes, dtype=np.int64)}
        for i, (w, b) in enumerate(self.weights):
            arrays[f"W{i}"] = w
            arrays[f"b{i}"] = b
        info = {"spec": self.spec.to_dict(), "activations": list(self.spec.activations)}
        info.update(meta or {})
        return save_npz(path, "network", arrays, info)

    @classmethod
    def load(cls, path):
        """Read a network written by :meth:`save`.

        The spec in the header is checked against the arrays present (the
        ``sizes`` array, one ``W{i}`` of shape (n_in, n_out) and one ``b{i}``
        of shape (n_out,) per layer, float32, nothing else) before the genome
        is built, so a file whose header claims more than it holds is refused
        without allocating.

        Raises
        ------
        fastga.fileio.FileFormatError
            The file is corrupt, truncated, of another kind, of a newer
            version, or its spec does not match its arrays.
        """
        arrays, meta = load_npz(path, kind="network")
        net = build_checked(path, "network", cls._from_payload, arrays, meta)
        net.meta = meta
        return net

    @classmethod
    def _from_payload(cls, arrays, meta):
        spec = NetworkSpec.from_dict(meta["spec"])
        sizes = array_field(arrays, "sizes", np.int64, 1)
        require(tuple(sizes.tolist()) == spec.sizes,
                f"array 'sizes' is {sizes.tolist()} but the spec says {list(spec.sizes)}")
        weights = []
        for i in range(spec.n_layers):
            n_in, n_out = spec.sizes[i], spec.sizes[i + 1]
            weights.append((array_field(arrays, f"W{i}", np.float32, 2, (n_in, n_out)),
                            array_field(arrays, f"b{i}", np.float32, 1, (n_out,))))
        extra = set(arrays) - {"sizes"} - {f"{p}{i}" for p in "Wb" for i in range(spec.n_layers)}
        require(not extra, f"unexpected arrays {sorted(extra)}")
        return cls(spec, spec.flatten(weights))

    def __repr__(self):
        return f"Network({self.spec!r})"
