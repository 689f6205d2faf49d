"""Primitive ops: one ``Function`` class each, ``forward`` and ``backward`` side by side.

Backward works on raw arrays, receives ``gy`` and returns ``gx`` (one per input). It may
return a gradient in the output's broadcast shape: the engine un-broadcasts and sums
fan-out (see ``autograd.backward``). Everything not here is composed from these in
``functional.py``.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from . import _epilogue, backend
from ._typing import Axis, TensorLike
from .autograd import Function, no_grad, off_rows, rows_aligned
from .backend import get_array_module
from .tensor import Tensor, as_tensor

_xp = get_array_module  # the name the kernels use (an alias: one call less per op)


def _check_broadcast(op: str, sa: tuple, sb: tuple) -> None:
    try:
        np.broadcast_shapes(sa, sb)
    except ValueError:
        raise ValueError(
            f"{op}: operand shapes do not broadcast. Received: shapes {sa} and {sb}"
        ) from None


class _Binary(Function):
    rowwise = True

    def __call__(self, a: Any, b: Any) -> Any:
        # Tensors and arrays both have .shape; Python numbers broadcast with anything
        sa, sb = getattr(a, "shape", ()), getattr(b, "shape", ())
        if sa != sb:
            _check_broadcast(self.name, sa, sb)
        return super().__call__(a, b)


# ------------------------------------------------------------------ arithmetic
class Add(_Binary):
    def forward(self, a: Any, b: Any) -> Any:
        return a + b

    def backward(self, gy: Any) -> Any:
        return gy, gy


class Sub(_Binary):
    def forward(self, a: Any, b: Any) -> Any:
        return a - b

    def backward(self, gy: Any) -> Any:
        return gy, (-gy if self.needs_input_grad[1] else None)


class Mul(_Binary):
    def forward(self, a: Any, b: Any) -> Any:
        self.a, self.b = a, b
        return a * b

    def backward(self, gy: Any) -> Any:
        na, nb = self.needs_input_grad
        return (gy * self.b if na else None), (gy * self.a if nb else None)


class Div(_Binary):
    def forward(self, a: Any, b: Any) -> Any:
        self.a, self.b = a, b
        return a / b

    def backward(self, gy: Any) -> Any:
        gx = gy / self.b
        # a constant denominator (x / n) is common: skip its full-size gradient
        return gx, (-gx * self.a / self.b if self.needs_input_grad[1] else None)


class Pow(_Binary):
    """``a ** b``; the exponent's gradient uses log(a) and is defined for a > 0."""

    def forward(self, a: Any, b: Any) -> Any:
        self.a, self.b = a, b
        self.y = a**b
        return self.y

    def backward(self, gy: Any) -> Any:
        a, b = self.a, self.b
        ga = gy * b * a ** (b - 1) if self.needs_input_grad[0] else None
        gb = None
        if self.needs_input_grad[1]:
            xp = _xp(a)
            with np.errstate(divide="ignore", invalid="ignore"):
                gb = gy * self.y * xp.log(xp.where(a > 0, a, 1))
        return ga, gb


class PowScalar(Function):
    """``a ** p`` for a constant exponent (the common case, cheaper than ``Pow``)."""
    rowwise = True

    def __init__(self, p: float) -> None:
        self.p = p

    def forward(self, a: Any) -> Any:
        self.a = a
        return a**self.p

    def backward(self, gy: Any) -> Any:
        return gy * self.p * self.a ** (self.p - 1)

    def describe(self) -> str:
        return f"Pow(p={self.p})"


class Neg(Function):
    rowwise = True

    def forward(self, a: Any) -> Any:
        return -a

    def backward(self, gy: Any) -> Any:
        return -gy


