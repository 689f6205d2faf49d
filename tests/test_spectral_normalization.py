"""SpectralNormalization (layers/spectral_normalization.py): the kernel's largest singular
value goes to 1 in training and stays put at inference; Keras's weights order; errors. Its
training beside real Keras is tests/test_fit_matches_keras.py's spectral_normalization."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import layers as L


def test_training_calls_bring_the_spectral_norm_to_one_and_inference_leaves_it():
    gn.set_seed(0)
    sn = L.SpectralNormalization(L.Conv2D(4, 3), power_iterations=1)
    x = np.random.default_rng(0).normal(size=(2, 6, 6, 3)).astype("float32")
    sn(x)  # builds; inference: the kernel as it stands
    before = sn.layer.kernel.numpy().copy()
    sn(x)
    np.testing.assert_array_equal(sn.layer.kernel.numpy(), before)
    for _ in range(30):
        sn(x, training=True)
    w = sn.layer.kernel.numpy().reshape(-1, 4)
    assert np.linalg.svd(w, compute_uv=False)[0] == pytest.approx(1.0, rel=1e-4)
    assert [v.name.split("/")[-1] for v in sn.weights] == ["kernel", "vector_u", "bias"]
    assert [v.name.split("/")[-1] for v in sn.trainable_weights] == ["kernel", "bias"]


def test_a_layer_without_a_kernel_and_bad_iterations_are_refused_by_name():
    with pytest.raises(ValueError, match="'sn'.*power_iterations must be a positive int"):
        L.SpectralNormalization(L.Dense(2), power_iterations=0, name="sn")
    with pytest.raises(ValueError, match="'sn2'.*Dropout has neither a 'kernel' nor"):
        L.SpectralNormalization(L.Dropout(0.1), name="sn2")(np.ones((2, 3), "float32"))


def test_a_model_trains_saves_and_loads_with_it(tmp_path):
    gn.set_seed(1)
    m = gn.Sequential([gn.Input((4,)), L.SpectralNormalization(L.Dense(8, activation="relu")),
                       L.Dense(1)])
    m.compile("adam", "mse")
    x = np.random.default_rng(1).normal(size=(32, 4)).astype("float32")
    start = [w.copy() for w in m.get_weights()]
    h = m.fit(x, x[:, :1] * 2, epochs=5, verbose=0)
    assert np.isfinite(h.history["loss"]).all()
    assert all(not np.array_equal(a, b) for a, b in zip(start, m.get_weights()))  # u too
    m.save(tmp_path / "m.glassnet")
    back = gn.models.load_model(tmp_path / "m.glassnet")
    np.testing.assert_array_equal(back.predict(x, verbose=0), m.predict(x, verbose=0))
