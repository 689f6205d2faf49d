"""Keras 3's Fourier transforms (keras.ops.fft, fft2, ifft2, rfft, irfft): values equal
NumPy's (and Keras's, where installed), gradients equal central differences, edge
lengths (odd, even, cut, padded) and bad input refused by name."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import glassnet as gn

O = gn.ops
HAS_KERAS = importlib.util.find_spec("keras") is not None
R = np.random.default_rng(0)


def _weighted(f, wr, wi):
    """A scalar of both output parts, so the gradient check sees each."""
    def loss(*xs):
        out = f(*xs)
        if isinstance(out, tuple):
            return (out[0] * gn.tensor(wr)).sum() + (out[1] * gn.tensor(wi)).sum()
        return (out * gn.tensor(wr)).sum()
    return loss


@pytest.mark.parametrize("name,shape", [("fft", (3, 5)), ("fft", (4,)), ("fft2", (2, 3, 4)),
                                        ("ifft2", (2, 4, 3)), ("fft2", (1, 1))])
def test_complex_transforms_match_numpy_with_gradients(name, shape):
    xr, xi = R.standard_normal(shape), R.standard_normal(shape)
    real, imag = getattr(O, name)((xr, xi))
    ref = {"fft": np.fft.fft, "fft2": np.fft.fft2, "ifft2": np.fft.ifft2}[name](xr + 1j * xi)
    np.testing.assert_allclose(real.data, ref.real, atol=1e-12)
    np.testing.assert_allclose(imag.data, ref.imag, atol=1e-12)
    f = getattr(O, name)
    wr, wi = R.standard_normal(shape), R.standard_normal(shape)
    gn.gradcheck(_weighted(lambda p, q: f((p, q)), wr, wi), xr, xi)
    assert f((xr.astype("float32"), xi.astype("float32")))[0].data.dtype == np.float32


@pytest.mark.parametrize("n,length", [(None, 6), (None, 5), (4, 6), (9, 6), (1, 3)])
def test_rfft_and_its_inverse(n, length):
    x = R.standard_normal((2, length))
    real, imag = O.rfft(x, n)
    ref = np.fft.rfft(x, n=n)
    np.testing.assert_allclose(real.data + 1j * imag.data, ref, atol=1e-12)
    wr, wi = R.standard_normal(ref.shape), R.standard_normal(ref.shape)
    gn.gradcheck(_weighted(lambda p: O.rfft(p, n), wr, wi), x)
    # the inverse, from the half spectrum back (its default length 2(m-1))
    back = O.irfft((real, imag), n if n else length)
    np.testing.assert_allclose(back.data, np.fft.irfft(ref, n=n or length), atol=1e-12)


@pytest.mark.parametrize("n", [None, 6, 7, 3, 10])
def test_irfft_gradient_ignores_what_numpy_ignores(n):
    zr, zi = R.standard_normal((3, 4)), R.standard_normal((3, 4))
    y = O.irfft((zr, zi), n)
    np.testing.assert_allclose(y.data, np.fft.irfft(zr + 1j * zi, n=n), atol=1e-12)
    w = R.standard_normal(y.shape)
    gn.gradcheck(_weighted(lambda p, q: O.irfft((p, q), n), w, None), zr, zi)


def test_fnet_mixing_trains_in_a_model():
    """keras.io's FNet token mixing inside a layer: the step replays and learns."""
    class FNetMix(gn.layers.Layer):
        def call(self, x):
            return O.fft2((x, O.zeros_like(x)))[0] + x

    gn.set_seed(0)
    i = gn.Input((4, 3))
    h = gn.layers.Dense(3)(FNetMix()(gn.layers.Dense(3)(i)))
    m = gn.Model(i, gn.layers.Dense(1)(gn.layers.Flatten()(h)))
    m.compile(gn.optimizers.Adam(0.01), "mse")
    x = R.standard_normal((64, 4, 3)).astype("float32")
    y = x.sum(axis=(1, 2))[:, None]
    losses = m.fit(x, y, epochs=30, batch_size=16, verbose=0).history["loss"]
    assert losses[-1] < 0.05 * losses[0]


def test_bad_input_is_refused_by_name():
    with pytest.raises(ValueError, match="fft2: x must be a tuple"):
        O.fft2(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="same shape"):
        O.fft((np.zeros(3), np.zeros(4)))
    with pytest.raises(ValueError, match="float"):
        O.fft((np.zeros(3, int), np.zeros(3, int)))
    with pytest.raises(ValueError, match="at least 2"):
        O.fft2((np.zeros(3), np.zeros(3)))
    with pytest.raises(ValueError, match="fft_length"):
        O.rfft(np.zeros(4), fft_length=0)


@pytest.mark.skipif(not HAS_KERAS, reason="real Keras 3 is not installed")
def test_transforms_match_keras():
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    xr = R.standard_normal((2, 4, 6)).astype("float32")
    xi = R.standard_normal((2, 4, 6)).astype("float32")
    c = keras.ops.convert_to_numpy
    for name in ("fft", "fft2", "ifft2"):
        kr, ki = getattr(keras.ops, name)((xr, xi))
        gr, gi = getattr(O, name)((xr, xi))
        np.testing.assert_allclose(gr.data, c(kr), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(gi.data, c(ki), rtol=1e-4, atol=1e-4)
    kr, ki = keras.ops.rfft(xr, fft_length=8)
    gr, gi = O.rfft(xr, fft_length=8)
    np.testing.assert_allclose(gr.data, c(kr), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gi.data, c(ki), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(O.irfft((gr, gi), 8).data, c(keras.ops.irfft((kr, ki), 8)),
                               rtol=1e-4, atol=1e-4)
