"""``fastga arch``: evolve the architecture and SGD hyperparameters of a network that learns a function.

Samples ``--func`` on ``[--low, --high]`` (``--samples`` points, split into
disjoint training, validation and test sets), runs
:class:`fastga.search.ArchitectureSearch`, and writes to ``--out``:
``arch_best.npz`` (the best network with its traits, function and scores in
the metadata; read it with ``fastga evaluate``), ``arch_best.keras`` (or
``arch_best.h5`` with ``--h5``) when TensorFlow is installed, and
``arch_best_fit.png`` (the fit over the range). Before the search, its kernels compile over the CPUs
(:func:`fastga.compile_ahead`).
"""

from __future__ import annotations

import importlib.util
import time

import numpy as np

from ..compilation import compile_ahead
from ..export.keras import save_keras
from ..plotting import figure, save_png
from ..search import ArchitectureSearch, make_splits
from ..search.data import FUNCTIONS, get_function
from ..spec import NetworkSpec, activation_code
from .common import add_run_arguments, out_path, print_profile, process_age

__all__ = ["add_parser", "run"]


def add_parser(subparsers):
    p = subparsers.add_parser(
        "arch",
        help="evolve network architectures and SGD hyperparameters that learn a function",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("--func", dest="function", default="sin", choices=sorted(FUNCTIONS), help="function to learn")
    p.add_argument("--low", type=float, default=0.0, help="range start (default 0)")
    p.add_argument("--high", type=float, default=2 * np.pi, help="range end (default 2 pi)")
    p.add_argument("--samples", type=int, default=2000, help="points sampled from the range")
    p.add_argument("--val-size", type=float, default=0.2, help="share of points for validation")
    p.add_argument("--test-size", type=float, default=0.2, help="share of points for the test")
    add_run_arguments(p, pop_size=20, generations=10)
    p.add_argument("--epochs", type=int, default=10, help="training epochs of every candidate")
    p.add_argument("--activation", default="tanh", help="hidden-layer activation")
    p.add_argument("--mutation-rate", type=float, default=0.01,
                   help="probability that a child has 1 to 3 traits re-drawn (default: %(default)s)")
    p.add_argument("--h5", action="store_true", help="save the Keras model as .h5 instead of .keras")
    p.add_argument("--no-keras", action="store_true", help="do not write a Keras model")
    p.set_defaults(func=run)
    return p


def _has_keras():
    return importlib.util.find_spec("keras") is not None or \
        importlib.util.find_spec("tensorflow") is not None


def plot_fit(network, func, low, high, path, title="", X_train=None, y_train=None):
    """Save a PNG of ``network`` against ``func`` over ``[low, high]``."""
    x = np.linspace(low, high, 600, dtype=np.float32).reshape(-1, 1)
    fig = figure((7, 6))
    ax, ax2 = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    if X_train is not None:
        ax.plot(X_train[:, 0], y_train[:, 0], ".", ms=2, color="0.7", label="training points")
    truth = np.asarray(func(x[:, 0].astype(np.float64)))
    pred = network.predict(x)[:, 0]
    ax.plot(x[:, 0], truth, color="k", lw=1.5, label="true")
    ax.plot(x[:, 0], pred, color="C3", lw=1.5, ls="--", label="best network")
    ax.legend(loc="best")
    ax.set_title(title, fontsize=9)
    ax2.plot(x[:, 0], pred - truth, color="C0")
    ax2.axhline(0, color="k", lw=0.5)
    ax2.set_ylabel("error")
    ax2.set_xlabel("x")
    fig.tight_layout()
    return save_png(fig, path)


def run(args):
    func = get_function(args.function)
    started = process_age()  # before this call: interpreter start and imports
    t0 = time.perf_counter()
    data = make_splits(func, args.samples, args.low, args.high, args.val_size, args.test_size,
                       random_state=args.seed)
    search = ArchitectureSearch(population_size=args.pop_size, generations=args.generations,
                                epochs=args.epochs, activation=args.activation,
                                mutation_rate=args.mutation_rate, random_state=args.seed,
                                verbose=not args.quiet)
    # The candidates' SGD, and the forward pass of the best one (any depth:
    # the kernels depend on the activations, not on the sizes).
    activation_code(args.activation, "activation")  # the search's own message on a bad name
    compile_ahead(NetworkSpec([1, 1, 1], [args.activation, "linear"]), ["train", "forward"])
    t_fit = time.perf_counter()
    search.fit(data.X_train, data.y_train, data.X_val, data.y_val)
    t_fitted = time.perf_counter()
    wall = t_fitted - t0
    test_mse = search.mse(data.X_test, data.y_test)
    traits = search.best_traits_
    n_trained = len(search.results_)
    print(f"best traits: {traits.to_dict()}")
    print(f"network: {list(search.best_network_.spec.sizes)} "
          f"({search.best_network_.spec.n_params} parameters)")
    print(f"validation MSE {search.best_score_:.6f}   test MSE {test_mse:.6f}")
    print(f"{n_trained} candidates trained in {wall:.1f} s "
          f"({sum(search.history_['seconds']) / max(n_trained, 1):.3f} s per candidate)")

    meta = {"func": args.function, "low": args.low, "high": args.high, "traits": traits.to_dict(),
            "activation": args.activation, "val_mse": search.best_score_, "test_mse": test_mse,
            "epochs": args.epochs, "seed": args.seed, "samples": args.samples}
    npz = search.best_network_.save(out_path(args, "arch", "best.npz"), meta=meta)
    print(f"saved {npz}")
    if not args.no_keras:
        if _has_keras():
            path = out_path(args, "arch", "best.h5" if args.h5 else "best.keras")
            save_keras(search.best_network_, path)
            print(f"saved {path}")
        else:
            print("TensorFlow is not installed: no Keras model written")
    png = plot_fit(search.best_network_, func, args.low, args.high,
                   out_path(args, "arch", "best_fit.png"),
                   title=f"{args.function}: {list(traits.layer_sizes)} batch {traits.batch_size} "
                         f"lr {traits.learning_rate:g} momentum {traits.momentum:g}\n"
                         f"validation MSE {search.best_score_:.2e}, test MSE {test_mse:.2e}",
                   X_train=data.X_train, y_train=data.y_train)
    print(f"saved {png}")
    if args.profile:
        in_generations = float(np.sum(search.history_["seconds"]))
        print_profile(search.history_, setup=t_fit - t0,
                      finish=(t_fitted - t_fit - in_generations) + (time.perf_counter() - t_fitted),
                      wall=time.perf_counter() - t0, started=started)
    return 0
