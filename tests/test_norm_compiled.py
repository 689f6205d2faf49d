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


@pytest.mark.parametrize("shape", [(32, 28, 28, 16), (4100, 64), (3, 7, 29, 29)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_batchnorm_matches_the_numpy_kernel(shape, dtype, monkeypatch):
    rng = np.random.default_rng(0)
    x = (rng.normal(2.0, 3.0, shape)).astype(dtype)
    gy = rng.normal(size=shape).astype(dtype)
    _assert_close(_run(x, gy, True, monkeypatch), _run(x, gy, False, monkeypatch),
                  2e-5 if dtype == np.float32 else 1e-11)


def _assert_close(got, want, tol):
    """The compiled kernel's arrays against the NumPy kernel's, to ``tol`` of their scale."""
    assert len(got) == len(want)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol * max(1.0, np.abs(b).max()))


@pytest.mark.parametrize("scale,center,need_x", [(False, True, True), (True, False, True),
                                                 (True, True, False), (False, False, True)])
def test_compiled_batchnorm_without_gamma_beta_or_input_gradient(scale, center, need_x,
                                                                 monkeypatch):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(16, 16, 16, 5)).astype(np.float32)
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


def _trains_the_same_compiled(monkeypatch, layers, x, compile_args, steps):
    """A model trained with the compiled kernels ends with the NumPy kernels' weights and
    predictions, to float32 rounding."""
    def train(flag):
        monkeypatch.setenv("GLASSNET_NUMBA", flag)
        monkeypatch.setattr(opk, "_STATE", {})
        gn.set_seed(3)
        m = gn.models.Sequential([gn.layers.Input(x.shape[1:]), *layers()])
        m.compile(*compile_args)
        y = np.arange(len(x)) % 2
        for _ in range(steps):
            m.train_on_batch(x, y)
        return m.get_weights(), m.predict(x, verbose=0)

    (w0, p0), (w1, p1) = train("0"), train("1")
    for a, b in zip(w1 + [p1], w0 + [p0]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_a_model_with_batchnorm_trains_the_same_compiled(monkeypatch):
    _trains_the_same_compiled(
        monkeypatch,
        lambda: [gn.layers.Conv2D(8, 3, padding="same", activation="relu"),
                 gn.layers.BatchNormalization(), gn.layers.Flatten(), gn.layers.Dense(2)],
        np.random.default_rng(4).normal(size=(16, 12, 12, 3)).astype(np.float32),
        ("sgd", gn.losses.SparseCategoricalCrossentropy(from_logits=True)), 3)


def test_small_batchnorm_runs_the_compiled_kernel_and_matches(monkeypatch):
    """Where numba is loaded, a small batch runs the compiled kernel too: its one-thread
    compilation is faster than NumPy's passes at every size (forward + backward, one thread,
    2-vCPU Xeon: (8, 16) 14.3 against 15.3 us, (32, 64) 16.4 against 19.4)."""
    rng = np.random.default_rng(6)
    for shape in ((2, 3), (8, 16), (32, 64)):
        x = rng.normal(1.0, 2.0, shape).astype(np.float32)
        gy = rng.normal(size=shape).astype(np.float32)
        _assert_close(_run(x, gy, True, monkeypatch), _run(x, gy, False, monkeypatch), 2e-5)


def test_threaded_and_one_thread_kernels_are_cached_apart():
    """numba's disk cache files a kernel by module, name and line: the two compilations of
    one function get two names, so neither loads the other's machine code (the one-thread
    BatchNormalization had run the threaded code: 10.5 us a (32, 64) forward, not 1.5)."""
    from glassnet.layers import _norm_numba

    one, threaded = _norm_numba._kernel("_forward", False), _norm_numba._kernel("_forward", True)
    assert one is not threaded
    assert one.py_func is _norm_numba._forward
    assert threaded.py_func.__qualname__ == "_forward_threaded"
    assert threaded.py_func.__code__ is _norm_numba._forward.__code__  # the same source
    assert one._cache._cache_file._index_name != threaded._cache._cache_file._index_name


# ---------------------------------------------------------------- LayerNormalization


def _run_layer(x, gy, compiled, monkeypatch, scale=True, center=True, need_x=True,
               offer=False):
    """LayerNormalization's node over the last axis, compiled or NumPy; with ``offer``,
    gamma's and beta's gradients are offered views of one buffer, as a replayed step does."""
    with monkeypatch.context() as m:
        m.setenv("GLASSNET_NUMBA", "1" if compiled else "0")
        m.setattr(opk, "_STATE", {})
        c = x.shape[-1]
        rng = np.random.default_rng(7)
        params = [rng.normal(1, 0.3, c).astype(x.dtype)] if scale else []
        params += [rng.normal(0, 0.3, c).astype(x.dtype)] if center else []
        fn = nm.Normalize((x.ndim - 1,), 1e-3, scale, center,
                          bshape=(1,) * (x.ndim - 1) + (c,))
        fn.needs_input_grad = (need_x, *([True] * len(params)))
        views = tuple(np.full((len(params), c), np.nan, x.dtype))
        fn.grad_out = (None, *views) if offer else None
        y = fn.forward(x, *params)
        # without gamma and beta the per-channel formula runs (nothing varies per feature)
        assert fn.layer == (compiled and bool(params))
        grads = fn.backward(gy)
        grads = list(grads) if isinstance(grads, tuple) else [grads]
        if offer and compiled:
            for g, view in zip(grads[1:], views):
                assert g is view  # written in place: no copy into the optimizer's buffer
        if not need_x:
            assert grads[0] is None
            grads = grads[1:]
        return [y, *(np.array(g) for g in grads)]


@pytest.mark.parametrize("shape", [(32, 64), (4, 5, 16), (7, 1), (1, 3), (3, 257)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_layernorm_matches_the_numpy_kernel(shape, dtype, monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.normal(2.0, 3.0, shape).astype(dtype)
    gy = rng.normal(size=shape).astype(dtype)
    _assert_close(_run_layer(x, gy, True, monkeypatch), _run_layer(x, gy, False, monkeypatch),
                  1e-5 if dtype == np.float32 else 1e-11)


@pytest.mark.parametrize("scale,center,need_x,offer", [
    (False, True, True, False), (True, False, True, False), (True, True, False, False),
    (False, False, True, False), (True, True, True, True), (True, False, False, True)])
def test_compiled_layernorm_options_match_the_numpy_kernel(scale, center, need_x, offer,
                                                           monkeypatch):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(9, 12)).astype(np.float32)
    gy = rng.normal(size=x.shape).astype(np.float32)
    want = _run_layer(x, gy, False, monkeypatch, scale, center, need_x, offer)
    got = _run_layer(x, gy, True, monkeypatch, scale, center, need_x, offer)
    assert len(got) == len(want)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_compiled_layernorm_keeps_nan_and_its_gradient_checks():
    x = np.array([[1.0, np.nan, 2.0], [0.5, -1.0, 3.0]], np.float32)
    with pytest.MonkeyPatch.context() as m:
        m.setenv("GLASSNET_NUMBA", "1")
        m.setattr(opk, "_STATE", {})
        fn = nm.Normalize((1,), 1e-3, bshape=(1, 3))
        y = fn.forward(x, np.ones(3, np.float32), np.zeros(3, np.float32))
        assert fn.layer
    assert np.isnan(y[0]).all() and np.isfinite(y[1]).all()
    # float64 through the layer: the compiled backward against numeric differences
    with pytest.MonkeyPatch.context() as m:
        m.setenv("GLASSNET_NUMBA", "1")
        m.setattr(opk, "_STATE", {})
        layer = gn.layers.LayerNormalization(dtype="float64")
        xt = gn.tensor(np.random.default_rng(5).normal(size=(3, 6)), requires_grad=True,
                       dtype="float64")
        gn.gradcheck(lambda t: (layer(t) * gn.tensor(np.arange(18.0).reshape(3, 6),
                                                     dtype="float64")).sum(), [xt])


def test_a_model_with_layernorm_trains_the_same_compiled(monkeypatch):
    _trains_the_same_compiled(
        monkeypatch,
        lambda: [gn.layers.Dense(16, activation="relu"), gn.layers.LayerNormalization(),
                 gn.layers.Dense(2, activation="softmax")],
        np.random.default_rng(4).normal(size=(32, 20)).astype(np.float32),
        ("adam", "sparse_categorical_crossentropy"), 5)
