"""The convolution speed paths against their references: the bias folded into the GEMM
(few channels), the tiled bias add, the kernel gradient's GEMM orientation, and the max
pool over disjoint windows (reshape forward, mask backward in chunks) against the
slice-by-slice kernel and PyTorch, ties and edge shapes included."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet import backend
from glassnet.layers import _conv_kernels as ck
from glassnet.layers import _pool_kernels, _pool_numba
from glassnet.layers.conv import conv2d
from glassnet.layers.pooling import Pool2DKernel, max_pool2d


def _rand(*shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).normal(size=shape).astype(dtype)


def _conv_grads(x, w, b, need=(True, True, True), **kw):
    xg = gn.tensor(x, requires_grad=need[0], dtype=x.dtype.name)
    wg = gn.tensor(w, requires_grad=need[1], dtype=w.dtype.name)
    bg = gn.tensor(b, requires_grad=need[2], dtype=b.dtype.name)
    y = conv2d(xg, wg, bg, **kw)
    y.backward(_rand(*y.shape, seed=7, dtype=y.dtype))
    return y.data, xg.grad, wg.grad, bg.grad


def _unfolded(monkeypatch):
    """The reference: no bias folding (bias added after the GEMM, summed for its grad)."""
    monkeypatch.setattr(ck, "_folds", lambda *a: False)


# ------------------------------------------------------------------ folded bias
@pytest.mark.parametrize("n,h,w,c,k,f,s,p", [
    (1, 3, 3, 1, 3, 1, 1, "valid"),       # batch 1, one channel, one output pixel
    (3, 9, 8, 3, 3, 5, 2, "same"),        # RGB-like, stride 2
    (2, 7, 7, 7, 2, 4, 1, "valid"),       # just below the few-channel limit
    (130, 6, 6, 1, 3, 8, 1, "valid"),     # more rows than the tiled bias's 64
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_folded_bias_equals_the_unfolded_kernel(n, h, w, c, k, f, s, p, dtype, monkeypatch):
    x, wk, b = _rand(n, h, w, c, dtype=dtype), _rand(k, k, c, f, seed=1, dtype=dtype), \
        _rand(f, seed=2, dtype=dtype)
    got = _conv_grads(x, wk, b, strides=s, padding=p)
    assert ck._folds(c, k, k, s, s, np)
    with monkeypatch.context() as m:
        _unfolded(m)
        want = _conv_grads(x, wk, b, strides=s, padding=p)
    tol = 1e-4 if dtype == np.float32 else 1e-10
    for g, r in zip(got, want):
        np.testing.assert_allclose(g, r, rtol=tol, atol=tol)
    # seeded runs repeat bit for bit
    for g, r in zip(got, _conv_grads(x, wk, b, strides=s, padding=p)):
        np.testing.assert_array_equal(g, r)


@pytest.mark.parametrize("need", [(True, False, True), (False, True, False),
                                  (False, False, True)])
def test_folded_bias_with_frozen_kernel_or_bias(need, monkeypatch):
    x, w, b = _rand(2, 6, 5, 2), _rand(3, 3, 2, 4, seed=1), _rand(4, seed=2)
    got = _conv_grads(x, w, b, need=need, padding="same")
    with monkeypatch.context() as m:
        _unfolded(m)
        want = _conv_grads(x, w, b, need=need, padding="same")
    for g, r in zip(got, want):
        if r is None:
            assert g is None
        else:
            np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-4)


def test_folded_bias_gradcheck_float64_and_inference_chunks(monkeypatch):
    x, w, b = (_rand(2, 5, 4, 2, dtype=np.float64), _rand(3, 3, 2, 3, seed=1, dtype=np.float64),
               _rand(3, seed=2, dtype=np.float64))
    gn.gradcheck(lambda x, w, b: conv2d(x, w, b, padding="same"), x, w, b)
    want = conv2d(x, w, b, padding="same").data
    monkeypatch.setattr(ck, "_COL_BUDGET", 5 * 4 * 18 * 8)  # one sample a chunk
    with gn.no_grad():
        np.testing.assert_allclose(conv2d(x, w, b, padding="same").data, want, rtol=1e-12)


def test_mixed_dtypes_do_not_fold():
    x, w, b = _rand(1, 4, 4, 1), _rand(3, 3, 1, 2, seed=1, dtype=np.float64), _rand(2, seed=2)
    y = conv2d(x, w, b).data
    ref = conv2d(x.astype(np.float64), w, b.astype(np.float64)).data
    np.testing.assert_allclose(y, ref, rtol=1e-6)


@pytest.mark.parametrize("rows", [1, 9, 63, 64, 96, 130, 64 * 5])
def test_add_bias_tiled_equals_broadcast(rows):
    y, b = _rand(rows, 7), _rand(7, seed=1)
    want = y + b
    got = ck._add_bias(y.copy(), b)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(ck._add_bias(y.copy(), b.astype(np.float64)), y + b.astype(
        np.float64))


@pytest.mark.parametrize("mkl", [False, True])
@pytest.mark.parametrize("order", ["C", "F"])
def test_weight_grad_either_orientation(mkl, order, monkeypatch):
    monkeypatch.setattr(backend, "gemm_info", lambda: "mkl (fake)" if mkl else "numpy")
    col = np.asarray(_rand(300, 20), order=order)
    g = _rand(300, 6, seed=1)
    np.testing.assert_allclose(ck._weight_grad(col, g), col.astype(np.float64).T @ g,
                               rtol=1e-4, atol=1e-4)


# ------------------------------------------------------------------ max pool, disjoint
def _pool(x, pool, strides=None, padding="valid", reference=False, monkeypatch=None):
    """(y, gx) of max pooling; ``reference``: the slice-by-slice NumPy kernel."""
    with monkeypatch.context() as m:
        m.setattr(_pool_numba, "applies", lambda *a: False)
        if reference:
            m.setattr(Pool2DKernel, "_disjoint", lambda self: False)
        xg = gn.tensor(x, requires_grad=True, dtype=x.dtype.name)
        y = max_pool2d(xg, pool, strides, padding)
        y.backward(_rand(*y.shape, seed=9, dtype=x.dtype))
    return y.data, xg.grad


@pytest.mark.parametrize("shape,pool,padding", [
    ((1, 2, 2, 1), 2, "valid"),         # one window
    ((2, 7, 9, 3), 2, "valid"),         # trailing row and column outside every window
    ((3, 6, 6, 5), 3, "valid"),
    ((2, 4, 6, 2), (2, 3), "valid"),
    ((2, 5, 7, 2), (1, 2), "valid"),    # one-row windows (MaxPooling1D's view)
    ((2, 5, 4, 2), (2, 1), "valid"),
    ((2, 5, 5, 3), 2, "same"),          # -inf padding at the bottom/right
    ((9, 26, 26, 32), 2, "valid"),      # the MNIST convnet's first pooling, several chunks
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_disjoint_max_pool_equals_the_slice_kernel(shape, pool, padding, dtype, monkeypatch):
    x = np.maximum(_rand(*shape, dtype=dtype), 0)  # ReLU output: many tied zeros
    x[0, :2, :2] = 0.5                             # a window of four equal maxima
    monkeypatch.setattr(_pool_kernels, "_POOL_CHUNK", x[0].nbytes * 2)  # two samples a chunk
    y1, g1 = _pool(x, pool, padding=padding, monkeypatch=monkeypatch)
    y2, g2 = _pool(x, pool, padding=padding, reference=True, monkeypatch=monkeypatch)
    assert y1.dtype == dtype and y1.flags.c_contiguous
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(g1, g2)


def test_disjoint_max_pool_ties_nan_and_torch(monkeypatch):
    torch = pytest.importorskip("torch")
    x = np.maximum(_rand(3, 8, 6, 4), 0)
    x[1, 2:4, 2:4, 1] = 2.0          # all four tied: the first (row-major) takes it
    x[2, 0, 1, 0] = x[2, 1, 0, 0] = 3.0
    y, g = _pool(x, 2, monkeypatch=monkeypatch)
    xt = torch.tensor(x).permute(0, 3, 1, 2).requires_grad_()
    torch.nn.functional.max_pool2d(xt, 2).backward(
        torch.tensor(_rand(*y.shape, seed=9)).permute(0, 3, 1, 2))
    np.testing.assert_array_equal(g, xt.grad.permute(0, 2, 3, 1).numpy())
    assert (g != 0).sum() <= y.size
    x[0, 1, 1, 0] = np.nan           # NaN wins its window's max; its gradient goes nowhere
    y, g = _pool(x, 2, monkeypatch=monkeypatch)
    y2, g2 = _pool(x, 2, reference=True, monkeypatch=monkeypatch)
    assert np.isnan(y[0, 0, 0, 0])
    np.testing.assert_array_equal(y, y2)
    np.testing.assert_array_equal(g, g2)


def test_max_pooling1d_uses_the_disjoint_kernel(monkeypatch):
    x = np.maximum(_rand(4, 11, 3), 0)
    layer = gn.layers.MaxPooling1D(2)
    xg = gn.tensor(x, requires_grad=True)
    y = layer(xg)
    y.backward(_rand(*y.shape, seed=2))
    want = np.maximum(x[:, 0:10:2], x[:, 1:10:2])
    np.testing.assert_array_equal(y.data, want)
    first = x[:, 0:10:2] >= x[:, 1:10:2]
    gy = _rand(*y.shape, seed=2)
    np.testing.assert_array_equal(xg.grad[:, 0:10:2], np.where(first, gy, 0))
    np.testing.assert_array_equal(xg.grad[:, 1:10:2], np.where(first, 0, gy))
    assert (xg.grad[:, 10] == 0).all()


def test_fused_relu_backward_in_chunks_equals_the_mask_formula():
    # 2 x 99 x 100 output rows of 4 filters: the ReLU mask is built in several chunks
    x, w, b = _rand(2, 101, 102, 2), _rand(3, 3, 2, 4, seed=1), _rand(4, seed=2)
    xg, wg = gn.tensor(x, requires_grad=True), gn.tensor(w, requires_grad=True)
    y = ck.Conv2DKernel(relu=True)(xg, wg, gn.tensor(b, requires_grad=True))
    gy = _rand(*y.shape, seed=3)
    y.backward(gy)
    plain = ck.Conv2DKernel()
    xr, wr = gn.tensor(x, requires_grad=True), gn.tensor(w, requires_grad=True)
    z = plain(xr, wr, gn.tensor(b))
    z.backward(gy * (z.data > 0))
    np.testing.assert_array_equal(y.data, np.maximum(z.data, 0))
    np.testing.assert_allclose(xg.grad, xr.grad, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(wg.grad, wr.grad, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("s,d", [(1, 1), (1, 2), (2, 1)])
def test_col2im_many_channels_equals_the_naive_sum(s, d):
    n, oh, ow, c, k, kh, kw = 2, 4, 5, 9, 6, 3, 2
    hp, wp = (oh - 1) * s + (kh - 1) * d + 1 + 1, (ow - 1) * s + (kw - 1) * d + 1
    a2d, wk = _rand(n * oh * ow, k, dtype=np.float64), _rand(kh, kw, c, k, seed=1,
                                                             dtype=np.float64)
    want = np.zeros((n, hp, wp, c))
    a4 = a2d.reshape(n, oh, ow, k)
    for i in range(kh):
        for j in range(kw):
            want[:, i * d:i * d + (oh - 1) * s + 1:s, j * d:j * d + (ow - 1) * s + 1:s] += \
                a4 @ wk[i, j].T
    got = ck._col2im(a2d, wk, (n, hp, wp, c), oh, ow, s, s, d, d)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("block", [8, 1 << 16])
@pytest.mark.parametrize("need_b", [True, False])
def test_first_layer_masked_weight_grad_in_blocks(block, need_b, monkeypatch):
    # no input gradient, fused ReLU, folded bias: the masked gradient block by block
    x, w, b = _rand(3, 9, 8, 2), _rand(3, 3, 2, 5, seed=1), _rand(5, seed=2)
    monkeypatch.setattr(ck, "_MASK_BLOCK", block)

    def grads():
        wg, bg = gn.tensor(w, requires_grad=True), gn.tensor(b, requires_grad=need_b)
        y = ck.Conv2DKernel(relu=True)(gn.tensor(x), wg, bg)
        y.backward(_rand(*y.shape, seed=3))
        return y.data, wg.grad, bg.grad

    got = grads()
    with monkeypatch.context() as m:
        m.setattr(ck.Conv2DKernel, "_masked_weight_grad", None)  # must not be reached
        m.setattr(ck, "_FUSE_MASK", False)
        want = grads()
    for g, r in zip(got, want):
        if r is None:
            assert g is None
        else:
            np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(got[1], grads()[1])  # repeatable bit for bit


@pytest.mark.parametrize("c, relu, need_x", [(2, True, True), (5, False, True),
                                             (5, True, True), (2, True, False),
                                             (1, True, False), (9, True, True),
                                             (9, False, False)])
def test_training_rebuilds_columns_past_the_budget(monkeypatch, c, relu, need_x):
    """Columns past ``_COL_BUDGET`` are not kept in training: the forward keeps its input
    and the kernel's gradient rebuilds them a block of samples at a time (a first layer
    with few channels and a ReLU: in its masked blocks); values and all gradients match the
    kept-columns path (float64: up to the blocks' summation order)."""
    x, w, b = (_rand(6, 7, 5, c, dtype=np.float64), _rand(3, 3, c, 4, seed=1, dtype=np.float64),
               _rand(4, seed=2, dtype=np.float64))
    gy = _rand(6, 5, 3, 4, seed=3, dtype=np.float64)

    def run():
        op = ck.Conv2DKernel(relu=relu)
        ts = [gn.tensor(a, requires_grad=need_x or k > 0, dtype="float64")
              for k, a in enumerate((x, w, b))]
        y = op(*ts)
        y.backward(gy)
        return op, y.data, [t.grad for t in ts], ts[0].data

    kept_op, want, want_g, _ = run()
    assert kept_op.x is None and all(col is not None for col in kept_op.cols)
    per_sample = 5 * 3 * 9 * c * 8
    monkeypatch.setattr(ck, "_COL_BUDGET", 2 * per_sample)  # three chunks of two samples
    monkeypatch.setattr(ck, "_REBUILD_BLOCK", per_sample)  # rebuilt one sample at a time
    monkeypatch.setattr(ck, "_MASK_BLOCK", 2 * 15 * 4)  # masked blocks of two samples
    op, got, got_g, xin = run()
    assert op.x is xin and all(col is None for col in op.cols)  # the input, not the columns
    np.testing.assert_allclose(got, want, rtol=1e-12)
    for g, r in zip(got_g, want_g):
        if r is None:
            assert g is None
        else:
            np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-12)
    gn.gradcheck(lambda x, w, b: ck.Conv2DKernel(relu=relu)(x, w, b), x, w, b)
