"""Keras 3 ``keras.ops`` array functions: reductions, shapes, indexing, sorting, control.

Part of :mod:`glassnet.keras_ops` (split for size); import them from there or from
``glassnet.ops``. Float results are differentiable (composed from glassnet's primitives:
indexing, matmul, reshape ...); index and boolean results carry no gradient.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from . import backend
from . import ops as P
from .autograd import Function
from .tensor import Tensor, as_tensor

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Literal

    from numpy.typing import DTypeLike

    from ._typing import Axis, TensorLike

    # what ``_axis`` takes (Keras passes an int, tuple or list) and what NumPy's reductions take
    _Axes = int | tuple[int, ...] | list[int] | None
    _QuantileMethod = Literal["inverted_cdf", "averaged_inverted_cdf", "closest_observation",
                              "interpolated_inverted_cdf", "hazen", "weibull", "linear",
                              "median_unbiased", "normal_unbiased", "lower", "higher",
                              "midpoint", "nearest"]


def _d(x: TensorLike) -> Any:
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _t(x: TensorLike, like: Tensor | None = None) -> Tensor:
    if isinstance(x, Tensor):
        return x
    if like is not None:
        return as_tensor(x, like)
    from .keras_ops import convert_to_tensor

    return convert_to_tensor(x)


def _const(a: Any) -> Tensor:
    return Tensor._make(a)


def _square(x: Tensor) -> Tensor:
    return P.mul(x, x)


# ------------------------------------------------------------------ reductions
def _axis(axis: _Axes) -> int | tuple[int, ...] | None:
    return tuple(axis) if isinstance(axis, list) else axis


def prod(x: TensorLike, axis: _Axes = None, keepdims: bool = False,
         dtype: DTypeLike | None = None) -> Tensor:
    """Product along ``axis`` (as exp Σ log|x| with the sign carried; exact zeros stay 0)."""
    x = _t(x)
    d = _d(x)
    if (d == 0).any() or not isinstance(x, Tensor) or not x.requires_grad:
        return _const(np.prod(d, axis=_axis(axis), keepdims=keepdims))
    mag = P.exp(P.sum(P.log(P.abs(x)), axis=_axis(axis), keepdims=keepdims))
    sign_ = np.prod(np.sign(d), axis=_axis(axis), keepdims=keepdims)
    return P.mul(mag, _const(sign_.astype(d.dtype)))


def amax(x: TensorLike, axis: _Axes = None, keepdims: bool = False) -> Tensor:
    return P.max(_t(x), axis=_axis(axis), keepdims=keepdims)


def amin(x: TensorLike, axis: _Axes = None, keepdims: bool = False) -> Tensor:
    return P.min(_t(x), axis=_axis(axis), keepdims=keepdims)


def all(x: TensorLike, axis: _Axes = None, keepdims: bool = False  # noqa: A001 - Keras's name
        ) -> Tensor:
    return _const(np.all(_d(x), axis=_axis(axis), keepdims=keepdims))


def any(x: TensorLike, axis: _Axes = None, keepdims: bool = False  # noqa: A001 - Keras's name
        ) -> Tensor:
    return _const(np.any(_d(x), axis=_axis(axis), keepdims=keepdims))


def count_nonzero(x: TensorLike, axis: _Axes = None) -> Tensor:
    return _const(np.asarray(np.count_nonzero(_d(x), axis=_axis(axis))))


def average(x: TensorLike, axis: int | None = None, weights: TensorLike | None = None
            ) -> Tensor:
    x = _t(x)
    if weights is None:
        return P.mean(x, axis=axis)
    w = _t(weights, x)
    if axis is not None and w.ndim == 1 and x.ndim > 1:
        shape_ = [1] * x.ndim
        shape_[axis] = w.shape[0]
        w = P.reshape(w, tuple(shape_))
    return P.div(P.sum(P.mul(x, w), axis=axis), P.sum(P.broadcast_to(w, x.shape), axis=axis))


def norm(x: TensorLike, ord: float | str | None = None,  # noqa: A002 - Keras's name
         axis: _Axes = None, keepdims: bool = False) -> Tensor:
    """Vector norms (L1, L2, inf, any p) along ``axis``; Frobenius for a matrix axis pair."""
    x = _t(x)
    if axis is None:
        x, axis = P.reshape(x, (-1,)), 0
    ax = _axis(axis)
    if ord in (None, 2, "fro", "euclidean") and (not isinstance(ax, tuple) or ord != 2):
        return P.sqrt(P.sum(_square(x), axis=ax, keepdims=keepdims))
    if ord == 1:
        return P.sum(P.abs(x), axis=ax, keepdims=keepdims)
    if ord in (np.inf, "inf"):
        return P.max(P.abs(x), axis=ax, keepdims=keepdims)
    if isinstance(ord, (int, float)) and not isinstance(ax, tuple):
        return P.pow(P.sum(P.pow(P.abs(x), float(ord)), axis=ax, keepdims=keepdims),
                     1.0 / ord)
    raise ValueError(f"norm: ord={ord!r} over axis={axis!r} is not supported")


def cumsum(x: TensorLike, axis: int | None = None, dtype: DTypeLike | None = None) -> Tensor:
    """Cumulative sum along ``axis`` (flattened when None); the gradient is the reversed
    cumulative sum of ``gy``."""
    x = _t(x)
    if axis is None:
        x, axis = P.reshape(x, (-1,)), 0
    return _Cumsum(axis)(x)


class _Cumsum(Function):
    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, x: Any) -> Any:
        return np.cumsum(x, axis=self.axis)

    def backward(self, gy: Any) -> Any:
        a = self.axis
        return np.flip(np.cumsum(np.flip(gy, a), axis=a), a)


def cumprod(x: TensorLike, axis: int | None = None, dtype: DTypeLike | None = None) -> Tensor:
    x = _t(x)
    if axis is None:
        x, axis = P.reshape(x, (-1,)), 0
    n = x.shape[axis]
    parts = [take(x, [0], axis=axis)]
    for i in range(1, n):
        parts.append(P.mul(parts[-1], take(x, [i], axis=axis)))
    return P.concatenate(parts, axis=axis)


def median(x: TensorLike, axis: _Axes = None, keepdims: bool = False) -> Tensor:
    return quantile(x, 0.5, axis=axis, keepdims=keepdims)


def quantile(x: TensorLike, q: float | Sequence[float] | np.ndarray, axis: _Axes = None,
             method: _QuantileMethod = "linear", keepdims: bool = False) -> Tensor:
    return _const(np.quantile(_d(x), q, axis=_axis(axis), method=method, keepdims=keepdims))


# ------------------------------------------------------------------ shapes and indexing
def ravel(x: TensorLike) -> Tensor:
    return P.reshape(_t(x), (-1,))


def get_item(x: TensorLike, key: Any) -> Tensor:
    return P.getitem(_t(x), key)


def take(x: TensorLike, indices: TensorLike, axis: int | None = None) -> Tensor:
    x = _t(x)
    idx = np.asarray(_d(indices)).astype(np.int64)
    if axis is None:
        return P.getitem(P.reshape(x, (-1,)), idx)
    axis = axis % x.ndim
    return P.getitem(x, (builtins.slice(None),) * axis + (idx,))


def take_along_axis(x: TensorLike, indices: TensorLike, axis: int | None = None) -> Tensor:
    x = _t(x)
    idx = np.asarray(_d(indices)).astype(np.int64)
    if axis is None:
        return P.getitem(P.reshape(x, (-1,)), idx.reshape(-1))
    axis = axis % x.ndim
    idx = np.broadcast_to(idx, tuple(s if i == axis else builtins.max(s, t)
                                     for i, (s, t) in enumerate(zip(idx.shape, x.shape))))
    grid: list[Any] = list(np.indices(idx.shape, sparse=True))
    grid[axis] = idx
    return P.getitem(x, tuple(grid))


def flip(x: TensorLike, axis: Axis = None) -> Tensor:
    x = _t(x)
    axes = range(x.ndim) if axis is None else ([axis] if isinstance(axis, int) else axis)
    key = [builtins.slice(None)] * x.ndim
    for a in axes:
        key[a] = builtins.slice(None, None, -1)
    return P.getitem(x, tuple(key))


def roll(x: TensorLike, shift: int, axis: int | None = None) -> Tensor:
    x = _t(x)
    if axis is None:
        return P.reshape(roll(P.reshape(x, (-1,)), shift, 0), x.shape)
    n = x.shape[axis]
    return take(x, (np.arange(n) - shift) % n, axis=axis)


class Tile(Function):
    """``x`` repeated ``reps[a]`` times along each axis ``a`` (NumPy's ``tile``, as many reps
    as axes); the gradient sums the copies. Configured with ints, so a replayed step
    repeats it (an index array made in Python would keep it from replaying)."""

    def __init__(self, reps: tuple[int, ...], interleave: bool = False) -> None:
        # interleave: each element repeated in place (NumPy's ``repeat``) on the one axis
        # whose count is not 1, instead of the whole axis after itself
        self.reps, self.interleave = reps, interleave

    def forward(self, x: Any) -> Any:
        xp = backend.get_array_module(x)
        if not self.interleave:
            return xp.tile(x, self.reps)
        a = next(i for i, r in enumerate(self.reps) if r != 1)
        return xp.repeat(x, self.reps[a], axis=a)

    def backward(self, gy: Any) -> Any:
        shape: list[int] = []
        for r, d in zip(self.reps, gy.shape):
            shape += [d // r, r] if self.interleave else [r, d // r]
        k = 1 if self.interleave else 0  # where each pair keeps its copies
        return gy.reshape(shape).sum(axis=tuple(range(k, len(shape), 2)))


def repeat(x: TensorLike, repeats: int | Sequence[int], axis: int | None = None) -> Tensor:
    x = _t(x)
    if axis is None:
        x, axis = P.reshape(x, (-1,)), 0
    if isinstance(repeats, (int, np.integer)):  # one count for every element: an op of ints
        reps = [1] * x.ndim
        reps[axis % x.ndim] = int(repeats)
        return Tile(tuple(reps), interleave=True)(x) if repeats != 1 else x
    n = x.shape[axis]
    return take(x, np.repeat(np.arange(n), repeats), axis=axis)


def tile(x: TensorLike, repeats: int | Sequence[int]) -> Tensor:
    x = _t(x)
    reps = (repeats,) if isinstance(repeats, int) else tuple(repeats)
    reps = tuple(int(r) for r in reps)  # counts read in Python (a constant's may be)
    if len(reps) > x.ndim:
        x = P.reshape(x, (1,) * (len(reps) - x.ndim) + tuple(x.shape))
    reps = (1,) * (x.ndim - len(reps)) + reps
    return Tile(reps)(x) if builtins.any(r != 1 for r in reps) else x


def moveaxis(x: TensorLike, source: int | Sequence[int], destination: int | Sequence[int]
             ) -> Tensor:
    x = _t(x)
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    src, dst = [a % x.ndim for a in src], [a % x.ndim for a in dst]
    order = [a for a in range(x.ndim) if a not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return P.transpose(x, tuple(order))


def unstack(x: TensorLike, num: int | None = None, axis: int = 0) -> list[Tensor]:
    x = _t(x)
    return [P.squeeze(take(x, [i], axis=axis), axis=axis) for i in range(x.shape[axis])]


def hstack(xs: Sequence[TensorLike]) -> Tensor:
    ts = [_t(x) for x in xs]
    return P.concatenate(ts, axis=0 if ts[0].ndim == 1 else 1)


def vstack(xs: Sequence[TensorLike]) -> Tensor:
    ts = [P.reshape(_t(x), (1, -1)) if _t(x).ndim == 1 else _t(x) for x in xs]
    return P.concatenate(ts, axis=0)


def tril(x: TensorLike, k: int = 0) -> Tensor:
    from .keras_ops import _made_from

    x = _t(x)
    return P.mul(x, _made_from(np.tril(np.ones(x.shape[-2:], x.dtype), k)))  # shapes only


def triu(x: TensorLike, k: int = 0) -> Tensor:
    from .keras_ops import _made_from

    x = _t(x)
    return P.mul(x, _made_from(np.triu(np.ones(x.shape[-2:], x.dtype), k)))


def diagonal(x: TensorLike, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    x = moveaxis(_t(x), (axis1, axis2), (-2, -1))
    n, m = x.shape[-2:]
    i = np.arange(builtins.max(0, -offset), builtins.min(n, m - offset))
    return P.getitem(x, (Ellipsis, i, i + offset))


def trace(x: TensorLike, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    return P.sum(diagonal(x, offset, axis1, axis2), axis=-1)


def diag(x: TensorLike, k: int = 0) -> Tensor:
    x = _t(x)
    if x.ndim == 2:
        return diagonal(x, k)
    n = x.shape[0] + builtins.abs(k)
    out = np.zeros((n, n), x.dtype)
    i = np.arange(x.shape[0])
    rows, cols = (i, i + k) if k >= 0 else (i - k, i)
    sel = np.zeros((x.shape[0], n * n), x.dtype)
    sel[i, rows * n + cols] = 1
    return P.add(_const(out), P.reshape(P.matmul(P.reshape(x, (1, -1)), _const(sel)), (n, n)))


def dot(x1: TensorLike, x2: TensorLike) -> Tensor:
    x1, x2 = _t(x1), _t(x2)
    if x1.ndim == 0 or x2.ndim == 0:
        return P.mul(x1, x2)
    return P.matmul(x1, x2)


def outer(x1: TensorLike, x2: TensorLike) -> Tensor:
    return P.mul(P.reshape(_t(x1), (-1, 1)), P.reshape(_t(x2), (1, -1)))


def tensordot(x1: TensorLike, x2: TensorLike, axes: int | Sequence[int | Sequence[int]] = 2
              ) -> Tensor:
    """Sum over the given axes, as ``np.tensordot``, through one matmul (differentiable)."""
    x1, x2 = _t(x1), _t(x2)
    if isinstance(axes, int):
        a1, a2 = list(range(x1.ndim - axes, x1.ndim)), list(range(axes))
    else:
        a1, a2 = ([axes[0]] if isinstance(axes[0], int) else list(axes[0]),
                  [axes[1]] if isinstance(axes[1], int) else list(axes[1]))
    a1 = [a % x1.ndim for a in a1]
    a2 = [a % x2.ndim for a in a2]
    f1 = [a for a in range(x1.ndim) if a not in a1]
    f2 = [a for a in range(x2.ndim) if a not in a2]
    k = int(np.prod([x1.shape[a] for a in a1], dtype=np.int64))
    m = P.reshape(P.transpose(x1, tuple(f1 + a1)), (-1, k))
    n = P.reshape(P.transpose(x2, tuple(a2 + f2)), (k, -1))
    return P.reshape(P.matmul(m, n), tuple(x1.shape[a] for a in f1) +
                     tuple(x2.shape[a] for a in f2))


def einsum(subscripts: str, *operands: TensorLike) -> Tensor:
    """``np.einsum``; differentiable for one or two operands without repeated indices
    inside an operand (each operand's gradient is another einsum)."""
    ts = [_t(o) for o in operands]
    return _Einsum(subscripts.replace(" ", ""))(*ts)


class _Einsum(Function):
    def __init__(self, spec: str) -> None:
        ins, _, out = spec.partition("->")
        self.ins = ins.split(",")
        if not _:
            letters = sorted(c for c in set(ins.replace(",", "").replace(".", ""))
                             if ins.count(c) == 1)
            out = ("..." if "..." in ins else "") + "".join(letters)
        self.out = out

    def forward(self, *xs: Any) -> Any:
        self.xs = xs
        if "..." in self.out or builtins.any("..." in s for s in self.ins):
            self._name_elided(xs)
        return np.einsum(",".join(self.ins) + "->" + self.out, *xs)

    def _name_elided(self, xs: Sequence[Any]) -> None:
        """Write each ``...`` as letters the spec does not use, so backward's einsums can
        name those axes: where the operands' elided axes have equal lengths (no
        broadcasting between them; else ``...`` stays and backward refuses)."""
        elided = [x.shape[s.index("..."):x.ndim - (len(s) - s.index("...") - 3)]
                  if "..." in s else None for s, x in zip(self.ins, xs)]
        k = builtins.max((len(e) for e in elided if e is not None), default=0)
        for e in elided:
            if e is not None and tuple(e) != tuple(
                    next(f for f in elided if f is not None and len(f) == k)[k - len(e):]):
                return
        used = set("".join(self.ins) + self.out)
        free = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                if c not in used][:k]
        self.ins = [s.replace("...", "".join(free[k - len(e):])) if e is not None else s
                    for s, e in zip(self.ins, elided)]
        self.out = self.out.replace("...", "".join(free))

    def backward(self, gy: Any) -> Any:
        grads = []
        for i, (sub, x) in enumerate(zip(self.ins, self.xs)):
            if len(set(sub)) != len(sub) or "." in sub:
                raise NotImplementedError(f"einsum gradient for operand {sub!r}")
            others = [(s, o) for j, (s, o) in enumerate(zip(self.ins, self.xs)) if j != i]
            spec = ",".join([self.out] + [s for s, _ in others]) + "->" + sub
            g = np.einsum(spec, gy, *[o for _, o in others])
            missing = [c for c in sub if c not in self.out and builtins.all(c not in s for s, _ in
                                                                      others)]
            grads.append(np.broadcast_to(g, x.shape) if missing else g)
        return tuple(grads) if len(grads) > 1 else grads[0]


