"""A model's layers and weights come in Keras 3's order, whatever is frozen: ``model.layers[i]``
and ``get_weights()`` mean what they mean in Keras, and a file saved with a frozen part
loads into a fresh model. Files of format version 1 (trainable weights first, functional
layers in call order) still load into the right weights."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
from _keras_order_models import build, describe
from _keras_reference import keras_json

import glassnet as gn
from glassnet import layers as L
from glassnet.models.saving import load_model


@pytest.fixture(scope="module")
def keras_orders():
    return keras_json("_keras_order_models.py")


@pytest.mark.parametrize("name", ["seq2seq", "two_inputs_bn", "shared_unused", "sequential_bn",
                                  "frozen_base", "subclassed_seed"])
def test_layers_and_weights_come_in_keras_order(keras_orders, name):
    got, want = describe(build(gn)[name]), dict(keras_orders[name])
    if name == "seq2seq":  # Keras's LSTM cells keep a seed generator for their dropout
        for k in ("variables", "trainable_variables", "non_trainable_variables"):
            del got[k], want[k]
    assert got == want


def _transfer_model():
    gn.set_seed(3)
    base = gn.Sequential([L.Dense(3, input_dim=3, name="base_d"),
                          L.BatchNormalization(name="base_bn")], name="base")
    return base, gn.Sequential([base, L.Dense(3, name="head")])


def test_freezing_does_not_reorder_the_weights_so_a_frozen_save_loads_into_a_fresh_model(
        tmp_path):
    base, m = _transfer_model()
    before = [w.name for w in m.weights]
    base.trainable = False
    assert [w.name for w in m.weights] == before  # Keras: trainable changes no order
    assert [w.name for w in m.trainable_weights] == ["head/kernel", "head/bias"]
    x = np.random.default_rng(0).standard_normal((8, 3)).astype("f4")
    m.compile("sgd", "mse")
    m.fit(x, x, epochs=2, verbose=0)
    m.save_weights(tmp_path / "w.glassnet")
    _, fresh = _transfer_model()  # everything trainable: the order it had before the freeze
    fresh.load_weights(tmp_path / "w.glassnet")
    for a, b in zip(fresh.get_weights(), m.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(fresh.predict(x, verbose=0), m.predict(x, verbose=0))


def _two_inputs():
    gn.set_seed(5)
    i1, i2 = gn.Input((4,), name="i1"), gn.Input((4,), name="i2")
    d2 = L.Dense(2, name="d2")(i2)
    b = L.BatchNormalization(name="bn")(L.Dense(3, name="d1")(i1))
    return gn.Model([i2, i1], L.Concatenate(name="cat")([b, d2]))


def _as_version_1(path, order):
    """Rewrite a saved file as format version 1 wrote it: weights listed in ``order`` (the
    weights' names as that version ordered them), optimizer slots numbered in that
    version's order of the trainable weights."""
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    cfg = json.loads(members["config.json"])
    cfg["version"] = 1
    model = load_model(path, compile=False)
    names = [w.name for w in model.weights]
    npz = np.load(io.BytesIO(members["weights.npz"]))
    by_name = {n: npz[f"w{i:04d}"] for i, n in enumerate(names)}
    buf = io.BytesIO()
    np.savez(buf, **{f"w{i:04d}": by_name[n] for i, n in enumerate(order)})
    members["weights.npz"] = buf.getvalue()
    if "optimizer.npz" in members:
        opt = np.load(io.BytesIO(members["optimizer.npz"]))
        trainable = [w.name for w in model.trainable_weights]
        old_t = [n for n in order if n in trainable]
        out = {}
        for k in opt.files:
            i, sep, slot = k.partition("/")
            out[f"{old_t.index(trainable[int(i)])}/{slot}" if sep else k] = opt[k]
        buf = io.BytesIO()
        np.savez(buf, **out)
        members["optimizer.npz"] = buf.getvalue()
    members["config.json"] = json.dumps(cfg).encode()
    with zipfile.ZipFile(path, "w") as z:
        for n, data in members.items():
            z.writestr(n, data)


def test_a_version_1_file_loads_its_weights_and_optimizer_state_into_the_right_places(
        tmp_path):
    m = _two_inputs()
    m.compile("adam", "mse")
    r = np.random.default_rng(1)
    xs = [r.standard_normal((16, 4)).astype("f4") for _ in range(2)]
    y = r.standard_normal((16, 5)).astype("f4")
    m.fit(xs, y, epochs=3, verbose=0)
    path = tmp_path / "m.glassnet"
    m.save(path)
    # version 1's order, written out by hand: layers in call order (i2's branch first, as
    # the DFS from the output met them), trainable weights first, then the statistics
    _as_version_1(path, ["d1/kernel", "d1/bias", "bn/gamma", "bn/beta", "d2/kernel",
                         "d2/bias", "bn/moving_mean", "bn/moving_variance"])
    back = load_model(path)
    for a, b in zip(back.get_weights(), m.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(back.predict(xs, verbose=0), m.predict(xs, verbose=0))
    fresh = _two_inputs()  # load_weights reads version 1 too
    fresh.load_weights(path)
    for a, b in zip(fresh.get_weights(), m.get_weights()):
        np.testing.assert_array_equal(a, b)
    # the optimizer state went to the right weights: one more epoch gives the same weights
    m.fit(xs, y, epochs=1, verbose=0, shuffle=False)
    back.fit(xs, y, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(back.get_weights(), m.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_a_sublayer_reachable_twice_lists_its_weights_once():
    class Twice(gn.layers.Layer):
        def __init__(self):
            super().__init__()
            self.inner = L.Dense(2)
            self.again = [self.inner]  # the same layer under a second attribute

        def call(self, x):
            return self.inner(x)

    t = Twice()
    t(np.ones((1, 3), "f4"))
    assert len(t.weights) == 2 and len(t.trainable_weights) == 2


def test_a_scikit_learn_wrapper_pickled_before_the_reorder_unpickles_into_the_right_weights():
    from glassnet.wrappers import _STATE_KEY, _model_from_state, _model_state

    gn.set_seed(2)
    m = gn.Sequential([L.Dense(3, input_dim=4, name="a"), L.BatchNormalization(name="n"),
                       L.Dense(2, name="b")])
    m.compile("sgd", "mse")
    x = np.random.default_rng(0).standard_normal((16, 4)).astype("f4")
    m.fit(x, np.zeros((16, 2), "f4"), epochs=2, verbose=0)
    state = _model_state(m)
    by_name = dict(zip([w.name for w in m.weights], state["weights"]))
    # the state an older glassnet pickled: marker 1, trainable weights first
    old = ["a/kernel", "a/bias", "n/gamma", "n/beta", "b/kernel", "b/bias", "n/moving_mean",
           "n/moving_variance"]
    state.update({_STATE_KEY: 1, "weights": [by_name[k] for k in old]})
    back = _model_from_state(state)
    for a, b in zip(back.get_weights(), m.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_seed_generator_state_advances_per_draw_and_assigning_it_replays_the_stream():
    g = gn.random.SeedGenerator(42)
    assert g.state.numpy().tolist() == [42, 0] and not g.state.trainable
    a = gn.random.normal((3,), seed=g).numpy()
    b = gn.random.normal((3,), seed=g).numpy()
    assert g.state.numpy().tolist() == [42, 2] and not np.array_equal(a, b)
    g.state.assign(np.array([42, 1]))  # as Keras: the state is the stream's position
    np.testing.assert_array_equal(gn.random.normal((3,), seed=g).numpy(), b)
    h = gn.random.SeedGenerator(42)  # the same seed: the same stream
    np.testing.assert_array_equal(gn.random.normal((3,), seed=h).numpy(), a)


def test_variables_keep_their_integer_dtype_as_keras_does():
    assert gn.Variable(np.array([1, 2]), trainable=False).dtype == np.int64
    assert gn.Variable([1, 2], trainable=False).dtype == np.int32
    assert gn.Variable(np.array([1, 2]), dtype="int32", trainable=False).dtype == np.int32
    assert gn.Variable([1.0, 2.0]).dtype == np.float32
