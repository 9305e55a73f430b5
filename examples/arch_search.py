"""Architecture and hyperparameter search for a network that computes cos.

Samples cos on [0, 2 pi] as the reference does, keeps training, validation
and test points apart, evolves the traits of 20 candidates over 10
generations (every candidate trained by fastga's SGD kernel for 10 epochs),
then reports the best network on the test set, saves it (.npz, plus .keras
when TensorFlow is installed) and plots its fit.

Run: python examples/arch_search.py [--func sin] [--out arch_example] [--small]
"""

import argparse
import os
import time

import numpy as np

from fastga.search import ArchitectureSearch, make_splits
from fastga.search.data import get_function


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--func", default="cos")
    parser.add_argument("--out", default="arch_example")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--small", action="store_true", help="tiny run (CI)")
    args = parser.parse_args(argv)

    func = get_function(args.func)
    n, pop, gens, epochs = (300, 6, 2, 3) if args.small else (2000, 20, 10, 10)
    data = make_splits(func, n=n, low=0.0, high=2 * np.pi, random_state=args.seed)
    search = ArchitectureSearch(population_size=pop, generations=gens, epochs=epochs,
                                random_state=args.seed, verbose=True)
    t0 = time.perf_counter()
    search.fit(data.X_train, data.y_train, data.X_val, data.y_val)
    seconds = time.perf_counter() - t0

    print("best traits:", search.best_traits_.to_dict())
    print(f"validation MSE {search.best_score_:.6f}, test MSE "
          f"{search.mse(data.X_test, data.y_test):.6f}, {len(search.results_)} candidates "
          f"in {seconds:.1f} s")
    print("best validation MSE per generation:", np.round(search.history_["best_val_mse"], 5))
    for deg in (0, 40, 90, 180, 270):
        x = np.radians(deg)
        pred = search.predict(np.array([[x]], dtype=np.float32))[0, 0]
        print(f"  {args.func}({deg:3d} deg) = {func(np.array([x]))[0]:+.4f}, network {pred:+.4f}")

    os.makedirs(args.out, exist_ok=True)
    search.best_network_.save(os.path.join(args.out, "best.npz"),
                              meta={"func": args.func, "low": 0.0, "high": 2 * np.pi,
                                    "traits": search.best_traits_.to_dict()})
    try:
        from fastga import to_keras

        to_keras(search.best_network_, path=os.path.join(args.out, "best.keras"))
    except ImportError:
        print("(TensorFlow not installed: no .keras file)")
    from fastga.commands.arch import plot_fit

    plot_fit(search.best_network_, func, 0.0, 2 * np.pi, os.path.join(args.out, "best_fit.png"),
             title=f"{args.func}: {list(search.best_traits_.layer_sizes)}",
             X_train=data.X_train, y_train=data.y_train)
    print("wrote", os.path.join(args.out, "best.npz"), "and best_fit.png")


if __name__ == "__main__":
    main()