# ------------------------------------------------------------------ sorting and search
def sort(x: TensorLike, axis: int = -1) -> Tensor:
    return take_along_axis(x, np.argsort(_d(x), axis=axis, kind="stable"), axis=axis)


def argsort(x: TensorLike, axis: int = -1) -> Tensor:
    return _const(np.argsort(_d(x), axis=axis, kind="stable"))


def top_k(x: TensorLike, k: int, sorted: bool = True  # noqa: A002 - Keras's name
          ) -> tuple[Tensor, Tensor]:
    """(values, indices) of the ``k`` largest entries along the last axis."""
    idx = np.argsort(-_d(x), axis=-1, kind="stable")[..., :k]
    return take_along_axis(x, idx, axis=-1), _const(idx)


def nonzero(x: TensorLike) -> tuple[Tensor, ...]:
    return tuple(_const(i) for i in np.nonzero(_d(x)))


def searchsorted(sorted_sequence: TensorLike, values: TensorLike,
                 side: Literal["left", "right"] = "left") -> Tensor:
    return _const(np.searchsorted(_d(sorted_sequence), _d(values), side=side))


def unique(x: TensorLike, sorted: bool = True, return_inverse: bool = False,  # noqa: A002
           return_counts: bool = False, axis: int | None = None, size: int | None = None,
           fill_value: Any = None) -> Tensor | tuple[Tensor, ...]:
    out = np.unique(  # type: ignore[call-overload]  # the bool flags pick the overload at run time
        _d(x), return_inverse=return_inverse, return_counts=return_counts, axis=axis)
    return tuple(_const(o) for o in out) if isinstance(out, tuple) else _const(out)


