"""Max pooling with windows that tile the input (strides == pool size, 'valid'), compiled with
numba when the ``numba`` extra is installed: one pass forward (the max and the index of the
first maximum of each window, as uint8), one pass backward (the gradient routed to that
index). The NumPy kernel in :mod:`glassnet.layers.pooling` stays the reference; both give
the same values and gradients (tested), ties going to the first element of the window in
row-major order, NaN winning its window as in NumPy's ``maximum`` and PyTorch.

It runs when :func:`glassnet._optimizer_kernels.fused_available` says so: the numba extra
installed and either already loaded or the input large enough to pay for loading it
(about 70 MB of resident memory); ``GLASSNET_NUMBA=0`` keeps the NumPy kernel. A large
batch runs in one slice per thread (:mod:`glassnet._parallel`; the kernels release the GIL).

The NumPy backward recomputes which offset won by comparing every offset with the
maximum (bool arrays the size of the input, a mixed-type multiply): on a (128, 26, 26, 32)
ReLU map about 13 ms; this one reads the stored indices once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _parallel
from .._optimizer_kernels import compiled, fused_available

# an input element of a pooling pass counted as multiply-adds when deciding to split the
# batch (glassnet._parallel): inputs of 2^21+ elements split. Two threads, 2-vCPU Xeon:
# (128, 26, 26, 32) forward 0.94 -> 0.68 ms, backward 0.76 -> 0.55 ms; (64, 32, 32, 16)
# and smaller lost more to the split's ~50 us than they gained
PASS_WORK = 4



def _max_fwd(x: np.ndarray, ph: int, pw: int,  # pragma: no cover - compiled by numba
             oh: int, ow: int, y: np.ndarray, arg: np.ndarray) -> None:
    n, c = x.shape[0], x.shape[3]
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                r0, c0 = i * ph, j * pw
                for ch in range(c):
                    y[b, i, j, ch] = x[b, r0, c0, ch]
                    arg[b, i, j, ch] = 0
                for k in range(1, ph * pw):
                    r, s = r0 + k // pw, c0 + k % pw
                    for ch in range(c):
                        v = x[b, r, s, ch]
                        best = y[b, i, j, ch]
                        if v > best or (v != v and best == best):
                            y[b, i, j, ch] = v
                            arg[b, i, j, ch] = k


def _max_val(x: np.ndarray, ph: int, pw: int,  # pragma: no cover - compiled by numba
             oh: int, ow: int, y: np.ndarray) -> None:
    # inference: the maxima alone, a select LLVM vectorises over the channels where the
    # offsets' second store did not ((128, 26, 26, 32), one thread: 1.02 -> 0.57 ms)
    n, c = x.shape[0], x.shape[3]
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                r0, c0 = i * ph, j * pw
                for ch in range(c):
                    y[b, i, j, ch] = x[b, r0, c0, ch]
                for k in range(1, ph * pw):
                    r, s = r0 + k // pw, c0 + k % pw
                    for ch in range(c):
                        v = x[b, r, s, ch]
                        best = y[b, i, j, ch]
                        y[b, i, j, ch] = v if (v > best or v != v) else best


def _max_bwd(gy: np.ndarray, arg: np.ndarray,  # pragma: no cover - compiled by numba
             ph: int, pw: int, gx: np.ndarray) -> None:
    # every element of gx written once, in memory order (gy at the window's winning offset,
    # 0 elsewhere, 0 in rows/columns no window covers): no zero fill beforehand and no
    # scattered writes, 3.8x faster on a (128, 26, 26, 32) map (2.65 -> 0.69 ms), same bits
    n, oh, ow, c = gy.shape
    hh, ww = gx.shape[1], gx.shape[2]
    for b in range(n):
        for i in range(oh):
            for r in range(ph):
                row = i * ph + r
                for j in range(ow):
                    g = gy[b, i, j]
                    a = arg[b, i, j]
                    for s in range(pw):
                        k = r * pw + s
                        o = gx[b, row, j * pw + s]
                        for ch in range(c):
                            o[ch] = g[ch] if a[ch] == k else 0.0
                for col in range(ow * pw, ww):
                    gx[b, row, col, :] = 0
        for row in range(oh * ph, hh):
            gx[b, row, :, :] = 0


def _kernel(name: str) -> Any:
    return compiled(globals()[name])


def applies(x: Any, pool: Sequence[int], strides: Sequence[int], padded: bool) -> bool:
    """Whether the compiled kernel handles this call (else the NumPy kernel runs)."""
    return (not padded and tuple(pool) == tuple(strides) and pool[0] * pool[1] <= 256
            and type(x) is np.ndarray and x.dtype.char in "fd" and x.flags.c_contiguous
            and fused_available(x.size))


def max_forward(x: np.ndarray, pool: Sequence[int], oh: int,
                ow: int) -> tuple[np.ndarray, np.ndarray]:
    """(y, arg): the window maxima (N, oh, ow, C) and the uint8 offset of each one."""
    n, c = x.shape[0], x.shape[3]
    y = np.empty((n, oh, ow, c), dtype=x.dtype)
    arg = np.empty((n, oh, ow, c), dtype=np.uint8)
    k, (ph, pw) = _kernel("_max_fwd"), pool
    # samples never interact: a large batch in one slice per thread (nogil kernels)
    _parallel.run(lambda sl: k(x[sl], ph, pw, oh, ow, y[sl], arg[sl]), _slices(x))
    return y, arg


def max_values(x: np.ndarray, pool: Sequence[int], oh: int, ow: int) -> np.ndarray:
    """:func:`max_forward`'s maxima without the offsets (inference: no backward follows)."""
    y = np.empty((x.shape[0], oh, ow, x.shape[3]), dtype=x.dtype)
    k, (ph, pw) = _kernel("_max_val"), pool
    _parallel.run(lambda sl: k(x[sl], ph, pw, oh, ow, y[sl]), _slices(x))
    return y


def max_backward(gy: np.ndarray, arg: np.ndarray, pool: Sequence[int],
                 x_shape: tuple[int, ...]) -> np.ndarray:
    """The input gradient: ``gy`` at each window's winning offset, zero elsewhere."""
    gx = np.empty(x_shape, dtype=gy.dtype)  # the kernel writes every element
    gy = np.ascontiguousarray(gy)
    k, (ph, pw) = _kernel("_max_bwd"), pool
    _parallel.run(lambda sl: k(gy[sl], arg[sl], ph, pw, gx[sl]), _slices(gx))
    return gx


def _slices(x: np.ndarray) -> list[slice]:
    """The batch slices of one pass over ``x``: an element of a memory-bound pass counts as
    ``PASS_WORK`` multiply-adds (see glassnet._parallel)."""
    n = x.shape[0]
    return _parallel.slices(n, n * x.shape[1] * x.shape[2], PASS_WORK * x.size)
