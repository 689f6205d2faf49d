"""DepthwiseConv1D/2D, SeparableConv1D/2D, Conv3D, MaxPooling3D, AveragePooling3D and
UpSampling3D: forward and gradients against PyTorch (weights mapped from Keras's layouts,
Keras's 'same' padding done explicitly), numeric gradient checks, configs and a model."""

import json

import numpy as np
import pytest

import glassnet as gn
from glassnet import layers as Lr

torch = pytest.importorskip("torch")
F = torch.nn.functional
R = np.random.default_rng(21)


def _same(n, k, s, d=1):
    keff = (k - 1) * d + 1
    out = -(-n // s)
    total = max((out - 1) * s + keff - n, 0)
    return total // 2, total - total // 2


def _run(layer, x):
    """Our layer in float64: output and gradients (input, weights) of Σ y·P."""
    xt = gn.tensor(x, requires_grad=True, dtype="float64")
    layer(gn.tensor(x[:1], dtype="float64"))
    for w in layer.weights:
        w.data = R.normal(scale=0.5, size=w.shape)
    y = layer(xt)
    proj = R.normal(size=y.shape)
    (y * gn.tensor(proj, dtype="float64")).sum().backward()
    return y.data, proj, xt.grad, [w.grad for w in layer.weights]


def _torch_grads(fn, x, weights, proj):
    xt = torch.tensor(x, requires_grad=True)
    ws = [torch.tensor(np.asarray(w), requires_grad=True) for w in weights]
    y = fn(xt, *ws)
    (y * torch.tensor(proj)).sum().backward()
    return y.detach().numpy(), xt.grad.numpy(), [w.grad.numpy() for w in ws]


def _check(ours, ref):
    y, _, gx, gws = ours
    ry, rgx, rgws = ref
    np.testing.assert_allclose(y, ry, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(gx, rgx, rtol=1e-9, atol=1e-10)
    for a, b in zip(gws, rgws):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-10)


def _pad2d(xt, pads):   # x NCHW, pads ((t, b), (l, r))
    (t, b), (left, right) = pads
    return F.pad(xt, (left, right, t, b))


# ------------------------------------------------------------------ depthwise / separable
DW = [
    dict(kernel_size=3), dict(kernel_size=(3, 2), depth_multiplier=2, padding="same"),
    dict(kernel_size=3, strides=2, padding="same"), dict(kernel_size=2, dilation_rate=2),
    dict(kernel_size=3, strides=(2, 1), use_bias=False),
]


@pytest.mark.parametrize("kw", DW, ids=[str(k) for k in DW])
def test_depthwise_conv2d_vs_torch(kw):
    x = R.normal(size=(2, 7, 6, 3))
    layer = Lr.DepthwiseConv2D(**kw)
    ours = _run(layer, x)
    kh, kw_ = layer.kernel_size
    s, d = layer.strides, layer.dilation_rate
    pads = (_same(7, kh, s[0], d[0]), _same(6, kw_, s[1], d[1])) if layer.padding == "same" \
        else ((0, 0), (0, 0))
    c, m = 3, layer.depth_multiplier

    def fn(xt, w, b=None):
        wt = w.permute(2, 3, 0, 1).reshape(c * m, 1, kh, kw_)   # (C·M, 1, kh, kw)
        y = F.conv2d(_pad2d(xt.permute(0, 3, 1, 2), pads), wt, b, stride=s, dilation=d,
                     groups=c)
        return y.permute(0, 2, 3, 1)

    _check(ours, _torch_grads(fn, x, layer.get_weights(), ours[1]))


@pytest.mark.parametrize("kw", [dict(kernel_size=3), dict(kernel_size=3, depth_multiplier=2,
                                                          padding="same", strides=2)],
                         ids=["valid", "same-s2-m2"])
def test_separable_conv2d_vs_torch(kw):
    x = R.normal(size=(2, 7, 6, 3))
    layer = Lr.SeparableConv2D(5, **kw)
    ours = _run(layer, x)
    k, s = layer.kernel_size, layer.strides
    pads = (_same(7, k[0], s[0]), _same(6, k[1], s[1])) if layer.padding == "same" \
        else ((0, 0), (0, 0))
    c, m = 3, layer.depth_multiplier

    def fn(xt, dw, pw, b):
        wt = dw.permute(2, 3, 0, 1).reshape(c * m, 1, *k)
        y = F.conv2d(_pad2d(xt.permute(0, 3, 1, 2), pads), wt, None, stride=s, groups=c)
        y = F.conv2d(y, pw.permute(3, 2, 0, 1), b)
        return y.permute(0, 2, 3, 1)

    _check(ours, _torch_grads(fn, x, layer.get_weights(), ours[1]))


def test_1d_depthwise_and_separable_vs_torch():
    x = R.normal(size=(2, 9, 3))
    layer = Lr.DepthwiseConv1D(3, depth_multiplier=2, padding="same", strides=2)
    ours = _run(layer, x)

    def fn(xt, w, b):
        wt = w.permute(1, 2, 0).reshape(6, 1, 3)
        y = F.conv1d(F.pad(xt.permute(0, 2, 1), _same(9, 3, 2)), wt, b, stride=2, groups=3)
        return y.permute(0, 2, 1)

    _check(ours, _torch_grads(fn, x, layer.get_weights(), ours[1]))
    layer = Lr.SeparableConv1D(4, 2, dilation_rate=2)
    ours = _run(layer, x)

    def fn2(xt, dw, pw, b):
        y = F.conv1d(xt.permute(0, 2, 1), dw.permute(1, 2, 0).reshape(3, 1, 2), None,
                     dilation=2, groups=3)
        return F.conv1d(y, pw.permute(2, 1, 0), b).permute(0, 2, 1)

    _check(ours, _torch_grads(fn2, x, layer.get_weights(), ours[1]))


# ------------------------------------------------------------------ Conv3D
C3 = [dict(kernel_size=2), dict(kernel_size=(3, 2, 3), padding="same"),
      dict(kernel_size=3, strides=(2, 1, 2), padding="same"),
      dict(kernel_size=2, dilation_rate=(2, 1, 2)), dict(kernel_size=2, groups=2)]


@pytest.mark.parametrize("kw", C3, ids=[str(k) for k in C3])
def test_conv3d_vs_torch(kw):
    x = R.normal(size=(2, 5, 6, 4, 4))
    layer = Lr.Conv3D(6, **kw)
    ours = _run(layer, x)
    k, s, d, g = layer.kernel_size, layer.strides, layer.dilation_rate, layer.groups
    pads = [_same(n, kk, ss, dd) for n, kk, ss, dd in zip((5, 6, 4), k, s, d)] \
        if layer.padding == "same" else [(0, 0)] * 3

    def fn(xt, w, b):
        xp_ = F.pad(xt.permute(0, 4, 1, 2, 3),
                    (*pads[2], *pads[1], *pads[0]))
        y = F.conv3d(xp_, w.permute(4, 3, 0, 1, 2), b, stride=s, dilation=d, groups=g)
        return y.permute(0, 2, 3, 4, 1)

    _check(ours, _torch_grads(fn, x, layer.get_weights(), ours[1]))


# ------------------------------------------------------------------ 3-D pooling, upsampling
P3 = [("max", dict()), ("max", dict(pool_size=(2, 3, 2), strides=(1, 2, 1))),
      ("max", dict(pool_size=3, strides=2, padding="same")), ("avg", dict()),
      ("avg", dict(pool_size=(3, 2, 3), strides=(2, 2, 1), padding="same"))]


@pytest.mark.parametrize("mode,kw", P3, ids=[f"{m}-{k}" for m, k in P3])
def test_pooling3d_vs_torch(mode, kw):
    x = R.normal(size=(2, 5, 6, 7, 3))
    layer = (Lr.MaxPooling3D if mode == "max" else Lr.AveragePooling3D)(**kw)
    ours = _run(layer, x)
    p, s = layer.pool_size, layer.strides
    pads = [_same(n, pp, ss) for n, pp, ss in zip((5, 6, 7), p, s)] \
        if layer.padding == "same" else [(0, 0)] * 3
    flat = (*pads[2], *pads[1], *pads[0])

    def fn(xt):
        xc = xt.permute(0, 4, 1, 2, 3)
        if mode == "max":
            y = F.max_pool3d(F.pad(xc, flat, value=-np.inf), p, s)
        else:  # Keras: the mean over the real cells only
            tot = F.avg_pool3d(F.pad(xc, flat), p, s, divisor_override=1)
            cnt = F.avg_pool3d(F.pad(torch.ones_like(xc), flat), p, s, divisor_override=1)
            y = tot / cnt
        return y.permute(0, 2, 3, 4, 1)

    _check(ours, _torch_grads(fn, x, [], ours[1]))


def test_upsampling3d_vs_torch():
    x = R.normal(size=(2, 2, 3, 4, 3))
    layer = Lr.UpSampling3D((2, 1, 3))
    ours = _run(layer, x)

    def fn(xt):
        y = F.interpolate(xt.permute(0, 4, 1, 2, 3), scale_factor=(2, 1, 3), mode="nearest")
        return y.permute(0, 2, 3, 4, 1)

    _check(ours, _torch_grads(fn, x, [], ours[1]))


# ------------------------------------------------------------------ gradcheck, configs, fit
@pytest.mark.parametrize("make,shape", [
    (lambda: Lr.DepthwiseConv2D(2, depth_multiplier=2, padding="same", strides=2),
     (2, 4, 5, 2)),
    (lambda: Lr.SeparableConv1D(3, 2, padding="same"), (2, 5, 2)),
    (lambda: Lr.Conv3D(2, 2, padding="same", strides=(1, 2, 1)), (1, 3, 4, 3, 2)),
    (lambda: Lr.AveragePooling3D(2, padding="same"), (1, 3, 3, 3, 2)),
    (lambda: Lr.MaxPooling3D(2, strides=1), (1, 3, 3, 3, 2)),
], ids=["depthwise", "separable1d", "conv3d", "avgpool3d", "maxpool3d"])
def test_gradcheck(make, shape):
    layer = make()
    x = R.normal(size=shape)
    layer(gn.tensor(x, dtype="float64"))
    gn.gradcheck(lambda t: layer(t), x)


@pytest.mark.parametrize("layer", [
    Lr.DepthwiseConv2D(3, depth_multiplier=2, strides=2, padding="same", activation="relu",
                       use_bias=False),
    Lr.DepthwiseConv1D(2, dilation_rate=2), Lr.SeparableConv2D(4, 3, depth_multiplier=3),
    Lr.SeparableConv1D(2, 5, strides=2, pointwise_initializer="he_normal"),
    Lr.Conv3D(3, (1, 2, 3), groups=1, dilation_rate=2), Lr.MaxPooling3D((1, 2, 2)),
    Lr.AveragePooling3D(3, strides=1, padding="same"), Lr.UpSampling3D((1, 2, 3)),
], ids=lambda x: type(x).__name__)
def test_config_roundtrip(layer):
    cfg = json.loads(json.dumps({"class_name": type(layer).__name__,
                                 "config": layer.get_config()}))
    back = Lr.get_layer_class(cfg["class_name"]).from_config(cfg["config"])
    assert back.get_config() == layer.get_config()


def test_compute_output_shape_matches_call():
    cases = [(Lr.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2),
              (2, 7, 6, 3)),
             (Lr.SeparableConv2D(4, 2, dilation_rate=2), (2, 7, 6, 3)),
             (Lr.SeparableConv1D(4, 3, strides=2), (2, 9, 3)),
             (Lr.Conv3D(2, 3, strides=2, padding="same"), (1, 5, 6, 7, 2)),
             (Lr.MaxPooling3D(3, strides=2), (1, 5, 6, 7, 2)),
             (Lr.UpSampling3D(2), (1, 2, 3, 4, 2))]
    for layer, shape in cases:
        assert layer.compute_output_shape(shape) == layer(np.zeros(shape, "float32")).shape


