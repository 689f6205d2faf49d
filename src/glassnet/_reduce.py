"""Reductions and per-channel broadcasts that small and channels-last arrays pay for in
NumPy, routed through BLAS or longer inner loops: row sums as a GEMV with a ones vector,
row extremes vectorized per column, a per-channel vector tiled along long rows. Part of
:mod:`glassnet.backend`, which re-exports every public name here; a routine that is asked
once per shape (``sum_rows_for``, ``sum_kept_for``) does its checks then, not per call.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from .backend import _MKL_MIN_WORK, _dot, matmul, rsum

if TYPE_CHECKING:
    from collections.abc import Callable

_ONES: dict[tuple[int, int, str], np.ndarray] = {}  # (rows, cols, dtype char) -> ones


def _ones(shape: tuple[int, int], dtype: Any) -> np.ndarray:
    """A cached ones row (1, m) or column (c, 1) of ``dtype`` (a few shapes at a time)."""
    key = (*shape, np.dtype(dtype).char)
    ones = _ONES.get(key)
    if ones is None:
        if len(_ONES) > 128:  # drop the oldest
            _ONES.pop(next(iter(_ONES)))
        ones = _ONES[key] = np.ones(shape, dtype)
    return ones


class _RowSum:
    """``a.sum(axis=0)`` for C-contiguous (m, n) arrays of one dtype: ``np.dot`` of a ones
    row, called without :func:`sum_rows`' checks (:func:`sum_rows_for`)."""

    __slots__ = ("ones", "n")

    def __init__(self, m: int, n: int, dtype: Any) -> None:
        self.ones, self.n = _ones((1, m), dtype), n

    def __call__(self, a: Any, out: Any = None) -> Any:
        if out is None:
            return _dot(self.ones, a).reshape(self.n)
        try:  # np.dot takes only a C-contiguous `out` of the product's own dtype
            _dot(self.ones, a, out.reshape(1, self.n))
        except ValueError:
            out[...] = _dot(self.ones, a).reshape(self.n)
        return out


def sum_rows_for(m: int, n: int, dtype: Any) -> Callable[..., Any]:
    """The routine :func:`sum_rows` would use for C-contiguous (m, n) NumPy arrays of
    ``dtype``, called as ``f(a, out=None)``, without its per-call checks. An op that sums
    arrays of one shape every step (``Linear``'s bias gradient) asks once.

    Example:
        >>> sum_rows_for(16, 8, np.float32)(np.ones((16, 8), "float32"))[:2]
        array([16., 16.], dtype=float32)
    """
    if 0 < m * n < _MKL_MIN_WORK and np.dtype(dtype).char in "fd":
        return _RowSum(m, n, dtype)
    return sum_rows


def sum_rows(a: Any, out: Any = None) -> Any:
    """``a.sum(axis=0)`` of a 2-D array (a bias gradient, a per-channel statistic), as a
    matrix-vector product with a ones vector: BLAS streams the rows once, where NumPy's
    reduction along the first axis adds short rows one at a time. One thread, 2-vCPU Xeon:
    (28800, 16) float32 in 35 us against 1.1 ms, (1024, 512) 36 us against 223 us, (32, 64)
    0.31 us against 1.21 us, (16, 8) 0.29 us against 0.84 us (``np.dot`` called directly: no
    dispatch in between). Summation order differs from NumPy's pairwise sum (float32 error
    of the same order: sqrt(n) ulp, not n); it is fixed per shape, so a seeded run repeats its bits.

    Args:
        a: (m, n) array. out: optional C-contiguous (n,) array of ``a``'s dtype for the sum.

    Returns: the (n,) sums (``out`` when given).

    Example:
        >>> sum_rows(np.ones((4, 2), "float32"))
        array([4., 4.], dtype=float32)
    """
    if type(a) is not np.ndarray or a.ndim != 2 or a.dtype.char not in "fd" or not a.size:
        return rsum(a, axis=0, out=out)
    if a.size < _MKL_MIN_WORK:
        return _RowSum(a.shape[0], a.shape[1], a.dtype)(a, out)
    ones = _ones((1, a.shape[0]), a.dtype)  # the GEMM chooser's size: MKL's GEMV
    if out is None:
        return matmul(ones, a).reshape(a.shape[1])
    matmul(ones, a, out=out.reshape(1, a.shape[1]))
    return out


