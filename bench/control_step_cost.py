"""CPU time per environment step of the fused CartPole rollout, one thread.

P=1000 random policies 4-64-64-2 (``init="normal", scale=0.1``), one episode
each, best of 7 calls after a warm-up; prints the steps, the steps per second
and the thread CPU time per step (a per-core figure that a loaded machine
disturbs little). Run it against two checkouts to compare them::

    PYTHONPATH=. python bench/control_step_cost.py relu
    PYTHONPATH=. python bench/control_step_cost.py tanh
"""

import sys
import time

import numba

from fastga import NetworkSpec, Population
from fastga.control import RolloutFitness


def main(act="relu", threads=1):
    numba.set_num_threads(threads)
    spec = NetworkSpec([4, 64, 64, 2], [act, act, "linear"])
    pop = Population.random(spec, 1000, random_state=0, init="normal", scale=0.1)
    fit = RolloutFitness("CartPole-v1", episodes=1, random_state=0)
    returns = fit(pop)
    wall = cpu = float("inf")
    for _ in range(7):
        t, c = time.perf_counter(), time.thread_time()
        fit(pop)
        cpu = min(cpu, time.thread_time() - c)
        wall = min(wall, time.perf_counter() - t)
    steps = fit.last_stats["env_steps"]
    print(f"{act}: {steps} steps, {steps / wall / 1e6:.2f} M steps/s, "
          f"{cpu / steps * 1e9:.0f} ns CPU per step (thread {threads}), "
          f"mean return {returns.mean():.3f}")


if __name__ == "__main__":
    main(*(sys.argv[1:2] or ["relu"]), *(int(a) for a in sys.argv[2:3]))
