"""Which GA operator settings learn best: GASettings() against the reference's operators.

Runs the main job's network (64-32-10, relu/softmax, 500 networks) on the
digits split for a fixed number of generations and seeds, with the defaults
of :class:`fastga.GASettings` and with ``GASettings.reference()`` (shift /
sign / swap mutation), and prints the test accuracy of each run's best
network and its median.

    python bench/ga_defaults.py [--generations 300] [--seeds 0 1 2]
"""

import argparse
import time

import numpy as np

from fastga import GASettings, GeneticAlgorithm, NetworkSpec, SupervisedFitness
from fastga.datasets import load_digits_split


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generations", type=int, default=300)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--pop-size", type=int, default=500)
    args = parser.parse_args(argv)
    X_tr, X_te, y_tr, y_te = load_digits_split()
    spec = NetworkSpec([64, 32, 10], ["relu", "softmax"])
    fit = SupervisedFitness(X_tr, y_tr, "cross_entropy", batch_size=512)
    rows = []
    for name, settings in [("GASettings()", GASettings()), ("reference", GASettings.reference())]:
        accs, secs = [], []
        for seed in args.seeds:
            ga = GeneticAlgorithm.from_settings(spec, settings, pop_size=args.pop_size,
                                                random_state=seed)
            t0 = time.perf_counter()
            ga.run(fit, args.generations)
            secs.append(time.perf_counter() - t0)
            pred = ga.best_network().predict(X_te).argmax(axis=1)
            accs.append(float((pred == y_te).mean()))
        rows.append((name, accs, float(np.median(accs)), float(np.median(secs))))
    print(f"| settings | test accuracy per seed {args.seeds} | median | median s |")
    print("|---|---|---|---|")
    for name, accs, med, sec in rows:
        print(f"| {name} | {' / '.join(f'{a:.4f}' for a in accs)} | {med:.4f} | {sec:.1f} |")


if __name__ == "__main__":
    main()