def sum_last(a: Any) -> Any:
    """``a.sum(axis=-1, keepdims=True)``: each row's sum as a matrix-vector product with a
    ones vector (softmax's normalizer, a log-sum-exp). NumPy's reduction over a short last
    axis pays a loop set-up per row: one thread, 2-vCPU Xeon, (128, 10) float32 in 0.7 us
    against 2.7 us, (16, 3) 0.4 us against 0.8 us. Same summation order every call (a seeded
    run repeats its bits); float32 error of the same order as NumPy's.

    Example:
        >>> sum_last(np.ones((2, 3), "float32"))
        array([[3.],
               [3.]], dtype=float32)
    """
    if (type(a) is not np.ndarray or not a.ndim or a.dtype.char not in "fd" or not a.size
            or not a.flags.c_contiguous):
        return rsum(a, axis=-1, keepdims=True)
    c = a.shape[-1]
    ones = _ones((c, 1), a.dtype)
    if a.ndim == 2:
        return _dot(a, ones)
    return _dot(a.reshape(-1, c), ones).reshape(a.shape[:-1] + (1,))


def sum_kept_for(shape: tuple[int, ...], k: int, dtype: Any,
                 weight: float = 1.0) -> Callable[[Any], Any]:
    """A routine summing NumPy arrays of one ``shape`` and ``dtype`` over their ``k``
    leading axes (``k > 0``) or over the last axis (``k == 0``), keeping the summed axes as
    size 1: :func:`sum_leading` / :func:`sum_last` with their checks and look-ups done once
    (a normalisation layer sums arrays of one shape four times a step). With ``weight``
    each element counts ``weight`` times (``1 / count``: a mean, in the one GEMV).

    Example:
        >>> sum_kept_for((4, 3), 0, np.float32)(np.ones((4, 3), "float32")).shape
        (4, 1)
    """
    dt = np.dtype(dtype)
    n = math.prod(shape)
    if not n or dt.char not in "fd" or len(shape) < 2:
        w = dt.type(weight) if dt.char in "fd" else weight
        if k:
            kept = tuple(1 if i < k else d for i, d in enumerate(shape))
            if weight == 1.0:
                return lambda a: sum_leading(a, k).reshape(kept)
            return lambda a: sum_leading(a, k).reshape(kept) * w
        return sum_last if weight == 1.0 else lambda a: sum_last(a) * w
    if k:
        m = math.prod(shape[:k])
        ones = _ones((1, m), dt) if weight == 1.0 else np.full((1, m), weight, dt)
        kept = (1,) * k + tuple(shape[k:])
        mm = matmul if n >= _MKL_MIN_WORK else _dot
        if len(shape) == 2 and k == 1:
            return lambda a: mm(ones, a)
        return lambda a: mm(ones, a.reshape(m, -1)).reshape(kept)
    c = shape[-1]
    col = _ones((c, 1), dt) if weight == 1.0 else np.full((c, 1), weight, dt)
    if len(shape) == 2:
        return lambda a: _dot(a, col)
    kept = tuple(shape[:-1]) + (1,)
    return lambda a: _dot(a.reshape(-1, c), col).reshape(kept)


def max_last(a: Any) -> Any:
    """``a.max(axis=-1, keepdims=True)``: each row's maximum (softmax's shift). NumPy's
    reduction over a short last axis pays a loop set-up per row; for rows of at most 32
    elements the maximum over the first axis of the transposed copy is one vectorized pass
    per column instead: one thread, 2-vCPU Xeon, (128, 10) float32 in 1.6 us against 7.4 us,
    (32, 10) 1.2 against 2.4. The maximum is exact, so both give the same bits.

    Example:
        >>> max_last(np.array([[1.0, 3.0], [2.0, 0.0]], "float32"))
        array([[3.],
               [2.]], dtype=float32)
    """
    return _extreme_last(a, np.maximum)


def min_last(a: Any) -> Any:
    """``a.min(axis=-1, keepdims=True)``, as :func:`max_last`.

    Example:
        >>> min_last(np.array([[1.0, 3.0], [2.0, 0.0]], "float32"))
        array([[1.],
               [0.]], dtype=float32)
    """
    return _extreme_last(a, np.minimum)


