"""imdb, reuters, boston_housing, california_housing and cifar100 loaders on small fixture
files in Keras's formats (never the network): results equal to real Keras 3's loaders on the
same files (where installed), the pinned-hash fetch path, the offline error naming the file,
and object arrays read without running pickled code."""

import hashlib
import importlib.util
import io
import json
import os
import pickle
import tarfile

import numpy as np
import pytest
from _keras_reference import keras_json

import glassnet as gn
from glassnet.datasets import _fetch, boston_housing, california_housing, cifar100, imdb, reuters
from glassnet.datasets._npz_safe import UnsafeFileError, load_npz

R = np.random.default_rng(4)


def _ragged(n, vocab=40, lo=1, hi=12):
    a = np.empty(n, dtype=object)
    for i in range(n):
        a[i] = [int(w) for w in R.integers(1, vocab, R.integers(lo, hi))]
    return a


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("keras_files")
    np.savez(d / "imdb.npz", x_train=_ragged(30), y_train=R.integers(0, 2, 30),
             x_test=_ragged(20), y_test=R.integers(0, 2, 20))
    np.savez(d / "reuters.npz", x=_ragged(40, vocab=60), y=R.integers(0, 46, 40))
    np.savez(d / "boston_housing.npz", x=R.normal(size=(50, 13)), y=R.normal(size=50))
    np.savez(d / "california_housing.npz", x=R.normal(size=(700, 8)),
             y=R.uniform(1, 5, size=700))
    return d


CASES = [
    ("imdb", {}), ("imdb", {"num_words": 20, "skip_top": 3, "maxlen": 9, "seed": 7}),
    ("imdb", {"start_char": None, "oov_char": None, "index_from": 0, "num_words": 25}),
    ("reuters", {}), ("reuters", {"num_words": 30, "test_split": 0.3, "maxlen": 10}),
    ("boston_housing", {}), ("boston_housing", {"test_split": 0.5, "seed": 1}),
    ("california_housing", {}), ("california_housing", {"version": "small", "seed": 3}),
]
MODS = {"imdb": imdb, "reuters": reuters, "boston_housing": boston_housing,
        "california_housing": california_housing}


def _ours(files, name, kw):
    kw = dict(kw)
    path = files / f"{name}.npz"
    if name in ("imdb", "reuters"):
        return MODS[name].read_npz(path, **kw)
    from glassnet.datasets._housing import split_npz

    rows = 600 if kw.pop("version", "large") == "small" else None
    return split_npz(path, kw.get("test_split", 0.2), kw.get("seed", 113), name, rows=rows)


@pytest.fixture(scope="module")
def keras_results(files):
    if importlib.util.find_spec("keras") is None:
        pytest.skip("keras is not installed (optional reference)")
    spec = {"cases": [{"module": m, "kwargs": k, "file": str(files / f"{m}.npz")}
                      for m, k in CASES]}
    return keras_json("_keras_dataset_ref.py", json.dumps(spec), 300)


@pytest.mark.parametrize("i", range(len(CASES)), ids=[f"{m}-{k}" for m, k in CASES])
def test_matches_real_keras_loaders(files, keras_results, i):
    (x, y), (xt, yt) = _ours(files, *CASES[i])
    kx, ky, kxt, kyt = keras_results[i]
    for ours, ref in ((x, kx), (xt, kxt)):
        if ours.dtype == object:
            assert [list(s) for s in ours] == ref
        else:
            np.testing.assert_array_equal(ours, np.asarray(ref))
    np.testing.assert_array_equal(y, np.asarray(ky))
    np.testing.assert_array_equal(yt, np.asarray(kyt))


