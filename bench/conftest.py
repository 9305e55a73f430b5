"""Shared fixtures of the benchmark suites.

Every suite runs twice over: with ``--benchmark-disable`` (the default in
``pyproject.toml``, so CI runs ``bench/`` as a smoke test) each test runs
once on small shapes; with ``--benchmark-enable`` it runs the full shapes and
stores its medians and ratios in the benchmark's ``extra_info``, which
``bench/report.py`` turns into the table of ``bench/README.md``.

Ratios are always measured in the same process, interleaved (see
:func:`bench.peak.interleaved_medians`): the machine may be shared.
"""

import os

import pytest

BLAS_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def pytest_benchmark_update_machine_info(config, machine_info):
    """Record which BLAS kernel runs (threadpoolctl) and the BLAS environment."""
    try:
        from threadpoolctl import threadpool_info

        machine_info["threadpools"] = threadpool_info()
    except ImportError:  # pragma: no cover - threadpoolctl is a dev dependency
        machine_info["threadpools"] = []
    machine_info["blas_env"] = {k: os.environ.get(k) for k in BLAS_ENV}
    import numba

    machine_info["numba_threads"] = numba.config.NUMBA_NUM_THREADS


@pytest.fixture(scope="session")
def full(request):
    """True for a real benchmark run (full shapes), False for the smoke test."""
    cfg = request.config
    return not (cfg.getoption("benchmark_disable") and not cfg.getoption("benchmark_enable"))


@pytest.fixture(scope="session")
def probe(full):
    """The GEMM-peak probe (small in the smoke test)."""
    from bench.peak import GemmProbe

    return GemmProbe(2048 if full else 128)


@pytest.fixture(scope="session")
def rounds(full):
    return 9 if full else 1


def record(benchmark, metric, value, target, better=">=", **info):
    """Store the headline ratio (``metric``: ``value`` against ``target``, ``better``
    being ``">="`` or ``"<="``) and other figures in the benchmark JSON; print them."""
    info = dict(metric=metric, value=float(value), target=float(target), better=better, **info)
    benchmark.extra_info.update(info)
    print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in info.items()))
