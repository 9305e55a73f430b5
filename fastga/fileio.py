"""Atomic, pickle-free ``.npz`` files with a JSON header and a checksum.

Every file fastga writes is one ``.npz``: named float/int arrays plus a
``__header__`` array holding UTF-8 JSON (format name and version, the
payload's metadata, and a SHA-256 over all arrays). Writing goes to a
temporary file in the same folder, is fsynced, then renamed over the target,
so a crash mid-write leaves the previous file intact. Reading uses
``allow_pickle=False`` and verifies the checksum, so loading never runs code.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import tempfile
import zipfile
import zlib

import numpy as np

__all__ = ["FORMAT_VERSION", "FileFormatError", "atomic_path", "atomic_write_bytes", "save_npz", "load_npz"]

FORMAT_VERSION = 1
_HEADER = "__header__"


class FileFormatError(ValueError):
    """A fastga file is corrupt, truncated, of another kind or of a future version."""


def _digest(arrays):
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(name.encode())
        h.update(str(a.dtype.str).encode())
        h.update(repr(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


@contextlib.contextmanager
def atomic_path(path):
    """Context manager yielding a temporary path beside ``path``; on success the
    file written there is fsynced and renamed over ``path``, on failure removed.

    For writers that want a file name rather than bytes (Keras' ``model.save``,
    matplotlib's ``savefig``). The temporary name keeps ``path``'s suffix.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=os.path.basename(path), dir=folder)
    os.close(fd)
    os.unlink(tmp)  # some writers refuse to overwrite; they create it anew
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename durable
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def atomic_write_bytes(path, data):
    """Write ``data`` to ``path`` atomically (temp file, fsync, rename)."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
    return os.fspath(path)


def save_npz(path, kind, arrays, meta=None):
    """Save ``arrays`` (name -> ndarray) and JSON-able ``meta`` as a ``kind`` file.

    Parameters
    ----------
    path : str or os.PathLike
    kind : str
        What the file holds (``"network"``, ``"population"``, ...); checked on load.
    arrays : dict of str to ndarray
        Numeric arrays only (no object dtype).
    meta : dict, optional
        JSON-serialisable metadata.
    """
    clean = {}
    for name, a in arrays.items():
        a = np.asarray(a)
        if a.dtype == object:
            raise TypeError(f"arrays: {name!r} has dtype object; only numeric arrays are saved")
        if name == _HEADER:
            raise ValueError(f"arrays: the name {_HEADER!r} is reserved")
        clean[name] = a
    header = {
        "format": "fastga",
        "kind": kind,
        "version": FORMAT_VERSION,
        "meta": meta or {},
        "sha256": _digest(clean),
    }
    buf = io.BytesIO()
    blob = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    np.savez(buf, **clean, **{_HEADER: blob})
    return atomic_write_bytes(path, buf.getvalue())


def load_npz(path, kind=None):
    """Load a file written by :func:`save_npz`; returns ``(arrays, meta)``.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    FileFormatError
        The file is truncated, corrupt, not a fastga file, of another
        ``kind``, or of a newer format version.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"path: no such file: {path!r}")
    try:
        with np.load(path, allow_pickle=False) as data:
            if _HEADER not in data.files:
                raise FileFormatError(f"{path!r} is not a fastga file (no header)")
            header = json.loads(bytes(data[_HEADER]).decode("utf-8"))
            arrays = {name: data[name] for name in data.files if name != _HEADER}
    except FileFormatError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError, UnicodeDecodeError, zlib.error) as exc:
        raise FileFormatError(f"{path!r} is truncated or corrupt ({type(exc).__name__}: {exc})") from None
    if not isinstance(header, dict) or header.get("format") != "fastga":
        raise FileFormatError(f"{path!r} is not a fastga file")
    version = header.get("version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise FileFormatError(
            f"{path!r} has format version {version!r}; this fastga reads up to {FORMAT_VERSION}: upgrade fastga"
        )
    if kind is not None and header.get("kind") != kind:
        raise FileFormatError(f"{path!r} holds a {header.get('kind')!r}, not a {kind!r}")
    if _digest(arrays) != header.get("sha256"):
        raise FileFormatError(f"{path!r} is corrupt: checksum mismatch")
    return arrays, header.get("meta", {})

