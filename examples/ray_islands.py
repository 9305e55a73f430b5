"""An island model on Ray: N GeneticMLP populations on digits, exchanging their best networks.

    python examples/ray_islands.py                      # 2 islands x 250 networks, 400 generations
    python examples/ray_islands.py --small              # a few seconds after Ray starts (CI)
    python examples/ray_islands.py --address auto       # on a running Ray cluster

Each island is a Ray actor running fastga's GeneticAlgorithm on one CPU; every
4 generations each island sends its 10 best genomes (one float32 array in
Ray's object store) to the next island on a ring. At the end, the best network
of all final populations on the training set is scored on the test set.
"""

import argparse
import functools
import time

import numpy as np

from fastga import GASettings, NetworkSpec, SupervisedFitness
from fastga.datasets import load_digits_split
from fastga.distributed import IslandModel
from fastga.distributed.digits import final_pick


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true", help="tiny run (CI)")
    ap.add_argument("--islands", type=int, default=2)
    ap.add_argument("--address", default=None, help="Ray cluster address (default: a local Ray)")
    args = ap.parse_args(argv)

    X_tr, X_te, y_tr, y_te = load_digits_split()
    pop, gens, hidden, batch = (20, 6, 8, 256) if args.small else (250, 400, 32, 512)
    spec = [64, hidden, 10], ["relu", "softmax"]
    # Every island's GA operators: GASettings' defaults (those of GeneticMLPClassifier).
    settings = GASettings()

    model = IslandModel(NetworkSpec(*spec), n_islands=args.islands, pop_size=pop,
                        migration_every=3 if args.small else 4, n_migrants=2 if args.small else 10,
                        address=args.address, ga=settings, random_state=0,
                        verbose=not args.small)
    # A picklable factory: each island builds its own fitness (and its own copy of the data).
    factory = functools.partial(SupervisedFitness, X_tr, y_tr, "cross_entropy", batch, 0, 10)
    t0 = time.perf_counter()
    model.run(factory, gens)
    seconds = time.perf_counter() - t0
    net, loss = final_pick(model.spec, model.populations_, X_tr, y_tr)
    acc = float(np.mean(np.argmax(net.predict(X_te), axis=1) == y_te))
    print(f"{args.islands} islands x {pop} networks, {model.n_generations_} generations: "
          f"test accuracy {acc:.4f} (training loss {loss:.3f}) in {seconds:.1f} s "
          f"(of which Ray start {model.stats_['ray_start_seconds']:.1f} s)")
    mig = model.stats_["migration_bytes"]
    print(f"one island's migrants: {mig['raw']:.0f} bytes of float32, {mig['serialized']:.0f} bytes "
          f"in the object store; driver CPU {model.stats_['driver_cpu_seconds']:.2f} s over "
          f"{len(model.epochs_)} epochs")
    print(f"global best fitness {model.best_fitness_:.4f} (island {model.best_island_})")


if __name__ == "__main__":
    main()
