"""A convolution's forward on one batch slice as one compiled call: the columns, the
product, the bias and the ReLU.

Where a convolution's batch runs in slices on the CPU's threads (:mod:`glassnet._parallel`),
each slice made its columns with NumPy (a strided copy that keeps the GIL), multiplied
through ctypes and ran the epilogue: three calls, each handing the GIL over to the other
thread, and in these KVM guests a hand-over to a sleeping thread costs ~50-80 us. A pair of
16-image slices of the MNIST convnet's second layer took 1.0 ms against 0.65 ms for one
of them alone; with the MKL-threaded product on the whole batch instead, the columns and
the epilogue ran on one core and the product's halves read them from the other core's
cache (1.05 ms). Here a slice is one ``nogil`` call: the columns (the compiled im2col of
:mod:`~glassnet.layers._col2im_numba`), the BLAS routine :func:`glassnet.backend.cblas_gemm`
names (the one :func:`~glassnet.backend.matmul` calls on those operands, through
:func:`glassnet._cblas_numba.gemm`), then ``relu(y + b)`` as :mod:`glassnet._epilogue`
computes it: the same values as the NumPy path (tested).

It runs for row-major columns (8 or more input channels), NumPy float arrays of one dtype,
numba usable (:func:`glassnet._optimizer_kernels.fused_available`) and a product the
backend sends to the BLAS library.
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np

from .. import backend
from .._optimizer_kernels import compiled, fused_available
from . import _col2im_numba

__all__ = ["routine", "forward_rows"]

_cblas: Any = None  # glassnet._cblas_numba.gemm, set before the kernel compiles (numba)
_im2col: Any = None  # the compiled _col2im_numba._im2col_padded, likewise


def _conv_rows(gemm: int, x: np.ndarray, cols: np.ndarray,  # pragma: no cover - numba
               w2: np.ndarray, b: np.ndarray, geo: tuple[int, ...], relu: bool,
               y: np.ndarray) -> None:
    kh, kw, sh, sw, dh, dw, pt, pl, oh, ow = geo
    _im2col(x, cols, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow)
    rows, k = cols.shape
    f = w2.shape[1]
    _cblas(gemm, 111, rows, f, k, cols, k, w2, f, y, f)
    has_b = b.size > 0
    if relu:
        for i in range(rows):
            for j in range(f):
                v = y[i, j] + b[j] if has_b else y[i, j]
                y[i, j] = 0 if v <= 0 else v  # NaN stays NaN, as in maximum(v, 0)
    elif has_b:
        for i in range(rows):
            for j in range(f):
                y[i, j] += b[j]


def _kernel() -> Any:
    global _cblas, _im2col
    if _cblas is None:
        from .._cblas_numba import gemm  # (imports numba)

        _im2col = compiled(_col2im_numba._im2col_padded)
        _cblas = gemm
    return compiled(_conv_rows)


def routine(x: Any, w2: Any, b: Any, rows: int) -> int | None:
    """The address of the BLAS routine for a slice of ``rows`` output rows of this input,
    (K, F) kernel and bias, or None where the slice runs the NumPy path."""
    if (type(x) is not np.ndarray or type(w2) is not np.ndarray or x.dtype.char not in "fd"
            or w2.dtype != x.dtype or not x.flags.c_contiguous
            or (b is not None and (type(b) is not np.ndarray or b.dtype != x.dtype))):
        return None
    gemm = backend.cblas_gemm(rows, w2.shape[0], w2.shape[1], x.dtype)
    if gemm is None or not fused_available(rows * w2.shape[1]):
        return None
    return ctypes.cast(gemm, ctypes.c_void_p).value


def forward_rows(addr: int, x: np.ndarray, w2: np.ndarray, b: np.ndarray | None,
                 geometry: tuple[int, ...], relu: bool, y: np.ndarray) -> np.ndarray:
    """``y`` (rows, F) = ``relu(cols(x) · w2 + b)`` (the ReLU where ``relu``); returns the
    columns (rows, K).

    Args:
        addr: what :func:`routine` returned. x: (N, H, W, C), C-contiguous.
        w2: (K, F) kernel, K = kh*kw*C in (i, j, c) order. b: (F,) or None.
        geometry: (kh, kw, sh, sw, dh, dw, top, left, OH, OW).
        y: the C-contiguous (N*OH*OW, F) result, overwritten.

    Example (numba and a CBLAS library; not run as a doctest)::

        cols = forward_rows(routine(x, w2, b, rows), x, w2, b, geo, True, y)
    """
    cols = np.empty((y.shape[0], w2.shape[0]), dtype=x.dtype)
    bias = b if b is not None else np.empty(0, dtype=x.dtype)
    _kernel()(addr, x, cols, np.ascontiguousarray(w2), bias, geometry, relu, y)
    return cols
