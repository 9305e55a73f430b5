"""Tests of fastga.datasets: the digits split and local MNIST files (tiny, built here)."""

import gzip
import struct

import numpy as np
import pytest

from fastga.datasets import MNIST_IDX_FILES, load_digits_split, load_images, load_mnist, read_idx


def _idx_bytes(arr, code=0x08):
    arr = np.asarray(arr)
    head = bytes([0, 0, code, arr.ndim]) + b"".join(struct.pack(">I", d) for d in arr.shape)
    dtype = {0x08: ">u1", 0x0C: ">i4", 0x0D: ">f4"}[code]
    return head + arr.astype(dtype).tobytes()


def _tiny(seed=0, n_train=7, n_test=3, side=6):
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, size=(n_train, side, side), dtype=np.uint8),
            rng.integers(0, 10, size=n_train, dtype=np.uint8),
            rng.integers(0, 256, size=(n_test, side, side), dtype=np.uint8),
            rng.integers(0, 10, size=n_test, dtype=np.uint8))


def _write_idx_folder(folder, arrays, gz=False):
    for name, arr in zip(MNIST_IDX_FILES, arrays):
        data = _idx_bytes(arr)
        if gz:
            with gzip.open(folder / (name + ".gz"), "wb") as fh:
                fh.write(data)
        else:
            (folder / name).write_bytes(data)


def _check(loaded, arrays):
    x_tr, x_te, y_tr, y_te = loaded
    a_xtr, a_ytr, a_xte, a_yte = arrays
    assert x_tr.dtype == np.float32 and x_tr.shape == (a_xtr.shape[0], a_xtr[0].size)
    np.testing.assert_allclose(x_tr, a_xtr.reshape(a_xtr.shape[0], -1) / 255.0, rtol=1e-6)
    np.testing.assert_allclose(x_te, a_xte.reshape(a_xte.shape[0], -1) / 255.0, rtol=1e-6)
    assert y_tr.dtype == np.int64 and np.array_equal(y_tr, a_ytr)
    assert np.array_equal(y_te, a_yte)
    assert 0.0 <= x_tr.min() and x_tr.max() <= 1.0


def test_digits_split_unchanged():
    X_tr, X_te, y_tr, y_te = load_digits_split()
    assert X_tr.shape == (1437, 64) and X_te.shape == (360, 64)
    assert X_tr.dtype == np.float32 and X_tr.max() <= 1.0
    assert np.bincount(y_te).min() >= 35  # stratified


def test_load_mnist_npz(tmp_path):
    arrays = _tiny()
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=arrays[0], y_train=arrays[1], x_test=arrays[2], y_test=arrays[3])
    _check(load_mnist(path), arrays)
    _check(load_mnist(tmp_path), arrays)  # a folder holding mnist.npz
    _check(load_mnist(str(path)), arrays)


@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist_idx_folder(tmp_path, gz):
    arrays = _tiny(seed=1)
    _write_idx_folder(tmp_path, arrays, gz=gz)
    _check(load_mnist(tmp_path), arrays)


def test_read_idx_other_types(tmp_path):
    a = np.arange(12, dtype=np.int32).reshape(3, 4) - 5
    (tmp_path / "a.idx").write_bytes(_idx_bytes(a, 0x0C))
    out = read_idx(tmp_path / "a.idx")
    assert out.dtype == np.int32 and out.dtype.isnative and np.array_equal(out, a)
    f = np.linspace(0, 1, 6, dtype=np.float32).reshape(2, 3)
    (tmp_path / "f.idx").write_bytes(_idx_bytes(f, 0x0D))
    np.testing.assert_array_equal(read_idx(tmp_path / "f.idx"), f)


def test_missing_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.npz"):
        load_mnist(tmp_path / "nothere.npz")
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        load_mnist(tmp_path)  # empty folder
    arrays = _tiny()
    _write_idx_folder(tmp_path, arrays)
    (tmp_path / MNIST_IDX_FILES[3]).unlink()
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        load_mnist(tmp_path)
    with pytest.raises(FileNotFoundError, match="gone.idx"):
        read_idx(tmp_path / "gone.idx")


def test_bad_files(tmp_path):
    bad = tmp_path / "bad.idx"
    bad.write_bytes(b"\x01\x02\x03\x04rest")
    with pytest.raises(ValueError, match="magic"):
        read_idx(bad)
    short = tmp_path / "short.idx"
    short.write_bytes(_idx_bytes(np.zeros((2, 3, 3), np.uint8))[:-4])
    with pytest.raises(ValueError, match="bad.idx|short.idx"):
        read_idx(short)
    npz = tmp_path / "other.npz"
    np.savez(npz, x_train=np.zeros((2, 3, 3), np.uint8))
    with pytest.raises(ValueError, match="lacks"):
        load_mnist(npz)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="junk.npz"):
        load_mnist(junk)
    # labels that do not match the images
    arrays = list(_tiny())
    arrays[1] = arrays[1][:-1]
    _write_idx_folder(tmp_path, arrays)
    with pytest.raises(ValueError, match="labels"):
        load_mnist(tmp_path)


