"""The GeneticMLP classifier's evolution as an island model (the task behind
``fastga digits --islands N``).

This is the task layer: it builds and runs the :class:`IslandModel` and picks
the final network. Parsing arguments, printing and saving results belong to
the command, :mod:`fastga.commands.digits`, which imports this module.
"""

from __future__ import annotations

import functools

import numpy as np

from ..fitness import SupervisedFitness
from ..network import Network
from ..population import Population
from ..settings import GASettings
from .model import IslandModel

__all__ = ["evolve_on_islands", "final_pick"]

def final_pick(spec, populations, X, y):
    """The network with the lowest cross-entropy on ``(X, y)`` among all final populations.

    The single-process estimator picks the best of its final population on
    the whole training set; this is the same rule over the union of the
    islands' populations. Returns ``(network, loss)``.
    """
    genomes = np.concatenate([g for g, _ in populations], axis=0)
    loss, _ = Population(spec, genomes).losses(X, y, "cross_entropy")
    loss = np.where(np.isfinite(loss), loss, np.inf)
    best = int(np.argmin(loss))
    return Network(spec, genomes[best]), float(loss[best])


def evolve_on_islands(classifier, n_islands, X, y, generations, n_classes=None, **model_options):
    """Evolve ``classifier``'s networks on ``n_islands`` islands, then pick the best.

    Parameters
    ----------
    classifier : GeneticMLPClassifier
        Its settings run on every island; its ``pop_size`` is an island's
        size and its ``random_state`` seeds the model and the fitness.
    n_islands : int
    X, y : training data (float32 features, integer labels ``0 .. n_classes - 1``)
    generations : int
    n_classes : int, optional
        Default ``max(y) + 1``.
    **model_options
        Passed to :class:`IslandModel` (``migration_every``, ``n_migrants``,
        ``topology``, ``num_cpus``, ``address``, ``checkpoint_every``,
        ``checkpoint_seconds``, ``verbose``).

    Returns
    -------
    (IslandModel, Network)
        The model after the run and the final pick (:func:`final_pick`).
    """
    n_classes = int(np.max(y)) + 1 if n_classes is None else int(n_classes)
    spec = classifier.network_spec(X.shape[1], n_classes)
    model = IslandModel(spec, n_islands=n_islands, pop_size=classifier.pop_size,
                        ga=GASettings.from_params(classifier), random_state=classifier.random_state,
                        **model_options)
    factory = functools.partial(SupervisedFitness, X, y, "cross_entropy", classifier.batch_size,
                                classifier.random_state, n_classes)
    model.run(factory, generations)
    network, _ = final_pick(spec, model.populations_, X, y)
    return model, network
