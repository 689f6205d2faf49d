"""Inference products through MKL's packed weights (glassnet._packed): the values of the
unpacked product, one pack per weight and row count inside a scope, nothing packed outside
one, and predict/evaluate that see every change of the weights between calls."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet import _packed, _parallel, backend
from glassnet import layers as L

MKL = backend._resolve_gemm()["kind"] == "mkl"
needs_mkl = pytest.mark.skipif(not MKL, reason="the mkl extra's GEMM does not run here")


def _rand(*shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).normal(size=shape).astype(dtype)


def test_outside_a_scope_it_is_the_ordinary_product():
    a, b = _rand(32, 784), _rand(784, 512, seed=1)
    assert _packed.current() is None
    np.testing.assert_array_equal(_packed.matmul(a, b), backend.matmul(a, b))
    out = np.empty((32, 512), np.float32)
    with _packed.fixed_weights():  # into a given array: the ordinary product, even here
        assert _packed.matmul(a, b, out) is out
        assert _packed.current() == {}
    np.testing.assert_array_equal(out, backend.matmul(a, b))


@needs_mkl
@pytest.mark.parametrize("m, k, n, dtype", [(32, 784, 512, np.float32),
                                            (8, 512, 512, np.float32),
                                            (100, 300, 70, np.float64)])
def test_packed_product_equals_the_unpacked_one(m, k, n, dtype):
    a, b = _rand(m, k, dtype=dtype), _rand(k, n, seed=1, dtype=dtype)
    want = a.astype(np.float64) @ b.astype(np.float64)
    with _packed.fixed_weights():
        got = _packed.matmul(a, b)
        assert len(_packed.current()) == 1  # (the product was large enough to pack)
    np.testing.assert_allclose(got, want, rtol=1e-4 if dtype == np.float32 else 1e-10,
                               atol=1e-3 if dtype == np.float32 else 1e-10)
    np.testing.assert_allclose(got, backend.matmul(a, b), rtol=1e-5, atol=1e-4)


@needs_mkl
def test_one_pack_per_weight_and_row_count_for_the_scope(monkeypatch):
    b = _rand(784, 512, seed=1)
    packs = []
    orig = _packed._routines

    def counting(lib, kind):
        size, pack, compute = orig(lib, kind)
        return size, lambda *a: (packs.append(a), pack(*a)), compute

    monkeypatch.setattr(_packed, "_routines", counting)
    with _packed.fixed_weights():
        first = _packed.matmul(_rand(32, 784), b)
        again = _packed.matmul(_rand(32, 784), b)
        with _packed.fixed_weights():  # a nested scope shares the outer one
            _packed.matmul(_rand(32, 784, seed=2), b)
        assert len(packs) == 1
        _packed.matmul(_rand(16, 784), b)  # another row count: its own pack
        assert len(packs) == 2
        # a transposed view of other memory is another weight
        _packed.matmul(_rand(32, 784), np.ascontiguousarray(b.T).T)
        assert len(packs) == 3
    np.testing.assert_array_equal(first, again)
    assert _packed.current() is None
    with _packed.fixed_weights():  # a new scope packs afresh (the weight may have changed)
        _packed.matmul(_rand(32, 784), b)
    assert len(packs) == 4


@needs_mkl
def test_small_and_narrow_products_are_not_packed():
    with _packed.fixed_weights():
        _packed.matmul(_rand(32, 64), _rand(64, 64))  # below MIN_WORK
        _packed.matmul(_rand(32, 1600), _rand(1600, 10))  # a narrow result
        _packed.matmul(_rand(1, 784), _rand(784, 512))  # one row
        assert _packed.current() == {}


def test_a_batch_slice_on_another_thread_shares_the_callers_scope(region, monkeypatch):
    monkeypatch.setattr(_parallel, "threads",
                        lambda: 1 if getattr(_parallel._inside, "on", False) else 2)
    with _packed.fixed_weights():
        mine = _packed.current()
        seen = _parallel._on_openmp(lambda i: _packed.current(), [0, 1], 2)
    assert all(s is mine for s in seen)
    assert _packed.current() is None


def _mlp():
    gn.set_seed(0)
    m = gn.models.Sequential([gn.Input((784,)), L.Dense(512, activation="relu"),
                              L.Dense(256, activation="relu"), L.Dense(10)])
    m.compile("sgd", "mse")
    return m


def test_predict_sees_the_weights_trained_between_calls():
    m = _mlp()
    x = _rand(96, 784, seed=3)
    first = m.predict(x, batch_size=32, verbose=0)
    np.testing.assert_array_equal(m.predict(x, batch_size=32, verbose=0), first)
    np.testing.assert_allclose(first, m(x).numpy(), rtol=1e-4, atol=1e-4)
    w = m.layers[0].kernel
    w.assign(w.numpy() * 0.5)  # in place: the same array, new values
    second = m.predict(x, batch_size=32, verbose=0)
    np.testing.assert_allclose(second, m(x).numpy(), rtol=1e-4, atol=1e-4)
    assert not np.allclose(second, first)
    m.fit(x, np.zeros((96, 10), "float32"), batch_size=32, epochs=1, verbose=0)
    np.testing.assert_allclose(m.predict(x, batch_size=32, verbose=0), m(x).numpy(),
                               rtol=1e-4, atol=1e-4)
    loss = m.evaluate(x, np.zeros((96, 10), "float32"), batch_size=32, verbose=0)
    assert loss == pytest.approx(float(np.mean(m(x).numpy() ** 2)), rel=1e-4)


def test_no_scope_while_a_callback_runs_between_batches():
    m = _mlp()
    x = _rand(64, 784, seed=4)
    scopes = []

    class Look(gn.callbacks.Callback):
        def on_predict_batch_end(self, batch, logs=None):
            scopes.append(_packed.current())

        def on_test_batch_end(self, batch, logs=None):
            scopes.append(_packed.current())

    m.predict(x, batch_size=32, verbose=0, callbacks=[Look()])
    m.evaluate(x, np.zeros((64, 10), "float32"), batch_size=32, verbose=0,
               callbacks=[Look()])
    assert scopes == [None] * 4


@needs_mkl  # (elsewhere a dense layer's products never ask _packed: NumPy's dot runs them)
def test_one_batch_packs_nothing(monkeypatch):
    """predict_on_batch (one batch): a pack would be used once, costing more than it saves."""
    m = _mlp()
    x = _rand(64, 784, seed=5)
    scopes = []
    orig = _packed.matmul

    def look(a, b):
        scopes.append(_packed.current())
        return orig(a, b)

    monkeypatch.setattr(_packed, "matmul", look)
    m.predict_on_batch(x)
    m.evaluate(x, np.zeros((64, 10), "float32"), batch_size=64, verbose=0)
    assert scopes and all(s is None for s in scopes)
    scopes.clear()
    m.predict(x, batch_size=32, verbose=0)
    assert scopes and all(s is not None for s in scopes)
