"""``fastga control`` against EvoTorch on the four ported classic-control tasks.

For each of CartPole-v1, Acrobot-v1, Pendulum-v1 and MountainCarContinuous-v0,
in one run, interleaved (the order of the two libraries alternates from one
task to the next; every trial in a fresh process):

- fastga: the command's defaults for the task (``fastga control --env ENV``,
  through :func:`fastga.commands.control.train`), on a warm Numba cache;
- EvoTorch: ``VecGymNE`` on gymnasium's own environment, the same network
  (hidden sizes and activation), population size and training episodes per
  policy, with EvoTorch's ``GeneticAlgorithm`` and ``GaussianMutation`` of
  fastga's mutation sigma (``--evotorch-algorithms pgpe`` adds its PGPE with
  the settings of EvoTorch's README example: ClipUp, observation
  normalisation). MountainCarContinuous starts from fastga's initial weights
  there (normal, scale 3), as the default initial weights (about 0) stay at
  the do-nothing optimum.

Both stop at the task's target (a policy's mean return over 100 validation
episodes; validated every 10 generations and whenever a generation's best
training return reaches the target) or at the wall-time budget. The
policy each keeps (best validation return) is then evaluated in gymnasium
over the same 100 episodes (seeds 1000000..1000099, used by neither run),
outside the budget. ``--cold`` adds ``fastga control --env CartPole-v1`` in
a process with empty ``FASTGA_CACHE_DIR`` and ``NUMBA_CACHE_DIR`` (wall time
of the whole process, imports and compilation included).

    PYTHONPATH=. python bench/control_compare.py [--cold] [--budget-scale 1.0]
        [--envs CartPole-v1 ...] [--evotorch-algorithms ga pgpe] [--json out.json]

EvoTorch, torch and gymnasium are benchmark-only dependencies.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ENVS = ("CartPole-v1", "Acrobot-v1", "Pendulum-v1", "MountainCarContinuous-v0")

#: Wall-time budget (seconds) of each run, per task.
BUDGET = {"CartPole-v1": 60.0, "Acrobot-v1": 90.0, "Pendulum-v1": 240.0,
          "MountainCarContinuous-v0": 90.0}

#: First seed of the 100 evaluation episodes in gymnasium (both libraries).
EVAL_SEED = 1_000_000
#: First seed of EvoTorch's validation episodes.
VAL_SEED = 2_000_000
EPISODES = 100
EVERY = 10

#: EvoTorch's PGPE settings of its README example (GymNE, PGPE with ClipUp).
EVOTORCH_PGPE = dict(center_learning_rate=0.01125, stdev_learning_rate=0.1,
                     optimizer_config={"max_speed": 0.015}, radius_init=0.27)


def gym_returns(act, env_id, episodes=EPISODES, seed=EVAL_SEED):
    """Returns of ``episodes`` episodes of gymnasium's ``env_id`` (seeds ``seed + i``),
    actions ``act(obs (N, obs_dim) float32)`` for all episodes at once."""
    import gymnasium

    envs = gymnasium.vector.SyncVectorEnv([lambda: gymnasium.make(env_id)] * episodes)
    obs, _ = envs.reset(seed=[seed + i for i in range(episodes)])
    returns = np.zeros(episodes)
    alive = np.ones(episodes, dtype=bool)
    while alive.any():
        obs, reward, term, trunc, _ = envs.step(act(np.asarray(obs, dtype=np.float32)))
        returns += np.where(alive, reward, 0.0)
        alive &= ~(np.asarray(term) | np.asarray(trunc))
    envs.close()
    return returns


def fastga_act(network, extras, env_id):
    """Actions of a policy saved by ``fastga control`` (its mapping of outputs)."""
    import gymnasium

    space = gymnasium.make(env_id).action_space
    mean, std = extras["obs_mean"], extras["obs_std"]

    def act(obs):
        y = network.predict(((obs - mean) / std).astype(np.float32))
        if hasattr(space, "n"):
            return np.argmax(y, axis=1)
        low, high = space.low, space.high
        if extras["action"] == "tanh":
            return (low + (np.tanh(y) + 1.0) / 2.0 * (high - low)).astype(np.float32)
        return np.clip(y, low, high).astype(np.float32)

    return act


def run_fastga(env_id, budget, seed):
    from fastga.cli import build_parser
    from fastga.commands.control import settings_from_args, train

    s = settings_from_args(build_parser().parse_args(
        ["control", "--env", env_id, "--seed", str(seed)]))
    t0 = time.perf_counter()
    res = train(s, callbacks=[lambda a, r: "budget" if time.perf_counter() - t0 > budget
                              else False])
    extras = {"obs_mean": res.fitness.obs_mean, "obs_std": res.fitness.obs_std,
              "action": res.fitness.action}
    returns = gym_returns(fastga_act(res.network, extras, env_id), env_id)
    return {"library": "fastga", "algorithm": "ga", "generations": res.generations + 1,
            "seconds": res.seconds, "mean_return": float(returns.mean()),
            "own_mean_return": res.mean_return, "stopped": res.algorithm.state_.stopped or
            "generations", "pop_size": s["pop_size"], "episodes": s["episodes"]}


def run_evotorch(env_id, budget, seed, algorithm):
    import torch
    from evotorch.algorithms import PGPE, GeneticAlgorithm
    from evotorch.neuroevolution import VecGymNE
    from evotorch.operators import GaussianMutation

    from fastga.commands.control import env_defaults

    torch.manual_seed(seed)
    d = env_defaults(env_id)
    target = d["target"]
    layers = ["Linear(obs_length, {})".format(d["hidden"][0])]
    layers += [{"relu": "ReLU()", "tanh": "Tanh()"}[d["activation"]]]
    layers += ["Linear({}, act_length)".format(d["hidden"][0])]
    t0 = time.perf_counter()
    problem = VecGymNE(env_id, " >> ".join(layers), num_episodes=d["episodes"],
                       observation_normalization=algorithm == "pgpe")
    if algorithm == "ga":
        sigma = d["ga"].get("sigma", 0.05)
        searcher = GeneticAlgorithm(problem, popsize=d["pop_size"],
                                    operators=[GaussianMutation(problem, stdev=sigma)])
        if d["ga"].get("init") == "normal":  # fastga's initial weights for this task
            pop = searcher.population
            pop.set_values(torch.randn(len(pop), problem.solution_length)
                           * d["ga"]["init_scale"])
    else:
        searcher = PGPE(problem, popsize=d["pop_size"], **EVOTORCH_PGPE)
    import gymnasium

    discrete = hasattr(gymnasium.make(env_id).action_space, "n")

    def act_of(values):
        policy = problem.to_policy(values)  # its observation normalisation and action clipping

        def act(obs):
            with torch.no_grad():
                y = policy(torch.as_tensor(obs)).numpy()
            return np.argmax(y, axis=1) if discrete else y.astype(np.float32)

        return act

    kept = {"return": -np.inf, "values": None}
    gens, stopped = 0, "generations"
    while True:
        searcher.step()
        gens += 1
        st = searcher.status
        best_train = float(st["pop_best_eval"])
        if gens % EVERY == 0 or best_train >= target:
            cands = [st["pop_best"].values.clone()]
            if algorithm != "ga":
                cands.append(st["center"].clone())
            best = -np.inf
            for v in cands:
                r = float(gym_returns(act_of(v), env_id, seed=VAL_SEED).mean())
                best = max(best, r)
                if r > kept["return"]:
                    kept.update({"return": r, "values": v})
            if best >= target:
                stopped = "target"
                break
        if time.perf_counter() - t0 > budget:
            stopped = "budget"
            break
        if gens > d["generations"]:
            break
    if kept["values"] is None:
        kept["values"] = searcher.status["pop_best"].values.clone()
    seconds = time.perf_counter() - t0
    returns = gym_returns(act_of(kept["values"]), env_id)
    return {"library": "evotorch", "algorithm": algorithm, "generations": gens,
            "seconds": seconds, "mean_return": float(returns.mean()), "stopped": stopped,
            "pop_size": d["pop_size"], "episodes": d["episodes"]}


def trial(args):
    """One run in this process (``--one``): print its result as JSON."""
    import torch

    torch.set_num_threads(2)
    if args.one == "fastga":
        out = run_fastga(args.env, args.budget, args.seed)
    else:
        out = run_evotorch(args.env, args.budget, args.seed, args.one.split(":", 1)[1])
    out["env"] = args.env
    print("RESULT " + json.dumps(out))


def _subprocess(cmd, env=None):
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return proc.stdout, wall


def one(kind, env_id, budget, seed):
    stdout, _ = _subprocess([sys.executable, __file__, "--one", kind, "--env", env_id,
                             "--budget", str(budget), "--seed", str(seed)])
    line = [ln for ln in stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def cold_cartpole():
    """``fastga control --env CartPole-v1`` with empty kernel caches: the command's
    own figures and the wall time of the whole process."""
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, FASTGA_CACHE_DIR=os.path.join(tmp, "fastga"),
                   NUMBA_CACHE_DIR=os.path.join(tmp, "numba"))
        js = os.path.join(tmp, "r.json")
        _, wall = _subprocess([sys.executable, "-m", "fastga", "control", "--env", "CartPole-v1",
                               "--quiet", "--out", os.path.join(tmp, "out"), "--json", js],
                              env=env)
        with open(js) as fh:
            res = json.load(fh)
    res["process_seconds"] = wall
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--envs", nargs="+", default=list(ENVS), choices=ENVS)
    ap.add_argument("--budget-scale", type=float, default=1.0,
                    help="multiply every task's wall-time budget")
    ap.add_argument("--evotorch-algorithms", nargs="+", default=["ga"], choices=["ga", "pgpe"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cold", action="store_true",
                    help="also CartPole-v1 with empty kernel caches")
    ap.add_argument("--json", default=None, help="write the results here")
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--env", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--budget", type=float, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        return trial(args)
    print(f"load: {os.getloadavg()}", flush=True)
    results = {"runs": [], "load_start": os.getloadavg()}
    if args.cold:
        cold = cold_cartpole()
        results["cold"] = cold
        print(f"cold cache CartPole-v1: mean return {cold['mean_return']:.1f}, "
              f"{cold['generations']} generations, command {cold['seconds']:.1f} s, "
              f"process {cold['process_seconds']:.1f} s", flush=True)
    for env_id in args.envs:  # warm fastga's cache for the task (compiles once)
        _subprocess([sys.executable, "-m", "fastga", "control", "--env", env_id,
                     "--generations", "0", "--eval-episodes", "1", "--quiet",
                     "--out", tempfile.mkdtemp()])
    for i, env_id in enumerate(args.envs):
        kinds = ["fastga"] + [f"evotorch:{a}" for a in args.evotorch_algorithms]
        if i % 2:
            kinds = kinds[::-1]
        for kind in kinds:
            r = one(kind, env_id, BUDGET[env_id] * args.budget_scale, args.seed)
            results["runs"].append(r)
            print(f"{env_id:<26} {r['library']:<8} {r['algorithm']:<4} "
                  f"generations {r['generations']:>4}  {r['seconds']:7.1f} s  "
                  f"mean return {r['mean_return']:8.1f}  ({r['stopped']})", flush=True)
    results["load_end"] = os.getloadavg()
    print("\n| task | library | algorithm | P, episodes | generations | wall time | "
          "mean return (100 episodes) | stopped by |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results["runs"]:
        print(f"| {r['env']} | {r['library']} | {r['algorithm']} | {r['pop_size']}, "
              f"{r['episodes']} | {r['generations']} | {r['seconds']:.1f} s | "
              f"{r['mean_return']:.1f} | {r['stopped']} |")
    print(f"\nload average at the start {results['load_start']}, at the end {results['load_end']}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
