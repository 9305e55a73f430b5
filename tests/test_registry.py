"""The registry of codes: unique numbers, names that round-trip, and every
activation complete (kernel math, NumPy references, export rows, the
README's NumPy ``predict``), so an activation added half-way fails here."""

import inspect
from enum import IntEnum

import numpy as np
import pytest

from fastga import registry
from fastga.registry import ACTIVATION_EXPORT, Activation, OnnxStep, Purpose, code_of, names
from fastga.spec import ACTIVATIONS, NetworkSpec, activation_code, activation_name

from . import naive, naive_training

ENUMS = [obj for _, obj in inspect.getmembers(registry, inspect.isclass)
         if issubclass(obj, IntEnum) and obj is not IntEnum]


def test_the_registry_has_every_kind_of_code():
    assert {e.__name__ for e in ENUMS} >= {"Activation", "Metric", "Crossover", "Mutation", "Init",
                                           "Purpose"}


@pytest.mark.parametrize("enum", ENUMS, ids=lambda e: e.__name__)
def test_codes_are_unique(enum):
    values = [m.value for m in enum.__members__.values()]  # aliases included
    assert len(values) == len(set(values)), f"{enum.__name__} reuses a number"


def test_rng_purposes_are_unique_positive_and_distinct_from_the_user_stream():
    values = [m.value for m in Purpose.__members__.values()]
    assert len(values) == len(set(values))
    assert all(v > 0 for v in values)


@pytest.mark.parametrize("enum", ENUMS, ids=lambda e: e.__name__)
def test_names_and_codes_round_trip(enum):
    for member, name in zip(enum, names(enum)):
        assert name == name.lower() and code_of(enum, name, "x") is member
        assert code_of(enum, int(member), "x") is member and code_of(enum, member, "x") is member
    with pytest.raises(ValueError, match="^kind: expected one of"):
        code_of(enum, "no such name", "kind")
    with pytest.raises(ValueError, match="^kind: "):
        code_of(enum, max(enum) + 1, "kind")


def test_spec_activations_come_from_the_registry():
    assert dict(ACTIVATIONS) == {m.name.lower(): int(m) for m in Activation}
    for name, code in ACTIVATIONS.items():
        assert activation_code(name) == code and activation_code(code) == code
        assert activation_name(code) == name
        assert NetworkSpec([2, 3], [name]).activations == (name,)
        assert NetworkSpec([2, 3], [name]).act_codes.tolist() == [code]
    with pytest.raises(TypeError):
        ACTIVATIONS["new"] = 99  # read-only: the registry is the one place


@pytest.mark.parametrize("act", list(Activation), ids=lambda a: a.name.lower())
def test_every_activation_is_complete(act):
    name = act.name.lower()
    assert name in naive.ACTIVATIONS, "no NumPy reference in tests/naive.py"
    assert name in naive_training.ACTIVATIONS, "no NumPy reference in tests/naive_training.py"
    export = ACTIVATION_EXPORT.get(act)
    assert export is not None, "no row in registry.ACTIVATION_EXPORT"
    assert isinstance(export.keras, str) and export.keras
    assert all(isinstance(s, OnnxStep) for s in export.onnx)
    assert (len(export.onnx) == 0) == (act == Activation.LINEAR)


def test_export_table_has_no_extra_rows():
    assert set(ACTIVATION_EXPORT) == set(Activation)


def _readme_predict():
    from .test_checkpoint import _standalone_predict_source

    namespace = {}
    exec(compile(_standalone_predict_source(), "standalone_predict", "exec"), namespace)
    return namespace["predict"]


@pytest.mark.parametrize("act", list(Activation), ids=lambda a: a.name.lower())
def test_the_readme_numpy_predict_knows_every_activation(act, tmp_path):
    from fastga import Network

    name = act.name.lower()
    spec = NetworkSpec([3, 4], [name])
    rng = np.random.default_rng(0)
    net = Network(spec, rng.normal(size=spec.n_params).astype(np.float32))
    X = (3 * rng.normal(size=(20, 3))).astype(np.float32)
    got = _readme_predict()(net.save(tmp_path / "net.npz"), X)
    W, b = spec.unflatten(net.genome)[0]
    ref = naive.activation(name, X.astype(np.float64) @ W + b)
    np.testing.assert_allclose(got, ref, atol=1e-5, rtol=0)