class MatMul(Function):
    """``a @ b`` for 1-D, 2-D and batched operands (NumPy's matmul rules)."""

    gemm = True

    def forward(self, a: Any, b: Any) -> Any:
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(
                f"matmul: operands must be at least 1-D. Received: shapes {a.shape} and {b.shape}"
            )
        ka = a.shape[-1]
        kb = b.shape[-2] if b.ndim > 1 else b.shape[0]
        if ka != kb:
            raise ValueError(
                f"matmul: inner dimensions differ ({ka} vs {kb}). "
                f"Received: shapes {a.shape} and {b.shape}"
            )
        self.a, self.b = a, b
        return backend.matmul(a, b)  # the one GEMM chooser (2-D; NumPy's rules otherwise)

    def backward(self, gy: Any) -> Any:
        a, b = self.a, self.b
        xp = _xp(gy)
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = gy
        # restore the axes NumPy dropped for 1-D operands (b's first: for 1-D @ 1-D gy is 0-d)
        if b.ndim == 1:
            g2 = xp.expand_dims(g2, -1)
        if a.ndim == 1:
            g2 = xp.expand_dims(g2, -2)
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = backend.matmul(g2, xp.swapaxes(b2, -1, -2))
            if a.ndim == 1:
                ga = ga[..., 0, :]
        if self.needs_input_grad[1]:
            gb = backend.matmul(xp.swapaxes(a2, -1, -2), g2)
            if b.ndim == 1:
                gb = gb[..., 0]
        return ga, gb

    def rows_apart(self, shapes: list[tuple[int, ...]], batched: list[bool],
                   out: tuple[int, ...]) -> bool:
        (a, b), (ba, bb) = shapes, batched
        if ba and not bb and len(a) >= 2 and len(b) <= 2:  # (B, ..., k) @ (k, n)
            return True
        # stacked products whose stacks broadcast like an element-wise op's inputs
        return len(a) >= 3 and len(b) >= 3 and rows_aligned(shapes, batched, out)


# ------------------------------------------------------------------ elementwise
class Exp(Function):
    rowwise = True

    def forward(self, a: Any) -> Any:
        self.y = _xp(a).exp(a)
        return self.y

    def backward(self, gy: Any) -> Any:
        return gy * self.y


class Log(Function):
    rowwise = True

    def forward(self, a: Any) -> Any:
        self.a = a
        return _xp(a).log(a)

    def backward(self, gy: Any) -> Any:
        return gy / self.a


class Sqrt(Function):
    rowwise = True

    def forward(self, a: Any) -> Any:
        self.y = _xp(a).sqrt(a)
        return self.y

    def backward(self, gy: Any) -> Any:
        return gy * 0.5 / self.y


class Abs(Function):
    """|a|; the subgradient at 0 is 0 (as NumPy's sign)."""
    rowwise = True

    def forward(self, a: Any) -> Any:
        self.a = a
        return _xp(a).abs(a)

    def backward(self, gy: Any) -> Any:
        return gy * _xp(gy).sign(self.a)


class Sign(Function):
    """sign(a); its derivative is zero everywhere it exists."""
    rowwise = True

    def forward(self, a: Any) -> Any:
        self.a = a
        return _xp(a).sign(a)

    def backward(self, gy: Any) -> Any:
        return _xp(gy).zeros_like(self.a)


class Tanh(Function):
    rowwise = True

    def forward(self, a: Any) -> Any:
        self.y = _xp(a).tanh(a)
        return self.y

    def backward(self, gy: Any) -> Any:
        return gy * (1 - self.y * self.y)


class Sigmoid(Function):
    """Logistic 1/(1+e^-a), evaluated without overflow for large |a|."""
    rowwise = True

    def forward(self, a: Any) -> Any:
        xp = _xp(a)
        # tanh form is stable in both tails and one ufunc pass cheaper than a where()
        self.y = 0.5 * (xp.tanh(0.5 * a) + 1)
        return self.y

    def backward(self, gy: Any) -> Any:
        return gy * self.y * (1 - self.y)


class Relu(Function):
    rowwise = True

    def forward(self, a: Any) -> Any:
        self.mask = _epilogue.relu_mask(a)
        return a * self.mask

    def backward(self, gy: Any) -> Any:
        return gy * self.mask


class Maximum(_Binary):
    """Elementwise max; ties send the gradient half to each side."""

    def forward(self, a: Any, b: Any) -> Any:
        self.a, self.b = a, b
        return _xp(a).maximum(a, b)

    def backward(self, gy: Any) -> Any:
        a, b = self.a, self.b
        wa = (a > b) + 0.5 * (a == b)
        wa = wa.astype(gy.dtype)
        return gy * wa, gy * (1 - wa)


class Minimum(_Binary):
    def forward(self, a: Any, b: Any) -> Any:
        self.a, self.b = a, b
        return _xp(a).minimum(a, b)

    def backward(self, gy: Any) -> Any:
        a, b = self.a, self.b
        wa = ((a < b) + 0.5 * (a == b)).astype(gy.dtype)
        return gy * wa, gy * (1 - wa)


