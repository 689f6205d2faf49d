"""Functional models packaged as Keras recommends: a Model subclass whose ``__init__`` builds
the graph and passes it up (functional subclassing), and models built on a dict of inputs,
fed by dicts, saved and loaded with the dict (glassnet files and, where real Keras is
installed, .keras files both ways)."""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest

import glassnet as gn
from glassnet import layers as L
from glassnet.models.functional import Functional


class Packaged(gn.Model):
    """Keras's packaging recipe: the graph built in __init__, passed up by keyword."""

    def __init__(self, units=4, **kwargs):
        inputs = gn.Input(shape=(None, 3), dtype="float32")
        y = L.GlobalAveragePooling1D()(inputs)
        y = L.Dense(units, activation="relu", name="hidden")(y)
        outputs = L.Dense(2, name="head")(y)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.units = units

    def describe(self):
        return f"packaged with {self.units} units"


class PackagedPositional(gn.Model):
    def __init__(self):
        i = gn.Input((3,))
        super().__init__(i, L.Dense(1)(i), name="positional")


def _x(n=6, t=5, seed=0):
    return np.random.default_rng(seed).standard_normal((n, t, 3)).astype("float32")


def test_functional_subclass_is_its_class_and_a_functional_model():
    m = Packaged(units=5, name="pkg")
    assert isinstance(m, Packaged) and isinstance(m, Functional)
    assert type(m).__name__ == "Packaged" and m.name == "pkg"
    assert m.describe() == "packaged with 5 units"  # the subclass's own methods stay
    assert [ly.name for ly in m.layers][-2:] == ["hidden", "head"]
    assert m.get_layer("head").input is m.get_layer("hidden").output
    x = _x()
    # the graph's call: the same numbers as the layers applied by hand
    h = np.maximum(x.mean(axis=1) @ m.get_layer("hidden").kernel.data
                   + m.get_layer("hidden").bias.data, 0)
    want = h @ m.get_layer("head").kernel.data + m.get_layer("head").bias.data
    np.testing.assert_allclose(m.predict(x, verbose=0), want, rtol=1e-5, atol=1e-6)
    # any length along the free axis, the same weights
    assert m.predict(_x(t=9), verbose=0).shape == (6, 2)
    p = PackagedPositional()
    assert isinstance(p, PackagedPositional) and p.name == "positional"
    assert p.predict(np.ones((2, 3), "float32"), verbose=0).shape == (2, 1)


def test_functional_subclass_trains_and_supports_model_surgery():
    gn.set_seed(0)
    m = Packaged()
    x, y = _x(32), np.random.default_rng(1).integers(0, 2, 32)
    m.compile(optimizer="adam", loss=gn.losses.SparseCategoricalCrossentropy(from_logits=True))
    hist = m.fit(x, y, epochs=3, batch_size=8, verbose=0)
    assert len(hist.history["loss"]) == 3 and np.isfinite(hist.history["loss"]).all()
    # cut before the head, add another: a plain functional model sharing the layers
    cut = m.get_layer("head").input
    binary = gn.Model(m.input, L.Dense(1, activation="sigmoid")(cut))
    assert binary.get_layer("hidden") is m.get_layer("hidden")
    assert binary.predict(x, verbose=0).shape == (32, 1)
    # two instances: separate graphs and weights
    other = Packaged()
    assert other.get_layer("hidden") is not m.get_layer("hidden")


def _dict_model():
    img, meta = gn.Input((3,), name="image"), gn.Input((2,), name="meta")
    y = L.Dense(1, name="out")(L.Concatenate()([img, meta]))
    return gn.Model({"img": img, "meta": meta}, y)


def _dict_data(n=8, seed=0):
    r = np.random.default_rng(seed)
    return {"img": r.standard_normal((n, 3)).astype("float32"),
            "meta": r.standard_normal((n, 2)).astype("float32")}


def _by_hand(m, d):
    w, b = m.get_layer("out").kernel.data, m.get_layer("out").bias.data
    return np.concatenate([d["img"], d["meta"]], axis=1) @ w + b


