"""Repository-root conftest: puts the root on sys.path so that ``bench/``
can import the shared setups table from ``tests/``."""
