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
    assert isinstance(history, gn.callbacks.History)
    assert len(history.history["d_loss"]) == len(history.history["g_loss"]) == 20


def test_gan_fit_is_the_shared_loop_with_history_and_callbacks():
    """GAN.train_step inside Model.fit (Keras 3): callbacks see every hook and the logs."""
    seen = []

    class Spy(gn.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(("batch", batch, sorted(logs)))

        def on_epoch_end(self, epoch, logs=None):
            seen.append(("epoch", epoch, dict(logs)))
            self.model.stop_training = True  # callbacks steer the GAN's loop too

    gn.set_seed(3)
    gan = GAN(_MLP(8, 2), _MLP(8, 1), latent_dim=2)
    gan.compile(gn.optimizers.Adam(1e-3), gn.optimizers.Adam(1e-3), from_logits=True)
    x = np.random.default_rng(0).standard_normal((40, 2)).astype(np.float32)
    h = gan.fit(x, epochs=3, batch_size=16, callbacks=[Spy()])
    assert isinstance(h, gn.callbacks.History) and h.epoch == [0]  # stopped by a callback
    assert [s[:2] for s in seen] == [("batch", 0), ("batch", 1), ("batch", 2), ("epoch", 0)]
    assert seen[0][2] == ["d_loss", "g_loss"]
    # the epoch's logs are the epoch means of the per-step losses (the trackers)
    assert seen[-1][2] == {k: v[0] for k, v in h.history.items()}


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


def test_sample_grid_noise_is_reproducible_from_the_seed(tmp_path):
    from glassnet.models.gan import SampleGrid

    def grid_noise(seed=None, global_seed=0):
        gn.set_seed(global_seed)
        gan = GAN(_MLP(4, 2), _MLP(4, 1), latent_dim=3)
        cb = SampleGrid(tmp_path, n=5, seed=seed)
        cb.set_gan(gan)
        return cb.z

    np.testing.assert_array_equal(grid_noise(global_seed=3), grid_noise(global_seed=3))
    assert not np.array_equal(grid_noise(global_seed=3), grid_noise(global_seed=4))
    np.testing.assert_array_equal(grid_noise(seed=7, global_seed=3),
                                  grid_noise(seed=7, global_seed=4))
    z = grid_noise(seed=7)
    assert z.shape == (5, 3) and z.dtype == np.float32
    np.testing.assert_allclose(z, np.random.default_rng(7).standard_normal((5, 3)), rtol=1e-6)


@pytest.mark.parametrize("from_logits, smoothing", [(True, 0.0), (False, 0.1)])
def test_one_train_step_matches_pytorch(from_logits, smoothing):
    torch = pytest.importorskip("torch")
    gn.set_seed(0)
    g_net, d_net = Dense(3, activation="tanh"), Dense(1, activation=None if from_logits
                                                     else "sigmoid")
    gan = GAN(g_net, d_net, latent_dim=2)
    gan.compile(gn.optimizers.SGD(0.1), gn.optimizers.SGD(0.2), from_logits=from_logits,
                label_smoothing=smoothing)
    rng = np.random.default_rng(1)
    real = rng.standard_normal((6, 3)).astype(np.float32)
    zs = [rng.standard_normal((6, 2)).astype(np.float32) for _ in range(2)]
    gan.sample(1)  # build both nets
    d_net(np.zeros((1, 3), np.float32))
    gw, gb = (torch.tensor(w, requires_grad=True) for w in g_net.get_weights())
    dw, db = (torch.tensor(w, requires_grad=True) for w in d_net.get_weights())
    queue = list(zs)
    gan.noise = lambda n: gn.Tensor._make(queue.pop(0))
    logs = {k: float(v) for k, v in gan.train_step(real).items()}
    assert all(w.requires_grad and w.grad is None for w in d_net.weights + g_net.weights)

    def D(x):
        a = x @ dw + db
        return a if from_logits else torch.sigmoid(a)

    def bce(out, t):
        if from_logits:
            return torch.nn.functional.binary_cross_entropy_with_logits(out, torch.full_like(
                out, t))
        return torch.nn.functional.binary_cross_entropy(out, torch.full_like(out, t))

    G = lambda z: torch.tanh(torch.tensor(z) @ gw + gb)  # noqa: E731
    d_loss = bce(D(torch.tensor(real)), 1 - smoothing) + bce(D(G(zs[0]).detach()), 0.0)
    d_loss.backward()
    with torch.no_grad():
        dw -= 0.2 * dw.grad
        db -= 0.2 * db.grad
    gw.grad = None
    g_loss = bce(D(G(zs[1])), 1.0)
    g_loss.backward()
    with torch.no_grad():
        gw -= 0.1 * gw.grad
        gb -= 0.1 * gb.grad
    np.testing.assert_allclose(logs["d_loss"], d_loss.item(), rtol=1e-5)
    np.testing.assert_allclose(logs["g_loss"], g_loss.item(), rtol=1e-5)
    for ours, ref in zip(d_net.get_weights() + g_net.get_weights(), (dw, db, gw, gb)):
        np.testing.assert_allclose(ours, ref.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_gan_rejects_bad_data_and_noise():
    gan = GAN(_MLP(4, 2), _MLP(4, 1), latent_dim=2)
    gan.compile(gn.optimizers.Adam(1e-3), gn.optimizers.Adam(1e-3), from_logits=True)
    with pytest.raises(ValueError, match=r"Received: shape \(5,\)"):
        gan.fit(np.zeros(5))
    with pytest.raises(ValueError, match="NaN"):
        gan.fit(np.full((4, 2), np.nan))
    with pytest.raises(ValueError, match=r"z must have shape \(3, 2\)"):
        gan.sample(3, z=np.zeros((3, 5)))
    with pytest.raises(TypeError, match="Callback"):
        gan.fit(np.zeros((4, 2)), callbacks=[object()])
    with pytest.raises(RuntimeError, match="compile"):
        GAN(_MLP(4, 2), _MLP(4, 1), latent_dim=2).fit(np.zeros((4, 2)))


def test_trained_generator_saves_and_loads(tmp_path):
    from glassnet.models import Sequential, load_model

    gn.set_seed(2)
    g = Sequential([Dense(8, activation="relu", input_shape=(3,)), Dense(2)])
    d = Sequential([Dense(8, activation="relu", input_shape=(2,)), Dense(1)])
    gan = GAN(g, d, latent_dim=3)
    gan.compile(gn.optimizers.Adam(1e-3), gn.optimizers.Adam(1e-3), from_logits=True)
    gan.fit(np.random.default_rng(0).standard_normal((64, 2)), epochs=2, batch_size=16)
    g.save(tmp_path / "g.glassnet")
    z = np.random.default_rng(1).standard_normal((5, 3))
    back = GAN(load_model(tmp_path / "g.glassnet"), d, latent_dim=3)
    np.testing.assert_array_equal(back.sample(5, z=z), gan.sample(5, z=z))


def _small_gan(seed=2):
    from glassnet.models import Sequential

    gn.set_seed(seed)
    g = Sequential([Dense(8, activation="relu", input_shape=(3,)), Dense(2)])
    d = Sequential([Dense(8, activation="relu", input_shape=(2,)), Dense(1)])
    gan = GAN(g, d, latent_dim=3)
    gan.compile(gn.optimizers.Adam(1e-3, beta_1=0.5), gn.optimizers.RMSprop(2e-3),
                from_logits=True, label_smoothing=0.1)
    return gan


def test_whole_gan_saves_to_one_file_and_resumes_exactly(tmp_path):
    x = np.random.default_rng(0).standard_normal((64, 2)).astype("float32")
    gan = _small_gan()
    gan.fit(x, epochs=2, batch_size=16)
    gan.save(tmp_path / "gan.glassnet")
    back = GAN.load(tmp_path / "gan.glassnet")
    assert (back.latent_dim, back.from_logits, back.label_smoothing) == (3, True, 0.1)
    assert type(back.d_optimizer).__name__ == "RMSprop" and back.g_optimizer.beta_1 == 0.5
    z = np.random.default_rng(1).standard_normal((5, 3))
    np.testing.assert_array_equal(back.sample(5, z=z), gan.sample(5, z=z))
    # the optimizers' moments came back too: one more epoch from the same seed is identical
    runs = []
    for g in (gan, back):
        gn.set_seed(9)
        g.fit(x, epochs=1, batch_size=16)
        runs.append(g.generator.get_weights() + g.discriminator.get_weights())
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def test_gan_file_errors(tmp_path):
    import zipfile

    from glassnet.models.saving import ModelFileError

    with pytest.raises(ModelFileError, match="no such"):
        GAN.load(tmp_path / "missing.glassnet")
    gan = _small_gan()
    gan.save(tmp_path / "gan.glassnet")
    data = (tmp_path / "gan.glassnet").read_bytes()
    (tmp_path / "cut.glassnet").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="corrupted"):
        GAN.load(tmp_path / "cut.glassnet")
    with zipfile.ZipFile(tmp_path / "evil.glassnet", "w") as z:
        z.writestr("gan.json", '{"format": "glassnet-gan"}')
        z.writestr("payload.pkl", b"cos\nsystem\n(S'echo pwned'\ntR.")
    with pytest.raises(ModelFileError, match="not a glassnet GAN file"):
        GAN.load(tmp_path / "evil.glassnet")
    # an ordinary model file is not a GAN file, and says so
    gan.generator.save(tmp_path / "g.glassnet")
    with pytest.raises(ModelFileError, match="not a glassnet GAN file"):
        GAN.load(tmp_path / "g.glassnet")
