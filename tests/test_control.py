"""Control tasks: the per-network forward pass, the fused rollout kernel and
the fitness objects of fastga.control."""

import numba
import numpy as np
import pytest

from fastga import NetworkSpec, Population
from fastga.evaluation import SERIAL_FLOPS
from fastga.kernels.forward import rows_dense_numba, tanh32
from fastga.kernels.rows_ir import tanh_vectors

from . import naive


def _rng(*key):
    return np.random.Generator(np.random.Philox(key=np.array((key + (0, 0))[:2], dtype=np.uint64)))


def _threads(n):
    import numba

    class _Ctx:
        def __enter__(self):
            self.old = numba.get_num_threads()
            numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))

        def __exit__(self, *exc):
            numba.set_num_threads(self.old)

    return _Ctx()


# --------------------------------------------------------------- forward_each
SPECS = [
    NetworkSpec([4, 16, 2]),
    NetworkSpec([3, 5, 7, 4], ["tanh", "sigmoid", "softmax"]),
    NetworkSpec([2, 3, 3, 1], ["leaky_relu", "relu", "tanh"]),
]


@pytest.mark.parametrize("spec", SPECS, ids=str)
@pytest.mark.parametrize("E", [1, 5])
def test_forward_each_matches_numpy(spec, E):
    pop = Population.random(spec, 7, random_state=1, init="normal")
    obs = _rng(1, E).normal(size=(7, E, spec.n_inputs)).astype(np.float32)
    out = pop.forward_each(obs)
    assert out.shape == (7, E, spec.n_outputs) and out.dtype == np.float32
    ref = np.stack([naive.network_forward(pop.genomes[r], spec.sizes, spec.activations, obs[r])
                    for r in range(7)])
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)
    # Network r on its own inputs is the shared-input forward of obs[r].
    for r in (0, 6):
        np.testing.assert_allclose(out[r], pop.forward(obs[r], rows=[r])[0], rtol=1e-5,
                                   atol=1e-6)


#: Layers wider than a block of the IR rows (64 outputs), widths that are not
#: multiples of 16, a layer of fewer inputs than the partial sums, and
#: packed layers of 1 and 2 outputs whose inputs are not a multiple of 8.
WIDE = [NetworkSpec([5, 70, 33, 130, 3], ["tanh", "relu", "tanh", "linear"]),
        NetworkSpec([67, 17, 64, 2], ["relu", "tanh", "softmax"]),
        NetworkSpec([5, 21, 13, 2], ["relu", "tanh", "tanh"]),
        NetworkSpec([9, 21, 1], ["tanh", "relu"])]


@pytest.mark.parametrize("spec", WIDE, ids=str)
@pytest.mark.parametrize("E", [1, 6])
def test_forward_each_wide_layers_match_numpy(spec, E):
    pop = Population.random(spec, 3, random_state=4, init="glorot")
    pop.genomes[:] += _rng(4).normal(scale=0.1, size=pop.genomes.shape).astype(np.float32)
    obs = _rng(4, E).normal(size=(3, E, spec.n_inputs)).astype(np.float32)
    out = pop.forward_each(obs)
    ref = np.stack([naive.network_forward(pop.genomes[r], spec.sizes, spec.activations, obs[r])
                    for r in range(3)])
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)
    if E > 1:  # a row's bits do not depend on the other rows of its network
        one = pop.forward_each(np.ascontiguousarray(obs[:, 1:2]))
        np.testing.assert_array_equal(out[:, 1:2], one)
    # The plain-Numba twin of the IR layer, on the first layer.
    w, x = pop.genomes[0], obs[0].reshape(-1)
    n_in, n_o = spec.sizes[0], spec.sizes[1]
    h = np.empty(E * n_o, dtype=np.float32)
    act = int(spec.act_codes[0])
    rows_dense_numba(w, int(spec.w_offsets[0]), n_in, n_o, int(spec.b_offsets[0]), x, x, False,
                     0, n_in, E, h, h, False, 0, n_o, act)
    W, b = naive.layers(w, spec.sizes)[0]
    ref1 = naive.activation(spec.activations[0], obs[0].astype(np.float64) @ W + b)
    np.testing.assert_allclose(h.reshape(E, n_o), ref1, rtol=1e-5, atol=1e-5)


@numba.njit
def _tanh32_each(x, y):
    for i in range(x.shape[0]):
        y[i] = tanh32(x[i])


