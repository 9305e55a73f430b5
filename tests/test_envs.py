"""fastga.envs: the Numba ports step like gymnasium's environments."""

import numpy as np
import pytest

import fastga.envs as envs


# Counter-based draws for the tests' random actions (no global np.random).
def _rng(*key):
    return np.random.Generator(np.random.Philox(key=np.array((key + (0, 0))[:2], dtype=np.uint64)))


def _set_state(gym_env, state):
    """Put the port's float64 state into gymnasium's environment."""
    gym_env.unwrapped.state = np.array(state, dtype=np.float64)


@pytest.mark.parametrize("name", envs.NAMES)
def test_transitions_match_gymnasium(name):
    """20 episodes of random actions: from the port's state before each step,
    gymnasium's step gives the same observation, reward, termination and
    truncation (time limits included)."""
    gym = pytest.importorskip("gymnasium")
    env = envs.make(name)
    ref = gym.make(name)
    info = env.info
    rng = _rng(7, len(name))
    worst_obs = worst_rew = 0.0
    for episode in range(20):
        env.reset(n=1, seed=episode)
        ref.reset(seed=episode)
        for t in range(info.max_steps + 1):
            _set_state(ref, env.state[0])
            if info.discrete:
                a = int(rng.integers(info.n_actions))
                obs, rew, term, trunc = env.step(np.array([a]))
                robs, rrew, rterm, rtrunc, _ = ref.step(a)
            else:
                lo, hi = info.action_low[0], info.action_high[0]
                u = rng.uniform(1.2 * lo, 1.2 * hi, size=(1, info.n_actions)).astype(np.float32)
                obs, rew, term, trunc = env.step(u)
                robs, rrew, rterm, rtrunc, _ = ref.step(u[0])
            assert obs.dtype == np.float32 and obs.shape == (1, info.obs_dim)
            worst_obs = max(worst_obs, float(np.abs(obs[0] - robs).max()))
            worst_rew = max(worst_rew, abs(float(rew[0]) - float(rrew)))
            assert bool(term[0]) == bool(rterm), (episode, t)
            assert bool(trunc[0]) == bool(rtrunc), (episode, t)
            if term[0] or trunc[0]:
                break
        else:
            pytest.fail("an episode ran past the time limit")
    assert worst_obs <= 1e-4 and worst_rew <= 1e-4, (worst_obs, worst_rew)


@pytest.mark.parametrize("name", envs.NAMES)
def test_reset_draws_from_gymnasiums_ranges_and_is_seeded(name):
    env = envs.make(name)
    obs = env.reset(n=200, seed=3)
    assert obs.shape == (200, env.info.obs_dim) and obs.dtype == np.float32
    np.testing.assert_array_equal(obs, env.reset(n=200, seed=3))
    assert not np.array_equal(obs, env.reset(n=200, seed=4))
    # The first copies of a bigger batch are the same episodes.
    np.testing.assert_array_equal(env.reset(n=5, seed=3), obs[:5])
    env.reset(n=200, seed=3)
    s = env.state
    if name == "CartPole-v1":
        assert np.abs(s).max() <= 0.05
    elif name == "Acrobot-v1":
        assert np.abs(s).max() <= 0.1
    elif name == "MountainCarContinuous-v0":
        assert (s[:, 0] >= -0.6).all() and (s[:, 0] <= -0.4).all() and (s[:, 1] == 0).all()
    else:
        assert np.abs(s[:, 0]).max() <= np.pi and np.abs(s[:, 1]).max() <= 1.0
    assert s.std(axis=0)[0] > 0


@pytest.mark.parametrize("name", envs.NAMES)
def test_spaces_are_gymnasiums(name):
    gym = pytest.importorskip("gymnasium")
    env, ref = envs.make(name), gym.make(name)
    assert env.action_space == ref.action_space
    assert env.observation_space.shape == ref.observation_space.shape
    np.testing.assert_allclose(env.observation_space.low, ref.observation_space.low, rtol=1e-6)
    np.testing.assert_allclose(env.observation_space.high, ref.observation_space.high, rtol=1e-6)
    assert env.info.max_steps == ref.spec.max_episode_steps
    assert env.info.reward_threshold == ref.spec.reward_threshold


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="^name"):
        envs.make("CartPole-v0")
    env = envs.make("CartPole-v1")
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(1, dtype=np.int64))
    env.reset(n=3, seed=0)
    with pytest.raises(ValueError, match="^actions"):
        env.step(np.zeros(2, dtype=np.int64))
    with pytest.raises(ValueError, match="^actions"):
        env.step(np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="^actions"):
        env.step(np.zeros(3, dtype=np.float32))
    with pytest.raises(ValueError, match="^n"):
        env.reset(n=0)
    cont = envs.make("Pendulum-v1")
    cont.reset(n=2, seed=0)
    with pytest.raises(ValueError, match="^actions"):
        cont.step(np.zeros((2, 2), dtype=np.float32))
    with pytest.raises(ValueError, match="^actions"):
        cont.step(np.array([[np.nan], [0.0]], dtype=np.float32))
    obs, *_ = cont.step(np.zeros(2, dtype=np.float32))  # (N,) for one component
    assert obs.shape == (2, 3)


def test_truncation_at_the_time_limit():
    env = envs.make("Pendulum-v1")
    env.reset(n=2, seed=0)
    for t in range(200):
        _, _, term, trunc = env.step(np.zeros((2, 1), dtype=np.float32))
        assert not term.any()
        assert trunc.all() == (t == 199)
