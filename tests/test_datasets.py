"""Datasets: shapes/dtypes against the shared files, checksums, offline errors, CIFAR binary
format on a synthetic archive, loaders."""

import gzip
import hashlib
import io
import shutil
import tarfile

import numpy as np
import pytest

import glassnet as gn
from glassnet.datasets import _fetch
from glassnet.datasets._idx import read_idx


def test_mnist_shapes_and_labels(datasets_dir):
    (x, y), (xt, yt) = gn.datasets.mnist.load_data(download=False)
    assert x.shape == (60000, 28, 28) and x.dtype == np.uint8
    assert y.shape == (60000,) and xt.shape == (10000, 28, 28) and yt.shape == (10000,)
    assert set(np.unique(y)) == set(range(10)) and set(np.unique(yt)) == set(range(10))
    assert x.max() == 255 and x.min() == 0
    # Cross-check the first label against a direct byte read of the IDX file.
    with gzip.open(datasets_dir / "mnist/train-labels-idx1-ubyte.gz") as f:
        raw = f.read()
    assert int(y[0]) == raw[8] and int(y[-1]) == raw[-1]
    # Returned arrays are private copies: writing them must not corrupt the in-process cache.
    x[0, 0, 0] = 7
    (x2, _), _ = gn.datasets.mnist.load_data(download=False)
    assert x2[0, 0, 0] == 0


def test_idx_bad_magic(tmp_path):
    p = tmp_path / "bad.gz"
    with gzip.open(p, "wb") as f:
        f.write((0x0803).to_bytes(4, "big") + (1).to_bytes(4, "big") + b"\x00")
    with pytest.raises(ValueError, match="magic"):
        read_idx(p, 1)
    p2 = tmp_path / "short.gz"
    with gzip.open(p2, "wb") as f:
        f.write((0x0801).to_bytes(4, "big") + (5).to_bytes(4, "big") + b"\x00\x01")
    with pytest.raises(ValueError, match="5 bytes"):
        read_idx(p2, 1)


def test_iris_rows_match_seed(datasets_dir):
    x, y = gn.datasets.iris.load_data(download=False)
    assert x.shape == (150, 4) and y.shape == (150,)
    np.testing.assert_allclose(x[0], [5.1, 3.5, 1.4, 0.2])
    assert y[0] == "Iris-setosa" and y[-1] == "Iris-virginica"
    assert sorted(set(y)) == ["Iris-setosa", "Iris-versicolor", "Iris-virginica"]
    df = gn.datasets.iris.load_data(as_frame=True, download=False)
    assert df.shape == (150, 5) and df["species"].iloc[50] == "Iris-versicolor"


def test_iris_sklearn_fallback_agrees(datasets_dir, tmp_path, monkeypatch):
    pytest.importorskip("sklearn")
    x_uci, y_uci = gn.datasets.iris.load_data(download=False)
    monkeypatch.setenv("GLASSNET_DATA_DIR", str(tmp_path))
    x_sk, y_sk = gn.datasets.iris.load_data(download=False)
    # sklearn fixed two known errata of the UCI file (rows 35 and 38); the rest agree.
    same = np.all(np.isclose(x_uci, x_sk), axis=1)
    assert same.sum() >= 148
    assert np.array_equal(y_uci, y_sk)


def test_churn_columns(datasets_dir):
    df = gn.datasets.churn.load_data(download=False)
    assert df.shape == (10000, 14)
    assert list(df.columns[:3]) == ["RowNumber", "CustomerId", "Surname"]
    assert df.columns[-1] == "Exited" and set(df["Exited"].unique()) == {0, 1}
    assert df.iloc[0]["CreditScore"] == 619 and df.iloc[0]["Geography"] == "France"


def test_text_and_vocab(datasets_dir):
    text = gn.datasets.text.load_data("tinyshakespeare", download=False)
    assert len(text) == 1115394 and text.startswith("First Citizen:")
    chars, idx = gn.datasets.text.char_vocab(text)
    assert len(chars) == 65 and all(idx[c] == i for i, c in enumerate(chars))
    with pytest.raises(ValueError, match="received 'nope'"):
        gn.datasets.text.load_data("nope")


