"""A max pooling that takes over the convolution before it in an inference program
(``Pool2DKernel.absorb``, ``glassnet.layers._conv_pool_numba``): one compiled pass per
chunk of samples, the same values as the two ops, bit for bit (the same CBLAS routine on
the same columns; the maxima and the ReLU as the pooling computes them). And a
convolution's forward per batch slice as one compiled call (``layers/_conv_numba.py``),
the same bits as the NumPy path. Both need numba and a CBLAS library (MKL, or the
``openblas`` extra that the dev install brings); each test runs under each one
installed."""

import os
import signal

import numpy as np
import pytest

import glassnet as gn
from glassnet import backend
from glassnet.layers import _conv_kernels as ck
from glassnet.layers import _conv_pool_numba as cp
from glassnet.layers.pooling import Pool2DKernel


@pytest.fixture(params=["mkl", "openblas"])
def blas(request, monkeypatch):
    """The products on MKL or on the openblas extra (skipped where it is not installed),
    numba on."""
    pytest.importorskip("numba")
    found = (backend._mkl_candidates if request.param == "mkl"
             else backend._openblas_candidates)()
    if not found:
        pytest.skip(f"the optional '{request.param}' extra is not installed")
    monkeypatch.setattr(backend, "_gemm", {})
    monkeypatch.setenv("GLASSNET_GEMM", request.param)
    monkeypatch.setenv("GLASSNET_NUMBA", "1")
    # NumPy's OpenBLAS keeps its threads (the process's other tests use it)
    monkeypatch.setattr(backend, "_single_thread_numpy_blas", lambda keep=None: None)
    assert backend.gemm_info().startswith(request.param)
    return request.param


def _pair(strides, dilation, pads, relu, pool):
    """(conv, pool) as the unfused program runs them, and a fresh pair whose pool has
    taken its conv over (after the conv ran once, as in a recording)."""
    with gn.no_grad():
        conv = ck.Conv2DKernel(strides, dilation, pads, relu=relu)
        pl = Pool2DKernel("max", pool, pool)
        conv2 = ck.Conv2DKernel(strides, dilation, pads, relu=relu)
        fused = Pool2DKernel("max", pool, pool)
    return conv, pl, conv2, fused


# (N, H, W, C), (kh, kw, F), strides, dilation, padding, pool, bias, relu
CASES = [
    ((64, 28, 28, 1), (3, 3, 32), (1, 1), (1, 1), "valid", (2, 2), True, True),  # MNIST
    ((1, 64, 64, 1), (3, 3, 32), (1, 1), (1, 1), "valid", (2, 2), True, True),  # batch 1
    ((8, 27, 27, 1), (3, 3, 16), (1, 1), (1, 1), "valid", (2, 2), True, False),  # odd: 25 -> 12
    ((32, 13, 11, 3), (3, 3, 24), (1, 1), (1, 1), "same", (2, 2), True, True),  # RGB, 'same'
    ((32, 16, 17, 2), (2, 3, 16), (1, 2), (1, 1), "same", (2, 1), False, True),  # no bias
    ((64, 20, 20, 3), (3, 3, 20), (2, 2), (1, 1), "valid", (3, 3), True, True),  # stride 2
    ((8, 21, 21, 2), (3, 3, 32), (1, 1), (2, 2), "valid", (2, 2), True, True),  # dilated
    ((2, 30, 30, 7), (5, 5, 48), (1, 1), (1, 1), "same", (2, 2), True, True),  # 7 channels
    ((50, 40, 40, 1), (3, 3, 1), (1, 1), (1, 1), "valid", (2, 2), True, True),  # one filter
    # 8 or more channels: row-major columns, the bias added to the maxima
    ((16, 13, 13, 32), (3, 3, 64), (1, 1), (1, 1), "valid", (2, 2), True, True),  # conv2
    ((8, 14, 15, 8), (3, 3, 24), (1, 1), (1, 1), "same", (2, 2), True, False),  # 'same'
    ((4, 17, 17, 16), (3, 2, 32), (2, 1), (1, 2), "same", (2, 3), False, True),  # strides
    ((64, 9, 9, 12), (1, 1, 16), (1, 1), (1, 1), "valid", (3, 3), True, True),  # 1x1
    ((64, 9, 9, 3), (1, 1, 16), (1, 1), (1, 1), "valid", (3, 3), True, True),  # 1x1, RGB
]


def _pads(shape, k, strides, dilation, padding):
    if padding == "valid":
        return ((0, 0), (0, 0))
    return tuple(ck.same_pads(shape[1 + a], k[a], strides[a], dilation[a]) for a in (0, 1))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: "x".join(map(str, c[0])) + f"-k{c[1]}")
