"""The convolution kernels (channel-major columns for few channels, col2im, grouped
convolution) and the backend's GEMM against PyTorch and NumPy references."""

from __future__ import annotations

import os

import numpy as np
import pytest

import glassnet as gn
from glassnet import backend
from glassnet.layers import Conv1D, Conv2D, Conv2DTranspose
from glassnet.layers import _conv_kernels as ck
from glassnet.layers.conv import conv2d, conv2d_transpose, same_pads

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _rand(*shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).normal(size=shape).astype(dtype)


def _nchw(a):
    return torch.tensor(a).permute(0, 3, 1, 2).contiguous().requires_grad_()


# ------------------------------------------------------------------ Conv2D vs torch
CASES = [
    # (N, H, W, C, kh, kw, F, stride, padding, dilation, relu)
    (1, 5, 5, 1, 3, 3, 2, 1, "valid", 1, False),     # batch 1, one channel
    (2, 9, 8, 3, 3, 3, 4, 1, "same", 1, True),       # RGB-like, fused ReLU
    (3, 9, 9, 3, 3, 3, 5, 2, "same", 1, False),      # stride 2 (extra pad bottom/right)
    (2, 11, 10, 2, 3, 2, 3, 1, "valid", 2, False),   # dilation 2
    (2, 8, 8, 7, 2, 2, 3, 2, "valid", 1, True),      # just below the few-channel limit
    (2, 8, 8, 8, 3, 3, 4, 1, "same", 1, False),      # at the limit: C-ordered columns
    (2, 7, 7, 16, 3, 3, 6, 1, "same", (1, 2), True),
    (1, 4, 4, 3, 1, 1, 2, 1, "valid", 1, False),     # 1x1 on few channels
    (1, 1, 6, 3, 1, 3, 2, 1, "valid", 1, False),     # height 1 (Conv1D's view), T-like
]


