"""Python side of candidate training: layout, checks, and the kernel call.

:func:`train_candidates` lays every candidate's parameters out in ONE ragged
float32 buffer (and a second one for momentum), checks every argument, and
hands them to :func:`fastga.kernels.training.train_candidates`, run over the
candidates by :func:`fastga.evaluation.run_rows` (one candidate a piece), so
they train in parallel, each for the same number of epochs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..evaluation import run_rows
from ..kernels.training import init_candidates
from ..kernels.training import train_candidates as _train_kernel
from ..network import Network
from ..spec import NetworkSpec, activation_code
from ..validation import check_int, check_targets, check_X
from .traits import Traits

__all__ = ["Layout", "TrainingResult", "build_layout", "check_data", "train_candidates"]


@dataclass
class Layout:
    """Where each candidate lives in the ragged buffers.

    Attributes
    ----------
    specs : list of NetworkSpec
    param_ptr : int64 (C + 1,)
        Candidate ``c`` owns ``params[param_ptr[c]:param_ptr[c+1]]``.
    layer_ptr : int64 (C + 1,)
    layers : int64 (L, 5)
        ``(n_in, n_out, activation code, w_offset, b_offset)``, offsets absolute.
    """

    specs: list
    param_ptr: np.ndarray
    layer_ptr: np.ndarray
    layers: np.ndarray

    @property
    def n_params(self):
        return int(self.param_ptr[-1])


def build_layout(traits_list, n_in, n_out, activation="tanh", output_activation="linear"):
    """Lay candidates out one after the other (see :class:`Layout`)."""
    specs, param_ptr, layer_ptr, rows = [], [0], [0], []
    for i, t in enumerate(traits_list):
        if not isinstance(t, Traits):
            raise TypeError(f"traits: entry {i} must be a Traits, got {type(t).__name__}")
        sizes = (n_in,) + t.layer_sizes + (n_out,)
        acts = [activation] * len(t.layer_sizes) + [output_activation]
        spec = NetworkSpec(sizes, acts)
        base = param_ptr[-1]
        for li in range(spec.n_layers):
            rows.append((sizes[li], sizes[li + 1], int(spec.act_codes[li]),
                         base + int(spec.w_offsets[li]), base + int(spec.b_offsets[li])))
        specs.append(spec)
        param_ptr.append(base + spec.n_params)
        layer_ptr.append(len(rows))
    return Layout(specs, np.asarray(param_ptr, dtype=np.int64), np.asarray(layer_ptr, dtype=np.int64),
                  np.asarray(rows, dtype=np.int64).reshape(-1, 5))


def check_data(X, y, name_X="X", name_y="y", n_features=None, n_outputs=None):
    """Validate one data set: 2-D finite float32 ``X`` (1-D is one feature) and ``y``."""
    arr = np.asarray(X) if not isinstance(X, np.ndarray) else X
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    X = check_X(arr, n_features, name=name_X)
    yy = np.asarray(y)
    if n_outputs is None:
        n_outputs = 1 if yy.ndim == 1 else (yy.shape[1] if yy.ndim == 2 else -1)
    y = check_targets(yy, X.shape[0], n_outputs, name=name_y)
    return X, y


@dataclass
class TrainingResult:
    """What :func:`train_candidates` returns (one entry per candidate, input order).

    Attributes
    ----------
    val_mse : float64 (C,)
        Validation MSE; NaN for a diverged candidate.
    train_mse : float64 (C,)
        Mean training loss of the last epoch (with dropout); NaN when diverged.
    steps : int64 (C,)
        SGD steps taken.
    networks : list of Network
        The trained networks (copies of their slices of the buffer).
    """

    val_mse: np.ndarray
    train_mse: np.ndarray
    steps: np.ndarray
    networks: list


def train_candidates(traits_list, X, y, X_val, y_val, epochs, seed, generation=0, ids=None,
                     activation="tanh", output_activation="linear"):
    """Train every candidate from a fresh Glorot initialisation, all in parallel.

    Parameters
    ----------
    traits_list : sequence of Traits
    X, y : training data, (n, n_features) and (n,) or (n, n_outputs)
    X_val, y_val : validation data (never trained on)
    epochs : int
        The same budget for every candidate.
    seed, generation : int
        With ``ids``, key the counter-based streams of each candidate
        (initial weights, shuffles, dropout masks).
    ids : sequence of int, optional
        Distinct id per candidate (default ``0..C-1``).
    activation, output_activation : str
        Activations of the hidden layers and of the output layer.

    Returns
    -------
    TrainingResult
    """
    traits_list = list(traits_list)
    if not traits_list:
        raise ValueError("traits_list: is empty; give at least one candidate")
    X, y = check_data(X, y)
    X_val, y_val = check_data(X_val, y_val, "X_val", "y_val", n_features=X.shape[1],
                              n_outputs=y.shape[1])
    epochs = check_int(epochs, "epochs", minimum=1)
    seed = check_int(seed, "seed", minimum=0)
    generation = check_int(generation, "generation", minimum=0)
    activation_code(activation)
    activation_code(output_activation)
    n_cand = len(traits_list)
    if ids is None:
        ids = np.arange(n_cand, dtype=np.int64)
    else:
        ids = np.asarray(ids)
        if ids.shape != (n_cand,) or not np.issubdtype(ids.dtype, np.integer):
            raise ValueError(f"ids: expected {n_cand} integers (one per candidate), got {ids!r}")
        if (ids < 0).any() or np.unique(ids).size != n_cand:
            raise ValueError("ids: must be distinct and >= 0")
        ids = ids.astype(np.int64)

    # Lay out the largest candidates first so that, with dynamic scheduling,
    # the long jobs start early; results do not depend on the order.
    cost = np.array([t.n_params(X.shape[1], y.shape[1]) for t in traits_list], dtype=np.float64)
    order = np.argsort(-cost, kind="stable")
    ordered = [traits_list[i] for i in order]
    layout = build_layout(ordered, X.shape[1], y.shape[1], activation, output_activation)
    params = np.empty(layout.n_params, dtype=np.float32)
    velocity = np.empty(layout.n_params, dtype=np.float32)
    ids_o = np.ascontiguousarray(ids[order])
    run_rows(init_candidates, n_cand, params, velocity, layout.layer_ptr, layout.layers, seed,
             generation, ids_o)
    val = np.empty(n_cand, dtype=np.float64)
    trn = np.empty(n_cand, dtype=np.float64)
    steps = np.empty(n_cand, dtype=np.int64)
    run_rows(_train_kernel, n_cand, params, velocity, layout.layer_ptr, layout.layers,
             np.array([t.batch_size for t in ordered], dtype=np.int64),
             np.array([t.learning_rate for t in ordered], dtype=np.float64),
             np.array([t.momentum for t in ordered], dtype=np.float64),
             np.array([t.decay for t in ordered], dtype=np.float64),
             np.array([t.dropout for t in ordered], dtype=np.float64),
             X, y, X_val, y_val, epochs, seed, generation, ids_o, val, trn, steps,
             pieces=n_cand)
    inv = np.empty(n_cand, dtype=np.int64)
    inv[order] = np.arange(n_cand)
    networks = [None] * n_cand
    for pos, c in enumerate(order):
        a, b = layout.param_ptr[pos], layout.param_ptr[pos + 1]
        networks[c] = Network(layout.specs[pos], params[a:b])
    return TrainingResult(val[inv], trn[inv], steps[inv], networks)