def test_fused_pass_gives_the_two_ops_bits(blas, case, dtype):
    shape, (kh, kw, f), strides, dilation, padding, pool, bias, relu = case
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    x[0, 5, 5, 0] = np.nan  # NaN wins every window it reaches, through the product
    x[-1, :3, :3] = -0.0
    w = rng.standard_normal((kh, kw, shape[3], f)).astype(dtype)
    b = rng.standard_normal(f).astype(dtype) if bias else None
    wb = (w,) if b is None else (w, b)
    pads = _pads(shape, (kh, kw), strides, dilation, padding)
    conv, pl, conv2, fused = _pair(strides, dilation, pads, relu, pool)
    with gn.no_grad():
        want = pl.forward(conv.forward(x, *wb))
        conv2.forward(x, *wb)  # the recording
        assert fused.absorb(conv2) and fused.conv is conv2
        assert fused.relu == relu and not conv2.relu  # the ReLU is the pooling's
        got = fused.forward(x, *wb)
    assert got.shape == want.shape and got.dtype == want.dtype
    assert np.isnan(want).any()
    np.testing.assert_array_equal(got, want)
    assert np.array_equal(np.signbit(got), np.signbit(want))
    # it ran fused wherever the backend multiplies this product on the BLAS library
    n, ch, cw = shape[0], want.shape[1] * pool[0], want.shape[2] * pool[1]
    rows = n * ((shape[1] + sum(pads[0]) - (kh - 1) * dilation[0] - 1) // strides[0] + 1) * (
        (shape[2] + sum(pads[1]) - (kw - 1) * dilation[1] - 1) // strides[1] + 1)
    # columns channel-major (the bias a row of them) or row-major (8+ channels, or 1x1)
    few = shape[3] < 8 and not (kh == kw == 1 and strides == (1, 1))
    routine = backend.cblas_gemm(rows, kh * kw * shape[3] + (bias and few), f,
                                 np.dtype(dtype), few)
    assert (fused.plan[1] is not None) == (routine is not None)
    if blas == "mkl" or f >= 16:  # (the openblas rule keeps narrow results on NumPy)
        assert routine is not None and ch * cw > 0


def test_chunks_and_threads_give_the_same_bits(blas, monkeypatch, region):
    # one chunk per sample, or the whole batch at once; one thread or the batch in slices
    rng = np.random.default_rng(1)
    x = rng.standard_normal((24, 28, 28, 1)).astype("float32")
    w = rng.standard_normal((3, 3, 1, 32)).astype("float32")
    b = rng.standard_normal(32).astype("float32")
    g = cp.applies(x, w, b, 24 * 26 * 26)
    assert g is not None
    geo = (1, 1, 1, 1, ((0, 0), (0, 0)))
    ref = cp.conv_max_pool(g, x, w, b, geo, (2, 2), True, (13, 13))
    for size in (1, 1 << 30):
        monkeypatch.setattr(cp, "CHUNK_BYTES", size)
        np.testing.assert_array_equal(cp.conv_max_pool(g, x, w, b, geo, (2, 2), True, (13, 13)),
                                      ref)
    from glassnet import _parallel
    monkeypatch.setattr(_parallel, "threads",
                        lambda: 1 if getattr(_parallel._inside, "on", False) else 3)
    monkeypatch.setattr(_parallel, "work_slices", lambda n, work: [slice(0, 7), slice(7, 15),
                                                                   slice(15, n)])
    np.testing.assert_array_equal(cp.conv_max_pool(g, x, w, b, geo, (2, 2), True, (13, 13)),
                                  ref)


def _mnist_convnet():
    gn.set_seed(0)
    m = gn.Sequential([gn.Input((28, 28, 1)), gn.layers.Conv2D(32, 3, activation="relu"),
                       gn.layers.MaxPooling2D(2), gn.layers.Conv2D(16, 3, activation="relu"),
                       gn.layers.MaxPooling2D(2), gn.layers.Flatten(),
                       gn.layers.Dense(10, activation="softmax")])
    m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def test_predict_runs_the_fused_pass_with_the_recordings_bits(blas, recorded_programs,
                                                              monkeypatch):
    calls = []
    real = cp.conv_max_pool
    monkeypatch.setattr(cp, "conv_max_pool", lambda *a: calls.append(a[1].shape) or real(*a))
    m = _mnist_convnet()
    x = np.random.default_rng(2).random((96, 28, 28, 1)).astype("float32")
    first = m.predict(x, batch_size=48, verbose=0)
    del calls[:]
    again = m.predict(x, batch_size=48, verbose=0)  # replayed: one fused pass a batch
    assert calls
    np.testing.assert_array_equal(again, first)
    prog = recorded_programs[0]
    parts = getattr(prog, "parts", None) or [prog]  # (a program per slice where it splits)
    for p in parts:
        names = [fn.name for fn, _, _ in p.forward_nodes]
        # each convolution is inside its pooling: the first of one channel (columns
        # channel-major), the second of 32 (columns row-major)
        assert names[:2] == ["Conv2DKernel+Pool2DKernel"] * 2
        assert "Conv2DKernel+Pool2DKernel" in p.source
    # evaluate too; and the eager model (no program) gives the same probabilities
    loss, acc = m.evaluate(x, np.arange(96) % 10, batch_size=48, verbose=0)
    eager = _mnist_convnet()
    eager.set_weights(m.get_weights())
    eager.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"],
                  jit_compile=False)
    np.testing.assert_array_equal(eager.predict(x, batch_size=48, verbose=0), first)
    assert (loss, acc) == tuple(eager.evaluate(x, np.arange(96) % 10, batch_size=48,
                                               verbose=0))


