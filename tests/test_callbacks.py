"""The loggers of fastga.callbacks: CSV, TensorBoard (read back with tensorboard's
reader), MLflow (a local file store)."""

import csv
import sys

import numpy as np
import pytest
from sklearn.datasets import load_iris

import fastga
from fastga.callbacks import CSVLogger, scalars

GENERATIONS = 4


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


def _run_ga(iris, callbacks):
    X, y = iris
    ga = fastga.GeneticAlgorithm([4, 6, 3], pop_size=16, random_state=0)
    fit = fastga.SupervisedFitness(X, y, n_outputs=3)
    return ga.run(fit, GENERATIONS, callbacks=callbacks)


def _read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def test_scalars_keeps_the_numbers_only():
    record = {"generation": 3, "best_fitness": np.float64(-0.5), "n_invalid": np.int64(0),
              "stopped": "patience", "island_seconds": [0.1, 0.2], "summaries": [{"a": 1}],
              "flag": True, "none": None, "arr": np.zeros(3), "zero_d": np.array(2.5)}
    assert scalars(record) == {"generation": 3.0, "best_fitness": -0.5, "n_invalid": 0.0,
                               "flag": 1.0, "zero_d": 2.5}


def test_csv_logger_writes_one_row_per_generation(iris, tmp_path):
    path = tmp_path / "logs" / "run.csv"
    ga = _run_ga(iris, [CSVLogger(path)])
    header, rows = _read_csv(path)
    assert len(rows) == GENERATIONS + 1 == len(ga.history_)
    for col in ("generation", "best_fitness", "mean_fitness", "mutation_rate", "seconds",
                "best_accuracy"):
        assert col in header
    for col in header:
        logged = np.array([float(r[header.index(col)]) for r in rows])
        np.testing.assert_array_equal(logged, ga.history_[col])


def test_csv_logger_new_columns_and_missing_ones(tmp_path):
    path = tmp_path / "run.csv"
    log = CSVLogger(path)
    log(None, {"generation": 0, "a": 1.5})
    log(None, {"generation": 1, "a": 2.0, "b": 7})
    log(None, {"generation": 2, "b": -1, "text": "skipped"})
    header, rows = _read_csv(path)
    assert header == ["generation", "a", "b"]
    assert rows == [["0", "1.5", ""], ["1", "2", "7"], ["2", "", "-1"]]
    # a fresh logger starts the file afresh; append=True keeps it
    CSVLogger(path)(None, {"generation": 0, "a": 3})
    assert _read_csv(path) == (["generation", "a"], [["0", "3"]])
    CSVLogger(path, append=True)(None, {"generation": 1, "a": 4})
    assert _read_csv(path) == (["generation", "a"], [["0", "3"], ["1", "4"]])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_csv_logger_in_estimator_fit_and_island_records(iris, tmp_path):
    X, y = iris
    path = tmp_path / "fit.csv"
    clf = fastga.GeneticMLPClassifier(pop_size=12, generations=3, architecture=(4,), random_state=0)
    clf.fit(X, y, callbacks=[CSVLogger(path)])
    _, rows = _read_csv(path)
    assert len(rows) == len(clf.history_) == 4
    # an island model's record: lists and summaries are left out
    isl = tmp_path / "islands.csv"
    CSVLogger(isl)(None, {"epoch": 0, "generation": 5, "best_fitness": -0.3,
                          "island_seconds": [0.1, 0.2], "summaries": [{"seconds": 0.1}]})
    assert _read_csv(isl) == (["epoch", "generation", "best_fitness"], [["0", "5", "-0.3"]])


# ---------------------------------------------------------------- TensorBoard
def _events(log_dir):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(log_dir), size_guidance={"scalars": 0, "images": 0})
    acc.Reload()
    return acc