def _extreme_last(a: Any, op: np.ufunc) -> Any:
    if type(a) is not np.ndarray:  # CuPy implements no ufunc.reduce for maximum/minimum
        return (a.max if op is np.maximum else a.min)(axis=-1, keepdims=True)
    if a.ndim < 2 or a.shape[-1] > 32 or not a.size or a.dtype.kind != "f":
        return op.reduce(a, axis=-1, keepdims=True)
    c = a.shape[-1]
    m = op.reduce(np.ascontiguousarray(a.reshape(-1, c).T), axis=0)
    return m.reshape(a.shape[:-1] + (1,))


def sum_leading(a: Any, k: int) -> Any:
    """``a.sum(axis=(0, ..., k-1))``: :func:`sum_rows` of ``a`` viewed as (rows, rest).

    Example:
        >>> sum_leading(np.ones((2, 3, 4), "float32"), 2).shape
        (4,)
    """
    if type(a) is np.ndarray and a.flags.c_contiguous and k and a.size:
        return sum_rows(a.reshape(math.prod(a.shape[:k]), -1)).reshape(a.shape[k:])
    return rsum(a, axis=tuple(range(k)))


def sum_axes(a: Any, ax: tuple[int, ...]) -> Any:
    """``a.sum(axis=ax)`` (non-negative axes), faster where the axes are not the last: a run
    of leading axes is :func:`sum_leading`; a run in the middle of a C-contiguous float
    array, viewed as (P, R, Q), is one batched product ``ones(1, R) @ a`` (a GEMV per
    leading index). NumPy's reduction over a middle axis adds row after row, slowly when
    rows are short (AMD EPYC, one thread, float32: GlobalAveragePooling1D's (256, 200, 16)
    760 -> 43 us; GAP2D's (128, 676, 32) 1,120 -> 130 us; (2, 3, 4) 0.9 -> 0.8 us). Other
    axes: NumPy's reduction.

    Example:
        >>> sum_axes(np.ones((2, 3, 4), "float32"), (1,)).shape
        (2, 4)
    """
    ax = tuple(sorted(ax))
    if (type(a) is np.ndarray and ax and ax[-1] - ax[0] == len(ax) - 1
            and ax[-1] < a.ndim - 1 and a.size and a.dtype.char in "fd"
            and a.flags.c_contiguous):
        if ax[0] == 0:
            return sum_leading(a, len(ax))
        lo, hi = ax[0], ax[-1] + 1
        p, r = math.prod(a.shape[:lo]), math.prod(a.shape[lo:hi])
        s = np.matmul(_ones((1, r), a.dtype), a.reshape(p, r, -1))
        return s.reshape(a.shape[:lo] + a.shape[hi:])
    return rsum(a, axis=ax)


def per_channel(op: Any, a: Any, v: Any, out: Any = None) -> Any:
    """``op(a, v)`` for a ``v`` that varies only along ``a``'s last axis (a bias, a
    per-channel mean or scale, shape (C,) or (1, ..., 1, C)).

    NumPy runs a broadcast like this one inner loop per row of C elements, overhead-bound
    for the few channels of conv features: (32, 28, 28, 16) float32 ``a - mean`` 259 us. A
    C-contiguous ``a`` is viewed here as rows of ``r`` whole channel vectors against ``v``
    tiled ``r`` times (178 us; the same operation on each element, the same bits).

    Args:
        op: a binary ufunc (``np.add``, ``np.subtract``, ``np.multiply``, ...).
        a: (..., C) array. v: C values. out: optional result array of ``a``'s shape.

    Example:
        >>> per_channel(np.add, np.zeros((4, 2), "float32"), np.array([1, 2], "float32"))
        array([[1., 2.],
               [1., 2.],
               [1., 2.],
               [1., 2.]], dtype=float32)
    """
    c = a.shape[-1] if a.ndim else 0
    if (type(a) is np.ndarray and type(v) is np.ndarray and v.size == c and 0 < c <= 256
            and v.shape[-1] == c
            and a.size >= 1 << 12 and a.flags.c_contiguous
            and (out is None or (type(out) is np.ndarray and out.flags.c_contiguous
                                 and out.shape == a.shape))):
        rows = a.size // c
        r = next(d for d in (64, 32, 16, 8, 4, 2, 1) if rows % d == 0)
        a2 = a.reshape(rows // r, r * c)
        vt = np.tile(v.reshape(c), r)
        if out is None:
            return op(a2, vt).reshape(a.shape)
        op(a2, vt, out=out.reshape(a2.shape))
        return out
    return op(a, v) if out is None else op(a, v, out=out)
