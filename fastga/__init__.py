"""fastga: fast neuroevolution on multi-core CPUs.

A population of networks lives in one contiguous float32 array; Numba
kernels run the batched forward pass, crossover and mutation in place, and a
thin Python driver does the selection.
"""

from ._version import __version__
from .algorithm import Algorithm
from .compilation import compile_ahead
from .es import PGPE, SNES, OpenES, SepCMAES
from .fitness import SupervisedFitness
from .ga import GAState, GeneticAlgorithm
from .history import History
from .network import Network
from .population import Population
from .settings import GASettings
from .spec import ACTIVATIONS, NetworkSpec
from .vector import VectorSpec

__all__ = [
    "ACTIVATIONS",
    "Algorithm",
    "GASettings",
    "GAState",
    "GeneticAlgorithm",
    "GeneticMLPClassifier",
    "GeneticMLPRegressor",
    "History",
    "Network",
    "NetworkSpec",
    "OpenES",
    "PGPE",
    "SNES",
    "SepCMAES",
    "Population",
    "SupervisedFitness",
    "VectorSpec",
    "__version__",
    "compile_ahead",
    "to_keras",
    "to_onnx",
]


def __getattr__(name):
    # Estimators import lazily so that `import fastga` stays light.
    if name in ("GeneticMLPClassifier", "GeneticMLPRegressor"):
        from . import estimators

        return getattr(estimators, name)
    if name == "to_keras":
        from .export.keras import to_keras

        return to_keras
    if name == "to_onnx":
        from .export.onnx import to_onnx

        return to_onnx
    raise AttributeError(f"module 'fastga' has no attribute {name!r}")