@pytest.mark.parametrize("n,h,w,c,kh,kw,f,s,p,d,relu", CASES)
def test_conv2d_values_and_gradients_match_torch(n, h, w, c, kh, kw, f, s, p, d, relu):
    x, k, b = _rand(n, h, w, c), _rand(kh, kw, c, f, seed=1), _rand(f, seed=2)
    d2 = (d, d) if isinstance(d, int) else d
    pads = ((0, 0), (0, 0))
    if p == "same":
        pads = (same_pads(h, kh, s, d2[0]), same_pads(w, kw, s, d2[1]))
    xg, kg, bg = (gn.tensor(a, requires_grad=True) for a in (x, k, b))
    y = ck.Conv2DKernel((s, s), d2, pads, relu=relu)(xg, kg, bg)
    gy = _rand(*y.shape, seed=3)
    y.backward(gy)

    xt, kt = _nchw(x), torch.tensor(k).permute(3, 2, 0, 1).contiguous().requires_grad_()
    bt = torch.tensor(b).requires_grad_()
    (pt, pb), (pl, pr) = pads
    yt = F.conv2d(F.pad(xt, (pl, pr, pt, pb)), kt, bt, stride=s, dilation=d2)
    if relu:
        yt = torch.relu(yt)
    yt.backward(torch.tensor(gy).permute(0, 3, 1, 2))
    np.testing.assert_allclose(y.data, yt.detach().permute(0, 2, 3, 1).numpy(),
                               rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(xg.grad, xt.grad.permute(0, 2, 3, 1).numpy(), atol=1e-4)
    np.testing.assert_allclose(kg.grad, kt.grad.permute(2, 3, 1, 0).numpy(), atol=2e-4)
    np.testing.assert_allclose(bg.grad, bt.grad.numpy(), atol=2e-4)
    assert xg.grad.flags.c_contiguous


@pytest.mark.parametrize("c", [1, 3, 12])
def test_conv2d_inference_chunks_equal_the_training_forward(c, monkeypatch):
    x, k, b = _rand(5, 10, 9, c), _rand(3, 3, c, 4, seed=1), _rand(4, seed=2)
    want = conv2d(x, k, b, padding="same").data
    monkeypatch.setattr(ck, "_COL_BUDGET", 9 * 10 * 9 * c * 4 * 2)  # two samples a chunk
    with gn.no_grad():
        got = conv2d(x, k, b, padding="same").data
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("shape,k,s,p", [
    ((1, 3, 3, 2), (3, 3, 1, 2), 2, "same"),     # one output channel (grey decoder)
    ((2, 4, 4, 8), (3, 3, 3, 8), 2, "same"),     # RGB decoder
    ((2, 3, 3, 4), (3, 3, 16, 4), 2, "valid"),   # many output channels
    ((1, 1, 1, 1), (2, 2, 1, 1), 1, "valid"),    # one pixel
])
def test_conv2d_transpose_values_and_gradients_match_torch(shape, k, s, p):
    x, w, b = _rand(*shape), _rand(*k, seed=1), _rand(k[2], seed=2)
    xg, wg, bg = (gn.tensor(a, requires_grad=True) for a in (x, w, b))
    y = conv2d_transpose(xg, wg, bg, strides=s, padding=p)
    gy = _rand(*y.shape, seed=3)
    y.backward(gy)
    xt = _nchw(x)
    wt = torch.tensor(w).permute(3, 2, 0, 1).contiguous().requires_grad_()
    bt = torch.tensor(b).requires_grad_()
    full = F.conv_transpose2d(xt, wt, bt, stride=s)
    oh, ow = y.shape[1:3]
    th = max(full.shape[2] - oh, 0) // 2 if p == "same" else 0
    tw = max(full.shape[3] - ow, 0) // 2 if p == "same" else 0
    yt = full[:, :, th:th + oh, tw:tw + ow]
    yt.backward(torch.tensor(gy).permute(0, 3, 1, 2))
    np.testing.assert_allclose(y.data, yt.detach().permute(0, 2, 3, 1).numpy(),
                               rtol=1e-4, atol=1e-4)
    assert y.data.flags.c_contiguous
    np.testing.assert_allclose(xg.grad, xt.grad.permute(0, 2, 3, 1).numpy(), atol=1e-4)
    np.testing.assert_allclose(wg.grad, wt.grad.permute(2, 3, 1, 0).numpy(), atol=2e-4)
    np.testing.assert_allclose(bg.grad, bt.grad.numpy(), atol=2e-4)


@pytest.mark.parametrize("c,f", [(1, 2), (3, 1), (9, 3)])
def test_few_and_many_channel_kernels_gradcheck_float64(c, f):
    x, w, b = _rand(2, 5, 6, c, dtype=np.float64), _rand(3, 2, c, f, seed=1,
                                                         dtype=np.float64), _rand(f, seed=2)
    gn.gradcheck(lambda x, w, b: conv2d(x, w, b, strides=(2, 1), padding="same"), x, w,
                 b.astype(np.float64))
    wt = _rand(3, 3, f, c, seed=4, dtype=np.float64)
    gn.gradcheck(lambda x, w: conv2d_transpose(x, w, strides=2, padding="same"), x, wt)


# ------------------------------------------------------------------ groups
@pytest.mark.parametrize("c,f,g,s,p,d", [
    (4, 6, 2, 1, "valid", 1),
    (6, 6, 6, 1, "same", 1),     # depthwise
    (3, 3, 3, 2, "same", 1),
    (4, 8, 4, 1, "valid", 2),
])
def test_conv2d_groups_match_torch(c, f, g, s, p, d):
    layer = Conv2D(f, 3, strides=s, padding=p, dilation_rate=d, groups=g, activation="relu")
    x = _rand(2, 9, 8, c)
    xg = gn.tensor(x, requires_grad=True)
    y = layer(xg)
    assert layer.kernel.shape == (3, 3, c // g, f)
    gy = _rand(*y.shape, seed=3)
    y.backward(gy)
    xt = _nchw(x)
    kt = torch.tensor(layer.kernel.data).permute(3, 2, 0, 1).contiguous().requires_grad_()
    bt = torch.tensor(layer.bias.data).requires_grad_()
    (pt, pb), (pl, pr) = ((0, 0), (0, 0)) if p == "valid" else (
        same_pads(9, 3, s, d), same_pads(8, 3, s, d))
    yt = torch.relu(F.conv2d(F.pad(xt, (pl, pr, pt, pb)), kt, bt, stride=s, dilation=d,
                             groups=g))
    yt.backward(torch.tensor(gy).permute(0, 3, 1, 2))
    np.testing.assert_allclose(y.data, yt.detach().permute(0, 2, 3, 1).numpy(),
                               rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(xg.grad, xt.grad.permute(0, 2, 3, 1).numpy(), atol=1e-4)
    np.testing.assert_allclose(layer.kernel.grad, kt.grad.permute(2, 3, 1, 0).numpy(),
                               atol=2e-4)
    np.testing.assert_allclose(layer.bias.grad, bt.grad.numpy(), atol=2e-4)


def test_conv1d_groups_match_torch_and_gradcheck():
    layer = Conv1D(4, 3, padding="causal", dilation_rate=2, groups=2)
    x = _rand(3, 10, 6)
    xg = gn.tensor(x, requires_grad=True)
    y = layer(xg)
    gy = _rand(*y.shape, seed=3)
    y.backward(gy)
    xt = torch.tensor(x).permute(0, 2, 1).contiguous().requires_grad_()
    kt = torch.tensor(layer.kernel.data).permute(2, 1, 0).contiguous()
    yt = F.conv1d(F.pad(xt, (4, 0)), kt, torch.tensor(layer.bias.data), dilation=2, groups=2)
    yt.backward(torch.tensor(gy).permute(0, 2, 1))
    np.testing.assert_allclose(y.data, yt.detach().permute(0, 2, 1).numpy(), atol=1e-4)
    np.testing.assert_allclose(xg.grad, xt.grad.permute(0, 2, 1).numpy(), atol=1e-4)
    k = layer.kernel

    def f(x, w):
        layer.kernel = w
        return layer(x)

    try:
        gn.gradcheck(f, x.astype(np.float64), k.data.astype(np.float64))
    finally:
        layer.kernel = k


def test_groups_config_roundtrip_and_errors():
    layer = Conv2D(4, 3, groups=2)
    layer(np.zeros((1, 5, 5, 2), np.float32))
    cfg = layer.get_config()
    assert cfg["groups"] == 2
    assert Conv2D.from_config(cfg).groups == 2
    with pytest.raises(ValueError, match=r"filters must be divisible by groups.*filters=3"):
        Conv2D(3, 3, groups=2)
    with pytest.raises(ValueError, match=r"groups must be a positive int.*groups=0"):
        Conv1D(2, 3, groups=0)
    with pytest.raises(ValueError, match=r"divisible by groups=2.*, 5, 5, 3\)"):
        Conv2D(4, 3, groups=2)(np.zeros((1, 5, 5, 3), np.float32))
    with pytest.raises(ValueError, match="grouped transposed"):
        Conv2DTranspose(4, 3, groups=2)


# ------------------------------------------------------------------ backend GEMM
def _layouts(m, k, n, dtype):
    a, b = _rand(m, k, dtype=dtype), _rand(k, n, seed=1, dtype=dtype)
    big_a = _rand(m, k + 5, seed=2, dtype=dtype)[:, 2:2 + k]  # leading dim > columns
    yield a, b
    yield np.asfortranarray(a), b
    yield a, np.ascontiguousarray(b.T).T
    yield np.ascontiguousarray(a.T).T, np.asfortranarray(b)
    yield big_a, b
    yield a[::-1], b                                          # negative stride: NumPy path


@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (3, 4, 5), (32, 784, 512), (2048, 27, 40),
                                   (1, 4096, 600), (700, 3000, 1),
                                   # tall, skinny results: MKL computes them transposed
                                   # (a transposed a, k >= 128), or directly (short k)
                                   (4096, 512, 10), (20000, 128, 2), (1024, 2048, 16),
                                   (8192, 28, 16)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_backend_matmul_equals_numpy_on_every_layout(m, k, n, dtype):
    for a, b in _layouts(m, k, n, dtype):
        want = np.matmul(a.astype(np.float64), b.astype(np.float64))
        got = backend.matmul(a, b)
        assert got.shape == (m, n) and got.dtype == dtype
        tol = 1e-4 * np.sqrt(k) if dtype == np.float32 else 1e-10 * k
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
        out = np.empty((m, n), dtype)
        assert backend.matmul(a, b, out=out) is out
        np.testing.assert_allclose(out, want, rtol=tol, atol=tol)


def test_backend_matmul_falls_back_for_mixed_dtypes_and_nd():
    a, b = _rand(64, 256), _rand(256, 128, seed=1, dtype=np.float64)
    np.testing.assert_allclose(backend.matmul(a, b), a @ b, rtol=1e-6)
    a3 = _rand(3, 64, 256)
    np.testing.assert_allclose(backend.matmul(a3, b), a3 @ b, rtol=1e-6)


@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (131072, 32), (3000, 1000)])
def test_sum_rows_matches_numpy(shape):
    a = _rand(*shape)
    np.testing.assert_allclose(backend.sum_rows(a), a.astype(np.float64).sum(axis=0),
                               rtol=1e-4, atol=1e-3 * np.sqrt(shape[0]) * 1e-2)


@pytest.mark.parametrize("shape,vshape", [
    ((32, 28, 28, 16), (16,)),          # conv features: tiled 64 rows at a time
    ((7, 9, 11, 16), (1, 1, 1, 16)),    # 693 rows: no power of two divides them
    ((30, 13, 12), (12,)),              # 390 rows: tiled 2 at a time
    ((8, 4), (4,)),                     # small: plain broadcasting
    ((64, 64), (64, 1)),                # varies along the rows (LayerNorm's mean): plain
    ((128, 300), (300,)),               # more channels than the tiling takes
])
@pytest.mark.parametrize("op", [np.add, np.subtract, np.multiply])
def test_per_channel_gives_numpys_broadcast_bits(shape, vshape, op):
    a, v = _rand(*shape), _rand(*vshape, seed=1)
    want = op(a, v)
    got = backend.per_channel(op, a, v)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    out = np.empty_like(a)
    assert backend.per_channel(op, a, v, out=out) is out
    np.testing.assert_array_equal(out, want)
    t = a.T.copy().T  # not C-contiguous: NumPy's broadcast, into out as well
    np.testing.assert_array_equal(backend.per_channel(op, t, v), op(t, v))
    b = a.copy()
    backend.per_channel(op, b, v, out=b)  # in place
    np.testing.assert_array_equal(b, want)


@pytest.mark.parametrize("shape", [(1, 1), (16, 8), (32, 128), (33, 8), (16, 300),
                                   (131072, 32)])
def test_sum_rows_for_gives_sum_rows_bits(shape):
    # the routine chosen once for a shape: the same sums as sum_rows's own choice, bit for
    # bit, into `out` as well
    a = _rand(*shape)
    f = backend.sum_rows_for(*shape, a.dtype)
    np.testing.assert_array_equal(f(a), backend.sum_rows(a))
    out = np.empty(shape[1], a.dtype)
    assert f(a, out=out) is out
    np.testing.assert_array_equal(out, backend.sum_rows(a))
    if shape[0] * shape[1] >= backend._MKL_MIN_WORK:  # the GEMM chooser's size: sum_rows
        assert f is backend.sum_rows


@pytest.mark.parametrize("shape,k", [((16, 8), 1), ((1, 5), 1), ((32, 64), 0), ((7, 3, 5), 0),
                                     ((4, 6, 6, 3), 3), ((4, 6, 6, 3), 2), ((5, 1), 0),
                                     ((2,), 0), ((0, 4), 1)])
def test_sum_kept_for_sums_as_numpy(shape, k):
    # the routine chosen once per shape: NumPy's keepdims sum to float32 rounding
    a = np.random.default_rng(1).standard_normal(shape).astype("float32")
    f = backend.sum_kept_for(shape, k, a.dtype)
    axes = tuple(range(k)) if k else (-1,)
    want = a.astype("float64").sum(axis=axes, keepdims=True)
    got = f(a)
    assert got.shape == want.shape and got.dtype == a.dtype
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_gemm_choice_follows_glassnet_gemm(monkeypatch):
    monkeypatch.setattr(backend, "_gemm", {})
    monkeypatch.setenv("GLASSNET_GEMM", "numpy")
    assert backend.gemm_info() == "numpy"
    a, b = _rand(300, 300), _rand(300, 300, seed=1)
    np.testing.assert_array_equal(backend.matmul(a, b), a @ b)  # NumPy's own, bit for bit
    monkeypatch.setattr(backend, "_gemm", {})
    monkeypatch.setenv("GLASSNET_GEMM", "fastest")
    with pytest.raises(ValueError, match="GLASSNET_GEMM must be.*'fastest'"):
        backend.gemm_info()


def test_mkl_gemm_when_the_extra_is_installed(monkeypatch):
    if not backend._mkl_candidates():
        pytest.skip("the optional 'mkl' extra is not installed")
    monkeypatch.setattr(backend, "_gemm", {})
    monkeypatch.setenv("GLASSNET_GEMM", "mkl")
    assert backend.gemm_info().startswith("mkl")
    a, b = _rand(256, 512), _rand(512, 300, seed=1)
    got = backend.matmul(a, b)
    np.testing.assert_allclose(got, a.astype(np.float64) @ b, rtol=1e-4, atol=1e-4)
    # seeded runs must repeat bit for bit: the same call gives the same bits
    np.testing.assert_array_equal(backend.matmul(a, b), got)
    # a classifier head's kernel gradient xᵀ·gy: the transposed product, copied back
    x, gy = _rand(128, 8192), _rand(128, 10, seed=2)
    got = backend.matmul(x.T, gy)
    np.testing.assert_allclose(got, x.T.astype(np.float64) @ gy, rtol=1e-4, atol=1e-3)
    np.testing.assert_array_equal(backend.matmul(x.T, gy), got)
    out = np.empty((8192, 10), np.float32)
    assert backend.matmul(x.T, gy, out=out) is out
    np.testing.assert_array_equal(out, got)


@pytest.mark.parametrize("threads", [1, 2])  # the rule keeps different shapes on NumPy
def test_openblas_gemm_when_the_extra_is_installed(threads, monkeypatch):
    # the openblas extra: OpenBLAS's own CPU choice, whatever OPENBLAS_CORETYPE pins NumPy's to
    if not backend._openblas_candidates():
        pytest.skip("the optional 'openblas' extra is not installed")
    monkeypatch.setattr(backend, "_gemm", {})
    monkeypatch.setenv("GLASSNET_GEMM", "openblas")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", str(threads))
    # NumPy's OpenBLAS keeps its threads here (the process's other tests use it)
    monkeypatch.setattr(backend, "_single_thread_numpy_blas", lambda keep=None: None)
    info = backend.gemm_info()
    assert backend._gemm["threads"] == threads
    assert info.startswith("openblas (OpenBLAS "), info
    assert backend._gemm["kind"] == "openblas"
    # every layout and both dtypes, on shapes the rule sends to the extra and ones it keeps
    # on NumPy (few rows, narrow results, short inner dimension into wide rows)
    for m, k, n in [(64, 784, 512), (8, 784, 512), (4, 784, 512), (2048, 27, 32),
                    (32768, 128, 10), (128, 10, 4096), (32, 4096, 10), (300, 300, 300)]:
        for dtype in (np.float32, np.float64):
            for a, b in _layouts(m, k, n, dtype):
                want = np.matmul(a.astype(np.float64), b.astype(np.float64))
                got = backend.matmul(a, b)
                tol = 1e-4 * np.sqrt(k) if dtype == np.float32 else 1e-10 * k
                np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
                np.testing.assert_array_equal(backend.matmul(a, b), got)  # same bits again
                out = np.empty((m, n), dtype)
                assert backend.matmul(a, b, out=out) is out
                np.testing.assert_array_equal(out, got)


def test_openblas_extra_chooses_its_kernels_from_the_cpu(tmp_path):
    # a machine that pins NumPy's OpenBLAS to AVX2 (OPENBLAS_CORETYPE=Haswell) still gets
    # the AVX-512 kernels from the extra, and the variable is left as the user set it
    import subprocess
    import sys

    if not backend._openblas_candidates():
        pytest.skip("the optional 'openblas' extra is not installed")
    code = ("import os, numpy, glassnet.backend as b, glassnet._cpu as c\n"
            "print(b.gemm_info()); print(os.environ['OPENBLAS_CORETYPE'])\n"
            "print(c.has_avx512()); print(b.numpy_openblas_core())\n")
    env = {**os.environ, "OPENBLAS_CORETYPE": "Haswell", "GLASSNET_GEMM": "auto"}
    lines = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                           text=True, check=True).stdout.split("\n")
    info, pinned, avx512, numpy_core = lines[:4]
    assert pinned == "Haswell"
    if numpy_core != "haswell":  # NumPy's BLAS is not an OpenBLAS that says
        return
    from glassnet import _cpu

    if _cpu.vendor() == "GenuineIntel" and backend._mkl_candidates():
        assert info.startswith("mkl (Intel MKL "), info  # the auto rule: MKL first on Intel
    elif avx512 == "True":  # auto: NumPy's kernels are AVX2 on an AVX-512 CPU -> the extra's
        assert info.startswith("openblas (OpenBLAS ") and info.split(")")[0].split()[-1] in (
            "SkylakeX", "Cooperlake", "SapphireRapids"), info
    else:
        assert info == "numpy", info


