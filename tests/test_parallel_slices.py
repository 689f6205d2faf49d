"""The convolution kernels cut into batch slices (glassnet._parallel) give the unsliced
kernel's values and gradients, repeat their own bits, and run on OpenMP's threads."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest
from conftest import libgomp_loads

import glassnet as gn
from glassnet import _parallel, backend
from glassnet.layers import _conv_kernels as ck
from glassnet.layers.conv import same_pads


@pytest.fixture
def sliced(region, monkeypatch):
    """Kernels cut their batches into up to 3 slices, whatever the work; the slices run on
    libgomp's team ("openmp", where it loads) or one after the other ("serial")."""
    monkeypatch.setattr(_parallel, "MIN_WORK", 0)
    monkeypatch.setattr(_parallel, "MIN_ROWS", 0)
    return lambda on: monkeypatch.setattr(_parallel, "threads", lambda: 3 if on else 1)


def _rand(*shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).normal(size=shape).astype(dtype)


CONV = [
    # (N, H, W, C, kh, kw, F, stride, padding, dilation, relu)
    (5, 9, 8, 3, 3, 3, 4, 1, "same", 1, True),      # few channels: folded bias
    (5, 9, 9, 3, 3, 3, 5, 2, "same", 1, False),     # stride 2
    (4, 8, 8, 9, 3, 3, 4, 1, "valid", 1, True),     # many channels, gx straight into place
    (3, 7, 7, 16, 3, 3, 6, 1, "same", (1, 2), True),  # padded: gx cropped into place
    (3, 8, 8, 10, 3, 3, 4, 2, "valid", 1, False),   # many channels, stride 2
    (5, 4, 4, 9, 1, 1, 2, 1, "valid", 1, False),    # 1x1: one product each way
    (2, 1, 6, 3, 1, 3, 2, 1, "valid", 1, True),     # height 1 (Conv1D), batch of 2
]


def _conv(case, need_x=True):
    n, h, w, c, kh, kw, f, s, p, d, relu = case
    d2 = (d, d) if isinstance(d, int) else d
    pads = ((0, 0), (0, 0))
    if p == "same":
        pads = (same_pads(h, kh, s, d2[0]), same_pads(w, kw, s, d2[1]))
    x = gn.tensor(_rand(n, h, w, c), requires_grad=need_x, dtype="float64")
    k = gn.tensor(_rand(kh, kw, c, f, seed=1), requires_grad=True, dtype="float64")
    b = gn.tensor(_rand(f, seed=2), requires_grad=True, dtype="float64")
    y = ck.Conv2DKernel((s, s), d2, pads, relu=relu)(x, k, b)
    y.backward(_rand(*y.shape, seed=3))
    return [y.data] + [t.grad for t in (x, k, b) if t.requires_grad]


@pytest.mark.parametrize("case", CONV)
@pytest.mark.parametrize("need_x", [True, False])
def test_conv2d_on_slices_equals_the_whole_batch(case, need_x, sliced):
    sliced(False)
    whole = _conv(case, need_x)
    sliced(True)
    parts = _conv(case, need_x)
    again = _conv(case, need_x)
    for a, b, c in zip(whole, parts, again):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(b, c)  # the same cut, the same order: the same bits


TRANSPOSE = [
    # (N, H, W, Cin, k, Cout, stride, padding)
    (5, 4, 4, 6, 3, 3, 2, "same"),      # few output channels, cropped
    (3, 5, 4, 4, 3, 9, 2, "valid"),     # many output channels, into place
    (4, 3, 3, 8, 2, 10, 1, "same"),
]


def _transpose(case):
    n, h, w, cin, k, cout, s, p = case
    x = gn.tensor(_rand(n, h, w, cin), requires_grad=True, dtype="float64")
    kt = gn.tensor(_rand(k, k, cout, cin, seed=1), requires_grad=True, dtype="float64")
    b = gn.tensor(_rand(cout, seed=2), requires_grad=True, dtype="float64")
    y = gn.layers.conv.conv2d_transpose(x, kt, b, strides=s, padding=p)
    y.backward(_rand(*y.shape, seed=3))
    return [y.data, x.grad, kt.grad, b.grad]


