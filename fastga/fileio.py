"""Atomic, pickle-free ``.npz`` files with a JSON header and a checksum.

Every file fastga writes is one ``.npz``: named float/int arrays plus a
``__header__`` array holding UTF-8 JSON (format name and version, the
payload's metadata, and a SHA-256 over all arrays). Writing goes to a
temporary file in the same folder, is fsynced, then renamed over the target,
so a crash mid-write leaves the previous file intact.

Reading (:func:`read_npz`, :func:`load_npz`) never unpickles, so loading
never runs code, and checks each array's declared shape against the bytes the
file holds before allocating it, so a tampered file is a
:class:`FileFormatError`, never a MemoryError. The checksum covers the arrays
but not the metadata: loaders compare what the metadata describes (a spec, a
population size) with the arrays present before building anything from it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import numbers
import os
import tempfile
import zipfile
import zlib

import numpy as np

from ._version import __version__

__all__ = ["FORMAT_VERSION", "CHECKPOINT_VERSION", "FileFormatError", "atomic_path",
           "atomic_write_bytes", "save_npz", "read_npz", "load_npz", "jsonable", "from_json", "require",
           "array_field", "read_checkpoint", "build_checked", "params_of", "checkpoint_meta"]

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


#: Largest ratio of uncompressed to compressed size that deflate reaches
#: (about 1032:1); a member claiming more is lying about its size.
_DEFLATE_MAX_RATIO = 1032
_NPY_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0,
                       (2, 0): np.lib.format.read_array_header_2_0}


def _checked_members(zf, path, file_size):
    """``{array name: ZipInfo}`` of an open ``.npz``, every member checked before any is read.

    ``np.load`` allocates whatever shape a ``.npy`` header declares before it
    reads the data, so a tampered header would end in MemoryError. Here each
    member must be a stored or deflated ``.npy`` whose declared shape and dtype
    account for exactly its uncompressed size, and that size must be possible
    for its compressed size, which the members together must fit in the file.
    Reading the arrays then allocates at most about the file's size (x1032 for
    deflated members).
    """
    members, total = {}, 0
    for info in zf.infolist():
        where = f"{path!r} member {info.filename!r}"
        if not info.filename.endswith(".npy"):
            raise FileFormatError(f"{where} is not a .npy array")
        if info.compress_type == zipfile.ZIP_STORED:
            possible = info.file_size == info.compress_size
        elif info.compress_type == zipfile.ZIP_DEFLATED:
            possible = info.file_size <= _DEFLATE_MAX_RATIO * info.compress_size + 64
        else:
            raise FileFormatError(f"{where} uses zip compression method {info.compress_type}; "
                                  "only stored and deflated members are read")
        total += info.compress_size
        if not possible or total > file_size:
            raise FileFormatError(f"{where} claims {info.file_size} bytes, more than the file can hold")
        with zf.open(info) as fp:
            version = np.lib.format.read_magic(fp)
            if version not in _NPY_HEADER_READERS:
                raise FileFormatError(f"{where} has .npy format version {version}, "
                                      f"expected one of {sorted(_NPY_HEADER_READERS)}")
            shape, _, dtype = _NPY_HEADER_READERS[version](fp)
            data_start = fp.tell()
        if dtype.hasobject:
            raise FileFormatError(f"{where} holds Python objects; only numeric arrays are read")
        count = 1
        for n in shape:
            count *= int(n)
        if data_start + count * dtype.itemsize != info.file_size:
            raise FileFormatError(
                f"{where} declares shape {shape} of {dtype} ({count * dtype.itemsize} bytes) "
                f"but holds {info.file_size - data_start} bytes of data"
            )
        members[info.filename[:-4]] = info
    return members


def read_npz(path, names=None):
    """The arrays of an ``.npz`` file as ``{name: ndarray}``, never unpickling and never
    allocating more than the file can hold.

    Parameters
    ----------
    path : str or os.PathLike
    names : iterable of str, optional
        Read only these arrays (those present); all by default. Every member
        is checked either way.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    FileFormatError
        The file is not a zip of ``.npy`` arrays, is truncated or corrupt, or
        an array's header declares a shape its data does not hold.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"path: no such file: {path!r}")
    try:
        with zipfile.ZipFile(path) as zf:
            members = _checked_members(zf, path, os.path.getsize(path))
            wanted = members if names is None else [n for n in names if n in members]
            arrays = {}
            for name in wanted:
                with zf.open(members[name]) as fp:
                    arrays[name] = np.lib.format.read_array(fp, allow_pickle=False)
            return arrays
    except FileFormatError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError, UnicodeDecodeError,
            zlib.error, NotImplementedError, RuntimeError) as exc:
        raise FileFormatError(f"{path!r} is truncated or corrupt ({type(exc).__name__}: {exc})") from None


