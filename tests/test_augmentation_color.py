"""RandomBrightness, RandomGrayscale and RandomInvert: identity at inference, Keras's
formulas (exactly, where the factor leaves no randomness; against real Keras 3 where it is
installed), Keras's odd-looking invert probability, gradients, configs and errors."""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest

import glassnet as gn
from glassnet.layers import (
    Dense,
    Flatten,
    RandomBrightness,
    RandomGrayscale,
    RandomInvert,
    get_layer_class,
)
from glassnet.models import Sequential, load_model

HAS_KERAS = importlib.util.find_spec("keras") is not None


def _rgb(n=5, h=4, w=3, seed=0, hi=255.0):
    return (np.random.default_rng(seed).random((n, h, w, 3)) * hi).astype(np.float32)


LAYERS = [lambda: RandomBrightness(0.3), lambda: RandomGrayscale(1.0),
          lambda: RandomInvert((0.5, 1.0))]


@pytest.mark.parametrize("make", LAYERS)
def test_identity_at_inference_and_seeded_in_training(make):
    x = _rgb()
    np.testing.assert_array_equal(make()(x).data, x)
    gn.set_seed(4)
    a = make()(x, training=True).data
    gn.set_seed(4)
    b = make()(x, training=True).data
    np.testing.assert_array_equal(a, b)
    assert a.shape == x.shape and a.dtype == np.float32 and not np.array_equal(a, x)
    single = make()(x[0], training=True)  # one unbatched image
    assert single.shape == x[0].shape


def test_formulas():
    x = _rgb()
    y = RandomBrightness((0.2, 0.2))(x, training=True).data
    np.testing.assert_allclose(y, np.clip(x + np.float32(0.2 * 255), 0, 255), rtol=1e-6)
    y = RandomBrightness((-0.5, -0.5), value_range=(0, 1))(x / 255, training=True).data
    np.testing.assert_allclose(y, np.clip(x / 255 - 0.5, 0, 1), atol=1e-6)
    # one shift per image, the same on every pixel and channel
    d = RandomBrightness(0.4, value_range=(-1e9, 1e9))(x, training=True).data - x
    assert np.allclose(d, d[:, :1, :1, :1], atol=1e-3) and np.ptp(d[:, 0, 0, 0]) > 0
    grey = x @ np.array([0.2989, 0.587, 0.114], np.float32)
    g = RandomGrayscale(1.0)(x, training=True).data
    np.testing.assert_allclose(g, np.repeat(grey[..., None], 3, -1), rtol=1e-5)
    np.testing.assert_array_equal(RandomGrayscale(0.0)(x, training=True).data, x)
    np.testing.assert_allclose(RandomInvert((1.0, 1.0))(x, training=True).data, 255 - x)
    np.testing.assert_array_equal(RandomInvert((-1.0, 0.0))(x, training=True).data, x)


def test_invert_probability_is_keras_s():
    """Keras draws p uniform in the factor's range, then inverts where a uniform draw is
    below p: factor=1.0 (p in (-1, 1)) inverts a quarter of the images, (0.5, 0.5) half."""
    x = np.zeros((4000, 1, 1, 1), np.float32)
    gn.set_seed(0)
    share = float(RandomInvert(1.0, value_range=(0, 1))(x, training=True).data.mean())
    assert 0.22 < share < 0.28
    share = float(RandomInvert((0.5, 0.5), value_range=(0, 1))(x, training=True).data.mean())
    assert 0.47 < share < 0.53


def test_gradients_pass_through():
    x = _rgb(n=2, h=2, w=2, hi=1.0).astype(np.float64)
    for make in (lambda: RandomBrightness((0.1, 0.1), value_range=(-9, 9)),
                 lambda: RandomGrayscale(1.0), lambda: RandomInvert((1.0, 1.0))):
        gn.gradcheck(lambda t, m=make: m()(t, training=True), x)


def test_config_round_trip_model_save_and_errors(tmp_path):
    for layer in (RandomBrightness((-0.2, 0.3), value_range=(0, 1), seed=3),
                  RandomGrayscale(0.25, seed=1), RandomInvert(0.5, value_range=(-1, 1))):
        cfg = layer.get_config()
        assert get_layer_class(type(layer).__name__).from_config(cfg).get_config() == cfg
    gn.set_seed(0)
    m = Sequential([RandomBrightness(0.1, value_range=(0, 1), input_shape=(4, 3, 3)),
                    RandomGrayscale(0.5), RandomInvert(0.2, value_range=(0, 1)), Flatten(),
                    Dense(2, activation="softmax")])
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = _rgb(n=16, hi=1.0)
    m.fit(x, np.arange(16) % 2, epochs=1, batch_size=8, verbose=0)
    m.save(tmp_path / "m.glassnet")
    np.testing.assert_allclose(load_model(tmp_path / "m.glassnet").predict(x, verbose=0),
                               m.predict(x, verbose=0), rtol=1e-6)
    for bad, match in ((lambda: RandomBrightness(1.5), "factor"),
                       (lambda: RandomInvert((-2, 0)), "factor"),
                       (lambda: RandomBrightness(0.1, value_range=1), "value_range"),
                       (lambda: RandomGrayscale(1.5), "factor")):
        with pytest.raises(ValueError, match=match):
            bad()
    with pytest.raises(ValueError, match="RGB images"):
        RandomGrayscale(1.0)(np.zeros((1, 2, 2, 1), np.float32), training=True)


@pytest.mark.skipif(not HAS_KERAS, reason="real Keras 3 is not installed")
def test_values_match_keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    KL = keras.layers
    x = _rgb()
    for ours, theirs in (
            (RandomBrightness((0.2, 0.2)), KL.RandomBrightness((0.2, 0.2))),
            (RandomBrightness((-0.3, -0.3), value_range=(0, 100)),
             KL.RandomBrightness((-0.3, -0.3), value_range=(0, 100))),
            (RandomGrayscale(1.0), KL.RandomGrayscale(1.0)),
            (RandomInvert((1.0, 1.0)), KL.RandomInvert((1.0, 1.0))),
            (RandomInvert((1.0, 1.0), value_range=(0, 1)),
             KL.RandomInvert((1.0, 1.0), value_range=(0, 1)))):
        want = keras.ops.convert_to_numpy(theirs(x, training=True))
        np.testing.assert_allclose(ours(x, training=True).data, want, rtol=1e-5, atol=1e-4,
                                   err_msg=type(ours).__name__)
        np.testing.assert_array_equal(ours(x).data,
                                      keras.ops.convert_to_numpy(theirs(x, training=False)))
        k, g = theirs.get_config()["factor"], ours.get_config()["factor"]
        assert np.allclose(np.ravel(k), np.ravel(g)), (k, g)
