"""Control tasks: the fitness of policy networks is their return in an environment.

Two fitness objects, usable as ``algo.run(fitness, generations)`` or in an
ask/tell loop with any :class:`~fastga.Algorithm`::

    fit = RolloutFitness("CartPole-v1", episodes=5)
    ga = GeneticAlgorithm([4, 16, 2], pop_size=100, random_state=0)
    ga.run(fit, 20)
    fit.evaluate(ga.best_genome_, episodes=100).mean()

- :class:`RolloutFitness`: environments of :mod:`fastga.envs` (Numba ports).
  Every episode of every policy, the policy's forward pass and the
  environment's step included, runs inside one Numba kernel call per
  thread (:func:`fastga.evaluation.run_rows`), the calls claiming the
  population's rows a few at a time: no Python per step or per row.
- :class:`GymFitness`: any other gymnasium environment (a user's own,
  Box2D, MuJoCo), stepped from Python as one gymnasium vector environment of
  ``P * episodes`` copies, the policies batched by
  :meth:`fastga.Population.forward_each`; in this process or in worker
  processes, where a worker that crashes or hangs costs only its share of
  the population. :class:`RolloutFitness` falls back to it for an id that
  is not ported.

Actions: a discrete space takes the argmax of the network's outputs (one
output per action; ties go to the lowest action). A continuous space takes
one output per component, mapped into the bounds ``[low, high]``:
``action="clip"`` (default) clips the output, ``action="tanh"`` squashes it,
``low + (tanh(y) + 1) / 2 * (high - low)``.

Fitness is the mean undiscounted return over the episodes. Episode ``e`` of
generation ``g`` starts from the counter-based reset stream of ``(seed, g,
individual, Purpose.ENV_RESET)``; with ``common=True`` (default, common
random numbers) every individual of a generation plays the same
``episodes`` initial states, so their returns are compared on equal terms.
"""

from __future__ import annotations

import numpy as np

from ._random import philox, resolve_seed
from .envs.classic_control import INFO, ClassicControlEnv
from .evaluation import run_rows
from .fileio import checkpoint_meta, read_checkpoint, save_npz
from .kernels.envs import CLAIM_ROWS
from .population import Population
from .registry import Purpose
from .spec import NetworkSpec
from .validation import check_int

__all__ = ["RolloutFitness", "GymFitness", "ACTIONS", "EVAL_GENERATION", "save_policy",
           "load_policy"]

#: Ways of mapping a network's outputs to a continuous action.
ACTIONS = ("clip", "tanh")

#: The ``generation`` of the reset streams of :meth:`RolloutFitness.evaluate`:
#: evaluation episodes never replay a training generation's episodes.
EVAL_GENERATION = 1 << 62

#: ``kind`` of policy files (:func:`save_policy`).
POLICY_KIND = "policy"


def _check_action(action):
    if action not in ACTIONS:
        raise ValueError(f"action: expected one of {list(ACTIONS)}, got {action!r}")
    return action


def _spec_and_genomes(policy):
    """``(spec, genomes (R, n_params) float32)`` of a Population or Network."""
    if isinstance(policy, Population):
        return policy.spec, policy.genomes
    spec = getattr(policy, "spec", None)
    genome = getattr(policy, "genome", None)
    if isinstance(spec, NetworkSpec) and genome is not None:
        return spec, np.ascontiguousarray(np.asarray(genome, dtype=np.float32).reshape(1, -1))
    raise TypeError(f"population: expected a Population or a Network, got {type(policy).__name__}")