def test_checksum_mismatch_names_file_and_hashes(datasets_dir, tmp_path, monkeypatch):
    (tmp_path / "iris").mkdir()
    bad = tmp_path / "iris" / "iris.data"
    shutil.copy(datasets_dir / "iris" / "iris.data", bad)
    with open(bad, "a") as f:
        f.write("\n")
    actual = hashlib.sha256(bad.read_bytes()).hexdigest()
    monkeypatch.setenv("GLASSNET_DATA_DIR", str(tmp_path))
    with pytest.raises(_fetch.ChecksumError) as e:
        gn.datasets.iris.load_data(download=False)
    msg = str(e.value)
    assert str(bad) in msg and gn.datasets.iris.SHA256 in msg and actual in msg


def test_md5_pinned_files_are_checked_and_passed_to_pooch_as_md5(tmp_path, monkeypatch):
    """CIFAR-10 and Fashion-MNIST publish MD5s only: a file pinned "md5:<hex>" is checked
    with MD5, a wrong one is refused naming both digests, and pooch gets the same pin."""
    pooch = pytest.importorskip("pooch")
    payload = b"fashion bytes\n"
    md5 = hashlib.md5(payload).hexdigest()
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "ok.bin").write_bytes(payload)
    monkeypatch.setenv("GLASSNET_DATA_DIR", str(tmp_path))
    assert _fetch.fetch("x/ok.bin", None, f"md5:{md5}").read_bytes() == payload
    with pytest.raises(_fetch.ChecksumError, match=f"MD5 check: expected {'0' * 32}, got {md5}"):
        _fetch.fetch("x/ok.bin", None, "md5:" + "0" * 32)
    with pytest.raises(ValueError, match="unsupported digest"):
        _fetch.fetch("x/ok.bin", None, "crc32:1234")
    calls = []

    def fake_retrieve(url, known_hash, fname, path, progressbar):
        calls.append(known_hash)
        (tmp_path / "x" / fname).write_bytes(payload)

    monkeypatch.setattr(pooch, "retrieve", fake_retrieve)
    _fetch.fetch("x/new.bin", "https://example.invalid/new.bin", f"md5:{md5.upper()}")
    assert calls == [f"md5:{md5}"]
    # every file of the two archives is pinned
    assert all(d.startswith("md5:") and len(d) == 36
               for d in gn.datasets.fashion_mnist.FILES.values())
    assert gn.datasets.cifar10.DIGEST == "md5:c32a1d4ab5d03f1284b67883e8d87530"


def test_offline_error_says_where(tmp_path, monkeypatch):
    monkeypatch.setenv("GLASSNET_DATA_DIR", str(tmp_path))
    with pytest.raises(_fetch.DatasetUnavailableError) as e:
        gn.datasets.mnist.load_data(download=False)
    msg = str(e.value)
    assert "mnist/" in msg and str(tmp_path) in msg and "https://" in msg


def test_download_path_with_fake_retrieve(tmp_path, monkeypatch):
    pooch = pytest.importorskip("pooch")
    payload = b"hello glassnet\n"
    sha = hashlib.sha256(payload).hexdigest()
    calls = []

    def fake_retrieve(url, known_hash, fname, path, progressbar):
        calls.append((url, known_hash))
        (tmp_path / "x").mkdir(exist_ok=True)
        (tmp_path / "x" / fname).write_bytes(payload)
        return str(tmp_path / "x" / fname)

    monkeypatch.setattr(pooch, "retrieve", fake_retrieve)
    monkeypatch.setenv("GLASSNET_DATA_DIR", str(tmp_path))
    p = _fetch.fetch("x/f.txt", "https://example.invalid/f.txt", sha)
    assert p.read_bytes() == payload and calls == [
        ("https://example.invalid/f.txt", f"sha256:{sha}")
    ]
    _fetch.fetch("x/f.txt", "https://example.invalid/f.txt", sha)  # cached: no second download
    assert len(calls) == 1


def test_download_failure_is_offline_error(tmp_path, monkeypatch):
    pooch = pytest.importorskip("pooch")

    def failing(*a, **k):
        raise OSError("network unreachable")

    monkeypatch.setattr(pooch, "retrieve", failing)
    monkeypatch.setenv("GLASSNET_DATA_DIR", str(tmp_path))
    with pytest.raises(_fetch.DatasetUnavailableError, match="put it at"):
        _fetch.fetch("y/f.txt", "https://example.invalid/f.txt", None)


def _cifar_batch(rng, n):
    y = rng.integers(0, 10, n, dtype=np.uint8)
    x = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    rec = np.concatenate([y[:, None], x.reshape(n, -1)], axis=1)
    return rec.tobytes(), x.transpose(0, 2, 3, 1), y