@numba.njit
def _tanh_vectors(x, y):
    tanh_vectors(x, y, x.shape[0] // 16)


def test_tanh32_is_within_2_ulp():
    x = np.concatenate([np.linspace(-12, 12, 200_001), np.geomspace(1e-30, 1, 10_001),
                        np.linspace(0.6, 0.65, 1_001), [0.0, 3e38, np.inf]])
    x = np.concatenate([x, -x]).astype(np.float32)
    x = np.concatenate([x, np.zeros(-len(x) % 16, dtype=np.float32)])
    ref = np.tanh(x.astype(np.float64))
    ulp = np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64)
    for run in (_tanh32_each, _tanh_vectors):  # the Numba twin, the IR lanes
        y = np.empty_like(x)
        run(x, y)
        assert (np.abs(y - ref) <= 2 * ulp).all(), run
        np.testing.assert_array_equal(np.sign(y), np.sign(x))  # tanh(-0) may be +0
        nan = np.full(16, np.nan, dtype=np.float32)
        run(nan, nan)
        assert np.isnan(nan).all()


def test_forward_each_rows():
    pop = Population.random(SPECS[0], 9, random_state=2)
    obs = _rng(2).normal(size=(3, 2, 4)).astype(np.float32)
    out = pop.forward_each(obs, rows=[8, 0, 8])
    for k, r in enumerate([8, 0, 8]):
        np.testing.assert_array_equal(out[k], pop.forward_each(obs[k:k + 1], rows=[r])[0])
    assert not np.array_equal(out[0], out[2])


@pytest.mark.parametrize("P", [5, 600])  # below and above the serial threshold
def test_forward_each_bits_do_not_depend_on_threads(P):
    spec = NetworkSpec([6, 32, 32, 3], ["tanh", "relu", "linear"])
    pop = Population.random(spec, P, random_state=3)
    obs = _rng(3, P).normal(size=(P, 3, 6)).astype(np.float32)
    assert (P * 3 * spec.n_params > SERIAL_FLOPS) == (P == 600)
    with _threads(1):
        one = pop.forward_each(obs)
    with _threads(2):
        two = pop.forward_each(obs)
    np.testing.assert_array_equal(one, two)


