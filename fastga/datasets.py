"""Bundled and local data sets. Nothing is ever downloaded.

- :func:`load_digits_split`: scikit-learn's bundled 8x8 digits, scaled to
  [0, 1], split 1437/360 stratified with random_state 0.
- :func:`load_mnist`: MNIST from a local file the user names (all four
  arrays: training and test images and labels).
- :func:`load_images`: images, and labels if there are any, from one local
  file: an IDX image file such as MNIST's ``train-images-idx3-ubyte`` (its
  labels and test set are read from beside it when present) or an ``.npz``.
"""

from __future__ import annotations

import os

import numpy as np

from .fileio import FileFormatError, read_npz

__all__ = ["load_digits_split", "load_mnist", "load_images", "read_idx"]


def load_digits_split(test_size=360, random_state=0):
    """The digits data set (pixels / 16), stratified train/test split.

    Returns
    -------
    X_train, X_test : ndarray of float32, shapes (1437, 64) and (360, 64)
    y_train, y_test : ndarray of int64
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y.astype(np.int64), test_size=test_size, stratify=y, random_state=random_state
    )
    return X_tr, X_te, y_tr, y_te


# IDX type codes (third byte of the magic number) -> big-endian dtype.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

#: The four IDX files of MNIST (each may also end in ``.gz``).
MNIST_IDX_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def _missing(path, what="path"):
    return FileNotFoundError(f"{what}: no such file: {os.fspath(path)!r}")


def read_idx(path, name="path"):
    """Read one IDX file (``.gz`` or not) into a NumPy array.

    Parameters
    ----------
    path : str or os.PathLike
    name : str, default="path"
        The argument named in error messages.

    Returns
    -------
    ndarray
        Shape and dtype as the file's header says (native byte order).

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist (the message names it).
    ValueError
        The file is not a valid IDX file or is truncated.
    """
    import gzip

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise _missing(path, name)
    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"  # gzip's magic number, whatever the file's name
    opener = gzip.open if gz or path.endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            data = fh.read()
    except (OSError, EOFError) as exc:
        raise ValueError(f"{name}: {path!r} cannot be read as IDX ({exc})") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise ValueError(f"{name}: {path!r} is not an IDX file (bad magic number)")
    dtype, ndim = _IDX_DTYPES[data[2]], data[3]
    head = 4 + 4 * ndim
    if len(data) < head:
        raise ValueError(f"{name}: {path!r} is truncated (incomplete IDX header)")
    shape = tuple(int(v) for v in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if len(data) != head + count * dtype.itemsize:
        raise ValueError(
            f"{name}: {path!r} holds {len(data) - head} data bytes, the header {shape} asks for "
            f"{count * dtype.itemsize}"
        )
    arr = np.frombuffer(data, dtype=dtype, count=count, offset=head).reshape(shape)
    return arr.astype(dtype.newbyteorder("="))


def _find_idx(folder, name):
    for candidate in (name, name + ".gz", name.replace("-idx", ".idx"), name.replace("-idx", ".idx") + ".gz"):
        full = os.path.join(folder, candidate)
        if os.path.isfile(full):
            return full
    raise _missing(os.path.join(folder, name) + "[.gz]")


def _images(arr, where, name="path"):
    if arr.ndim != 3:
        raise ValueError(f"{name}: {where} images must be (n, rows, cols), got shape {arr.shape}")
    if arr.shape[0] < 1 or arr.shape[1] < 1 or arr.shape[2] < 1:
        raise ValueError(f"{name}: {where} holds no images (shape {arr.shape})")
    if np.issubdtype(arr.dtype, np.integer):  # MNIST's uint8 pixels -> [0, 1]
        if arr.min() < 0 or arr.max() > 255:
            raise ValueError(f"{name}: {where} integer pixels must lie in 0..255, got "
                             f"{arr.min()}..{arr.max()}")
        arr = arr.astype(np.float32) / np.float32(255.0)
    elif np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float32)
        if not np.isfinite(arr).all() or arr.min() < 0.0 or arr.max() > 1.0:
            raise ValueError(f"{name}: {where} float pixels must be finite and lie in [0, 1]")
    else:
        raise ValueError(f"{name}: {where} images have dtype {arr.dtype}, expected integers or floats")
    return np.ascontiguousarray(arr.reshape(arr.shape[0], -1))


def _labels(arr, n, where, name="path"):
    arr = np.asarray(arr).reshape(-1)
    if arr.shape[0] != n:
        raise ValueError(f"{name}: {where} has {n} images but {arr.shape[0]} labels")
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name}: {where} labels have dtype {arr.dtype}, expected integers")
    return arr.astype(np.int64)


def load_mnist(path):
    """MNIST (or any data set in its layout) from local files. Nothing is downloaded.

    Parameters
    ----------
    path : str or os.PathLike
        Either Keras' ``mnist.npz`` (arrays ``x_train``, ``y_train``,
        ``x_test``, ``y_test``), or a folder holding ``mnist.npz`` or the four
        IDX files ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
        ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte`` (each may end
        in ``.gz``).

    Returns
    -------
    X_train, X_test : ndarray of float32, shape (n, rows * cols)
        Integer pixels (MNIST's uint8) are divided by 255; float pixels are kept, flattened
        row-major; the image side is ``sqrt(n_features)`` for square images.
    y_train, y_test : ndarray of int64

    Raises
    ------
    FileNotFoundError
        A file is missing; the message names it.
    ValueError
        A file is not in the expected format.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        npz = os.path.join(path, "mnist.npz")
        if os.path.isfile(npz):
            return load_mnist(npz)
        files = [_find_idx(path, name) for name in MNIST_IDX_FILES]
        xs = [_images(read_idx(f), repr(f)) for f in files[0::2]]
        ys = [_labels(read_idx(f), x.shape[0], repr(f)) for f, x in zip(files[1::2], xs)]
        return xs[0], xs[1], ys[0], ys[1]
    if not os.path.isfile(path):
        raise _missing(path)
    keys = ("x_train", "x_test", "y_train", "y_test")
    try:  # checks every array's declared size before reading, so a bad file cannot exhaust memory
        found = read_npz(path, keys)
    except FileFormatError as exc:
        raise ValueError(f"path: not a readable .npz file: {exc}") from None
    missing = [k for k in keys if k not in found]
    if missing:
        raise ValueError(f"path: {path!r} lacks the arrays {missing} (expected Keras' mnist.npz)")
    x_tr, x_te, y_tr, y_te = (found[k] for k in keys)
    x_tr, x_te = _images(np.asarray(x_tr), repr(path)), _images(np.asarray(x_te), repr(path))
    return x_tr, x_te, _labels(y_tr, x_tr.shape[0], repr(path)), _labels(y_te, x_te.shape[0], repr(path))


def _sibling(path, old, new):
    """The file beside ``path`` whose name has ``new`` for ``old`` (``.gz`` or not), or None."""
    folder, base = os.path.split(path)
    if base.endswith(".gz"):
        base = base[:-3]
    for o, n in ((old, new), (old.replace("-", "."), new.replace("-", "."))):
        if o in base:
            for candidate in (base.replace(o, n), base.replace(o, n) + ".gz"):
                full = os.path.join(folder, candidate)
                if os.path.isfile(full):
                    return full
    return None


def _is_zip(path):
    with open(path, "rb") as fh:
        return fh.read(4) == b"PK\x03\x04"


def load_images(path, name="path"):
    """Images, with their labels and a test set if the files have them. Nothing is downloaded.

    Parameters
    ----------
    path : str or os.PathLike
        One of:

        - an IDX image file, ``.gz`` or not, such as MNIST's
          ``train-images-idx3-ubyte``: its labels are read from the IDX file
          beside it whose name has ``labels-idx1`` for ``images-idx3``
          (``train-labels-idx1-ubyte``), if there is one, and a ``train-``
          file's test set from the ``t10k-`` files beside it, if there are
          both;
        - an ``.npz`` with an array ``x_train`` of images (n, rows, cols)
          and optionally ``y_train``, ``x_test`` and ``y_test`` (Keras'
          ``mnist.npz`` has all four);
        - a folder, read by :func:`load_mnist`.
    name : str, default="path"
        The argument named in error messages (``"--data"`` for the command line).

    Returns
    -------
    X_train : ndarray of float32, shape (n, rows * cols)
        Integer pixels (0..255) are divided by 255; float pixels must lie in [0, 1].
    X_test : ndarray of float32 or None
    y_train, y_test : ndarray of int64 or None
        None where the files hold no such array.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist; the message names it.
    ValueError
        A file is not in the expected format (the message starts with ``name``).
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        try:
            return load_mnist(path)
        except (FileNotFoundError, ValueError) as exc:
            msg = str(exc)
            raise type(exc)(f"{name}: " + (msg[len("path: "):] if msg.startswith("path: ") else msg)) from None
    if not os.path.isfile(path):
        raise _missing(path, name)
    where = repr(path)
    if not _is_zip(path):  # IDX, plain or gzip
        X = _images(read_idx(path, name), where, name)
        labels = _sibling(path, "images-idx3", "labels-idx1")
        y = _labels(read_idx(labels, name), X.shape[0], repr(labels), name) if labels else None
        X_te = y_te = None
        folder, base = os.path.split(path)
        stem = base[:-3] if base.endswith(".gz") else base
        if y is not None and stem.startswith("train-"):
            t = os.path.join(folder, "t10k-" + stem[len("train-"):])
            test = next((c for c in (t, t + ".gz") if os.path.isfile(c)), None)
            test_labels = _sibling(test, "images-idx3", "labels-idx1") if test else None
            if test_labels:
                X_te = _images(read_idx(test, name), repr(test), name)
                if X_te.shape[1] != X.shape[1]:
                    raise ValueError(f"{name}: {test!r} images have {X_te.shape[1]} pixels, "
                                     f"{where} {X.shape[1]}")
                y_te = _labels(read_idx(test_labels, name), X_te.shape[0], repr(test_labels), name)
        return X, X_te, y, y_te
    keys = ("x_train", "x_test", "y_train", "y_test")
    try:  # checks every array's declared size before reading, so a bad file cannot exhaust memory
        found = read_npz(path, keys)
    except FileFormatError as exc:
        raise ValueError(f"{name}: not a readable .npz file: {exc}") from None
    if "x_train" not in found:
        raise ValueError(f"{name}: {where} has no array 'x_train' (images, n x rows x cols)")
    X = _images(np.asarray(found["x_train"]), where, name)
    y = _labels(found["y_train"], X.shape[0], where, name) if "y_train" in found else None
    X_te = y_te = None
    if "x_test" in found:
        X_te = _images(np.asarray(found["x_test"]), where, name)
        if X_te.shape[1] != X.shape[1]:
            raise ValueError(f"{name}: {where} x_test images have {X_te.shape[1]} pixels, x_train "
                             f"{X.shape[1]}")
        if "y_test" in found and y is not None:
            y_te = _labels(found["y_test"], X_te.shape[0], where, name)
    return X, X_te, y, y_te
