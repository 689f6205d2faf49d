"""col2im for many channels, compiled with numba where the ``numba`` extra is installed:
each kernel offset's product added into the output in one compiled loop, straight into
the cropped result.

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


def _kernel() -> Any:
    return compiled(_add_offset)


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