@pytest.mark.parametrize("case", TRANSPOSE)
def test_conv2d_transpose_on_slices_equals_the_whole_batch(case, sliced):
    sliced(False)
    whole = _transpose(case)
    sliced(True)
    parts = _transpose(case)
    for a, b, c in zip(whole, parts, _transpose(case)):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(b, c)


def test_inference_slices_and_column_budget_together(sliced, monkeypatch):
    """No gradient: the column budget may ask for more slices than threads (here 5 of one
    sample each); the result is the training forward's."""
    case = (5, 9, 8, 3, 3, 3, 4, 1, "same", 1, True)
    sliced(True)
    want = _conv(case)[0]
    monkeypatch.setattr(ck, "_COL_BUDGET", 9 * 8 * 27 * 8)  # one sample a slice
    k = ck.Conv2DKernel(pads=((1, 1), (1, 1)), relu=True)
    with gn.no_grad():
        y = k(*(gn.tensor(a, dtype="float64") for a in
                (_rand(5, 9, 8, 3), _rand(3, 3, 3, 4, seed=1), _rand(4, seed=2))))
    assert len(k.sls) == 5
    np.testing.assert_allclose(y.data, want, rtol=1e-12, atol=1e-12)


def test_a_promoting_bias_keeps_one_slice(sliced):
    """A float64 bias on float32 maths promotes the result (as the unsliced kernel always
    did): one fresh array, so the kernel does not cut the batch."""
    sliced(True)
    x, w = _rand(4, 6, 6, 9, dtype=np.float32), _rand(3, 3, 9, 2, seed=1, dtype=np.float32)
    k = ck.Conv2DKernel()
    y = k(gn.tensor(x), gn.tensor(w), gn.tensor(_rand(2, seed=2), dtype="float64"))
    assert len(k.sls) == 1 and y.dtype == np.float64


def test_a_model_trains_the_same_on_slices(sliced):
    """A small CNN's weights after three steps: the sliced kernels against the whole
    batch, to float32 rounding (the kernel gradient is summed over the slices)."""
    def train(on):
        sliced(on)
        gn.set_seed(0)
        m = gn.models.Sequential([gn.layers.Input((10, 10, 3)),
                                  gn.layers.Conv2D(6, 3, padding="same", activation="relu"),
                                  gn.layers.Conv2D(4, 3, activation="relu"),
                                  gn.layers.Flatten(), gn.layers.Dense(2)])
        m.compile("adam", gn.losses.SparseCategoricalCrossentropy(from_logits=True))
        x = _rand(12, 10, 10, 3, dtype=np.float32)
        y = np.arange(12) % 2
        for _ in range(3):
            m.train_on_batch(x, y)
        return m.get_weights()

    for a, b in zip(train(False), train(True)):
        np.testing.assert_allclose(b, a, rtol=2e-5, atol=2e-6)


@pytest.mark.skipif(not libgomp_loads(), reason="libgomp.so.1 is not on this system")
def test_run_uses_openmp_threads_keeps_order_and_raises_after_all_finish(monkeypatch):
    monkeypatch.setattr(_parallel, "threads", lambda: 2)
    seen: dict[int, int] = {}
    barrier = threading.Barrier(2, timeout=10)  # both threads must be in at once

    def fn(i):
        if i < 2:
            barrier.wait()
        seen[i] = threading.get_native_id()
        return i * i

    assert _parallel.run(fn, list(range(5))) == [0, 1, 4, 9, 16]
    assert len(set(seen.values())) == 2 and sorted(seen) == [0, 1, 2, 3, 4]

    done = []

    def bad(i):
        if i == 1:
            raise ValueError("slice 1")
        done.append(i)
        return i

    with pytest.raises(ValueError, match="slice 1"):
        _parallel.run(bad, [0, 1, 2, 3])
    assert sorted(done) == [0, 2]  # thread 0's items ran; thread 1 stopped at its error


