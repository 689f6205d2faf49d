"""Core layers: gradcheck in float64, NumPy/PyTorch references, errors, config round trips."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import layers as L


def _t64(x):
    return gn.tensor(x, dtype="float64")


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


def _swap(layer, ws, fn):
    """Run ``fn()`` with the layer's trainable weights replaced by the tensors ``ws``."""
    originals = list(layer.trainable_weights)
    names = {id(w): n for n, w in vars(layer).items() if isinstance(w, gn.Tensor)}
    for w, v in zip(originals, ws):
        setattr(layer, names[id(w)], v)
    try:
        return fn()
    finally:
        for w in originals:
            setattr(layer, names[id(w)], w)


def _check_layer_grads(layer, x):
    """gradcheck the output w.r.t. the input and w.r.t. every trainable weight."""
    gn.gradcheck(lambda t: layer(t), x)
    ws = [w.data.copy() for w in layer.trainable_weights]
    if ws:
        gn.gradcheck(lambda *w: _swap(layer, w, lambda: layer(_t64(x))), *ws)


# ------------------------------------------------------------------ Dense
@pytest.mark.parametrize("activation", [None, "relu", "tanh", "sigmoid"])
def test_dense_forward_matches_numpy_and_gradcheck(activation):
    gn.set_seed(0)
    d = L.Dense(3, activation=activation, dtype="float64")
    x = _rand(4, 5) + 0.1
    y = d(_t64(x)).data
    k, b = d.get_weights()
    assert k.shape == (5, 3) and b.shape == (3,)
    z = x @ k + b
    ref = {None: z, "relu": np.maximum(z, 0), "tanh": np.tanh(z),
           "sigmoid": 1 / (1 + np.exp(-z))}[activation]
    np.testing.assert_allclose(y, ref, rtol=1e-12)
    d.set_weights([k, np.linspace(-1, 1, 3)])  # nonzero bias to exercise its gradient
    _check_layer_grads(d, x)


def test_dense_nd_input_and_one_graph_node_each():
    gn.set_seed(0)
    d = L.Dense(2, activation="relu")
    x = gn.tensor(_rand(2, 3, 4), requires_grad=True)
    y = d(x)
    assert y.shape == (2, 3, 2)
    # one graph node: the affine map and its relu fused (functional.Linear(act="relu"))
    assert type(y._ctx).__name__ == "Linear" and y._ctx.describe() == "Linear+relu"
    assert y._ctx.inputs[0] is x
    assert d.compute_output_shape((None, 3, 4)) == (None, 3, 2)


def test_dense_errors_name_the_layer():
    with pytest.raises(ValueError, match="units"):
        L.Dense(0)
    with pytest.raises(ValueError, match="Unknown constraint 'maxnorm'"):
        L.Dense(2, kernel_constraint="maxnorm")
    d = L.Dense(2, name="head")
    d(np.zeros((1, 4), "float32"))
    with pytest.raises(ValueError, match=r"'head'.*\(None, \.\.\., 4\).*\(3, 5\)"):
        d(np.zeros((3, 5), "float32"))
    with pytest.raises(ValueError, match=r"'in'.*Received: input shape \(None, 6\)"):
        L.Dense(2, input_dim=4, name="in")(np.zeros((2, 6), "float32"))


def test_dense_regularizers_reach_losses():
    gn.set_seed(0)
    d = L.Dense(2, kernel_regularizer={"class_name": "L2", "config": {"l2": 0.5}},
                activity_regularizer={"class_name": "L1", "config": {"l1": 0.1}})
    x = _rand(3, 4).astype("float32")
    y = d(x)
    k = d.kernel.data
    vals = sorted(float(t.data) for t in d.losses)
    # Keras 3: the activity penalty is divided by the batch size (here 3)
    ref = sorted([0.5 * float((k * k).sum()), 0.1 * float(np.abs(y.data).sum()) / 3])
    np.testing.assert_allclose(vals, ref, rtol=1e-5)


def test_dense_matches_torch_linear():
    torch = pytest.importorskip("torch")
    gn.set_seed(1)
    d = L.Dense(3)
    x = _rand(4, 5).astype("float32")
    y = d(x).data
    lin = torch.nn.Linear(5, 3)
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(d.kernel.data.T.copy()))
        lin.bias.copy_(torch.from_numpy(d.bias.data))
    np.testing.assert_allclose(y, lin(torch.from_numpy(x)).detach().numpy(), atol=1e-6)


