"""Control tasks: per-network forward pass, fused rollouts, CartPole solved.

- ``forward_each`` against ``torch.bmm`` on the same shapes (P networks, E
  inputs each; torch is benchmark-only, skipped where missing), including
  the small calls of a user's own loop (P=100, E=1, CartPole 4-16-2 and
  4-64-64-2).
- Environment steps per second of :class:`fastga.control.RolloutFitness`
  (policy included) for P=1000 policies 4-64-64-2 on CartPole-v1, against
  gymnasium's vectorised CartPole with a batched NumPy policy and with a
  batched torch policy, interleaved in the same run (target: >= 10x the
  faster of the two).
- CartPole-v1 solved by the GA: wall time (cold Numba cache included where
  the cache is empty) and generations to a best policy whose mean return
  over 100 evaluation episodes is >= 475.

Run ``python -m pytest bench/test_bench_control.py --benchmark-enable -s``.
"""

import time

import numpy as np
import pytest

from bench.conftest import record
from bench.peak import interleaved_medians
from fastga import GeneticAlgorithm, NetworkSpec, Population
from fastga.control import RolloutFitness

FORWARD_SHAPES = [dict(P=100, E=1, sizes=(4, 16, 2)), dict(P=100, E=1, sizes=(4, 64, 64, 2)),
                  dict(P=1000, E=16, sizes=(4, 64, 64, 2))]
SMOKE_FORWARD = [dict(P=10, E=1, sizes=(4, 16, 2)), dict(P=10, E=1, sizes=(4, 8, 8, 2)),
                 dict(P=20, E=4, sizes=(4, 8, 8, 2))]


def _rng(k):
    return np.random.Generator(np.random.Philox(key=np.array([k, 17], dtype=np.uint64)))


def _torch_forward(torch, pop, obs):
    """The same networks as batched torch matrices: ``bmm`` per layer."""
    spec = pop.spec
    Ws, bs = [], []
    for layer in range(spec.n_layers):
        w0, b0 = int(spec.w_offsets[layer]), int(spec.b_offsets[layer])
        n_in, n_out = spec.sizes[layer], spec.sizes[layer + 1]
        W = pop.genomes[:, w0:w0 + n_in * n_out].reshape(-1, n_in, n_out)
        Ws.append(torch.from_numpy(W.copy()))
        bs.append(torch.from_numpy(pop.genomes[:, b0:b0 + n_out].reshape(-1, 1, n_out).copy()))
    x = torch.from_numpy(obs)

    def run():
        with torch.no_grad():
            h = x
            for layer in range(spec.n_layers):
                h = torch.baddbmm(bs[layer], h, Ws[layer])
                if layer < spec.n_layers - 1:
                    h = torch.relu(h)
            return h

    return run


@pytest.mark.parametrize("k", range(3), ids=["P100-E1-4x16x2", "P100-E1-4x64x64x2",
                                             "P1000-E16-4x64x64x2"])
def test_forward_each_vs_torch_bmm(benchmark, full, rounds, k):
    shape = (FORWARD_SHAPES if full else SMOKE_FORWARD)[k]
    P, E, sizes = shape["P"], shape["E"], shape["sizes"]
    spec = NetworkSpec(list(sizes))  # relu hidden, linear out
    pop = Population.random(spec, P, random_state=k)
    obs = _rng(k).normal(size=(P, E, sizes[0])).astype(np.float32)
    run = lambda: pop.forward_each(obs)  # noqa: E731
    benchmark.pedantic(run, rounds=rounds, iterations=10 if full else 1, warmup_rounds=1)
    calls = (2000 if shape["E"] == 1 else 20) if full else 2

    def many():
        for _ in range(calls):
            run()

    try:
        import torch
    except ImportError:
        torch = None
    if torch is None:
        (ours,) = interleaved_medians([many], rounds=rounds)
        record(benchmark, "forward_each_us", ours / calls * 1e6, 1e3, better="<=", **shape)
        return
    torch.set_num_threads(__import__("numba").get_num_threads())
    trun = _torch_forward(torch, pop, obs)
    np.testing.assert_allclose(trun().numpy(), run(), rtol=1e-4, atol=1e-4)

    def tmany():
        for _ in range(calls):
            trun()

    ours, theirs = interleaved_medians([many, tmany], rounds=rounds)
    record(benchmark, "speedup_vs_torch_bmm", theirs / ours, 1.0,
           fastga_us=ours / calls * 1e6, torch_us=theirs / calls * 1e6, P=P, E=E,
           sizes="x".join(map(str, sizes)))


