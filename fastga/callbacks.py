"""Loggers of a run's per-generation records: CSV files, TensorBoard, MLflow.

Each logger is a callback ``logger(algorithm, record)``, the signature that
every fastga run calls after each generation:
:meth:`fastga.Algorithm.run` (the GA and the evolution strategies), the
estimators' ``fit(callbacks=...)``, :meth:`fastga.gan.GANEvolver.fit` and
:meth:`fastga.distributed.IslandModel.run` (once per epoch of migration).
``record`` is that generation's history row; its numeric entries are
logged, under their own names, at the step ``record["generation"]``;
entries that are not numbers (an island model's per-island lists and
summaries) are left out. A logger never stops a run (it returns None).

The TensorBoard and MLflow loggers import their packages when they are made
(``pip install "fastga[log]"`` for TensorBoard; MLflow is installed
separately) and raise an ImportError that says what to install otherwise.

Example::

    from fastga.callbacks import CSVLogger, TensorBoard
    clf.fit(X, y, callbacks=[CSVLogger("run.csv"), TensorBoard("runs/digits")])
"""

from __future__ import annotations

import csv
import io
import math
import numbers
import os
import tempfile
import time

import numpy as np

__all__ = ["CSVLogger", "TensorBoard", "MLflowLogger", "scalars"]


def scalars(record):
    """The numeric entries of ``record`` as ``{name: float}``, in the record's order.

    Numbers and NumPy scalars (bools as 0 or 1) are kept; strings, None,
    sequences, arrays and dicts are left out.
    """
    out = {}
    for key, value in record.items():
        if isinstance(value, (bool, np.bool_)):
            out[str(key)] = float(value)
        elif isinstance(value, (numbers.Real, np.integer, np.floating)):
            out[str(key)] = float(value)
        elif isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "biuf":
            out[str(key)] = float(value)
    return out


class _Step:
    """The step of a record: its ``generation``, else the number of records seen."""

    def __init__(self):
        self.calls = 0

    def __call__(self, record):
        self.calls += 1
        gen = record.get("generation")
        if isinstance(gen, (numbers.Integral, np.integer)) and not isinstance(gen, bool):
            return int(gen)
        return self.calls - 1


def _format(value):
    """Whole numbers without a decimal point, others as ``repr`` (which round-trips)."""
    if math.isfinite(value) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


