"""Preprocessing layers: against real Keras 3 (torch backend) where Keras runs them without
TensorFlow, against Keras's documented examples where it needs TensorFlow (the lookups,
TextVectorization), numeric gradients, and the safe model file (vocabularies as JSON)."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

import glassnet as gn
from glassnet import layers as L


def _np(keras, t):
    return keras.ops.convert_to_numpy(t)


RNG = np.random.default_rng(0)
IMG = RNG.random((2, 7, 9, 3)).astype("float32")
X = (RNG.normal(size=(64, 3)) * [1.0, 5.0, 0.1] + [0.0, 3.0, -2.0]).astype("float32")

# (name, glassnet layer factory, Keras factory (keras → layer), input)
NUMERIC = [
    ("rescaling", lambda: L.Rescaling(1 / 127.5, offset=-1),
     lambda k: k.layers.Rescaling(1 / 127.5, offset=-1), IMG * 255),
    ("rescaling_per_channel", lambda: L.Rescaling([1.0, 2.0, 3.0], offset=[0.5, 0.0, -1.0]),
     lambda k: k.layers.Rescaling([1.0, 2.0, 3.0], offset=[0.5, 0.0, -1.0]), IMG),
    ("resize_down", lambda: L.Resizing(4, 5), lambda k: k.layers.Resizing(4, 5), IMG),
    ("resize_up", lambda: L.Resizing(11, 13), lambda k: k.layers.Resizing(11, 13), IMG),
    ("resize_nearest", lambda: L.Resizing(4, 13, interpolation="nearest"),
     lambda k: k.layers.Resizing(4, 13, interpolation="nearest"), IMG),
    ("resize_crop_aspect", lambda: L.Resizing(5, 5, crop_to_aspect_ratio=True),
     lambda k: k.layers.Resizing(5, 5, crop_to_aspect_ratio=True), IMG),
    ("resize_pad_aspect", lambda: L.Resizing(5, 5, pad_to_aspect_ratio=True, fill_value=0.5),
     lambda k: k.layers.Resizing(5, 5, pad_to_aspect_ratio=True, fill_value=0.5), IMG),
    ("center_crop", lambda: L.CenterCrop(4, 5), lambda k: k.layers.CenterCrop(4, 5), IMG),
    ("center_crop_odd", lambda: L.CenterCrop(3, 3), lambda k: k.layers.CenterCrop(3, 3), IMG),
    ("center_crop_upsizes", lambda: L.CenterCrop(10, 4), lambda k: k.layers.CenterCrop(10, 4),
     IMG),
    ("normalization_fixed", lambda: L.Normalization(mean=[0.0, 3.0, -2.0],
                                                    variance=[1.0, 25.0, 0.01]),
     lambda k: k.layers.Normalization(mean=[0.0, 3.0, -2.0], variance=[1.0, 25.0, 0.01]), X),
    ("normalization_invert", lambda: L.Normalization(mean=2.0, variance=4.0, invert=True),
     lambda k: k.layers.Normalization(mean=2.0, variance=4.0, invert=True), X),
    ("discretization", lambda: L.Discretization(bin_boundaries=[-1.0, 0.0, 1.5]),
     lambda k: k.layers.Discretization(bin_boundaries=[-1.0, 0.0, 1.5]), X),
    ("discretization_one_hot",
     lambda: L.Discretization(bin_boundaries=[-1.0, 0.0, 1.5], output_mode="one_hot"),
     lambda k: k.layers.Discretization(bin_boundaries=[-1.0, 0.0, 1.5], output_mode="one_hot"),
     X[:, :1]),
    ("discretization_count",
     lambda: L.Discretization(bin_boundaries=[-1.0, 0.0, 1.5], output_mode="count"),
     lambda k: k.layers.Discretization(bin_boundaries=[-1.0, 0.0, 1.5], output_mode="count"),
     X),
]
IDS = np.array([[0, 1, 1], [3, 3, 2]])
for _mode in ("one_hot", "multi_hot", "count"):
    for _i, _v in enumerate((IDS, IDS[:, :1], IDS[:, 0])):
        NUMERIC.append((f"category_{_mode}_{_i}",
                        lambda m=_mode: L.CategoryEncoding(4, output_mode=m),
                        lambda k, m=_mode: k.layers.CategoryEncoding(4, output_mode=m), _v))


@pytest.mark.parametrize("name,make,kmake,x", NUMERIC, ids=[r[0] for r in NUMERIC])
def test_numeric_layers_match_keras(keras, name, make, kmake, x):
    y = make()(x).data
    ky = _np(keras, kmake(keras)(x))
    assert y.shape == ky.shape
    np.testing.assert_allclose(y, ky, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name,make,kmake,x", NUMERIC, ids=[r[0] for r in NUMERIC])
def test_numeric_layers_config_round_trip(name, make, kmake, x):
    layer = make()
    y = layer(x).data
    clone = L.get_layer_class(type(layer).__name__).from_config(layer.get_config())
    json.dumps(layer.get_config())  # JSON data only
    np.testing.assert_array_equal(clone(x).data, y)


def test_normalization_adapt_matches_keras(keras):
    n = L.Normalization()
    n.adapt(X)
    kn = keras.layers.Normalization()
    kn.adapt(X)
    np.testing.assert_allclose(n(X).data, _np(keras, kn(X)), rtol=1e-5, atol=1e-5)
    for a, b in zip(n.get_weights(), kn.get_weights()):  # mean, variance, count
        assert a.shape == tuple(b.shape)
    np.testing.assert_allclose(n.get_weights()[0], kn.get_weights()[0], rtol=1e-5, atol=1e-6)
    # batches (Keras's iterable adapt needs TensorFlow): the same statistics as one array
    nb = L.Normalization()
    nb.adapt([X[:20], X[20:45], X[45:]])
    np.testing.assert_allclose(nb.get_weights()[0], X.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(nb.get_weights()[1], X.var(0), rtol=1e-5)
    img = IMG * 10
    for axis in (None, -1, (1, 3)):
        n = L.Normalization(axis=axis)
        n.adapt(img)
        kn = keras.layers.Normalization(axis=axis)
        kn.adapt(img)
        np.testing.assert_allclose(n(img).data, _np(keras, kn(img)), rtol=1e-4, atol=1e-5)


def test_normalization_statistics_and_invert_round_trip():
    n = L.Normalization()
    n.adapt(X)
    y = n(X).data
    np.testing.assert_allclose(y.mean(0), 0.0, atol=1e-5)
    np.testing.assert_allclose(y.std(0), 1.0, atol=1e-4)
    inv = L.Normalization(mean=n.mean.numpy().ravel().tolist(),
                          variance=n.variance.numpy().ravel().tolist(),
                          invert=True)
    np.testing.assert_allclose(inv(y).data, X, rtol=1e-5, atol=1e-5)


def test_discretization_adapt_matches_keras(keras):
    for data in (RNG.normal(size=(1000,)).astype("float32"),
                 RNG.exponential(size=(37, 2)).astype("float32"),
                 [RNG.normal(size=(100,)).astype("float32") for _ in range(3)]):
        d = L.Discretization(num_bins=5)
        d.adapt(data)
        kd = keras.layers.Discretization(num_bins=5)
        kd.reset_state()  # Keras's adapt() wants TensorFlow; its update_state is the same
        for b in (data if isinstance(data, list) else [data]):
            kd.update_state(b)
        kd.finalize_state()
        np.testing.assert_allclose(d.bin_boundaries, kd.bin_boundaries, rtol=1e-6)


@pytest.mark.parametrize("make", [
    lambda: L.Rescaling(0.5, offset=1.0), lambda: L.Resizing(4, 6),
    lambda: L.Resizing(5, 5, crop_to_aspect_ratio=True),
    lambda: L.Resizing(5, 5, interpolation="nearest"), lambda: L.CenterCrop(3, 4),
    lambda: L.CenterCrop(9, 9)], ids=["rescale", "resize", "resize_crop", "resize_nearest",
                                      "crop", "crop_upsize"])
def test_differentiable_image_layers_gradcheck(make):
    layer = make()
    x = gn.tensor(RNG.random((1, 5, 6, 2)), dtype="float64", requires_grad=True)
    gn.gradcheck(lambda t: layer(t), x)


def test_normalization_gradient_is_one_over_std():
    n = L.Normalization(mean=[1.0, 2.0], variance=[4.0, 0.25])
    x = gn.tensor(np.ones((3, 2)), requires_grad=True)
    n(x).sum().backward()
    np.testing.assert_allclose(x.grad, [[0.5, 2.0]] * 3)


# ------------------------------------------------------------------ lookups, text
# expected values: the examples in Keras 3's documentation of each layer
VOCAB = ["a", "b", "c", "d"]
DATA = np.array([["a", "c", "d"], ["d", "z", "b"]])


def test_string_lookup_documented_examples():
    assert L.StringLookup(vocabulary=VOCAB)(DATA).data.tolist() == [[1, 3, 4], [4, 0, 2]]
    layer = L.StringLookup()
    layer.adapt(DATA)
    assert layer.get_vocabulary() == ["[UNK]", "d", "z", "c", "b", "a"]
    two = L.StringLookup(vocabulary=VOCAB, num_oov_indices=2)(DATA).data
    assert two[0].tolist() == [2, 4, 5] and two[1, 0] == 5 and two[1, 2] == 3
    assert two[1, 1] in (0, 1)
    oh = L.StringLookup(vocabulary=VOCAB, output_mode="one_hot")(np.array(VOCAB + ["z"]))
    np.testing.assert_array_equal(oh.data, np.eye(5)[[1, 2, 3, 4, 0]])
    mh = L.StringLookup(vocabulary=VOCAB, output_mode="multi_hot")(DATA)
    np.testing.assert_array_equal(mh.data, [[0, 1, 0, 1, 1], [1, 0, 1, 0, 1]])
    d4 = np.array([["a", "c", "d", "d"], ["d", "z", "b", "z"]])
    ct = L.StringLookup(vocabulary=VOCAB, output_mode="count")(d4)
    np.testing.assert_array_equal(ct.data, [[0, 1, 0, 1, 2], [2, 0, 1, 0, 1]])
    tf = L.StringLookup(vocabulary=VOCAB, output_mode="tf_idf",
                        idf_weights=[0.25, 0.75, 0.6, 0.4])(d4)
    np.testing.assert_allclose(tf.data, [[0, 0.25, 0, 0.6, 0.8], [1.0, 0, 0.75, 0, 0.4]])
    tf = L.StringLookup(vocabulary=["[UNK]"] + VOCAB, output_mode="tf_idf",
                        idf_weights=[0.9, 0.25, 0.75, 0.6, 0.4])(d4)
    np.testing.assert_allclose(tf.data, [[0, 0.25, 0, 0.6, 0.8], [1.8, 0, 0.75, 0, 0.4]])
    m = L.StringLookup(vocabulary=VOCAB, mask_token="")(np.array([["a", "c", "d"],
                                                                  ["d", "", "b"]]))
    assert m.data.tolist() == [[2, 4, 5], [5, 0, 3]]
    inv = L.StringLookup(vocabulary=VOCAB, invert=True)(np.array([[1, 3, 4], [4, 0, 2]]))
    assert inv.tolist() == [["a", "c", "d"], ["d", "[UNK]", "b"]]


def test_integer_lookup_documented_examples():
    vocab = [12, 36, 1138, 42]
    data = np.array([[12, 1138, 42], [42, 1000, 36]])
    assert L.IntegerLookup(vocabulary=vocab)(data).data.tolist() == [[1, 3, 4], [4, 0, 2]]
    layer = L.IntegerLookup()
    layer.adapt(data)
    assert layer.get_vocabulary() == [-1, 42, 1138, 1000, 36, 12]
    assert L.IntegerLookup(vocabulary=vocab, num_oov_indices=2)(data).data.tolist() == \
        [[2, 4, 5], [5, 0, 3]]  # 1000 % 2 == 0
    assert L.IntegerLookup(vocabulary=vocab, mask_token=0)(
        np.array([[12, 1138, 42], [42, 0, 36]])).data.tolist() == [[2, 4, 5], [5, 0, 3]]
    inv = L.IntegerLookup(vocabulary=vocab, invert=True)(np.array([[1, 3, 4], [4, 0, 2]]))
    assert inv.tolist() == [[12, 1138, 42], [42, -1, 36]]
    # ids that arrive as floats (a model's input pipeline) look up the same
    assert L.IntegerLookup(vocabulary=vocab)(data.astype("float32")).data.tolist() == \
        [[1, 3, 4], [4, 0, 2]]


def test_text_vectorization_documented_examples():
    vec = L.TextVectorization(max_tokens=5000, output_mode="int", output_sequence_length=4)
    vec.adapt(["foo bar", "bar baz", "baz bada boom"])
    assert vec(np.array([["foo qux bar"], ["qux baz"]])).data.tolist() == \
        [[4, 1, 3, 0], [1, 2, 0, 0]]
    vec = L.TextVectorization(max_tokens=5000, output_mode="int", output_sequence_length=4,
                              vocabulary=["earth", "wind", "and", "fire"])
    assert vec(np.array([["earth wind and also fire"]])).data.tolist() == [[2, 3, 4, 1]]
    assert vec.get_vocabulary() == ["", "[UNK]", "earth", "wind", "and", "fire"]


def test_text_vectorization_modes_standardize_split_ngrams():
    texts = ["The cat sat.", "The dog, the CAT!", "birds"]
    vec = L.TextVectorization(output_mode="multi_hot")
    vec.adapt(texts)
    assert vec.get_vocabulary() == ["[UNK]", "the", "cat", "sat", "dog", "birds"]
    np.testing.assert_array_equal(vec(["the bird and the cat"]).data, [[1, 1, 1, 0, 0, 0]])
    cnt = L.TextVectorization(output_mode="count", vocabulary=vec.get_vocabulary())
    np.testing.assert_array_equal(cnt(["the bird and the cat"]).data, [[2, 2, 1, 0, 0, 0]])
    tfidf = L.TextVectorization(output_mode="tf_idf")
    tfidf.adapt(texts)
    idf = np.log(1 + 3 / (1 + np.array([2, 2, 1, 1, 1])))  # the, cat, sat, dog, birds
    np.testing.assert_allclose(tfidf.get_config()["idf_weights"],
                               np.r_[idf.mean(), idf], rtol=1e-12)
    np.testing.assert_allclose(tfidf(["the the zebra"]).data[0],
                               [idf.mean(), 2 * idf[0], 0, 0, 0, 0], rtol=1e-6)
    # truncation and padding to output_sequence_length, the batch's longest otherwise
    iv = L.TextVectorization(vocabulary=["a", "b"], output_sequence_length=2)
    assert iv(["a b a b", "b"]).data.tolist() == [[2, 3], [3, 0]]
    iv = L.TextVectorization(vocabulary=["a", "b"])
    assert iv(["a b a", "b"]).data.tolist() == [[2, 3, 2], [3, 0, 0]]
    assert L.TextVectorization(standardize=None, vocabulary=["A"])(["A a"]).data.tolist() == \
        [[2, 1]]
    ch = L.TextVectorization(split="character", vocabulary=["a", "b"])
    assert ch(["ab c"]).data.tolist() == [[2, 3, 1, 1]]
    ng = L.TextVectorization(ngrams=2, output_mode="multi_hot")
    ng.adapt(["a b c"])
    assert sorted(ng.get_vocabulary()[1:]) == ["a", "a b", "b", "b c", "c"]


def test_hashing_gives_keras_documented_buckets():
    # the expected values are those of Keras 3's own hashing tests (FarmHash, SipHash)
    abc = [["A"], ["B"], ["C"], ["D"], ["E"]]
    names = np.array([["omar"], ["stringer"], ["marlo"], ["wire"], ["skywalker"]])
    ints = np.array([[0], [1], [2], [3], [4]])

    def h(x, **kw):
        return L.Hashing(**kw)(x).data.ravel().tolist()

    assert h(abc, num_bins=3) == [1, 0, 1, 1, 2]
    assert h([["A"], ["B"], [""], ["C"], ["D"]], num_bins=3, mask_value="") == [1, 1, 0, 2, 2]
    assert h(abc, num_bins=3, salt=[133, 137]) == [1, 2, 1, 0, 2]
    assert h(abc, num_bins=3, salt=133) == [0, 0, 2, 1, 0]
    assert h(np.array([0, 1, 2, 3, 4]), num_bins=3) == [1, 0, 1, 0, 2]
    assert h(abc, num_bins=1) == [0] * 5
    assert h(names, num_bins=2) == [0, 0, 1, 0, 0]
    assert h(names, num_bins=3, mask_value="") == [1, 1, 2, 1, 1]
    assert h(names, num_bins=3, mask_value="omar") == [0, 1, 2, 1, 1]
    assert h(ints, num_bins=3) == [1, 0, 1, 0, 2]
    assert h(ints.astype("float32"), num_bins=3) == [1, 0, 1, 0, 2]  # ids through a model
    assert h(names, num_bins=2, salt=[133, 137]) == [0, 1, 0, 1, 0]
    assert h(names, num_bins=2, salt=[211, 137]) == [1, 0, 1, 0, 1]
    assert h(ints, num_bins=3, salt=[133, 137]) == [1, 1, 2, 0, 1]
    assert L.Hashing(num_bins=4, output_mode="one_hot")(np.array(["a"])).shape == (1, 4)
    with pytest.raises(ValueError, match="hh.*salt"):
        L.Hashing(num_bins=2, salt="string", name="hh")


def test_hashes_match_reference_implementations():
    from glassnet.layers._hashes import fingerprint64, siphash24

    # SipHash-2-4's reference vector (Aumasson & Bernstein): key 00..0f, message 00..0e
    k0 = int.from_bytes(bytes(range(8)), "little")
    k1 = int.from_bytes(bytes(range(8, 16)), "little")
    assert siphash24(k0, k1, bytes(range(15))) == 0xA129CA6149BE45E5
    farmhash = pytest.importorskip("farmhash")  # the `cityhash` package's C++ FarmHash
    rng = np.random.default_rng(0)
    for n in [*range(0, 130), 191, 192, 193, 1000, 4097]:  # every length class and loop
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        assert fingerprint64(data) == farmhash.Fingerprint64(data), n


def test_string_lookup_spreads_oov_strings_like_keras():
    from glassnet.layers._hashes import fingerprint64

    out = L.StringLookup(vocabulary=VOCAB, num_oov_indices=3)(np.array(["zz", "q", "a"]))
    assert out.data.tolist() == [fingerprint64(b"zz") % 3, fingerprint64(b"q") % 3, 3]


@pytest.mark.parametrize("make", [
    lambda: L.StringLookup(vocabulary=VOCAB, mask_token="", num_oov_indices=2),
    lambda: L.StringLookup(vocabulary=VOCAB, output_mode="tf_idf",
                           idf_weights=[0.25, 0.75, 0.6, 0.4]),
    lambda: L.TextVectorization(vocabulary=VOCAB, output_sequence_length=5),
    lambda: L.TextVectorization(vocabulary=VOCAB, output_mode="tf_idf",
                                idf_weights=[0.1, 0.2, 0.3, 0.4], ngrams=2),
    lambda: L.Hashing(num_bins=7, salt=[3, 4], output_mode="multi_hot"),
], ids=["string_lookup", "string_lookup_tfidf", "text_vec", "text_vec_tfidf", "hashing"])
def test_text_layers_config_is_json_data_and_round_trips(make):
    layer = make()
    x = np.array([["a c d zz"], ["d b"]]) if "Text" in type(layer).__name__ else DATA
    y = layer(x).data
    cfg = json.loads(json.dumps(layer.get_config()))
    clone = L.get_layer_class(type(layer).__name__).from_config(cfg)
    np.testing.assert_array_equal(clone(x).data, y)


def test_adapted_text_vectorization_round_trips_its_vocabulary():
    vec = L.TextVectorization(max_tokens=6, output_mode="tf_idf")
    vec.adapt(["a a b c", "b c d e f", "a"])
    assert len(vec.get_vocabulary()) == 6
    clone = L.TextVectorization.from_config(json.loads(json.dumps(vec.get_config())))
    assert clone.get_vocabulary() == vec.get_vocabulary()
    np.testing.assert_array_equal(clone(["a b zz"]).data, vec(["a b zz"]).data)


# ------------------------------------------------------------------ inside saved models
def _members(path):
    with zipfile.ZipFile(path) as z:
        return z.namelist(), json.loads(z.read("config.json"))


def test_normalization_regression_model_saves_its_statistics(tmp_path):
    gn.set_seed(0)
    x = X * 10
    y = (x @ np.array([0.5, -0.2, 3.0], "float32") + 1.0)[:, None]
    norm = L.Normalization()
    norm.adapt(x)
    model = gn.models.Sequential([gn.layers.Input((3,)), norm, L.Dense(1)])
    model.compile(optimizer=gn.optimizers.Adam(0.5), loss="mse")
    hist = model.fit(x, y, epochs=80, batch_size=16, verbose=0)
    assert hist.history["loss"][-1] < 1e-3 * hist.history["loss"][0]
    np.testing.assert_allclose(norm.get_weights()[0], x.mean(0), rtol=1e-5)  # not trained
    p = tmp_path / "reg.glassnet"
    model.save(p)
    names, cfg = _members(p)
    assert set(names) <= {"config.json", "weights.npz", "optimizer.npz"}
    back = gn.models.load_model(p)
    np.testing.assert_allclose(back.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-5)
    np.testing.assert_allclose(back.layers[0].get_weights()[1], x.var(0), rtol=1e-4)


def test_lookup_and_encoding_layers_in_a_saved_model(tmp_path):
    codes = np.array([[1990], [2001], [1990], [2020], [1985], [2001]])
    lookup = L.IntegerLookup(output_mode="int")
    lookup.adapt(codes)
    inp = gn.Input((1,), dtype="int64")
    h = L.Embedding(lookup.vocabulary_size(), 2)(lookup(inp))
    h2 = L.CategoryEncoding(lookup.vocabulary_size(), output_mode="one_hot")(lookup(inp))
    disc = L.Discretization(num_bins=3)
    disc.adapt(codes.astype("float32"))
    h3 = L.CategoryEncoding(3, output_mode="one_hot")(disc(inp))
    out = L.Dense(1)(L.concatenate([L.Flatten()(h), h2, h3]))
    model = gn.Model(inp, out)
    p = tmp_path / "lookup.glassnet"
    model.save(p)
    _, cfg = _members(p)
    text = json.dumps(cfg)
    assert "1990" in text and "bin_boundaries" in text  # vocabulary and bins as data
    back = gn.models.load_model(p)
    np.testing.assert_allclose(back.predict(codes, verbose=0), model.predict(codes, verbose=0),
                               atol=1e-6)


def test_string_layers_refuse_code_and_name_the_layer():
    with pytest.raises(ValueError, match="tv.*code"):
        L.TextVectorization(standardize=lambda s: s, name="tv")
    with pytest.raises(ValueError, match="sl.*repeats"):
        L.StringLookup(vocabulary=["a", "a"], name="sl")
    with pytest.raises(ValueError, match="sl2.*max_tokens"):
        L.StringLookup(vocabulary=["a", "b", "c"], max_tokens=3, name="sl2")
    with pytest.raises(ValueError, match="n1.*mean and variance"):
        L.Normalization(mean=1.0, name="n1")
    with pytest.raises(ValueError, match="cat.*output_mode"):
        L.CategoryEncoding(3, output_mode="int", name="cat")
    with pytest.raises(ValueError, match="d1.*adapt"):
        L.Discretization(num_bins=3, name="d1")(np.ones((1, 1)))


# a small corpus kept in the repository (here): short reviews, 1 = positive
_REVIEWS = [
    ("A wonderful, moving film with a great cast.", 1), ("Great acting and a lovely story!", 1),
    ("I loved every minute; simply wonderful.", 1), ("Brilliant direction, great music.", 1),
    ("A lovely, funny and brilliant comedy.", 1), ("Loved it. Great fun for everyone.", 1),
    ("Wonderful photography and a moving ending.", 1), ("The cast is brilliant, loved it!", 1),
    ("Funny, lovely and great to watch.", 1), ("A moving story, wonderful acting.", 1),
    ("Awful plot and terrible acting.", 0), ("Boring, dull and far too long.", 0),
    ("I hated it; a terrible waste of time.", 0), ("Dull story, awful music, boring cast.", 0),
    ("Terrible! Hated every boring minute.", 0), ("An awful, dull film.", 0),
    ("Boring dialogue and a terrible ending.", 0), ("Hated the cast, awful direction.", 0),
    ("A dull, boring waste.", 0), ("Terrible photography and awful fun-free jokes.", 0),
]


def test_text_vectorization_classifier_on_a_small_corpus(tmp_path):
    gn.set_seed(0)
    texts = np.array([t for t, _ in _REVIEWS])
    labels = np.array([y for _, y in _REVIEWS])
    vec = L.TextVectorization(max_tokens=60, output_mode="int", output_sequence_length=10)
    vec.adapt(texts)
    ids = vec(texts).data
    assert ids.shape == (20, 10) and ids.max() < 60
    model = gn.models.Sequential([gn.layers.Input((10,)), L.Embedding(60, 8),
                                  L.GlobalAveragePooling1D(), L.Dense(1, activation="sigmoid")])
    model.compile(optimizer=gn.optimizers.Adam(0.05), loss="binary_crossentropy",
                  metrics=["accuracy"])
    model.fit(ids, labels, epochs=60, batch_size=4, verbose=0)
    unseen = np.array(["A great and wonderful comedy!", "Awful and boring, I hated it."])
    p = model.predict(vec(unseen).data, verbose=0).ravel()
    assert p[0] > 0.5 > p[1]
    # the vectorizer's vocabulary travels as JSON data with the model's other parts
    clone = L.TextVectorization.from_config(json.loads(json.dumps(vec.get_config())))
    np.testing.assert_array_equal(clone(unseen).data, vec(unseen).data)
    multi = L.TextVectorization(output_mode="tf_idf", vocabulary=vec.get_vocabulary()[2:],
                                idf_weights=np.ones(len(vec.get_vocabulary()) - 2))
    assert multi(unseen).shape == (2, len(vec.get_vocabulary()) - 1)