class RolloutFitness:
    """Mean return of each policy over ``episodes`` episodes of a ported environment.

    Parameters
    ----------
    env : str or ClassicControlEnv
        One of :data:`fastga.envs.NAMES`. Any other gymnasium id (or a
        factory) gives a :class:`GymFitness` instead (same parameters).
    episodes : int, default=1
        Episodes per individual and generation.
    max_steps : int, optional
        Truncate episodes after this many steps; default gymnasium's limit.
    common : bool, default=True
        Every individual of a generation plays the same initial states.
    action : {"clip", "tanh"}, default="clip"
        Continuous actions (see :mod:`fastga.control`).
    obs_norm : bool, default=False
        Normalise observations by running statistics, as in OpenAI-ES: the
        policies see ``(obs - obs_mean) / obs_std``, where the statistics
        are those of every observation seen by the calls so far (updated
        after each call, so the whole generation sees the same ones).
        They are part of the policy: :func:`save_policy` stores them.
    random_state : None, int or numpy.random.Generator
        Seed of the reset streams (resolved once, here).

    Attributes
    ----------
    info : fastga.envs.EnvInfo
    seed : int
    obs_mean, obs_std : ndarray of float32, shape (obs_dim,)
        The normalisation the next call uses (0 and 1 without ``obs_norm``).
    last_stats : dict
        ``env_steps`` of the last call (all episodes of all individuals);
        :meth:`fastga.Algorithm.run` adds it to the history.
    """

    def __new__(cls, env, *args, **kwargs):
        if cls is RolloutFitness and not (isinstance(env, ClassicControlEnv) or env in INFO):
            return GymFitness(env, *args, **kwargs)
        return super().__new__(cls)

    def __init__(self, env, episodes=1, max_steps=None, common=True, action="clip",
                 obs_norm=False, random_state=None):
        self.env = env if isinstance(env, ClassicControlEnv) else ClassicControlEnv(env)
        self.info = self.env.info
        self.episodes = check_int(episodes, "episodes", minimum=1)
        self.max_steps = (self.info.max_steps if max_steps is None
                          else check_int(max_steps, "max_steps", minimum=1))
        self.common = bool(common)
        self.action = _check_action(action)
        self.obs_norm = bool(obs_norm)
        self.seed = resolve_seed(random_state)
        n = self.info.obs_dim
        self.obs_mean = np.zeros(n, dtype=np.float32)
        self.obs_std = np.ones(n, dtype=np.float32)
        self._count = 0
        self._sum = np.zeros(n, dtype=np.float64)
        self._sq = np.zeros(n, dtype=np.float64)
        if self.info.discrete:
            self._low = self._high = np.zeros(self.info.n_actions, dtype=np.float32)
        else:
            self._low = np.asarray(self.info.action_low, dtype=np.float32)
            self._high = np.asarray(self.info.action_high, dtype=np.float32)
        self.last_stats = {}

    def _check_spec(self, spec):
        if spec.n_inputs != self.info.obs_dim:
            raise ValueError(f"population: the networks take {spec.n_inputs} inputs but "
                             f"{self.info.name} observations have {self.info.obs_dim}")
        if spec.n_outputs != self.info.n_actions:
            what = "actions" if self.info.discrete else "action components"
            raise ValueError(f"population: the networks give {spec.n_outputs} outputs but "
                             f"{self.info.name} has {self.info.n_actions} {what}")

    def _rollout(self, spec, genomes, seed, generation, episodes, common, normalize):
        """``(returns, lengths, obs_sum, obs_sq)`` of every row of ``genomes``."""
        import numba

        self._check_spec(spec)
        n = genomes.shape[0]
        returns = np.empty(n, dtype=np.float64)
        lengths = np.empty(n, dtype=np.int64)
        width = self.info.obs_dim if normalize else 1
        obs_sum = np.empty((n, width), dtype=np.float64)  # written where normalize
        obs_sq = np.empty((n, width), dtype=np.float64)
        inv_std = (1.0 / self.obs_std).astype(np.float32)
        # Episodes vary in length: one kernel call per thread, each claiming
        # rows a few at a time from the shared counter until none is left.
        counter = np.zeros(1, dtype=np.int64)
        kernel = self.env.rollout_kernel
        args = (genomes, spec.sizes_array, spec.w_offsets, spec.b_offsets, spec.act_codes, seed,
                generation, common, episodes, self.max_steps, self.info.discrete,
                self.action == "tanh", self._low, self._high, self.obs_mean, inv_std,
                normalize, returns, lengths, obs_sum, obs_sq, counter, 0, n)
        threads = min(numba.get_num_threads(), -(-n // CLAIM_ROWS))
        run_rows(lambda lo, hi: kernel(*args), threads, pieces=threads)
        return returns, lengths, obs_sum, obs_sq

    def __call__(self, population):
        """Mean return (P,) float64 of each network of ``population`` (generation
        ``population.generation`` picks the episodes)."""
        spec, genomes = _spec_and_genomes(population)
        generation = int(getattr(population, "generation", 0))
        returns, lengths, obs_sum, obs_sq = self._rollout(
            spec, genomes, self.seed, generation, self.episodes, self.common, self.obs_norm)
        steps = int(lengths.sum())
        self.last_stats = {"env_steps": steps}
        if self.obs_norm and steps:
            self._count += steps
            self._sum += obs_sum.sum(axis=0)
            self._sq += obs_sq.sum(axis=0)
            mean = self._sum / self._count
            var = np.maximum(self._sq / self._count - mean * mean, 0.0)
            self.obs_mean = mean.astype(np.float32)
            self.obs_std = np.sqrt(np.maximum(var, 1e-4)).astype(np.float32)
        return returns

    def evaluate(self, policy, episodes=100, seed=None):
        """Returns of one policy in ``episodes`` episodes (float64, one per episode).

        Parameters
        ----------
        policy : Network, or array-like genome of the population's spec
            A genome needs ``spec`` (below).
        episodes : int
        seed : None or int
            Seed of the reset streams; default this object's. The episodes
            are drawn at :data:`EVAL_GENERATION`, which no training
            generation reaches, so they are not the training episodes.
            Observations are normalised with the current statistics (not
            updated).
        """
        episodes = check_int(episodes, "episodes", minimum=1)
        spec, genome = _spec_and_genomes(policy)
        genomes = np.ascontiguousarray(np.repeat(genome[:1], episodes, axis=0))
        seed = self.seed if seed is None else resolve_seed(seed)
        # One episode per row, each row its own reset stream.
        returns, *_ = self._rollout(spec, genomes, seed, EVAL_GENERATION, 1, False, self.obs_norm)
        return returns


class GymFitness:
    """Mean return of each policy in a gymnasium environment, stepped from Python.

    All ``P * episodes`` episodes of a generation run in one gymnasium
    vector environment (``SyncVectorEnv``), the policies' actions from one
    :meth:`~fastga.Population.forward_each` per step; steps after an
    episode ends are not counted. Slower than :class:`RolloutFitness` by the
    Python of every step, but works for any environment with a ``Discrete``
    or ``Box`` action space and a flat ``Box`` observation space.

    Parameters
    ----------
    env : str or callable
        A gymnasium id (``gymnasium.make(env)``) or a factory returning a
        new environment.
    episodes, max_steps, common, action, obs_norm, random_state
        As for :class:`RolloutFitness` (``obs_norm`` is not supported). Episode resets
        are seeded from the stream ``(seed, generation, ENV_SEED)``.
    workers : int, default=0
        Run the episodes in this many worker processes (start method
        ``spawn``, so ``env`` must be a gymnasium id or a picklable factory,
        such as a module-level function), each on a contiguous share of the
        population; 0: in this process. The workers start on the first call
        and stay up between calls (:meth:`close` stops them). A worker that
        dies or exceeds ``timeout`` gives ``-inf`` to its individuals only
        (they rank last); it is replaced at the next call.
    timeout : float, optional
        Seconds a call may take with workers (None: no limit).

    Attributes
    ----------
    last_stats : dict
        ``env_steps`` of the last call, and with workers ``failed_workers``.
    """

    def __init__(self, env, episodes=1, max_steps=None, common=True, action="clip",
                 obs_norm=False, random_state=None, workers=0, timeout=None):
        try:
            import gymnasium
        except ImportError:
            raise ImportError(f"env: {env!r} is not ported to fastga.envs; gymnasium "
                              "environments need gymnasium: pip install 'fastga[gym]'") from None
        if obs_norm:
            raise ValueError("obs_norm: supported by the ported environments only")
        if isinstance(env, str):
            self._factory = lambda: gymnasium.make(env)
        elif callable(env):
            self._factory = env
        else:
            raise TypeError(f"env: expected a gymnasium id or a factory, got {type(env).__name__}")
        self.env_id = env
        probe = self._factory()
        self.observation_space, self.action_space = probe.observation_space, probe.action_space
        limit = getattr(getattr(probe, "spec", None), "max_episode_steps", None)
        probe.close()
        spaces = gymnasium.spaces
        if not (isinstance(self.observation_space, spaces.Box)
                and len(self.observation_space.shape) == 1):
            raise ValueError("env: needs a flat Box observation space, got "
                             f"{self.observation_space}")
        self.discrete = isinstance(self.action_space, spaces.Discrete)
        if not self.discrete and not (isinstance(self.action_space, spaces.Box)
                                      and len(self.action_space.shape) == 1):
            raise ValueError("env: needs a Discrete or flat Box action space, got "
                             f"{self.action_space}")
        self.episodes = check_int(episodes, "episodes", minimum=1)
        self.max_steps = (check_int(max_steps, "max_steps", minimum=1) if max_steps is not None
                          else int(limit) if limit else 1000)
        self.common = bool(common)
        self.action = _check_action(action)
        self.seed = resolve_seed(random_state)
        self.obs_dim = int(self.observation_space.shape[0])
        self.n_actions = int(self.action_space.n if self.discrete else self.action_space.shape[0])
        self.workers = check_int(workers, "workers", minimum=0)
        if timeout is not None and not (isinstance(timeout, (int, float)) and timeout > 0):
            raise ValueError(f"timeout: expected a positive number of seconds, got {timeout!r}")
        self.timeout = timeout
        if self.workers:
            import pickle

            try:
                pickle.dumps(env)
            except Exception:
                raise ValueError("env: with workers, give a gymnasium id or a picklable factory "
                                 "(a module-level function)") from None
        self._procs = [None] * self.workers
        self._vec = None
        self.last_stats = {}

    def _actions(self, out):
        """Actions of outputs ``out`` (N, n_out)."""
        if self.discrete:
            return np.argmax(out, axis=1).astype(np.int64) + int(self.action_space.start)
        low = self.action_space.low.astype(np.float32)
        high = self.action_space.high.astype(np.float32)
        if self.action == "tanh":
            return (low + (np.tanh(out) + 1.0) * 0.5 * (high - low)).astype(np.float32)
        return np.clip(out, low, high).astype(np.float32)

    def _vector_env(self, n):
        import gymnasium

        if self._vec is None or self._vec.num_envs != n:
            if self._vec is not None:
                self._vec.close()
            self._vec = gymnasium.vector.SyncVectorEnv([self._factory] * n)
        return self._vec

    def _episodes(self, population, seeds):
        """``(returns (P,), steps)``: the mean return of each network of ``population``
        over its episodes, seeded ``seeds`` (P * E,), and the steps taken."""
        spec = population.spec
        if spec.n_inputs != self.obs_dim or spec.n_outputs != self.n_actions:
            raise ValueError(f"population: the networks map {spec.n_inputs} -> {spec.n_outputs} "
                             f"but the environment needs {self.obs_dim} -> {self.n_actions}")
        P = population.size
        E = seeds.shape[0] // P
        vec = self._vector_env(P * E)
        obs, _ = vec.reset(seed=[int(s) for s in seeds])
        returns = np.zeros(P * E)
        alive = np.ones(P * E, dtype=bool)
        steps = 0
        for _ in range(self.max_steps):
            x = np.asarray(obs, dtype=np.float32).reshape(P, E, self.obs_dim)
            out = population.forward_each(np.nan_to_num(x)).reshape(P * E, -1)
            obs, reward, term, trunc, _ = vec.step(self._actions(out))
            returns += np.where(alive, reward, 0.0)
            steps += int(alive.sum())
            alive &= ~(np.asarray(term) | np.asarray(trunc))
            if not alive.any():
                break
        return returns.reshape(P, E).mean(axis=1), steps

    def __call__(self, population):
        if not isinstance(population, Population):
            raise TypeError(f"population: expected a Population, got {type(population).__name__}")
        P, E = population.size, self.episodes
        rng = philox(self.seed, int(population.generation), Purpose.ENV_SEED)
        draws = rng.integers(0, 2 ** 31, size=(1 if self.common else P, E))
        seeds = np.broadcast_to(draws, (P, E)).reshape(-1)
        if self.workers:
            return self._in_workers(population, seeds)
        returns, steps = self._episodes(population, seeds)
        self.last_stats = {"env_steps": steps}
        return returns

    @property
    def worker_pids(self):
        """Process ids of the running workers (None where one is not running)."""
        return [None if w is None or not w[0].is_alive() else w[0].pid for w in self._procs]

    def _start_worker(self, k):
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_gym_worker, args=(child, self.env_id), daemon=True,
                           name=f"fastga-gym-{k}")
        proc.start()
        child.close()
        self._procs[k] = (proc, parent)

    def _stop_worker(self, k):
        w = self._procs[k]
        self._procs[k] = None
        if w is None:
            return
        proc, conn = w
        if proc.is_alive():
            proc.kill()
        proc.join(5)
        conn.close()

    def _in_workers(self, population, seeds):
        """Each worker plays a contiguous share of the individuals; see ``workers``."""
        import time
        from multiprocessing.connection import wait

        spec = population.spec
        if spec.n_inputs != self.obs_dim or spec.n_outputs != self.n_actions:
            raise ValueError(f"population: the networks map {spec.n_inputs} -> {spec.n_outputs} "
                             f"but the environment needs {self.obs_dim} -> {self.n_actions}")
        P, E = population.size, self.episodes
        returns = np.full(P, -np.inf)
        bounds = [P * k // self.workers for k in range(self.workers + 1)]
        pending = {}
        for k in range(self.workers):
            lo, hi = bounds[k], bounds[k + 1]
            if lo == hi:
                continue
            if self._procs[k] is None or not self._procs[k][0].is_alive():
                self._stop_worker(k)
                self._start_worker(k)
            task = (spec.to_dict(), np.array(population.genomes[lo:hi]), seeds[lo * E:hi * E],
                    self.max_steps, self.action)
            try:
                self._procs[k][1].send(task)
                pending[k] = (lo, hi)
            except (OSError, ValueError):
                self._stop_worker(k)
        failed = sum(bounds[k] < bounds[k + 1] for k in range(self.workers)) - len(pending)
        steps = 0
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        while pending:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            handles = {}
            for k in pending:
                proc, conn = self._procs[k]
                handles[conn] = k
                handles[proc.sentinel] = k
            ready = wait(list(handles), timeout=left)
            if not ready:  # timed out: the workers still running lose their share
                for k in list(pending):
                    self._stop_worker(k)
                    failed += 1
                pending.clear()
                break
            for h in ready:
                k = handles[h]
                if k not in pending:
                    continue
                conn = self._procs[k][1]
                try:
                    if not conn.poll():
                        raise EOFError  # the process ended without an answer
                    got, n = conn.recv()
                except (EOFError, OSError):
                    self._stop_worker(k)
                    failed += 1
                    del pending[k]
                    continue
                lo, hi = pending.pop(k)
                returns[lo:hi] = got
                steps += n
        self.last_stats = {"env_steps": steps, "failed_workers": failed}
        return returns

    def evaluate(self, policy, episodes=100, seed=None):
        """Returns of one policy (a :class:`~fastga.Network`) in ``episodes`` episodes,
        on seeds drawn at :data:`EVAL_GENERATION`."""
        episodes = check_int(episodes, "episodes", minimum=1)
        spec, genome = _spec_and_genomes(policy)
        seed = self.seed if seed is None else resolve_seed(seed)
        seeds = philox(seed, EVAL_GENERATION, Purpose.ENV_SEED).integers(0, 2 ** 31, size=episodes)
        return self._episodes(Population(spec, np.repeat(genome[:1], episodes, axis=0)), seeds)[0]

    def close(self):
        """Close the vector environment and stop the workers."""
        if self._vec is not None:
            self._vec.close()
            self._vec = None
        for k, w in enumerate(self._procs):
            if w is not None and w[0].is_alive():
                try:
                    w[1].send(None)
                    w[0].join(5)
                except (OSError, ValueError):
                    pass
            self._stop_worker(k)


def _gym_worker(conn, env):
    """A worker process of :class:`GymFitness`: plays the episodes of each task it
    receives (``(spec, genomes, seeds, max_steps, action)``) and sends back
    ``(returns, steps)``, until it receives None."""
    runner = GymFitness(env)
    try:
        while True:
            try:
                task = conn.recv()
            except EOFError:
                return
            if task is None:
                return
            spec, genomes, seeds, runner.max_steps, runner.action = task
            conn.send(runner._episodes(Population(NetworkSpec.from_dict(spec), genomes), seeds))
    finally:
        runner.close()


def save_policy(path, network, fitness=None):
    """Write a policy network, with its observation normalisation, to ``path`` (.npz).

    Parameters
    ----------
    network : Network
    fitness : RolloutFitness, optional
        Its environment, action mapping and observation statistics are saved too.

    Returns
    -------
    str
        ``path``.
    """
    spec, genome = _spec_and_genomes(network)
    arrays = {"genome": genome[0]}
    meta = {"spec": spec.to_dict()}
    if fitness is not None:
        arrays["obs_mean"] = np.asarray(getattr(fitness, "obs_mean", np.zeros(spec.n_inputs)),
                                        dtype=np.float32)
        arrays["obs_std"] = np.asarray(getattr(fitness, "obs_std", np.ones(spec.n_inputs)),
                                       dtype=np.float32)
        info = getattr(fitness, "info", None)
        meta["env"] = info.name if info is not None else str(getattr(fitness, "env_id", ""))
        meta["action"] = fitness.action
    return save_npz(path, POLICY_KIND, arrays, checkpoint_meta(meta))


def load_policy(path):
    """``(network, extras)`` of a :func:`save_policy` file; ``extras`` has ``env``,
    ``action``, ``obs_mean`` and ``obs_std`` where they were saved."""
    from .network import Network

    arrays, meta = read_checkpoint(path, POLICY_KIND)
    spec = NetworkSpec.from_dict(meta["spec"])
    extras = {k: meta[k] for k in ("env", "action") if k in meta}
    extras.update({k: np.array(arrays[k]) for k in ("obs_mean", "obs_std") if k in arrays})
    return Network(spec, np.array(arrays["genome"], dtype=np.float32)), extras
