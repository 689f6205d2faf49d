"""``pickle``/``joblib`` of a model (Keras 3 pickles models through its saved file; so does
glassnet) and ``copy.deepcopy``, which keeps copying the object graph."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import glassnet as gn

L = gn.layers


def _trained(build, x, y, loss="sparse_categorical_crossentropy"):
    gn.set_seed(0)
    model = build()
    model.compile("adam", loss, metrics=["accuracy"])
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    return model


def _same_from_now_on(a, b, x, y):
    """Equal predictions, weights and optimizer state: one more step agrees bit for bit."""
    np.testing.assert_array_equal(b.predict(x, verbose=0), a.predict(x, verbose=0))
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    assert b.train_on_batch(x, y) == a.train_on_batch(x, y)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


@pytest.mark.parametrize("kind", ["mlp", "cnn", "lstm"])
def test_a_trained_model_pickles_and_trains_on_identically(kind):
    rs = np.random.default_rng(1)
    shape, build = {
        "mlp": ((64, 20), lambda: gn.Sequential([
            L.Dense(32, activation="relu", input_dim=20), L.Dense(5, activation="softmax")])),
        "cnn": ((64, 12, 12, 1), lambda: gn.Sequential([
            L.Conv2D(8, 3, activation="relu", input_shape=(12, 12, 1)), L.MaxPooling2D(),
            L.Flatten(), L.Dense(5, activation="softmax")])),
        "lstm": ((64, 10, 4), lambda: gn.Sequential([
            L.LSTM(16, input_shape=(10, 4)), L.Dense(5, activation="softmax")])),
    }[kind]
    x = rs.random(shape, dtype=np.float32)
    y = rs.integers(0, 5, shape[0])
    model = _trained(build, x, y)
    back = pickle.loads(pickle.dumps(model))
    assert type(back) is type(model) and back is not model
    assert back.optimizer is not model.optimizer
    _same_from_now_on(model, back, x, y)
    assert back.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)


def test_a_functional_model_with_two_inputs_pickles():
    a, b = gn.Input((3,)), gn.Input((2,))
    h = L.Concatenate()([L.Dense(4, activation="tanh")(a), b])
    model = gn.Model([a, b], L.Dense(1)(h))
    model.compile("sgd", "mse")
    rs = np.random.default_rng(2)
    xs = [rs.random((8, 3), dtype=np.float32), rs.random((8, 2), dtype=np.float32)]
    y = rs.random((8, 1), dtype=np.float32)
    model.train_on_batch(xs, y)
    back = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(back.predict(xs, verbose=0), model.predict(xs, verbose=0))
    assert back.train_on_batch(xs, y) == model.train_on_batch(xs, y)


def test_joblib_dumps_a_model(tmp_path):
    joblib = pytest.importorskip("joblib")
    model = gn.Sequential([L.Dense(3, input_dim=4)])
    model.compile("adam", "mse")
    path = tmp_path / "m.joblib"
    joblib.dump(model, path)
    back = joblib.load(path)
    x = np.ones((2, 4), np.float32)
    np.testing.assert_array_equal(back.predict(x, verbose=0), model.predict(x, verbose=0))


class _Subclassed(gn.Model):
    def __init__(self):
        super().__init__()
        self.dense = L.Dense(2)

    def call(self, x):
        return self.dense(x)


def test_a_subclassed_model_says_why_it_cannot_pickle_but_deep_copies():
    model = _Subclassed()
    x = np.ones((3, 4), np.float32)
    y0 = model(x).data
    with pytest.raises(TypeError, match=r"cannot pickle '_Subclassed'.*save_weights"):
        pickle.dumps(model)
    twin = copy.deepcopy(model)
    np.testing.assert_array_equal(twin(x).data, y0)
    twin.dense.kernel.data[...] = 0  # an independent copy
    np.testing.assert_array_equal(model(x).data, y0)
    shallow = copy.copy(model)  # the same layers, as any Python object's shallow copy
    assert shallow is not model and shallow.dense is model.dense


def test_deepcopy_of_a_trained_model_is_independent_and_equal():
    rs = np.random.default_rng(3)
    x = rs.random((32, 6), dtype=np.float32)
    y = rs.integers(0, 3, 32)
    model = _trained(lambda: gn.Sequential([L.Dense(8, activation="relu", input_dim=6),
                                            L.Dense(3, activation="softmax")]), x, y)
    twin = copy.deepcopy(model)
    assert twin.weights[0].data is not model.weights[0].data
    _same_from_now_on(model, twin, x, y)
    # the copy trains its own weights (its recorded steps are its own, not the original's)
    before = [w.copy() for w in model.get_weights()]
    for _ in range(3):
        twin.train_on_batch(x, y)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(twin.get_weights()[0], before[0])


def test_keras_pickles_models_too(keras):
    # the oracle: real Keras 3 supports pickle.dumps(model), which is why glassnet does
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    back = pickle.loads(pickle.dumps(model))
    x = np.ones((1, 4), np.float32)
    np.testing.assert_allclose(back.predict(x, verbose=0), model.predict(x, verbose=0))


def test_a_gan_pickles_through_its_own_file():
    gn.set_seed(0)
    gan = gn.models.GAN(generator=gn.Sequential([L.Dense(8, activation="tanh", input_dim=4)]),
                        discriminator=gn.Sequential([L.Dense(1, activation="sigmoid",
                                                             input_dim=8)]),
                        latent_dim=4)
    gan.compile("adam", "adam")
    real = np.random.default_rng(4).random((16, 8), dtype=np.float32)
    gan.fit(real, epochs=1, batch_size=8, verbose=0)
    back = pickle.loads(pickle.dumps(gan))
    assert type(back) is gn.models.GAN and back.latent_dim == 4
    z = np.random.default_rng(5).standard_normal((3, 4)).astype(np.float32)
    np.testing.assert_array_equal(back.sample(3, z=z), gan.sample(3, z=z))
    for part in ("g_optimizer", "d_optimizer"):
        a, b = getattr(gan, part).get_state(), getattr(back, part).get_state()
        assert a.keys() == b.keys() and a
        for k in a:
            np.testing.assert_array_equal(np.asarray(a[k]), np.asarray(b[k]))
