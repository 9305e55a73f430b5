"""Classic-control environments as Numba functions of one environment's state.

Ports of gymnasium's CartPole-v1, Acrobot-v1, MountainCarContinuous-v0 and
Pendulum-v1 (same constants, integrators, rewards and termination rules;
the time limits are applied by the callers). Each environment is three
functions of a float64 state vector:

- ``<env>_reset(state, key, episode)``: draws the initial state from the
  counter-based stream ``key`` (:mod:`fastga.kernels.rng`), counters
  ``episode * RESET_DRAWS + k``, so episode ``e`` of a stream is the same
  whatever else is drawn;
- ``<env>_obs(state, out)``: writes the float32 observation;
- ``<env>_step(state, a, u)``: advances the state in place by one step with
  the discrete action ``a`` (int) or the continuous action ``u`` (float32
  vector; the other one is ignored) and returns ``(reward, terminated)``.

The state is kept in float64 as gymnasium keeps it (Acrobot's initial state
and MountainCar's state after each step are rounded to float32, as there).

:func:`rollout_body` runs whole episodes of one environment with a policy
network per row; the per-environment kernels (``<env>_rollout``,
``<env>_reset_batch``, ``<env>_step_batch``) instantiate the shared bodies
with that environment's functions (globals, so the kernels are cached).
"""

import math

import numpy as np
from numba import njit, types
from numba.extending import intrinsic, overload

from ..registry import Purpose
from .forward import all_fused, each_buffers, network_rows, policy_forward, scratch
from .bits import prefetch
from .rng import random_uniform, stream_key
from .simd import data
from .tiles import CACHE

__all__ = ["RESET_DRAWS", "CLAIM_ROWS", "ENVIRONMENTS", "claim"]

#: Counters of a reset stream reserved per episode.
RESET_DRAWS = 8

#: Cache lines of the next network's genome :func:`rollout_body` asks for
#: per step: an episode may last a few steps only, and a genome read from
#: memory at its first step would cost more than the episode's arithmetic.
PREFETCH_LINES = 32

#: Rows :func:`rollout_body` claims at a time from its shared counter.
CLAIM_ROWS = 4

_PI = math.pi


