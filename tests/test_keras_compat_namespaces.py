"""Keras 3 namespaces a tutorial touches (issue keras-compat, items 9 and 10): keras.random,
keras.backend.clear_session, keras.utils data helpers, keras.saving's registry,
keras.optimizers.schedules, dir(keras) and the PyTorch-backend custom-loop names."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

import glassnet as gn
from glassnet import layers as L


# ------------------------------------------------------------------ keras.random
def test_random_int_seed_is_reproducible_and_seed_generator_advances():
    a = gn.random.normal((3, 4), seed=7)
    np.testing.assert_array_equal(a.data, gn.random.normal((3, 4), seed=7).data)
    np.testing.assert_array_equal(a.data, np.random.default_rng(7).normal(0, 1, (3, 4))
                                  .astype("float32"))
    gen = gn.random.SeedGenerator(3)
    u1, u2 = gn.random.uniform((5,), seed=gen), gn.random.uniform((5,), seed=gen)
    assert not np.array_equal(u1.data, u2.data)
    u = gn.random.uniform((1000,), minval=2, maxval=3, seed=1).data
    assert u.dtype == np.float32 and 2 <= u.min() and u.max() < 3
    r = gn.random.randint((1000,), 0, 5, seed=1).data
    assert r.dtype == np.int32 and set(np.unique(r)) == {0, 1, 2, 3, 4}
    t = gn.random.truncated_normal((2000,), seed=2).data
    assert np.abs(t).max() <= 2
    gn.set_seed(5)
    g1 = gn.random.normal((2,)).data
    gn.set_seed(5)
    np.testing.assert_array_equal(g1, gn.random.normal((2,)).data)  # global seed


def test_random_shuffle_dropout_categorical():
    x = np.arange(10.0)
    s = gn.random.shuffle(x, seed=0).data
    assert sorted(s) == list(x) and not np.array_equal(s, x)
    d = gn.random.dropout(np.ones((100, 100), "float32"), 0.25, seed=0).data
    assert set(np.unique(d)) == {0.0, np.float32(1 / 0.75)}
    assert abs((d == 0).mean() - 0.25) < 0.02
    logits = np.log(np.array([[0.7, 0.2, 0.1]]))
    c = gn.random.categorical(logits, 20000, seed=0).data
    assert c.shape == (1, 20000)
    np.testing.assert_allclose(np.bincount(c[0], minlength=3) / 20000, [0.7, 0.2, 0.1],
                               atol=0.01)
    with pytest.raises(ValueError, match="seed"):
        gn.random.normal((2,), seed="x")


# ------------------------------------------------------------------ keras.backend
def test_clear_session_restarts_layer_names():
    gn.backend.clear_session()
    assert L.Dense(2).name == "dense" and L.Dense(2).name == "dense_1"
    gn.backend.clear_session()
    assert L.Dense(2).name == "dense"


# ------------------------------------------------------------------ keras.utils
def test_timeseries_dataset_from_array_as_keras_documents_it():
    # Keras's docstring example: data [0..99], windows of 10 steps, target = data[i + 10]
    data = np.arange(100)
    ds = gn.utils.timeseries_dataset_from_array(data[:-10], data[10:], sequence_length=10,
                                                batch_size=16)
    x, y = next(iter(ds))
    np.testing.assert_array_equal(x[0], np.arange(10))
    np.testing.assert_array_equal(y[:3], [10, 11, 12])
    assert sum(len(b[0]) for b in ds) == 81 and len(ds) == 6
    ds2 = gn.utils.timeseries_dataset_from_array(data, None, sequence_length=5,
                                                 sequence_stride=3, sampling_rate=2,
                                                 batch_size=None)
    w = next(iter(ds2))
    np.testing.assert_array_equal(w[1], [3, 5, 7, 9, 11])
    assert len(w) == len(range(0, 100 - 8, 3))


def test_timeseries_dataset_matches_real_keras():
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras", reason="real Keras 3 not installed")
    data = np.arange(60, dtype="float32").reshape(30, 2)
    kw = dict(sequence_length=4, sequence_stride=2, sampling_rate=2, batch_size=5)
    ours = [b for b in gn.utils.timeseries_dataset_from_array(data, data[:, 0], **kw)]
    try:
        theirs = list(keras.utils.timeseries_dataset_from_array(data, data[:, 0], **kw))
    except ImportError:
        pytest.skip("Keras's timeseries_dataset_from_array needs TensorFlow (not installed)")
    assert len(ours) == len(theirs)
    for (xo, yo), (xt, yt) in zip(ours, theirs):
        np.testing.assert_array_equal(xo, np.asarray(xt))
        np.testing.assert_array_equal(yo, np.asarray(yt))


def test_image_dataset_from_directory(tmp_path, capsys):
    pil = pytest.importorskip("PIL.Image", reason="Pillow not installed")
    for c, value in (("cats", 10), ("dogs", 200)):
        (tmp_path / c).mkdir()
        for i in range(5):
            pil.fromarray(np.full((6, 8, 3), value, np.uint8)).save(tmp_path / c / f"{i}.png")
    train, val = gn.utils.image_dataset_from_directory(
        tmp_path, image_size=(4, 4), batch_size=3, validation_split=0.2, subset="both", seed=1)
    out = capsys.readouterr().out
    assert "Found 10 files belonging to 2 classes." in out
    assert "Using 8 files for training." in out and "Using 2 files for validation." in out
    assert train.class_names == ["cats", "dogs"]
    xs, ys = zip(*train)
    x, y = np.concatenate(xs), np.concatenate(ys)
    assert x.shape == (8, 4, 4, 3) and x.dtype == np.float32
    np.testing.assert_array_equal(x[:, 0, 0, 0], np.where(y == 0, 10.0, 200.0))
    assert sum(len(b[0]) for b in val) == 2


def test_image_dataset_from_directory_with_a_labels_list_one_hot(tmp_path, capsys):
    pil = pytest.importorskip("PIL.Image", reason="Pillow not installed")
    for i, value in enumerate((0, 50, 100, 150)):  # files sort as 0.png, 1.png, ...
        pil.fromarray(np.full((4, 4), value, np.uint8)).save(tmp_path / f"{i}.png")
    ds = gn.utils.image_dataset_from_directory(
        tmp_path, labels=[2, 0, 1, 2], label_mode="categorical", color_mode="grayscale",
        image_size=(4, 4), batch_size=4, shuffle=False)
    # Keras 3 (torch backend, before it asks for TensorFlow) prints the same count
    assert "Found 4 files belonging to 3 classes." in capsys.readouterr().out
    x, y = next(iter(ds))
    np.testing.assert_array_equal(y, np.eye(3, dtype="f4")[[2, 0, 1, 2]])  # as many
    np.testing.assert_array_equal(x[:, 0, 0, 0], [0, 50, 100, 150])  # as the labels span


def test_image_dataset_from_directory_interpolation_and_aspect_crop(tmp_path):
    pil = pytest.importorskip("PIL.Image", reason="Pillow not installed")
    img = np.zeros((4, 8), np.uint8)
    img[:, 2:6] = 200  # a centred 4x4 square of 200 in a 4x8 image
    img[0, 2] = 50
    pil.fromarray(img).save(tmp_path / "0.png")
    kw = dict(labels=None, color_mode="grayscale", image_size=(2, 2), batch_size=1,
              shuffle=False, verbose=False)
    crop = next(iter(gn.utils.image_dataset_from_directory(  # labels=None: images only
        tmp_path, crop_to_aspect_ratio=True, interpolation="nearest", **kw)))
    ref = np.asarray(pil.fromarray(img[:, 2:6]).resize((2, 2), pil.Resampling.NEAREST))
    np.testing.assert_array_equal(crop.reshape(2, 2), ref)  # the square only: no black border
    squeezed = next(iter(gn.utils.image_dataset_from_directory(
        tmp_path, interpolation="area", **kw)))
    ref = np.asarray(pil.fromarray(img).resize((2, 2), pil.Resampling.BOX))
    np.testing.assert_array_equal(squeezed.reshape(2, 2), ref)  # the whole image, area-averaged
    with pytest.raises(ValueError, match="interpolation must be one of"):
        gn.utils.image_dataset_from_directory(tmp_path, interpolation="cubic", **kw)


@pytest.fixture
def local_http(tmp_path):
    """A throwaway HTTP server on localhost serving ``tmp_path/www`` (no network needed)."""
    import functools
    import http.server
    import threading

    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_get_file_checks_the_hash_and_uses_the_cache(tmp_path, local_http):
    pytest.importorskip("pooch", reason="pooch not installed")
    root, url = local_http
    (root / "src.csv").write_bytes(b"a,b\n1,2\n")
    good = hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    cache = tmp_path / "cache"
    path = gn.utils.get_file("d.csv", f"{url}/src.csv", file_hash=good, cache_dir=cache)
    assert open(path, "rb").read() == b"a,b\n1,2\n"
    (root / "src.csv").write_bytes(b"changed")  # cached: not downloaded again, still checked
    assert gn.utils.get_file("d.csv", f"{url}/src.csv", file_hash=good, cache_dir=cache) == path
    with pytest.raises(ValueError, match="hash"):  # a download that does not match is refused
        gn.utils.get_file("e.csv", f"{url}/src.csv", file_hash=good, cache_dir=cache)
    assert not (cache / "datasets" / "e.csv").exists()
    open(path, "ab").write(b"tampered")  # a cached file that no longer matches is refused
    with pytest.raises(ValueError, match="does not match the expected hash"):
        gn.utils.get_file("d.csv", f"{url}/src.csv", file_hash=good, cache_dir=cache)


def test_pydataset_in_a_custom_loop_and_its_hooks():
    class Batches(gn.utils.PyDataset):
        def __init__(self):
            super().__init__(workers=2)

        def __len__(self):
            return 3

        def __getitem__(self, i):
            return np.full((2, 1), i), np.full((2,), i)

    ds = Batches()
    assert ds.num_batches == 3 and [int(x[0, 0]) for x, _ in ds] == [0, 1, 2]
    assert gn.utils.Sequence is gn.utils.PyDataset


# ------------------------------------------------------------------ keras.saving
def test_register_keras_serializable_registry():
    @gn.saving.register_keras_serializable(package="kc_test")
    def my_loss(y_true, y_pred):
        return gn.ops.mean(gn.ops.square(y_true - y_pred))

    assert gn.saving.get_registered_name(my_loss) == "kc_test>my_loss"
    assert gn.saving.get_custom_objects()["kc_test>my_loss"] is my_loss
    assert gn.saving.get_registered_object("kc_test>my_loss") is my_loss
    assert gn.saving.get_registered_object("nothing_here") is None
    with gn.saving.custom_object_scope({"other": len}):
        assert gn.saving.get_registered_object("other") is len
    assert gn.saving.get_registered_object("other") is None
    with pytest.raises(ValueError, match="already been registered"):
        gn.saving.register_keras_serializable(package="kc_test", name="my_loss")(len)

    with pytest.raises(ValueError, match="get_config"):
        gn.saving.register_keras_serializable(package="kc_test")(type("NoConfig", (), {}))


def test_saving_namespace_save_and_load(tmp_path):
    m = gn.Sequential([gn.Input(shape=(3,)), L.Dense(2)])
    gn.saving.save_model(m, tmp_path / "m.glassnet")
    m2 = gn.saving.load_model(tmp_path / "m.glassnet")
    x = np.ones((2, 3), "float32")
    np.testing.assert_array_equal(m.predict(x, verbose=0), m2.predict(x, verbose=0))


# ------------------------------------------------------------------ schedules, dir
def test_optimizers_schedules_namespace():
    lr = gn.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    assert gn.optimizers.schedules is gn.schedules
    assert lr(10) == pytest.approx(0.05)


def test_dir_glassnet_shows_keras_names_and_no_internals():
    d = dir(gn)
    for name in ("Input", "Sequential", "Model", "Layer", "layers", "models", "losses",
                 "metrics", "optimizers", "callbacks", "ops", "random", "utils", "saving",
                 "backend", "initializers", "regularizers", "activations", "datasets",
                 "constraints", "InputSpec", "version"):
        assert name in d, name
    for internal in ("importlib", "annotations", "_LAZY", "_LAZY_NAMES", "_m",
                     "graph_module"):
        assert internal not in d, internal
    for name in d:
        getattr(gn, name)  # everything listed resolves
    assert gn.KerasTensor is gn.models.SymbolicTensor
    assert gn.InputSpec is gn.layers.InputSpec  # keras.InputSpec
    assert gn.version() == gn.__version__  # keras.version()
    with pytest.raises(AttributeError):
        gn.graph_module  # noqa: B018 - the dead lazy entry is gone


# ------------------------------------------------------------------ item 10: custom loop
def test_zero_grad_and_optimizer_apply_as_the_pytorch_backend_guide():
    gn.set_seed(0)
    model = gn.Sequential([gn.Input(shape=(3,)), L.Dense(4, activation="relu"), L.Dense(2)])
    opt = gn.optimizers.SGD(learning_rate=0.1)
    loss_fn = gn.losses.SparseCategoricalCrossentropy(from_logits=True)
    x = np.random.default_rng(0).standard_normal((8, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    before = [w.copy() for w in model.get_weights()]
    logits = model(x)
    loss = loss_fn(y, logits)
    model.zero_grad()
    loss.backward()
    ws = list(model.trainable_weights)
    grads = [w.grad for w in ws]
    assert all(g is not None for g in grads)
    expect = [b - 0.1 * g for b, g in zip(before, grads)]
    opt.apply(grads, ws)
    for w, e in zip(model.get_weights(), expect):
        np.testing.assert_allclose(w, e, rtol=1e-6)
    model.zero_grad()
    assert all(w.grad is None for w in model.weights)
    with pytest.raises(ValueError, match="trainable_variables"):
        opt.apply(grads)
    with pytest.raises(ValueError, match="2 gradients for 4 variables"):
        opt.apply(grads[:2], ws)


def test_variable_value_grad_name():
    # keras.io writes `[v.value.grad for v in trainable_weights]`
    w = L.Dense(2)
    w.build((None, 3))
    assert w.kernel.value is w.kernel
    out = w(np.ones((4, 3), np.float32))
    out.sum().backward()
    grads = [v.value.grad for v in w.trainable_weights]
    np.testing.assert_allclose(grads[0], np.full((3, 2), 4.0))
    np.testing.assert_allclose(grads[1], np.full(2, 4.0))


# ------------------------------------------------------------------ the rest of keras.utils
def test_utils_registry_names_are_the_saving_ones():
    for name in ("register_keras_serializable", "get_custom_objects", "get_registered_name",
                 "get_registered_object", "custom_object_scope", "CustomObjectScope"):
        assert getattr(gn.utils, name) is getattr(gn.saving, name)
    assert gn.utils.clear_session is gn.backend.clear_session


def test_serialize_and_deserialize_keras_object_without_imports():
    @gn.saving.register_keras_serializable(package="kc_ser")
    class Scale(L.Layer):
        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, x):
            return x * self.factor

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    cfg = gn.utils.serialize_keras_object(Scale(3.0, name="s"))
    assert cfg["registered_name"] == "kc_ser>Scale"
    back = gn.utils.deserialize_keras_object(cfg)
    assert isinstance(back, Scale) and back.factor == 3.0 and back.name == "s"
    dense = gn.utils.deserialize_keras_object(gn.utils.serialize_keras_object(L.Dense(3)))
    assert isinstance(dense, L.Dense) and dense.units == 3
    with pytest.raises(ValueError, match="unknown class"):
        gn.utils.deserialize_keras_object({"class_name": "os.system", "config": {}})


def test_pack_unpack_and_is_keras_tensor():
    u = gn.utils.unpack_x_y_sample_weight
    assert u((1, 2)) == (1, 2, None) and u((1,)) == (1, None, None) and u(5) == (5, None, None)
    assert u(gn.utils.pack_x_y_sample_weight(1, 2, 3)) == (1, 2, 3)
    with pytest.raises(ValueError, match="4 items"):
        u((1, 2, 3, 4))
    inp = gn.Input(shape=(2,))
    assert gn.utils.is_keras_tensor(inp) and gn.utils.is_keras_tensor(L.Dense(1)(inp))
    assert not gn.utils.is_keras_tensor(np.ones(2))
    assert gn.utils.standardize_dtype(np.float64) == "float64"


def test_progbar_prints_keras_style(capsys):
    bar = gn.utils.Progbar(4, verbose=1)
    for i in range(4):
        bar.update(i + 1, values=[("loss", float(i))])
    out = capsys.readouterr().out
    assert "4/4 [====================]" in out and "loss: 1.5000" in out
    gn.utils.disable_interactive_logging()
    try:
        gn.utils.Progbar(2).update(2, values=[("loss", 1.0)])
        assert capsys.readouterr().out == ""
    finally:
        gn.utils.enable_interactive_logging()


def test_image_array_helpers_round_trip(tmp_path):
    pytest.importorskip("PIL.Image", reason="Pillow not installed")
    a = np.zeros((4, 6, 3), "float32")
    a[1, 2] = [255, 128, 0]
    gn.utils.save_img(tmp_path / "a.png", a, scale=False)
    img = gn.utils.load_img(tmp_path / "a.png")
    back = gn.utils.img_to_array(img)
    assert back.shape == (4, 6, 3) and back.dtype == np.float32
    np.testing.assert_array_equal(back, a)
    g = gn.utils.img_to_array(gn.utils.load_img(tmp_path / "a.png", color_mode="grayscale",
                                                target_size=(2, 3)))
    assert g.shape == (2, 3, 1)


def test_get_source_inputs_walks_the_graph_as_keras():
    """keras.utils.get_source_inputs: the Inputs a graph tensor comes from, once each, in
    the order Keras's depth-first walk reaches them; a non-graph value comes back."""
    a, b, c = gn.Input((2,)), gn.Input((2,)), gn.Input((2,))
    h = L.Dense(2)(a)
    s = L.Add()([h, b])
    assert gn.utils.get_source_inputs(s) == [a, b]
    assert gn.utils.get_source_inputs(L.Add()([b, h])) == [b, a]
    both = L.Concatenate()([L.Add()([s, c]), L.Multiply()([a, c])])
    assert gn.utils.get_source_inputs(both) == [a, b, c]
    assert gn.utils.get_source_inputs(a) == [a]
    x = np.ones(3)
    assert gn.utils.get_source_inputs(x) is x
    try:
        import os

        os.environ.setdefault("KERAS_BACKEND", "torch")
        import keras
    except ImportError:
        return
    ka, kb, kc = keras.Input((2,)), keras.Input((2,)), keras.Input((2,))
    ks = keras.layers.Add()([keras.layers.Dense(2)(ka), kb])
    kboth = keras.layers.Concatenate()([keras.layers.Add()([ks, kc]),
                                        keras.layers.Multiply()([ka, kc])])
    assert keras.utils.get_source_inputs(kboth) == [ka, kb, kc]


def test_config_as_keras_utils_config():
    """keras.utils.Config: attribute and item access, dict views, JSON, freezing."""
    c = gn.utils.Config(learning_rate=0.1, momentum=0.9)
    c.use_ema = True
    c["seed"] = 123
    assert c.seed == 123 and c["learning_rate"] == 0.1 and c.get("nope", 5) == 5
    assert list(c) == ["learning_rate", "momentum", "seed", "use_ema"] and len(c) == 4
    assert c.as_dict() == {"learning_rate": 0.1, "momentum": 0.9, "use_ema": True,
                           "seed": 123}
    assert json_loads(c.to_json())["momentum"] == 0.9
    with pytest.raises(AttributeError, match="Did you mean 'momentum'"):
        c.momentun  # noqa: B018
    c.freeze()
    assert c.frozen
    for change in (lambda: setattr(c, "x", 1), lambda: c.__setitem__("x", 1),
                   lambda: c.pop("seed"), lambda: c.update(x=1),
                   lambda: c.__delitem__("seed")):
        with pytest.raises(ValueError, match="frozen"):
            change()
    c.unfreeze()
    c.x = 1
    del c["x"]
    assert "x" not in c and c.pop("seed") == 123


def json_loads(s):
    import json

    return json.loads(s)