def test_compressed_mnist_npz_loads(tmp_path):
    arrays = _tiny(seed=2)
    path = tmp_path / "mnist.npz"
    np.savez_compressed(path, x_train=arrays[0], y_train=arrays[1], x_test=arrays[2], y_test=arrays[3])
    _check(load_mnist(path), arrays)


def test_npz_whose_array_header_claims_a_huge_shape_is_refused_without_allocating(tmp_path):
    import io
    import tracemalloc
    import zipfile

    arrays = _tiny(seed=3)
    good = tmp_path / "good.npz"
    np.savez(good, x_train=arrays[0], y_train=arrays[1], x_test=arrays[2], y_test=arrays[3])
    bad = tmp_path / "mnist.npz"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(bad, "w") as zout:
        for info in zin.infolist():
            raw = zin.read(info)
            if info.filename == "x_train.npy":  # 10**12 images of 28x28 bytes, same data
                fp = io.BytesIO(raw)
                np.lib.format.read_magic(fp)
                np.lib.format.read_array_header_1_0(fp)
                head = io.BytesIO()
                np.lib.format.write_array_header_1_0(
                    head, {"descr": "|u1", "fortran_order": False, "shape": (10**12, 28, 28)})
                raw = head.getvalue() + raw[fp.tell():]
            zout.writestr(info.filename, raw)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="^path: .*mnist.npz.*declares shape"):
            load_mnist(bad)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20


@pytest.mark.parametrize("gz", [False, True])
def test_load_images_from_one_idx_file(tmp_path, gz):
    arrays = _tiny(seed=4)
    _write_idx_folder(tmp_path, arrays, gz=gz)
    images = tmp_path / (MNIST_IDX_FILES[0] + (".gz" if gz else ""))
    _check(load_images(images), arrays)  # labels and the t10k test set read from beside it
    # Without the test labels: no test set; without the training labels: images only.
    (tmp_path / (MNIST_IDX_FILES[3] + (".gz" if gz else ""))).unlink()
    X, X_te, y, y_te = load_images(images)
    assert X.shape == (7, 36) and np.array_equal(y, arrays[1]) and X_te is None and y_te is None
    (tmp_path / (MNIST_IDX_FILES[1] + (".gz" if gz else ""))).unlink()
    X, X_te, y, y_te = load_images(images)
    assert X.shape == (7, 36) and y is None and X_te is None and y_te is None
    # A gzip file is recognised by its content, whatever its name.
    plain = tmp_path / "digits.idx"
    plain.write_bytes(gzip.compress(_idx_bytes(arrays[0])))
    np.testing.assert_array_equal(load_images(plain)[0], X)


def test_load_images_npz_with_some_arrays(tmp_path):
    arrays = _tiny(seed=5)
    only = tmp_path / "x.npz"
    np.savez(only, x_train=arrays[0])
    X, X_te, y, y_te = load_images(only)
    assert X.shape == (7, 36) and X_te is None and y is None and y_te is None
    full = tmp_path / "full.npz"
    np.savez(full, x_train=arrays[0], y_train=arrays[1], x_test=arrays[2], y_test=arrays[3])
    _check(load_images(full), arrays)
    _check(load_images(tmp_path / "full.npz"), arrays)
    floats = tmp_path / "floats.npz"
    np.savez(floats, x_train=arrays[0] / np.float32(255))
    np.testing.assert_allclose(load_images(floats)[0], X, rtol=1e-6)


def test_load_images_errors_name_the_argument(tmp_path):
    with pytest.raises(FileNotFoundError, match="^--data: .*gone.idx"):
        load_images(tmp_path / "gone.idx", name="--data")
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x01\x02\x03\x04rest")
    with pytest.raises(ValueError, match="^--data: .*magic"):
        load_images(bad, name="--data")
    flat = tmp_path / "flat.idx"
    flat.write_bytes(_idx_bytes(np.zeros((4, 9), np.uint8)))
    with pytest.raises(ValueError, match="^--data: .*rows, cols"):
        load_images(flat, name="--data")
    cases = {"nox.npz": dict(images=np.zeros((2, 3, 3), np.uint8)),
             "range.npz": dict(x_train=np.full((2, 3, 3), 2.0)),
             "nan.npz": dict(x_train=np.full((2, 3, 3), np.nan)),
             "neg.npz": dict(x_train=np.full((2, 3, 3), -1, np.int16)),
             "labels.npz": dict(x_train=np.zeros((2, 3, 3), np.uint8), y_train=np.zeros(3, np.uint8)),
             "flabels.npz": dict(x_train=np.zeros((2, 3, 3), np.uint8), y_train=np.zeros(2)),
             "sizes.npz": dict(x_train=np.zeros((2, 3, 3), np.uint8), x_test=np.zeros((2, 4, 4), np.uint8))}
    for fname, arrs in cases.items():
        np.savez(tmp_path / fname, **arrs)
        with pytest.raises(ValueError, match="^--data: "):
            load_images(tmp_path / fname, name="--data")
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(ValueError, match="^--data: .*junk.npz"):
        load_images(tmp_path / "junk.npz", name="--data")
    folder = tmp_path / "empty"
    folder.mkdir()
    with pytest.raises(FileNotFoundError, match="^--data: .*train-images-idx3-ubyte"):
        load_images(folder, name="--data")
