"""A convolution and the max pooling after it as one compiled pass, for inference.

The Keras MNIST convnet starts ``Conv2D(32, 3, activation="relu")`` then
``MaxPooling2D(2)``. Unfused, the convolution writes its whole (N, 26, 26, 32) output (5.5
MB for 64 images) and the pooling reads it back: at two threads both slices' passes share
the memory bus, and the pair ran 1.5x slower than one of them alone. Here, a few samples
at a time, the columns (as :class:`~glassnet.layers._conv_kernels.Conv2DKernel` builds
them: channel-major with the bias as a row of ones for fewer than 8 channels, else
row-major) go through the same CBLAS product into a buffer that stays in the core's
cache, and the windows' maxima are read from there, then the bias (row-major: ``max(y) +
b`` rounds as ``max(y + b)``, rounding being monotone) and the ReLU the pooling took over;
only the pooled quarter is written out, and the convolution's rows and columns that no
window reads (the last of an odd size) are never computed. Each batch slice is one
``nogil`` call, so the threads hand the GIL over once a slice.

It runs in an inference program where a max pooling takes over the convolution before it
(:meth:`~glassnet.layers._pool_kernels.Pool2DKernel.absorb`): windows that tile (strides equal
to the pool size, no pooling padding), NumPy float arrays of one dtype, the numba extra
usable (:func:`glassnet._optimizer_kernels.fused_available`) and a product that
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
from . import _col2im_numba
from ._conv_kernels import _folds, channel_major

__all__ = ["applies", "conv_max_pool", "possible"]

# bytes of product per chunk of samples: the chunk's (rows, F) result stays in a core's
# L2 while its windows are read (2-vCPU Xeon, MNIST convnet's first layer and pooling on
# 64 images at two threads, one slice each: 256 KB 0.90-0.99 ms a pair against 1.26 ms
# unfused; the whole slice at once 0.95)
CHUNK_BYTES = 1 << 18
# an element of the product counted as this many multiply-adds besides its own (its
# columns' copy, its window's compare) when deciding to split the batch over the threads
# (glassnet._parallel.work_slices; 2-vCPU Xeon, two threads, the MNIST convnet's first
# layer and pooling, whole -> two slices: batch 64 (1.4M elements, K = 10) 0.67 -> 0.47
# ms, 32 0.34 -> 0.29 ms, 16 0.17 -> 0.20 ms: split from batch 32)
ELEMENT_WORK = 8


_cblas: Any = None  # glassnet._cblas_numba.gemm, set before the kernels compile (numba)
_im2col: Any = None  # the compiled _col2im_numba._im2col_padded, likewise
_pool: Any = None  # the compiled _pool_chunk, likewise


def _pool_chunk(y: np.ndarray, out: np.ndarray, s0: int, s: int,  # pragma: no cover
                ph: int, pw: int, b: np.ndarray, relu: bool) -> None:
    # out[s0:s0+s] = the windows' maxima of y (s*CH*CW, F), then + b, then the ReLU:
    # max(y_i) + b rounds as max(y_i + b) does (rounding is monotone), NaN wins either way
    oh, ow, f = out.shape[1], out.shape[2], out.shape[3]
    ch, cw = oh * ph, ow * pw
    has_b = b.size > 0
    for n in range(s):
        for i in range(oh):
            for j in range(ow):
                o = out[s0 + n, i, j]
                p0 = (n * ch + i * ph) * cw + j * pw
                for q in range(f):
                    o[q] = y[p0, q]
                for k in range(1, ph * pw):
                    p = p0 + (k // pw) * cw + k % pw
                    for q in range(f):
                        v = y[p, q]
                        best = o[q]
                        o[q] = v if (v > best or v != v) else best
                if has_b:
                    for q in range(f):
                        o[q] += b[q]
                if relu:
                    for q in range(f):
                        v = o[q]
                        o[q] = 0 if v <= 0 else v


def _conv_max(gemm: int, at: np.ndarray, wb: np.ndarray,  # pragma: no cover - numba
              geo: tuple[int, ...], ph: int, pw: int, relu: bool, out: np.ndarray,
              chunk: int) -> None:
    # few channels: the columns transposed and channel-major, the bias a row of ones
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
    nob = np.empty(0, at.dtype)
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
        _pool(y, out, s0, s, ph, pw, nob, relu)


def _conv_max_rows(gemm: int, x: np.ndarray, w2: np.ndarray,  # pragma: no cover - numba
                   b: np.ndarray, geo: tuple[int, ...], ph: int, pw: int, relu: bool,
                   out: np.ndarray, chunk: int) -> None:
    # 8 or more channels: the columns row-major, as Conv2DKernel builds them
    kh, kw, sh, sw, dh, dw, pt, pl = geo
    n = x.shape[0]
    k, f = w2.shape
    oh, ow = out.shape[1], out.shape[2]
    ch, cw = oh * ph, ow * pw
    plane = ch * cw
    cols = np.empty((chunk * plane, k), x.dtype)
    y = np.empty((chunk * plane, f), x.dtype)
    for s0 in range(0, n, chunk):
        s = min(chunk, n - s0)
        _im2col(x[s0:s0 + s], cols, kh, kw, sh, sw, dh, dw, pt, pl, ch, cw)
        _cblas(gemm, 111, s * plane, f, k, cols, k, w2, f, y, f)
        _pool(y, out, s0, s, ph, pw, b, relu)


def _kernel(name: str) -> Any:
    global _cblas, _im2col, _pool
    if _cblas is None:
        from .._cblas_numba import gemm  # (imports numba)

        _im2col = compiled(_col2im_numba._im2col_padded)
        _pool = compiled(_pool_chunk)
        _cblas = gemm
    return compiled(globals()[name])


def possible() -> bool:
    """Whether the fused pass can run in this process at all (numba installed and not
    switched off, a CBLAS library chosen): an inference program takes a convolution into
    its pooling only then, so elsewhere its listing shows the two ops as they run."""
    return (numba_mode() != "off" and backend._resolve_gemm()["lib"] is not None
            and _installed())


def applies(x: Any, w: Any, b: Any, rows: int, strides: tuple[int, int] = (1, 1)) -> Any:
    """The CBLAS routine the fused pass calls for this input, kernel, bias and the
    convolution's strides, or None where the two ops run unfused (see the module's
    docstring); ``rows``: the unfused product's rows (N*OH*OW of the convolution)."""
    if (type(x) is not np.ndarray or type(w) is not np.ndarray or x.dtype.char not in "fd"
            or w.dtype != x.dtype or (b is not None and (type(b) is not np.ndarray
                                                          or b.dtype != x.dtype))):
        return None
    kh, kw, c, f = w.shape
    folds = _folds(c, kh, kw, strides[0], strides[1], np)  # (as the convolution's columns)
    k1 = kh * kw * c + (b is not None and folds)
    gemm = backend.cblas_gemm(rows, k1, f, x.dtype, a_transposed=folds)
    if gemm is None or not fused_available(rows * f):
        return None
    return gemm