class Clip(Function):
    """clip(a, lo, hi); gradient passes where lo <= a <= hi."""
    rowwise = True

    def __init__(self, lo: float | None, hi: float | None) -> None:
        self.lo, self.hi = lo, hi

    def forward(self, a: Any) -> Any:
        self.a = a
        return _xp(a).clip(a, self.lo, self.hi)

    def backward(self, gy: Any) -> Any:
        a = self.a
        m = True
        if self.lo is not None:
            m = a >= self.lo
        if self.hi is not None:
            m = m & (a <= self.hi)
        return gy * m

    def describe(self) -> str:
        return f"Clip({self.lo}, {self.hi})"


class Where(Function):
    """where(cond, a, b) with a constant boolean condition."""
    rowwise = True

    def __init__(self, cond: Any) -> None:
        self.cond = cond

    def forward(self, a: Any, b: Any) -> Any:
        return _xp(a).where(self.cond, a, b)

    def backward(self, gy: Any) -> Any:
        z = _xp(gy).zeros((), dtype=gy.dtype)
        return _xp(gy).where(self.cond, gy, z), _xp(gy).where(self.cond, z, gy)


class Cast(Function):
    rowwise = True

    def __init__(self, dtype: DTypeLike) -> None:
        self.dtype = np.dtype(dtype)

    def forward(self, a: Any) -> Any:
        self.src = a.dtype
        return a.astype(self.dtype)

    def backward(self, gy: Any) -> Any:
        return gy.astype(self.src)

    def describe(self) -> str:
        return f"Cast({self.dtype})"


# ------------------------------------------------------------------ reductions
def _norm_axis(axis: Any, ndim: int, op: str = "reduce") -> tuple[int, ...] | None:
    if axis is None:
        return None
    axes = tuple(int(a) for a in axis) if isinstance(axis, (list, tuple)) else (int(axis),)
    if not ndim:
        return ()
    for a in axes:
        if not -ndim <= a < ndim:  # `% ndim` alone would silently wrap axis=5 onto axis 1
            raise ValueError(
                f"{op}: axis {a} is out of bounds for a {ndim}-D input. Received: axis={axis!r}"
            )
    return tuple(a % ndim for a in axes)


def _keep_shape(shape: tuple, axis: tuple[int, ...] | None) -> tuple:
    if axis is None:
        return (1,) * len(shape)
    return tuple(1 if i in axis else s for i, s in enumerate(shape))


_SMALL = 4096  # elements; below this a filled copy is cheaper than a broadcast view


def _expand(g: Any, shape: tuple) -> Any:
    """``g`` broadcast to ``shape``: a view when large, a filled array when small.

    ``np.broadcast_to`` spends ~5 µs in its Python wrapper, more than filling a small array.
    """
    if math.prod(shape) <= _SMALL:
        out = _xp(g).empty(shape, dtype=g.dtype)
        out[...] = g
        return out
    return _xp(g).broadcast_to(g, shape)


def _last_axis(a: Any, ax: Any) -> bool:
    """Whether a sum over ``ax`` is one over the last axis of a float NumPy array of rows:
    then :func:`backend.sum_last` (a matrix-vector product) does it. NumPy's reduction pays
    a loop set-up per row: a Keras-style loss's mean over 3 colour channels of a (32, 32,
    32, 3) image batch took 464 us, 25 us this way (2-vCPU Xeon, one thread); (128, 784)
    23 -> 7 us. The summation order is BLAS's, not NumPy's pairwise one: a row's sum can
    differ from NumPy's in the last bit (the same order every call, so seeded runs repeat)."""
    return (type(a) is np.ndarray and a.ndim >= 2 and ax == (a.ndim - 1,)
            and a.dtype.char in "fd" and a.size > 0)