def meshgrid(*x: TensorLike, indexing: Literal["xy", "ij"] = "xy") -> list[Tensor]:
    return [_const(g) for g in np.meshgrid(*[_d(t) for t in x], indexing=indexing)]


def slice(inputs: TensorLike, start_indices: Sequence[int],  # noqa: A001 - Keras's name
          shape: Sequence[int]) -> Tensor:
    key = tuple(builtins.slice(int(s), int(s) + int(n)) for s, n in zip(start_indices, shape))
    return P.getitem(_t(inputs), key)


def slice_update(inputs: TensorLike, start_indices: Sequence[int], updates: TensorLike
                 ) -> Tensor:
    x, u = _t(inputs), _t(updates)
    key = tuple(builtins.slice(int(s), int(s) + int(n)) for s, n in zip(start_indices, u.shape))
    mask = np.ones(x.shape, x.dtype)
    mask[key] = 0
    pad = [(int(s), int(n) - int(s) - int(k)) for s, n, k in zip(start_indices, x.shape,
                                                                   u.shape)]
    return P.add(P.mul(x, _const(mask)), P.pad(u, pad))


def select(condlist: Sequence[TensorLike], choicelist: Sequence[TensorLike],
           default: TensorLike = 0) -> TensorLike:
    out = default
    for c, v in reversed(list(zip(condlist, choicelist))):
        like = v if isinstance(v, Tensor) else None
        out = P.where(_d(c), v, out if isinstance(out, Tensor) or like is None else
                      as_tensor(out, like))
    return out


