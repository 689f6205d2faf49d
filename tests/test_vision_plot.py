"""Vision pictures: filters, feature maps, misclassified images (panels hold the right data)."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.layers import Conv2D, Dense, Flatten, MaxPooling2D
from glassnet.models import Sequential

pytest.importorskip("matplotlib")


def _image_axes(fig):
    return [ax for ax in fig.axes if ax.images]


def test_filters_from_kernel_array_draws_each_filter(tmp_path):
    k = np.random.default_rng(0).standard_normal((3, 3, 1, 8))
    path = tmp_path / "filters.png"
    fig = gn.plot.filters(k, save=str(path))
    axes = _image_axes(fig)
    assert len(axes) == 8
    for i, ax in enumerate(axes):
        np.testing.assert_allclose(ax.images[0].get_array(), k[:, :, 0, i])
    assert path.stat().st_size > 1000 and path.read_bytes()[:4] == b"\x89PNG"


def test_filters_from_conv_layer_and_rgb_kernels():
    gn.set_seed(0)
    conv = Conv2D(32, 3)
    conv(np.zeros((1, 8, 8, 1), np.float32))
    fig = gn.plot.filters(conv, max_filters=16)
    assert len(_image_axes(fig)) == 16
    np.testing.assert_allclose(_image_axes(fig)[5].images[0].get_array(),
                               conv.kernel.data[:, :, 0, 5])
    rgb = gn.plot.filters(np.random.default_rng(1).standard_normal((5, 5, 3, 4)))
    assert [ax.images[0].get_array().shape for ax in _image_axes(rgb)] == [(5, 5, 3)] * 4
    with pytest.raises(ValueError, match="kernel \\(kh, kw, in, out\\).*Received: shape"):
        gn.plot.filters(np.zeros((3, 3)))


def _small_cnn():
    gn.set_seed(0)
    model = Sequential([Conv2D(6, 3, activation="relu", input_shape=(10, 10, 1), name="c1"),
                        MaxPooling2D(2, name="p1"), Flatten(), Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


def test_feature_maps_show_the_layer_activations(tmp_path):
    model = _small_cnn()
    x = np.random.default_rng(0).random((4, 10, 10, 1)).astype(np.float32)
    fig = gn.plot.feature_maps(model, x[1], "c1", save=str(tmp_path / "fm.png"))
    want = model.layers[0](x[1:2]).data[0]
    axes = _image_axes(fig)
    assert len(axes) == 6
    for i, ax in enumerate(axes):
        np.testing.assert_allclose(ax.images[0].get_array(), want[:, :, i], rtol=1e-6)
    pooled = gn.plot.feature_maps(model, x, 1, max_maps=4)  # by index; first image of a batch
    want = model.layers[1](model.layers[0](x[:1])).data[0]
    assert len(_image_axes(pooled)) == 4
    np.testing.assert_allclose(_image_axes(pooled)[3].images[0].get_array(), want[:, :, 3],
                               rtol=1e-6)
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
