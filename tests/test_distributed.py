"""fastga.distributed: the island model on a local Ray (num_cpus=2), tiny shapes."""

import functools
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from fastga import GASettings, Population, SupervisedFitness
from fastga.distributed import IslandModel, merge_histories
from fastga.history import History
from fastga.selection import rank_order

pytestmark = pytest.mark.ray

SPEC = [64, 6, 10]
N_PARAMS = 64 * 6 + 6 + 6 * 10 + 10
GA = GASettings(die_off_rate=0.7, elitism=2)


@pytest.fixture(scope="module")
def data():
    from fastga.datasets import load_digits_split

    X, _, y, _ = load_digits_split()
    return X[:150], y[:150]


@pytest.fixture(scope="module")
def ray_local():
    """One local Ray for the whole module (starting Ray costs seconds)."""
    ray = pytest.importorskip("ray")
    if ray.is_initialized():  # pragma: no cover - someone else's Ray
        ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="WARNING")
    yield ray
    ray.shutdown()


def full_batch(X, y):
    """Deterministic fitness: the whole (tiny) training set every generation."""
    return functools.partial(SupervisedFitness, X, y, "cross_entropy", None)


def model(**kw):
    params = dict(n_islands=2, pop_size=16, migration_every=3, n_migrants=2, ga=GA,
                  checkpoint_seconds=0, random_state=3)
    params.update(kw)
    return IslandModel(SPEC, **params)


def score(genome, X, y):
    return SupervisedFitness(X, y)(Population(SPEC, genome[None, :]))[0]


# ---------------------------------------------------------------- no Ray needed
def test_importing_fastga_does_not_import_ray():
    code = "import sys, fastga, fastga.distributed; print('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("kw, match", [
    ({"topology": "star"}, "topology"),
    ({"n_migrants": 16}, "n_migrants"),
    ({"n_islands": 0}, "n_islands"),
    ({"migration_every": 0}, "migration_every"),
    ({"num_cpus": 0}, "num_cpus"),
    ({"reevaluate": "never"}, "reevaluate"),
    ({"checkpoint_seconds": -1}, "checkpoint_seconds"),
    ({"ga": {"sigma": 0.1}}, "ga"),
    ({"ga": GASettings(crossover="bogus")}, "crossover"),
    ({"ga": GASettings(mutation_rate=0.5, mutation_rate_cap=0.4)}, "mutation_rate_cap"),
])
def test_bad_settings_fail_before_ray_starts(kw, match, data):
    with pytest.raises((ValueError, TypeError), match=f"^{match}"):
        model(**kw).run(full_batch(*data), 3)


def test_bad_arguments_of_run(data):
    with pytest.raises(TypeError, match="^fitness_factory"):
        model().run("not callable", 3)
    with pytest.raises(ValueError, match="^generations"):
        model().run(full_batch(*data), -1)


def test_configure_threads_leaves_numbas_environment_alone():
    """Numba re-reads its environment at each compilation: NUMBA_NUM_THREADS must not change."""
    import numba

    from fastga.distributed import cluster

    before, env = numba.get_num_threads(), os.environ.get("NUMBA_NUM_THREADS")
    try:
        got = cluster.configure_threads(1)
        assert got["numba"] == 1 == numba.get_num_threads()
        assert os.environ.get("NUMBA_NUM_THREADS") == env
        numba.core.config.reload_config()  # what every compilation does; raises on a mismatch
    finally:
        numba.set_num_threads(before)
        if cluster._LIMITER is not None and cluster._LIMITER[1] is not None:
            cluster._LIMITER[1].restore_original_limits()
        cluster._LIMITER = None


def test_merge_histories_takes_last_row_per_generation():
    a = History({"generation": [0, 1, 1], "best_fitness": [1, 2, 3], "mean_fitness": [0, 1, 2],
                 "fitness_variance": [1, 1, 1], "n_invalid": [0, 1, 2], "seconds": [1, 1, 4]})
    b = History({"generation": [0, 1], "best_fitness": [5, 0], "mean_fitness": [2, 4],
                 "fitness_variance": [1, 3], "n_invalid": [1, 1], "seconds": [2, 1]})
    m = merge_histories([a, b])
    assert list(m["generation"]) == [0, 1]
    assert list(m["best_fitness"]) == [5, 3]
    assert list(m["mean_fitness"]) == [1, 3]
    # union of two equal populations: mean of the variances + variance of the means
    assert list(m["fitness_variance"]) == [1 + 1, 2 + 1]
    assert list(m["n_invalid"]) == [1, 3] and list(m["seconds"]) == [2, 4]


def test_random_topology_never_sends_to_itself():
    m = model(n_islands=5, topology="random")
    m.seed_, m._n = 7, 5
    for epoch in range(20):
        src = m._sources(epoch)
        assert all(0 <= s < 5 and s != i for i, s in enumerate(src))
    assert m._sources(3) == m._sources(3)
    m.topology = "ring"
    assert m._sources(0) == [4, 0, 1, 2, 3]