@pytest.mark.parametrize("pooling", [
    gn.layers.MaxPooling2D(3, strides=2),  # overlapping windows
    gn.layers.MaxPooling2D(2, padding="same"),  # padded windows
    gn.layers.AveragePooling2D(2),
])
def test_other_poolings_leave_the_convolution_alone(blas, pooling, recorded_programs):
    gn.set_seed(0)
    m = gn.Sequential([gn.Input((15, 15, 2)), gn.layers.Conv2D(16, 3, activation="relu"),
                       pooling, gn.layers.Flatten(), gn.layers.Dense(3)])
    x = np.random.default_rng(3).random((4, 15, 15, 2)).astype("float32")
    want = m.predict(x, verbose=0)
    np.testing.assert_array_equal(m.predict(x, verbose=0), want)
    (prog,) = recorded_programs
    names = [fn.name for fn, _, _ in prog.forward_nodes]
    assert names[:2] == ["Conv2DKernel", "Pool2DKernel"]


def test_training_keeps_the_two_ops(blas, recorded_programs):
    m = _mnist_convnet()
    x = np.random.default_rng(4).random((8, 28, 28, 1)).astype("float32")
    m.train_on_batch(x, np.arange(8))
    assert all(not isinstance(fn, Pool2DKernel) or fn.conv is None
               for p in recorded_programs for fn, _, _ in p.forward_nodes)


def test_without_numba_or_a_blas_library_the_ops_stay(monkeypatch):
    with gn.no_grad():
        conv = ck.Conv2DKernel(relu=True)
        conv.forward(np.ones((2, 6, 6, 1), "float32"), np.ones((3, 3, 1, 4), "float32"))
        monkeypatch.setenv("GLASSNET_NUMBA", "0")
        pool = Pool2DKernel("max", (2, 2), (2, 2))
        assert not pool.absorb(conv) and pool.conv is None
        assert pool.relu and not conv.relu  # the ReLU is still taken over
        monkeypatch.setenv("GLASSNET_NUMBA", "1")
        monkeypatch.setattr(backend, "_gemm", {})
        monkeypatch.setenv("GLASSNET_GEMM", "numpy")
        assert not cp.possible()


