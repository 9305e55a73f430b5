"""The generic driver with a fitness of your own: evolve a network that fits sin(x).

    python examples/custom_fitness.py          # full size
    python examples/custom_fitness.py --small  # a few seconds (CI)

The fitness receives the population's outputs on the given inputs, shape (P, B, 1), and returns one
score per network (higher is better). A callback stops the run once the MSE is small enough.
"""

import argparse

import numpy as np

import fastga


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true", help="tiny run (CI)")
    args = ap.parse_args(argv)

    X = np.linspace(-np.pi, np.pi, 128, dtype=np.float32)[:, None]
    target = np.sin(X[:, 0])

    def neg_mse(outputs):
        return -((outputs[:, :, 0] - target) ** 2).mean(axis=1)

    def good_enough(ga, record):
        return -record["best_fitness"] < 1e-3

    spec = fastga.NetworkSpec([1, 16, 16, 1], ["tanh", "tanh", "linear"])
    ga = fastga.GeneticAlgorithm(
        spec, pop_size=40 if args.small else 300, die_off_rate=0.8, elitism=4,
        mutation_rate=0.2, type_probs=(0, 0, 0, 1), sigma=0.05, init="glorot",
        random_state=0, verbose=True,
    )
    ga.run(neg_mse, generations=10 if args.small else 400, inputs=X, callbacks=[good_enough])
    net = ga.best_network()
    mse = float(((net.predict(X)[:, 0] - target) ** 2).mean())
    print(f"best MSE {mse:.5f} after {ga.population_.generation} generations "
          f"(stopped: {ga.state_.stopped or 'generation budget'})")


if __name__ == "__main__":
    main()