# ------------------------------------------------------------------- on Ray
def test_islands_run_migrate_and_keep_the_global_best(ray_local, data):
    X, y = data
    m = model(keep_top=4).run(full_batch(X, y), 7)
    assert m.n_generations_ == 7 and len(m.history_) == 8
    assert [len(h) for h in m.island_histories_] == [8, 8]
    assert list(m.history_["generation"]) == list(range(8))
    # The global best is the best any island saw, and the driver's copy is that genome.
    bests = [h["best_fitness"].max() for h in m.island_histories_]
    assert m.best_fitness_ == max(bests) == m.history_["best_fitness"].max()
    assert m.best_genome_.dtype == np.float32 and m.best_genome_.shape == (N_PARAMS,)
    assert score(m.best_genome_, X, y) == pytest.approx(m.best_fitness_, rel=1e-6)
    # Epochs end at generations 3, 6, 7; migrations after the first two (2 genomes each way).
    assert [e["generation"] for e in m.epochs_] == [3, 6, 7]
    n_params = N_PARAMS
    assert [e["migrant_bytes"] for e in m.epochs_] == [2 * 2 * n_params * 4] * 2 + [0]
    assert [e["received"] for e in m.epochs_] == [0, 4, 4]
    assert m.stats_["migration_bytes"]["raw"] == 2 * n_params * 4
    assert m.stats_["migration_bytes"]["serialized"] >= 2 * n_params * 4
    assert all(e["migrations_lost"] == 0 for e in m.epochs_) and m.restarts_ == []
    # Each island ran in its own process, one Numba thread each.
    assert len({d["pid"] for d in m.island_info_}) == 2
    assert all(d["numba_threads"] == 1 for d in m.island_info_)
    for genomes, fitness in m.populations_:
        assert genomes.shape == (4, n_params) and np.all(np.diff(fitness) <= 0)


def test_same_seed_same_run(ray_local, data):
    a = model(topology="random", n_islands=3, num_cpus=0.5).run(full_batch(*data), 5)
    b = model(topology="random", n_islands=3, num_cpus=0.5).run(full_batch(*data), 5)
    assert a.history_ == b.history_
    assert np.array_equal(a.best_genome_, b.best_genome_)
    assert len(set(a.island_seeds_)) == 3


@pytest.mark.parametrize("reevaluate", ["immigrants", "population"])
def test_immigrants_replace_the_worst_and_are_scored_by_the_receiver(data, reevaluate):
    import numba

    from fastga.distributed import Island

    X, y = data
    isl = Island(0, SPEC, GA, 10, 5, full_batch(X, y),
                 threads=numba.get_num_threads(), reevaluate=reevaluate)
    isl.ga.run(isl.fitness, 2, warm_start=True)
    pop = isl.ga.population_
    before_best = pop.genomes[pop.best_index()].copy()
    worst = rank_order(pop.fitness)[-3:]
    guests = np.random.default_rng(0).uniform(-0.1, 0.1, (3, N_PARAMS)).astype(np.float32)
    assert isl._immigrate(guests) == 3
    assert np.array_equal(pop.genomes[worst], guests)
    assert np.array_equal(pop.genomes[pop.best_index()], before_best) or reevaluate == "population"
    if reevaluate == "immigrants":
        # scored here, at this generation, exactly as the residents were
        want = SupervisedFitness(X, y)(Population(SPEC, pop.genomes[worst]))
        assert np.array_equal(pop.fitness[worst], want)
        assert isl._evaluated()
    else:
        assert not isl._evaluated() and np.isnan(pop.fitness).all()
        isl.ga.run(isl.fitness, 0, warm_start=True)  # scores the whole island again
        assert np.isfinite(pop.fitness).all()


def _kill_after_epoch(which, no_restart, seen):
    import ray

    def callback(model, record):
        seen.append((record["epoch"], record["best_fitness"], model.best_genome_.copy()))
        if record["epoch"] == which:
            ray.kill(model.islands_[0], no_restart=no_restart)
    return callback


@pytest.mark.parametrize("no_restart, ray_restarts", [(True, False), (False, True)])
def test_killed_island_resumes_from_its_checkpoint(ray_local, data, tmp_path, no_restart,
                                                   ray_restarts):
    X, y = data
    seen = []
    m = model(checkpoint_dir=str(tmp_path), ray_restarts=ray_restarts)
    m.run(full_batch(X, y), 9, callbacks=[_kill_after_epoch(1, no_restart, seen)])
    # Island 0 was killed after epoch 1 (generation 6) and came back at generation 6.
    assert len(m.restarts_) == 1
    r = m.restarts_[0]
    assert r["island"] == 0 and r["epoch"] == 2 and r["restored_generation"] == 6
    assert r["how"] == ("ray" if ray_restarts else "driver")
    # The run finished on every island, with no generation lost or repeated.
    assert m.n_generations_ == 9
    for h in m.island_histories_:
        assert list(h["generation"]) == list(range(10))
    # The global best never went back, and the driver's genome is that best.
    before = max(f for _, f, _ in seen[:2])
    assert m.best_fitness_ >= before
    assert score(m.best_genome_, X, y) == pytest.approx(m.best_fitness_, rel=1e-6)
    # The dead island's emigrants of epoch 1 reached island 1, or were skipped if lost with it.
    assert m.epochs_[2]["received"] + 2 * m.epochs_[2]["migrations_lost"] == 4
    assert os.path.exists(os.path.join(m.checkpoint_run_dir_, "island-0000.npz"))