# ------------------------------------------------------------------ control flow (eager)
def cond(pred: TensorLike, true_fn: Callable[[], Any], false_fn: Callable[[], Any]) -> Any:
    return true_fn() if bool(np.asarray(_d(pred))) else false_fn()


def switch(index: TensorLike, branches: Sequence[Callable[..., Any]], *operands: Any) -> Any:
    i = int(np.clip(int(np.asarray(_d(index))), 0, len(branches) - 1))
    return branches[i](*operands)


def fori_loop(lower: int, upper: int, body_fun: Callable[[int, Any], Any], init_val: Any
              ) -> Any:
    val = init_val
    for i in range(int(lower), int(upper)):
        val = body_fun(i, val)
    return val


def while_loop(cond: Callable[..., Any], body: Callable[..., Any], loop_vars: Any,  # noqa: A002
               maximum_iterations: int | None = None) -> Any:
    single = not isinstance(loop_vars, (list, tuple))
    vs = (loop_vars,) if single else tuple(loop_vars)
    n = 0
    while bool(np.asarray(_d(cond(*vs)))) and (maximum_iterations is None or
                                                n < maximum_iterations):
        out = body(*vs)
        vs = (out,) if single else tuple(out)
        n += 1
    return vs[0] if single else vs


def map(f: Callable[[Tensor], TensorLike], xs: TensorLike  # noqa: A001 - Keras's name
        ) -> Tensor:
    return P.stack([f(t) for t in unstack(xs)], axis=0)


def vectorized_map(function: Callable[[Tensor], TensorLike], elements: TensorLike) -> Tensor:
    return map(function, elements)


def scan(f: Callable[[Any, Any], tuple[Any, Any]], init: Any, xs: TensorLike | None = None,
         length: int | None = None, reverse: bool = False, unroll: int = 1) -> tuple[Any, Any]:
    carry, ys = init, []
    # Keras's contract: ``length`` is given when ``xs`` is None
    steps = unstack(xs) if xs is not None else [None] * int(cast(int, length))
    for t in (reversed(steps) if reverse else steps):
        carry, y = f(carry, t)
        ys.append(y)
    if reverse:
        ys.reverse()
    return carry, (P.stack(ys, axis=0) if ys and isinstance(ys[0], Tensor) else ys)



__all__ = sorted(n for n, v in list(globals().items())
                 if not n.startswith("_") and callable(v) and getattr(v, "__module__", "")
                 == __name__ and not isinstance(v, type))
