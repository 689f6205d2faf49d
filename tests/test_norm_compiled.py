"""BatchNormalization's compiled kernel (numba extra, layers/_norm_numba.py) against the
NumPy kernel it stands in for: values, statistics, gradients, moving statistics, and the
same bits at every thread count."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet import _optimizer_kernels as opk
from glassnet.layers import normalization as nm

pytest.importorskip("numba", reason="the optional numba extra is not installed")


def _run(x, gy, compiled, monkeypatch, scale=True, center=True, need_x=True):
    with monkeypatch.context() as m:
        if compiled:
            m.setenv("GLASSNET_NUMBA", "1")
        else:
            m.setenv("GLASSNET_NUMBA", "0")
        m.setattr(opk, "_STATE", {})
        c = x.shape[-1]
        rng = np.random.default_rng(7)
        params = []
        if scale:
            params.append(gn.tensor(rng.normal(1, 0.3, c).astype(x.dtype),
                                    requires_grad=True, dtype=x.dtype.name))
        if center:
            params.append(gn.tensor(rng.normal(0, 0.3, c).astype(x.dtype),
                                    requires_grad=True, dtype=x.dtype.name))
        mm = gn.tensor(np.zeros(c, x.dtype), dtype=x.dtype.name)
        mv = gn.tensor(np.ones(c, x.dtype), dtype=x.dtype.name)
        axes = tuple(range(x.ndim - 1))
        fn = nm.BatchNormalize(axes, 1e-3, scale, center, (mm, mv), 0.9,
                               bshape=(1,) * (x.ndim - 1) + (c,))
        xt = gn.tensor(x, requires_grad=need_x, dtype=x.dtype.name)
        y = fn(xt, *params)
        assert fn.compiled == compiled
        y.backward(gy)
        grads = [xt.grad] if need_x else []
        return [y.data, mm.data, mv.data, *grads, *(p.grad for p in params)]


@pytest.mark.parametrize("shape", [(32, 28, 28, 16), (4100, 64), (3, 7, 5, 3)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_batchnorm_matches_the_numpy_kernel(shape, dtype, monkeypatch):
    rng = np.random.default_rng(0)
    x = (rng.normal(2.0, 3.0, shape)).astype(dtype)
    gy = rng.normal(size=shape).astype(dtype)
    want = _run(x, gy, False, monkeypatch)
    got = _run(x, gy, True, monkeypatch)
    tol = 2e-5 if dtype == np.float32 else 1e-11
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol * max(1.0, np.abs(b).max()))


@pytest.mark.parametrize("scale,center,need_x", [(False, True, True), (True, False, True),
                                                 (True, True, False), (False, False, True)])
def test_compiled_batchnorm_without_gamma_beta_or_input_gradient(scale, center, need_x,
                                                                 monkeypatch):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(8, 6, 6, 5)).astype(np.float32)
    gy = rng.normal(size=x.shape).astype(np.float32)
    want = _run(x, gy, False, monkeypatch, scale, center, need_x)
    got = _run(x, gy, True, monkeypatch, scale, center, need_x)
    assert len(got) == len(want)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-5)


def test_compiled_batchnorm_bits_do_not_depend_on_the_thread_count(monkeypatch):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(16, 20, 20, 8)).astype(np.float32)  # 6,400 rows: several blocks
    gy = rng.normal(size=x.shape).astype(np.float32)
    runs = []
    for threads in (1, 2):
        with monkeypatch.context() as m:
            m.setattr(opk, "_blocks", lambda size, t=threads: t)
            runs.append(_run(x, gy, True, monkeypatch))
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def test_a_model_with_batchnorm_trains_the_same_compiled(monkeypatch):
    def train(flag):
        monkeypatch.setenv("GLASSNET_NUMBA", flag)
        monkeypatch.setattr(opk, "_STATE", {})
        gn.set_seed(3)
        m = gn.models.Sequential([gn.layers.Input((10, 10, 3)),
                                  gn.layers.Conv2D(8, 3, padding="same", activation="relu"),
                                  gn.layers.BatchNormalization(),
                                  gn.layers.Flatten(), gn.layers.Dense(2)])
        m.compile("sgd", gn.losses.SparseCategoricalCrossentropy(from_logits=True))
        x = np.random.default_rng(4).normal(size=(16, 10, 10, 3)).astype(np.float32)
        y = np.arange(16) % 2
        for _ in range(3):
            m.train_on_batch(x, y)
        return m.get_weights(), m.predict(x, verbose=0)

    (w0, p0), (w1, p1) = train("0"), train("1")
    for a, b in zip(w1 + [p1], w0 + [p0]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