def test_a_mixed_dtype_input_runs_the_two_ops(blas):
    # a float64 batch into float32 weights: the convolution promotes; no fused pass
    rng = np.random.default_rng(5)
    x = rng.standard_normal((8, 20, 20, 1))
    w = rng.standard_normal((3, 3, 1, 32)).astype("float32")
    b = np.zeros(32, "float32")
    conv, pl, conv2, fused = _pair((1, 1), (1, 1), ((0, 0), (0, 0)), True, (2, 2))
    with gn.no_grad():
        want = pl.forward(conv.forward(x, w, b))
        conv2.forward(x.astype("float32"), w, b)
        assert fused.absorb(conv2)
        got = fused.forward(x, w, b)
    assert fused.plan[1] is None
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("m,k,n,trans", [
    (43264, 10, 32, True), (64, 784, 512, False), (8, 784, 512, False), (2, 3, 4, False),
    (32768, 128, 10, True), (128, 10, 4096, True), (4000, 300, 8, False),
])
def test_cblas_gemm_names_the_routine_matmul_calls(blas, m, k, n, trans, monkeypatch):
    # one rule: the routine cblas_gemm gives is the one matmul calls on those operands,
    # called directly (None where matmul keeps the product on NumPy or transposes it)
    rng = np.random.default_rng(6)
    a = rng.standard_normal((k, m) if trans else (m, k)).astype("float32")
    a = a.T if trans else a
    bm = rng.standard_normal((k, n)).astype("float32")
    seen = []
    real = backend._gemm["s"]

    def spy(order, ta, tb, mm, nn, kk, *rest):
        seen.append((ta == 112, mm, nn, kk))
        return real(order, ta, tb, mm, nn, kk, *rest)

    monkeypatch.setitem(backend._gemm, "s", spy)
    got = backend.matmul(a, bm)
    np.testing.assert_allclose(got, a.astype("float64") @ bm, rtol=1e-4, atol=1e-3)
    routine = backend.cblas_gemm(m, k, n, np.float32, trans)
    if routine is None:
        assert (trans, m, n, k) not in seen
    else:
        assert routine is spy and seen == [(trans, m, n, k)]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_predicts_as_its_parent(blas):
    # a child forked after the replays: its programs' plans are made again there (where
    # MKL threads on OpenMP, the child keeps its products on NumPy, see cblas_gemm)
    m = _mnist_convnet()
    x = np.random.default_rng(7).random((96, 28, 28, 1)).astype("float32")
    m.predict(x, batch_size=48, verbose=0)
    want = m.predict(x, batch_size=48, verbose=0)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            signal.alarm(60)  # a hung child ends, and the parent sees no result
            os.close(r)
            out = m.predict(x, batch_size=48, verbose=0)
            os.write(w, np.ascontiguousarray(out, "float32").tobytes())
        finally:
            os._exit(0)
    os.close(w)
    data = b""
    while chunk := os.read(r, 1 << 16):
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    assert len(data) == want.nbytes
    got = np.frombuffer(data, "float32").reshape(want.shape)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ one slice, one call
# (layers/_conv_numba.py: a convolution's columns, product, bias and ReLU per batch slice)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", [
    ((16, 13, 13, 32), (3, 3, 64), (1, 1), (1, 1), "valid", True, True),  # MNIST conv2
    ((1, 20, 20, 8), (3, 3, 64), (1, 1), (1, 1), "same", True, False),  # batch 1, 'same'
    ((9, 15, 17, 16), (5, 3, 32), (2, 1), (1, 2), "same", False, True),  # no bias
    ((4, 12, 12, 12), (2, 2, 16), (2, 2), (1, 1), "valid", True, False),  # stride 2
], ids=lambda c: "x".join(map(str, c[0])))
def test_compiled_slices_give_the_numpy_paths_bits(blas, case, dtype, monkeypatch, region):
    shape, (kh, kw, f), strides, dilation, padding, bias, relu = case
    rng = np.random.default_rng(8)
    x = rng.standard_normal(shape).astype(dtype)
    x[0, 2, 2, 0] = np.nan
    w = rng.standard_normal((kh, kw, shape[3], f)).astype(dtype)
    wb = (w, rng.standard_normal(f).astype(dtype)) if bias else (w,)
    pads = _pads(shape, (kh, kw), strides, dilation, padding)
    from glassnet import _parallel
    from glassnet.layers import _conv_numba

    ran = []
    real = _conv_numba.forward_rows
    with pytest.MonkeyPatch.context() as mp, gn.no_grad():
        mp.setattr(_conv_numba, "forward_rows", lambda *a: ran.append(1) or real(*a))
        got = ck.Conv2DKernel(strides, dilation, pads, relu=relu).forward(x, *wb)
        mp.setattr(_conv_numba, "routine", lambda *a: None)  # the NumPy path
        want = ck.Conv2DKernel(strides, dilation, pads, relu=relu).forward(x, *wb)
    rows = x.shape[0] * want.shape[1] * want.shape[2]
    if backend.cblas_gemm(rows, kh * kw * shape[3], f, np.dtype(dtype)) is not None:
        assert ran  # (it ran wherever the backend multiplies this product on the library)
    assert np.isnan(want).any()
    np.testing.assert_array_equal(got, want)
    assert np.array_equal(np.signbit(got), np.signbit(want))
    # in slices on threads too (the region fixture: openmp, or one after the other)
    monkeypatch.setattr(_parallel, "threads",
                        lambda: 1 if getattr(_parallel._inside, "on", False) else 2)
    monkeypatch.setattr(_parallel, "MIN_WORK", 1)
    with gn.no_grad():
        c = ck.Conv2DKernel(strides, dilation, pads, relu=relu)
        sliced = c.forward(x, *wb)
    np.testing.assert_array_equal(sliced, want)