def conv_max_pool(gemm: Any, x: np.ndarray, w: np.ndarray, b: np.ndarray | None,
                  geometry: tuple[Any, ...], pool: tuple[int, int], relu: bool,
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
    sh, sw, dh, dw, pads = geometry
    n = x.shape[0]
    (ph, pw), (oh, ow) = pool, out_hw
    out = np.empty((n, oh, ow, f), dtype=x.dtype)
    plane = oh * ph * ow * pw
    chunk = max(1, CHUNK_BYTES // (plane * f * x.dtype.itemsize))
    addr = ctypes.cast(gemm, ctypes.c_void_p).value
    if _folds(c, kh, kw, sh, sw, np):  # few channels: channel-major columns, bias folded
        wb = np.ascontiguousarray(w2 if b is None else np.concatenate([w2, b.reshape(1, f)]))
        at = channel_major(x, pads)  # (C, N, H', W'), padded
        k = _kernel("_conv_max")
        geo_t = (kh, kw, sh, sw, dh, dw, int(b is not None))

        def part(sl: slice) -> None:
            k(addr, at[:, sl], wb, geo_t, ph, pw, relu, out[sl],
              min(chunk, max(1, sl.stop - sl.start)))
    else:
        w2 = np.ascontiguousarray(w2)
        xc = np.ascontiguousarray(x)
        bias = b if b is not None else np.empty(0, dtype=x.dtype)
        kr = _kernel("_conv_max_rows")
        geo_r = (kh, kw, sh, sw, dh, dw, int(pads[0][0]), int(pads[1][0]))

        def part(sl: slice) -> None:
            kr(addr, xc[sl], w2, bias, geo_r, ph, pw, relu, out[sl],
               min(chunk, max(1, sl.stop - sl.start)))
    # a slice a thread: each slice is one compiled call, so the threads hand the GIL over
    # once (in these VMs a hand-over to a sleeping thread costs ~50-80 us)
    sls = _parallel.work_slices(n, n * plane * f * (w2.shape[0] + ELEMENT_WORK))
    with _parallel.one_blas_thread():  # (a team on each chunk's small product: slower)
        _parallel.run(part, sls)
    return out