def test_volumetric_model_trains_saves_loads(tmp_path):
    x = R.normal(size=(16, 4, 6, 6, 1)).astype("float32")
    y = (x.mean(axis=(1, 2, 3, 4)) > 0).astype("float32")
    gn.set_seed(0)
    m = gn.models.Sequential([
        gn.layers.Input((4, 6, 6, 1)), Lr.Conv3D(4, 3, padding="same", activation="relu"),
        Lr.MaxPooling3D(2), Lr.UpSampling3D(2), Lr.AveragePooling3D(2),
        gn.layers.Flatten(), gn.layers.Dense(1, activation="sigmoid")])
    m.compile("adam", "binary_crossentropy")
    h = m.fit(x, y, epochs=4, batch_size=8, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]
    m.save(tmp_path / "m.glassnet")
    back = gn.models.load_model(tmp_path / "m.glassnet")
    np.testing.assert_allclose(back.predict(x, verbose=0), m.predict(x, verbose=0), rtol=1e-6)


def test_separable_model_float32(tmp_path):
    x = R.normal(size=(16, 8, 8, 3)).astype("float32")
    y = (x[..., 0].mean(axis=(1, 2)) > 0).astype("float32")
    gn.set_seed(0)
    m = gn.models.Sequential([
        gn.layers.Input((8, 8, 3)), Lr.SeparableConv2D(8, 3, activation="relu"),
        Lr.DepthwiseConv2D(3, padding="same"), gn.layers.GlobalAveragePooling2D(),
        gn.layers.Dense(1, activation="sigmoid")])
    m.compile("adam", "binary_crossentropy")
    h = m.fit(x, y, epochs=4, batch_size=8, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]
    assert m.predict(x, verbose=0).dtype == np.float32


