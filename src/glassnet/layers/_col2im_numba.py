"""col2im (and a padded im2col), compiled with numba where the ``numba`` extra is
installed: each kernel offset's product added into the output in one compiled loop,
straight into the cropped result.

A transposed convolution's forward and a convolution's input gradient scatter one GEMM
per kernel offset, ``a2d @ wk[i, j].T`` of shape (N, H, W, C), into a strided slice of the
output. NumPy adds such a slice one innermost run of C elements at a time (about 15 ns of
loop overhead per run): on a decoder's (32, 8, 8, 16) -> (32, 16, 16, 32) layer the nine
adds took 0.30 ms of its 0.78 ms forward, and a padded result needed a full-size buffer,
zeroed, then copied out of its border. Here the loop is compiled and adds only the cells
inside the crop, into the caller's output. Offsets are added in the same order as
:func:`glassnet.layers._conv_kernels._col2im_gemm` (the NumPy reference), onto zeros, so
both give the same values (tested bit for bit, up to the sign of a zero).

Runs when :func:`glassnet._optimizer_kernels.fused_available` says so, on float arrays of
one dtype; the NumPy path everywhere else. The kernel releases the GIL (batch slices on
:mod:`glassnet._parallel`'s threads run it at once).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import backend
from .._optimizer_kernels import compiled, fused_available


def _add_offset(out: np.ndarray, src: np.ndarray, r0: int, c0: int, sh: int,
                sw: int) -> None:  # pragma: no cover - compiled by numba
    # out[b, r0 + sh*iy, c0 + sw*ix] += src[b, iy, ix] for the cells inside out
    n, h, w, c = src.shape
    oh, ow = out.shape[1], out.shape[2]
    iy0 = 0
    while iy0 < h and r0 + sh * iy0 < 0:
        iy0 += 1
    ix0 = 0
    while ix0 < w and c0 + sw * ix0 < 0:
        ix0 += 1
    for b in range(n):
        for iy in range(iy0, h):
            r = r0 + sh * iy
            if r >= oh:
                break
            for ix in range(ix0, w):
                q = c0 + sw * ix
                if q >= ow:
                    break
                for ch in range(c):
                    out[b, r, q, ch] += src[b, iy, ix, ch]


def _scatter(out: np.ndarray, colst: np.ndarray, h: int, w: int, kh: int, kw: int,
             sh: int, sw: int, dh: int, dw: int, th: int,
             tw: int) -> None:  # pragma: no cover - compiled by numba
    # (out zeroed) each kernel offset (i, j) in order: out[b, r0 + sh*iy, c0 + sw*ix] +=
    # the (i, j) rows of the transposed columns at input cell (b, iy, ix), for the cells
    # inside out
    n, oh, ow, c = out.shape
    for i in range(kh):
        r0 = i * dh - th
        iy0 = 0
        while iy0 < h and r0 + sh * iy0 < 0:
            iy0 += 1
        for j in range(kw):
            c0 = j * dw - tw
            ix0 = 0
            while ix0 < w and c0 + sw * ix0 < 0:
                ix0 += 1
            k0 = (i * kw + j) * c
            for ch in range(c):  # (each channel's row of colst read in order)
                src = colst[k0 + ch]
                for b in range(n):
                    for iy in range(iy0, h):
                        r = r0 + sh * iy
                        if r >= oh:
                            break
                        row0 = (b * h + iy) * w
                        for ix in range(ix0, w):
                            q = c0 + sw * ix
                            if q >= ow:
                                break
                            out[b, r, q, ch] += src[row0 + ix]


def _im2col_padded(x: np.ndarray, cols: np.ndarray, kh: int, kw: int, sh: int, sw: int,
                   dh: int, dw: int, pt: int, pl: int, oh: int,
                   ow: int) -> None:  # pragma: no cover - compiled by numba
    # cols[(b, oy, ox), (i, j, c)] = x[b, oy*sh + i*dh - pt, ox*sw + j*dw - pl, c], or 0
    # where that cell is in the padding
    n, h, w, c = x.shape
    for b in range(n):
        for oy in range(oh):
            for ox in range(ow):
                row = (b * oh + oy) * ow + ox
                for i in range(kh):
                    r = oy * sh + i * dh - pt
                    for j in range(kw):
                        q = ox * sw + j * dw - pl
                        k0 = (i * kw + j) * c
                        if r < 0 or r >= h or q < 0 or q >= w:
                            for ch in range(c):
                                cols[row, k0 + ch] = 0
                        else:
                            for ch in range(c):
                                cols[row, k0 + ch] = x[b, r, q, ch]


def _kernel() -> Any:
    return compiled(_add_offset)


def im2col_padded(x: np.ndarray, kernel: Sequence[int], strides: Sequence[int],
                  dilation: Sequence[int], pads: Sequence[Sequence[int]],
                  out_hw: Sequence[int]) -> np.ndarray | None:
    """The (N*OH*OW, kh*kw*C) column matrix of ``x`` (N, H, W, C) zero-padded by ``pads``
    (((top, bottom), (left, right))), in one compiled pass, or None where numba does not
    run (the caller pads with NumPy, then copies the windows: two passes; a decoder's
    (32, 16, 16, 32) gradient at stride 2, 265 -> 121 us; a 'same' 16-channel conv at
    batch 32 on 28x28, 851 -> 751 us, one thread). A copy: the same values."""
    if (type(x) is not np.ndarray or x.dtype.char not in "fd"
            or not fused_available(x.size)):
        return None
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, strides, dilation, out_hw
    cols = np.empty((x.shape[0] * oh * ow, kh * kw * x.shape[3]), dtype=x.dtype)
    compiled(_im2col_padded)(x, cols, kh, kw, sh, sw, dh, dw, pads[0][0], pads[1][0], oh,
                             ow)
    return cols


def scatter_into(colst: np.ndarray, out: np.ndarray, hw: Sequence[int],
                 kernel: Sequence[int], strides: Sequence[int], dilation: Sequence[int],
                 crop: Sequence[int]) -> np.ndarray:
    """``out`` (N, OH, OW, C) = the window at ``crop`` of col2im of the transposed column
    matrix ``colst``, in one compiled call: for few channels, where NumPy's col2im adds
    each offset's (C, N, H, W) planes into a channel-major buffer, which is then cropped
    and transposed into NHWC (a decoder's (32, 16, 16, 32) -> (32, 32, 32, 3) layer:
    0.49 -> 0.38 ms, one thread). The offsets are added in order, onto zero, as the NumPy
    col2im adds them: the same bits from the same product.

    Args:
        colst: (kh*kw*C, N*H*W), rows in (i, j, c) order (the product the NumPy path
            makes). out: C-contiguous (N, OH, OW, C) of colst's dtype, overwritten.
        hw: (H, W). kernel: (kh, kw). strides, dilation: (sh, sw), (dh, dw). crop: (top,
            left) of ``out`` inside the full (H-1)*sh + (kh-1)*dh + 1 result.
    """
    (h, w), (kh, kw) = hw, kernel
    (sh, sw), (dh, dw), (th, tw) = strides, dilation, crop
    out[...] = 0
    compiled(_scatter)(out, colst, h, w, kh, kw, sh, sw, dh, dw, th, tw)
    return out


def applies(a2d: Any, wk: Any, out_size: int) -> bool:
    """Whether the compiled loop runs for this product (else the NumPy path)."""
    return (type(a2d) is np.ndarray and type(wk) is np.ndarray and a2d.dtype == wk.dtype
            and a2d.dtype.char in "fd" and fused_available(out_size))


def col2im_into(a2d: np.ndarray, wk: np.ndarray, out: np.ndarray, hw: Sequence[int],
                strides: Sequence[int], dilation: Sequence[int],
                crop: Sequence[int]) -> np.ndarray:
    """``out`` (N, OH, OW, C) = the window at ``crop`` (top, left) of col2im(a2d @ wk2d.T).

    Args:
        a2d: (N*H*W, K), the rows of an (N, H, W) grid. wk: (kh, kw, C, K).
        out: C-contiguous (N, OH, OW, C) of a2d's dtype, overwritten.
        hw: (H, W). strides, dilation: (sh, sw), (dh, dw). crop: (top, left) of ``out``
            inside the full (H-1)*sh + (kh-1)*dh + 1 result.
    """
    kh, kw, c, _ = wk.shape
    n = out.shape[0]
    h, w = hw
    (sh, sw), (dh, dw), (th, tw) = strides, dilation, crop
    out[...] = 0
    tmp = np.empty((a2d.shape[0], c), dtype=out.dtype)
    src = tmp.reshape(n, h, w, c)
    k = _kernel()
    for i in range(kh):
        for j in range(kw):
            r0, c0 = i * dh - th, j * dw - tw
            if (r0 >= out.shape[1] or c0 >= out.shape[2] or r0 + (h - 1) * sh < 0
                    or c0 + (w - 1) * sw < 0):
                continue  # this offset lands wholly outside the crop
            backend.matmul(a2d, wk[i, j].T, out=tmp)
            k(out, src, r0, c0, sh, sw)
    return out
