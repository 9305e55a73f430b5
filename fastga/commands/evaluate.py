"""``fastga evaluate``: predict with a saved network at given angles (degrees).

``MODEL`` is a ``best.npz`` written by ``fastga arch`` (or any saved fastga
network, then give ``--func``); a ``.keras``/``.h5`` model is read with Keras
and takes its function from the ``.npz`` beside it.
"""

from __future__ import annotations

import math
import os

import numpy as np

from ..export.keras import _import_keras
from ..fileio import load_npz
from ..network import Network
from ..search.data import FUNCTIONS, get_function

__all__ = ["add_parser", "run"]


def add_parser(subparsers):
    p = subparsers.add_parser(
        "evaluate",
        help="print a saved network's prediction and the true value at an angle",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("model", metavar="MODEL", help="best.npz (or .keras/.h5) from fastga arch")
    p.add_argument("--angle", type=float, nargs="+", required=True, metavar="DEGREES",
                   help="input angle(s) in degrees")
    p.add_argument("--func", dest="function", default=None, choices=sorted(FUNCTIONS),
                   help="true function (default: the one in the model's metadata)")
    p.set_defaults(func=run)
    return p


def _predictor(path):
    """``(predict(X) -> (n, 1), meta)`` for a .npz network or a Keras model."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix in (".keras", ".h5"):
        if not os.path.exists(path):
            raise FileNotFoundError(f"MODEL: no such file: {path!r}")
        model = _import_keras().models.load_model(path)
        sibling = os.path.splitext(path)[0] + ".npz"
        meta = load_npz(sibling, kind="network")[1] if os.path.exists(sibling) else {}
        return (lambda X: np.asarray(model.predict(X, verbose=0))), meta
    net = Network.load(path)
    return net.predict, getattr(net, "meta", {})


def run(args):
    for a in args.angle:
        if not math.isfinite(a):
            raise ValueError(f"angle: must be finite, got {a}")
    predict, meta = _predictor(args.model)
    name = args.function or meta.get("func")
    func = get_function(name) if name else None
    x = np.radians(np.asarray(args.angle, dtype=np.float64))
    pred = predict(x.reshape(-1, 1).astype(np.float32))[:, 0]
    low, high = meta.get("low"), meta.get("high")
    for deg, xi, p in zip(args.angle, x, pred):
        line = f"angle {deg:g} deg ({xi:.6f} rad): prediction {float(p):.6f}"
        if func is not None:
            true = float(func(np.asarray([xi]))[0])
            line += f"   true {name}(x) {true:.6f}   error {float(p) - true:+.6f}"
        if low is not None and high is not None and not (low <= xi <= high):
            line += f"   (outside the trained range [{low:g}, {high:g}])"
        print(line)
    if func is None:
        print("(no function in the model's metadata; give --func to see the true value)")
    return 0
