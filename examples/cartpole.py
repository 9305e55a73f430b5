"""Evolve a CartPole-v1 policy with the GA; every episode runs inside a Numba kernel.

    python examples/cartpole.py          # until solved (mean return >= 475 over 100 episodes)
    python examples/cartpole.py --small  # a few seconds (CI)

``RolloutFitness`` plays every policy of a generation for ``episodes`` episodes
(the policy's forward pass and the environment's step fused, no Python per
step) and returns each policy's mean return. The same fitness object works
with any fastga algorithm, in ``run`` or in an ask/tell loop. The run saves
the best policy (``cartpole_policy.npz``) and a PNG of the returns per
generation (``cartpole_returns.png``).
"""

import argparse
import time

import fastga
from fastga.control import RolloutFitness, save_policy


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true", help="tiny run (CI)")
    ap.add_argument("--generations", type=int, default=None)
    args = ap.parse_args(argv)
    generations = args.generations or (3 if args.small else 50)

    start = time.perf_counter()
    fitness = RolloutFitness("CartPole-v1", episodes=5, random_state=0)
    spec = fastga.NetworkSpec([4, 16, 2], ["relu", "linear"])  # 4 observations -> 2 actions
    ga = fastga.GeneticAlgorithm(spec, pop_size=20 if args.small else 100, random_state=0,
                                 verbose=True)

    def solved(algo, record):
        # Training episodes are few; check the best policy on 100 held-out ones.
        return (record["best_fitness"] >= 475
                and fitness.evaluate(algo.best_network(), episodes=100).mean() >= 475)

    ga.run(fitness, generations, callbacks=[solved])
    seconds = time.perf_counter() - start
    returns = fitness.evaluate(ga.best_network(), episodes=100)
    print(f"mean return of the best policy over 100 evaluation episodes: {returns.mean():.1f} "
          f"after {ga.population_.generation} generations, {seconds:.1f} s "
          f"(stopped: {ga.state_.stopped or 'generation budget'})")

    save_policy("cartpole_policy.npz", ga.best_network(), fitness)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no returns curve")
        return
    h = ga.history_
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(h["generation"], h["best_fitness"], label="best policy")
    ax.plot(h["generation"], h["mean_fitness"], label="population mean")
    ax.axhline(475, color="grey", linestyle="--", label="solved (475)")
    ax.set_xlabel("generation")
    ax.set_ylabel("mean return over the training episodes")
    ax.set_title("CartPole-v1, GeneticAlgorithm")
    ax.legend()
    fig.tight_layout()
    fig.savefig("cartpole_returns.png", dpi=100)
    print("saved cartpole_policy.npz and cartpole_returns.png")


if __name__ == "__main__":
    main()
