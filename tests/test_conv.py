"""Convolution kernels and layers: gradcheck, PyTorch references, Keras shapes, config, saving."""

import os

import numpy as np
import pytest

import glassnet as gn
from glassnet.layers import Conv1D, Conv2D, Conv2DTranspose, Dense, Flatten, MaxPooling2D
from glassnet.layers.conv import conv2d, conv2d_transpose, deconv_output_length, same_pads
from glassnet.models import Sequential, load_model


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


# ------------------------------------------------------------------ gradcheck
CONV_CASES = [
    # (input shape, kernel shape, strides, padding, dilation)
    ((2, 5, 5, 2), (3, 3, 2, 3), 1, "valid", 1),
    ((2, 6, 5, 2), (3, 2, 2, 2), 2, "same", 1),     # stride 2, even kernel, non-square
    ((1, 6, 6, 2), (2, 2, 2, 2), 1, "same", 1),     # even kernel 'same': extra pad bottom/right
    ((1, 7, 6, 1), (3, 3, 1, 2), 1, "valid", 2),    # dilation 2
    ((1, 7, 7, 2), (3, 3, 2, 2), 1, "same", (2, 1)),
    ((2, 7, 6, 2), (3, 3, 2, 2), (2, 3), "valid", 1),
    ((2, 4, 4, 3), (1, 1, 3, 2), 1, "valid", 1),    # 1x1 fast path
]


@pytest.mark.parametrize("xs,ws,s,p,d", CONV_CASES)
def test_conv2d_gradcheck(xs, ws, s, p, d):
    x, w, b = _rand(*xs), _rand(*ws, seed=1), _rand(ws[-1], seed=2)
    gn.gradcheck(lambda x, w, b: conv2d(x, w, b, strides=s, padding=p, dilation_rate=d),
                 x, w, b)


TCONV_CASES = [
    # (input shape, kernel (kh, kw, out, in), strides, padding, output_padding)
    ((2, 3, 3, 2), (3, 3, 2, 2), 1, "valid", None),
    ((1, 3, 4, 2), (3, 3, 1, 2), 2, "same", None),
    ((1, 3, 3, 2), (4, 4, 2, 2), 2, "same", None),      # even kernel
    ((1, 3, 3, 1), (3, 2, 2, 1), 2, "valid", None),
    ((1, 3, 3, 2), (3, 3, 1, 2), 2, "valid", 1),        # output_padding
    ((1, 3, 2, 1), (3, 3, 2, 1), (3, 2), "same", (1, 0)),
    ((1, 2, 2, 1), (1, 1, 2, 1), 3, "valid", None),      # kernel smaller than stride
]


@pytest.mark.parametrize("xs,ws,s,p,op", TCONV_CASES)
def test_conv2d_transpose_gradcheck(xs, ws, s, p, op):
    x, w, b = _rand(*xs), _rand(*ws, seed=1), _rand(ws[2], seed=2)
    gn.gradcheck(lambda x, w, b: conv2d_transpose(x, w, b, strides=s, padding=p,
                                                  output_padding=op), x, w, b)


def test_conv_transpose_dilated_gradcheck():
    x, w = _rand(1, 3, 3, 1), _rand(2, 2, 2, 1, seed=1)
    gn.gradcheck(lambda x, w: conv2d_transpose(x, w, dilation_rate=2, padding="same"), x, w)


@pytest.mark.parametrize("padding,strides,dilation", [("valid", 1, 1), ("same", 2, 1),
                                                      ("causal", 1, 2)])
def test_conv1d_layer_gradcheck(padding, strides, dilation):
    layer = Conv1D(2, 3, strides=strides, padding=padding, dilation_rate=dilation,
                   activation="tanh", dtype="float64")
    x = _rand(2, 7, 3)
    layer(x)
    k, b = layer.kernel, layer.bias

    def f(x, kk, bb):
        k.data, b.data = kk.data, bb.data  # share the perturbed buffers
        layer.kernel, layer.bias = kk, bb
        return layer(x)

    gn.gradcheck(f, x, k.data.copy(), b.data.copy())


