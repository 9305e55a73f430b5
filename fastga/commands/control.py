"""``fastga control``: evolve a policy network for a gymnasium control task.

The environments of :mod:`fastga.envs` (CartPole-v1, Acrobot-v1,
MountainCarContinuous-v0, Pendulum-v1) run through
:class:`fastga.control.RolloutFitness`, every episode inside a Numba kernel;
any other gymnasium id runs through :class:`fastga.control.GymFitness`
(``--workers`` processes). The GA by default, or an evolution strategy
(``--algorithm``). Each environment has its own defaults (:data:`ENV_DEFAULTS`),
chosen so that a run with them reaches the environment's target return.

The run stops once a policy reaches ``--target`` on validation episodes (or
after ``--generations``). The policy it keeps is the one with the best
validation return; the mean return it prints is that policy's over
``--eval-episodes`` further episodes, drawn from seeds that neither training
nor validation used. Files in ``--out``: ``control_policy.npz``
(:func:`fastga.control.load_policy`) and ``control_returns.png``.
"""

from __future__ import annotations

import inspect
import json
import math
import time

import numpy as np

from ..es import ALGORITHMS as ES_ALGORITHMS
from ..fileio import atomic_write_bytes
from ..ga import GeneticAlgorithm
from ..plotting import figure, save_png
from ..settings import GASettings
from ..spec import ACTIVATIONS, NetworkSpec
from .common import add_ga_arguments, add_run_arguments, out_path, print_profile, process_age

__all__ = ["add_parser", "run", "ENV_DEFAULTS", "GYM_DEFAULTS", "env_defaults", "train",
           "ControlResult"]

#: The algorithms of ``--algorithm``.
ALGORITHMS = ("ga", *sorted(ES_ALGORITHMS))

#: Defaults per ported environment: generations, population, training episodes
#: per policy, hidden layers and their activation, the mapping of outputs to a
#: continuous action, the GA's settings, the target mean return (the run
#: stops when a policy reaches it on validation episodes) and how often
#: policies are validated (also whenever a generation's best training return
#: reaches the target). Each reaches its target with these (bench/README.md,
#: "Control tasks: fastga control against EvoTorch").
ENV_DEFAULTS = {
    "CartPole-v1": dict(generations=50, pop_size=100, episodes=5, hidden=(16,),
                        activation="relu", action="clip", ga=dict(), target=475.0,
                        eval_every=10),
    "Acrobot-v1": dict(generations=100, pop_size=100, episodes=3, hidden=(16,),
                       activation="tanh", action="clip", ga=dict(sigma=0.1), target=-100.0,
                       eval_every=10),
    "Pendulum-v1": dict(generations=500, pop_size=200, episodes=10, hidden=(16,),
                        activation="tanh", action="tanh", ga=dict(sigma=0.1), target=-200.0,
                        eval_every=10),
    # Large initial weights: policies that swing the car from the start (the
    # reward punishes effort, so small policies learn to stand still).
    "MountainCarContinuous-v0": dict(generations=100, pop_size=200, episodes=3, hidden=(8,),
                                     activation="tanh", action="clip",
                                     ga=dict(sigma=0.3, init="normal", init_scale=3.0),
                                     target=90.0, eval_every=10),
}

#: Defaults for any other gymnasium id (the target: gymnasium's
#: ``reward_threshold`` of the id, if it has one).
GYM_DEFAULTS = dict(generations=100, pop_size=100, episodes=3, hidden=(16,), activation="tanh",
                    action="clip", ga=dict(sigma=0.1), target=None, eval_every=10)

#: The GA flags of the shared vocabulary (their defaults depend on --env).
_GA_FLAGS = ("mutation_rate", "sigma", "elitism", "die_off_rate")

#: Derives the validation episodes' seed from ``--seed`` (odd: a bijection mod 2**63).
_VALIDATION_MIX = 0x9E3779B97F4A7C15
_MASK63 = (1 << 63) - 1


