"""The convolution maths behind :mod:`glassnet.layers.conv`: shape helpers, im2col/col2im,
the two fused kernels and the functional ``conv2d``/``conv2d_transpose``.
The math lives in two fused kernels (one :class:`~glassnet.autograd.Function` each):

* :class:`Conv2DKernel` — im2col through a strided *view* of the (padded) input, copied once
  into a ``(N*OH*OW, kh*kw*C)`` matrix, then one GEMM with the kernel reshaped to
  ``(kh*kw*C, F)``. Backward: ``gw = col.T @ gy``; ``gx`` by ``gy @ w.T`` and col2im, which
  loops only over the ``kh*kw`` kernel offsets, adding one strided slice each.
* :class:`Conv2DTransposeKernel` — exactly the adjoint: its forward is Conv2D's input
  gradient (GEMM then col2im), its backward uses Conv2D's forward (im2col then GEMM); in
  :mod:`glassnet.layers._conv_transpose`, re-exported here.

Conv1D runs the 2-D kernels on a height-1 view. 'same' padding follows Keras/TensorFlow:
for stride > 1 the extra padding goes to the bottom/right.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, overload

import numpy as np

from .. import _epilogue, _parallel, backend
from ..autograd import Function, is_grad_enabled
from ..tensor import Tensor
from . import _col2im_numba, _conv_numba

__all__ = ["Conv2DKernel", "Conv2DTransposeKernel", "conv2d", "conv2d_transpose",
           "transpose_kernel"]


# ------------------------------------------------------------------ shape helpers
def normalize_tuple(value: Any, n: int, arg: str, layer: str,
                    allow_zero: bool = False) -> tuple[int, ...]:
    """``3`` → ``(3, 3)``; validates positive (or non-negative) ints, naming the layer."""
    vals = (value,) * n if isinstance(value, (int, np.integer)) else value
    try:
        vals = tuple(vals)
    except TypeError:
        vals = None
    lo = 0 if allow_zero else 1
    if (vals is None or len(vals) != n or any(
            isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo for v in vals)):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(
            f"Layer '{layer}': {arg} must be a {kind} int or a tuple of {n} {kind} ints. "
            f"Received: {arg}={value!r}"
        )
    return tuple(int(v) for v in vals)


def normalize_padding(value: Any, layer: str,
                      allowed: Sequence[str] = ("valid", "same")) -> str:
    p = str(value).lower() if isinstance(value, str) else value
    if p not in allowed:
        raise ValueError(
            f"Layer '{layer}': padding must be one of {list(allowed)}. Received: padding={value!r}"
        )
    return p


def check_data_format(value: Any, layer: str) -> None:
    if value not in (None, "channels_last"):
        raise ValueError(
            f"Layer '{layer}': only data_format='channels_last' (batch, ..., channels) is "
            f"supported. Received: data_format={value!r}"
        )


@overload
def conv_output_length(length: int, k: int, padding: str, stride: int,
                       dilation: int = 1) -> int: ...
@overload
def conv_output_length(length: None, k: int, padding: str, stride: int,
                       dilation: int = 1) -> None: ...
def conv_output_length(length: int | None, k: int, padding: str, stride: int,
                       dilation: int = 1) -> int | None:
    """Keras's output length of a convolution/pooling window along one axis (None stays)."""
    if length is None:
        return None
    keff = (k - 1) * dilation + 1
    if padding == "same":
        return -(-length // stride)
    if padding == "causal":
        return -(-length // stride)
    return max(length - keff, -1) // stride + 1


def same_pads(length: int, k: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow's 'same' padding: total split with the extra element after (bottom/right)."""
    out = -(-length // stride)
    total = max((out - 1) * stride + (k - 1) * dilation + 1 - length, 0)
    return total // 2, total - total // 2


@overload
def deconv_output_length(length: int, k: int, padding: str, stride: int, dilation: int = 1,
                         output_padding: int | None = None) -> int: ...
@overload
def deconv_output_length(length: None, k: int, padding: str, stride: int, dilation: int = 1,
                         output_padding: int | None = None) -> None: ...
def deconv_output_length(length: int | None, k: int, padding: str, stride: int,
                         dilation: int = 1, output_padding: int | None = None) -> int | None:
    """Keras's output length of a transposed convolution along one axis (None stays)."""
    if length is None:
        return None
    keff = (k - 1) * dilation + 1
    if output_padding is None:
        if padding == "valid":
            return length * stride + max(keff - stride, 0)
        return length * stride
    pad = keff // 2 if padding == "same" else 0
    return (length - 1) * stride + keff - 2 * pad + output_padding


# ------------------------------------------------------------------ im2col / col2im
def _windows(a: Any, kh: int, kw: int, sh: int, sw: int, dh: int, dw: int, oh: int,
             ow: int) -> Any:
    """Strided view (N, oh, ow, kh, kw, C) of every window of ``a`` (N, H, W, C); no copy."""
    xp = backend.get_array_module(a)
    s0, s1, s2, s3 = a.strides
    return xp.lib.stride_tricks.as_strided(
        a, shape=(a.shape[0], oh, ow, kh, kw, a.shape[3]),
        strides=(s0, s1 * sh, s2 * sw, s1 * dh, s2 * dw, s3),
    )


_FEW_CHANNELS = 8  # below this, the column matrix is built and used transposed


def _few(c: int, xp: Any) -> bool:
    return c < _FEW_CHANNELS and xp is np


def _im2col(a: Any, kh: int, kw: int, sh: int, sw: int, dh: int, dw: int, oh: int,
            ow: int) -> Any:
    """One contiguous copy of the windows as a (N*oh*ow, kh*kw*C) matrix (C >= 8)."""
    n, c = a.shape[0], a.shape[3]
    if kh == kw == 1 and sh == sw == 1:
        return a[:, :oh, :ow].reshape(n * oh * ow, c)  # 1x1 conv: a view when contiguous
    xp = backend.get_array_module(a)
    view = _windows(a, kh, kw, sh, sw, dh, dw, oh, ow)
    return xp.ascontiguousarray(view).reshape(n * oh * ow, kh * kw * c)


def _im2col_t(a: Any, kh: int, kw: int, sh: int, sw: int, dh: int, dw: int, oh: int,
              ow: int, ones: bool = False, pads: Any = None) -> Any:
    """The column matrix transposed, (kh*kw*C, N*oh*ow), rows in (i, j, c) order (few C).

    With 1-3 channels a (N*oh*ow, kh*kw*C) row holds only C contiguous elements per kernel
    offset, so building it copies C floats at a stride of kh*kw*C. Transposed, each row is one
    (N, oh, ow) plane, copied from a channel-major copy of the input with whole image rows
    contiguous: 8.7x faster measured on a (128, 34, 34, 3) batch with a 3x3 kernel. The GEMMs
    then take it as a transposed operand (no copy). ``ones``: one more row of ones at the end
    (the bias as one more kernel row, see :class:`Conv2DKernel`). ``pads``: ((top,
    bottom), (left, right)) zeros around ``a``, added while it is transposed (one pass
    instead of two).
    """
    xp = backend.get_array_module(a)
    n, c = a.shape[0], a.shape[3]
    at = channel_major(a, pads)
    k = kh * kw * c
    full = xp.empty((k + 1 if ones else k, n * oh * ow), dtype=a.dtype)
    if ones:
        full[k] = 1
    colt = full[:k].reshape(kh, kw, c, n, oh, ow)
    for i in range(kh):
        r0 = i * dh
        for j in range(kw):
            c0 = j * dw
            colt[i, j] = at[:, :, r0:r0 + (oh - 1) * sh + 1:sh, c0:c0 + (ow - 1) * sw + 1:sw]
    return full


def channel_major(a: Any, pads: Any = None) -> Any:
    """A (C, N, H + top + bottom, W + left + right) copy of an NHWC ``a``, zero-padded by
    ``pads`` (((top, bottom), (left, right)) or None) in the same pass: each image row of
    a channel contiguous, as the few-channel columns copy them (a view where ``a`` has one
    channel and no padding)."""
    xp = backend.get_array_module(a)
    if pads is None or not any(pads[0] + pads[1]):
        return xp.ascontiguousarray(a.transpose(3, 0, 1, 2))
    (pt, pb), (pl, pr) = pads
    n, h, w, c = a.shape
    at = xp.empty((c, n, h + pt + pb, w + pl + pr), dtype=a.dtype)
    at[:, :, :pt] = 0
    at[:, :, pt + h:] = 0
    at[:, :, pt:pt + h, :pl] = 0
    at[:, :, pt:pt + h, pl + w:] = 0
    at[:, :, pt:pt + h, pl:pl + w] = a.transpose(3, 0, 1, 2)
    return at


def _cols(a: Any, kh: int, kw: int, sh: int, sw: int, dh: int, dw: int, oh: int,
          ow: int, ones: bool = False, pads: Any = None) -> Any:
    """The (N*oh*ow, kh*kw*C) column matrix of ``a`` zero-padded by ``pads`` (((top,
    bottom), (left, right)) or None): C-ordered, or for few channels the transpose of
    :func:`_im2col_t` (an F-ordered view the GEMMs read without copying); ``ones`` (only
    where :func:`_folds` says so) appends a column of ones."""
    xp = backend.get_array_module(a)
    if pads is not None and not any(pads[0] + pads[1]):
        pads = None
    if _folds(a.shape[3], kh, kw, sh, sw, xp):
        return _im2col_t(a, kh, kw, sh, sw, dh, dw, oh, ow, ones, pads).T
    if pads is not None:
        cols = _col2im_numba.im2col_padded(a, (kh, kw), (sh, sw), (dh, dw), pads, (oh, ow))
        if cols is not None:
            return cols
        a = xp.pad(a, ((0, 0), *pads, (0, 0)))
    return _im2col(a, kh, kw, sh, sw, dh, dw, oh, ow)


def _folds(c: int, kh: int, kw: int, sh: int, sw: int, xp: Any) -> bool:
    """Whether the columns are built channel-major (few channels, not a 1x1 stride-1 conv):
    then a row of ones costs nothing to add, and the bias rides in the GEMM."""
    return _few(c, xp) and not (kh == kw == 1 and sh == sw == 1)


def _col2im(a2d: Any, wk: Any, full_shape: tuple[int, int, int, int], oh: int, ow: int,
            sh: int, sw: int, dh: int, dw: int, out: Any = None) -> Any:
    """col2im(a2d @ wk2d.T) as a (N, Hp, Wp, C) array (possibly a transposed view).

    ``a2d`` is (N*oh*ow, K), ``wk`` (kh, kw, C, K). Few channels: one GEMM gives the
    transposed column matrix (kh*kw*C, N*oh*ow), whose (N, oh, ow) planes are added to a
    channel-major buffer; more channels: :func:`_col2im_gemm`, one GEMM per kernel offset,
    into ``out`` when it is given (a C-contiguous array of ``full_shape`` and the result's
    dtype; the caller compares what comes back with it).
    """
    xp = backend.get_array_module(a2d)
    n, hp, wp, c = full_shape
    kh, kw, _, k = wk.shape
    dt = _result_dtype(a2d, wk)
    if not _few(c, xp):
        if out is not None and out.dtype == dt and out.shape == tuple(full_shape):
            buf = out
            if sh == sw == 1:
                buf[:, oh:] = 0
                buf[:, :oh, ow:] = 0
            else:
                buf[...] = 0
        elif sh == sw == 1:
            # the first offset's block [:, :oh, :ow] is assigned, not added: zero only the
            # strips outside it (no zero-fill and re-read of the whole buffer)
            buf = xp.empty(full_shape, dtype=dt)
            buf[:, oh:] = 0
            buf[:, :oh, ow:] = 0
        else:
            buf = xp.zeros(full_shape, dtype=dt)
        _col2im_gemm(buf, a2d, wk, oh, ow, sh, sw, dh, dw, assign_first=sh == sw == 1)
        return buf
    gcolt = backend.matmul(wk.reshape(kh * kw * c, k), a2d.T).reshape(kh, kw, c, n, oh, ow)
    bt = xp.zeros((c, n, hp, wp), dtype=dt)
    for i in range(kh):
        r0 = i * dh
        for j in range(kw):
            c0 = j * dw
            bt[:, :, r0:r0 + (oh - 1) * sh + 1:sh, c0:c0 + (ow - 1) * sw + 1:sw] += gcolt[i, j]
    return bt.transpose(1, 2, 3, 0)


def _col2im_gemm(buf: Any, a2d: Any, wk: Any, oh: int, ow: int, sh: int, sw: int, dh: int,
                 dw: int, assign_first: bool = False) -> None:
    """``buf`` (N, Hp, Wp, C) += col2im(a2d @ wk2d.T), one kernel offset at a time, in place
    (``assign_first``: the first offset's slice is written, not added to).

    ``a2d`` is (N*oh*ow, K) and ``wk`` (kh, kw, C, K). For each of the kh*kw offsets one GEMM
    ``a2d @ wk[i, j].T`` gives that offset's (N, oh, ow, C) contribution contiguously, which
    is added to one strided slice of ``buf``. Adding from the (N, oh, ow, kh, kw, C) column
    matrix instead would read with a stride on every C-row: measured 3-5x slower.
    """
    xp = backend.get_array_module(buf)
    n, c = buf.shape[0], buf.shape[3]
    kh, kw = wk.shape[0], wk.shape[1]
    tmp = xp.empty((a2d.shape[0], c), dtype=buf.dtype)
    for i in range(kh):
        r0 = i * dh
        for j in range(kw):
            c0 = j * dw
            backend.matmul(a2d, wk[i, j].T, out=tmp)
            dst = buf[:, r0:r0 + (oh - 1) * sh + 1:sh, c0:c0 + (ow - 1) * sw + 1:sw, :]
            if assign_first and i == j == 0:
                dst[...] = tmp.reshape(n, oh, ow, c)
            else:
                dst += tmp.reshape(n, oh, ow, c)


# a first layer's ReLU-masked weight gradient block by block (False: the whole mask, the
# reference the tests compare with); elements of the masked gradient per block: 2^18 (1 MB
# of float32, a core's L2) against 2^16 made the block's GEMM big enough for MKL (it
# threads at 2 threads): conv2d32-rgb-same-b128 22.4 -> 20.6 ms at one thread, 18.1 -> 16.0
# at two; the MNIST convnet unchanged (2-vCPU Xeon)
_FUSE_MASK = True
_MASK_BLOCK = 1 << 18
# bytes of im2col matrix per chunk: a larger matrix is never held whole. Inference builds
# it a chunk at a time (a batch-1024 MNIST CNN forward peaks 238 -> ~110 MB); training too,
# keeping the input instead, and its backward rebuilds the columns a block at a time for
# the kernel's gradient (_REBUILD_BLOCK bytes, or the masked first layer's blocks): the
# MNIST convnet at batch 128 holds its second layer's input (2.8 MB) instead of its 18 MB
# of columns, its step's time unchanged within noise at one thread, 8-10 % longer at two
# (both threads make columns, sharing the memory bandwidth). (8 MB would also take an RGB
# first layer at batch 128, 15 MB of columns, from 199 to 186 MB peak, but made its step
# 10-20 % slower: its columns are cheap to multiply, making them again is most of the cost)
_COL_BUDGET = 16 << 20
_REBUILD_BLOCK = 2 << 20  # (in a core's L2 while its product reads it)


def _mkl() -> bool:
    """Whether the products run on MKL (which threads a small-K product well itself)."""
    return backend._resolve_gemm()["kind"] == "mkl"


def _weight_grad(col: Any, g: Any) -> Any:
    """``col.T @ g`` for a (rows, K) column matrix and a (rows, F) gradient: the kernel's
    gradient, a product with the long batch axis inside.

    A C-ordered ``col`` goes through MKL as ``(g.T @ col).T``: MKL's sgemm is much slower
    with both operands transposed the other way round (2-vCPU Xeon, one thread: (15488, 288)
    by (15488, 64) 5.5-7 ms against 4.0 ms; (100352, 144) by 16 filters 10.8 -> 7.2 ms).
    NumPy's OpenBLAS is no faster either way and keeps ``col.T @ g``, as do the few-channel
    columns (an F-ordered view, where MKL prefers that order: (86528, 9) 0.6 against 1.2 ms).
    """
    if (type(col) is np.ndarray and col.flags.c_contiguous and not col.flags.f_contiguous
            and backend._resolve_gemm()["kind"] == "mkl"):
        return backend.matmul(g.T, col).T
    return backend.matmul(col.T, g)


def _result_dtype(a: Any, b: Any) -> np.dtype:
    return a.dtype if a.dtype == b.dtype else (a.ravel()[:1] * b.ravel()[:1]).dtype


def _add_bias(y: Any, b: Any) -> Any:
    """``y + b`` over the last axis, in place when the dtypes agree (y: a fresh GEMM result)."""
    if b.dtype != y.dtype:
        return y + b
    return backend.per_channel(np.add, y, b, out=y)


def _finish(y: Any, b: Any, relu: bool) -> Any:
    """Bias and the fused ReLU, in place on a kernel's fresh GEMM result (no extra
    activation array: a batch-1024 MNIST CNN forward peaks 88 MB lower)."""
    if relu:
        return _epilogue.bias_relu(y, b)
    return y if b is None else _add_bias(y, b)


def _batch_slices(n: int, rows: int, work: int, budget: int, single: bool,
                  xp: Any, local: bool = False) -> list[slice]:
    """The batch slices a kernel runs: one per thread for GEMMs of ``rows`` rows and
    ``work`` multiply-adds on the CPU (see :mod:`glassnet._parallel`), at least ``budget``
    of them (inference's column memory), the whole batch when ``single``. ``local``: each
    slice is one compiled call (:mod:`~glassnet.layers._conv_numba`), worth a thread from
    ``MIN_WORK`` multiply-adds a thread (2-vCPU Xeon, two threads, the MNIST convnet's
    second layer at batch 32, 71M multiply-adds: 1.05 ms whole against 0.79 ms in two)."""
    if single or n <= 1:
        return [slice(0, n)]
    if local and xp is np:
        sls = _parallel.work_slices(n, work)
    else:
        sls = _parallel.slices(n, rows, work) if xp is np else [slice(0, n)]
    if budget > len(sls):
        step = -(-n // budget)  # equal chunks: no small last GEMM
        sls = [slice(s, min(s + step, n)) for s in range(0, n, step)]
    return sls


def _add_in_order(parts: Sequence[Any]) -> Any:
    """The slices' partial sums added in slice order (the same bits whichever finished
    first); the first part itself when there is one."""
    acc = parts[0]
    for p in parts[1:]:
        acc = acc + p
    return acc


# ------------------------------------------------------------------ fused kernels
class Conv2DKernel(Function):
    """2-D convolution (cross-correlation), NHWC input, kernel (kh, kw, in, out).

    Args:
        strides: (sh, sw). dilation: (dh, dw).
        pads: ((top, bottom), (left, right)) zero padding.

    Shapes: x (N, H, W, C), w (kh, kw, C, F), b (F,) → (N, OH, OW, F) with
    ``OH = (H + top + bottom - (kh-1)*dh - 1) // sh + 1``.
    """

    rowwise = "data"  # each sample alone; the other inputs are weights

    def __init__(self, strides: Sequence[int] = (1, 1), dilation: Sequence[int] = (1, 1),
                 pads: Sequence[Sequence[int]] = ((0, 0), (0, 0)), relu: bool = False) -> None:
        self.strides, self.dilation = tuple(strides), tuple(dilation)
        self.pads = tuple(tuple(p) for p in pads)
        self.relu = bool(relu)

    def forward(self, x: Any, w: Any, b: Any = None) -> Any:
        xp = backend.get_array_module(x)
        (pt, pb), (pl, pr) = self.pads
        sh, sw = self.strides
        dh, dw = self.dilation
        kh, kw, c, f = w.shape
        if x.ndim != 4 or x.shape[3] != c:
            raise ValueError(
                f"conv2d: expected input (N, H, W, {c}) for kernel shape {w.shape}. "
                f"Received: input shape {x.shape}"
            )
        self.x_shape = x.shape
        n, hp, wp = x.shape[0], x.shape[1] + pt + pb, x.shape[2] + pl + pr
        oh = (hp - (kh - 1) * dh - 1) // sh + 1
        ow = (wp - (kw - 1) * dw - 1) // sw + 1
        if oh <= 0 or ow <= 0:
            raise ValueError(
                f"conv2d: the (dilated) kernel {(kh - 1) * dh + 1}x{(kw - 1) * dw + 1} is "
                f"larger than the padded input {hp}x{wp}. Received: input shape {self.x_shape}"
            )
        self.padded_shape, self.out_hw = (n, hp, wp, c), (oh, ow)
        w2d = w.reshape(kh * kw * c, f)
        # few channels: the bias as one more kernel row against a row of ones in the
        # channel-major columns, free in the GEMM (k 9 -> 10); it saves a pass over the
        # output forward and the bias gradient's sum backward (the (86528, 32) output of the
        # MNIST convnet's first layer: 0.67 + 0.46 ms a step)
        self.folded = fold = (b is not None and b.dtype == x.dtype == w.dtype
                              and _folds(c, kh, kw, sh, sw, xp))
        if fold:
            w2d = xp.concatenate([w2d, b.reshape(1, f)])
            b = None
        dt = _result_dtype(x, w)
        # the columns stay for backward, unless they pass _COL_BUDGET: then they are built
        # a slice of the batch at a time, as in inference, and backward rebuilds them from
        # the input (see _weight_grad_rebuilt); the slices run on the CPU's threads
        # (see glassnet._parallel)
        per_sample = oh * ow * kh * kw * c * x.dtype.itemsize
        budget = -(-n * per_sample // _COL_BUDGET)
        train = is_grad_enabled()
        keep = train and budget <= 1
        self.x = x if train and not keep else None
        # one slice: a promoting bias (a fresh result), or an inference of few channels
        # without a ReLU pass (none, or a pooling took it), whose small-K product MKL
        # threads better than two half-batch products (the MNIST convnet's first layer at
        # batch 128, two threads: 0.79 -> 0.59 ms; with its ReLU, the slices stay faster:
        # 0.99 against 1.12 ms, each thread's pass over its half)
        single = (b is not None and b.dtype != dt) or (
            fold and not train and not self.relu and budget <= 1 and _mkl())
        # row-major columns of a NumPy batch: each slice may be one compiled call
        # (glassnet.layers._conv_numba), and then slices pay from less work
        local = (not fold and not single and xp is np and not (kh == kw == 1 and sh == sw == 1)
                 and _conv_numba.routine(x, w2d, b, n * oh * ow) is not None)
        # (a training step keeps the rule: its backward runs on the same slices, and
        # two of them at batch 32 made the MNIST convnet's step 4 % slower)
        self.sls = sls = _batch_slices(n, n * oh * ow, n * oh * ow * w2d.shape[0] * f, budget,
                                      single, xp, local and not train)
        y = None if single else xp.empty((n * oh * ow, f), dtype=dt)
        geo = (kh, kw, sh, sw, dh, dw, pt, pl, oh, ow)

        def part(sl: slice) -> tuple[Any, Any]:
            yr = None if y is None else y[sl.start * oh * ow:sl.stop * oh * ow]
            addr = (_conv_numba.routine(x[sl], w2d, b, (sl.stop - sl.start) * oh * ow)
                    if local else None)
            if addr is not None and yr is not None:
                col = _conv_numba.forward_rows(addr, x[sl], w2d, b, geo, self.relu, yr)
                return (col if keep else None), yr
            col = _cols(x[sl], kh, kw, sh, sw, dh, dw, oh, ow, fold, self.pads)
            return (col if keep else None), _finish(backend.matmul(col, w2d, out=yr), b, self.relu)

        parts = _parallel.run(part, sls) if len(sls) > 1 else [part(sls[0])]
        y = parts[0][1] if y is None else y
        self.cols, self.w, self.has_b = [p[0] for p in parts], w, b is not None or fold
        if self.relu and train:
            self.y = y
        return y.reshape(n, oh, ow, f)

    def backward(self, gy: Any) -> tuple[Any, ...]:
        xp = backend.get_array_module(gy)
        w, sls = self.w, self.sls
        kh, kw, c, f = w.shape
        need = self.needs_input_grad
        gy2d = gy.reshape(-1, f)
        if (self.relu and not need[0] and need[1] and self.folded and xp is np
                and _FUSE_MASK):
            accs = _parallel.run(lambda i: self._masked_weight_grad(gy2d, i), range(len(sls)))
            acc = _add_in_order(accs)
            k = acc.shape[0] - 1
            return None, acc[:k].reshape(w.shape), (acc[k].copy() if need[2] else None)
        gx = None
        if need[0] and len(sls) > 1:
            gx = xp.empty(self.x_shape, dtype=_result_dtype(gy2d, w))
        parts = _parallel.run(lambda i: self._backward_part(gy2d, i, gx), range(len(sls)))
        gw = _add_in_order([p[1] for p in parts]) if need[1] else None
        gb = _add_in_order([p[2] for p in parts]) if self.has_b and need[2] else None
        if need[0] and gx is None:
            gx = parts[0][0]
        return (gx, gw, gb) if self.has_b else (gx, gw)

    def _backward_part(self, gy2d: Any, i: int, gx_out: Any) -> tuple[Any, Any, Any]:
        """(gx, gw, gb) of the batch's ``i``-th slice; its gx written into ``gx_out`` (the
        whole batch's) when there is one."""
        xp = backend.get_array_module(gy2d)
        w, sl, col = self.w, self.sls[i], self.cols[i]
        kh, kw, c, f = w.shape
        need = self.needs_input_grad
        oh, ow = self.out_hw
        rows = slice(sl.start * oh * ow, sl.stop * oh * ow)
        g = gy2d[rows]
        if self.relu:
            g = _epilogue.relu_grad(g, self.y[rows])
        gx = gw = gb = None
        k = kh * kw * c
        if need[1]:
            # folded: (k + 1, F), the kernel's rows, then the bias
            gwb = _weight_grad(col, g) if col is not None else self._weight_grad_rebuilt(g, sl)
            gw = gwb[:k].reshape(w.shape) if self.folded else gwb.reshape(w.shape)
            if self.folded and need[2]:
                gb = gwb[k].copy()
        if self.has_b and need[2] and gb is None:
            gb = backend.sum_rows(g)
        if need[0]:
            m = sl.stop - sl.start
            sh, sw = self.strides
            (pt, _), (pl, _) = self.pads
            h, wd = self.x_shape[1], self.x_shape[2]
            out = None if gx_out is None else gx_out[sl]
            if kh == kw == 1 and sh == sw == 1 and self.padded_shape == self.x_shape:
                gx = backend.matmul(g, w.reshape(c, f).T,
                                    out=None if out is None else out.reshape(-1, c))
                gx = gx.reshape(m, h, wd, c)
            elif not _few(c, xp) and _col2im_numba.applies(g, w, m * h * wd * c):
                gx = xp.empty((m, h, wd, c), dtype=g.dtype) if out is None else out
                _col2im_numba.col2im_into(g, w, gx, (oh, ow), self.strides, self.dilation,
                                          (pt, pl))
            else:
                full = (m, *self.padded_shape[1:])
                dh, dw = self.dilation
                buf = _col2im(g, w, full, oh, ow, sh, sw, dh, dw,
                              out=out if full[1:3] == (h, wd) else None)
                if buf is not out:
                    gx = buf if buf.shape[1:3] == (h, wd) else buf[:, pt:pt + h, pl:pl + wd]
                    if out is None:
                        gx = xp.ascontiguousarray(gx)
                    else:
                        out[...] = gx
        return gx, gw, gb

    def _weight_grad_rebuilt(self, g: Any, sl: slice) -> Any:
        """:func:`_weight_grad` of the batch slice ``sl`` (``g``: its gradient rows) with its
        columns rebuilt from the kept input ``_REBUILD_BLOCK`` bytes at a time, the blocks'
        products added in order: the whole column matrix is never held."""
        kh, kw, c, _ = self.w.shape
        oh, ow = self.out_hw
        (sh, sw), (dh, dw) = self.strides, self.dilation
        x: Any = self.x  # kept: the columns were not
        step = max(1, _REBUILD_BLOCK // (oh * ow * kh * kw * c * x.dtype.itemsize))
        acc = None
        for s0 in range(sl.start, sl.stop, step):
            s1 = min(s0 + step, sl.stop)
            col = _cols(x[s0:s1], kh, kw, sh, sw, dh, dw, oh, ow, self.folded, self.pads)
            part = _weight_grad(col, g[(s0 - sl.start) * oh * ow:(s1 - sl.start) * oh * ow])
            if acc is None:
                acc = part
            else:
                acc += part
        return acc

    def _masked_weight_grad(self, gy2d: np.ndarray, i: int) -> np.ndarray:
        """(k + 1, F): the weight gradient, then the bias's, of the batch's ``i``-th slice
        in a first layer (no input gradient) with the fused ReLU and the folded bias: the
        ReLU-masked gradient a block of rows at a time, each block's product with its
        columns added up, so the masked gradient never leaves the cache (the MNIST convnet's
        (86528, 32) first layer: no 11 MB array written and re-read). Where the columns were
        not kept (past ``_COL_BUDGET``), each block's are rebuilt from the input, a whole
        number of samples at a time."""
        f = gy2d.shape[1]
        sl = self.sls[i]
        r = self.out_hw[0] * self.out_hw[1]
        base = sl.start * r
        rows = (sl.stop - sl.start) * r
        step = max(1, _MASK_BLOCK // f)
        col = self.cols[i]
        if col is None:  # blocks of whole samples, their columns made afresh
            kh, kw, c, _ = self.w.shape
            (sh, sw), (dh, dw) = self.strides, self.dilation
            oh, ow = self.out_hw
            step = max(1, step // r) * r

            x: Any = self.x  # kept: the columns were not

            def colt_of(r0: int, r1: int) -> Any:
                s0, s1 = sl.start + r0 // r, sl.start + r1 // r
                return _cols(x[s0:s1], kh, kw, sh, sw, dh, dw, oh, ow, True, self.pads).T
        else:
            colt = col.T  # (k + 1, rows), C-ordered (the channel-major columns)

            def colt_of(r0: int, r1: int) -> Any:
                return colt[:, r0:r1]
        y = self.y
        dt = _result_dtype(gy2d, y)
        k1 = self.w.shape[0] * self.w.shape[1] * self.w.shape[2] + 1
        acc = np.zeros((k1, f), dtype=np.result_type(self.w.dtype, dt))

        def block(r0: int) -> np.ndarray:
            r1 = min(r0 + step, rows)
            m = np.empty((r1 - r0, f), dtype=dt)
            np.greater(y[base + r0:base + r1], 0, out=m)
            m *= gy2d[base + r0:base + r1]
            return backend.matmul(colt_of(r0, r1), m, out=np.empty_like(acc))

        # one slice (a batch too small to cut): its blocks on the CPU's threads instead,
        # their products added in order as one thread adds them (the same bits): the RGB
        # first layer at batch 32 (4 blocks) 1.04 -> 0.89 ms a step at two threads
        for part in _parallel.run(block, range(0, rows, step)):
            acc += part
        return acc

    def describe(self) -> str:
        act = ", relu" if self.relu else ""
        return (f"Conv2D(strides={self.strides}, dilation={self.dilation}, "
                f"pads={self.pads}{act})")


def conv2d(x: Any, kernel: Any, bias: Any = None, strides: int | Sequence[int] = 1,
           padding: str = "valid", dilation_rate: int | Sequence[int] = 1) -> Tensor:
    """Functional 2-D convolution, channels-last, Keras padding semantics.

    Args:
        x: (N, H, W, C). kernel: (kh, kw, C, F). bias: (F,) or None.
        strides, dilation_rate: int or pair. padding: 'valid' or 'same'.

    Example:
        >>> conv2d(np.ones((1, 5, 5, 1), "float32"), np.ones((3, 3, 1, 2), "float32")).shape
        (1, 3, 3, 2)
    """
    s = normalize_tuple(strides, 2, "strides", "conv2d")
    d = normalize_tuple(dilation_rate, 2, "dilation_rate", "conv2d")
    p = normalize_padding(padding, "conv2d")
    shape_x, shape_w = tuple(x.shape), tuple(kernel.shape)
    if len(shape_x) != 4 or len(shape_w) != 4:
        raise ValueError(
            f"conv2d: expects x of rank 4 and kernel of rank 4. Received: input shape "
            f"{shape_x}, kernel shape {shape_w}"
        )
    pads = ((0, 0), (0, 0))
    if p == "same":
        pads = (same_pads(shape_x[1], shape_w[0], s[0], d[0]),
                same_pads(shape_x[2], shape_w[1], s[1], d[1]))
    fn = Conv2DKernel(s, d, pads)
    return fn(x, kernel) if bias is None else fn(x, kernel, bias)


# the transposed kernel is built from the helpers above: imported last, re-exported here
from ._conv_transpose import (  # noqa: E402
    Conv2DTransposeKernel,
    conv2d_transpose,
    transpose_kernel,
)
