"""ONNX export: an ONNX graph (MatMul, Add, activations) equal to a fastga network.

The ``onnx`` package (the ``onnx`` extra: ``pip install 'fastga[onnx]'``) is
imported inside the functions only. The graph is built node by node with
``onnx.helper``: for each layer ``MatMul(x, W)``, ``Add(., b)`` and the
activation's nodes, read from :data:`fastga.registry.ACTIVATION_EXPORT`
(``Relu``, ``LeakyRelu`` with alpha 0.01, ``Softmax`` on the last axis, ...;
nothing for ``linear``), each an operator of :data:`OPSET`. The batch dimension is
symbolic, so the model takes any number of rows; weights are float32
initializers. Any ONNX runtime gives fastga's predictions within 1e-5.
"""

from __future__ import annotations

import os

import numpy as np

from ..fileio import atomic_write_bytes
from ..registry import ACTIVATION_EXPORT, ONNX_INPUT, Activation

__all__ = ["to_onnx", "OPSET", "INPUT_NAME", "OUTPUT_NAME"]

#: ONNX operator set of the exported graph (supported by onnxruntime >= 1.14).
OPSET = 17
#: IR version of the exported model (the one of ONNX 1.12, read by all runtimes of the extra).
IR_VERSION = 8
INPUT_NAME = "input"
OUTPUT_NAME = "output"

def _import_onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError("to_onnx needs the onnx package: pip install 'fastga[onnx]'") from None
    return onnx


def to_onnx(network, path=None, *, genome=None, name=None):
    """Build an ONNX model equal to ``network``.

    Parameters
    ----------
    network : Network, NetworkSpec or fitted estimator
        A :class:`~fastga.Network`; a spec with ``genome``; or an object with
        a ``best_network_`` (the GeneticMLP estimators, architecture search).
    path : str or os.PathLike, optional
        Also write the model there (``.onnx``, atomically).
    genome : array-like, optional
        The weights when ``network`` is a spec.
    name : str, optional
        Graph name.

    Returns
    -------
    onnx.ModelProto
        Input ``"input"`` float32 (batch, n_inputs); output ``"output"``
        float32 (batch, n_outputs).

    Examples
    --------
    >>> import numpy as np, onnxruntime as ort
    >>> from fastga import Network
    >>> net = Network([3, 4, 2], np.linspace(-1, 1, 26, dtype=np.float32))
    >>> model = to_onnx(net)
    >>> sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    >>> X = np.ones((5, 3), np.float32)
    >>> bool(np.allclose(sess.run(None, {"input": X})[0], net.predict(X), atol=1e-5))
    True
    """
    from .keras import as_network  # light: TensorFlow is imported lazily there

    net = as_network(network, genome)
    if path is not None:
        path = os.fspath(path)
        if not path.lower().endswith(".onnx"):
            raise ValueError(f"path: must end in .onnx, got {path!r}")
    onnx = _import_onnx()
    from onnx import TensorProto, helper, numpy_helper

    spec = net.spec
    nodes, inits = [], []
    x = INPUT_NAME
    for li, ((W, b), act) in enumerate(zip(net.weights, spec.activations)):
        last = li == spec.n_layers - 1
        w_name, b_name = f"W{li}", f"b{li}"
        inits.append(numpy_helper.from_array(np.ascontiguousarray(W, dtype=np.float32), w_name))
        inits.append(numpy_helper.from_array(np.ascontiguousarray(b, dtype=np.float32), b_name))
        mm, z = f"matmul_{li}", f"z_{li}"
        nodes.append(helper.make_node("MatMul", [x, w_name], [mm], name=mm))
        steps = ACTIVATION_EXPORT[Activation[act.upper()]].onnx
        out = OUTPUT_NAME if last and not steps else z
        nodes.append(helper.make_node("Add", [mm, b_name], [out], name=f"add_{li}"))
        for si, step in enumerate(steps):
            inputs = [out]
            for ai, arg in enumerate(step.args):
                if arg == ONNX_INPUT:
                    inputs.append(z)
                else:
                    c_name = f"{act}_{li}_{si}_c{ai}"
                    inits.append(numpy_helper.from_array(np.array(arg, dtype=np.float32), c_name))
                    inputs.append(c_name)
            out = OUTPUT_NAME if last and si == len(steps) - 1 else f"{act}_{li}_{si}"
            nodes.append(helper.make_node(step.op, inputs, [out], name=f"{act}_{li}_{si}",
                                          **dict(step.attrs)))
        x = out
    graph = helper.make_graph(
        nodes, name or "fastga_network",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["batch", spec.n_inputs])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["batch", spec.n_outputs])],
        initializer=inits,
    )
    model = helper.make_model(graph, producer_name="fastga",
                              opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    model.doc_string = f"fastga network {spec.to_json()}"
    onnx.checker.check_model(model)
    if path is not None:
        atomic_write_bytes(path, model.SerializeToString())
    return model
