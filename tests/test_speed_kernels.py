"""The speed kernels against their plain NumPy references: values and gradients, edge shapes.

Embedding's bincount scatter, the activations without boolean indexing, the fused Adam
update (NumPy and numba paths) — each compared with the straightforward formula.
"""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet.layers import Embedding
from glassnet.layers.embedding import embedding_grad


def _scatter_reference(ids, rows, vocab):
    gw = np.zeros((vocab, rows.shape[1]), dtype=np.float64)
    for i, r in zip(ids, rows):
        gw[i] += r
    return gw


# ------------------------------------------------------------------ embedding
@pytest.mark.parametrize("vocab,dim,n", [
    (50, 16, 2000),   # many ids per row: the bincount path
    (10000, 8, 30),   # few ids, big table: the add.at path
    (7, 1, 1),        # one id, one column
    (3, 5, 40),       # every row repeated
    (100, 64, 700),   # wider than one transpose block row count
])
def test_embedding_grad_matches_scatter(vocab, dim, n):
    rng = np.random.default_rng(0)
    ids = rng.integers(0, vocab, n)
    rows = rng.standard_normal((n, dim)).astype(np.float32)
    got = embedding_grad(ids, rows, vocab)
    assert got.shape == (vocab, dim) and got.dtype == np.float32
    np.testing.assert_allclose(got, _scatter_reference(ids, rows, vocab), rtol=1e-5, atol=1e-5)


def test_embedding_grad_float64_and_large_block_count():
    rng = np.random.default_rng(1)
    ids = rng.integers(0, 30, 20000)
    rows = rng.standard_normal((20000, 3))
    got = embedding_grad(ids, rows, 30)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, _scatter_reference(ids, rows, 30), rtol=1e-10)


@pytest.mark.parametrize("batch,steps", [(1, 1), (1, 7), (4, 1), (16, 50)])
def test_embedding_layer_gradient_through_the_lookup(batch, steps):
    rng = np.random.default_rng(2)
    layer = Embedding(20, 4)
    ids = rng.integers(0, 20, (batch, steps))
    y = layer(ids)
    upstream = rng.standard_normal(y.shape).astype(np.float32)
    (y * gn.tensor(upstream)).sum().backward()
    want = _scatter_reference(ids.reshape(-1), upstream.reshape(-1, 4), 20)
    np.testing.assert_allclose(layer.embeddings.grad, want, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ activations
_SELU_A, _SELU_S = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
_ERF = np.vectorize(__import__("math").erf)


def _act_reference(name, x):
    """(value, derivative) by the textbook formulas, in float64 (at 0 the right derivative,
    as TensorFlow/Keras)."""
    if name == "leaky_relu":
        return np.where(x >= 0, x, 0.2 * x), np.where(x >= 0, 1.0, 0.2)
    if name == "elu":
        return np.where(x >= 0, x, np.expm1(x)), np.where(x >= 0, 1.0, np.exp(x))
    if name == "selu":
        return (_SELU_S * np.where(x >= 0, x, _SELU_A * np.expm1(x)),
                _SELU_S * np.where(x >= 0, 1.0, _SELU_A * np.exp(x)))
    if name == "gelu":
        cdf = 0.5 * (1 + _ERF(x / np.sqrt(2)))
        return x * cdf, cdf + x * np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)
    raise AssertionError(name)


@pytest.mark.parametrize("name", ["leaky_relu", "elu", "selu", "gelu"])
@pytest.mark.parametrize("shape", [(1,), (1, 1), (3, 1), (64, 33)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activation_value_and_gradient(name, shape, dtype):
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    x.flat[0] = 0.0  # the kink
    if x.size > 2:
        x.flat[1], x.flat[2] = -40.0, 40.0  # exp underflow / no overflow
    t = gn.tensor(x, requires_grad=True, dtype=np.dtype(dtype).name)
    gy = rng.standard_normal(shape).astype(dtype)
    y = gn.activations.get(name)(t)
    (y * gn.tensor(gy)).sum().backward()
    want_y, want_d = _act_reference(name, x.astype(np.float64))
    tol = 2e-6 if dtype == np.float32 else 1e-7  # gelu's erf fit is good to ~1.2e-7
    assert y.data.dtype == dtype and t.grad.dtype == dtype
    np.testing.assert_allclose(y.data, want_y, rtol=tol * 3, atol=tol * 3)
    np.testing.assert_allclose(t.grad, gy * want_d, rtol=tol * 3, atol=tol * 3)


@pytest.mark.parametrize("alpha", [0.0, 0.01, 0.3, 1.5])
def test_leaky_relu_any_slope(alpha):
    x = np.array([-2.0, -0.5, 0.0, 0.5, 2.0], np.float32)
    t = gn.tensor(x, requires_grad=True)
    gn.activations.leaky_relu(t, alpha=alpha).sum().backward()
    np.testing.assert_allclose(gn.activations.leaky_relu(x, alpha=alpha).data,
                               np.where(x >= 0, x, alpha * x), rtol=1e-6)
    np.testing.assert_allclose(t.grad, np.where(x >= 0, 1.0, alpha), rtol=1e-6)


def test_activation_nan_propagates():
    x = np.array([np.nan, 1.0], np.float32)
    for name in ("leaky_relu", "elu", "selu", "gelu"):
        assert np.isnan(gn.activations.get(name)(x).data[0]), name
