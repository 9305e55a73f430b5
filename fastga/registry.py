"""The codes shared by the kernels and the Python side: one registry per kind.

Each kind of code is one :class:`enum.IntEnum` here, and nowhere else:

- :class:`Activation`: the layers' activations (and :data:`ACTIVATION_EXPORT`,
  how the Keras and ONNX exporters write each);
- :class:`Metric`: what a fused fitness kernel scores;
- :class:`Crossover`: the crossover kinds of the breeding kernel;
- :class:`Mutation`: the mutation kinds (the order of ``type_probs``);
- :class:`Init`: genome initialisation schemes;
- :class:`Purpose`: the purposes of the counter-based random streams.

Numba reads an ``IntEnum`` member in a kernel as a compile-time constant, so
``if act == Activation.RELU:`` costs nothing at run time. The Python side
turns names into codes with :func:`code_of` (lower-case names). Every enum is
``@unique``: two purposes can never share a number, so two random streams
never overlap (``tests/test_registry.py`` checks it again).

This module imports nothing of fastga: it sits below the kernels.
"""

from __future__ import annotations

from enum import IntEnum, unique
from typing import NamedTuple

__all__ = ["Activation", "Metric", "Crossover", "Mutation", "Init", "Purpose", "LEAKY_SLOPE",
           "ActivationExport", "OnnxStep", "ONNX_INPUT", "ACTIVATION_EXPORT", "code_of", "names"]

#: Negative slope of ``leaky_relu`` (the same in every kernel and export).
LEAKY_SLOPE = 0.01


@unique
class Activation(IntEnum):
    """Activations of a layer (``NetworkSpec(..., activations=[...])``).

    Adding one: a member here, a row of :data:`ACTIVATION_EXPORT`, its math
    in :mod:`fastga.kernels.activations` (the block function of the forward
    pass, the training forward and backward), its NumPy references in
    ``tests/naive.py`` and ``tests/naive_training.py``, and a line of the
    NumPy ``predict`` in the README. ``tests/test_registry.py`` fails until
    every one of them is there.
    """

    LINEAR = 0
    RELU = 1
    LEAKY_RELU = 2
    SIGMOID = 3
    TANH = 4
    SOFTMAX = 5
    GELU = 6


class OnnxStep(NamedTuple):
    """One ONNX node of an activation: ``op(previous, *args)`` with ``attrs``.

    ``previous`` is the output of the step before (the layer's
    pre-activation for the first step). Each of ``args`` is a float (a
    float32 scalar constant) or :data:`ONNX_INPUT`, the layer's
    pre-activation itself.
    """

    op: str
    args: tuple = ()
    attrs: tuple = ()  # (name, value) pairs


#: The ``args`` entry of an :class:`OnnxStep` that stands for the layer's pre-activation.
ONNX_INPUT = "x"


class ActivationExport(NamedTuple):
    """How an activation is written in Keras and ONNX.

    Attributes
    ----------
    keras : str
        The Keras activation of that name (``Dense(activation=keras)``,
        ``Activation(keras)``), equal to fastga's.
    keras_layer : tuple or None
        ``(class name, ((argument, value), ...))`` where Keras' function of
        that name differs from fastga's (its default parameters): the export
        writes a linear ``Dense`` and that layer, and seeding accepts the
        layer with those values only, and refuses the function.
    onnx : tuple of OnnxStep
        The nodes after ``Add(MatMul(x, W), b)``, in order (none: linear).
    """

    keras: str
    keras_layer: tuple | None
    onnx: tuple


#: One row per :class:`Activation`: what the Keras and ONNX exporters write
#: and what seeding reads back from Keras.
ACTIVATION_EXPORT = {
    Activation.LINEAR: ActivationExport("linear", None, ()),
    Activation.RELU: ActivationExport("relu", None, (OnnxStep("Relu"),)),
    Activation.LEAKY_RELU: ActivationExport(
        "leaky_relu", ("LeakyReLU", (("negative_slope", LEAKY_SLOPE),)),
        (OnnxStep("LeakyRelu", attrs=(("alpha", LEAKY_SLOPE),)),)),
    Activation.SIGMOID: ActivationExport("sigmoid", None, (OnnxStep("Sigmoid"),)),
    Activation.TANH: ActivationExport("tanh", None, (OnnxStep("Tanh"),)),
    Activation.SOFTMAX: ActivationExport("softmax", None,
                                         (OnnxStep("Softmax", attrs=(("axis", -1),)),)),
    # Keras' gelu is the exact form (approximate=False). ONNX's Gelu operator
    # needs opset 20: 0.5 x (1 + erf(x / sqrt 2)) from opset-13 operators.
    Activation.GELU: ActivationExport("gelu", None, (
        OnnxStep("Mul", (0.7071067811865476,)), OnnxStep("Erf"), OnnxStep("Add", (1.0,)),
        OnnxStep("Mul", (ONNX_INPUT,)), OnnxStep("Mul", (0.5,)))),
}


@unique
class Metric(IntEnum):
    """What :class:`fastga.SupervisedFitness` and ``Population.losses`` score."""

    CROSS_ENTROPY = 0
    ACCURACY = 1
    MSE = 2


@unique
class Crossover(IntEnum):
    """Crossover kinds of the breeding kernel (``none``: children copy their first parent)."""

    NEURON = 0
    SINGLE_POINT = 1
    UNIFORM = 2
    NONE = 3


@unique
class Mutation(IntEnum):
    """Mutation kinds, in the order of ``type_probs``."""

    SHIFT = 0
    SIGN = 1
    SWAP = 2
    GAUSSIAN = 3


@unique
class Init(IntEnum):
    """Genome initialisation schemes (``Population.random(..., init=...)``)."""

    UNIFORM = 0
    NORMAL = 1
    GLOROT = 2


@unique
class Purpose(IntEnum):
    """Purposes of the random streams ``(seed, generation, individual, purpose)``.

    Each random decision of fastga has its own purpose, so no two kinds of
    decision ever read the same stream. Numbers are part of a run's identity:
    changing one changes the runs that use it, so new purposes take new numbers.
    """

    INIT = 1
    CROSSOVER = 2
    MUTATION = 3
    SELECTION = 4
    BATCH = 5
    USER = 6
    ARCH_INIT = 7
    SHUFFLE = 8
    DROPOUT = 9
    DATA = 31
    SPLIT = 37
    LATENT = 32
    REAL = 33
    FAKE_PICK = 34
    QUALITY = 35
    SPREAD = 36
    GRADIENT = 38
    COVERAGE = 39
    TRAITS = 41
    VALSPLIT = 42
    ISLAND_SEED = 51
    MIGRATION = 52
    SEEDING = 61
    ES_NOISE = 71
    ES_SAMPLE = 72
    ENV_RESET = 81
    ENV_SEED = 82


def code_of(enum, value, name):
    """The code of ``value`` (a lower-case name, a member or its int) in ``enum``.

    Raises a ValueError that starts with ``name`` (the argument's name) and
    lists the valid names.
    """
    if isinstance(value, enum):
        return value
    if isinstance(value, str):
        try:
            return enum[value.upper()]
        except KeyError:
            pass
    elif isinstance(value, int) and not isinstance(value, bool):
        try:
            return enum(value)
        except ValueError:
            pass
    raise ValueError(f"{name}: expected one of {names(enum)}, got {value!r}")


def names(enum):
    """The lower-case names of ``enum``'s members, in code order."""
    return tuple(m.name.lower() for m in enum)