class CSVLogger:
    """One CSV row per generation; the header is the record's numeric keys.

    Each row is written with one ``write`` call on a file opened for
    appending, then flushed, so a reader (or a crash) sees whole rows only.
    When a record brings a new column, the file is rewritten with the wider
    header (earlier rows get empty cells there) into a temporary file that
    then replaces it atomically. A column missing from a record gets an
    empty cell.

    Parameters
    ----------
    path : str or os.PathLike
        The CSV file; its folder is created.
    append : bool, default=False
        Keep the rows of an existing file (e.g. when a run is resumed from a
        checkpoint) instead of starting it afresh.
    """

    def __init__(self, path, append=False):
        self.path = os.fspath(path)
        self.append = bool(append)
        self._columns = None

    def _existing_columns(self):
        try:
            with open(self.path, newline="") as f:
                header = next(csv.reader(f), None)
        except FileNotFoundError:
            return None
        return list(header) if header else None

    def _rewrite(self, columns, keep_rows=True):
        """Write the file anew with ``columns`` as header (and its rows, if ``keep_rows``)."""
        rows = []
        if keep_rows and os.path.exists(self.path):
            with open(self.path, newline="") as f:
                rows = list(csv.DictReader(f))
        folder = os.path.dirname(os.path.abspath(self.path))
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".csv", dir=folder)
        try:
            with os.fdopen(fd, "w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=columns, restval="")
                writer.writeheader()
                writer.writerows({k: v for k, v in row.items() if k in columns} for row in rows)
            os.replace(tmp, self.path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def __call__(self, algorithm, record):
        values = scalars(record)
        if self._columns is None:
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            existing = self._existing_columns() if self.append else None
            if existing:
                self._columns = existing
            else:
                self._columns = list(values)
                self._rewrite(self._columns, keep_rows=False)
        new = [k for k in values if k not in self._columns]
        if new:
            self._columns = self._columns + new
            self._rewrite(self._columns)
        buf = io.StringIO()
        csv.writer(buf).writerow([_format(values[k]) if k in values else "" for k in self._columns])
        with open(self.path, "a", newline="") as f:
            f.write(buf.getvalue())
            f.flush()

    def __repr__(self):
        return f"CSVLogger({self.path!r})"


def _image_grid(images):
    """``images`` of shape (k, n, h, w), (n, h, w) or (h, w), values in [0, 1],
    as one (k*h, n*w) float32 grid (a row per generator)."""
    arr = np.asarray(images, dtype=np.float32)
    if arr.ndim == 2:
        return arr
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4:
        raise ValueError(f"images: expected 2 to 4 dimensions (k, n, h, w), got shape {arr.shape}")
    k, n, h, w = arr.shape
    return arr.transpose(0, 2, 1, 3).reshape(k * h, n * w)


def gan_samples(algorithm, record=None, n=8, k=4):
    """Samples of the ``k`` fittest generators of a :class:`~fastga.gan.GANEvolver`,
    ``n`` each, from a fixed latent batch (shape (k, n, rows, cols)); None for
    other algorithms."""
    if not (hasattr(algorithm, "sample") and hasattr(algorithm, "top_rows")):
        return None
    return algorithm.sample(n, rows=algorithm.top_rows(k), random_state=0)


class TensorBoard:
    """Writes each record's numeric entries as TensorBoard scalars, and images.

    Event files are written by ``tensorboardX`` (no TensorFlow needed) in
    ``log_dir``; view them with ``tensorboard --logdir``. Each record's
    numbers (best and mean fitness, accuracy, mutation rate, seconds and any
    other column) become scalars of the same names at step
    ``record["generation"]``.

    Images: a record's ``"images"`` entry (an array of shape (h, w),
    (n, h, w) or (k, n, h, w), values in [0, 1]) is written as one grid
    image under the tag ``"samples"``. Every ``images_every`` generations,
    ``image_fn(algorithm, record)`` is called for the images (default
    :func:`gan_samples`: the fittest generators of a GAN evolver; None
    writes no image).

    Parameters
    ----------
    log_dir : str or os.PathLike
    images_every : int, optional
        Write ``image_fn``'s images every this many generations.
    image_fn : callable, optional
        ``image_fn(algorithm, record) -> images or None``.
    """

    def __init__(self, log_dir, images_every=None, image_fn=None):
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            raise ImportError("TensorBoard: needs the tensorboardX package "
                              "(pip install \"fastga[log]\" or pip install tensorboardX)") from None
        self._writer_class = SummaryWriter
        self.log_dir = os.fspath(log_dir)
        if images_every is not None:
            from .validation import check_int

            images_every = check_int(images_every, "images_every", minimum=1)
        self.images_every = images_every
        self.image_fn = gan_samples if image_fn is None else image_fn
        self._writer = None
        self._step = _Step()

    @property
    def writer(self):
        """The ``tensorboardX.SummaryWriter`` (opened on first use)."""
        if self._writer is None:
            self._writer = self._writer_class(logdir=self.log_dir)
        return self._writer

    def __call__(self, algorithm, record):
        step = self._step(record)
        writer = self.writer
        for key, value in scalars(record).items():
            if key != "generation":
                writer.add_scalar(key, value, step)
        images = record.get("images")
        if images is None and self.images_every and step % self.images_every == 0:
            images = self.image_fn(algorithm, record)
        if images is not None:
            grid = np.clip(_image_grid(images), 0.0, 1.0)
            writer.add_image("samples", grid, step, dataformats="HW")
        writer.flush()

    def close(self):
        """Flush and close the event file."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_writer"] = None  # a new event file after unpickling
        state["_writer_class"] = None
        return state

    def __setstate__(self, state):
        from tensorboardX import SummaryWriter

        self.__dict__.update(state)
        self._writer_class = SummaryWriter


class MLflowLogger:
    """Logs each record's finite numbers as MLflow metrics at step ``generation``.

    On the first record, creates an MLflow run and logs the algorithm's
    parameters (``get_params()``, those that are numbers, strings or tuples
    of numbers) when ``log_params``; without ``tracking_uri``, a run already
    active (``mlflow.start_run()``) is logged into instead. Everything goes
    through an ``MlflowClient``, so the logger changes no global MLflow
    setting. :meth:`close` ends the run it created (or use the logger as a
    context manager); the run's id is ``run_id``.

    Parameters
    ----------
    run_name : str, optional
    experiment : str, optional
        Experiment name (created if needed); default: MLflow's default experiment.
    tracking_uri : str, optional
        E.g. ``"sqlite:///mlflow.db"``, a local folder's ``file://`` URI or a
        server's address; default: MLflow's (``MLFLOW_TRACKING_URI``).
    log_params : bool, default=True
    """

    def __init__(self, run_name=None, experiment=None, tracking_uri=None, log_params=True):
        try:
            import mlflow  # noqa: F401
            from mlflow.tracking import MlflowClient
        except ImportError:
            raise ImportError("MLflowLogger: needs the mlflow package "
                              "(pip install mlflow, or mlflow-skinny)") from None
        self._client_class = MlflowClient
        self.run_name = run_name
        self.experiment = experiment
        self.tracking_uri = tracking_uri
        self.log_params = bool(log_params)
        self.run_id = None
        self._client = None
        self._started = False
        self._step = _Step()

    def _start(self, algorithm):
        import mlflow

        self._client = client = self._client_class(tracking_uri=self.tracking_uri)
        active = mlflow.active_run() if self.tracking_uri is None else None
        if active is not None:
            self.run_id = active.info.run_id
        else:
            exp_id = "0"
            if self.experiment is not None:
                exp = client.get_experiment_by_name(self.experiment)
                exp_id = exp.experiment_id if exp is not None else client.create_experiment(
                    self.experiment)
            self.run_id = client.create_run(exp_id, run_name=self.run_name).info.run_id
            self._started = True
        if self.log_params and hasattr(algorithm, "get_params"):
            from mlflow.entities import Param

            params = []
            for k, v in algorithm.get_params().items():
                if v is None or isinstance(v, (bool, str, numbers.Number)):
                    params.append(Param(k, str(v)))
                elif isinstance(v, (tuple, list)) and all(isinstance(x, numbers.Number) for x in v):
                    params.append(Param(k, str(list(v))))
            if params:
                client.log_batch(self.run_id, params=params)

    def __call__(self, algorithm, record):
        from mlflow.entities import Metric

        if self.run_id is None:
            self._start(algorithm)
        step = self._step(record)
        now = int(time.time() * 1000)
        metrics = [Metric(k, v, now, step) for k, v in scalars(record).items()
                   if k != "generation" and math.isfinite(v)]
        if metrics:
            self._client.log_batch(self.run_id, metrics=metrics)

    def close(self):
        """End the MLflow run this logger created (if any)."""
        if self._started:
            self._client.set_terminated(self.run_id)
            self._started = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
