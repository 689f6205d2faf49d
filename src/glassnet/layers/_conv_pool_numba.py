"""A first convolution and the max pooling after it as one compiled pass, for inference.

The Keras MNIST convnet starts ``Conv2D(32, 3, activation="relu")`` then
``MaxPooling2D(2)``. Unfused, the convolution writes its whole (N, 26, 26, 32) output (5.5
MB for 64 images) and the pooling reads it back: at two threads both slices' passes share
the memory bus, and the pair ran 1.5x slower than one of them alone. Here, a few samples
at a time, the columns (channel-major, the bias as a row of ones, as
:class:`~glassnet.layers._conv_kernels.Conv2DKernel` builds them for few channels) go
through the same CBLAS product into a buffer that stays in the core's cache, and the
windows' maxima (then the ReLU the pooling took over) are read from there; only the pooled
quarter is written out.

It runs in an inference program where a max pooling takes over the convolution before it
(:meth:`~glassnet.layers.pooling.Pool2DKernel.absorb`): the convolution's columns of few
channels (``_folds``), windows that tile (strides equal to the pool size, no pooling
padding), NumPy float arrays of one dtype, the numba extra usable
(:func:`glassnet._optimizer_kernels.fused_available`) and a product that
:func:`glassnet.backend.cblas_gemm` sends to the BLAS library, whose routine numba calls
directly. Elsewhere (CuPy, NumPy's own BLAS, another dtype) the two ops run as they are.
The products are the unfused path's (the same routine, operands and layout, on fewer
rows at once); the maxima and the ReLU are compared as the pooling kernels compare them
(NaN wins its window, stays NaN): the same values (tested against the two ops).
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np

from .. import _parallel, backend
from .._optimizer_kernels import _installed, compiled, fused_available, numba_mode
from ._conv_kernels import channel_major

__all__ = ["applies", "conv_max_pool", "possible"]

# bytes of product per chunk of samples: the chunk's (rows, F) result stays in a core's
# L2 while its windows are read (2-vCPU Xeon, MNIST convnet's first layer and pooling on
# 64 images at two threads, one slice each: 256 KB 0.90-0.99 ms a pair against 1.26 ms
# unfused; the whole slice at once 0.95)
CHUNK_BYTES = 1 << 18
# elements of product a thread beyond the first from which the batch runs in slices
# (2-vCPU Xeon, two threads, the MNIST convnet's first layer and pooling, whole -> two
# slices: batch 64 (1.4M elements) 0.67 -> 0.47 ms, 32 (692k) 0.34 -> 0.29 ms, 16 (346k)
# 0.17 -> 0.20 ms)
SPLIT_ELEMENTS = 1 << 19


_cblas: Any = None  # glassnet._cblas_numba.gemm, set before the kernel compiles (numba)


def _conv_max(gemm: int, at: np.ndarray, wb: np.ndarray,  # pragma: no cover - numba
              geo: tuple[int, ...], ph: int, pw: int, relu: bool, out: np.ndarray,
              chunk: int) -> None:
    kh, kw, sh, sw, dh, dw, ones = geo
    c, n = at.shape[0], at.shape[1]
    k1, f = wb.shape
    oh, ow = out.shape[1], out.shape[2]
    ch, cw = oh * ph, ow * pw  # the convolution's rows and columns the windows read
    plane = ch * cw
    big = chunk * plane
    colt = np.empty((k1, big), at.dtype)  # the columns transposed: (i, j, c) by (n, r, q)
    if ones:
        for p in range(big):
            colt[k1 - 1, p] = 1
    y = np.empty((big, f), at.dtype)
    for s0 in range(0, n, chunk):
        s = min(chunk, n - s0)
        for i in range(kh):
            for j in range(kw):
                for cc in range(c):
                    row = colt[(i * kw + j) * c + cc]
                    for b in range(s):
                        src = at[cc, s0 + b]
                        for r in range(ch):
                            base = (b * ch + r) * cw
                            xr = r * sh + i * dh
                            if sw == 1:  # (a unit stride LLVM sees: vector copies)
                                for q in range(cw):
                                    row[base + q] = src[xr, q + j * dw]
                            else:
                                for q in range(cw):
                                    row[base + q] = src[xr, q * sw + j * dw]
        # y = colsᵀ·wb: row-major, a transposed (lda = big), wb as it is
        _cblas(gemm, 112, s * plane, f, k1, colt, big, wb, f, y, f)
        for b in range(s):
            for i in range(oh):
                for j in range(ow):
                    o = out[s0 + b, i, j]
                    p0 = (b * ch + i * ph) * cw + j * pw
                    for q in range(f):
                        o[q] = y[p0, q]
                    for k in range(1, ph * pw):
                        p = p0 + (k // pw) * cw + k % pw
                        for q in range(f):
                            v = y[p, q]
                            best = o[q]
                            o[q] = v if (v > best or v != v) else best
                    if relu:
                        for q in range(f):
                            v = o[q]
                            o[q] = 0 if v <= 0 else v


def _kernel() -> Any:
    global _cblas
    if _cblas is None:
        from .._cblas_numba import gemm  # (imports numba)

        _cblas = gemm
    return compiled(_conv_max)


def possible() -> bool:
    """Whether the fused pass can run in this process at all (numba installed and not
    switched off, a CBLAS library chosen): an inference program takes a convolution into
    its pooling only then, so elsewhere its listing shows the two ops as they run."""
    return (numba_mode() != "off" and backend._resolve_gemm()["lib"] is not None
            and _installed())


def applies(x: Any, w: Any, b: Any, rows: int) -> Any:
    """The CBLAS routine the fused pass calls for this input, kernel and bias, or None
    where the two ops run unfused (see the module's docstring); ``rows``: the unfused
    product's rows (N*OH*OW of the convolution)."""
    if (type(x) is not np.ndarray or type(w) is not np.ndarray or x.dtype.char not in "fd"
            or w.dtype != x.dtype or (b is not None and (type(b) is not np.ndarray
                                                          or b.dtype != x.dtype))):
        return None
    kh, kw, c, f = w.shape
    k1 = kh * kw * c + (b is not None)
    gemm = backend.cblas_gemm(rows, k1, f, x.dtype, a_transposed=True)
    if gemm is None or not fused_available(rows * f):
        return None
    return gemm


def conv_max_pool(gemm: Any, x: np.ndarray, w: np.ndarray, b: np.ndarray | None,
                  geometry: tuple[int, ...], pool: tuple[int, int], relu: bool,
                  out_hw: tuple[int, int]) -> np.ndarray:
    """``maxpool(conv2d(x, w) + b)`` (then ReLU where ``relu``) in one pass per chunk.

    Args:
        gemm: the routine :func:`applies` returned.
        x: (N, H, W, C) input. w: (kh, kw, C, F) kernel. b: (F,) bias or None.
        geometry: the convolution's (sh, sw, dh, dw, pads): strides, dilation and zero
            padding ((top, bottom), (left, right)).
        pool: (ph, pw), equal to the pooling's strides. out_hw: the pooled (OH, OW).

    Shapes: → (N, OH, OW, F), each window the maximum of ph*pw outputs of the
    convolution.

    Example (the numba extra installed, MKL as the BLAS; not run as a doctest)::

        g = applies(x, w, b, rows)
        y = conv_max_pool(g, x, w, b, (1, 1, 1, 1, ((0, 0), (0, 0))), (2, 2), True, (13, 13))
    """
    kh, kw, c, f = w.shape
    w2 = w.reshape(kh * kw * c, f)
    wb = np.ascontiguousarray(w2 if b is None else np.concatenate([w2, b.reshape(1, f)]))
    sh, sw, dh, dw, pads = geometry
    at = channel_major(x, pads)  # (C, N, H', W'), padded
    n = x.shape[0]
    (ph, pw), (oh, ow) = pool, out_hw
    out = np.empty((n, oh, ow, f), dtype=x.dtype)
    plane = oh * ph * ow * pw
    chunk = max(1, CHUNK_BYTES // (plane * f * x.dtype.itemsize))
    geo = (kh, kw, sh, sw, dh, dw, int(b is not None))
    k = _kernel()
    addr = ctypes.cast(gemm, ctypes.c_void_p).value
    # a slice a thread from SPLIT_ELEMENTS of product a thread beyond the first: each
    # slice is one compiled call, so the threads hand the GIL over once (in these VMs a
    # handover to a sleeping thread costs ~50-80 us)
    sls = _parallel.row_slices(n, n * plane * f, SPLIT_ELEMENTS)
    with _parallel.one_blas_thread():  # (a team on each chunk's small product: slower)
        _parallel.run(lambda sl: k(addr, at[:, sl], wb, geo, ph, pw, relu, out[sl],
                                   min(chunk, max(1, sl.stop - sl.start))), sls)
    return out