def env_defaults(env):
    """The defaults of ``fastga control --env env`` (a copy of :data:`ENV_DEFAULTS`'
    entry, or :data:`GYM_DEFAULTS` with gymnasium's reward threshold as target)."""
    if env in ENV_DEFAULTS:
        d = dict(ENV_DEFAULTS[env])
    else:
        d = dict(GYM_DEFAULTS)
        try:
            import gymnasium

            d["target"] = gymnasium.spec(env).reward_threshold
        except Exception:  # not installed or an unknown id: the fitness says which
            pass
    d["ga"] = dict(d["ga"])
    return d


class _PerEnv:
    """Stand-in defaults for :func:`add_ga_arguments`: None, filled per --env."""

    mutation_rate = sigma = elitism = die_off_rate = None


def _target(value):
    if str(value).strip().lower() == "none":
        return math.nan  # nan: no target
    return float(value)


def _epilog():
    rows = ["defaults per --env (generations, pop size, episodes, hidden, activation, action, "
            "GA settings, target):"]
    for env, d in ENV_DEFAULTS.items():
        ga = ", ".join(f"{k}={v}" for k, v in d["ga"].items()) or "GA defaults"
        rows.append(f"  {env:<25} {d['generations']:>4} {d['pop_size']:>4} {d['episodes']:>3}  "
                    f"{list(d['hidden'])} {d['activation']} {d['action']}  {ga}  "
                    f"target {d['target']:g}")
    d = GYM_DEFAULTS
    rows.append(f"  {'other gymnasium ids':<25} {d['generations']:>4} {d['pop_size']:>4} "
                f"{d['episodes']:>3}  {list(d['hidden'])} {d['activation']} {d['action']}  "
                "sigma=0.1  target: gymnasium's reward_threshold")
    return "\n".join(rows)


def add_parser(sub):
    import argparse

    p = sub.add_parser(
        "control",
        help="evolve a policy for a gymnasium control task (CartPole-v1, Pendulum-v1, ...)",
        description="Evolve a policy network for a gymnasium environment: the ported ones "
        "(CartPole-v1, Acrobot-v1, MountainCarContinuous-v0, Pendulum-v1) step inside Numba "
        "kernels, any other id in gymnasium. Stops when a policy reaches --target on "
        "validation episodes; prints the kept policy's mean return over --eval-episodes "
        "episodes on seeds not used in training, and the wall time; saves the policy (.npz) "
        "and a PNG of the returns per generation.",
        epilog=_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--env", default="CartPole-v1",
                   help="a fastga.envs name or any gymnasium id (default: %(default)s)")
    p.add_argument("--algorithm", choices=ALGORITHMS, default="ga",
                   help="the GA or an evolution strategy of fastga.es (default: %(default)s)")
    p.add_argument("--algorithm-param", metavar="KEY=VALUE", action="append", default=[],
                   help="a hyperparameter of the evolution strategy, e.g. sigma=0.05 "
                   "(repeatable; the value is read as JSON); the GA's are the options below")
    add_run_arguments(p, pop_size=None, generations=None,
                      pop_size_help="policies per generation (default: per --env)",
                      generations_help="most generations to run (default: per --env)")
    add_ga_arguments(p, _PerEnv)
    for action in p._actions:
        if action.dest in _GA_FLAGS:
            action.help = action.help.replace("%(default)s", "per --env") + " (GA only)"
    p.add_argument("--init-scale", type=float, default=None,
                   help="GA only: draw the first policies' weights from a normal distribution "
                   "of this standard deviation (default: per --env)")
    p.add_argument("--episodes", type=int, default=None,
                   help="training episodes per policy and generation (default: per --env)")
    p.add_argument("--hidden", type=int, nargs="*", default=None,
                   help="hidden layer sizes, none for a linear policy (default: per --env)")
    p.add_argument("--activation", choices=sorted(ACTIVATIONS), default=None,
                   help="hidden layers' activation (default: per --env)")
    p.add_argument("--action", choices=("clip", "tanh"), default=None,
                   help="continuous actions: clip the outputs to the bounds, or squash them "
                   "with tanh (default: per --env)")
    p.add_argument("--obs-norm", action="store_true",
                   help="normalise observations by running statistics (ported environments)")
    p.add_argument("--target", type=_target, default=None,
                   help="stop once a policy's mean return on validation episodes reaches this; "
                   "'none' runs every generation (default: per --env)")
    p.add_argument("--eval-every", type=int, default=None,
                   help="validate the best policy every N generations (and whenever a "
                   "generation's best training return reaches --target; default: per --env)")
    p.add_argument("--eval-episodes", type=int, default=100,
                   help="episodes of the validation and of the final evaluation "
                   "(default: %(default)s)")
    p.add_argument("--workers", type=int, default=0,
                   help="worker processes for gymnasium ids that are not ported (default: 0, "
                   "in this process)")
    p.add_argument("--json", dest="json_path", default=None,
                   help="also write {mean_return, seconds, generations, ...} here")
    p.set_defaults(func=run)
    return p