@intrinsic
def claim(typingctx, counter, n):
    """``claim(counter, n)``: adds ``n`` to ``counter[0]`` (an int64 array) in
    one atomic operation and returns the value before: threads that share
    ``counter`` take distinct ranges of rows."""
    if not (isinstance(counter, types.Array) and counter.dtype == types.int64
            and counter.layout == "C" and isinstance(n, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        ptr = data(context, builder, signature.args[0], args[0])
        return builder.atomic_rmw("add", ptr, args[1], "monotonic")

    return types.int64(counter, types.int64), codegen


# ------------------------------------------------------------------ CartPole
_CP_GRAVITY = 9.8
_CP_MASSPOLE = 0.1
_CP_TOTAL_MASS = 1.1
_CP_LENGTH = 0.5
_CP_POLEMASS_LENGTH = 0.05
_CP_FORCE = 10.0
_CP_TAU = 0.02
_CP_THETA_LIMIT = 12 * 2 * math.pi / 360
_CP_X_LIMIT = 2.4


@njit(cache=True, inline="always")
def cartpole_reset(state, key, episode):
    for k in range(4):
        state[k] = -0.05 + 0.1 * random_uniform(key, episode * RESET_DRAWS + k)


@njit(cache=True, inline="always")
def cartpole_obs(state, out):
    for k in range(4):
        out[k] = np.float32(state[k])


@njit(cache=True, inline="always")
def cartpole_step(state, a, u):
    x, x_dot, theta, theta_dot = state[0], state[1], state[2], state[3]
    force = _CP_FORCE if a == 1 else -_CP_FORCE
    costheta = math.cos(theta)
    sintheta = math.sin(theta)
    temp = (force + _CP_POLEMASS_LENGTH * theta_dot * theta_dot * sintheta) / _CP_TOTAL_MASS
    thetaacc = (_CP_GRAVITY * sintheta - costheta * temp) / (
        _CP_LENGTH * (4.0 / 3.0 - _CP_MASSPOLE * costheta * costheta / _CP_TOTAL_MASS))
    xacc = temp - _CP_POLEMASS_LENGTH * thetaacc * costheta / _CP_TOTAL_MASS
    x = x + _CP_TAU * x_dot
    x_dot = x_dot + _CP_TAU * xacc
    theta = theta + _CP_TAU * theta_dot
    theta_dot = theta_dot + _CP_TAU * thetaacc
    state[0] = x
    state[1] = x_dot
    state[2] = theta
    state[3] = theta_dot
    terminated = (x < -_CP_X_LIMIT or x > _CP_X_LIMIT or theta < -_CP_THETA_LIMIT
                  or theta > _CP_THETA_LIMIT)
    return 1.0, terminated


# ------------------------------------------------------------------- Acrobot
_AC_DT = 0.2
_AC_L1 = 1.0
_AC_M1 = 1.0
_AC_M2 = 1.0
_AC_LC1 = 0.5
_AC_LC2 = 0.5
_AC_I = 1.0
_AC_MAX_VEL_1 = 4 * math.pi
_AC_MAX_VEL_2 = 9 * math.pi


@njit(cache=True, inline="always")
def acrobot_reset(state, key, episode):
    for k in range(4):
        v = -0.1 + 0.2 * random_uniform(key, episode * RESET_DRAWS + k)
        state[k] = np.float64(np.float32(v))


@njit(cache=True, inline="always")
def acrobot_obs(state, out):
    out[0] = np.float32(math.cos(state[0]))
    out[1] = np.float32(math.sin(state[0]))
    out[2] = np.float32(math.cos(state[1]))
    out[3] = np.float32(math.sin(state[1]))
    out[4] = np.float32(state[2])
    out[5] = np.float32(state[3])


@njit(cache=True, inline="always")
def _acrobot_dsdt(theta1, theta2, dtheta1, dtheta2, a):
    """Time derivatives of the state ("book" dynamics, gymnasium's default)."""
    m1, m2, l1, lc1, lc2, i1, i2, g = _AC_M1, _AC_M2, _AC_L1, _AC_LC1, _AC_LC2, _AC_I, _AC_I, 9.8
    d1 = m1 * lc1 ** 2 + m2 * (l1 ** 2 + lc2 ** 2 + 2 * l1 * lc2 * math.cos(theta2)) + i1 + i2
    d2 = m2 * (lc2 ** 2 + l1 * lc2 * math.cos(theta2)) + i2
    phi2 = m2 * lc2 * g * math.cos(theta1 + theta2 - _PI / 2.0)
    phi1 = (-m2 * l1 * lc2 * dtheta2 ** 2 * math.sin(theta2)
            - 2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * math.sin(theta2)
            + (m1 * lc1 + m2 * l1) * g * math.cos(theta1 - _PI / 2) + phi2)
    ddtheta2 = ((a + d2 / d1 * phi1 - m2 * l1 * lc2 * dtheta1 ** 2 * math.sin(theta2) - phi2)
                / (m2 * lc2 ** 2 + i2 - d2 ** 2 / d1))
    ddtheta1 = -(d2 * ddtheta2 + phi1) / d1
    return dtheta1, dtheta2, ddtheta1, ddtheta2


@njit(cache=True, inline="always")
def _wrap(x, m, big):
    diff = big - m
    while x > big:
        x = x - diff
    while x < m:
        x = x + diff
    return x


@njit(cache=True, inline="always")
def acrobot_step(state, a, u):
    torque = float(a) - 1.0  # actions 0, 1, 2: torques -1, 0, +1
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    h = _AC_DT / 2.0
    k10, k11, k12, k13 = _acrobot_dsdt(s0, s1, s2, s3, torque)
    k20, k21, k22, k23 = _acrobot_dsdt(s0 + h * k10, s1 + h * k11, s2 + h * k12, s3 + h * k13,
                                       torque)
    k30, k31, k32, k33 = _acrobot_dsdt(s0 + h * k20, s1 + h * k21, s2 + h * k22, s3 + h * k23,
                                       torque)
    k40, k41, k42, k43 = _acrobot_dsdt(s0 + _AC_DT * k30, s1 + _AC_DT * k31, s2 + _AC_DT * k32,
                                       s3 + _AC_DT * k33, torque)
    c = _AC_DT / 6.0
    n0 = s0 + c * (k10 + 2 * k20 + 2 * k30 + k40)
    n1 = s1 + c * (k11 + 2 * k21 + 2 * k31 + k41)
    n2 = s2 + c * (k12 + 2 * k22 + 2 * k32 + k42)
    n3 = s3 + c * (k13 + 2 * k23 + 2 * k33 + k43)
    state[0] = _wrap(n0, -_PI, _PI)
    state[1] = _wrap(n1, -_PI, _PI)
    state[2] = min(max(n2, -_AC_MAX_VEL_1), _AC_MAX_VEL_1)
    state[3] = min(max(n3, -_AC_MAX_VEL_2), _AC_MAX_VEL_2)
    terminated = -math.cos(state[0]) - math.cos(state[1] + state[0]) > 1.0
    return (0.0 if terminated else -1.0), terminated


# ---------------------------------------------------- MountainCarContinuous
_MC_MIN_POS = -1.2
_MC_MAX_POS = 0.6
_MC_MAX_SPEED = 0.07
_MC_GOAL_POS = 0.45
_MC_POWER = 0.0015


@njit(cache=True, inline="always")
def mountaincar_reset(state, key, episode):
    state[0] = -0.6 + 0.2 * random_uniform(key, episode * RESET_DRAWS)
    state[1] = 0.0


@njit(cache=True, inline="always")
def mountaincar_obs(state, out):
    out[0] = np.float32(state[0])
    out[1] = np.float32(state[1])


@njit(cache=True, inline="always")
def mountaincar_step(state, a, u):
    action = np.float64(u[0])
    force = min(max(action, -1.0), 1.0)
    position, velocity = state[0], state[1]
    velocity += force * _MC_POWER - 0.0025 * math.cos(3 * position)
    velocity = min(max(velocity, -_MC_MAX_SPEED), _MC_MAX_SPEED)
    position += velocity
    position = min(max(position, _MC_MIN_POS), _MC_MAX_POS)
    if position == _MC_MIN_POS and velocity < 0:
        velocity = 0.0
    terminated = position >= _MC_GOAL_POS and velocity >= 0.0
    reward = 100.0 if terminated else 0.0
    reward -= action * action * 0.1
    state[0] = np.float64(np.float32(position))
    state[1] = np.float64(np.float32(velocity))
    return reward, terminated


# ------------------------------------------------------------------ Pendulum
_PD_MAX_SPEED = 8.0
_PD_MAX_TORQUE = 2.0
_PD_DT = 0.05
_PD_G = 10.0


@njit(cache=True, inline="always")
def pendulum_reset(state, key, episode):
    state[0] = -_PI + 2 * _PI * random_uniform(key, episode * RESET_DRAWS)
    state[1] = -1.0 + 2.0 * random_uniform(key, episode * RESET_DRAWS + 1)


@njit(cache=True, inline="always")
def pendulum_obs(state, out):
    out[0] = np.float32(math.cos(state[0]))
    out[1] = np.float32(math.sin(state[0]))
    out[2] = np.float32(state[1])


@njit(cache=True, inline="always")
def pendulum_step(state, a, u):
    th, thdot = state[0], state[1]
    torque = np.float64(min(max(u[0], np.float32(-_PD_MAX_TORQUE)), np.float32(_PD_MAX_TORQUE)))
    norm = ((th + _PI) % (2 * _PI)) - _PI
    costs = norm ** 2 + 0.1 * thdot ** 2 + 0.001 * (torque ** 2)
    newthdot = thdot + (3 * _PD_G / 2.0 * math.sin(th) + 3.0 * torque) * _PD_DT
    newthdot = min(max(newthdot, -_PD_MAX_SPEED), _PD_MAX_SPEED)
    state[0] = th + newthdot * _PD_DT
    state[1] = newthdot
    return -costs, False


# ------------------------------------------------------------ shared bodies
# The bodies take an environment's functions as arguments; they call them
# through these overloads, which turn the call into a direct, inlinable call
# of that function: a plain call of a function-typed argument is much slower
# per step (bench/README.md, "Control tasks").
def call2(fn, a, b):
    """``fn(a, b)`` for a Numba function ``fn`` passed as an argument (kernel code only)."""
    raise NotImplementedError("call2 runs in compiled code only")


def call3(fn, a, b, c):
    """``fn(a, b, c)`` for a Numba function ``fn`` passed as an argument (kernel code only)."""
    raise NotImplementedError("call3 runs in compiled code only")


@overload(call2, inline="always")
def _call2(fn, a, b):
    target = fn.dispatcher
    return lambda fn, a, b: target(a, b)


@overload(call3, inline="always")
def _call3(fn, a, b, c):
    target = fn.dispatcher
    return lambda fn, a, b, c: target(a, b, c)


@njit(inline="always")
def reset_batch_body(reset, obs_fn, state, t, obs, seed, first, lo, hi):
    """Reset environments ``lo .. hi-1``: environment ``i`` takes episode
    ``first + i`` of the stream ``(seed, 0, 0, ENV_RESET)``."""
    key = stream_key(seed, 0, 0, Purpose.ENV_RESET)
    for i in range(lo, hi):
        call3(reset, state[i], key, first + i)
        call2(obs_fn, state[i], obs[i])
        t[i] = 0


@njit(inline="always")
def step_batch_body(step, obs_fn, state, t, a, u, max_steps, obs, reward, terminated, truncated,
                    lo, hi):
    """One step of environments ``lo .. hi-1`` with actions ``a[i]`` (discrete) or
    ``u[i]`` (continuous)."""
    for i in range(lo, hi):
        r, term = call3(step, state[i], a[i], u[i])
        call2(obs_fn, state[i], obs[i])
        t[i] += 1
        reward[i] = r
        terminated[i] = term
        truncated[i] = t[i] >= max_steps


@njit(inline="always")
def rollout_body(reset, obs_fn, step, state_dim, genomes, sizes, w_offs, b_offs, acts, seed,
                 generation, common, episodes, max_steps, discrete, squash, low, high, mean,
                 inv_std, normalize, returns, lengths, obs_sum, obs_sq, counter, lo, hi):
    """Episodes of networks ``lo .. hi-1``, each acting alone in its environment.

    The rows are claimed :data:`CLAIM_ROWS` at a time: row ``lo + c`` for
    each ``c`` that :func:`claim` takes from ``counter[0]`` (0 before the
    first call), until ``hi``. Any number of calls may run at once on the
    same counter and range (one per thread): they share the rows out as they
    go, each row played by one of them, and a row's results do not depend
    on which.

    Row ``r`` plays ``episodes`` episodes; episode ``e`` starts from episode
    ``e`` of the reset stream ``(seed, generation, 0 if common else r,
    ENV_RESET)`` and ends when it terminates or after ``max_steps`` steps.
    Each step the policy sees the observation (``(obs - mean) * inv_std``
    where ``normalize``) and acts: the argmax of its outputs for a discrete
    space; else each output, squashed into ``[low, high]`` by
    ``low + (tanh(y) + 1) / 2 * (high - low)`` where ``squash``, or clipped
    to it. Writes ``returns[r]`` (mean return over the episodes),
    ``lengths[r]`` (steps over all episodes) and, where ``normalize``, the
    sums ``obs_sum[r]`` and ``obs_sq[r]`` of the raw observations seen.

    The policy is :func:`~fastga.kernels.forward.network_rows` (the same
    bits as :meth:`fastga.Population.forward_each` on one row) where every
    activation is fused, else :func:`~fastga.kernels.forward.policy_forward`.
    Each genome is first copied into 64-byte-aligned scratch (the
    population's rows are not aligned, and every weight vector read across
    two cache lines costs two loads, at every step), and the next row's
    genome is prefetched during the episodes.
    """
    n_obs = sizes[0]
    n_act = sizes[sizes.shape[0] - 1]
    n_params = genomes.shape[1]
    wa = scratch(1, n_params).reshape(n_params)
    n_layers = sizes.shape[0] - 1
    buf, tmp = each_buffers(sizes, 1)
    half = buf.shape[0] // 2
    fused = all_fused(acts)
    state = np.empty(state_dim, dtype=np.float64)
    raw = np.empty(n_obs, dtype=np.float32)
    x = np.empty(n_obs, dtype=np.float32)
    y = np.empty(n_act, dtype=np.float32)
    u = np.zeros(n_act, dtype=np.float32)
    r = lo + claim(counter, CLAIM_ROWS)
    end = min(r + CLAIM_ROWS, hi)
    ahead = hi  # the first row of the next claim, taken at the last row of this one
    while r < hi:
        if r + 1 == end:
            ahead = lo + claim(counter, CLAIM_ROWS)
        g = genomes[r]
        for k in range(n_params):
            wa[k] = g[k]
        nxt = r + 1 if r + 1 < end else (ahead if ahead < hi else r)
        pf = 0  # the next row's genome is prefetched, PREFETCH_LINES lines per step
        key = stream_key(seed, generation, 0 if common else r, Purpose.ENV_RESET)
        total = 0.0
        steps = 0
        if normalize:
            for k in range(n_obs):
                obs_sum[r, k] = 0.0
                obs_sq[r, k] = 0.0
        for e in range(episodes):
            call3(reset, state, key, e)
            ret = 0.0
            for _ in range(max_steps):
                call2(obs_fn, state, raw)
                for _ in range(PREFETCH_LINES):
                    if pf < n_params:
                        prefetch(genomes, (nxt, pf))
                        pf += 16
                if normalize:
                    for k in range(n_obs):
                        v = raw[k]
                        obs_sum[r, k] += v
                        obs_sq[r, k] += np.float64(v) * v
                        x[k] = (v - mean[k]) * inv_std[k]
                else:
                    for k in range(n_obs):
                        x[k] = raw[k]
                if fused:
                    network_rows(wa, 0, sizes, w_offs, b_offs, acts, n_layers, x, 0, 1, buf,
                                 half, y, 0)
                else:
                    policy_forward(wa, 0, sizes, w_offs, b_offs, acts, x, 0, 1, buf, tmp, y, 0)
                a = 0
                if discrete:
                    best = y[0]
                    for k in range(1, n_act):
                        if y[k] > best:
                            best = y[k]
                            a = k
                else:
                    for k in range(n_act):
                        if squash:
                            u[k] = low[k] + (np.tanh(y[k]) + np.float32(1.0)) * np.float32(0.5) * (
                                high[k] - low[k])
                        else:
                            u[k] = min(max(y[k], low[k]), high[k])
                reward, term = call3(step, state, a, u)
                ret += reward
                steps += 1
                if term:
                    break
            total += ret
        returns[r] = total / episodes
        lengths[r] = steps
        r += 1
        if r == end:
            r = ahead
            end = min(r + CLAIM_ROWS, hi)


# ---------------------------------------------- the kernels of each environment
@njit(nogil=True, cache=True)
def cartpole_reset_batch(state, t, obs, seed, first, lo, hi):
    reset_batch_body(cartpole_reset, cartpole_obs, state, t, obs, seed, first, lo, hi)


@njit(nogil=True, cache=True)
def cartpole_step_batch(state, t, a, u, max_steps, obs, reward, terminated, truncated, lo, hi):
    step_batch_body(cartpole_step, cartpole_obs, state, t, a, u, max_steps, obs, reward,
                    terminated, truncated, lo, hi)


@njit(nogil=True, cache=CACHE, fastmath={"contract"}, error_model="numpy")
def cartpole_rollout(genomes, sizes, w_offs, b_offs, acts, seed, generation, common, episodes,
                     max_steps, discrete, squash, low, high, mean, inv_std, normalize, returns,
                     lengths, obs_sum, obs_sq, counter, lo, hi):
    rollout_body(cartpole_reset, cartpole_obs, cartpole_step, 4, genomes, sizes, w_offs, b_offs,
                 acts, seed, generation, common, episodes, max_steps, discrete, squash, low, high,
                 mean, inv_std, normalize, returns, lengths, obs_sum, obs_sq, counter, lo, hi)


@njit(nogil=True, cache=True)
def acrobot_reset_batch(state, t, obs, seed, first, lo, hi):
    reset_batch_body(acrobot_reset, acrobot_obs, state, t, obs, seed, first, lo, hi)


@njit(nogil=True, cache=True)
def acrobot_step_batch(state, t, a, u, max_steps, obs, reward, terminated, truncated, lo, hi):
    step_batch_body(acrobot_step, acrobot_obs, state, t, a, u, max_steps, obs, reward,
                    terminated, truncated, lo, hi)


@njit(nogil=True, cache=CACHE, fastmath={"contract"}, error_model="numpy")
def acrobot_rollout(genomes, sizes, w_offs, b_offs, acts, seed, generation, common, episodes,
                    max_steps, discrete, squash, low, high, mean, inv_std, normalize, returns,
                    lengths, obs_sum, obs_sq, counter, lo, hi):
    rollout_body(acrobot_reset, acrobot_obs, acrobot_step, 4, genomes, sizes, w_offs, b_offs,
                 acts, seed, generation, common, episodes, max_steps, discrete, squash, low, high,
                 mean, inv_std, normalize, returns, lengths, obs_sum, obs_sq, counter, lo, hi)


@njit(nogil=True, cache=True)
def mountaincar_reset_batch(state, t, obs, seed, first, lo, hi):
    reset_batch_body(mountaincar_reset, mountaincar_obs, state, t, obs, seed, first, lo, hi)


@njit(nogil=True, cache=True)
def mountaincar_step_batch(state, t, a, u, max_steps, obs, reward, terminated, truncated, lo,
                           hi):
    step_batch_body(mountaincar_step, mountaincar_obs, state, t, a, u, max_steps, obs, reward,
                    terminated, truncated, lo, hi)


@njit(nogil=True, cache=CACHE, fastmath={"contract"}, error_model="numpy")
def mountaincar_rollout(genomes, sizes, w_offs, b_offs, acts, seed, generation, common, episodes,
                        max_steps, discrete, squash, low, high, mean, inv_std, normalize, returns,
                        lengths, obs_sum, obs_sq, counter, lo, hi):
    rollout_body(mountaincar_reset, mountaincar_obs, mountaincar_step, 2, genomes, sizes, w_offs,
                 b_offs, acts, seed, generation, common, episodes, max_steps, discrete, squash,
                 low, high, mean, inv_std, normalize, returns, lengths, obs_sum, obs_sq, counter,
                 lo, hi)


@njit(nogil=True, cache=True)
def pendulum_reset_batch(state, t, obs, seed, first, lo, hi):
    reset_batch_body(pendulum_reset, pendulum_obs, state, t, obs, seed, first, lo, hi)


@njit(nogil=True, cache=True)
def pendulum_step_batch(state, t, a, u, max_steps, obs, reward, terminated, truncated, lo, hi):
    step_batch_body(pendulum_step, pendulum_obs, state, t, a, u, max_steps, obs, reward,
                    terminated, truncated, lo, hi)


@njit(nogil=True, cache=CACHE, fastmath={"contract"}, error_model="numpy")
def pendulum_rollout(genomes, sizes, w_offs, b_offs, acts, seed, generation, common, episodes,
                     max_steps, discrete, squash, low, high, mean, inv_std, normalize, returns,
                     lengths, obs_sum, obs_sq, counter, lo, hi):
    rollout_body(pendulum_reset, pendulum_obs, pendulum_step, 2, genomes, sizes, w_offs, b_offs,
                 acts, seed, generation, common, episodes, max_steps, discrete, squash, low, high,
                 mean, inv_std, normalize, returns, lengths, obs_sum, obs_sq, counter, lo, hi)


#: ``{name: (reset_batch, step_batch, rollout)}`` of every ported environment.
ENVIRONMENTS = {
    "CartPole-v1": (cartpole_reset_batch, cartpole_step_batch, cartpole_rollout),
    "Acrobot-v1": (acrobot_reset_batch, acrobot_step_batch, acrobot_rollout),
    "MountainCarContinuous-v0": (mountaincar_reset_batch, mountaincar_step_batch,
                                 mountaincar_rollout),
    "Pendulum-v1": (pendulum_reset_batch, pendulum_step_batch, pendulum_rollout),
}
