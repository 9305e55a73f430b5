"""Architecture and hyperparameter search (evolved traits, networks trained by SGD kernels).

See :class:`ArchitectureSearch`.
"""

from .search import ArchitectureSearch
from .data import DataSplit, create_data, make_splits, split_data
from .traits import TRAIT_NAMES, TraitBounds, Traits, breed, layer_func, mutate, randomize
from .trainer import TrainingResult, train_candidates

__all__ = [
    "ArchitectureSearch",
    "DataSplit",
    "TRAIT_NAMES",
    "TraitBounds",
    "Traits",
    "TrainingResult",
    "breed",
    "create_data",
    "layer_func",
    "make_splits",
    "mutate",
    "randomize",
    "split_data",
    "train_candidates",
]