# ------------------------------------------------------------------ dropout & noise
def test_dropout_inverted_scaling_and_inference_identity():
    gn.set_seed(0)
    x = np.ones((200, 50), "float32")
    d = L.Dropout(0.3)
    assert d(x, training=False).data is not None
    np.testing.assert_array_equal(d(x, training=False).data, x)
    y = d(x, training=True).data
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)
    assert abs(kept.mean() - 0.7) < 0.02  # 10,000 Bernoulli draws: sd ≈ 0.0046
    assert abs(y.mean() - 1.0) < 0.03  # expectation preserved
    for bad in (-0.1, 1.0, 1.5):
        with pytest.raises(ValueError, match=r"rate must be in \[0, 1\)"):
            L.Dropout(bad)


@pytest.mark.parametrize("rate", [0.0, 0.1, 0.5, 0.9])
@pytest.mark.parametrize("shape", [(7,), (101, 3), (64, 40, 5)])
def test_keep_draw_keeps_each_entry_with_probability_one_minus_rate(rate, shape):
    # 32-bit draws against rate * 2**32: odd sizes use half of the last 64-bit draw; the
    # kept fraction within 5 standard deviations of 1 - rate, and no two draws repeat
    from glassnet import functional as F

    g = np.random.default_rng(5)
    ks = [F.keep_draw(g, shape, rate) for _ in range(40)]
    assert all(k.shape == shape and k.dtype == bool for k in ks)
    n = 40 * int(np.prod(shape))
    sd = np.sqrt(rate * (1 - rate) / n)
    assert abs(np.mean(ks) - (1 - rate)) <= 5 * sd + 1e-12
    if 0 < rate:
        assert not all(np.array_equal(ks[0], k) for k in ks[1:])
    m = F.keep_mask(np.random.default_rng(5), shape, rate, "float32")
    assert m.dtype == np.float32
    np.testing.assert_array_equal(m, ks[0] * np.float32(1 / (1 - rate)))


def test_dropout_noise_shape_seed_and_gradient():
    x = gn.tensor(np.ones((4, 5, 3), "float32"), requires_grad=True)
    y = L.Dropout(0.5, noise_shape=(None, 1, None), seed=3)(x, training=True)
    # the mask is shared along axis 1
    assert np.all(y.data == y.data[:, :1, :])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, y.data)  # d(x*mask)/dx = mask
    a = L.Dropout(0.5, seed=7)(np.ones((3, 4), "float32"), training=True).data
    b = L.Dropout(0.5, seed=7)(np.ones((3, 4), "float32"), training=True).data
    np.testing.assert_array_equal(a, b)


def test_gaussian_noise_and_dropout_statistics():
    gn.set_seed(0)
    x = np.zeros((100, 100), "float32")
    y = L.GaussianNoise(0.5)(x, training=True).data
    assert abs(y.std() - 0.5) < 0.02 and abs(y.mean()) < 0.02
    np.testing.assert_array_equal(L.GaussianNoise(0.5)(x).data, x)
    y = L.GaussianDropout(0.2)(np.ones((100, 100), "float32"), training=True).data
    assert abs(y.mean() - 1) < 0.02 and abs(y.std() - np.sqrt(0.25)) < 0.02
    with pytest.raises(ValueError, match="stddev"):
        L.GaussianNoise(-1)


# ------------------------------------------------------------------ reshaping
def test_flatten_reshape_permute_repeat():
    x = _rand(2, 3, 4)
    np.testing.assert_array_equal(L.Flatten()(_t64(x)).data, x.reshape(2, 12))
    assert L.Flatten().compute_output_shape((None, 3, 4)) == (None, 12)
    np.testing.assert_array_equal(L.Reshape((4, 3))(_t64(x)).data, x.reshape(2, 4, 3))
    np.testing.assert_array_equal(L.Reshape((-1, 2))(_t64(x)).data, x.reshape(2, 6, 2))
    np.testing.assert_array_equal(L.Permute((2, 1))(_t64(x)).data, x.transpose(0, 2, 1))
    r = L.RepeatVector(3)(_t64(x[:, 0])).data
    np.testing.assert_array_equal(r, np.repeat(x[:, None, 0], 3, axis=1))
    for layer in (L.Flatten(), L.Reshape((12,)), L.Permute((2, 1))):
        gn.gradcheck(lambda t, la=layer: la(t) * _t64(np.arange(24.0).reshape(la(t).shape)), x)
    gn.gradcheck(lambda t: L.RepeatVector(3)(t), x[:, 0])
    with pytest.raises(ValueError, match="cannot reshape"):
        L.Reshape((5,))(_t64(x))
    with pytest.raises(ValueError, match="dims"):
        L.Permute((1, 3))
    with pytest.raises(ValueError, match="rank 2"):
        L.RepeatVector(2)(_t64(x))