def _es_params(cls, items):
    from .digits import parse_algorithm_params

    params = parse_algorithm_params(items)
    allowed = set(inspect.signature(cls.__init__).parameters) - {
        "self", "spec", "pop_size", "random_state", "verbose", "threshold", "patience"}
    for k in params:
        if k not in allowed:
            raise ValueError(f"algorithm_param: {k!r} is not a parameter of {cls.__name__}; "
                             f"expected some of {sorted(allowed)}")
    return params


def _positive(value, flag):
    if value is not None and value < 1:
        raise ValueError(f"{flag}: must be >= 1, got {value}")


def settings_from_args(args):
    """The run's settings: the flags given, else the --env defaults. Checks the
    flags (errors name them) before anything runs."""
    d = env_defaults(args.env)
    ga_flags = {k: getattr(args, k) for k in _GA_FLAGS if getattr(args, k, None) is not None}
    if args.init_scale is not None:
        ga_flags.update(init="normal", init_scale=args.init_scale)
    if args.algorithm == "ga":
        if args.algorithm_param:
            raise ValueError("algorithm_param: the GA takes its settings as options "
                             "(--sigma, --mutation-rate, ...)")
        algo_params = {**d["ga"], **ga_flags}
    else:
        if ga_flags:
            flags = ", ".join("--" + k.replace("_", "-") for k in sorted(ga_flags))
            raise ValueError(f"{flags}: GA options; an evolution strategy takes "
                             "--algorithm-param KEY=VALUE")
        algo_params = _es_params(ES_ALGORITHMS[args.algorithm], args.algorithm_param)
    for flag in ("episodes", "eval_every", "eval_episodes"):
        _positive(getattr(args, flag), "--" + flag.replace("_", "-"))
    if args.generations is not None and args.generations < 0:
        raise ValueError(f"--generations: must be >= 0, got {args.generations}")
    if args.pop_size is not None and args.pop_size < 2:
        raise ValueError(f"--pop-size: must be >= 2, got {args.pop_size}")
    if args.workers < 0:
        raise ValueError(f"--workers: must be >= 0, got {args.workers}")
    if args.hidden is not None and any(h < 1 for h in args.hidden):
        raise ValueError(f"--hidden: layer sizes must be >= 1, got {args.hidden}")
    target = d["target"] if args.target is None else args.target
    return dict(
        env=args.env, algorithm=args.algorithm, algo_params=algo_params,
        generations=d["generations"] if args.generations is None else args.generations,
        pop_size=d["pop_size"] if args.pop_size is None else args.pop_size,
        episodes=d["episodes"] if args.episodes is None else args.episodes,
        hidden=tuple(d["hidden"] if args.hidden is None else args.hidden),
        activation=args.activation or d["activation"], action=args.action or d["action"],
        obs_norm=bool(args.obs_norm),
        target=None if target is None or math.isnan(target) else float(target),
        eval_every=d["eval_every"] if args.eval_every is None else args.eval_every,
        eval_episodes=args.eval_episodes, workers=args.workers, seed=args.seed)


