"""Keras 3's scatter, segment and block-rearranging ops: ``keras.ops.scatter``,
``scatter_update``, ``segment_sum``/``max``/``min``/``prod``, ``in_top_k``,
``depth_to_space``, ``space_to_depth``, and ``unfold``/``fold`` (im2col and col2im).

The scatters and segment reductions are one op each with their gradient (a gather of the
output's gradient, the extremes' positions, or the product of a segment's other rows);
the block moves are a reshape and a transpose, so autograd differentiates them. Part of
:mod:`glassnet.keras_ops`.

Example:
    >>> segment_sum(np.array([1.0, 2.0, 3.0]), np.array([0, 0, 1])).data.tolist()
    [3.0, 3.0]
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

import numpy as np

from . import backend
from . import ops as P
from ._keras_ops_array import _const, _d, _t
from .autograd import Function

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ._typing import TensorLike
    from .tensor import Tensor

__all__: list[str] = ["scatter", "scatter_update", "segment_sum", "segment_max", "segment_min",
                      "segment_prod", "in_top_k", "depth_to_space", "space_to_depth",
                      "unfold", "fold"]


def _index_rows(indices: TensorLike, shape: Sequence[int], name: str) -> tuple[Any, ...]:
    """(N, k) integer coordinates into the first k axes of ``shape``, as k index arrays."""
    idx = np.asarray(backend.asnumpy(_d(indices)))
    if idx.dtype.kind not in "iu" or idx.ndim != 2 or not 1 <= idx.shape[1] <= len(shape):
        raise ValueError(f"{name}: indices must be an (N, k) integer array with k <= "
                         f"{len(shape)} (the output's rank). Received: {idx.dtype} "
                         f"{idx.shape}")
    for a in range(idx.shape[1]):
        if idx.size and (idx[:, a].min() < -shape[a] or idx[:, a].max() >= shape[a]):
            raise ValueError(f"{name}: an index on axis {a} is out of range for size "
                             f"{shape[a]}")
    return tuple(idx[:, a] for a in range(idx.shape[1]))


class _Scatter(Function):
    """``base`` with ``values`` added (``add``) or written at the index rows ``at``."""

    def __init__(self, at: tuple[Any, ...], add: bool) -> None:
        self.at, self.add = at, add

    def forward(self, base: Any, values: Any) -> Any:
        xp = backend.get_array_module(base)
        out = base.astype(np.result_type(base.dtype, values.dtype), copy=True)
        at = tuple(xp.asarray(a) for a in self.at)
        if self.add:  # duplicates accumulate, as Keras's scatter sums them
            xp.add.at(out, at, values)
        else:
            out[at] = values
        self.xp_at = at
        return out

    def backward(self, gy: Any) -> Any:
        at = self.xp_at
        gbase = gy
        if not self.add:  # overwritten entries got nothing from the base
            gbase = gy.copy()
            gbase[at] = 0
        return gbase, gy[at]


def scatter(indices: TensorLike, values: TensorLike, shape: Sequence[int]) -> Tensor:
    """A zero tensor of ``shape`` with ``values`` (N, *shape[k:]) added at the N rows of
    ``indices`` (N, k); repeated indices add up.

    Example:
        >>> scatter(np.array([[0], [2], [0]]), np.array([1.0, 2.0, 3.0]), (3,)).data.tolist()
        [4.0, 0.0, 2.0]
    """
    v = _t(values)
    shape = tuple(int(s) for s in shape)
    at = _index_rows(indices, shape, "scatter")
    base = backend.get_array_module(v.data).zeros(shape, v.data.dtype)
    return _Scatter(at, True)(_const(base), v)


def scatter_update(inputs: TensorLike, indices: TensorLike, updates: TensorLike) -> Tensor:
    """``inputs`` with the entries at the rows of ``indices`` (N, k) replaced by
    ``updates`` (N, *inputs.shape[k:]).

    Example:
        >>> scatter_update(np.zeros(3), np.array([[1]]), np.array([5.0])).data.tolist()
        [0.0, 5.0, 0.0]
    """
    x, u = _t(inputs), _t(updates)
    return _Scatter(_index_rows(indices, tuple(x.shape), "scatter_update"), False)(x, u)


class _SegmentReduce(Function):
    """Sums, maxima, minima or products of ``data``'s rows grouped by ``ids`` into ``n``
    segments (rows with an id outside [0, n) are left out, as TensorFlow and JAX drop
    them)."""

    def __init__(self, ids: Any, n: int, mode: str) -> None:
        self.ids, self.n, self.mode = ids, n, mode

    def forward(self, x: Any) -> Any:
        xp = backend.get_array_module(x)
        ids = xp.asarray(self.ids)
        keep = (ids >= 0) & (ids < self.n)
        self.rows, self.seg = xp.nonzero(keep)[0], ids[keep]
        out_shape = (self.n,) + x.shape[1:]
        if self.mode == "sum":
            out = xp.zeros(out_shape, x.dtype)
            xp.add.at(out, self.seg, x[self.rows])
            return out
        self.x = x
        if self.mode == "prod":  # an empty segment holds 1
            out = xp.ones(out_shape, x.dtype)
            xp.multiply.at(out, self.seg, x[self.rows])
            return out
        # an empty segment holds -inf for a maximum, +inf for a minimum (Keras's JAX and
        # PyTorch backends), or for integers the dtype's lowest or highest value
        big = np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).max
        low = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
        out = xp.full(out_shape, low if self.mode == "max" else big, x.dtype)
        (xp.maximum if self.mode == "max" else xp.minimum).at(out, self.seg, x[self.rows])
        self.out = out
        return out

    def backward(self, gy: Any) -> Any:
        xp = backend.get_array_module(gy)
        gx = xp.zeros(((len(self.ids),) + gy.shape[1:]), gy.dtype)
        if self.mode == "sum":
            gx[self.rows] = gy[self.seg]
            return gx
        if self.mode == "prod":
            # d(prod)/dx_r = the product of the segment's other rows: the product of its
            # nonzero rows over x_r where x_r is nonzero and the segment has no zero, that
            # product itself at a segment's only zero, 0 where a segment has two zeros
            xr = self.x[self.rows]
            zero = xr == 0
            zeros = xp.zeros(gy.shape, gy.dtype)
            xp.add.at(zeros, self.seg, zero.astype(gy.dtype))
            pnz = xp.ones(gy.shape, self.x.dtype)
            xp.multiply.at(pnz, self.seg, xp.where(zero, 1, xr))
            z, p = zeros[self.seg], pnz[self.seg]
            other = xp.where(zero, (z == 1) * p, (z == 0) * p / xp.where(zero, 1, xr))
            gx[self.rows] = other * gy[self.seg]
            return gx
        # each extreme's gradient, shared among the rows that reach it
        hit = self.x[self.rows] == self.out[self.seg]
        count = xp.zeros(self.out.shape, gy.dtype)
        xp.add.at(count, self.seg, hit.astype(gy.dtype))
        gx[self.rows] = hit * gy[self.seg] / xp.maximum(count[self.seg], 1)
        return gx


def _segment(name: str, mode: str, data: TensorLike, segment_ids: TensorLike,
             num_segments: int | None) -> Tensor:
    x = _t(data)
    ids = np.asarray(backend.asnumpy(_d(segment_ids)))
    if ids.dtype.kind not in "iu" or ids.ndim != 1 or x.ndim == 0 or len(ids) != x.shape[0]:
        raise ValueError(f"{name}: segment_ids must be a 1-D integer array, one id per row "
                         f"of data. Received: {ids.dtype} {ids.shape} for data shape "
                         f"{tuple(x.shape)}")
    n = int(ids.max()) + 1 if num_segments is None and ids.size else int(num_segments or 0)
    return _SegmentReduce(ids, n, mode)(x)


def segment_sum(data: TensorLike, segment_ids: TensorLike, num_segments: int | None = None,
                sorted: bool = False) -> Tensor:
    """The sum of ``data``'s rows in each segment: (num_segments, *data.shape[1:]);
    ``num_segments`` defaults to the largest id + 1 (``sorted`` is a hint only).

    Example:
        >>> segment_sum(np.ones((3, 2)), np.array([1, 1, 0]), 3).data.tolist()
        [[1.0, 1.0], [2.0, 2.0], [0.0, 0.0]]
    """
    return _segment("segment_sum", "sum", data, segment_ids, num_segments)


def segment_max(data: TensorLike, segment_ids: TensorLike, num_segments: int | None = None,
                sorted: bool = False) -> Tensor:
    """The maximum of ``data``'s rows in each segment (an empty one holds -inf); the
    gradient goes to the rows that reach it.

    Example:
        >>> segment_max(np.array([1.0, 5.0, 3.0]), np.array([0, 0, 1])).data.tolist()
        [5.0, 3.0]
    """
    return _segment("segment_max", "max", data, segment_ids, num_segments)


def segment_min(data: TensorLike, segment_ids: TensorLike, num_segments: int | None = None,
                sorted: bool = False) -> Tensor:
    """The minimum of ``data``'s rows in each segment (an empty one holds +inf); the
    gradient goes to the rows that reach it.

    Example:
        >>> segment_min(np.array([1.0, 5.0, 3.0]), np.array([0, 0, 1])).data.tolist()
        [1.0, 3.0]
    """
    return _segment("segment_min", "min", data, segment_ids, num_segments)


def segment_prod(data: TensorLike, segment_ids: TensorLike,
                 num_segments: int | None = None, sorted: bool = False) -> Tensor:
    """The product of ``data``'s rows in each segment (an empty one holds 1); each row's
    gradient is the product of its segment's other rows (zeros included).

    Example:
        >>> segment_prod(np.array([2.0, 5.0, 3.0]), np.array([0, 0, 1])).data.tolist()
        [10.0, 3.0]
    """
    return _segment("segment_prod", "prod", data, segment_ids, num_segments)


def in_top_k(targets: TensorLike, predictions: TensorLike, k: int) -> Tensor:
    """Whether each row's target class is among its ``k`` largest predictions (ties with
    the k-th count in, as TensorFlow's); a bool tensor (N,).

    Example:
        >>> in_top_k(np.array([1, 0]), np.array([[0.1, 0.9], [0.2, 0.8]]), 1).data.tolist()
        [True, False]
    """
    t = np.asarray(backend.asnumpy(_d(targets)))
    p = np.asarray(backend.asnumpy(_d(predictions)))
    if p.ndim != 2 or t.shape != (p.shape[0],):
        raise ValueError(f"in_top_k: predictions must be (N, classes) and targets (N,). "
                         f"Received: {p.shape} and {t.shape}")
    own = p[np.arange(len(t)), t]
    return _const(np.sum(p > own[:, None], axis=1) < k)


def _blocks(x: Tensor, block_size: int, data_format: str | None, name: str) -> int:
    if x.ndim != 4:
        raise ValueError(f"{name}: x must have rank 4 (batch, height, width, channels). "
                         f"Received: shape {tuple(x.shape)}")
    if data_format not in (None, "channels_last", "channels_first"):
        raise ValueError(f"{name}: data_format must be 'channels_last' or 'channels_first'. "
                         f"Received: {data_format!r}")
    if isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer)) \
            or block_size < 2:
        raise ValueError(f"{name}: block_size must be an int >= 2. Received: {block_size!r}")
    return int(block_size)


def depth_to_space(x: TensorLike, block_size: int, data_format: str | None = None
                   ) -> Tensor:
    """Channels moved into ``block_size`` x ``block_size`` spatial blocks (TensorFlow's
    order): (N, H, W, C·b²) → (N, H·b, W·b, C); the sub-pixel upsampling of keras.io's
    super-resolution example.

    Example:
        >>> depth_to_space(np.arange(4.0).reshape(1, 1, 1, 4), 2).data[0, :, :, 0].tolist()
        [[0.0, 1.0], [2.0, 3.0]]
    """
    x = _t(x)
    b = _blocks(x, block_size, data_format, "depth_to_space")
    first = data_format == "channels_first"
    n, h, w, c = (x.shape[0], *x.shape[2:], x.shape[1]) if first else x.shape
    if c % (b * b):
        raise ValueError(f"depth_to_space: the channels ({c}) must be a multiple of "
                         f"block_size² ({b * b})")
    k = c // (b * b)
    if first:  # channel c·b² + i·b + j (PyTorch's pixel shuffle, as Keras's JAX and PyTorch
        # backends order channels first)
        y = P.transpose(P.reshape(x, (n, k, b, b, h, w)), (0, 1, 4, 2, 5, 3))
        return P.reshape(y, (n, k, h * b, w * b))
    y = P.reshape(x, (n, h, w, b, b, k))  # channel (i·b + j)·C + c (TensorFlow's)
    return P.reshape(P.transpose(y, (0, 1, 3, 2, 4, 5)), (n, h * b, w * b, k))


def space_to_depth(x: TensorLike, block_size: int, data_format: str | None = None
                   ) -> Tensor:
    """The inverse of :func:`depth_to_space`: (N, H·b, W·b, C) → (N, H, W, C·b²).

    Example:
        >>> space_to_depth(np.arange(4.0).reshape(1, 2, 2, 1), 2).data.ravel().tolist()
        [0.0, 1.0, 2.0, 3.0]
    """
    x = _t(x)
    b = _blocks(x, block_size, data_format, "space_to_depth")
    first = data_format == "channels_first"
    n, h, w, c = (x.shape[0], *x.shape[2:], x.shape[1]) if first else x.shape
    if h % b or w % b:
        raise ValueError(f"space_to_depth: height and width ({h}, {w}) must be multiples "
                         f"of block_size ({b})")
    if first:
        y = P.transpose(P.reshape(x, (n, c, h // b, b, w // b, b)), (0, 1, 3, 5, 2, 4))
        return P.reshape(y, (n, c * b * b, h // b, w // b))
    y = P.reshape(x, (n, h // b, b, w // b, b, c))
    return P.reshape(P.transpose(y, (0, 1, 3, 2, 4, 5)), (n, h // b, w // b, b * b * c))


def _pair(v: Any, name: str, op: str) -> tuple[int, int]:
    t = (v, v) if isinstance(v, int) else tuple(v)
    if len(t) != 2 or not all(isinstance(i, (int, np.integer)) for i in t):
        raise ValueError(f"{op}: {name} must be an int or a pair of ints. Received: {v!r}")
    return int(t[0]), int(t[1])


def _patch_grid(h: int, w: int, kernel_size: Any, dilation: Any, padding: Any, stride: Any,
                op: str) -> tuple[Any, Any, int, tuple[int, int]]:
    """Rows and columns, in the zero-padded image, of each kernel position (kh·kw rows)
    at each patch (L columns, row by row): (rows, cols, L, padding)."""
    (kh, kw), (dh, dw) = _pair(kernel_size, "kernel_size", op), _pair(dilation, "dilation", op)
    (ph, pw), (sh, sw) = _pair(padding, "padding", op), _pair(stride, "stride", op)
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    if min(kh, kw, dh, dw, sh, sw) < 1 or min(ph, pw) < 0 or oh < 1 or ow < 1:
        raise ValueError(f"{op}: no patch fits: image {(h, w)}, kernel_size {(kh, kw)}, "
                         f"dilation {(dh, dw)}, padding {(ph, pw)}, stride {(sh, sw)}")
    ki, kj = np.divmod(np.arange(kh * kw), kw)
    pi, pj = np.divmod(np.arange(oh * ow), ow)
    rows = (pi * sh)[None, :] + (ki * dh)[:, None]
    cols = (pj * sw)[None, :] + (kj * dw)[:, None]
    from ._tape import constant_array  # the grid depends on shapes alone: replayable

    return constant_array(rows), constant_array(cols), oh * ow, (ph, pw)


def unfold(x: TensorLike, kernel_size: Any, dilation: Any = 1, padding: Any = 0,
           stride: Any = 1) -> Tensor:
    """Sliding blocks of a channels-first batch (im2col, keras.ops.unfold as PyTorch's):
    (N, C, H, W) → (N, C·kH·kW, L), L patches row by row, each column one patch's
    values channel by channel. Differentiable (the gradient is :func:`fold`'s sum).

    Example:
        >>> unfold(np.ones((1, 2, 4, 4)), kernel_size=2, stride=2).shape
        (1, 8, 4)
    """
    t = _t(x)
    if t.ndim != 4:
        raise ValueError(f"unfold: x must be (N, C, H, W). Received: shape {tuple(t.shape)}")
    n, c, h, w = t.shape
    rows, cols, length, (ph, pw) = _patch_grid(h, w, kernel_size, dilation, padding, stride,
                                               "unfold")
    if ph or pw:
        t = P.pad(t, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    blocks = P.getitem(t, (builtins.slice(None), builtins.slice(None), rows, cols))
    return P.reshape(blocks, (n, c * rows.shape[0], length))


class _Fold(Function):
    """The sum of blocks back into an image (col2im): :func:`unfold`'s adjoint."""

    replay_config = True  # its grid depends on shapes alone

    def __init__(self, rows: Any, cols: Any, shape: tuple[int, ...], pad: tuple[int, int]
                 ) -> None:
        self.rows, self.cols, self.shape, self.pad = rows, cols, shape, pad

    def forward(self, x: Any) -> Any:
        xp = backend.get_array_module(x)
        n, c, oh, ow = self.shape
        (ph, pw), k = self.pad, self.rows.shape[0]
        out = xp.zeros((n, c, oh + 2 * ph, ow + 2 * pw), x.dtype)
        xp.add.at(out, (builtins.slice(None), builtins.slice(None), self.rows, self.cols),
                  x.reshape(n, c, k, -1))
        return out[:, :, ph:ph + oh, pw:pw + ow]

    def backward(self, gy: Any) -> Any:
        xp = backend.get_array_module(gy)
        (ph, pw), n = self.pad, self.shape[0]
        g = xp.pad(gy, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else gy
        return g[:, :, self.rows, self.cols].reshape(n, -1, self.rows.shape[1])


def fold(x: TensorLike, output_size: Any, kernel_size: Any, dilation: Any = 1,
         padding: Any = 0, stride: Any = 1) -> Tensor:
    """Blocks summed back into a channels-first batch (col2im, keras.ops.fold as
    PyTorch's): (N, C·kH·kW, L) → (N, C, oH, oW), overlapping values added. Differentiable
    (the gradient is :func:`unfold` of the output's).

    Example:
        >>> fold(np.ones((1, 4, 9)), (4, 4), kernel_size=2).data[0, 0].tolist()[1]
        [2.0, 4.0, 4.0, 2.0]
    """
    t = _t(x)
    oh, ow = _pair(output_size, "output_size", "fold")
    rows, cols, length, pad = _patch_grid(oh, ow, kernel_size, dilation, padding, stride,
                                          "fold")
    k = rows.shape[0]
    if t.ndim != 3 or t.shape[1] % k or t.shape[2] != length:
        raise ValueError(f"fold: x must be (N, C*{k}, {length}) for kernel_size "
                         f"{kernel_size!r} and output_size {(oh, ow)}. Received: shape "
                         f"{tuple(t.shape)}")
    return _Fold(rows, cols, (t.shape[0], t.shape[1] // k, oh, ow), pad)(t)