def test_conv2d_layer_gradcheck_through_activation_and_regularizer():
    layer = Conv2D(2, (2, 3), strides=(2, 1), padding="same", activation="sigmoid",
                   kernel_regularizer="l2", dtype="float64")
    x = _rand(2, 5, 4, 2)
    layer(x)

    def f(x, kk):
        layer.kernel = kk
        layer._regularized = [(kk, layer.kernel_regularizer)]
        y = layer(x)
        return y.sum() + sum(layer.losses)

    gn.gradcheck(f, x, layer.kernel.data.copy())


# ------------------------------------------------------------------ PyTorch references
def _torch_conv2d(x, w, b, s, padding, d):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    s2 = (s, s) if isinstance(s, int) else s
    d2 = (d, d) if isinstance(d, int) else d
    xt = torch.tensor(x).permute(0, 3, 1, 2)
    if padding == "same":  # TF/Keras padding: asymmetric (extra bottom/right)
        (pt, pb), (pl, pr) = (same_pads(x.shape[1], w.shape[0], s2[0], d2[0]),
                              same_pads(x.shape[2], w.shape[1], s2[1], d2[1]))
        xt = F.pad(xt, (pl, pr, pt, pb))
    wt = torch.tensor(w).permute(3, 2, 0, 1)
    y = F.conv2d(xt, wt, torch.tensor(b), stride=s2, dilation=d2)
    return y.permute(0, 2, 3, 1).numpy()


@pytest.mark.parametrize("xs,ws,s,p,d", CONV_CASES + [((4, 28, 28, 3), (5, 5, 3, 8), 2,
                                                       "same", 1)])
def test_conv2d_matches_torch(xs, ws, s, p, d):
    x = _rand(*xs).astype(np.float32)
    w = _rand(*ws, seed=1).astype(np.float32)
    b = _rand(ws[-1], seed=2).astype(np.float32)
    ref = _torch_conv2d(x, w, b, s, p, d)
    y = conv2d(x, w, b, strides=s, padding=p, dilation_rate=d)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.data, ref, rtol=1e-4, atol=1e-4)


def test_conv2d_backward_matches_torch():
    torch = pytest.importorskip("torch")
    x = _rand(3, 9, 8, 4).astype(np.float32)
    w = _rand(3, 3, 4, 5, seed=1).astype(np.float32)
    xg, wg = gn.tensor(x, requires_grad=True), gn.tensor(w, requires_grad=True)
    gy = _rand(3, 5, 4, 5, seed=3).astype(np.float32)
    conv2d(xg, wg, strides=2, padding="same").backward(gy)
    xt = torch.tensor(x).permute(0, 3, 1, 2).requires_grad_()
    wt = torch.tensor(w).permute(3, 2, 0, 1).requires_grad_()
    pt, pb = same_pads(9, 3, 2)
    pl, pr = same_pads(8, 3, 2)
    yt = torch.nn.functional.conv2d(torch.nn.functional.pad(xt, (pl, pr, pt, pb)), wt, stride=2)
    yt.backward(torch.tensor(gy).permute(0, 3, 1, 2))
    np.testing.assert_allclose(xg.grad, xt.grad.permute(0, 2, 3, 1).numpy(), atol=1e-4)
    np.testing.assert_allclose(wg.grad, wt.grad.permute(2, 3, 1, 0).numpy(), atol=1e-3)


@pytest.mark.parametrize("xs,ws,s,p,op", TCONV_CASES + [((2, 7, 7, 8), (5, 5, 4, 8), 2,
                                                         "same", None)])
