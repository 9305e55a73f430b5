"""Where Numba caches fastga's kernels: a directory named by what they depend on.

Numba keys a cached kernel on its own source file only. A kernel that inlines
a helper of another file (the register tiles, the random streams, the codes
of :mod:`fastga.registry`) is served from the cache unchanged after that
helper is edited, with the old helper compiled in. So fastga's kernels are
cached under a directory of their own, named by :func:`cache_key`: a hash of
every source file the kernels are compiled from (:func:`key_sources`), the
Numba, llvmlite and Python versions and the CPU. An edit of any of those
files, another Numba or another CPU gives another directory; the same sources
re-installed (``pip install .`` again) give the same one, so the cache
survives a re-install. Numba's own checks still apply inside it.

The directory is ``<base>/<key>``, ``<base>`` the first of
``FASTGA_CACHE_DIR``; ``NUMBA_CACHE_DIR/fastga``; ``XDG_CACHE_HOME/fastga``
or ``~/.cache/fastga``. :func:`install` puts a cache locator for the files of
the fastga package in front of Numba's own (other packages' kernels are
cached as Numba does by default); :mod:`fastga.kernels` calls it before any
kernel is defined. Nothing is compiled or cached at install time: Numba's
cache is specific to the CPU, so it is built on first use or by ``fastga
warmup``.
"""

import hashlib
import os
import sys

import numba
from numba.core import caching

__all__ = ["ENV_DIR", "key_sources", "cache_key", "cache_base", "cache_dir", "install"]

#: Environment variable: the base directory of fastga's kernel cache.
ENV_DIR = "FASTGA_CACHE_DIR"

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_KERNELS = os.path.dirname(os.path.abspath(__file__))

#: Files outside ``fastga/kernels`` whose code is compiled by Numba: the codes the
#: kernels read as constants, and the one ``@njit`` module of the driver.
#: ``tests/test_compilation.py`` checks that no other module holds Numba code.
EXTRA_SOURCES = ("registry.py", "seeding.py")


def key_sources(package=_PACKAGE):
    """The source files :func:`cache_key` hashes, sorted: every ``.py`` of
    ``fastga/kernels`` and :data:`EXTRA_SOURCES`."""
    kernels = os.path.join(package, "kernels")
    files = [os.path.join(kernels, f) for f in os.listdir(kernels) if f.endswith(".py")]
    files += [os.path.join(package, f) for f in EXTRA_SOURCES]
    return sorted(files)


def _cpu():
    import llvmlite.binding as ll

    return ll.get_host_cpu_name() + ";" + ll.get_host_cpu_features().flatten()


def cache_key(package=_PACKAGE):
    """16 hex digits naming the kernels' cache: a SHA-256 of :func:`key_sources`'
    contents (names relative to the package), of the Numba, llvmlite and
    Python versions and of the CPU's name and features."""
    import llvmlite

    h = hashlib.sha256()
    for path in key_sources(package):
        h.update(os.path.relpath(path, package).encode() + b"\0")
        with open(path, "rb") as f:
            h.update(f.read())
        h.update(b"\0")
    h.update(f"numba {numba.__version__}; llvmlite {llvmlite.__version__}; "
             f"python {sys.version}; cpu {_cpu()}".encode())
    return h.hexdigest()[:16]


def cache_base():
    """The base directory, see the module docstring."""
    env = os.environ.get(ENV_DIR, "").strip()
    if env:
        return os.path.abspath(os.path.expanduser(env))
    numba_dir = os.environ.get("NUMBA_CACHE_DIR", "").strip()
    if numba_dir:
        return os.path.join(os.path.abspath(os.path.expanduser(numba_dir)), "fastga")
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip() or os.path.join("~", ".cache")
    return os.path.join(os.path.abspath(os.path.expanduser(xdg)), "fastga")


_dir = None
_private = None


def _private_dir():
    global _private
    if _private is None:
        import tempfile

        _private = tempfile.mkdtemp(prefix="fastga-numba-")
    return _private


def cache_dir():
    """The directory of this fastga's kernels: ``cache_base() / cache_key()``
    (computed once per process)."""
    global _dir
    if _dir is None:
        _dir = os.path.join(cache_base(), cache_key())
    return _dir


class FastgaCacheLocator(caching._SourceFileBackedLocatorMixin, caching._CacheLocator):
    """Numba cache locator of the functions defined in the fastga package:
    :func:`cache_dir`, one subdirectory per package directory."""

    def __init__(self, py_func, py_file):
        self._py_file = py_file
        self._lineno = py_func.__code__.co_firstlineno
        rel = os.path.relpath(os.path.dirname(os.path.abspath(py_file)), _PACKAGE)
        self._cache_path = os.path.join(cache_dir(), rel.replace(os.sep, "_"))

    def get_cache_path(self):
        return self._cache_path

    @classmethod
    def from_function(cls, py_func, py_file):
        path = os.path.abspath(py_file)
        if not path.startswith(_PACKAGE + os.sep) or not os.path.exists(path):
            return None
        self = cls(py_func, py_file)
        try:
            self.ensure_cache_path()
        except OSError:
            # Not writable: a directory of this process only (never Numba's
            # default places, which are keyed on one file's source).
            self._cache_path = _private_dir()
        return self


def install():
    """Put :class:`FastgaCacheLocator` first in Numba's cache locators (once)."""
    impl = getattr(caching, "CacheImpl", None) or caching._CacheImpl  # older Numba: _CacheImpl
    classes = impl._locator_classes
    if FastgaCacheLocator not in classes:
        classes.insert(0, FastgaCacheLocator)
