"""Resume in a new process: 5 generations, save, load elsewhere, 5 more == 10 without a stop."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np

from fastga import GeneticAlgorithm, SupervisedFitness
from fastga.cli import main
from fastga.datasets import load_digits_split
from fastga.estimators import GeneticMLPClassifier
from fastga.network import Network

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 5)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 0.7)
    return X, y


def _ga():
    return GeneticAlgorithm([5, 6, 3], pop_size=14, die_off_rate=0.6, elitism=2,
                            type_probs=(0.6, 0.1, 0.1, 0.2), random_state=11)


def _run_in_new_process(code, tmp_path):
    script = tmp_path / "resume.py"
    script.write_text(textwrap.dedent(code))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
    proc = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]


def test_ga_resumed_in_a_new_process_is_bit_identical(tmp_path):
    X, y = _data()
    full = _ga().run(SupervisedFitness(X, y, batch_size=20, seed=4), 10)
    first = _ga().run(SupervisedFitness(X, y, batch_size=20, seed=4), 5)
    first.save(tmp_path / "five.npz")
    _run_in_new_process(f"""
        from fastga import GeneticAlgorithm, SupervisedFitness
        from tests.test_resume import _data
        X, y = _data()
        ga = GeneticAlgorithm.load({str(tmp_path / "five.npz")!r})
        # The fitness object is rebuilt: its minibatches depend only on (seed, generation).
        ga.run(SupervisedFitness(X, y, batch_size=20, seed=4), 5)
        ga.save({str(tmp_path / "ten.npz")!r})
    """, tmp_path)
    resumed = GeneticAlgorithm.load(tmp_path / "ten.npz")
    assert len(resumed.history_) == 11
    assert resumed.history_ == full.history_  # every column but `seconds`, bit for bit
    np.testing.assert_array_equal(resumed.population_.genomes, full.population_.genomes)
    np.testing.assert_array_equal(resumed.population_.fitness, full.population_.fitness)
    np.testing.assert_array_equal(resumed.best_genome_, full.best_genome_)
    assert resumed.best_fitness_ == full.best_fitness_
    assert resumed.state_.mutation_rate == full.state_.mutation_rate
    assert resumed.state_.stall == full.state_.stall


SMALL = dict(architecture=(8,), pop_size=20, batch_size=64, random_state=2)


def test_estimator_resumed_in_a_new_process_is_bit_identical(tmp_path):
    X_tr, X_te, y_tr, _ = load_digits_split()
    full = GeneticMLPClassifier(generations=10, **SMALL).fit(X_tr, y_tr)
    first = GeneticMLPClassifier(generations=5, warm_start=True, **SMALL).fit(X_tr, y_tr)
    first.save(tmp_path / "five.npz")
    _run_in_new_process(f"""
        from fastga.datasets import load_digits_split
        from fastga.estimators import GeneticMLPClassifier
        X_tr, X_te, y_tr, y_te = load_digits_split()
        clf = GeneticMLPClassifier.load({str(tmp_path / "five.npz")!r})
        assert clf.warm_start and clf.n_generations_ == 5
        clf.fit(X_tr, y_tr)  # warm_start: 5 more
        clf.save({str(tmp_path / "ten.npz")!r})
    """, tmp_path)
    resumed = GeneticMLPClassifier.load(tmp_path / "ten.npz")
    assert resumed.n_generations_ == 10
    assert resumed.history_ == full.history_
    np.testing.assert_array_equal(resumed.ga_.population_.genomes, full.ga_.population_.genomes)
    np.testing.assert_array_equal(resumed.ga_.best_genome_, full.ga_.best_genome_)
    np.testing.assert_array_equal(resumed.best_network_.genome, full.best_network_.genome)
    np.testing.assert_array_equal(resumed.predict_proba(X_te), full.predict_proba(X_te))


def _digits(tmp_path, name, *extra):
    out = tmp_path / name
    code = main(["digits", "--pop-size", "20", "--hidden", "8", "--batch-size", "64", "--quiet",
                 "--out", str(out), "--json", str(out / "r.json"), *extra])
    return code, out


def test_cli_checkpoint_and_resume(tmp_path, capsys):
    ck = str(tmp_path / "c.npz")
    code, _ = _digits(tmp_path, "a", "--generations", "6", "--checkpoint", ck, "--checkpoint-every", "3")
    assert code == 0
    assert GeneticMLPClassifier.load(ck).n_generations_ == 6
    code, resumed = _digits(tmp_path, "b", "--resume", ck, "--generations", "10")
    assert code == 0 and "resuming" in capsys.readouterr().out
    code, straight = _digits(tmp_path, "c", "--generations", "10")
    assert code == 0
    # Without --checkpoint, every run leaves one in its output folder, ready to go on.
    assert "--resume" in capsys.readouterr().out
    assert GeneticMLPClassifier.load(straight / "digits_checkpoint.npz").n_generations_ == 10
    a = json.loads((resumed / "r.json").read_text())
    b = json.loads((straight / "r.json").read_text())
    assert a["generations"] == b["generations"] == 10
    assert a["test_accuracy"] == b["test_accuracy"] and a["train_accuracy"] == b["train_accuracy"]
    np.testing.assert_array_equal(Network.load(resumed / "digits_best.npz").genome,
                                  Network.load(straight / "digits_best.npz").genome)
    # The resumed run went on checkpointing into the same file.
    assert GeneticMLPClassifier.load(ck).n_generations_ == 10


def test_cli_resume_errors(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a checkpoint")
    code, _ = _digits(tmp_path, "a", "--resume", str(bad), "--generations", "3")
    assert code == 2 and "truncated or corrupt" in capsys.readouterr().err
    assert bad.read_bytes() == b"not a checkpoint"
    code, _ = _digits(tmp_path, "a", "--generations", "3", "--checkpoint-every", "0")
    assert code == 2 and "checkpoint_every" in capsys.readouterr().err
    code, _ = _digits(tmp_path, "a", "--resume", str(tmp_path / "nope.npz"), "--generations", "3")
    assert code == 2 and "no such file" in capsys.readouterr().err


def test_cli_ctrl_c_saves_and_says_how_to_resume(tmp_path):
    ck = tmp_path / "c.npz"
    cmd = [sys.executable, "-m", "fastga", "digits", "--pop-size", "20", "--hidden", "8",
           "--generations", "100000", "--checkpoint", str(ck), "--checkpoint-every", "2",
           "--quiet", "--out", str(tmp_path / "out")]
    # The child gets SIGINT's default disposition, as a command started in a terminal has:
    # started from a background job of a non-interactive shell, it would inherit "ignored".
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 300
        while not ck.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert ck.exists(), "no checkpoint was written"
        os.kill(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err[-3000:]
    assert "checkpoint saved to" in err and "--resume" in err
    resume_cmd = err.strip().splitlines()[-1].split("to resume: ", 1)[1]
    assert resume_cmd.startswith("fastga digits --resume ")
    clf = GeneticMLPClassifier.load(ck)
    assert clf.ga_.state_.stopped == "interrupted"
    gen = clf.n_generations_
    # Resume to two more generations: same as a straight run of that length.
    args = resume_cmd.split()[2:]
    args[args.index("--generations") + 1] = str(gen + 2)
    assert main(["digits", *args, "--quiet", "--out", str(tmp_path / "r"),
                 "--json", str(tmp_path / "r.json")]) == 0
    from fastga.commands.digits import DEFAULT_ALGORITHM, algorithm_defaults, run_defaults

    straight = GeneticMLPClassifier(architecture=(8,), pop_size=20, generations=gen + 2,
                                    random_state=0, algorithm=DEFAULT_ALGORITHM,
                                    algorithm_params=algorithm_defaults(DEFAULT_ALGORITHM) or None,
                                    batch_size=run_defaults(DEFAULT_ALGORITHM)["batch_size"])
    X_tr, X_te, y_tr, y_te = load_digits_split()
    straight.fit(X_tr, y_tr)
    got = json.loads((tmp_path / "r.json").read_text())
    assert got["generations"] == gen + 2
    assert got["test_accuracy"] == float(straight.score(X_te, y_te))
