"""Pooling, upsampling, padding/cropping and spatial dropout: gradcheck, PyTorch references,
Keras shapes and semantics, config round trip, save/load."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.layers import (
    AveragePooling1D,
    AveragePooling2D,
    Conv2D,
    Cropping1D,
    Cropping2D,
    Dense,
    Flatten,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    MaxPooling1D,
    MaxPooling2D,
    SpatialDropout1D,
    SpatialDropout2D,
    UpSampling1D,
    UpSampling2D,
    ZeroPadding1D,
    ZeroPadding2D,
)
from glassnet.layers.conv import same_pads
from glassnet.layers.pooling import avg_pool2d, max_pool2d
from glassnet.models import Sequential, load_model


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


def _distinct(*shape, seed=0):
    """Values with no ties (finite differences of max are only defined away from ties)."""
    n = int(np.prod(shape))
    return np.random.default_rng(seed).permutation(n).reshape(shape) * 0.1


POOL_CASES = [
    # (input shape, pool, strides, padding)
    ((2, 4, 4, 2), 2, None, "valid"),          # reshape-like fast case
    ((1, 5, 5, 2), 2, None, "valid"),          # last row/col never pooled
    ((1, 5, 6, 1), 3, 2, "valid"),             # overlapping windows
    ((1, 5, 5, 2), 2, None, "same"),           # 'same' pads bottom/right
    ((1, 6, 5, 1), (3, 2), (1, 2), "same"),    # non-square, overlapping, padded
    ((1, 4, 4, 1), 2, 3, "valid"),             # gaps between windows
]


@pytest.mark.parametrize("xs,p,s,pad", POOL_CASES)
@pytest.mark.parametrize("fn", [max_pool2d, avg_pool2d])
def test_pool2d_gradcheck(fn, xs, p, s, pad):
    gn.gradcheck(lambda x: fn(x, p, s, pad), _distinct(*xs))


def _torch_pool(mode, x, p, s, pad):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    p2 = (p, p) if isinstance(p, int) else p
    s2 = p2 if s is None else ((s, s) if isinstance(s, int) else s)
    xt = torch.tensor(x).permute(0, 3, 1, 2)
    if pad == "same":
        (pt, pb), (pl, pr) = (same_pads(x.shape[1], p2[0], s2[0]),
                              same_pads(x.shape[2], p2[1], s2[1]))
        if mode == "max":
            xt = F.pad(xt, (pl, pr, pt, pb), value=-np.inf)
            y = F.max_pool2d(xt, p2, s2)
        else:  # Keras 'same' average counts only real cells: sum / count of ones
            y = F.avg_pool2d(F.pad(xt, (pl, pr, pt, pb)), p2, s2, divisor_override=1)
            ones = F.pad(torch.ones_like(xt[:1, :1]), (pl, pr, pt, pb))
            y = y / F.avg_pool2d(ones, p2, s2, divisor_override=1)
    else:
        y = (F.max_pool2d if mode == "max" else F.avg_pool2d)(xt, p2, s2)
    return y.permute(0, 2, 3, 1).numpy()


@pytest.mark.parametrize("xs,p,s,pad", POOL_CASES + [((4, 26, 26, 8), 2, None, "valid")])
@pytest.mark.parametrize("mode", ["max", "avg"])
def test_pool2d_matches_torch(mode, xs, p, s, pad):
    x = _rand(*xs).astype(np.float32)
    fn = max_pool2d if mode == "max" else avg_pool2d
    y = fn(x, p, s, pad)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.data, _torch_pool(mode, x, p, s, pad), rtol=1e-5, atol=1e-6)


def test_avg_pool_same_matches_torch_count_include_pad_false():
    torch = pytest.importorskip("torch")
    x = _rand(2, 5, 5, 3).astype(np.float32)
    # odd pool, stride 1: symmetric padding, so torch's own padding applies directly
    ref = torch.nn.functional.avg_pool2d(torch.tensor(x).permute(0, 3, 1, 2), 3, 1, padding=1,
                                         count_include_pad=False)
    np.testing.assert_allclose(avg_pool2d(x, 3, 1, "same").data,
                               ref.permute(0, 2, 3, 1).numpy(), rtol=1e-5, atol=1e-6)


def test_max_pool_ties_route_gradient_to_one_element_like_torch():
    torch = pytest.importorskip("torch")
    x = np.zeros((1, 4, 4, 2), np.float32)
    x[0, 0, 0, 0] = x[0, 1, 1, 0] = 1.0     # two maxima in one window
    xg = gn.tensor(x, requires_grad=True)
    max_pool2d(xg, 2).sum().backward()
    xt = torch.tensor(x).permute(0, 3, 1, 2).requires_grad_()
    torch.nn.functional.max_pool2d(xt, 2).sum().backward()
    np.testing.assert_array_equal(xg.grad, xt.grad.permute(0, 2, 3, 1).numpy())
    assert xg.grad.sum() == 8  # one gradient per window (2x2 windows x 2 channels)


def test_max_pool_backward_matches_torch_overlapping():
    torch = pytest.importorskip("torch")
    x = _rand(2, 7, 7, 3).astype(np.float32)
    gy = _rand(2, 3, 3, 3, seed=1).astype(np.float32)
    xg = gn.tensor(x, requires_grad=True)
    max_pool2d(xg, 3, 2).backward(gy)
    xt = torch.tensor(x).permute(0, 3, 1, 2).requires_grad_()
    torch.nn.functional.max_pool2d(xt, 3, 2).backward(torch.tensor(gy).permute(0, 3, 1, 2))
    np.testing.assert_allclose(xg.grad, xt.grad.permute(0, 2, 3, 1).numpy(), atol=1e-6)


@pytest.mark.parametrize("layer", [
    lambda: MaxPooling1D(3, strides=2, padding="same"), lambda: AveragePooling1D(2),
    lambda: GlobalAveragePooling1D(), lambda: GlobalMaxPooling1D(),
    lambda: GlobalAveragePooling2D(keepdims=True), lambda: GlobalMaxPooling2D(),
])
def test_other_pooling_gradcheck(layer):
    ly = layer()
    rank = 3 if "1D" in type(ly).__name__ else 4
    x = _distinct(2, 5, 3) if rank == 3 else _distinct(2, 3, 4, 2)
    gn.gradcheck(lambda x: ly(x), x)


def test_pool1d_matches_torch():
    torch = pytest.importorskip("torch")
    x = _rand(2, 9, 4).astype(np.float32)
    xt = torch.tensor(x).permute(0, 2, 1)
    F = torch.nn.functional
    np.testing.assert_allclose(MaxPooling1D(3, 2)(x).data,
                               F.max_pool1d(xt, 3, 2).permute(0, 2, 1), atol=1e-6)
    np.testing.assert_allclose(AveragePooling1D(3)(x).data,
                               F.avg_pool1d(xt, 3).permute(0, 2, 1), atol=1e-6)
    np.testing.assert_allclose(GlobalAveragePooling1D()(x).data, x.mean(1), atol=1e-6)
    np.testing.assert_allclose(GlobalMaxPooling2D()(x[:, :, None, :]).data, x.max(1), atol=0)


# ------------------------------------------------------------------ upsampling etc.
@pytest.mark.parametrize("size", [2, (2, 3)])
@pytest.mark.parametrize("interp", ["nearest", "bilinear"])
def test_upsampling_matches_torch_and_gradcheck(size, interp):
    torch = pytest.importorskip("torch")
    layer = UpSampling2D(size, interpolation=interp)
    x = _rand(2, 3, 4, 2).astype(np.float32)
    s2 = (size, size) if isinstance(size, int) else size
    ref = torch.nn.functional.interpolate(
        torch.tensor(x).permute(0, 3, 1, 2), scale_factor=s2, mode=interp,
        **({"align_corners": False} if interp == "bilinear" else {}))
    np.testing.assert_allclose(layer(x).data, ref.permute(0, 2, 3, 1).numpy(), rtol=1e-5,
                               atol=1e-6)
    gn.gradcheck(lambda x: layer(x), _rand(1, 3, 2, 2))


def test_zero_padding_and_cropping():
    x = _rand(2, 5, 6, 3)
    y = ZeroPadding2D(((1, 2), (0, 3)))(x).data
    np.testing.assert_array_equal(y, np.pad(x, ((0, 0), (1, 2), (0, 3), (0, 0))).astype(y.dtype))
    np.testing.assert_array_equal(ZeroPadding2D(1)(x).shape, (2, 7, 8, 3))
    np.testing.assert_array_equal(Cropping2D(((1, 2), (0, 3)))(x).data,
                                  x[:, 1:3, 0:3].astype(np.float32))
    np.testing.assert_array_equal(Cropping2D((1, 2))(x).data, x[:, 1:4, 2:4].astype(np.float32))
    gn.gradcheck(lambda x: Cropping2D(((1, 0), (2, 1)))(ZeroPadding2D((1, 2))(x)),
                 _rand(1, 3, 3, 2))
    with pytest.raises(ValueError, match="leaves nothing"):
        Cropping2D(((3, 2), (0, 0)))(x)
    with pytest.raises(ValueError, match="padding must be"):
        ZeroPadding2D((1, 2, 3))


def test_sequence_reshaping_layers_match_numpy_and_gradcheck():
    x = _rand(2, 5, 3)
    np.testing.assert_array_equal(UpSampling1D(2)(x).data, np.repeat(x, 2, axis=1).astype("f4"))
    np.testing.assert_array_equal(ZeroPadding1D((1, 2))(x).data,
                                  np.pad(x, ((0, 0), (1, 2), (0, 0))).astype("f4"))
    np.testing.assert_array_equal(Cropping1D((1, 2))(x).data, x[:, 1:3].astype("f4"))
    gn.gradcheck(lambda x: Cropping1D(1)(ZeroPadding1D((0, 2))(UpSampling1D(2)(x))), x)
    with pytest.raises(ValueError, match=r"Cropping1D .* leaves nothing"):
        Cropping1D(3)(x)
    with pytest.raises(ValueError, match=r"UpSampling1D .* expects input of rank 3"):
        UpSampling1D(2)(np.zeros((1, 2, 2, 1), np.float32))


def test_spatial_dropout_gradcheck_with_fixed_mask():
    layer = SpatialDropout2D(0.5)

    def f(x):
        gn.set_seed(7)  # the same channel mask on every evaluation
        return layer(x, training=True)

    gn.gradcheck(f, _rand(2, 3, 3, 4))


def test_spatial_dropout_drops_whole_channels_seeded_and_identity_at_inference():
    x = np.ones((64, 4, 5, 16), np.float32)
    gn.set_seed(3)
    y = SpatialDropout2D(0.5)(x, training=True).data
    per_map = y.reshape(64, 20, 16)
    assert np.all(per_map.min(axis=1) == per_map.max(axis=1))  # constant over each map
    assert set(np.unique(y)) == {0.0, 2.0}
    assert 0.4 < (y[:, 0, 0] == 0).mean() < 0.6
    gn.set_seed(3)
    np.testing.assert_array_equal(SpatialDropout2D(0.5)(x, training=True).data, y)
    np.testing.assert_array_equal(SpatialDropout2D(0.5)(x).data, x)
    seq = SpatialDropout1D(0.5)(np.ones((8, 7, 6), np.float32), training=True).data
    assert np.all(seq.min(axis=1) == seq.max(axis=1))
    with pytest.raises(ValueError, match=r"SpatialDropout2D 'spatial_dropout2d.*' expects input "
                                         r"of rank 4.*Received: input shape \(2, 3\)"):
        SpatialDropout2D(0.5)(np.ones((2, 3), np.float32), training=True)


# ------------------------------------------------------------------ layers: shapes, config, save
LAYERS = [
    (lambda: MaxPooling2D(input_shape=(6, 5, 2)), (6, 5, 2)),
    (lambda: MaxPooling2D(3, strides=2, padding="same", input_shape=(6, 5, 2)), (6, 5, 2)),
    (lambda: AveragePooling2D((2, 3), padding="same", input_shape=(6, 5, 2)), (6, 5, 2)),
    (lambda: MaxPooling1D(2, input_shape=(7, 3)), (7, 3)),
    (lambda: AveragePooling1D(3, strides=1, padding="same", input_shape=(7, 3)), (7, 3)),
    (lambda: GlobalAveragePooling2D(input_shape=(6, 5, 2)), (6, 5, 2)),
    (lambda: GlobalMaxPooling2D(keepdims=True, input_shape=(6, 5, 2)), (6, 5, 2)),
    (lambda: GlobalAveragePooling1D(input_shape=(7, 3)), (7, 3)),
    (lambda: UpSampling2D((2, 3), interpolation="bilinear", input_shape=(6, 5, 2)), (6, 5, 2)),
    (lambda: ZeroPadding2D(((1, 0), (2, 3)), input_shape=(6, 5, 2)), (6, 5, 2)),
    (lambda: Cropping2D(((1, 0), (2, 1)), input_shape=(6, 5, 2)), (6, 5, 2)),
    (lambda: SpatialDropout2D(0.3, seed=1, input_shape=(6, 5, 2)), (6, 5, 2)),
    (lambda: UpSampling1D(3, input_shape=(7, 3)), (7, 3)),
    (lambda: ZeroPadding1D((2, 1), input_shape=(7, 3)), (7, 3)),
    (lambda: Cropping1D((2, 1), input_shape=(7, 3)), (7, 3)),
    (lambda: SpatialDropout1D(0.3, input_shape=(7, 3)), (7, 3)),
]


@pytest.mark.parametrize("make,shape", LAYERS)
def test_layer_output_shape_config_and_save(make, shape, tmp_path):
    layer = make()
    x = _rand(3, *shape, seed=5).astype(np.float32)
    y = layer(x)
    assert layer.compute_output_shape((None, *shape)) == (None, *y.shape[1:])
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    np.testing.assert_array_equal(clone(x).data, y.data)
    model = Sequential([make(), Flatten(), Dense(2)])
    model.compile("sgd", "mse")
    model.fit(x, np.zeros((3, 2), np.float32), epochs=1, verbose=0)
    lines = []
    model.summary(print_fn=lines.append)
    assert str(layer.compute_output_shape((None, *shape))) in "\n".join(lines)
    model.save(tmp_path / "m.glassnet")
    loaded = load_model(tmp_path / "m.glassnet")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)


def test_conv_autoencoder_shapes_round_trip():
    model = Sequential([Conv2D(4, 3, padding="same", activation="relu", input_shape=(8, 8, 1)),
                        MaxPooling2D(), UpSampling2D(), Conv2D(1, 3, padding="same")])
    x = _rand(4, 8, 8, 1).astype(np.float32)
    model.compile("adam", "mse")
    h = model.fit(x, x, epochs=3, batch_size=4, verbose=0)
    assert model.predict(x, verbose=0).shape == x.shape
    assert h.history["loss"][-1] < h.history["loss"][0]


# ------------------------------------------------------------------ errors
def test_errors_name_layer_and_shape():
    with pytest.raises(ValueError, match=r"MaxPooling2D 'max_pooling2d' expects input of rank 4 "
                                         r"\(batch, height, width, channels\)\. Received: input "
                                         r"shape \(32, 28, 28\)"):
        MaxPooling2D()(np.zeros((32, 28, 28), np.float32))
    with pytest.raises(ValueError, match=r"pool size 3x3 is larger than the input's spatial size "
                                         r"2x2"):
        MaxPooling2D(3)(np.zeros((1, 2, 2, 1), np.float32))
    with pytest.raises(ValueError, match=r"GlobalAveragePooling1D .* expects input of rank 3"):
        GlobalAveragePooling1D()(np.zeros((1, 2, 2, 1), np.float32))
    with pytest.raises(ValueError, match=r"UpSampling2D .* expects input of rank 4"):
        UpSampling2D()(np.zeros((1, 2, 2), np.float32))
    with pytest.raises(ValueError, match="interpolation must be"):
        UpSampling2D(interpolation="bicubic")
    with pytest.raises(ValueError, match="pool_size must be"):
        MaxPooling2D(0)