def test_cifar10_binary_synthetic(tmp_path):
    rng = np.random.default_rng(0)
    arch = tmp_path / "cifar-10-binary.tar.gz"
    xs, ys = [], []
    with tarfile.open(arch, "w:gz") as tar:
        names = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
        for name in names:
            buf, x, y = _cifar_batch(rng, 3)
            xs.append(x)
            ys.append(y)
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(buf)
            tar.addfile(info, io.BytesIO(buf))
    (x, y), (xt, yt) = gn.datasets.cifar10.read_archive(arch)
    assert x.shape == (15, 32, 32, 3) and y.shape == (15, 1) and x.dtype == np.uint8
    np.testing.assert_array_equal(x, np.concatenate(xs[:5]))
    np.testing.assert_array_equal(y[:, 0], np.concatenate(ys[:5]))
    np.testing.assert_array_equal(xt, xs[5])
    np.testing.assert_array_equal(yt[:, 0], ys[5])


def test_cifar10_bad_record_size(tmp_path):
    arch = tmp_path / "c.tar.gz"
    with tarfile.open(arch, "w:gz") as tar:
        for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
            info = tarfile.TarInfo(name)
            info.size = 100
            tar.addfile(info, io.BytesIO(b"\0" * 100))
    with pytest.raises(ValueError, match="3073-byte record"):
        gn.datasets.cifar10.read_archive(arch)


def test_digits_and_split():
    pytest.importorskip("sklearn")
    x, y = gn.datasets.digits.load_data()
    assert x.shape == (1797, 8, 8) and x.max() == 16 and set(y) == set(range(10))
    (xa, ya), (xb, yb) = gn.datasets.digits.load_data(test_size=0.25, seed=1)
    assert len(xa) + len(xb) == 1797 and len(xb) == 449
    (xa2, _), _ = gn.datasets.digits.load_data(test_size=0.25, seed=1)
    np.testing.assert_array_equal(xa, xa2)


def test_array_loader_batches_and_seeded_shuffle():
    from glassnet.datasets import ArrayLoader

    x = np.arange(10)
    batches = list(ArrayLoader(x, x * 2, batch_size=4))
    assert [len(b[0]) for b in batches] == [4, 4, 2] and len(ArrayLoader(x, batch_size=4)) == 3
    np.testing.assert_array_equal(batches[1][1], [8, 10, 12, 14])
    a = np.concatenate([b for b in ArrayLoader(x, batch_size=3, shuffle=True, seed=5)])
    b = np.concatenate([b for b in ArrayLoader(x, batch_size=3, shuffle=True, seed=5)])
    np.testing.assert_array_equal(a, b)
    assert sorted(a) == list(range(10)) and not np.array_equal(a, x)
    gn.set_seed(3)
    c = np.concatenate(list(ArrayLoader(x, batch_size=3, shuffle=True)))
    gn.set_seed(3)
    d = np.concatenate(list(ArrayLoader(x, batch_size=3, shuffle=True)))
    np.testing.assert_array_equal(c, d)
    with pytest.raises(ValueError, match="received 10 and 9"):
        ArrayLoader(x, x[:9])


def test_image_dataset_from_directory(tmp_path):
    mpimg = pytest.importorskip("matplotlib.image")
    rng = np.random.default_rng(0)
    imgs = {}
    for cls in ["cat", "dog"]:
        (tmp_path / cls).mkdir()
        for i in range(3):
            img = rng.random((6, 5, 3)).astype(np.float32)
            mpimg.imsave(tmp_path / cls / f"{i}.png", img)
            imgs[(cls, i)] = img
    x, y, names = gn.datasets.loader.image_dataset_from_directory(
        tmp_path, color_mode="rgb", batch_size=None
    )
    assert names == ["cat", "dog"] and x.shape == (6, 6, 5, 3) and list(y) == [0, 0, 0, 1, 1, 1]
    np.testing.assert_allclose(x[4], imgs[("dog", 1)], atol=1 / 255 + 1e-6)
    loader = gn.datasets.loader.image_dataset_from_directory(
        tmp_path, image_size=(3, 3), batch_size=4, seed=0
    )
    xb, yb = next(iter(loader))
    assert xb.shape == (4, 3, 3, 1) and loader.class_names == ["cat", "dog"]
