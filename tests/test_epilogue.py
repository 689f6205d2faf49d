"""The GEMM epilogue (glassnet/_epilogue.py): bias + ReLU in one pass and the ReLU's
gradient, compiled (numba extra) against the NumPy path and the plain formulas, and the
layers that use it (Dense, Conv2D, Conv1D, Conv2DTranspose) with and without it."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet import _epilogue as ep
from glassnet import _optimizer_kernels as opk

pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered")  # inf * 0


def _mode(monkeypatch, compiled: bool) -> None:
    monkeypatch.setenv("GLASSNET_NUMBA", "1" if compiled else "0")
    monkeypatch.setattr(opk, "_STATE", {})


def _data(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.standard_normal(shape).astype(dtype)
    special = [0.0, -0.0, np.nan, -np.nan, np.inf, -np.inf, 1e-40]  # NaN stays NaN
    y.reshape(-1)[:len(special)] = special[:y.size]
    b = rng.standard_normal(shape[-1]).astype(dtype)
    return y, b


# ------------------------------------------------------------------ NumPy path (always)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (257, 33), (64, 8, 8, 16)])
def test_numpy_bias_relu_is_maximum_of_y_plus_b(monkeypatch, shape, dtype):
    _mode(monkeypatch, False)
    y, b = _data(shape, dtype)
    want = np.maximum(y + b, 0)
    got = ep.bias_relu(y.copy(), b)
    np.testing.assert_array_equal(got, want)  # NaN where NaN, same values
    np.testing.assert_array_equal(ep.bias_relu(y.copy()), np.maximum(y, 0))


def test_bias_relu_works_in_place_and_promotes_a_wider_bias(monkeypatch):
    _mode(monkeypatch, False)
    y, b = _data((4, 3), "float32")
    buf = y.copy()
    assert ep.bias_relu(buf, b) is buf
    out = ep.bias_relu(y.copy(), b.astype(np.float64))
    assert out.dtype == np.float64  # NumPy's rule, as Conv2D's bias add
    np.testing.assert_array_equal(out, np.maximum(y + b.astype(np.float64), 0))


@pytest.mark.parametrize("shape", [(5,), (3, 4), (700, 400), (2, 3, 4)])
def test_numpy_relu_grad_is_g_times_mask(monkeypatch, shape):
    _mode(monkeypatch, False)
    g, _ = _data(shape, "float32", seed=1)
    y, _ = _data(shape, "float32", seed=2)
    np.testing.assert_array_equal(ep.relu_grad(g, y), g * (y > 0))
    # a strided (non-contiguous) gradient and a float64 output
    if len(shape) == 2:
        gt = np.asfortranarray(g)
        np.testing.assert_array_equal(ep.relu_grad(gt, y), g * (y > 0))
        out = ep.relu_grad(g, y.astype(np.float64))
        assert out.dtype == np.float64


# ------------------------------------------------------------------ compiled path
numba_only = pytest.mark.skipif(
    __import__("importlib").util.find_spec("numba") is None,
    reason="the optional numba extra is not installed")


@numba_only
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(64, 64), (4096, 3), (16, 16, 16, 32), (9000,), (1, 4096),
                                   (4096, 1)])  # batch 1, one channel
def test_compiled_bias_relu_and_relu_grad_match_numpy_bit_for_bit(monkeypatch, shape, dtype):
    y, b = _data(shape, dtype)
    g, _ = _data(shape, dtype, seed=3)
    _mode(monkeypatch, False)
    ref = ep.bias_relu(y.copy(), b)
    ref_nob = ep.bias_relu(y.copy())
    ref_g = ep.relu_grad(g, ref)
    _mode(monkeypatch, True)
    assert ep.applies(y, b)
    got = ep.bias_relu(y.copy(), b)
    assert got.tobytes() == ref.tobytes()
    assert ep.bias_relu(y.copy()).tobytes() == ref_nob.tobytes()
    assert ep.relu_grad(g, got).tobytes() == ref_g.tobytes()


@numba_only
def test_compiled_path_only_takes_arrays_it_can(monkeypatch):
    _mode(monkeypatch, True)
    y = np.ones((64, 64), np.float32)
    assert ep.applies(y, np.ones(64, np.float32))
    assert not ep.applies(y, np.ones(64, np.float64))  # mixed dtypes: NumPy
    assert not ep.applies(np.asfortranarray(np.ones((64, 65), np.float32)))
    assert not ep.applies(np.ones((3, 4), np.float32))  # below MIN_COMPILED
    assert not ep.applies(np.ones((64, 64), np.int32))
    _mode(monkeypatch, False)
    assert not ep.applies(y)


# ------------------------------------------------------------------ layers that use it
def _train(layer_fn, x, compiled, monkeypatch):
    _mode(monkeypatch, compiled)
    gn.set_seed(0)
    layer = layer_fn()
    xt = gn.tensor(x, requires_grad=True)
    y = layer(xt)
    (y * y).sum().backward()
    return y.data, xt.grad, [w.grad for w in layer.trainable_weights]


@numba_only
@pytest.mark.parametrize("make,shape", [
    (lambda: gn.layers.Dense(96, activation="relu"), (64, 80)),
    (lambda: gn.layers.Conv2D(16, 3, activation="relu", padding="same"), (8, 12, 12, 3)),
    (lambda: gn.layers.Conv2D(16, 3, activation="relu"), (8, 12, 12, 16)),
    (lambda: gn.layers.Conv2D(16, 3, activation="relu", padding="same"), (1, 20, 20, 1)),
    (lambda: gn.layers.Conv1D(16, 5, activation="relu", padding="same"), (8, 40, 16)),
    (lambda: gn.layers.Conv1D(4096, 1, activation="relu"), (2, 1, 8)),  # T = 1
    (lambda: gn.layers.Conv2DTranspose(16, 3, strides=2, activation="relu",
                                       padding="same"), (8, 8, 8, 16)),
])
def test_layers_give_the_same_values_and_gradients_with_the_compiled_epilogue(
        monkeypatch, make, shape):
    x = np.random.default_rng(5).standard_normal(shape).astype(np.float32)
    y0, gx0, gw0 = _train(make, x, False, monkeypatch)
    y1, gx1, gw1 = _train(make, x, True, monkeypatch)
    np.testing.assert_array_equal(y1, y0)
    np.testing.assert_array_equal(gx1, gx0)
    for a, b in zip(gw1, gw0):
        np.testing.assert_array_equal(a, b)
    # and against the layer without the fused ReLU, then gn.relu (the composition)
    _mode(monkeypatch, True)
    gn.set_seed(0)
    layer = make()
    layer.activation = gn.activations.get("linear")
    layer.build(shape)
    gn.set_seed(0)
    ref = make()
    ref.build(shape)
    layer.set_weights(ref.get_weights())
    np.testing.assert_allclose(gn.relu(layer(gn.tensor(x))).data, y1, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_relu_mask_gives_the_bool_masks_products_bit_for_bit(dtype):
    # the float 0/1 mask a ReLU keeps: a * mask and g * mask the same bits as with NumPy's
    # bool mask, NaN, infinities and signed zeros included
    r = np.random.default_rng(3)
    a = r.standard_normal((9, 7)).astype(dtype)
    a.flat[:6] = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30]
    g = r.standard_normal(a.shape).astype(dtype)
    g.flat[6:9] = [np.nan, -0.0, np.inf]
    m = ep.relu_mask(a)
    assert m.dtype == a.dtype and m.shape == a.shape
    assert (a * m).tobytes() == (a * (a > 0)).tobytes()
    assert (g * m).tobytes() == (g * (a > 0)).tobytes()
    ints = np.array([-1, 0, 2])
    np.testing.assert_array_equal(ep.relu_mask(ints), ints > 0)  # not a float: bool, as before