class Sum(Function):
    rowwise = "axis"  # each row reduced or normalised alone (axis off 0)

    def __init__(self, axis: Axis = None, keepdims: bool = False) -> None:
        self.axis, self.keepdims = axis, keepdims

    def forward(self, a: Any) -> Any:
        self.shape = a.shape
        self.ax = _norm_axis(self.axis, a.ndim, self.name)
        if _last_axis(a, self.ax):
            s = backend.sum_last(a)
            return s if self.keepdims else s.reshape(a.shape[:-1])
        if self.ax is not None:
            s = backend.sum_axes(a, self.ax)
            return s.reshape(_keep_shape(a.shape, self.ax)) if self.keepdims else s
        return a.sum(axis=self.ax, keepdims=self.keepdims)

    def backward(self, gy: Any) -> Any:
        if not self.keepdims:
            gy = gy.reshape(_keep_shape(self.shape, self.ax))
        return _expand(gy, self.shape)

    def describe(self) -> str:
        return f"Sum(axis={self.axis})" if self.axis is not None else "Sum"


class Mean(Function):
    rowwise = "axis"  # each row reduced or normalised alone (axis off 0)

    def __init__(self, axis: Axis = None, keepdims: bool = False) -> None:
        self.axis, self.keepdims = axis, keepdims

    def forward(self, a: Any) -> Any:
        self.shape = a.shape
        self.ax = _norm_axis(self.axis, a.ndim, self.name)
        n = a.size if self.ax is None else math.prod([a.shape[i] for i in self.ax])
        self.n = builtins.max(n, 1)
        if _last_axis(a, self.ax):
            s = backend.sum_last(a)
            s /= n  # np.mean's own division of the sum, in the array's dtype
            return s if self.keepdims else s.reshape(a.shape[:-1])
        if self.ax is not None and a.dtype.char in "fd":
            s = backend.sum_axes(a, self.ax)
            s = s / a.dtype.type(n)  # np.mean's division, in the array's dtype
            return s.reshape(_keep_shape(a.shape, self.ax)) if self.keepdims else s
        return a.mean(axis=self.ax, keepdims=self.keepdims)

    def backward(self, gy: Any) -> Any:
        if not self.keepdims:
            gy = gy.reshape(_keep_shape(self.shape, self.ax))
        return _expand(gy / self.n, self.shape)

    def describe(self) -> str:
        return f"Mean(axis={self.axis})" if self.axis is not None else "Mean"


class _Extreme(Function):
    """max/min over axes; ties share the gradient equally."""

    rowwise = "axis"  # each row reduced or normalised alone (axis off 0)

    fn = "max"

    def __init__(self, axis: Axis = None, keepdims: bool = False) -> None:
        self.axis, self.keepdims = axis, keepdims

    def forward(self, a: Any) -> Any:
        if a.size == 0:
            raise ValueError(f"{self.fn}: cannot reduce an empty tensor. Received: shape {a.shape}")
        self.a = a
        self.ax = _norm_axis(self.axis, a.ndim, self.name)
        # over the last axis (a hinge's max over classes): the row reduction of backend
        self.last = self.ax == (a.ndim - 1,) and a.ndim > 1
        if self.last:
            self.y = (backend.max_last if self.fn == "max" else backend.min_last)(a)
        else:
            self.y = getattr(a, self.fn)(axis=self.ax, keepdims=True)
        return self.y if self.keepdims else self.y.reshape(
            [s for i, s in enumerate(a.shape) if self.ax is not None and i not in self.ax]
        )

    def backward(self, gy: Any) -> Any:
        gy = gy.reshape(self.y.shape)
        xp = _xp(gy)
        # the ties as 0/1 in gy's dtype, written by the comparison itself: no bool array, no
        # mixed-type sum or multiply (GlobalMaxPooling1D's backward on (128, 100, 64): five
        # passes 1.32 ms, three with a bool mask 1.12 ms, this 0.92 ms; the same bits)
        hit = xp.empty(self.a.shape, dtype=gy.dtype)
        xp.equal(self.a, self.y, out=hit)
        if self.last:
            cnt = backend.sum_last(hit)
        else:
            cnt = hit.sum(axis=self.ax, keepdims=True)
        # each tied element's share, gy / count, rounded once
        hit *= gy / cnt
        return hit

    def describe(self) -> str:
        return f"{self.fn.capitalize()}(axis={self.axis})"


class Max(_Extreme):
    fn = "max"


class Min(_Extreme):
    fn = "min"