def test_errors_name_the_layer():
    with pytest.raises(ValueError, match=r"rank 5.*\(2, 3, 4\)"):
        Lr.Conv3D(2, 2)(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="depth_multiplier"):
        Lr.DepthwiseConv2D(3, depth_multiplier=0)
    with pytest.raises(ValueError, match="filters"):
        Lr.SeparableConv2D(0, 3)
    with pytest.raises(ValueError, match="larger than the input"):
        Lr.MaxPooling3D(3)(np.zeros((1, 2, 4, 4, 1)))
    with pytest.raises(ValueError, match="groups"):
        Lr.Conv3D(3, 2, groups=2)


# ------------------------------------------------------------------ 3-D companions
@pytest.mark.parametrize("make,fn", [
    (lambda: Lr.GlobalAveragePooling3D(), lambda t: t.mean(dim=(1, 2, 3))),
    (lambda: Lr.GlobalMaxPooling3D(keepdims=True), lambda t: t.amax(dim=(1, 2, 3),
                                                                     keepdim=True)),
    (lambda: Lr.ZeroPadding3D(((1, 0), 2, (0, 3))),
     lambda t: F.pad(t, (0, 0, 0, 3, 2, 2, 1, 0))),
    (lambda: Lr.Cropping3D(((1, 0), (1, 2), 1)), lambda t: t[:, 1:, 1:-2, 1:-1]),
], ids=["gap3d", "gmp3d-keepdims", "zeropad3d", "crop3d"])
def test_3d_companions_vs_torch(make, fn):
    x = R.normal(size=(2, 3, 5, 4, 2))
    layer = make()
    ours = _run(layer, x)
    _check(ours, _torch_grads(fn, x, [], ours[1]))
    assert layer.compute_output_shape(x.shape) == ours[0].shape
    cfg = json.loads(json.dumps(layer.get_config()))
    assert type(layer).from_config(cfg).get_config() == layer.get_config()