class _DieOnce:
    """A fitness whose process kills itself (SIGKILL) once, at ``generation``, mid-epoch."""

    def __init__(self, X, y, marker, generation):
        self.inner = SupervisedFitness(X, y)
        self.marker, self.generation = marker, generation
        self.last_stats = {}

    def __call__(self, population):
        if population.generation == self.generation and population.size > 2:
            try:
                fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                pass
            else:
                os.close(fd)
                os.kill(os.getpid(), signal.SIGKILL)
        out = self.inner(population)
        self.last_stats = self.inner.last_stats
        return out


def test_island_dying_mid_epoch_is_replayed_from_its_checkpoint(ray_local, data, tmp_path):
    import ray.cloudpickle

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    X, y = data
    marker = str(tmp_path / "died")
    plain = model().run(full_batch(X, y), 8)
    m = model().run(functools.partial(_DieOnce, X, y, marker, 5), 8)
    assert os.path.exists(marker)
    assert len(m.restarts_) == 1 and m.restarts_[0]["restored_generation"] == 3
    assert m.restarts_[0]["epoch"] == 1 and m.restarts_[0]["how"] == "driver"
    for h in m.island_histories_:
        assert list(h["generation"]) == list(range(9))
    # The island replayed epoch 1 from its checkpoint with the same immigrants:
    # the run is the run without the crash, bit for bit.
    assert m.history_ == plain.history_
    assert np.array_equal(m.best_genome_, plain.best_genome_)


def test_too_many_deaths_stop_the_run(ray_local, data, tmp_path):
    import ray.cloudpickle

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    X, y = data

    class AlwaysDie(_DieOnce):
        def __call__(self, population):
            if population.generation == 1 and population.size > 2:
                os.kill(os.getpid(), signal.SIGKILL)
            return super().__call__(population)

    with pytest.raises(RuntimeError, match="died 2 times"):
        model(max_restarts=1).run(functools.partial(AlwaysDie, X, y, str(tmp_path / "m"), -1), 4)


def test_digits_command_with_islands(ray_local, tmp_path, capsys):
    import json

    from fastga.cli import main

    js = tmp_path / "r.json"
    code = main(["digits", "--islands", "2", "--generations", "4", "--pop-size", "12",
                 "--hidden", "6", "--migration-every", "2", "--migrants", "2",
                 "--out", str(tmp_path / "out"), "--json", str(js), "--quiet"])
    assert code == 0
    text = capsys.readouterr().out
    assert "test accuracy" in text and "2 islands" in text
    res = json.loads(js.read_text())
    assert res["islands"] == 2 and res["generations"] == 4 and 0 <= res["test_accuracy"] <= 1
    assert res["evaluations"] == 2 * 6 * 5 + 2 * 2  # 6 networks per island; + 2 immigrants each
    assert (tmp_path / "out" / "digits_best.npz").exists()


@pytest.mark.gan
@pytest.mark.parametrize("groups", [0, 4])
def test_gan_fitness_factory_builds_the_discriminator_asked_for(groups):
    """Without Ray: the factory's fitness groups its batches as its D expects."""
    pytest.importorskip("tensorflow")
    from fastga.datasets import load_digits_split
    from fastga.distributed.gan import GANFitnessFactory

    X, _, _, _ = load_digits_split()
    fit = GANFitnessFactory(X[:64], batch_size=8, d_batch=8, seed=1, minibatch_std=groups)()
    names = [type(layer).__name__ for layer in fit.discriminator.layers]
    assert fit.group_size == max(1, groups)
    assert ("MinibatchStd" in names) == bool(groups)


@pytest.mark.gan
def test_gan_fitness_on_islands(ray_local):
    """The GA-GAN's fitness (a Keras discriminator per island) runs on islands too."""
    pytest.importorskip("tensorflow")
    from fastga.datasets import load_digits_split
    from fastga.distributed.gan import GANFitnessFactory

    X, _, _, _ = load_digits_split()
    spec = ([4, 8, 64], ["sigmoid", "sigmoid"])
    from fastga import NetworkSpec

    m = IslandModel(NetworkSpec(*spec), n_islands=2, pop_size=6, migration_every=2, n_migrants=1,
                    reevaluate="population", ga=GASettings(init="glorot"),
                    random_state=0)
    m.run(GANFitnessFactory(X[:64], batch_size=8, d_batch=8, seed=1), 3)
    assert m.n_generations_ == 3 and m.epochs_[1]["received"] == 2
    for h in m.island_histories_:
        assert "d_loss" in h and np.isfinite(h["best_fitness"]).all()
        # the island scored generation 2 twice: before and after the immigrant arrived
        assert list(h["generation"]) == [0, 1, 2, 2, 3]
    assert list(m.history_["generation"]) == [0, 1, 2, 3]
    assert m.best_genome_.shape == (NetworkSpec(*spec).n_params,)
