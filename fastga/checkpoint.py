"""Read any fastga checkpoint: ``load(path)`` picks the class from the file.

Each class writes and reads its own checkpoints (:meth:`Population.save`,
:meth:`GeneticAlgorithm.save`, :meth:`GeneticMLPClassifier.save`, ...), on
the common file layer of :mod:`fastga.fileio`: one ``.npz``, written
atomically, numeric arrays only, a JSON header with a SHA-256 of every
array, and a checkpoint version checked on load. An algorithm's checkpoint
holds everything needed to go on bit-identically; every random draw of a run
is a counter-based function of ``(seed, generation, individual, purpose)``,
so no generator state is saved. This module only dispatches on the file's
``kind``; no class imports it.

Examples
--------
>>> import numpy as np, os, tempfile
>>> from fastga import GeneticAlgorithm, checkpoint
>>> X = np.linspace(-1, 1, 16, dtype=np.float32)[:, None]
>>> fit = lambda pop: -((pop.forward(X)[:, :, 0] - X[:, 0]) ** 2).mean(axis=1)
>>> ga = GeneticAlgorithm([1, 4, 1], pop_size=10, random_state=0).run(fit, 2)
>>> path = os.path.join(tempfile.mkdtemp(), "run.npz")
>>> _ = ga.save(path)
>>> checkpoint.load(path).run(fit, 2).population_.generation
4
"""

from __future__ import annotations

import json

import numpy as np

from .estimators import KIND_ESTIMATOR, load_estimator
from .fileio import FileFormatError, load_npz
from .ga import GeneticAlgorithm
from .population import FILE_KIND as KIND_POPULATION
from .population import Population

__all__ = ["FileFormatError", "load"]

#: File kind -> reader.
READERS = {
    KIND_POPULATION: Population.load,
    "ga": GeneticAlgorithm.load,
    KIND_ESTIMATOR: load_estimator,
}


def load(path):
    """Read any fastga checkpoint: a Population, a GeneticAlgorithm or an estimator.

    Raises
    ------
    fastga.fileio.FileFormatError
        The file is corrupt, truncated, of a newer version or not a checkpoint.
    """
    load_npz(path)  # verifies the whole file first
    try:
        with np.load(path, allow_pickle=False) as data:
            kind = json.loads(bytes(data["__header__"]).decode("utf-8")).get("kind")
    except (OSError, ValueError, KeyError) as exc:  # the file changed under us
        raise FileFormatError(f"{str(path)!r} cannot be read: {exc}") from None
    if kind not in READERS:
        raise FileFormatError(f"{str(path)!r} holds a {kind!r}, not a checkpoint")
    return READERS[kind](path)
