"""Augmentation layers: identity at inference, exact geometry, Keras's contrast formula,
reference resampling (PyTorch grid_sample), gradients, config and errors."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.layers import (
    Dense,
    Flatten,
    RandomContrast,
    RandomCrop,
    RandomFlip,
    RandomRotation,
    RandomTranslation,
    RandomZoom,
    get_layer_class,
)
from glassnet.layers.augmentation import augment
from glassnet.models import Sequential, load_model


def _images(n=6, h=8, w=8, c=2, seed=0):
    return np.random.default_rng(seed).random((n, h, w, c)).astype(np.float32)


def _shift(x, dy, dx):
    """Zero-filled shift of (N, H, W, C) images: np.roll then blank the wrapped rows/cols."""
    y = np.roll(x, (dy, dx), axis=(1, 2))
    if dy > 0:
        y[:, :dy] = 0
    elif dy < 0:
        y[:, dy:] = 0
    if dx > 0:
        y[:, :, :dx] = 0
    elif dx < 0:
        y[:, :, dx:] = 0
    return y


ALL_LAYERS = [
    lambda: RandomTranslation(0.2, 0.2),
    lambda: RandomFlip(),
    lambda: RandomRotation(0.1),
    lambda: RandomZoom(0.2, 0.1),
    lambda: RandomContrast(0.3),
]


@pytest.mark.parametrize("make", ALL_LAYERS)
def test_identity_at_inference(make):
    x = _images()
    y = make()(x, training=False)
    np.testing.assert_array_equal(y.data, x)


@pytest.mark.parametrize("make", ALL_LAYERS)
def test_training_changes_images_and_is_seeded(make):
    x = _images()
    gn.set_seed(3)
    a = make()(x, training=True).data
    gn.set_seed(3)
    b = make()(x, training=True).data
    np.testing.assert_array_equal(a, b)
    assert a.shape == x.shape and a.dtype == np.float32
    assert not np.array_equal(a, x)


def test_layer_seed_gives_private_stream():
    x = _images()
    gn.set_seed(0)
    a = RandomRotation(0.2, seed=7)(x, training=True).data
    gn.set_seed(99)  # the global seed must not matter when the layer has its own
    b = RandomRotation(0.2, seed=7)(x, training=True).data
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dy,dx", [(1, 1), (-1, 0), (0, -1), (2, -1)])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_integral_translation_equals_roll_with_zero_fill(dy, dx, interpolation):
    x = _images(h=8, w=8)
    layer = RandomTranslation((dy / 8, dy / 8), (dx / 8, dx / 8), fill_mode="constant",
                              interpolation=interpolation)
    np.testing.assert_array_equal(layer(x, training=True).data, _shift(x, dy, dx))


def test_translation_of_28px_mnist_size_is_exact_too():
    # 1/28 * 28 is not exactly 1.0 in floating point; positions are snapped to whole pixels
    x = _images(h=28, w=28, c=1)
    layer = RandomTranslation((1 / 28, 1 / 28), (-3 / 28, -3 / 28), fill_mode="constant")
    np.testing.assert_array_equal(layer(x, training=True).data, _shift(x, 1, -3))


def test_constant_fill_value():
    x = _images()
    y = RandomTranslation((0.25, 0.25), 0.0, fill_mode="constant", fill_value=-2.0)(
        x, training=True).data
    np.testing.assert_array_equal(y[:, :2], -2.0)
    np.testing.assert_array_equal(y[:, 2:], x[:, :-2])


@pytest.mark.parametrize("mode,ref", [
    ("nearest", lambda x: np.concatenate([x[:, :1], x[:, :1], x[:, :-2]], axis=1)),
    ("reflect", lambda x: np.concatenate([x[:, 1::-1], x[:, :-2]], axis=1)),
    ("wrap", lambda x: np.roll(x, 2, axis=1)),
])
def test_fill_modes(mode, ref):
    x = _images()
    y = RandomTranslation((0.25, 0.25), 0.0, fill_mode=mode)(x, training=True).data
    np.testing.assert_array_equal(y, ref(x))


def test_flip_equals_reversed_axis():
    x = _images(n=32)
    gn.set_seed(1)
    y = RandomFlip("horizontal")(x, training=True).data
    flipped = [np.array_equal(y[i], x[i, :, ::-1]) for i in range(32)]
    kept = [np.array_equal(y[i], x[i]) for i in range(32)]
    assert all(f or k for f, k in zip(flipped, kept))
    assert 4 < sum(flipped) < 28  # each image flipped with probability 1/2
    yv = RandomFlip("vertical")(x, training=True).data
    assert all(np.array_equal(yv[i], x[i, ::-1]) or np.array_equal(yv[i], x[i])
               for i in range(32))


def test_rotation_by_half_turn_is_double_flip_and_quarter_is_rot90():
    x = _images(h=7, w=7)
    y = RandomRotation((0.5, 0.5), fill_mode="constant")(x, training=True).data
    np.testing.assert_array_equal(y, x[:, ::-1, ::-1])
    y = RandomRotation((0.25, 0.25), fill_mode="constant")(x, training=True).data
    np.testing.assert_array_equal(y, np.rot90(x, 1, axes=(1, 2)))  # counter-clockwise
    # a half turn of a non-square image too
    x = _images(h=5, w=9)
    y = RandomRotation((-0.5, -0.5))(x, training=True).data
    np.testing.assert_array_equal(y, x[:, ::-1, ::-1])


@pytest.mark.parametrize("interp", ["bilinear", "nearest"])
def test_rotation_zoom_translation_match_torch_grid_sample(interp):
    torch = pytest.importorskip("torch")
    from glassnet.layers import augmentation as A

    n, s = 4, 9
    x = _images(n=n, h=s, w=s, c=3, seed=5).astype(np.float64)
    g = np.random.default_rng(0)
    theta = g.uniform(-np.pi, np.pi, n)
    zoom = g.uniform(0.7, 1.4, n)
    dy, dx = g.uniform(-2, 2, n), g.uniform(-2, 2, n)
    mats = (A.zoom_matrices(zoom, zoom, s, s) @ A.rotation_matrices(theta, s, s)
            @ A.translation_matrices(dy, dx))
    ours = A.resample(gn.tensor(x, dtype="float64"), mats, interpolation=interp,
                      fill_mode="constant").data
    # the same map in grid_sample's normalized coordinates (square image: one scale)
    k = (s - 1) / 2.0
    th = np.zeros((n, 2, 3))
    th[:, :, :2] = mats[:, :2, :2]
    th[:, :, 2] = (mats[:, :2, :2] @ np.full(2, k) + mats[:, :2, 2] - k) / k
    grid = torch.nn.functional.affine_grid(torch.from_numpy(th), (n, 3, s, s),
                                           align_corners=True)
    ref = torch.nn.functional.grid_sample(
        torch.from_numpy(x).permute(0, 3, 1, 2), grid, mode=interp, padding_mode="zeros",
        align_corners=True).permute(0, 2, 3, 1).numpy()
    if interp == "bilinear":
        np.testing.assert_allclose(ours, ref, atol=1e-9)
    else:  # ties at exactly .5 may round differently; they are rare and must stay rare
        assert np.mean(np.abs(ours - ref) > 1e-9) < 0.02


def test_zoom_out_by_factor_one_halves_the_image():
    x = np.zeros((1, 9, 9, 1), np.float32)
    x[0, 2:7, 2:7] = 1.0  # a 5x5 square centred at (4, 4)
    y = RandomZoom((1.0, 1.0), fill_mode="constant", interpolation="nearest")(
        x, training=True).data
    # zoom 2: output pixel p reads input 2·(p − 4) + 4, so the square shrinks to rows 3..5
    np.testing.assert_array_equal(np.argwhere(y[0, :, :, 0] > 0)[:, 0].min(), 3)
    np.testing.assert_array_equal(np.argwhere(y[0, :, :, 0] > 0)[:, 0].max(), 5)


def test_contrast_matches_keras_formula():
    x = _images(n=5, c=3) * 255
    lo, hi = 0.3, 0.6
    y = RandomContrast((lo, hi), value_range=(-1e9, 1e9))(x, training=True).data
    mean = x.mean(axis=(1, 2), keepdims=True)
    f = (y - mean) / (x - mean)  # one factor per image and channel
    np.testing.assert_allclose(f, np.broadcast_to(f[:, :1, :1], f.shape), rtol=1e-3)
    assert f.min() >= 1 - lo - 1e-4 and f.max() <= 1 + hi + 1e-4
    assert f[:, 0, 0].std() > 0.01  # drawn per image and channel
    np.testing.assert_allclose(y.mean(axis=(1, 2)), mean[:, 0, 0], rtol=1e-4)


def test_contrast_clips_to_value_range():
    x = _images(n=8)
    y = RandomContrast((0.0, 1.0), value_range=(0, 1))(x, training=True).data
    assert y.min() >= 0.0 and y.max() <= 1.0


def test_random_crop_is_random_in_training_and_central_at_inference():
    x = _images(n=16, h=10, w=12)
    layer = RandomCrop(6, 8)
    np.testing.assert_array_equal(layer(x).data, x[:, 2:8, 2:10])
    gn.set_seed(0)
    y = layer(x, training=True).data
    assert y.shape == (16, 6, 8, 2)
    offsets = set()
    for i in range(16):
        hits = [(t, lft) for t in range(5) for lft in range(5)
                if np.array_equal(y[i], x[i, t:t + 6, lft:lft + 8])]
        assert len(hits) == 1
        offsets.add(hits[0])
    assert len(offsets) > 3
    assert layer.compute_output_shape((None, 10, 12, 2)) == (None, 6, 8, 2)


@pytest.mark.parametrize("make", [
    lambda: RandomRotation((0.07, 0.07), fill_mode="constant", fill_value=0.5),
    lambda: RandomZoom((-0.3, -0.3), (0.2, 0.2), fill_mode="reflect"),
    lambda: RandomTranslation((0.3, 0.3), (-0.15, -0.15), fill_mode="nearest"),
    lambda: RandomContrast((0.4, 0.4), value_range=(-10, 10), seed=2),
    lambda: RandomFlip("horizontal_and_vertical", seed=4),
])
def test_gradient_passes_through(make):
    x = _images(n=2, h=5, w=6, c=2)

    def fn(t):
        layer = make()  # fixed factors or a layer seed: the same transform on every call
        return layer(t, training=True)

    gn.gradcheck(fn, x)


def test_config_round_trip_and_model_save(tmp_path):
    layers = [RandomTranslation((0.1, 0.2), 0.1, fill_mode="constant", fill_value=1.0),
              RandomFlip("vertical", seed=3), RandomRotation(0.2, interpolation="nearest"),
              RandomZoom(0.1, (-0.2, 0.3)), RandomCrop(4, 5), RandomContrast(0.5, (0, 1))]
    for layer in layers:
        cfg = layer.get_config()
        clone = get_layer_class(type(layer).__name__).from_config(cfg)
        assert clone.get_config() == cfg
    gn.set_seed(0)
    model = Sequential([RandomTranslation(0.1, 0.1, input_shape=(8, 8, 1)), RandomFlip(),
                        Flatten(), Dense(3)])
    x = _images(n=4, c=1)
    path = tmp_path / "aug.glassnet"
    model.save(path)
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert type(loaded.layers[0]).__name__ == "RandomTranslation"


def test_model_trains_with_augmentation_in_front():
    gn.set_seed(0)
    x = _images(n=32, c=1)
    y = (x.mean(axis=(1, 2, 3)) > 0.5).astype(np.int64)
    model = Sequential([RandomTranslation(0.1, 0.1, fill_mode="constant",
                                          input_shape=(8, 8, 1)), Flatten(),
                        Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    h = model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert np.isfinite(h.history["loss"]).all()


@pytest.mark.parametrize("make,match", [
    (lambda: RandomTranslation(1.5, 0.1), "height_factor.*\\[-1.0, 1.0\\].*1.5"),
    (lambda: RandomTranslation(0.1, (0.3, 0.1)), "width_factor.*lower bound"),
    (lambda: RandomTranslation(0.1, "big"), "width_factor.*float.*'big'"),
    (lambda: RandomZoom((-1.5, 0.1)), "height_factor"),
    (lambda: RandomContrast(1.5), "factor.*\\[0.0, 1.0\\]"),
    (lambda: RandomRotation(0.1, fill_mode="mirror"), "fill_mode.*'mirror'"),
    (lambda: RandomFlip("diagonal"), "mode.*'diagonal'"),
    (lambda: RandomCrop(0, 3), "height.*positive"),
])
def test_bad_arguments_raise_clear_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_input_shape_names_layer():
    with pytest.raises(ValueError, match="random_flip.*Received: input shape \\(8, 8\\)"):
        RandomFlip(name="random_flip")(np.zeros((8, 8), np.float32), training=True)
    with pytest.raises(ValueError, match="channels_last.*'channels_first'"):
        RandomZoom(0.1, data_format="channels_first")
    with pytest.raises(ValueError, match="larger than the images"):
        RandomCrop(9, 9)(np.zeros((1, 8, 8, 1), np.float32))


def test_augment_array_function():
    x = (_images(n=10, h=12, w=12, c=1)[..., 0] * 255).astype(np.uint8)  # (N, H, W)
    a = augment(x, translation=0.1, rotation=0.05, zoom=0.1, flip="horizontal",
                contrast=0.2, seed=0)
    b = augment(x, translation=0.1, rotation=0.05, zoom=0.1, flip="horizontal",
                contrast=0.2, seed=0)
    assert a.shape == x.shape and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, x)
    # an integral shift only: exactly the rolled, zero-filled images
    xf = _images(n=3, h=8, w=8, c=2)
    y = augment(xf, translation=((0.125, 0.125), (0.25, 0.25)), fill_mode="constant")
    np.testing.assert_array_equal(y, _shift(xf, 1, 2))
    np.testing.assert_array_equal(augment(xf), xf)
    with pytest.raises(ValueError, match="augment: images must be"):
        augment(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="flip"):
        augment(xf, flip="sideways")


def test_unbatched_image_as_keras():
    x = _images(n=1, h=8, w=8, c=3)
    y = RandomTranslation((0.125, 0.125), 0.0, fill_mode="constant")(x[0], training=True)
    np.testing.assert_array_equal(y.data, _shift(x, 1, 0)[0])
    assert RandomCrop(4, 6)(x[0]).shape == (4, 6, 3)
    assert RandomCrop(4, 6).compute_output_shape((8, 8, 3)) == (4, 6, 3)
    u8 = (x[0] * 255).astype(np.uint8)
    assert RandomFlip()(u8, training=True).dtype == np.float32  # floats out, as Keras


def test_augment_in_chunks_equals_all_at_once(monkeypatch):
    from glassnet.layers import augmentation as A

    x = _images(n=7, h=9, w=9, c=1)
    whole = augment(x, translation=0.2, rotation=0.1, zoom=0.1, seed=3)
    monkeypatch.setattr(A, "_AUGMENT_CHUNK", 2)
    np.testing.assert_array_equal(augment(x, translation=0.2, rotation=0.1, zoom=0.1, seed=3),
                                  whole)
