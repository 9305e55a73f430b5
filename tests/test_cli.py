"""The ``fastga`` command line (tiny sizes)."""

import json
import subprocess
import sys

import numpy as np

from fastga.cli import main
from fastga.network import Network


def test_digits_command_writes_results(tmp_path, capsys):
    out = tmp_path / "out"
    js = tmp_path / "r.json"
    code = main(["digits", "--generations", "3", "--pop-size", "20", "--out", str(out),
                 "--json", str(js), "--quiet"])
    assert code == 0
    text = capsys.readouterr().out
    assert "test accuracy" in text and "wall time" in text
    res = json.loads(js.read_text())
    assert set(res) == {"test_accuracy", "train_accuracy", "generations", "seconds", "algorithm"}
    assert 0.0 <= res["test_accuracy"] <= 1.0 and res["generations"] == 3
    assert (out / "digits_fitness.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    net = Network.load(out / "digits_best.npz")
    assert net.spec.sizes == (64, 32, 10)
    assert np.isfinite(net.predict(np.zeros((2, 64)))).all()


def test_digits_with_an_evolution_strategy(tmp_path, capsys, monkeypatch):
    import fastga.commands.digits as cmd

    calls = []
    real = cmd.compile_ahead
    monkeypatch.setattr(cmd, "compile_ahead",
                        lambda spec, tasks: calls.append(tasks) or real(spec, tasks))
    out, js = tmp_path / "out", tmp_path / "r.json"
    args = ["digits", "--algorithm", "pgpe", "--algorithm-param", "learning_rate=0.1",
            "--algorithm-param", "sigma=0.05", "--generations", "3", "--pop-size", "10",
            "--hidden", "8", "--out", str(out), "--json", str(js), "--quiet"]
    assert main(args) == 0
    assert "(pgpe)" in capsys.readouterr().out
    res = json.loads(js.read_text())
    assert res["algorithm"] == "pgpe" and res["generations"] == 3
    assert calls == [["es", "forward", "fitness:cross_entropy"]]  # an ES samples, not breeds
    from fastga.estimators import GeneticMLPClassifier

    clf = GeneticMLPClassifier.load(out / "digits_checkpoint.npz")
    assert clf.algorithm == "pgpe" and clf.algorithm_params == {"learning_rate": 0.1, "sigma": 0.05}
    assert clf.ga_.learning_rate == 0.1 and clf.ga_.pop_size == 10
    assert clf.batch_size is None  # an ES scores all training samples by default
    # --resume goes on with the checkpoint's algorithm, bit-identically to one longer run
    assert main(["digits", "--resume", str(out / "digits_checkpoint.npz"), "--generations", "5",
                 "--out", str(out), "--quiet"]) == 0
    resumed = GeneticMLPClassifier.load(out / "digits_checkpoint.npz")
    other = tmp_path / "other"
    assert main([*args[:args.index("--generations")], "--generations", "5", "--pop-size", "10",
                 "--hidden", "8", "--out", str(other), "--quiet"]) == 0
    straight = GeneticMLPClassifier.load(other / "digits_checkpoint.npz")
    np.testing.assert_array_equal(resumed.ga_.mean_, straight.ga_.mean_)
    assert resumed.history_ == straight.history_


def test_digits_help_names_the_algorithms(capsys):
    import pytest

    with pytest.raises(SystemExit):
        main(["digits", "--help"])
    text = capsys.readouterr().out
    for name in ("ga", "openes", "pgpe", "snes", "sepcmaes", "--algorithm-param"):
        assert name in text


def test_digits_bad_algorithm_params_are_clear_errors(tmp_path, capsys):
    base = ["digits", "--generations", "1", "--pop-size", "10", "--out", str(tmp_path), "--quiet"]
    assert main([*base, "--algorithm", "snes", "--algorithm-param", "lr=0.1"]) == 2
    assert "algorithm_params: 'lr' is not a parameter of SNES" in capsys.readouterr().err
    assert main([*base, "--algorithm", "snes", "--algorithm-param", "novalue"]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err
    assert main([*base, "--algorithm", "openes", "--islands", "2"]) == 2
    assert "island model runs the GA" in capsys.readouterr().err


def test_bad_argument_is_a_clear_error(tmp_path, capsys):
    code = main(["digits", "--pop-size", "1", "--generations", "1", "--out", str(tmp_path), "--quiet"])
    assert code == 2
    assert "pop_size" in capsys.readouterr().err


def test_python_dash_m_and_help():
    proc = subprocess.run([sys.executable, "-m", "fastga", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "digits" in proc.stdout


def test_a_run_imports_only_its_own_command():
    # `fastga control` parses its arguments without loading scikit-learn,
    # which only `arch`, `evaluate` and `digits` need; `--help` lists all.
    code = ("import sys\nfrom fastga.cli import build_parser, main\n"
            "args = build_parser('control').parse_args(['control', '--env', 'CartPole-v1'])\n"
            "assert args.env == 'CartPole-v1' and callable(args.func)\n"
            "assert 'fastga.commands.arch' not in sys.modules, 'arch imported'\n"
            "assert 'sklearn' not in sys.modules, 'sklearn imported'\n"
            "print('ok')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr[-2000:]
    help_ = subprocess.run([sys.executable, "-m", "fastga", "--help"], capture_output=True,
                           text=True, timeout=300)
    for name in ("gan", "digits", "arch", "control", "evaluate", "warmup"):
        assert name in help_.stdout


def test_the_program_exits_promptly_with_its_status_and_output(tmp_path):
    # ``python -m fastga`` ends through cli.run's prompt exit: the exit status,
    # the printed lines, the files and the atexit handlers all survive it.
    hook = tmp_path / "hook.py"
    hook.write_text("import atexit, pathlib, sys\n"
                    f"atexit.register(pathlib.Path({str(tmp_path / 'atexit.txt')!r}).write_text, 'ran')\n"
                    "import runpy\nsys.argv[0] = 'fastga'\n"
                    "runpy.run_module('fastga', run_name='__main__', alter_sys=True)\n")
    ok = subprocess.run([sys.executable, str(hook), "digits", "--generations", "2", "--pop-size", "8",
                         "--hidden", "4", "--quiet", "--out", str(tmp_path), "--json",
                         str(tmp_path / "r.json")], capture_output=True, text=True, timeout=600)
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert "test accuracy" in ok.stdout and (tmp_path / "digits_best.npz").exists()
    assert json.loads((tmp_path / "r.json").read_text())["generations"] == 2
    assert (tmp_path / "atexit.txt").read_text() == "ran"
    bad = subprocess.run([sys.executable, "-m", "fastga", "digits", "--pop-size", "1", "--out",
                          str(tmp_path), "--quiet"], capture_output=True, text=True, timeout=600)
    assert bad.returncode == 2 and "pop_size" in bad.stderr


def test_digits_compiles_ahead_before_its_run(tmp_path, monkeypatch):
    import fastga.commands.digits as cmd

    calls = []
    monkeypatch.setattr(cmd, "compile_ahead", lambda spec, tasks: calls.append((spec, tasks)))
    code = main(["digits", "--generations", "1", "--pop-size", "10", "--hidden", "8",
                 "--algorithm", "ga", "--out", str(tmp_path), "--quiet"])
    assert code == 0
    from fastga.estimators import GeneticMLPClassifier

    clf = GeneticMLPClassifier.load(tmp_path / "digits_checkpoint.npz")
    assert clf.algorithm == "ga" and clf.batch_size == 512 and clf.ga_.pop_size == 10
    ((spec, tasks),) = calls
    assert spec.sizes == (64, 8, 10) and spec.activations[-1] == "softmax"
    assert tasks == ["breed", "forward", "fitness:cross_entropy"]


def test_islands_arguments_are_checked_before_ray(tmp_path, capsys):
    code = main(["digits", "--islands", "30", "--pop-size", "20", "--out", str(tmp_path), "--quiet"])
    assert code == 2 and "pop_size" in capsys.readouterr().err
    code = main(["digits", "--islands", "2", "--resume", "x.npz", "--out", str(tmp_path), "--quiet"])
    assert code == 2 and "--checkpoint/--resume" in capsys.readouterr().err


def test_arch_compiles_ahead_before_its_search(tmp_path, monkeypatch, capsys):
    import fastga.commands.arch as cmd

    calls = []
    monkeypatch.setattr(cmd, "compile_ahead", lambda spec, tasks: calls.append((spec, tasks)))
    code = main(["arch", "--samples", "60", "--pop-size", "2", "--generations", "1",
                 "--epochs", "1", "--no-keras", "--out", str(tmp_path), "--quiet"])
    assert code == 0 and (tmp_path / "arch_best.npz").exists()
    ((spec, tasks),) = calls
    assert spec.activations == ("tanh", "linear") and tasks == ["train", "forward"]
    assert main(["arch", "--activation", "nope", "--out", str(tmp_path), "--quiet"]) == 2
    assert "activation" in capsys.readouterr().err


def test_one_vocabulary_across_commands():
    """The same knob has the same flag in every sub-command that has it."""
    from fastga.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    flags = {name: {s for a in p._actions for s in a.option_strings}
             for name, p in sub.choices.items()}
    for name in ("digits", "gan", "arch"):
        assert {"--pop-size", "--generations", "--seed", "--out", "--quiet",
                "--profile"} <= flags[name], name
        assert "--population" not in flags[name]
        assert sub.choices[name].get_default("out") == "fastga-out", name
    for name in ("digits", "gan"):
        assert {"--mutation-rate", "--sigma", "--elitism"} <= flags[name], name


def test_digits_profile_adds_up(tmp_path, capsys):
    code = main(["digits", "--pop-size", "20", "--generations", "3", "--out", str(tmp_path),
                 "--quiet", "--profile"])
    assert code == 0
    text = capsys.readouterr().out
    lines = [ln for ln in text.splitlines() if ln.strip().startswith(("setup", "generations",
                                                                      "finish"))]
    assert len(lines) == 7  # setup, five phases, finish
    share = float(text.split("accounted for")[1].split()[2])
    assert 95.0 <= share <= 100.5
