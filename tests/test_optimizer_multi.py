"""MultiOptimizer and OptimizerMap (Keras 3): each weight updated by the optimizer its path
selects — the same weights as running each optimizer on its own weights, and as real Keras
3 where installed; saving, resuming, clipping inside, errors."""

from __future__ import annotations

import importlib.util
import os
import warnings

import numpy as np
import pytest

import glassnet as gn
from glassnet import layers as L
from glassnet import optimizers as O

HAS_KERAS = importlib.util.find_spec("keras") is not None


def _data(n=32):
    r = np.random.default_rng(0)
    x = r.normal(size=(n, 4)).astype("float32")
    return x, np.tanh(x[:, :2] - x[:, 2:]).astype("float32")


def _model(lib=gn, layers=L):
    i = lib.Input((4,))
    return lib.Model(i, layers.Dense(2, name="head")(
        layers.Dense(3, activation="tanh", name="body")(i)))


def test_optimizer_map_lookup():
    sgd, adam, rms = O.SGD(), O.Adam(), O.RMSprop()
    m = O.OptimizerMap(rms, {"encoder/layer_0/dense": adam, "encoder/.*": sgd})
    assert m["encoder/layer_0/dense"] is adam and m["encoder/layer_0/attention"] is sgd
    assert m["decoder/dense"] is rms and len(m) == 2 and m.default_optimizer is rms
    m["decoder"] = adam
    assert m["decoder"] is adam and m["decoder/x"] is rms  # a whole-path match
    with pytest.raises(ValueError, match="already mapped"):
        m["decoder"] = sgd
    m2 = O.OptimizerMap(rms, {"a.*": sgd, ".*b": adam})
    with pytest.raises(ValueError, match="several patterns"):
        m2["ab"]
    with pytest.raises(ValueError, match="not a MultiOptimizer"):
        O.OptimizerMap(O.MultiOptimizer(m))
    with pytest.raises(ValueError, match="regular expression"):
        m["x("] = sgd


def test_each_weight_moves_as_its_own_optimizer_would():
    """A MultiOptimizer's step on every weight equals each inner optimizer's step on its
    own weights, bit for bit (same gradients)."""
    x, y = _data()
    gn.set_seed(1)
    a = _model()
    gn.set_seed(1)
    b = _model()
    a.compile(optimizer=O.MultiOptimizer(O.OptimizerMap(
        O.SGD(0.1, momentum=0.5), {"head/.*": O.Adam(0.02)})), loss="mse")
    a.fit(x, y, epochs=3, batch_size=8, verbose=0, shuffle=False)
    sgd, adam = O.SGD(0.1, momentum=0.5), O.Adam(0.02)
    lossfn = gn.losses.MeanSquaredError()
    for _ in range(3):
        for s in range(0, 32, 8):
            loss = lossfn(y[s:s + 8], b(x[s:s + 8], training=True))
            loss.backward()
            ws = b.trainable_weights
            sgd.step([w for w in ws if w.path.startswith("body")])
            adam.step([w for w in ws if w.path.startswith("head")])
            for w in ws:
                w.grad = None
    for u, v in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(u, v)
    assert a.optimizer.iterations == 12 and [o.iterations for o in a.optimizer.optimizers] \
        == [12, 12]


