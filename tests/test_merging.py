"""Merge layers and Keras's lowercase helpers: NumPy references, gradients, real Keras 3,
the functional API and saving."""

from __future__ import annotations

import os

import numpy as np
import pytest

import glassnet as gn
from glassnet import layers as L


def _xs(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=s) for s in shapes]


S = [(3, 4), (3, 4), (3, 4)]
# (helper, layer class, kwargs, input shapes, NumPy reference)
TABLE = [
    ("add", L.Add, {}, S, lambda a, b, c: a + b + c),
    ("multiply", L.Multiply, {}, S, lambda a, b, c: a * b * c),
    ("average", L.Average, {}, S, lambda a, b, c: (a + b + c) / 3),
    ("maximum", L.Maximum, {}, S, lambda a, b, c: np.maximum(np.maximum(a, b), c)),
    ("minimum", L.Minimum, {}, S, lambda a, b, c: np.minimum(np.minimum(a, b), c)),
    ("subtract", L.Subtract, {}, S[:2], lambda a, b: a - b),
    ("concatenate", L.Concatenate, {"axis": -1}, [(3, 4), (3, 2)],
     lambda a, b: np.concatenate([a, b], -1)),
    ("dot", L.Dot, {"axes": 1}, [(3, 4), (3, 4)], lambda a, b: (a * b).sum(1, keepdims=True)),
    ("dot", L.Dot, {"axes": 2}, [(2, 3, 4), (2, 5, 4)], lambda a, b: a @ b.transpose(0, 2, 1)),
    ("dot", L.Dot, {"axes": (1, 2)}, [(2, 4, 3), (2, 5, 4)],
     lambda a, b: np.einsum("bkt,bsk->bts", a, b)),
    ("dot", L.Dot, {"axes": -1, "normalize": True}, [(3, 4), (3, 4)],
     lambda a, b: ((a / np.linalg.norm(a, axis=1, keepdims=True))
                   * (b / np.linalg.norm(b, axis=1, keepdims=True))).sum(1, keepdims=True)),
]
IDS = [f"{r[0]}-{i}" for i, r in enumerate(TABLE)]


@pytest.mark.parametrize("helper,cls,kw,shapes,ref", TABLE, ids=IDS)
def test_layer_and_helper_match_numpy(helper, cls, kw, shapes, ref):
    xs = _xs(shapes)
    xs32 = [x.astype("float32") for x in xs]
    np.testing.assert_allclose(cls(**kw)(xs32).data, ref(*xs), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(getattr(L, helper)(xs32, **kw).data, ref(*xs), rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("helper,cls,kw,shapes,ref", TABLE, ids=IDS)
def test_gradients_match_numeric(helper, cls, kw, shapes, ref):
    layer = cls(**kw)
    ts = [gn.tensor(x, dtype="float64", requires_grad=True) for x in _xs(shapes, 1)]
    gn.gradcheck(lambda *t: layer(list(t)), *ts)


@pytest.mark.parametrize("helper,cls,kw,shapes,ref", TABLE, ids=IDS)
def test_matches_keras(helper, cls, kw, shapes, ref):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    pytest.importorskip("torch")
    keras = pytest.importorskip("keras")
    xs = [x.astype("float32") for x in _xs(shapes, 2)]
    ky = getattr(keras.layers, helper)(xs, **kw)
    np.testing.assert_allclose(cls(**kw)(xs).data, keras.ops.convert_to_numpy(ky), rtol=1e-5,
                               atol=1e-5)


@pytest.mark.parametrize("helper,cls,kw,shapes,ref", TABLE, ids=IDS)
def test_config_round_trip(helper, cls, kw, shapes, ref):
    layer = cls(**kw)
    cfg = layer.get_config()
    assert L.get_layer_class(cls.__name__).from_config(cfg).get_config() == cfg


def test_helpers_on_symbolic_inputs_build_a_model_that_saves(tmp_path):
    a, b = gn.Input((4,)), gn.Input((4,))
    h = L.concatenate([L.subtract([a, b]), L.maximum([a, b]), L.minimum([a, b]),
                       L.dot([a, b], axes=1, normalize=True), L.average([a, b]),
                       L.multiply([a, b]), L.add([a, b])])
    model = gn.Model([a, b], L.Dense(1)(h))
    xa, xb = _xs([(5, 4), (5, 4)], 3)
    xa, xb = xa.astype("float32"), xb.astype("float32")
    model.compile(optimizer="adam", loss="mse")
    model.fit([xa, xb], np.ones((5, 1), "float32"), epochs=1, verbose=0)
    model.save(tmp_path / "merge.glassnet")
    back = gn.models.load_model(tmp_path / "merge.glassnet")
    np.testing.assert_allclose(back.predict([xa, xb], verbose=0),
                               model.predict([xa, xb], verbose=0), atol=1e-6)


def test_errors_name_the_layer():
    x = np.ones((2, 3), "float32")
    with pytest.raises(ValueError, match="sub.*exactly 2"):
        L.Subtract(name="sub")([x, x, x])
    with pytest.raises(ValueError, match="dotty.*axes"):
        L.Dot(axes=1, name="dotty")([x, np.ones((2, 4), "float32")])
    with pytest.raises(ValueError, match="mx.*same shape"):
        L.Maximum(name="mx")([x, np.ones((2, 4), "float32")])