def test_dict_inputs_are_fed_by_dicts_keyed_as_built():
    m = _dict_model()
    assert m.input_names == ["img", "meta"]
    assert set(m.input) == {"img", "meta"} and m.input["img"] is m.inputs[0]
    d = _dict_data()
    np.testing.assert_allclose(m.predict(d, verbose=0), _by_hand(m, d), rtol=1e-5, atol=1e-6)
    # keys in another order: matched by name, not position
    swapped = {"meta": d["meta"], "img": d["img"]}
    np.testing.assert_allclose(m.predict(swapped, verbose=0), _by_hand(m, d), rtol=1e-5)
    m.compile(optimizer="sgd", loss="mse")
    y = np.ones((8, 1), "float32")
    before = m.evaluate(d, y, verbose=0)
    m.fit(d, y, epochs=5, batch_size=4, verbose=0)
    assert m.evaluate(d, y, verbose=0) < before
    with pytest.raises(ValueError, match="img"):
        m.predict({"image": d["img"], "meta": d["meta"]}, verbose=0)  # the layer's name
    with pytest.raises(ValueError, match="string keys"):
        gn.Model({1: gn.Input((2,))}, L.Dense(1)(gn.Input((2,))))


def test_a_single_input_or_output_by_its_name():
    i = gn.Input((3,), name="pixels")
    m = gn.Model({"image": i}, L.Dense(2, name="probs")(i))
    x = np.random.default_rng(0).standard_normal((4, 3)).astype("float32")
    np.testing.assert_array_equal(m.predict({"image": x}, verbose=0), m.predict(x, verbose=0))
    m.compile(optimizer="sgd", loss="mse")
    m.fit({"image": x}, {"probs": np.zeros((4, 2), "float32")}, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"keyed \['image'\]"):
        m.fit({"img": x}, np.zeros((4, 2), "float32"), epochs=1, verbose=0)


def test_dict_inputs_survive_a_glassnet_model_file(tmp_path):
    m = _dict_model()
    m.save(tmp_path / "m.glassnet")
    back = gn.models.load_model(tmp_path / "m.glassnet")
    assert back.input_names == ["img", "meta"] and set(back.input) == {"img", "meta"}
    d = _dict_data()
    np.testing.assert_array_equal(back.predict(d, verbose=0), m.predict(d, verbose=0))


needs_keras = pytest.mark.skipif(
    importlib.util.find_spec("keras") is None or importlib.util.find_spec("h5py") is None,
    reason="real Keras 3 is not installed (pip install keras h5py)")


@needs_keras
def test_dict_inputs_and_outputs_travel_in_keras_files_both_ways(tmp_path):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    if keras.config.backend() != "torch":
        pytest.skip("these tests run Keras on its PyTorch backend (KERAS_BACKEND=torch)")
    # glassnet -> Keras
    m = _dict_model()
    m.save(tmp_path / "g.keras")
    km = keras.models.load_model(tmp_path / "g.keras")
    d = _dict_data()
    np.testing.assert_allclose(np.asarray(km.predict(d, verbose=0)), m.predict(d, verbose=0),
                               rtol=1e-5, atol=1e-6)
    # Keras -> glassnet, outputs as a dict too
    ki = keras.Input((3,), name="image")
    k2 = keras.Model({"img": ki}, {"a": keras.layers.Dense(1, name="a")(ki),
                                   "b": keras.layers.Dense(2, name="b")(ki)})
    k2.save(tmp_path / "k.keras")
    g2 = gn.models.load_model(tmp_path / "k.keras")
    assert g2.input_names == ["img"] and g2.output_names == ["a", "b"]
    x = {"img": d["img"]}
    got, want = g2.predict(x, verbose=0), k2.predict(x, verbose=0)
    assert set(got) == {"a", "b"}
    for k in ("a", "b"):
        np.testing.assert_allclose(got[k], np.asarray(want[k]), rtol=1e-5, atol=1e-6)