def test_forward_each_bad_input_names_obs():
    pop = Population.random(SPECS[0], 4, random_state=0)
    with pytest.raises(ValueError, match="^obs"):
        pop.forward_each(np.zeros((4, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="^obs"):
        pop.forward_each(np.zeros((3, 1, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="^obs"):
        pop.forward_each(np.zeros((4, 1, 5), dtype=np.float32))
    with pytest.raises(ValueError, match="^obs"):
        pop.forward_each(np.zeros((4, 0, 4), dtype=np.float32))
    bad = np.zeros((4, 1, 4), dtype=np.float32)
    bad[2, 0, 1] = np.nan
    with pytest.raises(ValueError, match="^obs"):
        pop.forward_each(bad)
    with pytest.raises(TypeError, match="^obs"):
        pop.forward_each(object())
    # Any array-like of the right shape is converted.
    assert pop.forward_each(np.zeros((4, 1, 4)).tolist()).shape == (4, 1, 2)


# ------------------------------------------------------------------ rollouts
import fastga.envs as envs  # noqa: E402
from fastga import GeneticAlgorithm  # noqa: E402
from fastga.control import GymFitness, RolloutFitness, load_policy, save_policy  # noqa: E402


def _policy_spec(name, hidden=8, out_act="linear"):
    info = envs.make(name).info
    return NetworkSpec([info.obs_dim, hidden, info.n_actions], ["tanh", out_act])


def _python_rollout(pop, name, seed, episodes, action="clip", max_steps=None):
    """Episodes of every network by the vectorised env API and forward_each:
    the reference of the fused kernel at generation 0 with common episodes."""
    env = envs.make(name)
    info = env.info
    limit = max_steps or info.max_steps
    out = np.empty(pop.size)
    for r in range(pop.size):
        obs = env.reset(n=episodes, seed=seed)
        ret = np.zeros(episodes)
        alive = np.ones(episodes, dtype=bool)
        for _ in range(limit):
            y = pop.forward_each(obs[None], rows=[r])[0]
            if info.discrete:
                act = np.argmax(y, axis=1)
            else:
                lo = np.float32(info.action_low[0])
                hi = np.float32(info.action_high[0])
                act = (lo + (np.tanh(y) + np.float32(1)) * np.float32(0.5) * (hi - lo)
                       if action == "tanh" else np.clip(y, lo, hi))
            obs, rew, term, _ = env.step(act)
            ret += np.where(alive, rew, 0.0)
            alive &= ~term
            if not alive.any():
                break
        out[r] = ret.mean()
    return out


@pytest.mark.parametrize("name,action", [("CartPole-v1", "clip"), ("Acrobot-v1", "clip"),
                                         ("Pendulum-v1", "tanh"),
                                         ("MountainCarContinuous-v0", "clip")])
def test_rollout_kernel_matches_the_python_loop(name, action):
    spec = _policy_spec(name)
    pop = Population.random(spec, 4, random_state=5, init="normal")
    fit = RolloutFitness(name, episodes=3, action=action, max_steps=120, random_state=11)
    got = fit(pop)
    ref = _python_rollout(pop, name, 11, 3, action, max_steps=120)
    np.testing.assert_allclose(got, ref, rtol=1e-5)
    assert fit.last_stats["env_steps"] > 0


def test_rollout_bits_do_not_depend_on_threads_and_episodes_are_common():
    spec = _policy_spec("CartPole-v1", 16)
    pop = Population.random(spec, 64, random_state=6, init="normal")
    fit = RolloutFitness("CartPole-v1", episodes=2, random_state=3)
    with _threads(1):
        one = fit(pop)
    with _threads(2):
        two = fit(pop)
    np.testing.assert_array_equal(one, two)
    # Common episodes: a copy of a network scores the same in any row.
    clone = Population(spec, np.repeat(pop.genomes[:1], 3, axis=0))
    assert len(set(fit(clone).tolist())) == 1
    # Independent episodes: the copies play different initial states.
    indep = RolloutFitness("CartPole-v1", episodes=1, common=False, random_state=3)
    clone.genomes[:] = 0  # a constant policy: the return depends on the start only
    assert len(set(indep(clone).tolist())) > 1
    # Another generation plays other episodes.
    pop.generation = 1
    assert not np.array_equal(fit(pop), one)


@pytest.mark.parametrize("act", ["relu", "tanh"])
def test_claimed_rows_depend_only_on_themselves(act):
    """The threads claim rows as they go: any thread count gives the same bits,
    and a row's return does not depend on where it is (a 4-64-64-2 policy:
    whole blocks and the packed 2-output layer)."""
    spec = NetworkSpec([4, 64, 64, 2], [act, act, "linear"])
    pop = Population.random(spec, 37, random_state=8, init="normal", scale=0.3)
    fit = RolloutFitness("CartPole-v1", episodes=2, common=False, random_state=5)
    with _threads(1):
        one = fit(pop)
        steps = fit.last_stats["env_steps"]
    with _threads(2):
        two = fit(pop)
    np.testing.assert_array_equal(one, two)
    assert fit.last_stats["env_steps"] == steps
    # With common episodes, a row's return follows its genome wherever it is.
    common = RolloutFitness("CartPole-v1", episodes=2, random_state=5)
    perm = _rng(8).permutation(37)
    with _threads(2):
        got = common(pop)
        shuffled = common(Population(spec, np.ascontiguousarray(pop.genomes[perm])))
    np.testing.assert_array_equal(shuffled, got[perm])
    assert len(set(got.tolist())) > 1


def test_rollout_fitness_solves_cartpole_with_the_ga():
    fit = RolloutFitness("CartPole-v1", episodes=3, random_state=0)
    ga = GeneticAlgorithm(_policy_spec("CartPole-v1", 16, "linear"), pop_size=50,
                          random_state=0, threshold=500)
    ga.run(fit, 30)
    assert ga.best_fitness_ == 500.0
    assert "env_steps" in ga.history_.keys()
    evals = fit.evaluate(ga.best_network(), episodes=20)
    assert evals.shape == (20,) and evals.mean() > 200
    # Evaluation episodes are fixed by the seed and differ from training ones.
    np.testing.assert_array_equal(evals, fit.evaluate(ga.best_network(), episodes=20))


def test_ask_tell_loop_equals_run():
    spec = _policy_spec("Acrobot-v1", 8)
    a = GeneticAlgorithm(spec, pop_size=12, random_state=2)
    a.run(RolloutFitness("Acrobot-v1", max_steps=50, random_state=1), 2)
    b = GeneticAlgorithm(spec, pop_size=12, random_state=2)
    fit = RolloutFitness("Acrobot-v1", max_steps=50, random_state=1)
    for _ in range(3):
        pop = b.ask()
        b.tell(fit(pop), fit.last_stats)
    np.testing.assert_array_equal(a.population_.genomes, b.population_.genomes)
    np.testing.assert_array_equal(a.history_["best_fitness"], b.history_["best_fitness"])


def test_observation_normalisation_is_running_and_saved(tmp_path):
    spec = _policy_spec("Pendulum-v1", 4)
    pop = Population.random(spec, 6, random_state=1, init="normal")
    fit = RolloutFitness("Pendulum-v1", obs_norm=True, max_steps=30, random_state=2)
    plain = RolloutFitness("Pendulum-v1", max_steps=30, random_state=2)
    first = fit(pop)
    np.testing.assert_array_equal(first, plain(pop))  # identity statistics at first
    assert fit.last_stats["env_steps"] == 6 * 30
    assert np.abs(fit.obs_mean).max() > 0 and not np.allclose(fit.obs_std, 1)
    # The statistics are those of every observation seen.
    assert np.all(np.abs(fit.obs_mean[:2]) <= 1) and fit.obs_std[2] <= 8
    assert not np.array_equal(fit(pop), first)
    path = save_policy(tmp_path / "p.npz", pop.network(0), fit)
    net, extras = load_policy(path)
    np.testing.assert_array_equal(net.genome, pop.genomes[0])
    np.testing.assert_array_equal(extras["obs_mean"], fit.obs_mean)
    assert extras["env"] == "Pendulum-v1" and extras["action"] == "clip"


def test_rollout_bad_input():
    with pytest.raises(ValueError, match="^episodes"):
        RolloutFitness("CartPole-v1", episodes=0)
    with pytest.raises(ValueError, match="^action"):
        RolloutFitness("Pendulum-v1", action="sigmoid")
    fit = RolloutFitness("CartPole-v1")
    with pytest.raises(ValueError, match="^population.*inputs"):
        fit(Population.random([3, 2], 2, random_state=0))
    with pytest.raises(ValueError, match="^population.*outputs"):
        fit(Population.random([4, 3], 2, random_state=0))
    with pytest.raises(TypeError, match="^population"):
        fit(np.zeros((2, 10)))


def test_gymnasium_fallback_for_environments_not_ported():
    gym = pytest.importorskip("gymnasium")
    fit = RolloutFitness("MountainCar-v0", episodes=2, max_steps=40, random_state=0)
    assert isinstance(fit, GymFitness)
    spec = NetworkSpec([2, 4, 3], ["tanh", "linear"])
    pop = Population.random(spec, 5, random_state=0, init="normal")
    got = fit(pop)
    assert got.shape == (5,) and np.all(got == -40.0)  # -1 per step, no goal in 40 steps
    assert fit.last_stats["env_steps"] == 5 * 2 * 40
    # The same loop on a ported environment gives the port's returns
    # (gymnasium's resets differ, so compare a policy whose return does not
    # depend on them: CartPole's constant push fails in a few steps either way).
    cp = GymFitness(lambda: gym.make("CartPole-v1"), episodes=1, random_state=0)
    zero = Population(NetworkSpec([4, 2]), np.zeros((2, NetworkSpec([4, 2]).n_params)))
    r = cp(zero)
    assert 8 <= r.min() <= r.max() <= 11
    ev = cp.evaluate(zero.network(0), episodes=3)
    assert ev.shape == (3,)
    cp.close()
    fit.close()


def test_gym_workers_isolate_a_crash_and_time_out():
    pytest.importorskip("gymnasium")
    import os
    import signal
    import threading
    import time

    from .naive_envs import slow_mountain_car

    spec = NetworkSpec([2, 3])
    pop = Population(spec, np.zeros((4, spec.n_params)))  # argmax 0: push left, never the goal
    fit = GymFitness(slow_mountain_car, episodes=1, workers=2, random_state=0)
    try:
        np.testing.assert_array_equal(fit(pop), -200.0)  # starts the workers
        assert fit.last_stats == {"env_steps": 800, "failed_workers": 0}
        pids = fit.worker_pids
        assert all(pids)
        out = {}
        call = threading.Thread(target=lambda: out.setdefault("f", fit(pop)))
        call.start()
        time.sleep(0.4)  # a call lasts 200 steps x 2 envs x STEP_SECONDS = 1.6 s
        os.kill(pids[0], signal.SIGKILL)
        call.join(60)
        f = out["f"]
        assert np.all(f[:2] == -np.inf) and np.all(f[2:] == -200.0)
        assert fit.last_stats["failed_workers"] == 1
        # The dead worker is replaced at the next call.
        np.testing.assert_array_equal(fit(pop), -200.0)
        assert fit.worker_pids[0] not in (None, pids[0]) and fit.worker_pids[1] == pids[1]
        # A call over its time limit: every worker still running loses its share.
        fit.timeout = 0.3
        assert np.all(fit(pop) == -np.inf) and fit.last_stats["failed_workers"] == 2
    finally:
        fit.close()
    assert fit.worker_pids == [None, None]
    with pytest.raises(ValueError, match="^env"):
        GymFitness(lambda: slow_mountain_car(), workers=1)