# ------------------------------------------------------------------ shapes
class Reshape(Function):
    def __init__(self, shape: Sequence[int]) -> None:
        self.shape = tuple(shape)

    def forward(self, a: Any) -> Any:
        self.src = a.shape
        try:
            return a.reshape(self.shape)
        except ValueError:
            raise ValueError(
                f"reshape: cannot reshape size {a.size} into {self.shape}. "
                f"Received: shape {a.shape}"
            ) from None

    def backward(self, gy: Any) -> Any:
        return gy.reshape(self.src)

    def describe(self) -> str:
        return f"Reshape{self.shape}"

    def rows_apart(self, shapes: list[tuple[int, ...]], batched: list[bool],
                   out: tuple[int, ...]) -> bool:
        # (B, ...) -> (B, ...): each row's elements stay one row
        src = shapes[0]
        return (len(src) > 0 and len(out) > 0 and out[0] == src[0]
                and math.prod(out[1:]) == math.prod(src[1:]))


class Transpose(Function):
    def __init__(self, axes: Sequence[int] | None = None) -> None:
        self.axes = None if axes is None else tuple(axes)

    def forward(self, a: Any) -> Any:
        axes = self.axes if self.axes is not None else tuple(range(a.ndim))[::-1]
        if len(axes) != a.ndim:
            raise ValueError(
                f"transpose: axes {axes} do not match a {a.ndim}-D input. Received: shape {a.shape}"
            )
        y = a.transpose(axes)  # validates the axes (NumPy's error names the bad one)
        # argsort needs non-negative axes: transpose(-1, 0) must invert to (1, 0)
        self.inv = tuple(np.argsort([ax % a.ndim for ax in axes]))
        return y

    def backward(self, gy: Any) -> Any:
        return gy.transpose(self.inv)

    def describe(self) -> str:
        return f"Transpose{self.axes}" if self.axes is not None else "Transpose"

    def rows_apart(self, shapes: list[tuple[int, ...]], batched: list[bool],
                   out: tuple[int, ...]) -> bool:
        return self.axes is not None and len(out) > 0 and self.axes[0] % len(out) == 0


class BroadcastTo(Function):
    def __init__(self, shape: Sequence[int]) -> None:
        self.shape = tuple(shape)

    def forward(self, a: Any) -> Any:
        return _xp(a).broadcast_to(a, self.shape)

    def backward(self, gy: Any) -> Any:
        return gy  # the engine sums it back down to the input's shape

    def describe(self) -> str:
        return f"BroadcastTo{self.shape}"


def _index_data(idx: Any) -> Any:
    if isinstance(idx, Tensor):
        d = idx.data
        return d.astype(np.int64) if d.dtype.kind == "f" else d
    if isinstance(idx, tuple):
        return tuple(_index_data(i) for i in idx)
    if isinstance(idx, list):
        return np.asarray(idx)
    return idx


def _cannot_repeat(idx: Any) -> bool:
    """True for indices that select each element at most once (slices, ints, masks)."""
    for i in idx if isinstance(idx, tuple) else (idx,):
        if i is None or i is Ellipsis or isinstance(i, (slice, int, np.integer)):
            continue
        if getattr(getattr(i, "dtype", None), "kind", "") == "b":
            continue
        return False
    return True


class GetItem(Function):
    """Indexing: slices, ints, integer arrays, boolean masks; repeats accumulate."""

    def __init__(self, idx: Any) -> None:
        self.idx = idx

    def forward(self, a: Any) -> Any:
        self.shape, self.dtype = a.shape, a.dtype
        try:
            return a[self.idx]
        except IndexError as e:
            raise IndexError(f"getitem: {e}. Received: shape {a.shape}") from None

    def backward(self, gy: Any) -> Any:
        xp = _xp(gy)
        gx = xp.zeros(self.shape, dtype=gy.dtype)
        if _cannot_repeat(self.idx):
            gx[self.idx] = gy  # each element picked at most once: plain assignment, far faster
        else:
            backend.scatter_add(gx, self.idx, gy)
        return gx

    def describe(self) -> str:
        return "GetItem"

    def rows_apart(self, shapes: list[tuple[int, ...]], batched: list[bool],
                   out: tuple[int, ...]) -> bool:
        # basic indexing that keeps axis 0 whole: x[:, 1:], x[..., 0] (an integer array or
        # a mask may move the axes)
        idx = self.idx if isinstance(self.idx, tuple) else (self.idx,)
        if not idx or not all(i is None or i is Ellipsis or isinstance(i, slice) or (
                isinstance(i, (int, np.integer)) and not isinstance(i, bool)) for i in idx):
            return False
        if idx[0] == slice(None):
            return True
        return idx[0] is Ellipsis and builtins.sum(i is not None for i in idx[1:]) < len(shapes[0])