def test_sequence_rules_by_hand(files):
    raw = load_npz(files / "imdb.npz")
    (x, y), (xt, yt) = imdb.read_npz(files / "imdb.npz")
    assert x.dtype == object and len(x) == 30 and len(xt) == 20
    # start_char, index_from (Keras's default num_words = the largest id, which itself
    # falls outside ``w < num_words`` and becomes oov_char 2)
    assert all(s[0] == 1 and all(w >= 4 or w == 2 for w in s[1:]) for s in x)
    assert sorted(len(s) - 1 for s in x) == sorted(len(s) for s in raw["x_train"])
    (x, _), _ = imdb.read_npz(files / "imdb.npz", num_words=10, skip_top=5)
    assert all(w == 2 or 5 <= w < 10 for s in x for w in s[1:])   # oov_char replaces
    (x, _), (xt, _) = imdb.read_npz(files / "imdb.npz", maxlen=6)
    assert all(len(s) < 6 for s in list(x) + list(xt))
    (x, y), (xt, yt) = reuters.read_npz(files / "reuters.npz", test_split=0.25)
    assert len(x) == 30 and len(xt) == 10 and y.max() < 46
    assert len(reuters.get_label_names()) == 46


def test_cifar100_binary_fixture(tmp_path):
    n_tr, n_te = 5, 3
    imgs = R.integers(0, 256, (n_tr + n_te, 3, 32, 32), dtype=np.uint8)
    coarse = R.integers(0, 20, n_tr + n_te).astype(np.uint8)
    fine = R.integers(0, 100, n_tr + n_te).astype(np.uint8)
    rec = np.concatenate([coarse[:, None], fine[:, None], imgs.reshape(len(imgs), -1)], 1)
    arch = tmp_path / "cifar-100-binary.tar.gz"
    with tarfile.open(arch, "w:gz") as tar:
        for name, rows in (("train.bin", rec[:n_tr]), ("test.bin", rec[n_tr:])):
            data = rows.tobytes()
            info = tarfile.TarInfo(f"cifar-100-binary/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    (x, y), (xt, yt) = cifar100.read_archive(arch)
    assert x.shape == (5, 32, 32, 3) and x.dtype == np.uint8 and y.shape == (5, 1)
    assert y.dtype == np.int64   # Keras's cifar100 labels are int64 (cifar10's uint8)
    np.testing.assert_array_equal(x, imgs[:n_tr].transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(yt[:, 0], fine[n_tr:])
    (_, yc), _ = cifar100.read_archive(arch, "coarse")
    np.testing.assert_array_equal(yc[:, 0], coarse[:n_tr])
    with pytest.raises(ValueError, match="label_mode"):
        cifar100.read_archive(arch, "medium")
    bad = tmp_path / "bad.tar.gz"
    with tarfile.open(bad, "w:gz") as tar:
        info = tarfile.TarInfo("cifar-100-binary/train.bin")
        info.size = 10
        tar.addfile(info, io.BytesIO(b"0" * 10))
    with pytest.raises(ValueError, match="missing"):
        cifar100.read_archive(bad)


# ------------------------------------------------------------------ fetch, hashes, offline
def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("name", ["imdb", "reuters", "boston_housing", "california_housing"])
def test_load_data_through_the_pinned_cache(files, tmp_path, monkeypatch, name):
    mod = MODS[name]
    monkeypatch.setenv("GLASSNET_DATA_DIR", str(tmp_path))
    (tmp_path / name).mkdir()
    target = tmp_path / name / f"{name}.npz"
    target.write_bytes((files / f"{name}.npz").read_bytes())
    monkeypatch.setattr(mod, "DIGEST", _sha(target))   # the fixture stands in for the file
    (x, y), _ = mod.load_data(download=False)
    (rx, ry), _ = _ours(files, name, {})
    assert len(x) == len(rx)
    np.testing.assert_array_equal(y, ry)
    monkeypatch.setattr(mod, "DIGEST", "0" * 64)
    with pytest.raises(_fetch.ChecksumError, match=f"{name}.npz"):
        mod.load_data(download=False)


@pytest.mark.parametrize("mod,relpath", [
    (imdb, "imdb/imdb.npz"), (reuters, "reuters/reuters.npz"),
    (boston_housing, "boston_housing/boston_housing.npz"),
    (california_housing, "california_housing/california_housing.npz"),
    (cifar100, "cifar100/cifar-100-binary.tar.gz"),
])
def test_offline_error_names_the_file(tmp_path, monkeypatch, mod, relpath):
    monkeypatch.setenv("GLASSNET_DATA_DIR", str(tmp_path))
    with pytest.raises(_fetch.DatasetUnavailableError) as e:
        mod.load_data(download=False)
    assert relpath in str(e.value) and mod.URL in str(e.value)


def test_word_index_offline_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("GLASSNET_DATA_DIR", str(tmp_path))
    with pytest.raises(_fetch.DatasetUnavailableError, match="imdb_word_index.json"):
        imdb.get_word_index(download=False)
    (tmp_path / "reuters").mkdir()
    p = tmp_path / "reuters" / "reuters_word_index.json"
    p.write_text(json.dumps({"the": 1, "of": 2}))
    monkeypatch.setattr(reuters, "WORD_INDEX_DIGEST",
                        "md5:" + hashlib.md5(p.read_bytes()).hexdigest())
    assert reuters.get_word_index(download=False) == {"the": 1, "of": 2}


def test_pinned_digests_are_keras_and_the_publishers():
    assert imdb.DIGEST == "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
    assert reuters.DIGEST == "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"
    assert cifar100.DIGEST == "md5:03b5dce01913d631647c71ecec9e9cb8"
    assert gn.datasets.boston_housing is boston_housing
    assert gn.datasets.cifar100 is cifar100


# ------------------------------------------------------------------ no code from pickles
class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_object_arrays_refuse_anything_but_numpy(tmp_path):
    evil = np.empty(2, dtype=object)
    evil[0], evil[1] = [1, 2], _Evil()
    np.savez(tmp_path / "evil.npz", x=evil, y=np.zeros(2))
    with pytest.raises(UnsafeFileError, match="system"):
        load_npz(tmp_path / "evil.npz")
    with pytest.raises(UnsafeFileError):
        reuters.read_npz(tmp_path / "evil.npz")
    # and a plain pickle of the same object is what it would have run
    assert b"system" in pickle.dumps(_Evil())


def test_argument_errors(files):
    with pytest.raises(ValueError, match="test_split"):
        reuters.read_npz(files / "reuters.npz", test_split=1.0)
    with pytest.raises(ValueError, match="version"):
        california_housing.load_data(version="medium")
    with pytest.raises(ValueError, match="maxlen"):
        imdb.read_npz(files / "imdb.npz", maxlen=1)


def test_keras_io_bidirectional_lstm_imdb_pipeline(files, tmp_path, monkeypatch):
    """keras.io's "Bidirectional LSTM on IMDB" data path (load_data(num_words) ->
    pad_sequences -> Embedding/Bidirectional LSTM), imports swapped, on the fixture file."""
    import glassnet as keras
    from glassnet import layers

    monkeypatch.setenv("GLASSNET_DATA_DIR", str(tmp_path))
    (tmp_path / "imdb").mkdir()
    (tmp_path / "imdb" / "imdb.npz").write_bytes((files / "imdb.npz").read_bytes())
    monkeypatch.setattr(imdb, "DIGEST", _sha(tmp_path / "imdb" / "imdb.npz"))
    max_features, maxlen = 20, 10
    (x_train, y_train), (x_val, y_val) = keras.datasets.imdb.load_data(
        num_words=max_features, download=False)
    x_train = keras.utils.pad_sequences(x_train, maxlen=maxlen)
    x_val = keras.utils.pad_sequences(x_val, maxlen=maxlen)
    assert x_train.shape == (30, maxlen) and x_train.max() < max_features
    gn.set_seed(0)
    inputs = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(max_features, 8)(inputs)
    x = layers.Bidirectional(layers.LSTM(4, return_sequences=True))(x)
    x = layers.Bidirectional(layers.LSTM(4))(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    h = model.fit(x_train, y_train, batch_size=8, epochs=1, validation_data=(x_val, y_val),
                  verbose=0)
    assert np.isfinite(h.history["val_loss"][0])