def test_save_resume_function_map_and_errors(tmp_path):
    x, y = _data()
    m = _model()
    opt = O.MultiOptimizer(O.OptimizerMap(O.SGD(0.05), {"head/.*": O.Adam(0.01,
                                                                         clipnorm=0.1)}))
    m.compile(optimizer=opt, loss="mse")
    m.fit(x, y, epochs=2, batch_size=8, verbose=0)
    m.save(tmp_path / "m.glassnet")
    back = gn.models.load_model(tmp_path / "m.glassnet")
    assert type(back.optimizer).__name__ == "MultiOptimizer" and back.optimizer.iterations == 8
    m.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    back.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    for u, v in zip(m.get_weights(), back.get_weights()):
        np.testing.assert_array_equal(u, v)
    with pytest.raises(AttributeError, match="MultiOptimizer"):
        opt.learning_rate  # noqa: B018
    with pytest.raises(AttributeError, match="MultiOptimizer"):
        opt.learning_rate = 0.1
    f = _model()
    f.compile(optimizer=O.MultiOptimizer(lambda w: O.Adam() if "head" in w.path else O.SGD()),
              loss="mse")
    with pytest.raises(ValueError, match="known after the first step"):
        O.serialize(f.optimizer)
    f.fit(x, y, epochs=1, batch_size=8, verbose=0)
    # (the function makes an optimizer per weight, as Keras's own example does)
    assert [type(o).__name__ for o in f.optimizer.optimizers] == ["SGD", "SGD", "Adam",
                                                                  "Adam"]
    f.save(tmp_path / "f.glassnet")  # the function's choices, as exact paths
    g = gn.models.load_model(tmp_path / "f.glassnet")
    assert [type(g.optimizer.optimizer_of(w)).__name__ for w in g.trainable_weights] == \
        ["SGD", "SGD", "Adam", "Adam"]
    f.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    g.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    for u, v in zip(f.get_weights(), g.get_weights()):
        np.testing.assert_array_equal(u, v)
    with pytest.raises(TypeError, match="optimizer_map"):
        O.MultiOptimizer(3)
    w = _model()
    w.compile(optimizer=O.MultiOptimizer(O.OptimizerMap(O.SGD(), {"sequential/head/.*":
                                                                   O.Adam()})), loss="mse")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        w.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert any("matches none of the weights" in str(c.message) for c in caught)


@pytest.mark.skipif(not HAS_KERAS, reason="real Keras 3 is not installed")
def test_matches_real_keras():
    """The same functional model (paths agree: "body/kernel", "head/bias"), weights and
    batches: the weights after three epochs equal Keras's MultiOptimizer's."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    x, y = _data()
    g = _model()
    k = _model(keras, keras.layers)
    k.set_weights(g.get_weights())
    g.compile(optimizer=O.MultiOptimizer(O.OptimizerMap(
        O.SGD(0.1, momentum=0.5), {"head/.*": O.Adam(0.02)})), loss="mse")
    k.compile(optimizer=keras.optimizers.MultiOptimizer(keras.optimizers.OptimizerMap(
        keras.optimizers.SGD(0.1, momentum=0.5),
        {"head/.*": keras.optimizers.Adam(0.02)})), loss="mse")
    g.fit(x, y, epochs=3, batch_size=8, verbose=0, shuffle=False)
    k.fit(x, y, epochs=3, batch_size=8, verbose=0, shuffle=False)
    for u, v in zip(g.get_weights(), k.get_weights()):
        np.testing.assert_allclose(u, np.asarray(v), rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(not HAS_KERAS, reason="real Keras 3 is not installed")
def test_keras_files_carry_the_map_both_ways(tmp_path):
    """A .keras file's MultiOptimizer (its OptimizerMap and inner optimizers) loads in the
    other library with the same optimizer per weight; the inner optimizers' state is not
    mapped (each restarts, with a warning)."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    x, y = _data()
    g = _model()
    g.compile(optimizer=O.MultiOptimizer(O.OptimizerMap(O.SGD(0.1), {"head/.*": O.Adam(0.02)})),
              loss="mse")
    g.fit(x, y, epochs=1, batch_size=8, verbose=0)
    g.save(tmp_path / "g.keras")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        k = keras.models.load_model(tmp_path / "g.keras")
    assert type(k.optimizer).__name__ == "MultiOptimizer"
    k.optimizer.build(k.trainable_variables)
    chosen = {w.path: type(k.optimizer._optimizer_map(w)).__name__
              for w in k.trainable_variables}
    assert chosen == {"body/kernel": "SGD", "body/bias": "SGD", "head/kernel": "Adam",
                      "head/bias": "Adam"}
    k.save(tmp_path / "k.keras")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        back = gn.models.load_model(tmp_path / "k.keras")
    assert any("not mapped" in str(c.message) for c in caught)
    opt = back.optimizer
    assert [type(opt.optimizer_of(w)).__name__ for w in back.trainable_weights] == \
        ["SGD", "SGD", "Adam", "Adam"]
    assert opt.optimizer_of(back.trainable_weights[2]).learning_rate == pytest.approx(0.02)
