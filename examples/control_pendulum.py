"""Swing up Pendulum-v1 with ``fastga control``; then drive gymnasium's Pendulum with the policy.

    python examples/control_pendulum.py          # the command's defaults: mean return >= -200
    python examples/control_pendulum.py --small  # a few seconds (CI)

The same run from a shell is ``fastga control --env Pendulum-v1``. It writes
``fastga-out/control_policy.npz`` (the network and how its outputs become
actions) and ``fastga-out/control_returns.png``. The policy is then loaded
with :func:`fastga.control.load_policy` and played in gymnasium's
Pendulum-v1 (when gymnasium is installed): the kernels' port and gymnasium
step the same dynamics, so the returns agree.
"""

import argparse
import json
import os

import numpy as np

from fastga.cli import main as fastga
from fastga.control import load_policy


def play_in_gymnasium(network, extras, episodes, seed=12345):
    """Mean return of the policy in gymnasium's own Pendulum-v1."""
    import gymnasium

    env = gymnasium.make("Pendulum-v1")
    low, high = env.action_space.low, env.action_space.high
    returns = []
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed + episode)
        total, done = 0.0, False
        while not done:
            x = (np.asarray(obs, dtype=np.float32) - extras["obs_mean"]) / extras["obs_std"]
            y = network.predict(x[None])[0]
            if extras["action"] == "tanh":  # as the fitness mapped outputs to actions
                action = low + (np.tanh(y) + 1.0) / 2.0 * (high - low)
            else:
                action = np.clip(y, low, high)
            obs, reward, terminated, truncated, _ = env.step(action.astype(np.float32))
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    env.close()
    return float(np.mean(returns))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true", help="tiny run (CI)")
    args = ap.parse_args(argv)
    cmd = ["control", "--env", "Pendulum-v1", "--out", "fastga-out",
           "--json", os.path.join("fastga-out", "control_pendulum.json")]
    if args.small:
        cmd += ["--generations", "3", "--pop-size", "20", "--episodes", "2",
                "--eval-episodes", "10", "--quiet"]
    code = fastga(cmd)
    if code:
        raise SystemExit(code)
    with open(os.path.join("fastga-out", "control_pendulum.json")) as fh:
        result = json.load(fh)
    print(f"fastga control: mean return {result['mean_return']:.1f} after "
          f"{result['generations']} generations, {result['seconds']:.1f} s")

    network, extras = load_policy(os.path.join("fastga-out", "control_policy.npz"))
    print(f"the saved policy: {extras['env']}, layers {network.spec.sizes}, "
          f"actions by {extras['action']}")
    try:
        mean = play_in_gymnasium(network, extras, episodes=5 if args.small else 20)
    except ImportError:
        print("gymnasium is not installed: the policy was not played in gymnasium")
        return
    print(f"the same policy in gymnasium's Pendulum-v1: mean return {mean:.1f}")


if __name__ == "__main__":
    main()