class _GymnasiumPolicies:
    """gymnasium's vectorised CartPole (P copies, autoreset) with a batched
    policy: NumPy (one batched ``matmul`` per layer, NumPy's vectorised
    ``tanh``) or torch (one ``baddbmm`` per layer, as many torch threads as
    Numba's). ``run()`` takes ``n_steps`` vector steps and returns the
    environment transitions made (a copy that is being reset after its
    episode's end makes none in that step)."""

    def __init__(self, P, spec, genomes, act, n_steps, backend="numpy"):
        gym = pytest.importorskip("gymnasium")
        self.envs = gym.make_vec("CartPole-v1", num_envs=P,
                                 vectorization_mode="vector_entry_point")
        self.layers = []
        for layer in range(spec.n_layers):
            w0, b0 = int(spec.w_offsets[layer]), int(spec.b_offsets[layer])
            n_in, n_out = spec.sizes[layer], spec.sizes[layer + 1]
            self.layers.append((genomes[:, w0:w0 + n_in * n_out].reshape(-1, n_in, n_out).copy(),
                                genomes[:, b0:b0 + n_out].copy()))
        self.torch = None
        if backend == "torch":
            import numba

            import torch

            self.torch = torch
            self.torch.set_num_threads(numba.get_num_threads())
            self.layers = [(self.torch.from_numpy(W), self.torch.from_numpy(b[:, None, :]))
                           for W, b in self.layers]
        self.act, self.n_steps, self.P = act, n_steps, P
        self.obs, _ = self.envs.reset(seed=0)
        self.done = np.zeros(P, dtype=bool)

    def policy(self, obs):
        """Actions (P,) of the P policies on their observations (P, 4)."""
        last = len(self.layers) - 1
        if self.torch is not None:
            torch = self.torch
            with torch.no_grad():
                h = torch.from_numpy(obs.astype(np.float32))[:, None, :]
                for i, (W, b) in enumerate(self.layers):
                    h = torch.baddbmm(b, h, W)
                    if i < last:
                        h = torch.tanh(h) if self.act == "tanh" else torch.relu(h)
                return torch.argmax(h[:, 0, :], dim=1).numpy()
        h = obs.astype(np.float32)
        for i, (W, b) in enumerate(self.layers):
            h = np.matmul(h[:, None, :], W)[:, 0, :] + b
            if i < last:
                h = np.tanh(h) if self.act == "tanh" else np.maximum(h, 0)
        return np.argmax(h, axis=1)

    def run(self):
        steps = 0
        obs, done = self.obs, self.done
        for _ in range(self.n_steps):
            action = self.policy(obs)
            steps += self.P - int(np.count_nonzero(done))
            obs, _, term, trunc, _ = self.envs.step(action)
            done = term | trunc
        self.obs, self.done = obs, done
        return steps


#: Generations of the GA that give the "evolved" population of the throughput
#: benchmark (episodes of about 100-200 steps, as in a run under way).
EVOLVED_GENERATIONS = 10


