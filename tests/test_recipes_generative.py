"""Generative recipes (autoencoder, rbm, dbn, gan) and their pictures in gn.plot."""

import json

import numpy as np
import pytest

import glassnet as gn

pytest.importorskip("matplotlib")


class _Identity:
    def predict(self, x):
        return np.asarray(x) * 0.5


def _images_of(fig):
    return [ax.images[0].get_array() for ax in fig.axes if ax.images]


def test_reconstructions_draws_inputs_above_outputs():
    x = np.random.default_rng(0).random((5, 16)).astype(np.float32)
    fig = gn.plot.reconstructions(_Identity(), x, n=4)
    imgs = _images_of(fig)
    assert len(imgs) == 8
    for i in range(4):
        np.testing.assert_allclose(imgs[i], x[i].reshape(4, 4))
        np.testing.assert_allclose(imgs[4 + i], 0.5 * x[i].reshape(4, 4))
    with pytest.raises(ValueError, match="square"):
        gn.plot.reconstructions(_Identity(), np.zeros((2, 10)))


def test_latent_scatter_positions_and_projection():
    rng = np.random.default_rng(1)
    z = rng.standard_normal((30, 2))
    fig = gn.plot.latent_scatter(z, rng.integers(0, 3, 30))
    np.testing.assert_allclose(fig.axes[0].collections[0].get_offsets(), z)
    z5 = rng.standard_normal((40, 5)) * [5, 2, 1, 0.5, 0.1]
    # reference: the top-2 eigenvectors of the covariance matrix (SVD is what plot uses)
    zc = z5 - z5.mean(0)
    vals, vecs = np.linalg.eigh(np.cov(zc.T))
    ref = zc @ vecs[:, np.argsort(vals)[::-1][:2]]
    got = np.asarray(gn.plot.latent_scatter(z5).axes[0].collections[0].get_offsets())
    np.testing.assert_allclose(np.abs(got), np.abs(ref), rtol=1e-6, atol=1e-9)
    with pytest.raises(ValueError, match="at least 2"):
        gn.plot.latent_scatter(np.zeros((3, 1)))


def test_gan_losses_and_tiles():
    h = {"d_loss": [1.2, 1.0, 0.9], "g_loss": [0.8, 1.1, 1.3]}
    lines = gn.plot.gan_losses(h).axes[0].lines
    assert [list(ln.get_ydata()) for ln in lines] == [h["d_loss"], h["g_loss"]]
    with pytest.raises(ValueError, match="d_loss"):
        gn.plot.gan_losses({"loss": [1.0]})
    imgs = np.arange(5 * 6).reshape(5, 2, 3).astype(float)
    canvas = _images_of(gn.plot.tiles(imgs, ncols=2, pad=1))[0]
    assert canvas.shape == (3 * 3 + 1, 2 * 4 + 1)
    np.testing.assert_array_equal(canvas[1:3, 1:4], imgs[0])
    np.testing.assert_array_equal(canvas[4:6, 5:8], imgs[3])
    norm = _images_of(gn.plot.tiles(imgs, normalize=True))[0]
    assert np.nanmin(norm) == 0 and np.nanmax(norm) == 1


def test_autoencoder_recipe_run_saves_a_loadable_autoencoder(tmp_path, datasets_dir):
    from glassnet.datasets import mnist
    from glassnet.runner import train_recipe

    res = train_recipe("autoencoder", out_dir=tmp_path / "ae", fast=True, verbose=0)
    run = tmp_path / "ae"
    info = json.loads((run / "metrics.json").read_text())
    assert set(info["metrics"]) >= {"test_loss", "test_reconstruction_mse"}
    assert (run / "reconstructions_of_test_images.png").exists()
    assert (run / "codes_of_test_images_by_digit.png").exists()
    back = gn.models.load_model(run / "model.glassnet")
    assert isinstance(back, gn.models.Autoencoder)
    _, (x_te, _) = mnist.load_data()
    x = x_te[:200].reshape(200, -1).astype(np.float32) / 255.0
    assert back.reconstruction_error(x).mean() == pytest.approx(
        res["test_reconstruction_mse"], rel=1e-5)


def test_gan_and_dbn_recipes_report_their_pictures(datasets_dir):
    from glassnet.recipes import get

    for name, title in (("gan", "Generated digits"),
                        ("dbn", "First RBM filters after pretraining")):
        rec = get(name)
        gn.set_seed(0)
        cfg = {"seed": 0, "fast": True, **rec.fast, "fit": {"epochs": 1, "batch_size": 64}}
        data = rec.load_data(cfg)
        model = rec.build(data, cfg)
        hist = rec.train(model, data, cfg)
        assert hist and all(np.isfinite(v).all() for v in hist.values())
        metrics = rec.evaluate(model, data)
        assert title in data["extra_figures"]
        assert all(0.0 <= v <= 1.0 for k, v in metrics.items() if "accuracy" in k)
        if name == "dbn":
            assert len(data["x_train"]) == 100 and len(data["x_unlabelled"]) > 1000
            assert metrics["test_accuracy"] == model.score(data["x_test"], data["y_test"])
        else:
            assert data["x_train"].min() >= -1 and data["x_train"].max() <= 1
