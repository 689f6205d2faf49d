"""The compiled embedding gradient (numba extra, layers/_embed_numba.py) against the NumPy
kernel it stands in for (one bincount per column, add.at for few ids), bit for bit, and the
scatter-add definition: repeats, batch 1, one step, one column, float64, the
broadcast-over-steps gradient of GlobalAveragePooling1D, and through a trained model."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet import _optimizer_kernels as opk
from glassnet import layers as L
from glassnet.layers import _embed_numba as en
from glassnet.layers.embedding import EmbeddingLookup

pytest.importorskip("numba", reason="the optional numba extra is not installed")


def _mode(monkeypatch, compiled):
    monkeypatch.setenv("GLASSNET_NUMBA", "1" if compiled else "0")
    monkeypatch.setattr(opk, "_STATE", {})


def _grad(ids, gy, vocab, monkeypatch, compiled):
    _mode(monkeypatch, compiled)
    seen = []
    for name in ("grad", "grad_broadcast"):
        real = getattr(en, name)
        monkeypatch.setattr(en, name, lambda *a, _r=real: seen.append(1) or _r(*a))
    fn = EmbeddingLookup()
    fn.forward(np.zeros((vocab, gy.shape[-1]), gy.dtype), ids)
    gw, gids = fn.backward(gy)
    assert gids is None and gw.shape == (vocab, gy.shape[-1]) and gw.dtype == gy.dtype
    return gw, len(seen)


def _tol(ids, gy):
    """Float rounding of the longest sum: eps, times the terms, times the largest partial
    sum (at most the terms times their largest size)."""
    terms = np.bincount(ids.reshape(-1)).max()
    return float(np.finfo(gy.dtype).eps * terms * terms * np.abs(gy).max()) + 1e-12


def _definition(ids, gy, vocab):
    want = np.zeros((vocab, gy.shape[-1]))
    np.add.at(want, ids.reshape(-1), np.broadcast_to(gy, (*ids.shape, gy.shape[-1]))
              .reshape(-1, gy.shape[-1]).astype(np.float64))
    return want


@pytest.mark.parametrize("shape,vocab,d", [((1, 1), 3, 1), ((1, 7), 5, 4), ((6, 1), 4, 3),
                                           ((32, 200), 10000, 16), ((4, 50), 30, 64),
                                           ((3,), 8, 2), ((2, 3, 4), 6, 5)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_gradient_equals_the_numpy_kernel(shape, vocab, d, dtype, monkeypatch):
    rng = np.random.default_rng(3)
    ids = rng.integers(0, min(vocab, 7), size=shape)  # many repeats: few distinct ids
    gy = rng.standard_normal((*shape, d)).astype(dtype)
    got, n = _grad(ids, gy, vocab, monkeypatch, True)
    ref, n_ref = _grad(ids, gy, vocab, monkeypatch, False)
    assert n == 1 and n_ref == 0
    tol = _tol(ids, gy)
    np.testing.assert_array_equal(got, ref)  # the same sums in the same order: same bits
    np.testing.assert_allclose(got, _definition(ids, gy, vocab), rtol=0, atol=tol)


@pytest.mark.parametrize("b,t,d", [(1, 1, 1), (1, 9, 3), (8, 200, 16), (5, 2, 64)])
def test_compiled_broadcast_gradient_equals_the_numpy_kernel(b, t, d, monkeypatch):
    # GlobalAveragePooling1D's gradient reaches the lookup as (B, D) broadcast over the steps
    rng = np.random.default_rng(4)
    ids = rng.integers(0, 50, size=(b, t))
    g = rng.standard_normal((b, 1, d)).astype(np.float32)
    gy = np.broadcast_to(g, (b, t, d))
    assert gy.strides[1] == 0
    got, n = _grad(ids, gy, 50, monkeypatch, True)
    ref, _ = _grad(ids, gy, 50, monkeypatch, False)
    assert n == 1
    tol = _tol(ids, gy)
    np.testing.assert_array_equal(got, ref)  # the same sums in the same order: same bits
    np.testing.assert_allclose(got, _definition(ids, gy, 50), rtol=0, atol=tol)


def test_compiled_gradient_gradchecks(monkeypatch):
    _mode(monkeypatch, True)
    ids = gn.Tensor(np.array([[1, 1, 3], [0, 3, 3]]), dtype="int64")
    table = np.random.default_rng(1).normal(size=(5, 2))
    assert gn.gradcheck(lambda w: EmbeddingLookup()(w, ids) ** 2, table).ok
    assert gn.gradcheck(lambda w: EmbeddingLookup()(w, ids).mean(axis=1) ** 2, table).ok


def test_text_classifier_trains_the_same_with_and_without_the_kernel(monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 300, size=(64, 20))
    y = (x[:, 0] > 150).astype("float32")

    def run(compiled):
        _mode(monkeypatch, compiled)
        gn.set_seed(0)
        m = gn.Sequential([L.Input((20,), dtype="int64"), L.Embedding(300, 8),
                           L.GlobalAveragePooling1D(), L.Dense(1, activation="sigmoid")])
        m.compile(optimizer="adam", loss="binary_crossentropy")
        h = m.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False)
        return h.history["loss"], m.get_weights()

    (l1, w1), (l0, w0) = run(True), run(False)
    assert l1 == l0
    for a, b in zip(w1, w0):
        assert a.tobytes() == b.tobytes()