def load_npz(path, kind=None):
    """Load a file written by :func:`save_npz`; returns ``(arrays, meta)``.

    The arrays are read by :func:`read_npz`, so a tampered array header is
    refused before anything is allocated. The checksum covers the arrays, not
    ``meta``: loaders check that what ``meta`` describes (a spec, a size)
    matches the arrays actually present before building anything from it.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    FileFormatError
        The file is truncated, corrupt, not a fastga file, of another
        ``kind``, or of a newer format version.
    """
    path = os.fspath(path)
    arrays = read_npz(path)
    blob = arrays.pop(_HEADER, None)
    if blob is None:
        raise FileFormatError(f"{path!r} is not a fastga file (no header)")
    if blob.dtype != np.uint8 or blob.ndim != 1:
        raise FileFormatError(f"{path!r} is not a fastga file (header of dtype {blob.dtype})")
    try:
        header = json.loads(blob.tobytes().decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"{path!r} is truncated or corrupt (header: {exc})") from None
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
    meta = header.get("meta", {})
    if not isinstance(meta, dict):
        raise FileFormatError(f"{path!r} is corrupt: its metadata is not a JSON object")
    return arrays, meta


# ------------------------------------------------------------- checkpoints
#: Layout version of the checkpoint payloads (on top of :data:`FORMAT_VERSION`).
#: 2: the mutation's random streams changed, so a GA of version 1 would not
#: resume bit-identically: it is refused (populations and estimators still load).
CHECKPOINT_VERSION = 2
#: The oldest version whose algorithm checkpoints resume the same run.
FIRST_RESUMABLE_VERSION = 2
#: Kinds whose files must be of a resumable version.
RESUMABLE_KINDS = ("ga", "es")


def jsonable(value, name):
    """``value`` as plain JSON (lists for tuples); TypeError naming ``name`` if it cannot be."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (tuple, list)):
        return [jsonable(v, name) for v in value]
    raise TypeError(f"{name}: a {type(value).__name__} cannot be saved in a checkpoint "
                    "(use plain numbers, strings, None or sequences of them)")


def from_json(value):
    """Lists back to tuples (every sequence parameter of fastga is a tuple)."""
    if isinstance(value, list):
        return tuple(from_json(v) for v in value)
    return value


def params_of(obj, names, seed=None):
    """``{name: jsonable(getattr(obj, name))}``; a Generator ``random_state`` is saved
    as the resolved ``seed`` (a fresh run from the copy then repeats this one)."""
    out = {}
    for k in names:
        v = getattr(obj, k)
        if k == "random_state" and not (v is None or isinstance(v, numbers.Integral)):
            if seed is None:
                raise TypeError("random_state: a Generator cannot be saved before the run; "
                                "pass an int seed")
            v = int(seed)
        out[k] = jsonable(v, k)
    return out


def require(cond, msg):
    """Raise ``ValueError(msg)`` unless ``cond`` (turned into a FileFormatError by
    :func:`build_checked`)."""
    if not cond:
        raise ValueError(msg)


def array_field(arrays, name, dtype, ndim, shape=None):
    """``arrays[name]``, checked for dtype, number of dimensions and shape."""
    if name not in arrays:
        raise KeyError(f"array {name!r} is missing")
    a = arrays[name]
    require(a.dtype == np.dtype(dtype), f"array {name!r} has dtype {a.dtype}, expected {np.dtype(dtype)}")
    require(a.ndim == ndim, f"array {name!r} has {a.ndim} dimensions, expected {ndim}")
    if shape is not None:
        require(a.shape == tuple(shape), f"array {name!r} has shape {a.shape}, expected {tuple(shape)}")
    return a


def read_checkpoint(path, kind):
    """:func:`load_npz` plus the checkpoint-version checks; returns ``(arrays, meta)``."""
    arrays, meta = load_npz(path, kind=kind)
    version = meta.get("checkpoint_version") if isinstance(meta, dict) else None
    if not isinstance(version, int) or version < 1:
        raise FileFormatError(f"{str(path)!r} is not a fastga checkpoint (no checkpoint version)")
    if version > CHECKPOINT_VERSION:
        raise FileFormatError(
            f"{str(path)!r} is a checkpoint of version {version}; this fastga reads up to "
            f"{CHECKPOINT_VERSION}: upgrade fastga"
        )
    if kind in RESUMABLE_KINDS and version < FIRST_RESUMABLE_VERSION:
        raise FileFormatError(
            f"{str(path)!r} is a checkpoint of version {version}, written with the mutation "
            f"random streams of an older fastga (before checkpoint version "
            f"{FIRST_RESUMABLE_VERSION}): resumed here it would not repeat its run. Load it with "
            f"the fastga that wrote it ({meta.get('fastga_version')!r}), or restart the run "
            f"from its seed"
        )
    return arrays, meta


def checkpoint_meta(meta):
    """``meta`` plus the checkpoint and fastga versions."""
    return {**meta, "checkpoint_version": CHECKPOINT_VERSION, "fastga_version": __version__}


def build_checked(path, what, builder, *args):
    """``builder(*args)``; any inconsistency of the file becomes a FileFormatError."""
    try:
        return builder(*args)
    except FileFormatError:
        raise
    except (KeyError, ValueError, TypeError, IndexError, AttributeError) as exc:
        raise FileFormatError(f"{str(path)!r} is not a valid {what} checkpoint: {exc}") from None
