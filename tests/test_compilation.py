"""Warm-up compilation over processes (fastga.compilation).

The signature checks run in fresh interpreters: in this process other tests
have compiled many signatures already, which would hide a task that
compiles the wrong one.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import fastga
from fastga import compilation
from fastga.compilation import (ENV_JOBS, compile_ahead, default_jobs, run_tasks,
                                split_tasks, tasks_for)

ROOT = Path(__file__).resolve().parents[1]

PRELUDE = textwrap.dedent(
    """
    import importlib, json, sys
    import numpy as np
    from numba.core.registry import CPUDispatcher
    import fastga
    from fastga import GeneticAlgorithm, NetworkSpec, Population, SupervisedFitness
    from fastga.compilation import run_tasks, tasks_for

    def signatures():
        out = {}
        for m in ("init", "forward", "fitness", "breed", "crossover", "mutation", "rng",
                  "training", "es"):
            mod = importlib.import_module("fastga.kernels." + m)
            for name in dir(mod):
                f = getattr(mod, name)
                if isinstance(f, CPUDispatcher) and f.__module__ == mod.__name__:
                    out[m + "." + name] = sorted(str(s) for s in f.signatures)
        return out
    """
)

SIGNATURES = PRELUDE + textwrap.dedent(
    """

    sizes, acts, metric = json.loads(sys.argv[1])
    spec = NetworkSpec(sizes, acts)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((70, sizes[0])).astype(np.float32)
    if metric == "mse":
        y = rng.standard_normal((70, sizes[-1])).astype(np.float32)
    else:
        y = rng.integers(0, sizes[-1], 70)
    fit = SupervisedFitness(X, y, metric, batch_size=64)
    run_tasks(spec, tasks_for(fit))
    before = signatures()
    for crossover in ("neuron", "single_point", "uniform"):
        ga = GeneticAlgorithm(spec, pop_size=12, crossover=crossover, random_state=0)
        ga.run(fit, 2)
    ga.best_network().predict(X)
    pop = Population.random(spec, 3, random_state=1)
    pop.forward(X)
    pop.losses(X, y, metric)
    print(json.dumps({"before": before, "after": signatures()}))
    """
)


def _python(code, *args, env=None):
    full = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    full.update(env or {})
    out = subprocess.run([sys.executable, "-c", code, *args], env=full, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("case", [
    ([5, 4, 3], ["relu", "softmax"], "cross_entropy"),
    ([5, 4, 3, 2], ["tanh", "relu", "softmax"], "accuracy"),
    ([5, 4, 2], ["relu", "sigmoid"], "cross_entropy"),
    ([5, 4, 2], ["relu", "linear"], "mse"),
])
def test_tasks_compile_every_signature_a_run_uses(case):
    # After the tasks of a run, the run itself (every crossover kind, the
    # best network's predict, forward and losses) compiles nothing more: the
    # tasks built exactly the signatures the drivers call.
    got = _python(SIGNATURES, json.dumps(case), env={ENV_JOBS: "1"})
    assert got["after"] == got["before"]
    assert got["before"]["breed.breed"] and got["before"]["forward.forward_epilogue"]


ES_SIGNATURES = PRELUDE + textwrap.dedent(
    """
    from fastga.es import ALGORITHMS

    spec = NetworkSpec([5, 4, 3], ["relu", "softmax"])
    rng = np.random.default_rng(0)
    X = rng.standard_normal((70, 5)).astype(np.float32)
    fit = SupervisedFitness(X, rng.integers(0, 3, 70), "cross_entropy", batch_size=64)
    run_tasks(spec, tasks_for(fit, algorithm="openes"))
    before = signatures()
    for name, cls in sorted(ALGORITHMS.items()):
        es = cls(spec, pop_size=8, random_state=0)
        es.run(fit, 2)
        es.best_network().predict(X)
    print(json.dumps({"before": before, "after": signatures()}))
    """
)


def test_the_es_task_compiles_what_every_strategy_uses():
    # fastga digits runs an evolution strategy: the es task (in place of
    # breed) builds the sampling and the sums of all four strategies.
    got = _python(ES_SIGNATURES, env={ENV_JOBS: "1"})
    assert got["after"] == got["before"]
    assert got["before"]["es.sample"] and got["before"]["es.weighted_sums"]
    assert not got["before"]["breed.breed"]


SEARCH_SIGNATURES = PRELUDE + textwrap.dedent(
    """
    from fastga.search import ArchitectureSearch, make_splits

    activation = sys.argv[1]
    run_tasks(NetworkSpec([1, 1, 1], [activation, "linear"]), ["train", "forward"])
    before = signatures()
    d = make_splits("sin", 60, random_state=0)
    s = ArchitectureSearch(population_size=3, generations=1, epochs=1, activation=activation,
                           random_state=0).fit(d.X_train, d.y_train, d.X_val, d.y_val)
    s.predict(d.X_test)
    print(json.dumps({"before": before, "after": signatures()}))
    """
)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_the_train_task_compiles_what_a_search_uses(activation):
    # The command line's warm-up of fastga arch: the search's SGD kernels and
    # the best network's forward pass, of networks of any depth.
    got = _python(SEARCH_SIGNATURES, activation, env={ENV_JOBS: "1"})
    assert got["after"] == got["before"]
    assert got["before"]["training.train_candidates"]


def test_split_tasks_gives_every_task_once():
    tasks = ["breed", "forward", "fitness:cross_entropy"]
    for n_jobs in (1, 2, 3, 8):
        parts = split_tasks(tasks, n_jobs)
        assert sorted(t for p in parts for t in p) == sorted(tasks)
        assert 1 <= len(parts) <= n_jobs
    assert split_tasks(tasks, 1) == [tasks]
    # Two processes: the forward pass and the fitness kernel share much of
    # their code, so they go together, here (the helper starts later).
    mine, theirs = split_tasks(tasks, 2)
    assert mine == ["forward", "fitness:cross_entropy"] and theirs == ["breed"]
    assert split_tasks(tasks, 3) == [["breed"], ["forward"], ["fitness:cross_entropy"]]
    # Shared code or not, two tasks split where that finishes sooner.
    assert split_tasks(["forward", "fitness:mse"], 2) == [["forward"], ["fitness:mse"]]
    assert split_tasks(["fitness:mse"], 4) == [["fitness:mse"]]
    assert split_tasks([], 2) == [[]]
    # A task needed only once the run has started goes to a helper, last:
    # the run waits for the others only.
    assert split_tasks(tasks, 2, late={"forward"}) == [["breed"],
                                                       ["fitness:cross_entropy", "forward"]]
    assert split_tasks(tasks, 1, late={"forward"}) == [tasks]
    with pytest.raises(ValueError, match="tasks"):
        split_tasks(["breed", "nope"], 2)


def test_tasks_for_a_run():
    X = np.zeros((4, 3), np.float32)
    assert tasks_for(None) == ["breed", "forward"]
    assert tasks_for(lambda pop: np.zeros(pop.size)) == ["breed", "forward"]
    fit = fastga.SupervisedFitness(X, np.zeros((4, 2), np.float32), "mse")
    assert tasks_for(fit) == ["breed", "forward", "fitness:mse"]
    assert tasks_for(metric="cross_entropy") == ["breed", "forward", "fitness:cross_entropy"]
    assert tasks_for(fit, algorithm="pgpe") == ["es", "forward", "fitness:mse"]
    with pytest.raises(ValueError, match="tasks"):
        tasks_for(metric="hinge")


def test_compile_ahead_is_public_and_takes_the_fitness(monkeypatch):
    assert fastga.compile_ahead is compile_ahead and "compile_ahead" in fastga.__all__
    seen = []
    monkeypatch.setattr(compilation, "_kernels", lambda spec, task: seen.append(task) or [])
    fit = fastga.SupervisedFitness(np.zeros((4, 5), np.float32), np.zeros(4, np.int64), "accuracy")
    fastga.compile_ahead([5, 4, 3], fitness=fit, n_jobs=2)
    assert seen == ["breed", "forward", "fitness:accuracy"]
    seen.clear()
    fastga.compile_ahead([5, 4, 3], n_jobs=2)
    assert seen == ["breed", "forward"]


def test_default_jobs(monkeypatch):
    monkeypatch.setenv(ENV_JOBS, "3")
    assert default_jobs() == 3
    monkeypatch.setenv(ENV_JOBS, "0")
    assert default_jobs() == 1
    monkeypatch.setenv(ENV_JOBS, "many")
    with pytest.raises(ValueError, match=ENV_JOBS):
        default_jobs()
    monkeypatch.delenv(ENV_JOBS)
    assert default_jobs() >= 1


def test_nothing_starts_where_it_cannot_help(monkeypatch):
    spec = fastga.NetworkSpec([5, 4, 3], ["relu", "softmax"])
    run_tasks(spec, ["breed", "forward", "fitness:cross_entropy"])  # compiled here now

    def no_helper(*a, **k):
        raise AssertionError("a helper was started")

    monkeypatch.setattr(compilation.subprocess, "Popen", no_helper)
    for n_jobs in (1, 2, 4):
        report = compile_ahead(spec, ["breed", "forward", "fitness:cross_entropy"], n_jobs=n_jobs)
        assert report["here"] == [] and report["helpers"] == [] and report["failed"] == []
    # Cold kernels, but a frozen application (sys.executable is the app), or
    # a cache turned off: nothing starts either.
    monkeypatch.setattr(compilation, "_ready", lambda kernel: False)
    monkeypatch.setattr(compilation.sys, "frozen", True, raising=False)
    assert compile_ahead(spec, ["breed", "forward"], n_jobs=2)["here"] == []
    monkeypatch.delattr(compilation.sys, "frozen")
    monkeypatch.setenv("NUMBA_DISABLE_CACHE", "1")
    assert compile_ahead(spec, ["breed", "forward"], n_jobs=2)["here"] == []


SPEC = fastga.NetworkSpec([5, 4, 3], ["relu", "softmax"])
TASKS3 = ["breed", "forward", "fitness:cross_entropy"]


def _fake_helpers(monkeypatch, code):
    """Every kernel counts as cold, and a helper runs ``python -c code``; returns
    the list of ``(process, env)`` started."""
    started = []
    popen = subprocess.Popen

    def record(*a, **k):
        started.append((popen(*a, **k), k["env"]))
        return started[-1][0]

    monkeypatch.setattr(compilation, "_ready", lambda kernel: False)
    monkeypatch.setattr(compilation, "_helper_command",
                        lambda spec, tasks, n_early=None: [sys.executable, "-c", code])
    monkeypatch.setattr(compilation.subprocess, "Popen", record)
    return started


def test_a_failing_helper_costs_only_its_time(monkeypatch):
    # The helper exits with an error; the run goes on and compiles (here:
    # finds) what the helper did not.
    started = _fake_helpers(monkeypatch, "import sys; sys.exit(3)")
    report = compile_ahead(SPEC, TASKS3, n_jobs=2)
    assert report["here"] == ["breed"]
    assert report["failed"] == ["fitness:cross_entropy", "forward"]
    assert report["helpers"] == [] and report["background"] == []
    assert [p.returncode for p, _ in started] == [3]
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 5)).astype(np.float32)
    ga = fastga.GeneticAlgorithm(SPEC, pop_size=8, random_state=0)
    ga.run(fastga.SupervisedFitness(X, rng.integers(0, 3, 20)), 1)
    assert np.isfinite(ga.best_fitness_)


def test_a_slow_helper_is_stopped(monkeypatch):
    started = _fake_helpers(monkeypatch, "import time; time.sleep(600)")
    report = compile_ahead(SPEC, TASKS3, n_jobs=2, timeout=0.5)
    assert report["failed"] == ["fitness:cross_entropy", "forward"]
    # Killed at the timeout (a sleeping helper exits 0 only after 600 s).
    ((proc, _),) = started
    assert proc.returncode is not None and proc.returncode != 0


def test_late_tasks_go_on_after_the_call_until_finish(monkeypatch):
    # The helper reports its early task done, then compiles the late one
    # (here: sleeps) while the run goes on; finish() waits for it, and stops
    # it at its timeout (it runs at exit with none).
    started = _fake_helpers(monkeypatch,
                            "import time; print('ready', flush=True); time.sleep(600)")
    report = compile_ahead(SPEC, TASKS3, n_jobs=2)
    assert report["here"] == ["breed"] and report["failed"] == []
    assert report["helpers"] == [["fitness:cross_entropy"]]
    assert report["background"] == ["forward"]
    ((proc, _),) = started
    assert proc.poll() is None
    assert compilation.finish(timeout=0.5) == {"done": [], "failed": ["forward"]}
    assert proc.poll() is not None and compilation._background == []
    # Waiting for every task: nothing goes on after the call (the helper
    # reported its task done, and is stopped at the timeout).
    report = compile_ahead(SPEC, TASKS3, n_jobs=2, late=(), timeout=1.0)
    assert report["here"] == ["forward", "fitness:cross_entropy"]
    assert report["helpers"] == [["breed"]] and report["background"] == []
    assert started[-1][0].poll() is not None


def test_no_helper_outlives_an_interrupt(monkeypatch):
    def interrupted(spec, tasks):
        raise KeyboardInterrupt

    started = _fake_helpers(monkeypatch, "import time; time.sleep(600)")
    monkeypatch.setattr(compilation, "run_tasks", interrupted)
    with pytest.raises(KeyboardInterrupt):
        compile_ahead(SPEC, TASKS3, n_jobs=2)
    ((proc, _),) = started
    assert proc.poll() is not None


def test_the_helper_runs_this_fastga(monkeypatch):
    # The helper is given this fastga's package directory (whatever put it on
    # sys.path here), and imports the kernels without the package's __init__.
    cmd = compilation._helper_command(SPEC, ["forward"])
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    started = _fake_helpers(monkeypatch, "pass")
    compile_ahead(SPEC, TASKS3, n_jobs=2)
    ((_, env),) = started
    assert env[ENV_JOBS] == "1" and env["PYTHONPATH"] == "/elsewhere"
    assert cmd[3] == str(PACKAGE_DIR)
    code = cmd[2].replace("from fastga.compilation import _main; sys.exit(_main(sys.argv[2:]))",
                          "import fastga.compilation, json; print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code, *cmd[3:]], capture_output=True, text=True,
                         cwd="/", env=dict(os.environ), timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    modules = json.loads(out.stdout)
    assert "fastga.kernels.fitness" in modules
    assert "sklearn" not in modules and "fastga.population" not in modules


PACKAGE_DIR = Path(compilation.__file__).resolve().parent


def test_a_library_run_starts_no_process(monkeypatch):
    # Every kernel counts as cold and compile_ahead would use 4 processes:
    # were run() or fit() to call it, it would start a helper.
    def no_process(*a, **k):
        raise AssertionError("a library call started a process")

    monkeypatch.setenv(ENV_JOBS, "4")
    monkeypatch.setattr(compilation, "_ready", lambda kernel: False)
    monkeypatch.setattr(subprocess, "Popen", no_process)
    with pytest.raises(AssertionError, match="started a process"):  # the trap works
        compile_ahead(SPEC, TASKS3)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 5)).astype(np.float32)
    y = rng.integers(0, 3, 20)
    fit = fastga.SupervisedFitness(X, y, "accuracy")
    ga = fastga.GeneticAlgorithm(SPEC, pop_size=8, random_state=0).run(fit, 1)
    assert np.isfinite(ga.best_fitness_)
    clf = fastga.GeneticMLPClassifier(architecture=(4,), pop_size=8, generations=1,
                                      random_state=0).fit(X, y)
    assert clf.n_generations_ == 1


def test_import_fastga_compiles_nothing():
    code = textwrap.dedent(
        """
        import json, sys
        from numba.core.registry import CPUDispatcher
        import fastga
        fastga.compile_ahead  # the public name is there without a call
        compiled = [f"{m}.{n}" for m, mod in list(sys.modules.items()) if m.startswith("fastga")
                    for n, f in vars(mod).items()
                    if isinstance(f, CPUDispatcher) and f.signatures]
        print(json.dumps({"compiled": compiled, "kernels": "fastga.kernels.breed" in sys.modules}))
        """
    )
    got = _python(code)
    assert got["kernels"] and got["compiled"] == []


def test_helper_usage_error():
    out = subprocess.run([sys.executable, "-m", "fastga.compilation"], capture_output=True,
                         text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 2 and "usage" in out.stderr


COLD = textwrap.dedent(
    """
    import json, numpy as np
    from fastga import NetworkSpec
    from fastga.compilation import compile_ahead, finish, run_tasks
    from fastga.kernels.breed import breed
    from fastga.kernels.fitness import fused_softmax_ce
    from fastga.kernels.forward import forward_epilogue
    spec = NetworkSpec([5, 4, 3], ["relu", "softmax"])
    report = compile_ahead(spec, ["breed", "forward", "fitness:cross_entropy"], n_jobs=2)
    report["finish"] = finish()
    # The helper's kernels now load from the cache it wrote.
    run_tasks(spec, ["breed", "forward", "fitness:cross_entropy"])
    hits = {k.__name__: sum(k.stats.cache_hits.values()) for k in (breed, fused_softmax_ce,
                                                                   forward_epilogue)}
    print(json.dumps({"report": report, "hits": hits}))
    """
)


def test_helpers_compile_into_the_cache(tmp_path):
    got = _python(COLD, env={"NUMBA_CACHE_DIR": str(tmp_path), ENV_JOBS: "2"})
    report = got["report"]
    assert report["failed"] == []
    assert report["here"] == ["breed"]
    # The helper compiled the fitness kernel before the call returned, the
    # forward pass (needed only after the run) after it.
    assert report["helpers"] == [["fitness:cross_entropy"]]
    assert report["background"] == ["forward"]
    assert report["finish"] == {"done": ["forward"], "failed": []}
    # Compiled in the helper, loaded here; breed was compiled here.
    assert got["hits"]["fused_softmax_ce"] == 1 and got["hits"]["forward_epilogue"] == 1
    assert got["hits"]["breed"] == 0
    assert list(tmp_path.rglob("*.nbi"))


# ---------------------------------------------------------------- the cache's key

from fastga.kernels import cachedir  # noqa: E402

PACKAGE = Path(fastga.__file__).resolve().parent


def _copy_package(dest):
    import shutil

    shutil.copytree(PACKAGE, dest / "fastga", ignore=shutil.ignore_patterns("__pycache__"))
    return dest / "fastga"


def test_every_module_with_numba_code_is_in_the_key():
    covered = {Path(p).resolve() for p in cachedir.key_sources()}
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        if any(s in text for s in ("@njit", "njit(", "@intrinsic", "@overload", "@jit")):
            assert path.resolve() in covered, path
    assert (PACKAGE / "registry.py").resolve() in covered


def test_an_edit_of_an_inlined_helper_changes_the_key(tmp_path):
    # exp32 (kernels/exp.py) is compiled into the fitness kernels of another
    # file; Numba's own key (that file's source) would not see its edit.
    pkg = _copy_package(tmp_path)
    key = cachedir.cache_key(str(pkg))
    assert key == cachedir.cache_key(str(PACKAGE))  # same sources, another place
    exp = pkg / "kernels" / "exp.py"
    exp.write_text(exp.read_text().replace("return", "return  ", 1))
    assert cachedir.cache_key(str(pkg)) != key
    reg = pkg / "registry.py"
    exp.write_text((PACKAGE / "kernels" / "exp.py").read_text())
    assert cachedir.cache_key(str(pkg)) == key
    reg.write_text(reg.read_text() + "\n# an edit\n")
    assert cachedir.cache_key(str(pkg)) != key


def test_the_cache_directory(monkeypatch, tmp_path):
    monkeypatch.setattr(cachedir, "_dir", None)
    monkeypatch.delenv(cachedir.ENV_DIR, raising=False)
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "numba"))
    assert cachedir.cache_dir() == str(tmp_path / "numba" / "fastga" / cachedir.cache_key())
    monkeypatch.setattr(cachedir, "_dir", None)
    monkeypatch.setenv(cachedir.ENV_DIR, str(tmp_path / "own"))
    assert cachedir.cache_dir() == str(tmp_path / "own" / cachedir.cache_key())
    monkeypatch.setattr(cachedir, "_dir", None)
    monkeypatch.delenv(cachedir.ENV_DIR)
    monkeypatch.delenv("NUMBA_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cachedir.cache_dir().startswith(str(tmp_path / "xdg" / "fastga") + os.sep)
    monkeypatch.setattr(cachedir, "_dir", None)


LOG_GROUP = textwrap.dedent(
    """
    import json, fastga
    from fastga.kernels import cachedir
    from fastga.kernels.fitness import log_group
    log_group(10)
    print(json.dumps({"hits": sum(log_group.stats.cache_hits.values()),
                      "file": fastga.__file__, "dir": cachedir.cache_dir()}))
    """
)


def test_cache_reuse_after_a_reinstall_and_not_after_an_edit(tmp_path):
    # A re-install (the same sources, another place and new times) loads the
    # kernels from the cache; an edit of a helper in another file compiles
    # them again, in another directory.
    def run(pkg):
        out = subprocess.run([sys.executable, "-c", LOG_GROUP], capture_output=True, text=True,
                             env=dict(os.environ, PYTHONPATH=str(pkg.parent),
                                      NUMBA_CACHE_DIR=str(tmp_path / "cache")),
                             cwd=tmp_path, timeout=300)
        assert out.returncode == 0, out.stderr[-3000:]
        got = json.loads(out.stdout.strip().splitlines()[-1])
        assert got["file"] == str(pkg / "__init__.py")
        return got

    first = run(_copy_package(tmp_path / "a"))
    again = run(_copy_package(tmp_path / "b"))
    edited = _copy_package(tmp_path / "c")
    exp = edited / "kernels" / "exp.py"
    exp.write_text(exp.read_text() + "\n# an edit\n")
    after_edit = run(edited)
    assert first["hits"] == 0 and again["hits"] == 1 and again["dir"] == first["dir"]
    assert after_edit["hits"] == 0 and after_edit["dir"] != first["dir"]
    assert first["dir"].startswith(str(tmp_path / "cache" / "fastga"))


def test_warmup_command_compiles_the_common_runs(monkeypatch, capsys):
    from fastga.cli import main
    from fastga.commands import warmup

    calls = []
    monkeypatch.setattr(warmup, "compile_ahead",
                        lambda spec, tasks, n_jobs=None: calls.append(("ahead", spec, n_jobs)))
    monkeypatch.setattr(warmup, "run_tasks", lambda spec, tasks: calls.append(("run", spec, tasks)))
    assert main(["warmup", "--jobs", "2"]) == 0
    assert "cache:" in capsys.readouterr().out
    ran = [(c[1].activations, c[2]) for c in calls if c[0] == "run"]
    assert ran == [(("relu", "softmax"), ["breed", "es", "forward", "fitness:cross_entropy"]),
                   (("relu", "linear"), ["forward", "fitness:mse"])]
    assert {c[2] for c in calls if c[0] == "ahead"} == {2}
    calls.clear()
    assert main(["warmup", "--activation", "tanh", "relu", "--search"]) == 0
    ran = [(c[1].activations, c[2]) for c in calls if c[0] == "run"]
    assert [a for a, _ in ran] == [("tanh", "softmax"), ("tanh", "linear"), ("relu", "softmax"),
                                   ("relu", "linear"), ("tanh", "linear")]
    assert ran[-1][1] == ["train", "forward"]
    assert main(["warmup", "--jobs", "0"]) == 2


def test_one_fitness_kernel_for_every_number_of_classes():
    # The tile's width is a run-time value: a new number of classes (up to
    # MAX_SOFTMAX_TILE) compiles nothing.
    from fastga.evaluation import fitness_kernel
    from fastga.kernels.tiles import MAX_SOFTMAX_TILE

    kinds = {fitness_kernel(fastga.NetworkSpec([4, 3, n], ["relu", "softmax"]), "accuracy")
             for n in range(1, MAX_SOFTMAX_TILE + 1)}
    assert len(kinds) == 1
    wide = fitness_kernel(fastga.NetworkSpec([4, 3, MAX_SOFTMAX_TILE + 1], ["relu", "softmax"]),
                          "accuracy")
    assert wide[1][0] == () and wide not in kinds
