"""Keras 3's saving hooks in .keras files: a layer's files of its own (save_assets /
load_assets, under assets/<layer path>/ as Keras stores them) and a build that needs more
than a shape (get_build_config / build_from_config); both ways with real Keras where it is
installed, and unsafe asset names refused."""

from __future__ import annotations

import importlib.util
import io
import os
import zipfile

import numpy as np
import pytest

import glassnet as gn
from glassnet.models.saving import ModelFileError

HAS_KERAS = importlib.util.find_spec("keras") is not None


def _classes(lib, pkg):
    """The guide's two layers, registered under ``pkg`` in library ``lib``."""

    @lib.saving.register_keras_serializable(package=pkg)
    class WithAssets(lib.layers.Dense):
        def __init__(self, vocab=None, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.vocab = vocab

        def save_assets(self, inner_path):
            with open(os.path.join(inner_path, "vocabulary.txt"), "w") as f:
                f.write(self.vocab)

        def load_assets(self, inner_path):
            with open(os.path.join(inner_path, "vocabulary.txt")) as f:
                self.vocab = f.read().replace("<unk>", "little")

    @lib.saving.register_keras_serializable(package=pkg)
    class WithBuild(lib.layers.Layer):
        def __init__(self, units=32, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def call(self, inputs):
            return lib.ops.matmul(inputs, self.w) + self.b

        def get_config(self):
            return dict(units=self.units, **super().get_config())

        def build(self, input_shape, layer_init):
            super().build(input_shape)
            self._input_shape = input_shape
            self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                     initializer=layer_init, trainable=True)
            self.b = self.add_weight(shape=(self.units,), initializer=layer_init,
                                     trainable=True)
            self.layer_init = layer_init

        def get_build_config(self):
            return {"layer_init": self.layer_init, "input_shape": self._input_shape}

        def build_from_config(self, config):
            self.build(config["input_shape"], config["layer_init"])

    return WithAssets, WithBuild


def _models(lib, pkg):
    WithAssets, WithBuild = _classes(lib, pkg)
    a = lib.Sequential([WithAssets(vocab="Mary had a <unk> lamb.", units=3)])
    a(np.ones((2, 4), "float32"))
    layer = WithBuild(units=5)
    layer.build(input_shape=(4,), layer_init="random_normal")
    b = lib.Sequential([layer, lib.layers.Dense(1, activation="sigmoid")])
    b(np.ones((2, 4), "float32"))
    return a, b


def test_assets_and_build_config_round_trip(tmp_path):
    a, b = _models(gn, "hooks_gn")
    a.save(tmp_path / "a.keras")
    b.save(tmp_path / "b.keras")
    names = zipfile.ZipFile(tmp_path / "a.keras").namelist()
    assert any(n.startswith("assets/layers/") and n.endswith("vocabulary.txt") for n in names)
    ra = gn.models.load_model(tmp_path / "a.keras")
    assert ra.layers[0].vocab == "Mary had a little lamb."
    rb = gn.models.load_model(tmp_path / "b.keras")
    assert rb.layers[0].layer_init == "random_normal" and rb.built
    x = np.random.default_rng(0).random((3, 4)).astype("float32")
    np.testing.assert_allclose(rb.predict(x, verbose=0), b.predict(x, verbose=0), rtol=1e-6)


def test_unsafe_asset_names_are_refused(tmp_path):
    a, _ = _models(gn, "hooks_gn2")
    a.save(tmp_path / "a.keras")
    src = zipfile.ZipFile(tmp_path / "a.keras")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n in src.namelist():
            data = src.read(n)
            if n.endswith("vocabulary.txt"):
                n = n.replace("vocabulary.txt", "../../evil.txt")
            z.writestr(n, data)
    (tmp_path / "bad.keras").write_bytes(buf.getvalue())
    with pytest.raises(ModelFileError, match="unsafe name"):
        gn.models.load_model(tmp_path / "bad.keras")
    assert not (tmp_path / "evil.txt").exists()


@pytest.mark.skipif(not HAS_KERAS, reason="real Keras 3 is not installed")
@pytest.mark.parametrize("writer", ["keras", "glassnet"])
def test_both_ways_with_keras(writer, tmp_path):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    libs = {"keras": keras, "glassnet": gn}
    reader = "glassnet" if writer == "keras" else "keras"
    pkg = f"hooks_{writer}"  # (Keras refuses to register one name twice)
    _classes(libs[reader], pkg)  # the reading program registers the same classes
    a, b = _models(libs[writer], pkg)
    a.save(str(tmp_path / "a.keras"))
    b.save(str(tmp_path / "b.keras"))
    load = libs[reader].models.load_model
    assert load(str(tmp_path / "a.keras")).layers[0].vocab == "Mary had a little lamb."
    rb = load(str(tmp_path / "b.keras"))
    assert rb.layers[0].layer_init == "random_normal"
    x = np.random.default_rng(0).random((3, 4)).astype("float32")
    np.testing.assert_allclose(np.asarray(rb.predict(x, verbose=0)),
                               np.asarray(b.predict(x, verbose=0)), rtol=1e-5, atol=1e-6)


def _subclassed(lib, pkg):
    @lib.saving.register_keras_serializable(package=pkg)
    class Net(lib.Model):
        def __init__(self, units=4, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.d1 = lib.layers.Dense(units, activation="tanh")
            self.d2 = lib.layers.Dense(2)
            self.blocks = [lib.layers.Dense(units), lib.layers.Dense(units)]

        def call(self, x):
            return self.d2(self.blocks[1](self.blocks[0](self.d1(x))))

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    return Net


def test_subclassed_model_round_trip_and_refusals(tmp_path):
    """A registered subclassed model: weights by attribute (``blocks/dense_1`` for a list,
    as Keras names them), the Adam state, and training resumed to the same losses."""
    net = _subclassed(gn, "sub_gn")
    x = np.random.default_rng(0).random((8, 3)).astype("float32")
    y = np.random.default_rng(1).random((8, 2)).astype("float32")
    m = net(units=5)
    m.compile(optimizer="adam", loss="mse")
    m.fit(x, y, epochs=3, verbose=0)
    m.save(tmp_path / "net.keras")
    import h5py

    with zipfile.ZipFile(tmp_path / "net.keras") as z:
        groups = []
        h5py.File(io.BytesIO(z.read("model.weights.h5"))).visit(groups.append)
    assert {"d1/vars", "d2/vars", "blocks/dense/vars", "blocks/dense_1/vars"} <= set(groups)
    r = gn.models.load_model(tmp_path / "net.keras")
    assert type(r) is net and r.units == 5
    np.testing.assert_array_equal(r.predict(x, verbose=0), m.predict(x, verbose=0))
    np.testing.assert_allclose([r.train_on_batch(x, y) for _ in range(3)],
                               [m.train_on_batch(x, y) for _ in range(3)], rtol=1e-6)

    class Unregistered(gn.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.d = gn.layers.Dense(1)

        def call(self, x):
            return self.d(x)

    u = Unregistered()
    u(x)
    with pytest.raises(ValueError, match="register_keras_serializable"):
        u.save(tmp_path / "u.keras")
    with pytest.raises(ValueError, match="call the model on data"):
        net().save(tmp_path / "v.keras")


@pytest.mark.skipif(not HAS_KERAS, reason="real Keras 3 is not installed")
@pytest.mark.parametrize("writer", ["keras", "glassnet"])
def test_subclassed_model_both_ways_with_keras(writer, tmp_path):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    libs = {"keras": keras, "glassnet": gn}
    reader = "glassnet" if writer == "keras" else "keras"
    pkg = f"sub_x_{writer}"
    _subclassed(libs[reader], pkg)
    m = _subclassed(libs[writer], pkg)()
    x = np.random.default_rng(0).random((8, 3)).astype("float32")
    y = np.random.default_rng(1).random((8, 2)).astype("float32")
    m.compile(optimizer="adam", loss="mse")
    m.fit(x, y, epochs=3, verbose=0)
    m.save(str(tmp_path / "net.keras"))
    r = libs[reader].models.load_model(str(tmp_path / "net.keras"))
    np.testing.assert_allclose(np.asarray(r.predict(x, verbose=0)),
                               np.asarray(m.predict(x, verbose=0)), rtol=1e-5, atol=1e-6)
    # the optimizer's state came along: the next steps' losses agree
    np.testing.assert_allclose([float(np.asarray(r.train_on_batch(x, y))) for _ in range(3)],
                               [float(np.asarray(m.train_on_batch(x, y))) for _ in range(3)],
                               rtol=1e-5)


def _custom_compile(lib, pkg):
    """keras.io's ModelWithCustomCompile: its own compile signature, saved through
    get_compile_config and restored through compile_from_config."""

    @lib.saving.register_keras_serializable(package=pkg)
    class ModelWithCustomCompile(lib.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense1 = lib.layers.Dense(8, activation="relu")
            self.dense2 = lib.layers.Dense(4, activation="softmax")

        def call(self, x):
            return self.dense2(self.dense1(x))

        def compile(self, optimizer, loss_fn, metrics):
            super().compile(optimizer=optimizer, loss=loss_fn, metrics=metrics)
            self.model_optimizer = optimizer
            self.loss_fn = loss_fn
            self.loss_metrics = metrics

        def get_compile_config(self):
            return {"model_optimizer": self.model_optimizer, "loss_fn": self.loss_fn,
                    "metric": self.loss_metrics}

        def compile_from_config(self, config):
            optimizer = lib.utils.deserialize_keras_object(config["model_optimizer"])
            loss_fn = lib.utils.deserialize_keras_object(config["loss_fn"])
            metrics = lib.utils.deserialize_keras_object(config["metric"])
            self.compile(optimizer=optimizer, loss_fn=loss_fn, metrics=metrics)

    return ModelWithCustomCompile


@pytest.mark.parametrize("writer", ["glassnet", "keras"])
def test_compile_config_hooks(writer, tmp_path):
    if writer == "keras" and not HAS_KERAS:
        pytest.skip("real Keras 3 is not installed")
    libs = {"glassnet": gn}
    if HAS_KERAS:
        os.environ.setdefault("KERAS_BACKEND", "torch")
        import keras

        libs["keras"] = keras
    pkg = f"cc_{writer}"
    _custom_compile(gn, pkg)
    cls = _custom_compile(libs[writer], pkg) if writer != "glassnet" else None
    model = (cls or gn.saving.get_registered_object(f"{pkg}>ModelWithCustomCompile"))()
    model.compile(optimizer="SGD", loss_fn="mean_squared_error",
                  metrics=["mean_squared_error"])
    x = np.random.default_rng(0).random((4, 8)).astype("float32")
    y = np.random.default_rng(1).random((4, 4)).astype("float32")
    model.fit(x, y, verbose=0)
    model.save(str(tmp_path / "m.keras"))
    restored = gn.models.load_model(str(tmp_path / "m.keras"))
    assert restored.model_optimizer == "SGD" and restored.loss_fn == "mean_squared_error"
    assert restored.loss_metrics == ["mean_squared_error"]
    np.testing.assert_allclose(restored.predict(x, verbose=0),
                               np.asarray(model.predict(x, verbose=0)), rtol=1e-5)
    assert np.isfinite(restored.fit(x, y, verbose=0).history["loss"][-1])


def _patch_encoder_model(lib, pkg):
    """keras.io's ViT PatchEncoder (a Dense and an Embedding held as attributes) inside a
    functional model."""

    @lib.saving.register_keras_serializable(package=pkg)
    class PatchEncoder(lib.layers.Layer):
        def __init__(self, num_patches=4, projection_dim=3, **kwargs):
            super().__init__(**kwargs)
            self.num_patches, self.projection_dim = num_patches, projection_dim
            self.projection = lib.layers.Dense(units=projection_dim)
            self.position_embedding = lib.layers.Embedding(input_dim=num_patches,
                                                           output_dim=projection_dim)

        def call(self, patch):
            positions = lib.ops.expand_dims(lib.ops.arange(0, self.num_patches, 1), axis=0)
            return self.projection(patch) + self.position_embedding(positions)

        def get_config(self):
            return {**super().get_config(), "num_patches": self.num_patches,
                    "projection_dim": self.projection_dim}

    inputs = lib.Input(shape=(4, 5))
    x = PatchEncoder()(inputs)
    out = lib.layers.Dense(2)(lib.layers.Flatten()(x))
    return lib.Model(inputs, out)


def test_a_custom_layers_sublayers_take_keras_paths_in_weight_files(tmp_path):
    """Weights of layers a custom layer holds as attributes sit under that layer's path by
    attribute name (``layers/patch_encoder/projection/vars``), as Keras writes them; before,
    saving refused them ("no place in Keras's file layout")."""
    import h5py

    gn.set_seed(0)
    m = _patch_encoder_model(gn, "pe_gn_a")
    x = np.random.default_rng(0).random((6, 4, 5)).astype("float32")
    m.save_weights(tmp_path / "m.weights.h5")
    groups = []
    with h5py.File(tmp_path / "m.weights.h5") as f:
        f.visit(groups.append)
    assert {"layers/patch_encoder/projection/vars/0",
            "layers/patch_encoder/position_embedding/vars/0"} <= set(groups)
    gn.set_seed(1)
    m2 = _patch_encoder_model(gn, "pe_gn_b")
    assert not np.allclose(m2.predict(x, verbose=0), m.predict(x, verbose=0))
    m2.load_weights(tmp_path / "m.weights.h5")
    np.testing.assert_array_equal(m2.predict(x, verbose=0), m.predict(x, verbose=0))


@pytest.mark.skipif(not HAS_KERAS, reason="real Keras 3 is not installed")
@pytest.mark.parametrize("writer", ["keras", "glassnet"])
def test_a_custom_layers_sublayers_both_ways_with_keras(writer, tmp_path):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    libs = {"keras": keras, "glassnet": gn}
    reader = "glassnet" if writer == "keras" else "keras"
    m = _patch_encoder_model(libs[writer], f"pe_x_{writer}")
    r = _patch_encoder_model(libs[reader], f"pe_x_{writer}")  # the same registered name
    x = np.random.default_rng(0).random((6, 4, 5)).astype("float32")
    y = np.random.default_rng(1).random((6, 2)).astype("float32")
    for model in (m, r):
        model.compile(optimizer="adam", loss="mse")
    m.fit(x, y, epochs=3, verbose=0)
    r.fit(x, y, epochs=1, verbose=0)  # its own moments, replaced by the file's
    m.save_weights(str(tmp_path / "m.weights.h5"))
    r.load_weights(str(tmp_path / "m.weights.h5"))
    np.testing.assert_allclose(np.asarray(r.predict(x, verbose=0)),
                               np.asarray(m.predict(x, verbose=0)), rtol=1e-5, atol=1e-6)
    # Adam's moments in Keras's variable order (the projection's before the embedding's,
    # as made, though the file's groups sort them the other way): the same next losses
    np.testing.assert_allclose([float(np.asarray(r.train_on_batch(x, y))) for _ in range(3)],
                               [float(np.asarray(m.train_on_batch(x, y))) for _ in range(3)],
                               rtol=2e-5)
    m.save(str(tmp_path / "m.keras"))
    loaded = libs[reader].models.load_model(str(tmp_path / "m.keras"))
    np.testing.assert_allclose(np.asarray(loaded.predict(x, verbose=0)),
                               np.asarray(m.predict(x, verbose=0)), rtol=1e-5, atol=1e-6)