def make_fitness(env, episodes, action, obs_norm, seed, workers=0):
    """A :class:`RolloutFitness` for a ported environment, else a :class:`GymFitness`."""
    from ..control import GymFitness, RolloutFitness
    from ..envs import NAMES

    if env in NAMES:
        if workers:
            raise ValueError(f"--workers: {env} runs in fastga's own kernels; workers are for "
                             "gymnasium ids that are not ported")
        return RolloutFitness(env, episodes=episodes, action=action, obs_norm=obs_norm,
                              random_state=seed)
    if obs_norm:
        raise ValueError(f"--obs-norm: supported by the ported environments only, not {env}")
    try:
        import gymnasium

        gymnasium.spec(env)
    except ImportError:
        raise ValueError(f"--env: {env!r} is not one of fastga.envs' {list(NAMES)}, and other "
                         "environments need gymnasium: pip install 'fastga[gym]'") from None
    except Exception as exc:
        raise ValueError(f"--env: {env!r} is neither one of fastga.envs' {list(NAMES)} nor a "
                         f"gymnasium id ({exc})") from None
    return GymFitness(env, episodes=episodes, action=action, random_state=seed, workers=workers)


def _dims(fitness):
    info = getattr(fitness, "info", None)
    if info is not None:
        return info.obs_dim, info.n_actions
    return fitness.obs_dim, fitness.n_actions


class ControlResult:
    """What :func:`train` returns.

    Attributes
    ----------
    network : Network
        The kept policy (best validation return).
    fitness : RolloutFitness or GymFitness
        Its observation statistics belong to the policy.
    algorithm : Algorithm
    mean_return : float
        Mean return of ``network`` over the evaluation episodes.
    returns : ndarray
        The evaluation episodes' returns.
    generations : int
        Generations bred (the first population is generation 0).
    seconds : float
        Wall time of :func:`train`, compilation and evaluation included.
    solved : bool or None
        Whether the target was reached on validation episodes (None: no target).
    validation : list of (generation, mean return)
        The best validation return of each validated generation.
    kept_generation : int
        The generation of ``network``.
    """

    def __init__(self, **kw):
        self.__dict__.update(kw)


def train(settings, verbose=False, callbacks=()):
    """Run ``fastga control`` with ``settings`` (:func:`settings_from_args`' dict);
    ``callbacks`` as in :meth:`fastga.Algorithm.run` (after the command's own).

    Returns a :class:`ControlResult`.
    """
    from ..network import Network

    t0 = time.perf_counter()
    s = settings
    fitness = make_fitness(s["env"], s["episodes"], s["action"], s["obs_norm"], s["seed"],
                           s["workers"])
    try:
        n_in, n_out = _dims(fitness)
        spec = NetworkSpec([n_in, *s["hidden"], n_out],
                           [s["activation"]] * len(s["hidden"]) + ["linear"])
        if s["algorithm"] == "ga":
            ga = GASettings().replace(**s["algo_params"]).validate()
            algo = GeneticAlgorithm.from_settings(spec, ga, pop_size=s["pop_size"],
                                                  random_state=s["seed"], verbose=verbose)
        else:
            algo = ES_ALGORITHMS[s["algorithm"]](spec, pop_size=s["pop_size"],
                                                 random_state=s["seed"], verbose=verbose,
                                                 **s["algo_params"])
        target, every, n_eval = s["target"], s["eval_every"], s["eval_episodes"]
        val_seed = (s["seed"] ^ _VALIDATION_MIX) & _MASK63
        kept = {"return": -np.inf, "genome": None, "generation": -1, "norm": None}
        validation = []

        def validate(a, generation):
            pop = a.population_
            candidates = [pop.genomes[pop.best_index()]]
            if hasattr(a, "mean_"):  # an ES: its center too
                candidates.append(a.mean_)
            best = -np.inf
            for g in candidates:
                r = float(fitness.evaluate(Network(spec, g), episodes=n_eval,
                                           seed=val_seed).mean())
                if r > kept["return"]:  # with the observation statistics it was validated with
                    kept.update({"return": r, "genome": np.array(g), "generation": generation,
                                 "norm": (getattr(fitness, "obs_mean", None),
                                          getattr(fitness, "obs_std", None))})
                best = max(best, r)
            validation.append((generation, best))
            return best

        def check(a, record):
            gen = record["generation"]
            due = gen % every == 0 or (target is not None and record["best_fitness"] >= target)
            if not due:
                return False
            best = validate(a, gen)
            return "target" if target is not None and best >= target else False

        algo.run(fitness, s["generations"], callbacks=[check, *callbacks])
        last = algo.population_.generation
        if not validation or validation[-1][0] != last:
            validate(algo, last)
        network = Network(spec, kept["genome"])
        if s["obs_norm"]:
            fitness.obs_mean, fitness.obs_std = kept["norm"]
        returns = fitness.evaluate(network, episodes=n_eval)
        seconds = time.perf_counter() - t0
        return ControlResult(
            network=network, fitness=fitness, algorithm=algo, mean_return=float(returns.mean()),
            returns=returns, generations=int(last), seconds=seconds,
            solved=None if target is None else bool(kept["return"] >= target),
            validation=validation, kept_generation=kept["generation"])
    finally:
        close = getattr(fitness, "close", None)
        if close is not None:
            close()


