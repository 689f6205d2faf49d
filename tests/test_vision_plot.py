"""Vision pictures: filters, feature maps, misclassified images (panels hold the right data)."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.layers import Conv2D, Dense, Flatten, MaxPooling2D
from glassnet.models import Sequential

pytest.importorskip("matplotlib")


def _image_axes(fig):
    return [ax for ax in fig.axes if ax.images]


def _tile(fig, i, h, w, cols, pad=1):
    """Tile i of the single-image mosaic that filters/feature_maps draw."""
    canvas = np.ma.getdata(_image_axes(fig)[0].images[0].get_array())
    r, c = divmod(i, cols)
    return canvas[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w]


def _tile_count(fig, h, w, pad=1):
    canvas = np.ma.getdata(_image_axes(fig)[0].images[0].get_array())
    rows, cols = (canvas.shape[0] + pad) // (h + pad), (canvas.shape[1] + pad) // (w + pad)
    filled = [not np.isnan(_tile(fig, i, h, w, cols, pad)).all() for i in range(rows * cols)]
    return sum(filled), cols


def test_filters_from_kernel_array_draws_each_filter(tmp_path):
    k = np.random.default_rng(0).standard_normal((3, 3, 1, 8))
    path = tmp_path / "filters.png"
    fig = gn.plot.filters(k, ncols=4, save=str(path))
    assert len(_image_axes(fig)) == 1  # one mosaic image (fast), plus a colour bar
    assert _tile_count(fig, 3, 3) == (8, 4)
    for i in range(8):
        np.testing.assert_allclose(_tile(fig, i, 3, 3, 4), k[:, :, 0, i])
    assert path.stat().st_size > 1000 and path.read_bytes()[:4] == b"\x89PNG"


def test_filters_from_conv_layer_and_rgb_kernels():
    gn.set_seed(0)
    conv = Conv2D(32, 3)
    conv(np.zeros((1, 8, 8, 1), np.float32))
    fig = gn.plot.filters(conv, max_filters=16)
    assert _tile_count(fig, 3, 3) == (16, 4)
    np.testing.assert_allclose(_tile(fig, 5, 3, 3, 4), conv.kernel.data[:, :, 0, 5])
    k = np.random.default_rng(1).standard_normal((5, 5, 3, 4))
    rgb = gn.plot.filters(k)
    t = _tile(rgb, 3, 5, 5, 2)
    want = (k[..., 3] - k[..., 3].min()) / np.ptp(k[..., 3])
    np.testing.assert_allclose(t, want)
    with pytest.raises(ValueError, match="kernel \\(kh, kw, in, out\\).*Received: shape"):
        gn.plot.filters(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="layer 'c9' is not built yet"):
        gn.plot.filters(Conv2D(4, 3, name="c9"))
    with pytest.raises(ValueError, match="layer 'flat' has no kernel"):
        flat = Flatten(name="flat")
        flat(np.zeros((1, 2, 2), np.float32))
        gn.plot.filters(flat)


def _small_cnn():
    gn.set_seed(0)
    model = Sequential([Conv2D(6, 3, activation="relu", input_shape=(10, 10, 1), name="c1"),
                        MaxPooling2D(2, name="p1"), Flatten(), Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


def _scaled(m):
    return (m - m.min()) / max(np.ptp(m), 1e-12)


def test_feature_maps_show_the_layer_activations(tmp_path):
    model = _small_cnn()
    x = np.random.default_rng(0).random((4, 10, 10, 1)).astype(np.float32)
    fig = gn.plot.feature_maps(model, x[1], "c1", save=str(tmp_path / "fm.png"))
    want = model.layers[0](x[1:2]).data[0]
    assert _tile_count(fig, 8, 8) == (6, 3)
    for i in range(6):
        np.testing.assert_allclose(_tile(fig, i, 8, 8, 3), _scaled(want[:, :, i]), atol=1e-6)
    pooled = gn.plot.feature_maps(model, x, 1, max_maps=4)  # by index; first image of a batch
    want = model.layers[1](model.layers[0](x[:1])).data[0]
    assert _tile_count(pooled, 4, 4) == (4, 2)
    np.testing.assert_allclose(_tile(pooled, 3, 4, 4, 2), _scaled(want[:, :, 3]), atol=1e-6)
    assert (tmp_path / "fm.png").exists()


def test_feature_maps_bad_layer():
    model = _small_cnn()
    x = np.zeros((10, 10, 1), np.float32)
    with pytest.raises(ValueError, match="no such layer.*'c1'.*Received: layer='nope'"):
        gn.plot.feature_maps(model, x, "nope")
    with pytest.raises(ValueError, match="does not output feature maps"):
        gn.plot.feature_maps(model, x, -1)


class _Fixed:
    """A classifier whose predictions are given (the picture logic is under test)."""

    def __init__(self, probs):
        self.probs = np.asarray(probs)

    def predict(self, x, verbose=0):
        return self.probs[: len(x)]


def test_misclassified_shows_wrong_ones_with_labels(tmp_path):
    x = np.random.default_rng(0).random((6, 5, 5, 1))
    y = np.array([0, 1, 2, 0, 1, 2])
    pred = np.array([0, 2, 2, 1, 1, 0])  # wrong at 1, 3, 5
    fig = gn.plot.misclassified(_Fixed(np.eye(3)[pred]), x, np.eye(3)[y],
                                save=str(tmp_path / "wrong.png"))
    axes = _image_axes(fig)
    assert [ax.get_title() for ax in axes] == ["1→2", "0→1", "2→0"]
    np.testing.assert_allclose(axes[1].images[0].get_array(), x[3, :, :, 0])
    assert (tmp_path / "wrong.png").exists()
    fig = gn.plot.misclassified(_Fixed(np.eye(3)[pred]), x, y, n=2, class_names="abc")
    assert [ax.get_title() for ax in _image_axes(fig)] == ["b→c", "a→b"]
    none = gn.plot.misclassified(_Fixed(np.eye(3)[y]), x, y)
    assert not _image_axes(none) and "no misclassified" in none.axes[0].texts[0].get_text()
    with pytest.raises(ValueError, match="6 images and 5 labels"):
        gn.plot.misclassified(_Fixed(np.eye(3)[y]), x, y[:5])


def _example(name):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_mnist_cnn_example_learns_and_draws(datasets_dir, tmp_path):
    res = _example("mnist_cnn").main(["--epochs", "1", "--subset", "300", "--test-subset",
                                      "100", "--verbose", "0", "--figures", str(tmp_path)])
    assert res["accuracy"] > 0.2  # chance is 0.1; the full run reaches 99 % (docs/vision.md)
    for name in ("cnn_filters", "cnn_maps1", "cnn_maps2", "cnn_misclassified", "cnn_history"):
        assert (tmp_path / f"{name}.png").stat().st_size > 1000


def test_regularization_example_runs_every_variant(datasets_dir, tmp_path):
    mod = _example("regularization_mnist")
    fig = tmp_path / "reg.png"
    res = mod.main(["--train", "200", "--val", "100", "--test", "200", "--epochs", "3",
                    "--seeds", "1", "--figure", str(fig)])
    assert list(res) == list(mod.VARIANTS)
    for runs in res.values():
        assert 0.1 < runs[0]["test_accuracy"] <= 1.0
        assert 1 <= runs[0]["epochs_run"] <= 3
        assert len(runs[0]["history"]["val_loss"]) == runs[0]["epochs_run"]
    assert fig.stat().st_size > 1000