def test_gemm_auto_rule(monkeypatch):
    # Intel: MKL where the extra is installed, else the openblas rule; any CPU: the openblas
    # extra only where NumPy's OpenBLAS runs AVX2 kernels on an AVX-512 CPU
    from glassnet import _cpu

    fake = type("Lib", (), {"scipy_cblas_sgemm": 1, "scipy_cblas_dgemm": 2,
                            "cblas_sgemm": 3, "cblas_dgemm": 4})()
    monkeypatch.setenv("GLASSNET_GEMM", "auto")
    monkeypatch.setattr(backend, "_load_openblas", lambda: (fake, "fake", 1, False))
    cases = [  # (vendor, avx512, NumPy's core, MKL installed) -> kind
        (("AuthenticAMD", True, "haswell", False), "openblas"),
        (("AuthenticAMD", True, "skylakex", False), "numpy"),
        (("AuthenticAMD", False, "zen", False), "numpy"),
        (("AuthenticAMD", True, None, False), "numpy"),  # not an OpenBLAS that says
        (("GenuineIntel", True, "haswell", True), "mkl"),
        (("GenuineIntel", True, "haswell", False), "openblas"),
        (("GenuineIntel", True, "cooperlake", False), "numpy"),
    ]
    for (vendor, avx512, core, mkl), kind in cases:
        monkeypatch.setattr(backend, "_gemm", {})
        monkeypatch.setattr(_cpu, "vendor", lambda v=vendor: v)
        monkeypatch.setattr(_cpu, "has_avx512", lambda a=avx512: a)
        monkeypatch.setattr(backend, "numpy_openblas_core", lambda c=core: c)
        monkeypatch.setattr(backend, "_load_mkl",
                            lambda m=mkl: (fake, "fake", 1, False) if m else None)
        assert backend._resolve_gemm()["kind"] == kind, (vendor, avx512, core, mkl)
    monkeypatch.setattr(backend, "_gemm", {})
    monkeypatch.setattr(backend, "_load_openblas", lambda: None)
    monkeypatch.setenv("GLASSNET_GEMM", "openblas")
    with pytest.raises(RuntimeError, match=r"glassnet\[openblas\]"):
        backend._resolve_gemm()