class Concatenate(Function):
    def __init__(self, axis: int = 0) -> None:
        self.axis = axis

    def forward(self, *xs: Any) -> Any:
        try:
            y = _xp(xs[0]).concatenate(xs, axis=self.axis)
        except ValueError:
            raise ValueError(
                f"concatenate(axis={self.axis}): shapes must agree except along the axis. "
                f"Received: shapes {[x.shape for x in xs]}"
            ) from None
        self.sizes = [x.shape[self.axis] for x in xs]
        return y

    def backward(self, gy: Any) -> Any:
        idx = np.cumsum(self.sizes)[:-1]
        return tuple(_xp(gy).split(gy, idx, axis=self.axis))

    def describe(self) -> str:
        return f"Concatenate(axis={self.axis})"

    def rows_apart(self, shapes: list[tuple[int, ...]], batched: list[bool],
                   out: tuple[int, ...]) -> bool:
        return all(batched) and off_rows(self.axis, len(out))


class Stack(Function):
    def __init__(self, axis: int = 0) -> None:
        self.axis = axis

    def forward(self, *xs: Any) -> Any:
        try:
            return _xp(xs[0]).stack(xs, axis=self.axis)
        except ValueError:
            raise ValueError(
                f"stack: all inputs must have the same shape. Received: shapes "
                f"{[x.shape for x in xs]}"
            ) from None

    def backward(self, gy: Any) -> Any:
        n = gy.shape[self.axis]
        return tuple(_xp(gy).take(gy, i, axis=self.axis) for i in range(n))

    def describe(self) -> str:
        return f"Stack(axis={self.axis})"

    def rows_apart(self, shapes: list[tuple[int, ...]], batched: list[bool],
                   out: tuple[int, ...]) -> bool:
        return all(batched) and off_rows(self.axis, len(out))


class Pad(Function):
    def __init__(self, pad_width: Any, constant_values: float = 0.0) -> None:
        self.pad_width, self.cv = pad_width, constant_values

    def forward(self, a: Any) -> Any:
        pw = np.broadcast_to(np.asarray(self.pad_width, dtype=np.int64), (a.ndim, 2))
        self.sl = tuple(slice(int(lo), int(lo) + s) for (lo, _), s in zip(pw, a.shape))
        return _xp(a).pad(a, [tuple(map(int, p)) for p in pw], constant_values=self.cv)

    def backward(self, gy: Any) -> Any:
        return gy[self.sl]

    def rows_apart(self, shapes: list[tuple[int, ...]], batched: list[bool],
                   out: tuple[int, ...]) -> bool:
        pw = np.broadcast_to(np.asarray(self.pad_width, dtype=np.int64), (len(out), 2))
        return len(out) > 0 and not pw[0].any()


# ================================================================== functions
def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else as_tensor(x)


def add(a: TensorLike, b: TensorLike) -> Tensor:
    return Add()(a, b)


def sub(a: TensorLike, b: TensorLike) -> Tensor:
    return Sub()(a, b)


def mul(a: TensorLike, b: TensorLike) -> Tensor:
    return Mul()(a, b)


def div(a: TensorLike, b: TensorLike) -> Tensor:
    return Div()(a, b)


def pow(a: TensorLike, b: TensorLike) -> Tensor:  # noqa: A001 - mirrors operator name
    if not isinstance(b, Tensor) and np.ndim(b) == 0:
        # a 0-d value (checked above): a Python number or a 0-d array
        return PowScalar(float(b))(a)  # type: ignore[arg-type]
    return Pow()(a, b)


def neg(a: TensorLike) -> Tensor:
    return Neg()(a)


def matmul(a: TensorLike, b: TensorLike) -> Tensor:
    return MatMul()(a, b)


def exp(a: TensorLike) -> Tensor:
    return Exp()(a)


def log(a: TensorLike) -> Tensor:
    return Log()(a)


def sqrt(a: TensorLike) -> Tensor:
    return Sqrt()(a)


def abs(a: TensorLike) -> Tensor:  # noqa: A001
    return Abs()(a)


def sign(a: TensorLike) -> Tensor:
    return Sign()(a)


def tanh(a: TensorLike) -> Tensor:
    return Tanh()(a)