@pytest.mark.parametrize("policies", ["random", "evolved"])
@pytest.mark.parametrize("act", ["relu", "tanh"])
def test_rollout_steps_per_second_vs_gymnasium(benchmark, full, rounds, act, policies):
    """Medians of interleaved rounds: ``calls`` rollouts of the population
    (about 0.1 s) against ``n_steps`` vector steps of gymnasium with a NumPy policy and with
    a torch policy, each about 0.1-0.2 s; the ratio is against the faster of
    the two (both recorded). A pause before each timed call lets torch's
    OpenMP threads stop spinning; an untimed run of the same callable after
    it wakes the idle second core, so that each is timed in its steady state
    (an evolution run evaluates back to back; see ``interleaved_medians``).

    ``policies``: "random" is the initial population (episodes of 11-15
    steps, where each policy's fixed cost, its 18 KB genome read from memory
    and its reset, weighs most); "evolved" the population after
    :data:`EVOLVED_GENERATIONS` generations of the GA on the same task."""
    import numba

    P = 1000 if full else 20
    spec = NetworkSpec([4, 64, 64, 2], [act, act, "linear"])
    pop = Population.random(spec, P, random_state=0, init="normal", scale=0.1)
    fit = RolloutFitness("CartPole-v1", episodes=1, random_state=0)
    if policies == "evolved":
        ga = GeneticAlgorithm(spec, pop_size=P, random_state=0)
        pop = ga.run(fit, EVOLVED_GENERATIONS if full else 2).population_
    run = lambda: fit(pop)  # noqa: E731
    benchmark.pedantic(run, rounds=rounds, iterations=1, warmup_rounds=1)
    per_call = fit.last_stats["env_steps"]
    t0 = time.perf_counter()
    run()
    calls = max(1, round(0.1 / (time.perf_counter() - t0))) if full else 1  # rounds of ~0.1 s
    n_steps = 100 if full else 5
    gym_np = _GymnasiumPolicies(P, spec, pop.genomes, act, n_steps)
    try:
        import torch  # noqa: F401
    except ImportError:  # the NumPy baseline alone
        gym_torch = None
    else:
        # torch's batched products of one row each are slow: fewer steps.
        gym_torch = _GymnasiumPolicies(P, spec, pop.genomes, act, max(n_steps // 10, 2),
                                       backend="torch")
        # The same policies (an action may differ where two outputs nearly tie).
        assert (gym_np.policy(gym_np.obs) == gym_torch.policy(gym_np.obs)).mean() >= 0.99
    counted = {"numpy": [], "torch": []}

    threads = numba.get_num_threads()

    def ours():
        for _ in range(calls):
            run()

    def ours_one_thread():  # a per-core figure, steadier on a loaded machine
        numba.set_num_threads(1)
        try:
            ours()
        finally:
            numba.set_num_threads(threads)

    def theirs_numpy():
        counted["numpy"].append(gym_np.run())

    def theirs_torch():
        counted["torch"].append(gym_torch.run())

    fns = [ours, ours_one_thread, theirs_numpy] + ([theirs_torch] if gym_torch else [])
    t_ours, t_one, t_np, *t_torch = interleaved_medians(fns, rounds=rounds,
                                                        settle=0.2 if full else 0.0, warm=True)
    gym_np.envs.close()
    ours_sps = calls * per_call / t_ours
    np_sps = float(np.median(counted["numpy"])) / t_np
    torch_sps = 0.0
    if gym_torch:
        gym_torch.envs.close()
        torch_sps = float(np.median(counted["torch"])) / t_torch[0]
    best = max(np_sps, torch_sps)
    record(benchmark, "steps_per_second_ratio", ours_sps / best, 10.0,
           fastga_steps_per_s=ours_sps, gymnasium_numpy_steps_per_s=np_sps,
           gymnasium_torch_steps_per_s=torch_sps,
           baseline="torch" if torch_sps > np_sps else "numpy", P=P, hidden=act,
           policies=policies,
           steps_per_episode=per_call / P, threads=threads,
           one_thread_ratio=calls * per_call / t_one / best)


def test_cartpole_solved(benchmark, full):
    """Wall time (a cold Numba cache where this process compiles) and
    generations until the best policy's mean return over 100 evaluation
    episodes is >= 475."""
    spec = NetworkSpec([4, 16, 2], ["relu", "linear"])
    start = time.perf_counter()
    fit = RolloutFitness("CartPole-v1", episodes=5, random_state=0)
    ga = GeneticAlgorithm(spec, pop_size=100 if full else 20, random_state=0)
    solved = None

    def check(algo, rec):
        nonlocal solved
        if rec["best_fitness"] >= 475 and fit.evaluate(algo.best_network(), 100).mean() >= 475:
            solved = rec["generation"]
            return True
        return False

    benchmark.pedantic(lambda: ga.run(fit, 50 if full else 2, callbacks=[check]), rounds=1,
                       iterations=1)
    seconds = time.perf_counter() - start
    per_gen = np.median(ga.history_["seconds"])
    record(benchmark, "cartpole_seconds", seconds, 30.0, better="<=",
           generations=-1 if solved is None else int(solved), seconds_per_generation=per_gen)
    if full:
        assert solved is not None


#: Settings of the GA per environment: (target, pop_size, episodes, hidden,
#: action, GA keyword arguments, generation budget). Gaussian mutation only.
OTHER_ENVS = {
    "Acrobot-v1": (-100.0, 100, 3, 16, "clip", dict(sigma=0.1), 100),
    "Pendulum-v1": (-200.0, 200, 10, 16, "tanh", dict(sigma=0.1), 500),
    # Large initial weights: policies that swing the car from the start.
    "MountainCarContinuous-v0": (90.0, 200, 3, 8, "clip",
                                 dict(sigma=0.3, init="normal", init_scale=3.0), 100),
}


@pytest.mark.parametrize("name", list(OTHER_ENVS))
def test_other_environments_solved(benchmark, full, name):
    """Wall time and generations until the best policy's mean return over 100
    evaluation episodes (checked every 10 generations) reaches the target."""
    target, pop_size, episodes, hidden, action, kw, budget = OTHER_ENVS[name]
    start = time.perf_counter()
    fit = RolloutFitness(name, episodes=episodes, action=action, random_state=0)
    info = fit.info
    spec = NetworkSpec([info.obs_dim, hidden, info.n_actions], ["tanh", "linear"])
    ga = GeneticAlgorithm(spec, pop_size=pop_size if full else 10, random_state=0,
                          type_probs=(0, 0, 0, 1), **kw)
    result = {"generation": -1, "mean_return": -np.inf}

    def check(algo, rec):
        if rec["generation"] % 10:
            return False
        ev = float(fit.evaluate(algo.best_network(), 100).mean())
        result["mean_return"] = ev
        if ev >= target:
            result["generation"] = rec["generation"]
            return True
        return False

    benchmark.pedantic(lambda: ga.run(fit, budget if full else 1, callbacks=[check]), rounds=1,
                       iterations=1)
    seconds = time.perf_counter() - start
    record(benchmark, "seconds_to_solve", seconds, 600.0, better="<=", env=name,
           generations=result["generation"], mean_return=result["mean_return"],
           return_target=target)
    if full:
        assert result["generation"] >= 0