def test_cpu_flags_read_from_cpuinfo(monkeypatch):
    from glassnet import _cpu

    monkeypatch.setattr(_cpu, "_info", {"vendor": "AuthenticAMD", "flags": frozenset(
        "fpu avx2 avx512f avx512cd avx512bw avx512dq avx512vl".split())})
    assert _cpu.vendor() == "AuthenticAMD" and _cpu.has_avx512()
    monkeypatch.setattr(_cpu, "_info", {"vendor": "GenuineIntel",
                                        "flags": frozenset(("avx2", "avx512f"))})
    assert not _cpu.has_avx512()  # SkylakeX's kernels need all five subsets


def test_numpy_openblas_core_agrees_with_threadpoolctl(monkeypatch):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    monkeypatch.setattr(backend, "_gemm_cache", {})
    archs = [i.get("architecture") for i in threadpoolctl.threadpool_info()
             if i["internal_api"] == "openblas" and "numpy" in i["filepath"]]
    if not archs:
        assert backend.numpy_openblas_core() is None
    else:
        assert backend.numpy_openblas_core() == archs[0].lower()


# ------------------------------------------------------------------ max pooling kernel
from glassnet.layers import _pool_numba  # noqa: E402
from glassnet.layers.pooling import max_pool2d  # noqa: E402