def sigmoid(a: TensorLike) -> Tensor:
    return Sigmoid()(a)


def relu(a: TensorLike) -> Tensor:
    return Relu()(a)


def maximum(a: TensorLike, b: TensorLike) -> Tensor:
    return Maximum()(a, b)


def minimum(a: TensorLike, b: TensorLike) -> Tensor:
    return Minimum()(a, b)


def clip(a: TensorLike, lo: float | None, hi: float | None) -> Tensor:
    return Clip(lo, hi)(a)


def where(cond: TensorLike, a: TensorLike, b: TensorLike) -> Tensor:
    """Elementwise ``cond ? a : b``; ``cond`` is a constant (no gradient)."""
    c = cond.data if isinstance(cond, Tensor) else cond
    like = a if isinstance(a, Tensor) else (b if isinstance(b, Tensor) else None)
    if like is None:
        like = as_tensor(a)
    c = _xp(like.data).asarray(c)
    if c.dtype != np.bool_:  # a boolean array stays itself (a mask an op made, replayed)
        c = c.astype(bool)
    return Where(c)(as_tensor(a, like), as_tensor(b, like))


def cast(a: TensorLike, dtype: DTypeLike) -> Tensor:
    return Cast(dtype)(a)


def sum(a: TensorLike, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return Sum(axis, keepdims)(a)


def mean(a: TensorLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
    return Mean(axis, keepdims)(a)


def max(a: TensorLike, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return Max(axis, keepdims)(a)


def min(a: TensorLike, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return Min(axis, keepdims)(a)


def var(a: TensorLike, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """Variance, composed: mean((a - mean(a))**2) with ``ddof`` correction."""
    a = _t(a)
    ax = _norm_axis(axis, a.ndim, "var")
    n = a.size if ax is None else math.prod([a.shape[i] for i in ax])
    d = a - mean(a, axis, keepdims=True)
    s = sum(d * d, axis, keepdims)
    return s / builtins.max(n - ddof, 1) if ddof else s / builtins.max(n, 1)


def std(a: TensorLike, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    return sqrt(var(a, axis, keepdims, ddof))


def argmax(a: TensorLike, axis: int | None = None) -> Tensor:
    """Indices of maxima (no gradient)."""
    return Tensor._make(_xp(_t(a).data).argmax(_t(a).data, axis=axis))


def argmin(a: TensorLike, axis: int | None = None) -> Tensor:
    return Tensor._make(_xp(_t(a).data).argmin(_t(a).data, axis=axis))


def reshape(a: TensorLike, shape: Sequence[int]) -> Tensor:
    return Reshape(shape)(a)


def flatten(a: TensorLike, start_dim: int = 0) -> Tensor:
    """Flatten dims from ``start_dim`` on (``flatten(x, 1)`` keeps the batch axis)."""
    a = _t(a)
    return reshape(a, a.shape[:start_dim] + (-1,))


def transpose(a: TensorLike, axes: Sequence[int] | None = None) -> Tensor:
    return Transpose(axes)(a)


permute = transpose


def swapaxes(a: TensorLike, i: int, j: int) -> Tensor:
    a = _t(a)
    axes = list(range(a.ndim))
    axes[i], axes[j] = axes[j], axes[i]
    return transpose(a, axes)


def expand_dims(a: TensorLike, axis: int | Sequence[int]) -> Tensor:
    a = _t(a)
    return reshape(a, np.expand_dims(np.empty(a.shape, dtype=bool), axis).shape)


def squeeze(a: TensorLike, axis: int | None = None) -> Tensor:
    a = _t(a)
    try:
        shape = np.squeeze(np.empty(a.shape, dtype=bool), axis).shape
    except ValueError:
        raise ValueError(
            f"squeeze: axis {axis} does not have size 1. Received: shape {a.shape}"
        ) from None
    return reshape(a, shape)


def broadcast_to(a: TensorLike, shape: Sequence[int]) -> Tensor:
    a = _t(a)
    try:
        np.broadcast_shapes(a.shape, tuple(shape))
    except ValueError:
        raise ValueError(
            f"broadcast_to: cannot broadcast shape {a.shape} to {tuple(shape)}"
        ) from None
    return BroadcastTo(shape)(a)


def getitem(a: TensorLike, idx: Any) -> Tensor:
    return GetItem(_index_data(idx))(a)


def concatenate(tensors: Sequence[TensorLike], axis: int = 0) -> Tensor:
    if len(tensors) == 0:
        raise ValueError("concatenate: needs at least one tensor. Received: an empty sequence")
    return Concatenate(axis)(*tensors)


concat = concatenate


def stack(tensors: Sequence[TensorLike], axis: int = 0) -> Tensor:
    if len(tensors) == 0:
        raise ValueError("stack: needs at least one tensor. Received: an empty sequence")
    return Stack(axis)(*tensors)


def split(a: TensorLike, indices_or_sections: int | Sequence[int], axis: int = 0) -> list[Tensor]:
    """Split like ``numpy.split``; returns a list of tensors (views in the graph)."""
    a = _t(a)
    n = a.shape[axis]
    if isinstance(indices_or_sections, int):
        if n % indices_or_sections:
            raise ValueError(
                f"split: axis {axis} of size {n} does not divide into {indices_or_sections}"
            )
        step = n // indices_or_sections
        bounds = list(range(0, n + 1, step))
    else:
        bounds = [0, *indices_or_sections, n]
    out = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        idx = [slice(None)] * a.ndim
        idx[axis] = slice(lo, hi)
        out.append(getitem(a, tuple(idx)))
    return out


def pad(a: TensorLike, pad_width: Any, constant_values: float = 0.0) -> Tensor:
    return Pad(pad_width, constant_values)(a)


class Compare(Function):
    """An elementwise comparison (``fn``: NumPy's name, ``"less"``) as a bool array: an op, so
    a replayed step compares each batch afresh (``ops.not_equal(ids, 0)``: a mask), and
    what it makes of constants is a constant Python may read. No gradient (made under
    ``no_grad``)."""
    rowwise = True

    def __init__(self, fn: str) -> None:
        self.fn = fn

    def forward(self, x: Any, y: Any) -> Any:
        return getattr(_xp(x), self.fn)(x, y)

    def backward(self, gy: Any) -> Any:  # pragma: no cover - made without a graph
        return None, None


def _cmp(fn: str) -> Callable[[TensorLike, TensorLike], Tensor]:
    def op(a: TensorLike, b: TensorLike) -> Tensor:
        # `is None`, not `or`: truth-testing a multi-element Tensor raises
        if not isinstance(a, Tensor) and not isinstance(b, Tensor):
            a = as_tensor(a)
        with no_grad():  # a literal operand (ids != 0) is a constant of the op
            return Compare(fn)(a, b)

    op.__name__ = fn
    op.__doc__ = f"Elementwise ``{fn}`` returning a non-differentiable bool tensor."
    return op


less = _cmp("less")
less_equal = _cmp("less_equal")
greater = _cmp("greater")
greater_equal = _cmp("greater_equal")
equal = _cmp("equal")
not_equal = _cmp("not_equal")


class _Namespace:
    """Keras 3's sub-namespaces of ``keras.ops`` (``ops.nn``, ``ops.numpy``,
    ``ops.linalg``): glassnet keeps their functions on ``gn.ops`` itself, so
    ``gn.ops.nn.sigmoid is gn.ops.sigmoid``, and code written as ``ops.nn.relu(x)`` runs.

    Example:
        >>> nn.sigmoid is sigmoid
        True
    """

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        try:
            return globals()[attr] if attr in globals() else __getattr__(attr)
        except AttributeError:
            raise AttributeError(f"module 'glassnet.ops.{self._name}' has no attribute "
                                 f"{attr!r}") from None

    def __dir__(self) -> list[str]:
        return __dir__()

    def __repr__(self) -> str:
        return f"<namespace 'glassnet.ops.{self._name}' (the functions of glassnet.ops)>"


nn = _Namespace("nn")
numpy = _Namespace("numpy")
linalg = _Namespace("linalg")


def __getattr__(name: str) -> Any:
    """Keras 3's ``keras.ops`` names that are not primitives come from ``keras_ops``, so
    ``gn.ops.square`` means what ``keras.ops.square`` means (PEP 562)."""
    from . import keras_ops

    if name in keras_ops.__all__:
        return getattr(keras_ops, name)
    raise AttributeError(f"module 'glassnet.ops' has no attribute {name!r}")


def __dir__() -> list[str]:
    from . import keras_ops

    return sorted(set(globals()) | set(keras_ops.__all__))