def test_one_thread_or_a_forked_child_runs_the_whole_batch(monkeypatch):
    g = backend._resolve_gemm()
    monkeypatch.setitem(g, "gomp", True)
    monkeypatch.setitem(g, "threads", 2)
    monkeypatch.setitem(g, "pid", os.getpid() + 1)  # as a child sees its parent's pid
    assert _parallel.threads() == 1
    big = 1 << 40
    assert _parallel.slices(64, big, big) == [slice(0, 64)]
    monkeypatch.setitem(g, "pid", os.getpid())
    assert _parallel.threads() == 2
    assert _parallel.slices(5, big, big) == [slice(0, 3), slice(3, 5)]
    assert _parallel.slices(5, big, 2 * _parallel.MIN_WORK - 1) == [slice(0, 5)]
    few_rows = 2 * _parallel.MIN_ROWS - 1
    assert _parallel.slices(5, few_rows, 2 * _parallel.BIG_WORK - 1) == [slice(0, 5)]
    assert _parallel.slices(5, few_rows, 2 * _parallel.BIG_WORK) == [slice(0, 3), slice(3, 5)]


def test_predictions_from_four_threads_at_once_match_the_serial_ones(sliced):
    """Each calling thread gets its own OpenMP team: four predicts at once, each cutting
    its batches into slices, give the serial predictions bit for bit."""
    sliced(True)
    gn.set_seed(1)
    m = gn.models.Sequential([gn.layers.Input((12, 12, 3)),
                              gn.layers.Conv2D(8, 3, padding="same", activation="relu"),
                              gn.layers.Conv2D(9, 3, activation="relu"),
                              gn.layers.Conv2DTranspose(4, 3, strides=2),
                              gn.layers.Flatten(), gn.layers.Dense(3)])
    xs = [_rand(10, 12, 12, 3, seed=s, dtype=np.float32) for s in range(4)]
    want = [m.predict(x, verbose=0) for x in xs]
    got: list = [None] * 4
    errors: list = []

    def run(i):
        try:
            for _ in range(5):
                got[i] = m.predict(xs[i], verbose=0)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(repr(e))

    ts = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert errors == []
    for a, b in zip(want, got):
        np.testing.assert_array_equal(b, a)