@pytest.fixture
def compiled(monkeypatch):
    """The numba extra switched on for the test (whatever GLASSNET_NUMBA says outside)."""
    pytest.importorskip("numba", reason="the optional numba extra is not installed")
    from glassnet import _optimizer_kernels

    monkeypatch.setenv("GLASSNET_NUMBA", "1")
    monkeypatch.setattr(_optimizer_kernels, "_STATE", {})


def _pool_both(x, pool, monkeypatch):
    """(y, gx) through the compiled kernel and through the NumPy reference kernel."""
    gy = _rand(1, seed=9, dtype=x.dtype)  # placeholder, replaced below
    out = []
    for compiled in (True, False):
        with monkeypatch.context() as m:
            if not compiled:
                m.setattr(_pool_numba, "applies", lambda *a: False)
            xg = gn.tensor(x, requires_grad=True, dtype=x.dtype.name)
            y = max_pool2d(xg, pool)
            if gy.shape != y.shape:
                gy = _rand(*y.shape, seed=9, dtype=x.dtype)
            y.backward(gy)
            out.append((y.data, xg.grad))
    return out


@pytest.mark.parametrize("shape,pool", [
    ((1, 2, 2, 1), 2),        # one window
    ((2, 7, 9, 3), 2),        # trailing row and column outside every window
    ((3, 6, 6, 5), 3),
    ((2, 4, 6, 2), (2, 3)),
    ((4, 26, 26, 32), 2),     # the MNIST convnet's first pooling
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_max_pool_equals_the_numpy_kernel(shape, pool, dtype, monkeypatch, compiled):
    x = np.maximum(_rand(*shape, dtype=dtype), 0)  # ReLU output: many tied zeros
    (y1, g1), (y2, g2) = _pool_both(x, pool, monkeypatch)
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(g1, g2)
    xt = _nchw(x)
    F.max_pool2d(xt, pool).backward(torch.tensor(np.ascontiguousarray(
        np.moveaxis(_rand(*y1.shape, seed=9, dtype=dtype), 3, 1))))
    np.testing.assert_array_equal(g1, xt.grad.permute(0, 2, 3, 1).numpy())


def test_compiled_max_pool_nan_and_used_only_where_it_applies(monkeypatch, compiled):
    x = _rand(1, 4, 4, 2)
    x[0, 1, 1, 0] = np.nan
    (y1, g1), (y2, g2) = _pool_both(x, 2, monkeypatch)
    assert np.isnan(y1[0, 0, 0, 0]) and np.isnan(y2[0, 0, 0, 0])
    np.testing.assert_array_equal(y1, y2)
    # the NaN's window: the compiled kernel routes the gradient to the NaN, as PyTorch does
    # (the NumPy kernel's x == max finds no winner there); every other window agrees
    xt = _nchw(x)
    F.max_pool2d(xt, 2).backward(torch.tensor(np.ascontiguousarray(
        np.moveaxis(_rand(*y1.shape, seed=9), 3, 1))))
    np.testing.assert_array_equal(g1, xt.grad.permute(0, 2, 3, 1).numpy())
    g1[0, :2, :2, 0] = g2[0, :2, :2, 0] = 0
    np.testing.assert_array_equal(g1, g2)
    assert _pool_numba.applies(np.zeros((1, 4, 4, 1), np.float32), (2, 2), (2, 2), False)
    assert not _pool_numba.applies(np.zeros((1, 4, 4, 1), np.float32), (2, 2), (1, 1), False)
    assert not _pool_numba.applies(np.zeros((1, 4, 4, 1), np.float32), (2, 2), (2, 2), True)
    assert not _pool_numba.applies(np.zeros((1, 4, 4, 1), np.int64), (2, 2), (2, 2), False)


def test_a_forked_child_keeps_to_numpy_when_mkl_runs_threaded(monkeypatch):
    # the parent loaded a threaded MKL (pid recorded); in another process id -> NumPy
    fake = {"lib": object(), "name": "mkl (fake)", "kind": "mkl", "threads": 2, "pid": -1,
            "min_work": backend._MKL_MIN_WORK, "min_out": backend._MKL_MIN_OUT}
    monkeypatch.setattr(backend, "_gemm", fake)
    a, b = _rand(300, 300), _rand(300, 300, seed=1)
    np.testing.assert_array_equal(backend.matmul(a, b), a @ b)
    x = _rand(3000, 1000)  # sum_rows: NumPy's own BLAS product with a ones row, not MKL's
    np.testing.assert_array_equal(backend.sum_rows(x),
                                  (np.ones((1, 3000), x.dtype) @ x).reshape(1000))


def test_a_threaded_mkl_leaves_numpy_blas_one_thread(monkeypatch):
    # two spinning thread pools on the same cores starve each other (an MNIST MLP step took
    # 28 ms instead of 3.6): once MKL runs threaded, NumPy's OpenBLAS keeps one thread
    threadpoolctl = pytest.importorskip("threadpoolctl")
    import types

    ctl = threadpoolctl.ThreadpoolController().select(internal_api="openblas")
    if not ctl.lib_controllers:
        pytest.skip("NumPy is not linked against OpenBLAS here")
    before = ctl.info()[0]["num_threads"]
    fake = types.SimpleNamespace(cblas_sgemm=None, cblas_dgemm=None)
    monkeypatch.setattr(backend, "_gemm", {})
    monkeypatch.setattr(backend, "_load_mkl", lambda: (fake, "fake", 2, True))
    monkeypatch.setenv("GLASSNET_GEMM", "mkl")
    try:
        ctl.limit(limits=2)
        assert backend._resolve_gemm()["threads"] == 2
        after = threadpoolctl.ThreadpoolController().select(internal_api="openblas")
        assert after.info()[0]["num_threads"] == 1
        assert backend.gemm_info().endswith("numpy below (one thread)")
    finally:
        threadpoolctl.ThreadpoolController().select(internal_api="openblas").limit(
            limits=before)


# ------------------------------------------------------------------ reductions over axes
@pytest.mark.parametrize("shape,ax", [((256, 200, 16), (1,)), ((2, 3, 4), (1,)),
                                      ((4, 5, 6, 3), (1, 2)), ((4, 5, 6, 3), (2, 1)),
                                      ((3, 4, 5), (0, 1)), ((3, 4, 5), (0,)),
                                      ((3, 4, 5), (0, 2)), ((3, 4, 5), (2,)),
                                      ((3, 4, 5, 2), (1, 3)), ((1, 1, 1), (1,)),
                                      ((0, 4, 3), (1,)), ((5,), (0,))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_sum_axes_matches_numpy(shape, ax, dtype):
    a = (np.random.default_rng(0).standard_normal(shape) * 10).astype(dtype)
    got, want = backend.sum_axes(a, ax), a.sum(axis=ax)
    assert got.shape == want.shape and got.dtype == want.dtype
    tol = 1e-5 * np.sqrt(max(a.size, 1)) if dtype == np.float32 else 1e-12 * max(a.size, 1)
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    np.testing.assert_array_equal(backend.sum_axes(a, ax), got)  # fixed per shape


@pytest.mark.parametrize("keepdims", [False, True])
def test_mean_and_sum_ops_over_middle_axes(keepdims):
    x = np.random.default_rng(1).standard_normal((4, 6, 5, 3))
    for fn, ref in ((gn.ops.mean, np.mean), (gn.ops.sum, np.sum)):
        for ax in ((1,), (1, 2), (2,)):
            y = fn(gn.tensor(x.astype(np.float32)), axis=ax, keepdims=keepdims)
            np.testing.assert_allclose(y.data, ref(x, axis=ax, keepdims=keepdims),
                                       rtol=1e-5, atol=1e-5)
            assert gn.gradcheck(lambda t, f=fn, a=ax: f(t, axis=a, keepdims=keepdims) ** 2,
                                x).ok


@pytest.mark.parametrize("shape,pool", [((1, 2, 2, 1), 2), ((1, 5, 5, 1), 2),
                                        ((2, 7, 9, 3), 2), ((3, 6, 6, 5), 3),
                                        ((2, 4, 6, 2), (2, 3)), ((4, 26, 26, 32), 2)])
def test_compiled_max_pool_in_inference_keeps_no_offsets_and_gives_the_same_maxima(
        shape, pool, monkeypatch, compiled):
    # under no_grad the kernel writes the maxima alone; NaNs win their windows as in
    # training and in NumPy's maximum, a NaN met after a larger value included
    x = np.maximum(_rand(*shape), 0)
    x.reshape(-1)[::37] = np.nan
    calls = []
    real = _pool_numba.max_values
    monkeypatch.setattr(_pool_numba, "max_values", lambda *a: calls.append(1) or real(*a))
    with gn.no_grad():
        y_inf = max_pool2d(gn.tensor(x, dtype="float32"), pool).data
    y_train = max_pool2d(gn.tensor(x, requires_grad=True, dtype="float32"), pool).data
    with monkeypatch.context() as m:
        m.setattr(_pool_numba, "applies", lambda *a: False)
        with gn.no_grad():
            y_ref = max_pool2d(gn.tensor(x, dtype="float32"), pool).data
    assert calls == [1]
    np.testing.assert_array_equal(y_inf, y_train)
    np.testing.assert_array_equal(y_inf, y_ref)
