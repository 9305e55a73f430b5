"""Evolve an MLP classifier on scikit-learn's bundled digits with GeneticMLPClassifier.

    python examples/digits_genetic_mlp.py            # full size (about the main job)
    python examples/digits_genetic_mlp.py --small    # a few seconds (CI)

Prints test accuracy and saves the fitness curve and the best network in ./fastga-out/.
"""

import argparse
import os
import time

import fastga
from fastga.datasets import load_digits_split
from fastga.plotting import save_fitness_curve


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true", help="tiny run (CI)")
    ap.add_argument("--out", default="fastga-out")
    args = ap.parse_args(argv)

    X_tr, X_te, y_tr, y_te = load_digits_split()
    size = dict(pop_size=60, generations=10) if args.small else dict(pop_size=500, generations=400)
    clf = fastga.GeneticMLPClassifier(architecture=(32,), algorithm="ga", random_state=0,
                                      verbose=True, **size)
    t0 = time.perf_counter()
    clf.fit(X_tr, y_tr)
    print(f"test accuracy {clf.score(X_te, y_te):.4f} after {clf.n_generations_} generations "
          f"in {time.perf_counter() - t0:.1f} s")
    h = clf.history_
    print(f"best fitness: first {h['best_fitness'][0]:.3f}, last {h['best_fitness'][-1]:.3f}")
    os.makedirs(args.out, exist_ok=True)
    print("saved", save_fitness_curve(h, os.path.join(args.out, "example_digits_fitness.png")))
    print("saved", clf.best_network_.save(os.path.join(args.out, "example_digits_best.npz")))


if __name__ == "__main__":
    main()
