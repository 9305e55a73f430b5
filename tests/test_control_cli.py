"""``fastga control`` (tiny sizes): files, --json, early stop, the defaults, clear errors."""

import json

import numpy as np
import pytest

from fastga.cli import build_parser, main
from fastga.commands.control import ENV_DEFAULTS, settings_from_args
from fastga.control import RolloutFitness, load_policy
from fastga.envs import NAMES

TINY = ["--pop-size", "10", "--episodes", "1", "--hidden", "4", "--eval-episodes", "5",
        "--quiet"]


def _run(tmp_path, *args):
    out, js = tmp_path / "out", tmp_path / "r.json"
    code = main(["control", *args, *TINY, "--out", str(out), "--json", str(js)])
    return code, out, (json.loads(js.read_text()) if js.exists() else None)


def test_cartpole_writes_policy_plot_and_json(tmp_path, capsys):
    code, out, res = _run(tmp_path, "--env", "CartPole-v1", "--generations", "2",
                          "--target", "none")
    assert code == 0
    text = capsys.readouterr().out
    assert "CartPole-v1: mean return" in text and "wall time" in text
    assert {"mean_return", "seconds", "generations"} <= set(res)
    assert res["generations"] == 2 and res["solved"] is None and res["algorithm"] == "ga"
    assert (out / "control_returns.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    net, extras = load_policy(out / "control_policy.npz")
    assert net.spec.sizes == (4, 4, 2) and extras["env"] == "CartPole-v1"
    # The printed return is the saved policy's over the evaluation episodes of --seed.
    again = RolloutFitness("CartPole-v1", random_state=0).evaluate(net, episodes=5)
    assert res["mean_return"] == pytest.approx(float(again.mean()))


def test_target_stops_the_run(tmp_path):
    # Every CartPole return is >= 1: the first validation reaches the target.
    code, _, res = _run(tmp_path, "--env", "CartPole-v1", "--generations", "5", "--target", "1")
    assert code == 0 and res["solved"] is True and res["generations"] == 0
    # An unreachable target runs every generation and says so.
    code, _, res = _run(tmp_path, "--env", "CartPole-v1", "--generations", "3", "--target", "1e9",
                        "--eval-every", "2")
    assert code == 0 and res["solved"] is False and res["generations"] == 3


def test_an_evolution_strategy_on_pendulum(tmp_path, capsys):
    code, out, res = _run(tmp_path, "--env", "Pendulum-v1", "--algorithm", "pgpe",
                          "--algorithm-param", "sigma=0.05", "--generations", "2")
    assert code == 0 and res["algorithm"] == "pgpe" and res["generations"] == 2
    assert "(pgpe)" in capsys.readouterr().out
    assert -2000 < res["mean_return"] <= 0
    net, extras = load_policy(out / "control_policy.npz")
    assert extras["action"] == "tanh" and net.spec.sizes == (3, 4, 1)


def test_a_gymnasium_id_that_is_not_ported(tmp_path):
    pytest.importorskip("gymnasium")
    code, out, res = _run(tmp_path, "--env", "MountainCar-v0", "--generations", "1",
                          "--target", "none")
    assert code == 0 and res["env"] == "MountainCar-v0"
    assert res["mean_return"] == -200.0  # tiny policies never reach the flag in 200 steps
    assert load_policy(out / "control_policy.npz")[1]["env"] == "MountainCar-v0"


def test_a_gymnasium_id_in_worker_processes(tmp_path):
    """--workers 2: GymFitness plays the episodes in two spawned processes; the
    run gives the in-process run's result and leaves no worker behind."""
    pytest.importorskip("gymnasium")
    import multiprocessing

    code, _, res = _run(tmp_path, "--env", "MountainCar-v0", "--generations", "1",
                        "--target", "none", "--workers", "2")
    assert code == 0 and res["env"] == "MountainCar-v0" and res["generations"] == 1
    assert res["mean_return"] == -200.0
    assert not [p for p in multiprocessing.active_children() if p.name.startswith("fastga-gym")]


def test_defaults_per_environment():
    parse = build_parser().parse_args
    for env in NAMES:
        s = settings_from_args(parse(["control", "--env", env]))
        d = ENV_DEFAULTS[env]
        assert s["target"] == d["target"] and s["generations"] == d["generations"]
        assert s["pop_size"] == d["pop_size"] and s["algo_params"] == d["ga"]
    s = settings_from_args(parse(["control", "--env", "MountainCarContinuous-v0", "--sigma",
                                  "0.2", "--init-scale", "1.5", "--target", "none"]))
    assert s["algo_params"] == {"sigma": 0.2, "init": "normal", "init_scale": 1.5}
    assert s["target"] is None
    s = settings_from_args(parse(["control", "--algorithm", "snes", "--hidden"]))
    assert s["hidden"] == () and s["algo_params"] == {}


@pytest.mark.parametrize("args, message", [
    (["--episodes", "0"], "--episodes: must be >= 1"),
    (["--pop-size", "1"], "--pop-size: must be >= 2"),
    (["--eval-episodes", "0"], "--eval-episodes: must be >= 1"),
    (["--hidden", "0"], "--hidden: layer sizes must be >= 1"),
    (["--workers", "2"], "--workers: CartPole-v1 runs in fastga's own kernels"),
    (["--env", "NoSuchEnv-v9"], "--env: 'NoSuchEnv-v9' is neither"),
    (["--algorithm", "snes", "--sigma", "0.1"], "--sigma: GA options"),
    (["--algorithm", "snes", "--algorithm-param", "lr=0.1"], "'lr' is not a parameter of SNES"),
    (["--algorithm-param", "sigma=0.1"], "algorithm_param: the GA takes its settings"),
    (["--algorithm", "pgpe", "--algorithm-param", "sigma=-1"], "sigma"),
    (["--sigma", "-1"], "sigma"),
])
def test_bad_arguments_are_clear_errors(tmp_path, capsys, args, message):
    code = main(["control", "--generations", "1", "--quiet", "--out", str(tmp_path), *args])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("fastga control: error:") and message in err
    assert not (tmp_path / "control_policy.npz").exists()


def test_help_lists_the_environments_and_algorithms(capsys):
    with pytest.raises(SystemExit):
        main(["control", "--help"])
    text = capsys.readouterr().out
    for word in (*NAMES, "ga", "pgpe", "snes", "sepcmaes", "openes", "--json", "--workers"):
        assert word in text
    assert np.isfinite([ENV_DEFAULTS[e]["target"] for e in NAMES]).all()