@pytest.mark.parametrize("shape", [(5, 8, 8, 3), (3, 9, 7, 4)])
def test_compiled_max_pool_on_slices_equals_the_whole_batch(shape, sliced, monkeypatch):
    """The compiled max pooling (numba extra) in slices: the same maxima and the same
    routed gradient, bit for bit (no sums are split)."""
    pytest.importorskip("numba", reason="the optional numba extra is not installed")
    from glassnet import _optimizer_kernels
    from glassnet.layers import _pool_numba
    from glassnet.layers.pooling import max_pool2d

    monkeypatch.setenv("GLASSNET_NUMBA", "1")
    monkeypatch.setattr(_optimizer_kernels, "_STATE", {})
    x = np.maximum(_rand(*shape, dtype=np.float32), 0)  # ReLU output: tied zeros
    gy = _rand(shape[0], shape[1] // 2, shape[2] // 2, shape[3], seed=4, dtype=np.float32)
    calls = []
    real = _pool_numba.max_forward
    monkeypatch.setattr(_pool_numba, "max_forward", lambda *a: calls.append(1) or real(*a))
    out = []
    for on in (False, True):
        sliced(on)
        xg = gn.tensor(x, requires_grad=True)
        y = max_pool2d(xg, 2)
        y.backward(gy)
        out.append((y.data, xg.grad, _pool_numba._slices(x)))
    assert len(calls) == 2  # the compiled kernel ran both times
    assert len(out[0][2]) == 1 and len(out[1][2]) == min(3, shape[0])
    np.testing.assert_array_equal(out[1][0], out[0][0])
    np.testing.assert_array_equal(out[1][1], out[0][1])


@pytest.mark.parametrize("target", ["sparse", "weighted", "soft"])
def test_softmax_and_cross_entropy_on_row_slices_repeat_the_whole_rows_bits(target, sliced,
                                                                             monkeypatch):
    """Large logits are cut into row slices (one per thread): the softmax, the loss and its
    gradient are the whole array's bits, for integer labels, sample weights and soft
    targets, on 3-D logits (a sequence's steps)."""
    from glassnet import functional as F

    monkeypatch.setattr(_parallel, "ELEMENTWISE_MIN", 0)
    z = _rand(4, 5, 9, dtype=np.float32) * 5
    r = np.random.default_rng(1)
    y = r.integers(0, 9, (4, 5))
    w = r.random(20).astype(np.float32) if target == "weighted" else None
    if target == "soft":
        y = r.dirichlet(np.ones(9), size=(4, 5)).astype(np.float32)

    def run(on):
        sliced(on)
        assert len(_parallel.row_slices(20, z.size)) == (3 if on else 1)
        t = gn.tensor(z, requires_grad=True)
        loss = F.softmax_cross_entropy(t, y, w)
        loss.backward()
        return F.softmax(gn.tensor(z)).data, loss.data, t.grad

    for a, b in zip(run(False), run(True)):
        assert np.array_equal(a, b)


@pytest.mark.skipif(not libgomp_loads(), reason="libgomp.so.1 is not on this system")
def test_a_run_inside_a_run_keeps_every_item(monkeypatch):
    # inside a region libgomp runs a nested one on the calling thread alone: the inner run
    # must not hand out items to threads that do not exist (they came back None)
    g = backend._resolve_gemm()
    monkeypatch.setitem(g, "gomp", True)
    monkeypatch.setitem(g, "threads", 2)
    monkeypatch.setitem(g, "pid", os.getpid())
    monkeypatch.setitem(g, "kind", "numpy")  # no MKL thread count to pin

    def outer(i):
        assert _parallel.threads() == 1
        return _parallel.run(lambda j: 10 * i + j, list(range(5)))

    assert _parallel.run(outer, [0, 1]) == [[0, 1, 2, 3, 4], [10, 11, 12, 13, 14]]
    assert _parallel.threads() == 2  # the calling thread is outside again


@pytest.mark.parametrize("relu", [False, True])
def test_inference_of_few_channels_without_relu_is_one_mkl_product(sliced, monkeypatch, relu):
    """A few-channel inference without a ReLU pass runs as one product, which MKL threads
    itself; with its ReLU, each slice's thread clips its half. Same values either way."""
    case = (5, 9, 8, 3, 3, 3, 4, 1, "same", 1, relu)
    sliced(False)
    want = _conv(case)[0]
    sliced(True)
    monkeypatch.setattr(ck, "_mkl", lambda: True)
    k = ck.Conv2DKernel(pads=((1, 1), (1, 1)), relu=relu)
    with gn.no_grad():
        y = k(*(gn.tensor(a, dtype="float64") for a in
                (_rand(5, 9, 8, 3), _rand(3, 3, 3, 4, seed=1), _rand(4, seed=2))))
    assert len(k.sls) == (3 if relu else 1)
    np.testing.assert_allclose(y.data, want, rtol=1e-12, atol=1e-12)
    monkeypatch.setattr(ck, "_mkl", lambda: False)  # OpenBLAS: the slices, as before
    k = ck.Conv2DKernel(pads=((1, 1), (1, 1)), relu=relu)
    with gn.no_grad():
        k(*(gn.tensor(a, dtype="float64") for a in
            (_rand(5, 9, 8, 3), _rand(3, 3, 3, 4, seed=1), _rand(4, seed=2))))
    assert len(k.sls) == 3


@pytest.mark.parametrize("case", [c for c in CONV if c[-1] and c[3] < 8])
def test_first_layer_mask_blocks_on_threads_give_one_threads_bits(case, region, monkeypatch):
    """A first layer's ReLU-masked weight gradient (one batch slice, several blocks): the
    blocks run on the team, their products added in block order, as one thread adds them."""
    monkeypatch.setattr(ck, "_MASK_BLOCK", 64)  # several blocks even for these batches
    monkeypatch.setattr(_parallel, "threads", lambda: 1)
    one = _conv(case, need_x=False)
    monkeypatch.setattr(_parallel, "threads", lambda: 3)
    many = _conv(case, need_x=False)
    for a, b in zip(one, many):
        np.testing.assert_array_equal(b, a)