def test_3d_companion_errors():
    with pytest.raises(ValueError, match="padding"):
        Lr.ZeroPadding3D((1, 2))
    with pytest.raises(ValueError, match="leaves nothing"):
        Lr.Cropping3D(2)(np.zeros((1, 4, 5, 6, 1)))
    with pytest.raises(ValueError, match="rank 5"):
        Lr.GlobalAveragePooling3D()(np.zeros((1, 4, 5, 6)))


def test_keras_io_3d_ct_scan_classifier_architecture():
    """The layer stack of keras.io's "3D image classification from CT scans", scaled down."""
    x = R.normal(size=(4, 16, 16, 8, 1)).astype("float32")
    y = R.integers(0, 2, 4).astype("float32")
    gn.set_seed(0)
    inputs = gn.Input((16, 16, 8, 1))
    h = Lr.Conv3D(4, 3, activation="relu")(inputs)
    h = Lr.MaxPool3D(2)(h)
    h = gn.layers.BatchNormalization()(h)
    h = Lr.GlobalAveragePooling3D()(h)
    h = gn.layers.Dense(8, activation="relu")(h)
    h = gn.layers.Dropout(0.3)(h)
    out = gn.layers.Dense(1, activation="sigmoid")(h)
    model = gn.models.Model(inputs, out, name="3dcnn")
    model.compile(loss="binary_crossentropy", optimizer=gn.optimizers.Adam(1e-3),
                  metrics=["acc"])
    h = model.fit(x, y, epochs=2, batch_size=2, verbose=0)
    assert np.isfinite(h.history["loss"]).all()