def test_tensorboard_scalars_and_images(iris, tmp_path):
    pytest.importorskip("tensorboardX")
    from fastga.callbacks import TensorBoard

    log_dir = tmp_path / "tb"
    with TensorBoard(log_dir) as tb:
        ga = _run_ga(iris, [tb])
        grid = np.linspace(0, 1, 2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
        tb(ga, {"generation": GENERATIONS + 1, "images": grid})
    acc = _events(log_dir)
    tags = acc.Tags()
    for tag in ("best_fitness", "mean_fitness", "best_accuracy", "mutation_rate", "seconds"):
        assert tag in tags["scalars"]
    best = acc.Scalars("best_fitness")
    assert [e.step for e in best][:GENERATIONS + 1] == list(range(GENERATIONS + 1))
    np.testing.assert_allclose([e.value for e in best][:GENERATIONS + 1],
                               ga.history_["best_fitness"], rtol=1e-6)
    assert tags["images"] == ["samples"]
    (image,) = acc.Images("samples")
    assert image.step == GENERATIONS + 1
    assert (image.height, image.width) == (2 * 4, 3 * 5)


class _FakeGAN:
    """What the TensorBoard image hook reads of a GANEvolver."""

    def __init__(self):
        self.calls = []

    def top_rows(self, k):
        return np.arange(k)

    def sample(self, n, rows=None, random_state=0):
        self.calls.append((n, tuple(rows), random_state))
        return np.full((len(rows), n, 6, 7), 0.5, dtype=np.float32)


def test_tensorboard_gan_sample_grids_every_n_generations(tmp_path):
    pytest.importorskip("tensorboardX")
    from fastga.callbacks import TensorBoard

    gan = _FakeGAN()
    with TensorBoard(tmp_path, images_every=2) as tb:
        for g in range(5):
            tb(gan, {"generation": g, "best_fitness": -1.0 / (g + 1), "ref_accuracy_min": 0.5})
    assert len(gan.calls) == 3  # generations 0, 2 and 4
    acc = _events(tmp_path)
    assert [e.step for e in acc.Images("samples")] == [0, 2, 4]
    assert (acc.Images("samples")[0].height, acc.Images("samples")[0].width) == (4 * 6, 8 * 7)
    assert len(acc.Scalars("ref_accuracy_min")) == 5


def test_tensorboard_needs_tensorboardx(monkeypatch, tmp_path):
    from fastga.callbacks import TensorBoard

    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(ImportError, match="tensorboardX"):
        TensorBoard(tmp_path)


# -------------------------------------------------------------------- MLflow
def test_mlflow_logger_local_file_store(iris, tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 asks to opt in to it
    from mlflow.tracking import MlflowClient

    from fastga.callbacks import MLflowLogger

    uri = (tmp_path / "mlruns").as_uri()
    with MLflowLogger(run_name="iris", experiment="fastga-test", tracking_uri=uri) as log:
        ga = _run_ga(iris, [log])
    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(log.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["pop_size"] == "16"
    history = client.get_metric_history(log.run_id, "best_fitness")
    assert sorted(m.step for m in history) == list(range(GENERATIONS + 1))
    np.testing.assert_allclose([m.value for m in sorted(history, key=lambda m: m.step)],
                               ga.history_["best_fitness"])


def test_mlflow_logger_needs_mlflow(monkeypatch):
    from fastga.callbacks import MLflowLogger

    monkeypatch.setitem(sys.modules, "mlflow", None)
    with pytest.raises(ImportError, match="mlflow"):
        MLflowLogger()


# ----------------------------------------------- the GAN and the island model
@pytest.mark.gan
def test_loggers_in_a_gan_run(tmp_path):
    pytest.importorskip("tensorflow")
    pytest.importorskip("tensorboardX")
    from fastga.callbacks import TensorBoard
    from fastga.gan import GANEvolver
    from fastga.gan.discriminator import import_keras

    keras = import_keras(1)
    rng = np.random.default_rng(0)
    X = np.clip(rng.uniform(0, 0.2, (40, 16)).astype(np.float32) + np.tile([0, 1, 0, 0], 4), 0, 1)
    disc = keras.Sequential([keras.Input(shape=(4, 4, 1)), keras.layers.Flatten(),
                             keras.layers.Dense(1, activation="sigmoid")])
    disc.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy",
                 metrics=["accuracy"])
    ev = GANEvolver(discriminator=disc, latent_dim=3, hidden=5, generations=3, pop_size=6,
                    batch_size=4, d_batch=4, minibatch_std=2, quality=False, random_state=0,
                    threads=1)
    with TensorBoard(tmp_path / "tb", images_every=2) as tb:
        ev.fit(X, callbacks=[tb, CSVLogger(tmp_path / "gan.csv")])
    header, rows = _read_csv(tmp_path / "gan.csv")
    assert len(rows) == len(ev.history_) == 4 and "d_loss" in header
    acc = _events(tmp_path / "tb")
    assert "d_loss" in acc.Tags()["scalars"]
    images = acc.Images("samples")
    assert [e.step for e in images] == [0, 2]
    assert (images[0].height, images[0].width) == (4 * 4, 8 * 4)


@pytest.mark.ray
def test_loggers_in_an_island_model(tmp_path):
    ray = pytest.importorskip("ray")
    pytest.importorskip("tensorboardX")
    import functools

    from fastga.callbacks import TensorBoard
    from fastga.distributed import IslandModel

    X, y = load_iris(return_X_y=True)
    m = IslandModel([4, 6, 3], n_islands=2, pop_size=8, migration_every=2, n_migrants=1,
                    random_state=0)
    started = not ray.is_initialized()
    try:
        with TensorBoard(tmp_path / "tb") as tb:
            m.run(functools.partial(fastga.SupervisedFitness, X, y, "cross_entropy", None), 4,
                  callbacks=[CSVLogger(tmp_path / "islands.csv"), tb])
    finally:
        if started and ray.is_initialized():
            ray.shutdown()
    header, rows = _read_csv(tmp_path / "islands.csv")
    assert header[:3] == ["epoch", "generation", "best_fitness"]
    assert "island_seconds" not in header and "summaries" not in header
    assert [r[1] for r in rows] == ["2", "4"]
    assert [e.step for e in _events(tmp_path / "tb").Scalars("best_fitness")] == [2, 4]