def save_returns_plot(path, history, validation, target, title):
    """PNG of the best and mean training return per generation, the validation
    returns and the target."""
    fig = figure((7, 4))
    ax = fig.subplots()
    gen = history["generation"]
    ax.plot(gen, history["best_fitness"], label="best policy (training episodes)")
    ax.plot(gen, history["mean_fitness"], label="population mean", alpha=0.7)
    if validation:
        g, r = zip(*validation)
        ax.plot(g, r, "o", ms=4, label="best policy (validation episodes)")
    if target is not None:
        ax.axhline(target, color="grey", linestyle="--", label=f"target ({target:g})")
    ax.set_xlabel("generation")
    ax.set_ylabel("mean return")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return save_png(fig, path, dpi=100)


def run(args):
    started = process_age()  # before this call: interpreter start and imports
    t0 = time.perf_counter()
    s = settings_from_args(args)
    res = train(s, verbose=not args.quiet)
    from ..control import save_policy

    history = res.algorithm.history_
    solved = "" if res.solved is None else (" (target reached)" if res.solved
                                            else f" (target {s['target']:g} not reached)")
    print(f"{s['env']}: mean return {res.mean_return:.1f} over {len(res.returns)} evaluation "
          f"episodes{solved}  generations {res.generations}  wall time {res.seconds:.1f} s  "
          f"({s['algorithm']})")
    pol = save_policy(out_path(args, "control", "policy.npz"), res.network, res.fitness)
    try:
        png = save_returns_plot(out_path(args, "control", "returns.png"), history, res.validation,
                                s["target"], f"{s['env']}, {s['algorithm']}: mean return "
                                f"{res.mean_return:.1f} over {len(res.returns)} episodes")
    except ImportError as exc:
        print(f"(no returns PNG: {exc})")
        png = None
    print(f"saved {pol}" + (f" and {png}" if png else ""))
    if args.json_path:
        result = {"mean_return": res.mean_return, "seconds": res.seconds,
                  "generations": res.generations, "env": s["env"],
                  "algorithm": s["algorithm"], "solved": res.solved}
        atomic_write_bytes(args.json_path, (json.dumps(result, indent=2) + "\n").encode())
    if args.profile:
        # Outside the generations: the fitness' setup, validation, evaluation and files.
        wall = time.perf_counter() - t0
        print_profile(history, setup=0.0, finish=wall - float(np.sum(history["seconds"])),
                      wall=wall, started=started)
    return 0

