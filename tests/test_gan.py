"""GAN on a 2-D toy mixture of 4 Gaussians on a circle: samples must move onto the modes."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.layers import Dense
from glassnet.layers.base import Layer
from glassnet.models.gan import GAN

MODES = np.array([[2.0, 0.0], [0.0, 2.0], [-2.0, 0.0], [0.0, -2.0]])


class _MLP(Layer):
    # Stand-in for Sequential so the test only depends on the layer engine.
    def __init__(self, hidden, out, **kwargs):
        super().__init__(**kwargs)
        self.a = Dense(hidden, activation="relu")
        self.b = Dense(out)

    def call(self, x, training=False):
        return self.b(self.a(x))


def _on_modes(s):
    d = np.linalg.norm(s[:, None] - MODES[None], axis=2)
    near = d.min(1) < 0.5
    return near.mean(), np.bincount(d.argmin(1)[near], minlength=4)


def test_gan_moves_samples_onto_modes():
    gn.set_seed(0)
    rng = np.random.default_rng(0)
    x = MODES[rng.integers(0, 4, 2000)] + 0.05 * rng.normal(size=(2000, 2))
    gan = GAN(_MLP(32, 2), _MLP(32, 1), latent_dim=4)
    gan.compile(gn.optimizers.Adam(1e-3), gn.optimizers.Adam(1e-3), from_logits=True)
    before, _ = _on_modes(np.asarray(gan.sample(1000)))
    history = gan.fit(x.astype("float32"), epochs=20, batch_size=64)
    after, counts = _on_modes(np.asarray(gan.sample(1000)))
    assert after > before + 0.04
    assert (counts >= 5).sum() >= 2
    assert isinstance(history, dict)


def test_gan_rejects_bad_arguments():
    with pytest.raises(ValueError, match="latent_dim"):
        GAN(_MLP(4, 2), _MLP(4, 1), latent_dim=0)
    gan = GAN(_MLP(4, 2), _MLP(4, 1), latent_dim=2)
    with pytest.raises(ValueError, match="label_smoothing"):
        gan.compile(label_smoothing=0.7)


def test_sample_grid_saves_one_png_per_epoch(tmp_path):
    pytest.importorskip("matplotlib")
    from glassnet.models.gan import SampleGrid

    gn.set_seed(1)
    gan = GAN(_MLP(8, 16), _MLP(8, 1), latent_dim=3)
    gan.compile(gn.optimizers.Adam(1e-3), gn.optimizers.Adam(1e-3), from_logits=True)
    cb = SampleGrid(tmp_path, n=4, image_shape=(4, 4))
    gan.fit(np.random.default_rng(0).random((32, 16)), epochs=2, batch_size=16, callbacks=[cb])
    assert [p.name for p in cb.paths] == ["epoch-001.png", "epoch-002.png"]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in cb.paths)
