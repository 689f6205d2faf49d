"""Autoencoder: learns to reconstruct, encode/decode shapes, denoising layers, save/load."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.layers import Dense, GaussianNoise
from glassnet.models import Autoencoder, Sequential, dense_autoencoder, load_model


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    return (load_digits().data[:600] / 16.0).astype(np.float32)


def test_reconstruction_error_falls_with_training(digits):
    gn.set_seed(0)
    ae = dense_autoencoder(64, hidden=(32,), code_dim=8)
    ae.compile("adam", "binary_crossentropy")
    before = ae.reconstruction_error(digits).mean()
    hist = ae.fit(digits, digits, epochs=8, batch_size=32, verbose=0).history["loss"]
    after = ae.reconstruction_error(digits).mean()
    assert after < 0.5 * before
    assert hist[-1] < hist[0]
    # the 8-number code carries information: better than predicting the mean image
    assert after < ((digits - digits.mean(0)) ** 2).mean()


def test_encode_decode_shapes_and_consistency(digits):
    gn.set_seed(1)
    ae = dense_autoencoder(64, hidden=(16,), code_dim=2)
    codes = ae.encode(digits[:10], batch_size=3)
    assert codes.shape == (10, 2)
    rec = ae.decode(codes)
    assert rec.shape == (10, 64)
    np.testing.assert_allclose(rec, ae.predict(digits[:10]), rtol=1e-6, atol=1e-7)
    assert rec.min() >= 0 and rec.max() <= 1  # sigmoid output
    ref = ((rec - digits[:10]) ** 2).mean(axis=1)
    np.testing.assert_allclose(ae.reconstruction_error(digits[:10]), ref, rtol=1e-5)


def test_code_matches_hand_written_forward(digits):
    gn.set_seed(2)
    ae = dense_autoencoder(64, hidden=(16,), code_dim=4, code_activation="tanh")
    (w1, b1), (w2, b2) = [ly.get_weights() for ly in ae.encoder.layers]
    ref = np.tanh(np.maximum(digits[:5] @ w1 + b1, 0) @ w2 + b2)
    np.testing.assert_allclose(ae.encode(digits[:5]), ref, rtol=1e-5, atol=1e-6)


def test_gradients_of_the_whole_autoencoder(digits):
    gn.set_seed(3)
    ae = dense_autoencoder(64, hidden=(8,), code_dim=3)
    ae.compile("adam", "mse")
    report = ae.check_gradients(digits[:4], digits[:4])
    assert len(report) == 4  # every Dense of encoder and decoder was checked


def test_denoising_layers_are_off_at_inference(digits):
    gn.set_seed(4)
    ae = dense_autoencoder(64, hidden=(16,), code_dim=4, noise_stddev=0.5, dropout=0.2)
    kinds = [type(ly).__name__ for ly in ae.encoder.layers]
    assert kinds[:2] == ["GaussianNoise", "Dropout"]
    a, b = ae.encode(digits[:20]), ae.encode(digits[:20])
    np.testing.assert_array_equal(a, b)
    clean = Sequential([Dense(16, activation="relu", input_shape=(64,)), Dense(4)])
    clean.set_weights(ae.encoder.get_weights())
    np.testing.assert_allclose(a, clean.predict(digits[:20]), rtol=1e-6, atol=1e-7)
    noisy = ae(digits[:20], training=True).data
    assert not np.allclose(noisy, ae.predict(digits[:20]))


def test_denoising_autoencoder_removes_noise(digits):
    rng = np.random.default_rng(0)
    noisy = np.clip(digits + 0.5 * rng.standard_normal(digits.shape), 0, 1).astype(np.float32)
    err = {}
    for stddev in (0.3, 0.0):  # denoising vs plain, same architecture, seed and epochs
        gn.set_seed(5)
        ae = dense_autoencoder(64, hidden=(64,), code_dim=16, noise_stddev=stddev)
        ae.compile("adam", "binary_crossentropy")
        ae.fit(digits, digits, epochs=20, batch_size=32, verbose=0)
        err[stddev] = ((ae.predict(noisy) - digits) ** 2).mean()
    assert err[0.3] < 0.5 * ((noisy - digits) ** 2).mean()
    assert err[0.3] < err[0.0]  # trained on corrupted inputs, it cleans them better


def test_save_load_round_trip(tmp_path, digits):
    gn.set_seed(6)
    ae = dense_autoencoder(64, hidden=(16,), code_dim=4, noise_stddev=0.1)
    ae.compile(gn.optimizers.Adam(1e-3), "mse")
    ae.fit(digits[:100], digits[:100], epochs=1, batch_size=20, verbose=0)
    ae.save(tmp_path / "ae.glassnet")
    back = load_model(tmp_path / "ae.glassnet")
    assert isinstance(back, Autoencoder)
    np.testing.assert_array_equal(back.predict(digits), ae.predict(digits))
    np.testing.assert_array_equal(back.encode(digits), ae.encode(digits))
    # the optimizer state came back too: one more identical step gives identical weights
    gn.set_seed(9)  # the same noise for both steps
    ae.train_on_batch(digits[:20], digits[:20])
    gn.set_seed(9)
    back.train_on_batch(digits[:20], digits[:20])
    for w1, w2 in zip(ae.get_weights(), back.get_weights()):
        np.testing.assert_allclose(w1, w2, rtol=1e-6, atol=1e-7)


def test_save_load_when_only_fit_knew_the_input_shape(tmp_path, digits):
    gn.set_seed(7)
    ae = Autoencoder(Sequential([Dense(5, activation="relu")]),
                     Sequential([Dense(64, activation="sigmoid")]))
    ae.compile("adam", "mse")
    ae.fit(digits[:50], digits[:50], epochs=1, verbose=0)
    ae.save(tmp_path / "ae.glassnet")
    back = load_model(tmp_path / "ae.glassnet")
    np.testing.assert_array_equal(back.predict(digits[:9]), ae.predict(digits[:9]))


def test_bad_input_is_reported():
    with pytest.raises(TypeError, match="encoder must be a glassnet Layer"):
        Autoencoder("dense", Dense(3))
    enc = Dense(3)
    with pytest.raises(ValueError, match="two different"):
        Autoencoder(enc, enc)
    ae = dense_autoencoder(64, hidden=(8,), code_dim=2)
    with pytest.raises(ValueError, match=r"64\)\. Received: input shape \(3, 10\)"):
        ae.encode(np.zeros((3, 10), np.float32))
    with pytest.raises(ValueError, match="batch_size"):
        ae.encode(np.zeros((3, 64), np.float32), batch_size=0)
    with pytest.raises(ValueError, match="hidden"):
        dense_autoencoder(64, hidden=(0,))
    # a decoder that does not give back the input's shape is named in the error
    odd = Autoencoder(Sequential([Dense(4, input_shape=(6,))]), Sequential([Dense(5)]))
    with pytest.raises(ValueError, match="differs from the input shape"):
        odd.reconstruction_error(np.zeros((2, 6), np.float32))


def test_noise_layer_placed_by_hand_works_too(digits):
    gn.set_seed(8)
    enc = Sequential([GaussianNoise(0.2, input_shape=(64,)), Dense(8, activation="relu")])
    dec = Sequential([Dense(64, activation="sigmoid", input_shape=(8,))])
    ae = Autoencoder(enc, dec)
    ae.compile("adam", "binary_crossentropy")
    h = ae.fit(digits, digits, epochs=4, batch_size=32, verbose=0).history["loss"]
    assert h[-1] < h[0]


def test_conv_autoencoder_shapes_training_and_save_load(tmp_path, digits):
    from glassnet.models import conv_autoencoder

    gn.set_seed(10)
    x = digits[:200].reshape(-1, 8, 8, 1)
    ae = conv_autoencoder((8, 8, 1), filters=(8, 4))
    kinds = [type(ly).__name__ for ly in ae.encoder.layers + ae.decoder.layers]
    assert kinds == ["Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D",
                     "Conv2D", "UpSampling2D", "Conv2D", "UpSampling2D", "Conv2D"]
    codes = ae.encode(x[:7])
    assert codes.shape == (7, 2, 2, 4)
    assert ae.decode(codes).shape == (7, 8, 8, 1)
    # blank pixels and zero biases put ReLU exactly on its kink (numeric slopes undefined),
    # so the gradient check uses tanh units
    smooth = conv_autoencoder((8, 8, 1), filters=(8, 4), activation="tanh")
    smooth.compile("adam", "binary_crossentropy")
    assert len(smooth.check_gradients(x[:2], x[:2])) == 5  # the five convolutions
    ae.compile("adam", "binary_crossentropy")
    before = ae.reconstruction_error(x).mean()
    ae.fit(x, x, epochs=5, batch_size=20, verbose=0)
    assert ae.reconstruction_error(x).mean() < 0.8 * before
    ae.save(tmp_path / "cae.glassnet")
    back = load_model(tmp_path / "cae.glassnet")
    np.testing.assert_array_equal(back.predict(x), ae.predict(x))
    with pytest.raises(ValueError, match="divisible by 4"):
        conv_autoencoder((10, 10, 1), filters=(8, 4))
    with pytest.raises(ValueError, match="height, width, channels"):
        conv_autoencoder((28, 28))


def test_functional_encoder_and_decoder_save_and_load(tmp_path):
    from glassnet.models import load_model
    from glassnet.models.saving import ModelFileError, deserialize_layer

    gn.set_seed(0)
    i = gn.Input((6,))
    enc = gn.Model(i, Dense(2)(Dense(4, activation="relu")(i)))
    j = gn.Input((2,))
    dec = gn.Model(j, Dense(6)(j))
    ae = Autoencoder(enc, dec)
    ae.compile("adam", "mse")
    x = np.random.default_rng(0).random((20, 6)).astype(np.float32)
    ae.fit(x, x, epochs=2, verbose=0)
    ae.save(tmp_path / "ae.glassnet")
    back = load_model(tmp_path / "ae.glassnet")
    np.testing.assert_array_equal(back.encode(x), ae.encode(x))
    np.testing.assert_array_equal(back.predict(x, verbose=0), ae.predict(x, verbose=0))
    # a nested model entry is read through the same fixed table, and garbage is refused
    with pytest.raises(ModelFileError, match="Functional"):
        deserialize_layer({"class_name": "Functional", "config": {"layers": "rm -rf /"}})