# ------------------------------------------------------------------ PReLU / Maxout
def test_prelu_matches_torch_and_gradcheck():
    torch = pytest.importorskip("torch")
    x = _rand(4, 5, 5, 3)
    p = L.PReLU(alpha_initializer={"class_name": "Constant", "config": {"value": 0.25}},
                shared_axes=[1, 2], dtype="float64")
    y = p(_t64(x)).data
    assert p.alpha.shape == (1, 1, 3)
    tp = torch.nn.PReLU(3, init=0.25).double()
    ty = tp(torch.from_numpy(x.transpose(0, 3, 1, 2).copy())).detach().numpy()
    np.testing.assert_allclose(y, ty.transpose(0, 2, 3, 1), rtol=1e-12)
    p2 = L.PReLU(dtype="float64")
    p2.build((None, 6))
    p2.set_weights([np.linspace(-0.5, 0.5, 6)])
    _check_layer_grads(p2, _rand(3, 6) + 0.05)
    with pytest.raises(ValueError, match="shared_axes"):
        L.PReLU(shared_axes=[3])(np.zeros((2, 4), "float32"))


def test_maxout_matches_numpy_and_gradcheck():
    gn.set_seed(0)
    m = L.Maxout(4, pieces=3, dtype="float64")
    m.build((None, 5))
    m.set_weights([_rand(5, 12, seed=1), _rand(12, seed=2)])
    x = _rand(3, 5)
    z = x @ m.kernel.data + m.bias.data
    np.testing.assert_allclose(m(_t64(x)).data, z.reshape(3, 4, 3).max(-1), rtol=1e-12)
    _check_layer_grads(m, x)
    assert m.compute_output_shape((None, 5)) == (None, 4)


# ------------------------------------------------------------------ merge layers
def test_merge_layers():
    a, b, c = _rand(2, 3, seed=1), _rand(2, 3, seed=2), _rand(2, 3, seed=3)
    ta, tb, tc = _t64(a), _t64(b), _t64(c)
    np.testing.assert_allclose(L.Add()([ta, tb, tc]).data, a + b + c)
    np.testing.assert_allclose(L.Multiply()([ta, tb]).data, a * b)
    np.testing.assert_allclose(L.Average()([ta, tb]).data, (a + b) / 2)
    np.testing.assert_allclose(L.Concatenate()([ta, tb]).data, np.concatenate([a, b], -1))
    gn.gradcheck(lambda x, y: L.Multiply()([x, y]) + L.Average()([x, y]), a, b)
    gn.gradcheck(lambda x, y: L.Concatenate(axis=0)([x, y]), a, b)
    with pytest.raises(ValueError, match="same shape"):
        L.Add()([ta, _t64(_rand(2, 4))])
    with pytest.raises(ValueError, match="at least 2"):
        L.Add()([ta])


# ------------------------------------------------------------------ Input / Activation
def test_input_and_activation():
    inp = L.Input((4,))
    assert isinstance(inp, L.InputLayer) and inp.shape == (None, 4)  # as keras.Input
    x = np.ones((2, 4), "float32")
    np.testing.assert_array_equal(inp(x).data, x)
    msg = r"expected input shape \(None, 4\)\. Received: input shape \(None, 5\)"
    with pytest.raises(ValueError, match=msg):
        inp(np.ones((2, 5), "float32"))
    np.testing.assert_allclose(L.Activation("relu")(np.array([[-1.0, 2.0]])).data, [[0, 2]])
    gn.gradcheck(lambda t: L.Activation("tanh")(t), _rand(2, 3))


# ------------------------------------------------------------------ config round trips
_CASES = [
    (lambda: L.Dense(3, activation="tanh", use_bias=False), (4, 5)),
    (lambda: L.Activation("sigmoid"), (2, 3)),
    (lambda: L.Dropout(0.2, noise_shape=(None, 1), seed=1), (2, 3)),
    (lambda: L.GaussianNoise(0.1), (2, 3)),
    (lambda: L.GaussianDropout(0.1), (2, 3)),
    (lambda: L.Flatten(), (2, 3, 2)),
    (lambda: L.Reshape((3, 2)), (2, 6)),
    (lambda: L.Permute((2, 1)), (2, 3, 4)),
    (lambda: L.RepeatVector(2), (2, 3)),
    (lambda: L.PReLU(shared_axes=1), (2, 3, 4)),
    (lambda: L.Maxout(2, pieces=3), (2, 5)),
    (lambda: L.Input((3,)), (2, 3)),
    (lambda: L.Concatenate(axis=1), None),
]


@pytest.mark.parametrize("make,shape", _CASES)
def test_config_round_trip(make, shape):
    import json

    gn.set_seed(0)
    a = make()
    cfg = json.loads(json.dumps(a.get_config()))
    b = type(a).from_config(cfg)
    assert b.get_config() == a.get_config()
    if shape is None:
        return
    x = _rand(*shape).astype("float32")
    a(x)
    b(x)
    b.set_weights(a.get_weights())
    np.testing.assert_array_equal(a(x).data, b(x).data)
