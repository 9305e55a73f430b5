"""Connecting to Ray, and the per-process thread settings of an island.

Ray is imported inside these functions only, so ``import fastga`` and
``import fastga.distributed`` never load it.
"""

from __future__ import annotations

import os

__all__ = ["import_ray", "connect", "thread_env", "configure_threads"]

_LIMITER = None  # (threads, threadpoolctl limiter) in force in this process


def import_ray():
    """Import Ray, or raise an ImportError that says how to install it."""
    try:
        import ray
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("fastga.distributed needs Ray: pip install 'fastga[ray]'") from exc
    return ray


def connect(address=None, num_cpus=None):
    """Make sure this process is a Ray driver; returns ``(ray, started)``.

    Parameters
    ----------
    address : str, optional
        A running cluster (``"auto"``, ``"ray://host:10001"``,
        ``"host:6379"``), handed to ``ray.init(address=...)`` unchanged.
        None starts a local Ray on this machine, without the dashboard and
        without forwarding the workers' logs to the driver.
    num_cpus : int, optional
        CPUs of the local Ray (ignored when joining a cluster). Default: all.

    Returns
    -------
    ray : module
    started : bool
        True if this call started (or joined) Ray, so the caller should shut
        it down when done; False if Ray was already initialised (its
        settings are kept and ``address`` is ignored).
    """
    ray = import_ray()
    if ray.is_initialized():
        return ray, False
    if address:
        ray.init(address=address, log_to_driver=False, logging_level="ERROR")
    else:
        ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False,
                 logging_level="ERROR")
    return ray, True


def thread_env(threads):
    """Environment variables that cap Numba, OpenMP, BLAS and TensorFlow at ``threads``.

    For a worker process before it starts (e.g. an actor's ``runtime_env``).

    :func:`configure_threads` sets them (unless already set) for libraries
    that read them when they start (OpenMP, TensorFlow).
    """
    t = str(int(threads))
    return {"NUMBA_NUM_THREADS": t, "OMP_NUM_THREADS": t, "OPENBLAS_NUM_THREADS": t,
            "MKL_NUM_THREADS": t, "TF_NUM_INTRAOP_THREADS": t, "TF_NUM_INTEROP_THREADS": "1"}


def configure_threads(threads):
    """Use ``threads`` threads in this process for Numba and BLAS.

    Returns
    -------
    dict
        ``numba`` (the Numba thread count now in force) and ``blas`` (the
        BLAS thread pools limited by threadpoolctl, or None without it).
    """
    import numba

    threads = max(1, int(threads))
    for key, value in thread_env(threads).items():
        # Not NUMBA_NUM_THREADS: Numba reads its environment again whenever it
        # compiles and refuses a value other than the size of its running pool.
        if key != "NUMBA_NUM_THREADS":
            os.environ.setdefault(key, value)
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    global _LIMITER
    if _LIMITER is None or _LIMITER[0] != threads:
        try:
            from threadpoolctl import threadpool_limits

            _LIMITER = (threads, threadpool_limits(limits=threads))
        except ImportError:  # pragma: no cover - threadpoolctl comes with the ray extra
            _LIMITER = (threads, None)
    return {"numba": numba.get_num_threads(), "blas": _LIMITER[1]}