def test_conv2d_transpose_matches_torch(xs, ws, s, p, op):
    torch = pytest.importorskip("torch")
    x = _rand(*xs).astype(np.float32)
    w = _rand(*ws, seed=1).astype(np.float32)
    b = _rand(ws[2], seed=2).astype(np.float32)
    s2 = (s, s) if isinstance(s, int) else s
    op2 = (None, None) if op is None else ((op, op) if isinstance(op, int) else op)
    # torch computes the full (uncropped) result; Keras's size and crop are applied here
    full = torch.nn.functional.conv_transpose2d(
        torch.tensor(x).permute(0, 3, 1, 2), torch.tensor(w).permute(3, 2, 0, 1),
        torch.tensor(b), stride=s2).permute(0, 2, 3, 1).numpy()
    outs = [deconv_output_length(n, k, p, si, 1, o)
            for n, k, si, o in zip(xs[1:3], ws[:2], s2, op2)]
    ref = np.broadcast_to(b, (xs[0], *[max(o, f) + 8 for o, f in zip(outs, full.shape[1:3])],
                              ws[2])).copy()
    ref[:, :full.shape[1], :full.shape[2]] = full
    crop = [max(f - o, 0) // 2 if p == "same" else 0 for f, o in zip(full.shape[1:3], outs)]
    ref = ref[:, crop[0]:crop[0] + outs[0], crop[1]:crop[1] + outs[1]]
    y = conv2d_transpose(x, w, b, strides=s, padding=p, output_padding=op)
    assert y.shape == ref.shape
    np.testing.assert_allclose(y.data, ref, rtol=1e-4, atol=1e-4)


def test_conv2d_transpose_is_adjoint_of_conv2d():
    # <conv(x), y> == <x, conv_transpose(y)> with the same kernel: the defining property
    x = gn.tensor(_rand(2, 8, 8, 3), dtype="float64")
    w = gn.tensor(_rand(3, 3, 3, 4, seed=1), dtype="float64")
    cy = conv2d(x, w, strides=2, padding="same").data
    y = _rand(*cy.shape, seed=2)
    # Keras's transpose layout (kh, kw, out, in) is exactly the forward conv's kernel
    ty = conv2d_transpose(gn.tensor(y, dtype="float64"), w, strides=2, padding="same").data
    assert ty.shape == x.shape
    np.testing.assert_allclose((cy * y).sum(), (x.data * ty).sum(), rtol=1e-10)


def test_conv1d_matches_torch():
    torch = pytest.importorskip("torch")
    layer = Conv1D(4, 3, dilation_rate=2, padding="causal")
    x = _rand(2, 10, 3).astype(np.float32)
    y = layer(x).data
    w = torch.tensor(layer.kernel.data).permute(2, 1, 0)
    xt = torch.nn.functional.pad(torch.tensor(x).permute(0, 2, 1), (4, 0))
    ref = torch.nn.functional.conv1d(xt, w, torch.tensor(layer.bias.data), dilation=2)
    np.testing.assert_allclose(y, ref.permute(0, 2, 1).numpy(), rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------ layers
LAYERS = [
    (lambda: Conv2D(4, 3, activation="relu", input_shape=(9, 8, 2)), (9, 8, 2)),
    (lambda: Conv2D(3, (2, 4), strides=2, padding="same", use_bias=False,
                    input_shape=(9, 8, 2)), (9, 8, 2)),
    (lambda: Conv2D(3, 3, dilation_rate=2, kernel_regularizer="l2", input_shape=(9, 8, 2)),
     (9, 8, 2)),
    (lambda: Conv1D(5, 3, strides=2, padding="same", input_shape=(11, 3)), (11, 3)),
    (lambda: Conv1D(5, 2, padding="causal", input_shape=(11, 3)), (11, 3)),
    (lambda: Conv2DTranspose(3, 3, strides=2, padding="same", input_shape=(4, 5, 2)),
     (4, 5, 2)),
    (lambda: Conv2DTranspose(3, 4, strides=2, output_padding=1, input_shape=(4, 5, 2)),
     (4, 5, 2)),
    (lambda: Conv2DTranspose(2, 3, strides=1, activation="tanh", input_shape=(4, 5, 2)),
     (4, 5, 2)),
]


@pytest.mark.parametrize("make,shape", LAYERS)
def test_layer_output_shape_config_and_save(make, shape, tmp_path):
    layer = make()
    x = _rand(3, *shape, seed=5).astype(np.float32)
    y = layer(x)
    assert layer.compute_output_shape((None, *shape)) == (None, *y.shape[1:])
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    clone(x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_array_equal(clone(x).data, y.data)
    model = Sequential([make(), Flatten(), Dense(2)])
    model.compile("adam", "mse")
    model.fit(x, np.zeros((3, 2), np.float32), epochs=1, verbose=0)
    lines = []
    model.summary(print_fn=lines.append)
    assert str((None, *model.layers[0].compute_output_shape((None, *shape))[1:])) in \
        "\n".join(lines)
    model.save(tmp_path / "m.glassnet")
    loaded = load_model(tmp_path / "m.glassnet")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)


def test_conv_transpose_kernel_layout_is_keras():
    layer = Conv2DTranspose(5, (3, 2))
    layer(np.zeros((1, 4, 4, 7), np.float32))
    assert layer.kernel.shape == (3, 2, 5, 7)
    assert Conv2DTranspose(5, 3, strides=2, padding="same").compute_output_shape(
        (None, 7, 7, 3)) == (None, 14, 14, 5)
    assert Conv2DTranspose(5, 3, strides=2).compute_output_shape((None, 7, 7, 3)) == \
        (None, 15, 15, 5)


def test_default_names_follow_keras():
    assert Conv2D(1, 1).name == "conv2d"
    assert Conv2D(1, 1).name == "conv2d_1"
    assert Conv2DTranspose(1, 1).name == "conv2d_transpose"


def test_cnn_trains_in_sequential():
    # a tiny two-class image problem: is the bright bar horizontal or vertical?
    rs = np.random.default_rng(0)
    n = 128
    x = rs.normal(0, 0.3, size=(n, 8, 8, 1)).astype(np.float32)
    y = rs.integers(0, 2, n)
    pos = rs.integers(1, 7, n)
    for i in range(n):
        if y[i]:
            x[i, pos[i], :, 0] += 2.0
        else:
            x[i, :, pos[i], 0] += 2.0
    model = Sequential([Conv2D(4, 3, activation="relu", input_shape=(8, 8, 1)),
                        MaxPooling2D(), Flatten(), Dense(2, activation="softmax")])
    model.compile(gn.optimizers.Adam(learning_rate=0.01), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    hist = model.fit(x, y, batch_size=16, epochs=15, verbose=0)
    assert hist.history["loss"][-1] < 0.5 * hist.history["loss"][0]
    assert hist.history["accuracy"][-1] > 0.9


def test_batchnorm_after_conv_normalizes_channels():
    from glassnet.layers import BatchNormalization

    conv = Conv2D(3, 3, dtype="float64")
    bn = BatchNormalization(dtype="float64")
    x = _rand(4, 6, 6, 2) * 3 + 1
    y = bn(conv(x), training=True).data
    np.testing.assert_allclose(y.mean(axis=(0, 1, 2)), 0, atol=1e-8)
    np.testing.assert_allclose(y.std(axis=(0, 1, 2)), 1, atol=1e-2)
    gn.gradcheck(lambda x: bn(conv(x), training=True), _rand(2, 4, 4, 2))


# ------------------------------------------------------------------ errors
def test_wrong_rank_names_layer_and_shape():
    with pytest.raises(ValueError, match=r"Conv2D 'conv2d' expects input of rank 4 \(batch, "
                                         r"height, width, channels\)\. Received: input shape "
                                         r"\(32, 28, 28\)"):
        Conv2D(8, 3)(np.zeros((32, 28, 28), np.float32))
    with pytest.raises(ValueError, match=r"Conv1D 'conv1d' expects input of rank 3"):
        Conv1D(8, 3)(np.zeros((32, 28, 28, 1), np.float32))


def test_kernel_larger_than_input():
    with pytest.raises(ValueError, match=r"larger than the input's spatial size 4x4 with "
                                         r"padding='valid'.*Received: input shape"):
        Conv2D(2, 5)(np.zeros((1, 4, 4, 1), np.float32))
    with pytest.raises(ValueError, match=r"kernel 5x5 \(after dilation\)"):
        Conv2D(2, 3, dilation_rate=2)(np.zeros((1, 4, 4, 1), np.float32))
    # 'same' pads instead
    assert Conv2D(2, 5, padding="same")(np.zeros((1, 4, 4, 1), np.float32)).shape == (1, 4, 4, 2)


def test_channel_mismatch_after_build():
    layer = Conv2D(2, 3)
    layer(np.zeros((1, 5, 5, 3), np.float32))
    with pytest.raises(ValueError, match=r"expects 3 input channels\. Received: input shape "
                                         r"\(1, 5, 5, 4\)"):
        layer(np.zeros((1, 5, 5, 4), np.float32))


@pytest.mark.parametrize("kwargs,match", [
    ({"filters": 0, "kernel_size": 3}, "filters must be a positive int"),
    ({"filters": 2, "kernel_size": (3, 3, 3)}, "kernel_size must be"),
    ({"filters": 2, "kernel_size": 3, "padding": "full"}, "padding must be one of"),
    ({"filters": 2, "kernel_size": 3, "strides": 0}, "strides must be"),
    ({"filters": 2, "kernel_size": 3, "strides": 2, "dilation_rate": 2}, "strides > 1"),
    ({"filters": 2, "kernel_size": 3, "data_format": "channels_first"}, "channels_last"),
    ({"filters": 3, "kernel_size": 3, "groups": 2}, "filters must be divisible by groups"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Conv2D(**kwargs)


def test_bad_output_padding():
    with pytest.raises(ValueError, match="output_padding must be smaller than strides"):
        Conv2DTranspose(2, 3, strides=2, output_padding=2)


def test_float32_default_and_no_grad_records_nothing():
    layer = Conv2D(2, 3)
    x = gn.tensor(_rand(1, 5, 5, 1).astype(np.float32))
    with gn.no_grad():
        y = layer(x)
    assert y.dtype == np.float32 and y._ctx is None
    assert layer.kernel.dtype == np.float32


def test_inference_builds_columns_in_batch_chunks(monkeypatch):
    import glassnet.layers._conv_kernels as conv_mod  # where the im2col budget lives

    x = _rand(5, 7, 6, 3).astype(np.float32)
    w = _rand(3, 3, 3, 4, seed=1).astype(np.float32)
    b = _rand(4, seed=2).astype(np.float32)
    full = conv2d(x, w, b, padding="same").data
    monkeypatch.setattr(conv_mod, "_COL_BUDGET", 2 * 7 * 6 * 27 * 4)  # two samples per chunk
    with gn.no_grad():
        chunked = conv2d(x, w, b, padding="same").data
    np.testing.assert_allclose(chunked, full, rtol=1e-6, atol=1e-6)


def test_conv1d_relu_is_fused_and_matches_the_separate_activation():
    from glassnet.layers import Activation, Conv1D

    fused = Conv1D(4, 3, padding="causal", activation="relu", dtype="float64")
    plain = Conv1D(4, 3, padding="causal", dtype="float64")
    x = _rand(3, 9, 2)
    fused(x)
    plain(x)
    plain.set_weights(fused.get_weights())
    xf = gn.tensor(x, requires_grad=True, dtype="float64")
    xp_ = gn.tensor(x, requires_grad=True, dtype="float64")
    gy = _rand(3, 9, 4, seed=4)
    yf, yp = fused(xf), Activation("relu")(plain(xp_))
    kernel = yf._ctx.inputs[0]._ctx  # the (N, 1, L, F) kernel output under the reshape
    assert "relu" in kernel.describe()
    np.testing.assert_array_equal(yf.data, yp.data)
    yf.backward(gy)
    yp.backward(gy)
    np.testing.assert_allclose(xf.grad, xp_.grad, rtol=1e-12, atol=1e-12)
    for a, b in zip(fused.weights, plain.weights):
        np.testing.assert_allclose(a.grad, b.grad, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("strides,padding,output_padding", [(2, "same", None),
                                                             (1, "valid", None),
                                                             (2, "valid", 1)])
def test_conv2d_transpose_relu_is_fused_and_matches_the_separate_activation(
        strides, padding, output_padding):
    from glassnet.layers import Activation, Conv2DTranspose

    kw = dict(strides=strides, padding=padding, output_padding=output_padding,
              dtype="float64")
    fused = Conv2DTranspose(9, 3, activation="relu", **kw)
    plain = Conv2DTranspose(9, 3, **kw)
    x = _rand(2, 4, 5, 3)
    fused(x)
    plain(x)
    plain.set_weights(fused.get_weights())
    xf = gn.tensor(x, requires_grad=True, dtype="float64")
    xp_ = gn.tensor(x, requires_grad=True, dtype="float64")
    yf, yp = fused(xf), Activation("relu")(plain(xp_))
    assert "relu" in yf._ctx.describe()
    np.testing.assert_array_equal(yf.data, yp.data)
    gy = _rand(*yf.shape, seed=4)
    yf.backward(gy)
    yp.backward(gy)
    np.testing.assert_allclose(xf.grad, xp_.grad, rtol=1e-12, atol=1e-12)
    for a, b in zip(fused.weights, plain.weights):
        np.testing.assert_allclose(a.grad, b.grad, rtol=1e-12, atol=1e-12)


def test_fused_relu_matches_separate_activation():
    from glassnet.layers import Activation

    fused = Conv2D(3, 3, padding="same", activation="relu", dtype="float64")
    plain = Conv2D(3, 3, padding="same", dtype="float64")
    x = _rand(2, 5, 5, 2)
    fused(x)
    plain(x)
    plain.set_weights(fused.get_weights())
    act = Activation("relu")
    xf = gn.tensor(x, requires_grad=True, dtype="float64")
    xp_ = gn.tensor(x, requires_grad=True, dtype="float64")
    gy = _rand(2, 5, 5, 3, seed=4)
    yf, yp = fused(xf), act(plain(xp_))
    assert "relu" in yf._ctx.describe()
    np.testing.assert_array_equal(yf.data, yp.data)
    yf.backward(gy)
    yp.backward(gy)
    np.testing.assert_allclose(xf.grad, xp_.grad, rtol=1e-12, atol=1e-12)
    for a, b in zip(fused.weights, plain.weights):
        np.testing.assert_allclose(a.grad, b.grad, rtol=1e-12, atol=1e-12)
    # away from the kink the fused kernel is differentiable: gradcheck it
    fused.bias.data[...] = 5.0
    gn.gradcheck(lambda x: fused(x), x * 0.1)


# ------------------------------------------------------------------ Conv1DTranspose
def _tconv1d_reference(x, w, b, s, padding, d=1, op=None):
    """The definition: each input step adds kernel tap j's (F, C) map of it at output step
    t * s + j * d; 'same' then crops Keras's border, output_padding extends the end."""
    n, length, _ = x.shape
    k, f, _ = w.shape
    full = (length - 1) * s + (k - 1) * d + 1
    out = np.zeros((n, full + (op or 0) + k * d, f))
    for t in range(length):
        for j in range(k):
            out[:, t * s + j * d] += x[:, t] @ w[j].T
    o = deconv_output_length(length, k, padding, s, d, op)
    start = max(full - o, 0) // 2 if padding == "same" else 0
    return out[:, start:start + o] + (0 if b is None else b)


T1D_CASES = [(7, 3, 1, "valid", 1, None), (5, 7, 2, "same", 1, None),
             (4, 3, 3, "valid", 1, 2), (6, 4, 2, "same", 1, 1), (5, 3, 1, "same", 2, None),
             (1, 1, 1, "valid", 1, None)]


@pytest.mark.parametrize("length,k,s,padding,d,op", T1D_CASES)
def test_conv1d_transpose_matches_its_definition_and_gradchecks(length, k, s, padding, d, op):
    from glassnet.layers import Conv1DTranspose

    x = _rand(2, length, 3).astype(np.float32).astype(np.float64)  # as a layer call casts
    layer = Conv1DTranspose(4, k, strides=s, padding=padding, dilation_rate=d,
                            output_padding=op, dtype="float64")
    y = layer(x).numpy()
    kern, bias = layer.kernel.numpy(), layer.bias.numpy()
    assert kern.shape == (k, 4, 3)  # Keras's layout: (k, filters, in)
    np.testing.assert_allclose(y, _tconv1d_reference(x, kern, bias, s, padding, d, op),
                               rtol=1e-10, atol=1e-12)
    assert y.shape[1:] == layer.compute_output_shape((None, length, 3))[1:]
    relu = Conv1DTranspose(4, k, strides=s, padding=padding, dilation_rate=d,
                           output_padding=op, activation="relu", dtype="float64")
    relu(x)
    relu.set_weights(layer.get_weights())
    np.testing.assert_allclose(relu(x).numpy(), np.maximum(y, 0), rtol=1e-12)
    k_t, b_t = layer.kernel, layer.bias

    def f(x, kk, bb):
        k_t.data, b_t.data = kk.data, bb.data
        layer.kernel, layer.bias = kk, bb
        return layer(x)

    gn.gradcheck(f, x, kern.copy(), bias.copy())


def test_conv1d_transpose_trains_saves_and_matches_keras(tmp_path):
    from glassnet.layers import Conv1D, Conv1DTranspose

    r = np.random.default_rng(0)
    x = r.standard_normal((8, 16, 1)).astype(np.float32)
    gn.set_seed(0)
    model = Sequential([gn.Input(shape=(16, 1)),
                        Conv1D(4, 7, padding="same", strides=2, activation="relu"),
                        Conv1DTranspose(4, 7, padding="same", strides=2, activation="relu"),
                        Conv1DTranspose(1, 7, padding="same")])
    model.compile(optimizer="adam", loss="mse")
    h = model.fit(x, x, epochs=3, batch_size=4, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]
    assert model.output_shape == (None, 16, 1)
    model.save(tmp_path / "ae.glassnet")
    back = load_model(tmp_path / "ae.glassnet")
    np.testing.assert_array_equal(back.predict(x, verbose=0), model.predict(x, verbose=0))
    os.environ.setdefault("KERAS_BACKEND", "torch")  # (alone, keras would look for TF)
    keras = pytest.importorskip("keras")
    pytest.importorskip("h5py", reason="Keras files need h5py (the keras extra)")
    if keras.backend.backend() != "torch":
        pytest.skip("the comparison runs Keras on its PyTorch backend")
    kl = keras.layers.Conv1DTranspose(3, 5, strides=2, padding="same")
    gl = Conv1DTranspose(3, 5, strides=2, padding="same")
    xs = r.standard_normal((2, 6, 4)).astype(np.float32)
    want = np.asarray(kl(xs).detach())
    gl(xs)
    gl.set_weights([np.asarray(w) for w in kl.get_weights()])
    np.testing.assert_allclose(gl(xs).numpy(), want, rtol=1e-5, atol=1e-6)
    model.save(tmp_path / "ae.keras")  # Keras reads glassnet's file, and the reverse
    np.testing.assert_allclose(
        np.asarray(keras.models.load_model(tmp_path / "ae.keras").predict(x, verbose=0)),
        model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(load_model(tmp_path / "ae.keras").predict(x, verbose=0),
                                  model.predict(x, verbose=0))
