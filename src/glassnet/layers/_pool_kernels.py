"""The pooling maths behind :mod:`glassnet.layers.pooling`: :class:`Pool2DKernel` (max and
average pooling over windows of an NHWC batch, and in inference the convolution it takes
over) and the functional ``max_pool2d``/``avg_pool2d``.

One fused kernel does max and average pooling. It loops only over the ``ph*pw`` offsets
inside a window; each step touches one strided slice of the whole batch (for strides
equal to the pool size these slices are exactly the reshape ``(N, OH, ph, OW, pw,
C)[:, :, i, :, j]``, so no window buffer is ever copied). Max pooling finds in backward
which offset won; ties go to the first element of the window in row-major order, as in
PyTorch, so the gradient flows to exactly one input per window. 'same' padding follows
Keras: padded positions never win a max and are not counted in an average.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any, cast

import numpy as np

from .. import _epilogue, backend
from ..autograd import Function, is_grad_enabled
from ..tensor import Tensor
from . import _conv_pool_numba, _pool_numba
from ._conv_kernels import Conv2DKernel, normalize_padding, normalize_tuple, same_pads

__all__ = ["Pool2DKernel", "max_pool2d", "avg_pool2d"]


class Pool2DKernel(Function):
    """Max or average pooling over (ph, pw) windows of an NHWC input.

    Args:
        mode: 'max' or 'avg'.
        pool: (ph, pw). strides: (sh, sw). pads: ((top, bottom), (left, right)); padded
            cells are ignored (never the max, not counted in the average).

    Shapes: (N, H, W, C) → (N, OH, OW, C), ``OH = (H + top + bottom - ph) // sh + 1``.
    """

    rowwise = "data"  # each sample alone; the other inputs are weights

    def __init__(self, mode: str, pool: Sequence[int], strides: Sequence[int],
                 pads: Sequence[Sequence[int]] = ((0, 0), (0, 0))) -> None:
        self.mode, self.pool, self.strides = mode, tuple(pool), tuple(strides)
        self.pads = tuple(tuple(p) for p in pads)
        # inference (made under no_grad) keeps no winners' offsets: part of the op's
        # configuration, so every replay repeats the recording's choice
        self.keep_arg = is_grad_enabled()
        self.relu = False  # a ReLU taken over from the convolution before (see absorb)
        self.conv: Conv2DKernel | None = None  # the convolution taken over (see absorb)
        self.plan: Any = None  # (input signature, its fused pass or None), see _conv_pool

    @property
    def name(self) -> str:
        """``Pool2DKernel``, or ``Conv2DKernel+Pool2DKernel`` once it took its convolution
        over (as a program's listing shows it)."""
        return "Pool2DKernel" if self.conv is None else "Conv2DKernel+Pool2DKernel"

    def absorb(self, earlier: Function) -> bool:
        """In an inference program, take over the convolution before (``earlier``, whose
        output only this op reads).

        Its ReLU runs on the pooled values: ``max(relu(x)) == relu(max(x))`` bit for bit
        (a max is one of its inputs; NaN wins both), on a quarter of the values for 2x2
        windows, and the convolution's own pass over its output is saved (the MNIST
        convnet's (128, 26, 26, 32): 0.4 ms a batch). Where the windows tile, the whole
        convolution is taken (True: the program
        then feeds this op the convolution's inputs, and :meth:`forward` runs both, in one
        compiled pass where :mod:`~glassnet.layers._conv_pool_numba` applies)."""
        if (self.mode != "max" or self.keep_arg or self.relu or self.conv is not None
                or not isinstance(earlier, Conv2DKernel)):
            return False
        if earlier.relu:
            earlier.relu = False
            self.relu = True
        w = getattr(earlier, "w", None)
        if (w is None or backend.get_array_module(w) is not np
                or self.pool != self.strides or not _conv_pool_numba.possible()
                or any(self.pads[0] + self.pads[1]) or self.pool[0] * self.pool[1] > 256):
            return False
        self.conv = earlier
        return True

    def _conv_pool(self, x: Any, w: Any, b: Any = None) -> Any:
        """The convolution taken over and this pooling in one compiled pass, or None where
        it does not apply (then both run as they are, which also raises their errors)."""
        # (the process too: a forked child keeps off the threaded BLAS, see cblas_gemm)
        key = (x.shape, w.shape, getattr(x, "dtype", None), getattr(w, "dtype", None),
               None if b is None else b.dtype, type(x), os.getpid())
        plan = self.plan
        if plan is None or plan[0] != key:  # (a replayed op sees one signature: once)
            plan = self.plan = (key, self._conv_pool_plan(x, w, b))
        if plan[1] is None:
            return None
        gemm, geometry, out_hw = plan[1]
        return _conv_pool_numba.conv_max_pool(gemm, x, w, b, geometry,
                                              (self.pool[0], self.pool[1]), self.relu, out_hw)

    def _conv_pool_plan(self, x: Any, w: Any, b: Any) -> Any:
        """(routine, the convolution's geometry, pooled (OH, OW)) for these inputs, or None
        where the fused pass does not apply."""
        conv = cast(Conv2DKernel, self.conv)
        if x.ndim != 4 or w.ndim != 4 or x.shape[3] != w.shape[2]:
            return None
        kh, kw = w.shape[0], w.shape[1]
        (pt, pb), (pl, pr) = conv.pads
        (sh, sw), (dh, dw), (ph, pw) = conv.strides, conv.dilation, self.pool
        ch = (x.shape[1] + pt + pb - (kh - 1) * dh - 1) // sh + 1
        cw = (x.shape[2] + pl + pr - (kw - 1) * dw - 1) // sw + 1
        oh, ow = (ch - ph) // ph + 1, (cw - pw) // pw + 1
        if ch <= 0 or cw <= 0 or oh <= 0 or ow <= 0:
            return None
        gemm = _conv_pool_numba.applies(x, w, b, x.shape[0] * ch * cw, (sh, sw))
        return None if gemm is None else (gemm, (sh, sw, dh, dw, conv.pads), (oh, ow))

    def _slices(self, oh: int, ow: int) -> Iterator[tuple[slice, ...]]:
        (ph, pw), (sh, sw) = self.pool, self.strides
        for i in range(ph):
            for j in range(pw):
                yield (slice(None), slice(i, i + (oh - 1) * sh + 1, sh),
                       slice(j, j + (ow - 1) * sw + 1, sw), slice(None))

    def forward(self, x: Any, *weights: Any) -> Any:
        if self.conv is not None:  # the convolution's inputs (see absorb)
            y = self._conv_pool(x, *weights)
            if y is not None:
                return y
            x = self.conv.forward(x, *weights)
        xp = backend.get_array_module(x)
        (pt, pb), (pl, pr) = self.pads
        (ph, pw), (sh, sw) = self.pool, self.strides
        self.x_shape = x.shape
        padded = bool(pt or pb or pl or pr)
        if padded:
            fill = -np.inf if self.mode == "max" else 0.0
            x = xp.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=fill)
        self.padded_shape = x.shape
        oh = (x.shape[1] - ph) // sh + 1
        ow = (x.shape[2] - pw) // sw + 1
        if oh <= 0 or ow <= 0:
            raise ValueError(
                f"pool2d: pool size {ph}x{pw} is larger than the input {x.shape[1]}x"
                f"{x.shape[2]}. Received: input shape {self.x_shape}"
            )
        self.out_hw = (oh, ow)
        self.arg: np.ndarray | None = None  # the numba kernel's winning offsets
        if self.mode == "max" and _pool_numba.applies(x, self.pool, self.strides, padded):
            # compiled one-pass kernel (numba extra): keeps the winners' offsets, not x
            if not self.keep_arg:
                y = _pool_numba.max_values(x, self.pool, oh, ow)
                return _epilogue.bias_relu(y) if self.relu else y
            y, self.arg = _pool_numba.max_forward(x, self.pool, oh, ow)
            return y
        if self.mode == "max" and self._disjoint() and type(x) is np.ndarray:
            y = _max_disjoint(x, ph, pw, oh, ow)
            self.x, self.y = x, y
            return _epilogue.bias_relu(y) if self.relu else y
        sl = list(self._slices(oh, ow))
        if self.mode == "max":
            # pairwise maxima of strided slices; which element won is settled in backward
            y = xp.maximum(x[sl[0]], x[sl[1]]) if len(sl) > 1 else x[sl[0]].copy()
            for s in sl[2:]:
                xp.maximum(y, x[s], out=y)
            self.x, self.y = x, y
            return _epilogue.bias_relu(y) if self.relu else y
        y = x[sl[0]].copy()
        for s in sl[1:]:
            y += x[s]
        if padded:  # Keras 'same' average: divide by the number of real cells in the window
            ones = xp.zeros((1,) + x.shape[1:3] + (1,), dtype=x.dtype)
            ones[:, pt:pt + self.x_shape[1], pl:pl + self.x_shape[2]] = 1
            cnt = ones[sl[0]].copy()
            for s in sl[1:]:
                cnt += ones[s]
            self.scale = 1.0 / cnt
        else:
            self.scale = x.dtype.type(1.0 / (ph * pw))
        y *= self.scale
        return y

    def backward(self, gy: Any) -> Any:
        if self.arg is not None:
            return _pool_numba.max_backward(gy, self.arg, self.pool, self.x_shape)
        if (self.mode == "max" and self._disjoint() and type(gy) is np.ndarray
                and gy.dtype == self.x.dtype):
            gx = _max_disjoint_backward(self.x, self.y, gy, *self.pool)
            if gx.shape != self.x_shape:
                (pt, _), (pl, _) = self.pads
                gx = gx[:, pt:pt + self.x_shape[1], pl:pl + self.x_shape[2]]
            return gx
        xp = backend.get_array_module(gy)
        (ph, pw), (sh, sw) = self.pool, self.strides
        sl = list(self._slices(*self.out_hw))
        disjoint = sh >= ph and sw >= pw
        # disjoint windows: each input cell is written at most once, so assign, no zero-fill
        alloc = xp.empty if disjoint and self._covers() else xp.zeros
        gx = alloc(self.padded_shape, dtype=gy.dtype)
        if self.mode == "max" and self._covers():
            return self._max_backward_tiled(gy)
        if self.mode == "max":
            # the first maximum of each window in row-major order takes the gradient (PyTorch)
            x, y = self.x, self.y
            hit = xp.empty(y.shape, dtype=bool)
            free = xp.ones(y.shape, dtype=bool)  # windows whose max has not been routed yet
            for k, s in enumerate(sl):
                xp.equal(x[s], y, out=hit)
                if k:
                    xp.logical_and(hit, free, out=hit)
                if k < len(sl) - 1:
                    xp.logical_xor(free, hit, out=free)  # hit is a subset of free
                if disjoint:
                    xp.multiply(gy, hit, out=gx[s])
                else:
                    gx[s] += gy * hit
        else:
            g = gy * self.scale
            for s in sl:
                if disjoint:
                    gx[s] = g
                else:
                    gx[s] += g
        if gx.shape != self.x_shape:
            (pt, _), (pl, _) = self.pads
            h, w = self.x_shape[1], self.x_shape[2]
            gx = gx[:, pt:pt + h, pl:pl + w]
        return gx

    def _max_backward_tiled(self, gy: Any) -> Any:
        """Windows tile the input exactly: work on the (N, OH, ph, OW, pw, C) reshape, so the
        final multiply writes gx contiguously in one pass (25 % faster than slice by slice)."""
        x, y = self.x, self.y
        n, hp, wp, c = x.shape
        (ph, pw), (oh, ow) = self.pool, self.out_hw
        hit = x.reshape(n, oh, ph, ow, pw, c) == y[:, :, None, :, None, :]
        free = ~hit[:, :, 0, :, 0, :]
        for k in range(1, ph * pw):  # keep only the first hit of each window (ties)
            e = hit[:, :, k // pw, :, k % pw, :]
            e &= free
            if k < ph * pw - 1:
                free ^= e
        gx = (gy[:, :, None, :, None, :] * hit).reshape(x.shape)
        if gx.shape != self.x_shape:
            (pt, _), (pl, _) = self.pads
            gx = gx[:, pt:pt + self.x_shape[1], pl:pl + self.x_shape[2]]
        return gx

    def _disjoint(self) -> bool:
        """True when the windows neither overlap nor leave gaps between them (strides equal
        to the pool size): then a reshape of the input puts every window on two axes."""
        return tuple(self.strides) == tuple(self.pool)

    def _covers(self) -> bool:
        """True when the windows tile the padded input exactly (every cell in one window)."""
        (ph, pw), (sh, sw) = self.pool, self.strides
        oh, ow = self.out_hw
        return (sh == ph and sw == pw and oh * ph == self.padded_shape[1]
                and ow * pw == self.padded_shape[2])

    def describe(self) -> str:
        return f"{self.mode.capitalize()}Pool2D(pool={self.pool}, strides={self.strides})"


def _windows6(a: np.ndarray, ph: int, pw: int, oh: int, ow: int) -> np.ndarray:
    """(N, oh, ph, ow, pw, C) view of the disjoint windows of ``a`` (trailing rows and
    columns outside every window left out)."""
    n, c = a.shape[0], a.shape[3]
    return a[:, :oh * ph, :ow * pw].reshape(n, oh, ph, ow, pw, c)


_POOL_CHUNK = 1 << 19  # bytes of input per chunk of the max-pool backward (stays in L2)


def _max_disjoint(x: np.ndarray, ph: int, pw: int, oh: int, ow: int) -> np.ndarray:
    """Max over disjoint (ph, pw) windows: first over the window's rows, whose (OW, pw, C)
    blocks are contiguous (long inner loops), then over the pw columns of that partial
    result, a few samples at a time so it stays in cache ((128, 26, 26, 32) float32:
    1.29 -> 1.03 ms against strided slice by slice over the whole batch)."""
    n, c = x.shape[0], x.shape[3]
    x6 = _windows6(x, ph, pw, oh, ow)
    y = np.empty((n, oh, ow, c), dtype=x.dtype)
    step = max(1, 2 * _POOL_CHUNK // (x[0].size * x.itemsize))
    t = np.empty((min(step, n), oh, ow, pw, c), dtype=x.dtype) if ph > 1 else None
    for s in range(0, n, step):
        e = min(s + step, n)
        xc, yc = x6[s:e], y[s:e]
        if t is None:
            tc = xc[:, :, 0]
        else:
            tc = t[:e - s]
            np.maximum(xc[:, :, 0], xc[:, :, 1], out=tc)
            for i in range(2, ph):
                np.maximum(tc, xc[:, :, i], out=tc)
        if pw == 1:
            np.copyto(yc, tc[:, :, :, 0])
            continue
        np.maximum(tc[:, :, :, 0], tc[:, :, :, 1], out=yc)
        for j in range(2, pw):
            np.maximum(yc, tc[:, :, :, j], out=yc)
    return y


def _max_disjoint_backward(x: np.ndarray, y: np.ndarray, gy: np.ndarray, ph: int,
                           pw: int) -> np.ndarray:
    """The max pool's input gradient for disjoint windows: ``gy`` at the first maximum of
    each window in row-major order (as PyTorch; a NaN window's max equals nothing and routes
    nowhere, as in the slice-by-slice kernel), zero elsewhere.

    Per window offset: where x equals the max, among the windows still free, as a bool mask
    (one byte an element: the compare and the mask logic move a quarter of a float mask's
    bytes), times gy, written straight into that offset's slice of gx; a few samples at a
    time so the masks stay in cache ((128, 26, 26, 32) float32: 4.6 -> 3.8 ms against float
    masks, (128, 11, 11, 64) 1.5 -> 1.1 ms).
    """
    n, oh, ow, c = y.shape
    gx = np.empty(x.shape, dtype=gy.dtype)
    gx[:, oh * ph:] = 0  # rows and columns outside every window; the windows are all written
    gx[:, :oh * ph, ow * pw:] = 0
    x6, g6 = _windows6(x, ph, pw, oh, ow), _windows6(gx, ph, pw, oh, ow)
    step = max(1, _POOL_CHUNK // (x[0].size * x.itemsize))
    hit = np.empty((min(step, n), oh, ow, c), dtype=bool)
    free = np.empty_like(hit)
    last = ph * pw - 1
    for s in range(0, n, step):
        e = min(s + step, n)
        h, fr, yc, gc = hit[:e - s], free[:e - s], y[s:e], gy[s:e]
        for k in range(last + 1):
            i, j = divmod(k, pw)
            np.equal(x6[s:e, :, i, :, j], yc, out=h)
            if k:
                h &= fr  # only windows whose maximum has not been routed yet
            if k == 0 and last:
                np.logical_not(h, out=fr)
            elif k < last:
                fr ^= h  # h is a subset of fr
            np.multiply(gc, h, out=g6[s:e, :, i, :, j])
    return gx


def _pool_pads(shape_hw: Sequence[int], pool: Sequence[int], strides: Sequence[int],
               padding: str) -> tuple[tuple[int, int], ...]:
    if padding != "same":
        return ((0, 0), (0, 0))
    return tuple(same_pads(n, p, s) for n, p, s in zip(shape_hw, pool, strides))


def max_pool2d(x: Any, pool_size: Any = 2, strides: Any = None,
               padding: str = "valid") -> Tensor:
    """Functional max pooling, NHWC, Keras semantics (strides default to pool_size).

    Example:
        >>> max_pool2d(np.ones((1, 4, 4, 3), "float32")).shape
        (1, 2, 2, 3)
    """
    return _pool2d("max", x, pool_size, strides, padding)


def avg_pool2d(x: Any, pool_size: Any = 2, strides: Any = None,
               padding: str = "valid") -> Tensor:
    """Functional average pooling, NHWC; 'same' excludes padded cells from the mean.

    Example:
        >>> avg_pool2d(np.ones((1, 4, 4, 3), "float32")).shape
        (1, 2, 2, 3)
    """
    return _pool2d("avg", x, pool_size, strides, padding)


def _pool2d(mode: str, x: Any, pool_size: Any, strides: Any, padding: str) -> Tensor:
    """The functional pooling's arguments checked in its name, then the kernel."""
    name = f"{mode}_pool2d"
    p = normalize_tuple(pool_size, 2, "pool_size", name)
    s = p if strides is None else normalize_tuple(strides, 2, "strides", name)
    pad = normalize_padding(padding, name)
    return Pool2DKernel(mode, p, s, _pool_pads(tuple(x.shape[1:3]), p, s, pad))(x)
