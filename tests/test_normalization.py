"""BatchNormalization / LayerNormalization: gradcheck, PyTorch references, Keras semantics."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.layers import BatchNormalization, LayerNormalization


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).normal(1.0, 2.0, shape)


def _t64(x):
    # plain float64 arrays would become float32 tensors (the library default)
    return gn.tensor(x, dtype="float64")


@pytest.mark.parametrize("shape,axis", [((6, 4), -1), ((3, 4, 5, 2), -1),
                                        ((3, 2, 4, 5), 1)])  # channels last, and first
@pytest.mark.parametrize("center,scale", [(True, True), (False, True), (True, False),
                                          (False, False)])
def test_batchnorm_gradcheck_training(shape, axis, center, scale):
    gn.set_seed(0)
    bn = BatchNormalization(axis=axis, center=center, scale=scale, dtype="float64")
    bn.build((None,) + shape[1:])
    rng = np.random.default_rng(1)
    for w in bn.trainable_weights:
        w.data[...] = rng.normal(size=w.shape)
    x = _rand(*shape)
    gn.gradcheck(lambda x: (bn(x, training=True) ** 2 * 0.1 + bn(x, training=True)).sum(), x)
    # gradient w.r.t. gamma/beta via the layer's own tensors
    w_arrays = [w.data.copy() for w in bn.trainable_weights]
    if w_arrays:
        gn.gradcheck(lambda *ws: _with_weights(bn, ws, _t64(x)), *w_arrays)


def _with_weights(layer, ws, x):
    # swap the layer's trainable weights for the gradcheck's float64 tensors
    originals = list(layer.trainable_weights)
    names = {id(w): n for n, w in vars(layer).items() if isinstance(w, gn.Tensor)}
    for w, v in zip(originals, ws):
        setattr(layer, names[id(w)], v)
    try:
        y = layer(x, training=True)
        return (y * y).sum() + y.sum()
    finally:
        for w in originals:
            setattr(layer, names[id(w)], w)


def test_batchnorm_weight_order_and_shapes():
    bn = BatchNormalization()
    bn.build((None, 8, 8, 3))
    assert [w.name.split("/")[-1] for w in bn.weights] == [
        "gamma", "beta", "moving_mean", "moving_variance"]
    assert all(w.shape == (3,) for w in bn.weights)
    assert len(bn.trainable_weights) == 2


def test_batchnorm_moving_stats_formula():
    bn = BatchNormalization(momentum=0.9)
    x = _rand(16, 3).astype("float32")
    bn(x, training=True)
    np.testing.assert_allclose(bn.moving_mean.data, 0.1 * x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.data, 0.9 + 0.1 * x.var(0), rtol=1e-5)


@pytest.mark.parametrize("dims", [2, 4])
def test_batchnorm_matches_torch_train_and_eval(dims):
    torch = pytest.importorskip("torch")
    shape = (8, 5) if dims == 2 else (4, 6, 7, 5)  # channels-last for glassnet
    x = _rand(*shape, seed=3).astype("float32")
    bn = BatchNormalization(momentum=0.9, epsilon=1e-5)
    bn.build((None,) + shape[1:])
    rng = np.random.default_rng(4)
    gamma, beta = rng.normal(size=5).astype("float32"), rng.normal(size=5).astype("float32")
    bn.set_weights([gamma, beta, np.zeros(5), np.ones(5)])
    tb = (torch.nn.BatchNorm1d if dims == 2 else torch.nn.BatchNorm2d)(5, eps=1e-5, momentum=0.1)
    with torch.no_grad():
        tb.weight.copy_(torch.from_numpy(gamma))
        tb.bias.copy_(torch.from_numpy(beta))
    tx = torch.from_numpy(x if dims == 2 else x.transpose(0, 3, 1, 2).copy())
    tx.requires_grad_(True)
    ty = tb.train()(tx)
    y = bn(gn.tensor(x, requires_grad=True), training=True)
    ty_np = ty.detach().numpy() if dims == 2 else ty.detach().numpy().transpose(0, 2, 3, 1)
    np.testing.assert_allclose(y.data, ty_np, atol=1e-5)
    # torch tracks the unbiased variance; Keras (and glassnet) the biased one
    n = x.size // 5
    np.testing.assert_allclose(bn.moving_mean.data, tb.running_mean.numpy(), atol=1e-6)
    np.testing.assert_allclose(
        bn.moving_variance.data, 0.9 + (tb.running_var.numpy() - 0.9) * (n - 1) / n, atol=1e-5)
    # backward against torch
    g = np.cos(np.arange(x.size)).reshape(shape).astype("float32")
    xin = gn.tensor(x, requires_grad=True)
    bn2 = BatchNormalization(epsilon=1e-5)
    bn2.build((None,) + shape[1:])
    bn2.set_weights([gamma, beta, np.zeros(5), np.ones(5)])
    (bn2(xin, training=True) * gn.tensor(g)).sum().backward()
    tg = torch.from_numpy(g if dims == 2 else g.transpose(0, 3, 1, 2).copy())
    (tb.train()(tx) * tg).sum().backward()
    tgx = tx.grad.numpy() if dims == 2 else tx.grad.numpy().transpose(0, 2, 3, 1)
    np.testing.assert_allclose(xin.grad, tgx, atol=1e-4)
    np.testing.assert_allclose(bn2.gamma.grad, tb.weight.grad.numpy(), rtol=1e-4)
    # eval mode uses the moving statistics
    bn.set_weights([gamma, beta, tb.running_mean.numpy(), tb.running_var.numpy()])
    ye = bn(x, training=False)
    te = tb.eval()(tx).detach().numpy()
    te = te if dims == 2 else te.transpose(0, 2, 3, 1)
    np.testing.assert_allclose(ye.data, te, atol=1e-5)


def test_frozen_batchnorm_uses_moving_stats_and_keeps_them():
    bn = BatchNormalization()
    x = _rand(10, 3).astype("float32")
    bn(x)  # build
    bn.trainable = False
    before = bn.get_weights()
    y = bn(x, training=True)
    for a, b in zip(before, bn.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(y.data, x / np.sqrt(1 + 1e-3), rtol=1e-5)


def test_layernorm_matches_torch_and_gradcheck():
    torch = pytest.importorskip("torch")
    x = _rand(3, 4, 6, seed=5)
    ln = LayerNormalization(epsilon=1e-5, dtype="float64")
    ln.build((None, 4, 6))
    rng = np.random.default_rng(6)
    gamma, beta = rng.normal(size=6), rng.normal(size=6)
    ln.set_weights([gamma, beta])
    tl = torch.nn.LayerNorm(6, eps=1e-5).double()
    with torch.no_grad():
        tl.weight.copy_(torch.from_numpy(gamma))
        tl.bias.copy_(torch.from_numpy(beta))
    ref = tl(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(ln(_t64(x)).data, ref, atol=1e-10)
    gn.gradcheck(lambda t: (ln(t) ** 2).sum() + ln(t)[:, 0].sum(), x)
    gn.gradcheck(lambda *ws: _with_weights(ln, ws, _t64(x)), gamma, beta)


def test_layernorm_multiple_axes_and_errors():
    x = _rand(2, 3, 4).astype("float32")
    y = LayerNormalization(axis=[1, 2], center=False, scale=False)(x).data
    ref = (x - x.mean((1, 2), keepdims=True)) / np.sqrt(x.var((1, 2), keepdims=True) + 1e-3)
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-5)
    ln = LayerNormalization()
    ln(x)
    with pytest.raises(ValueError, match="layer_normalization.*Received: input shape"):
        ln(np.zeros((2, 3, 5), "float32"))
    with pytest.raises(ValueError, match="epsilon"):
        LayerNormalization(epsilon=0)
    with pytest.raises(ValueError, match="momentum"):
        BatchNormalization(momentum=1.5)
    with pytest.raises(ValueError, match="batch axis"):
        BatchNormalization(axis=0)(x)


@pytest.mark.parametrize("cls", [BatchNormalization, LayerNormalization])
def test_config_round_trip(cls):
    gn.set_seed(0)
    a = cls(epsilon=1e-4, center=False)
    b = cls.from_config(a.get_config())
    assert b.get_config() == a.get_config()
    x = _rand(5, 3).astype("float32")
    a(x)
    b(x)
    b.set_weights(a.get_weights())
    np.testing.assert_array_equal(a(x, training=True).data, b(x, training=True).data)


@pytest.mark.parametrize("xshape, axes, bshape", [
    ((4, 5), (1,), (1, 5)),              # LayerNormalization over the features: sum_last
    ((3, 4, 5), (2,), (1, 1, 5)),        # the same on a sequence
    ((3, 4, 5), (1, 2), (1, 4, 5)),      # over two axes: NumPy's reduction
    ((6, 2, 3, 4), (0, 1, 2), (1, 1, 1, 4)),  # BatchNormalization, channels last: leading
    ((4, 5), (0,), (1, 5)),              # per channel on a 2-D batch
])
def test_normalize_kernel_matches_the_formula_and_its_gradients(xshape, axes, bshape):
    # the fused kernel on weights in their own shape, viewed as `bshape` inside, against
    # the textbook formula in float64 and against numeric gradients
    from glassnet.layers.normalization import Normalize

    rng = np.random.default_rng(0)
    x = rng.standard_normal(xshape)
    wshape = tuple(d for d in bshape if d != 1)
    g, b = rng.standard_normal(wshape) + 1, rng.standard_normal(wshape)

    def f(x, g, b):
        return Normalize(axes, 1e-3, True, True, bshape)(x, g, b)

    mu, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    want = (x - mu) / np.sqrt(var + 1e-3) * g.reshape(bshape) + b.reshape(bshape)
    got = f(*(gn.tensor(a, dtype="float64") for a in (x, g, b)))
    np.testing.assert_allclose(got.data, want, rtol=1e-10, atol=1e-10)
    gn.gradcheck(f, x, g, b)
