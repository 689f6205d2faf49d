"""Keras 3 ``keras.ops`` array functions: reductions, shapes, indexing, sorting, control.

Part of :mod:`glassnet.keras_ops` (split for size); import them from there or from
``glassnet.ops``. Float results are differentiable (composed from glassnet's primitives:
indexing, matmul, reshape ...); index and boolean results carry no gradient.
"""

from __future__ import annotations

import builtins

import numpy as np

from . import ops as P
from .autograd import Function
from .tensor import Tensor, as_tensor


def _d(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _t(x, like=None) -> Tensor:
    if isinstance(x, Tensor):
        return x
    if like is not None:
        return as_tensor(x, like)
    from .keras_ops import convert_to_tensor

    return convert_to_tensor(x)


def _const(a) -> Tensor:
    return Tensor._make(a)


def _square(x):
    return P.mul(x, x)


# ------------------------------------------------------------------ reductions
def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def prod(x, axis=None, keepdims=False, dtype=None):
    """Product along ``axis`` (as exp Σ log|x| with the sign carried; exact zeros stay 0)."""
    x = _t(x)
    d = _d(x)
    if (d == 0).any() or not isinstance(x, Tensor) or not x.requires_grad:
        return _const(np.prod(d, axis=_axis(axis), keepdims=keepdims))
    mag = P.exp(P.sum(P.log(P.abs(x)), axis=_axis(axis), keepdims=keepdims))
    sign_ = np.prod(np.sign(d), axis=_axis(axis), keepdims=keepdims)
    return P.mul(mag, _const(sign_.astype(d.dtype)))


def amax(x, axis=None, keepdims=False):
    return P.max(_t(x), axis=_axis(axis), keepdims=keepdims)


def amin(x, axis=None, keepdims=False):
    return P.min(_t(x), axis=_axis(axis), keepdims=keepdims)


def all(x, axis=None, keepdims=False):  # noqa: A001 - Keras's name
    return _const(np.all(_d(x), axis=_axis(axis), keepdims=keepdims))


def any(x, axis=None, keepdims=False):  # noqa: A001 - Keras's name
    return _const(np.any(_d(x), axis=_axis(axis), keepdims=keepdims))


def count_nonzero(x, axis=None):
    return _const(np.asarray(np.count_nonzero(_d(x), axis=_axis(axis))))


def average(x, axis=None, weights=None):
    x = _t(x)
    if weights is None:
        return P.mean(x, axis=axis)
    w = _t(weights, x)
    if axis is not None and w.ndim == 1 and x.ndim > 1:
        shape_ = [1] * x.ndim
        shape_[axis] = w.shape[0]
        w = P.reshape(w, tuple(shape_))
    return P.div(P.sum(P.mul(x, w), axis=axis), P.sum(P.broadcast_to(w, x.shape), axis=axis))


def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002 - Keras's name
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


def cumsum(x, axis=None, dtype=None):
    """Cumulative sum along ``axis`` (flattened when None); the gradient is the reversed
    cumulative sum of ``gy``."""
    x = _t(x)
    if axis is None:
        x, axis = P.reshape(x, (-1,)), 0
    return _Cumsum(axis)(x)


class _Cumsum(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        return np.cumsum(x, axis=self.axis)

    def backward(self, gy):
        a = self.axis
        return np.flip(np.cumsum(np.flip(gy, a), axis=a), a)


def cumprod(x, axis=None, dtype=None):
    x = _t(x)
    if axis is None:
        x, axis = P.reshape(x, (-1,)), 0
    n = x.shape[axis]
    parts = [take(x, [0], axis=axis)]
    for i in range(1, n):
        parts.append(P.mul(parts[-1], take(x, [i], axis=axis)))
    return P.concatenate(parts, axis=axis)


def median(x, axis=None, keepdims=False):
    return quantile(x, 0.5, axis=axis, keepdims=keepdims)


def quantile(x, q, axis=None, method="linear", keepdims=False):
    return _const(np.quantile(_d(x), q, axis=_axis(axis), method=method, keepdims=keepdims))


# ------------------------------------------------------------------ shapes and indexing
def ravel(x):
    return P.reshape(_t(x), (-1,))


def get_item(x, key):
    return P.getitem(_t(x), key)


def take(x, indices, axis=None):
    x = _t(x)
    idx = np.asarray(_d(indices)).astype(np.int64)
    if axis is None:
        return P.getitem(P.reshape(x, (-1,)), idx)
    axis = axis % x.ndim
    return P.getitem(x, (builtins.slice(None),) * axis + (idx,))


def take_along_axis(x, indices, axis=None):
    x = _t(x)
    idx = np.asarray(_d(indices)).astype(np.int64)
    if axis is None:
        return P.getitem(P.reshape(x, (-1,)), idx.reshape(-1))
    axis = axis % x.ndim
    idx = np.broadcast_to(idx, tuple(s if i == axis else builtins.max(s, t)
                                     for i, (s, t) in enumerate(zip(idx.shape, x.shape))))
    grid = list(np.indices(idx.shape, sparse=True))
    grid[axis] = idx
    return P.getitem(x, tuple(grid))


def flip(x, axis=None):
    x = _t(x)
    axes = range(x.ndim) if axis is None else ([axis] if isinstance(axis, int) else axis)
    key = [builtins.slice(None)] * x.ndim
    for a in axes:
        key[a] = builtins.slice(None, None, -1)
    return P.getitem(x, tuple(key))


def roll(x, shift, axis=None):
    x = _t(x)
    if axis is None:
        return P.reshape(roll(P.reshape(x, (-1,)), shift, 0), x.shape)
    n = x.shape[axis]
    return take(x, (np.arange(n) - shift) % n, axis=axis)


def repeat(x, repeats, axis=None):
    x = _t(x)
    if axis is None:
        x, axis = P.reshape(x, (-1,)), 0
    n = x.shape[axis]
    return take(x, np.repeat(np.arange(n), repeats), axis=axis)


def tile(x, repeats):
    x = _t(x)
    reps = (repeats,) if isinstance(repeats, int) else tuple(repeats)
    if len(reps) > x.ndim:
        x = P.reshape(x, (1,) * (len(reps) - x.ndim) + tuple(x.shape))
    reps = (1,) * (x.ndim - len(reps)) + reps
    for a, r in enumerate(reps):
        if r != 1:
            x = take(x, np.tile(np.arange(x.shape[a]), r), axis=a)
    return x


def moveaxis(x, source, destination):
    x = _t(x)
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    src, dst = [a % x.ndim for a in src], [a % x.ndim for a in dst]
    order = [a for a in range(x.ndim) if a not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return P.transpose(x, tuple(order))


def unstack(x, num=None, axis=0):
    x = _t(x)
    return [P.squeeze(take(x, [i], axis=axis), axis=axis) for i in range(x.shape[axis])]


def hstack(xs):
    xs = [_t(x) for x in xs]
    return P.concatenate(xs, axis=0 if xs[0].ndim == 1 else 1)


def vstack(xs):
    xs = [P.reshape(_t(x), (1, -1)) if _t(x).ndim == 1 else _t(x) for x in xs]
    return P.concatenate(xs, axis=0)


def tril(x, k=0):
    x = _t(x)
    return P.mul(x, _const(np.tril(np.ones(x.shape[-2:], x.dtype), k)))


def triu(x, k=0):
    x = _t(x)
    return P.mul(x, _const(np.triu(np.ones(x.shape[-2:], x.dtype), k)))


def diagonal(x, offset=0, axis1=0, axis2=1):
    x = moveaxis(_t(x), (axis1, axis2), (-2, -1))
    n, m = x.shape[-2:]
    i = np.arange(builtins.max(0, -offset), builtins.min(n, m - offset))
    return P.getitem(x, (Ellipsis, i, i + offset))


def trace(x, offset=0, axis1=0, axis2=1):
    return P.sum(diagonal(x, offset, axis1, axis2), axis=-1)


def diag(x, k=0):
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


def dot(x1, x2):
    x1, x2 = _t(x1), _t(x2)
    if x1.ndim == 0 or x2.ndim == 0:
        return P.mul(x1, x2)
    return P.matmul(x1, x2)


def outer(x1, x2):
    return P.mul(P.reshape(_t(x1), (-1, 1)), P.reshape(_t(x2), (1, -1)))


def tensordot(x1, x2, axes=2):
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


def einsum(subscripts, *operands):
    """``np.einsum``; differentiable for one or two operands without repeated indices
    inside an operand (each operand's gradient is another einsum)."""
    ts = [_t(o) for o in operands]
    return _Einsum(subscripts.replace(" ", ""))(*ts)


class _Einsum(Function):
    def __init__(self, spec):
        ins, _, out = spec.partition("->")
        self.ins = ins.split(",")
        if not _:
            letters = sorted(c for c in set(ins.replace(",", "")) if ins.count(c) == 1)
            out = "".join(letters)
        self.out = out

    def forward(self, *xs):
        self.xs = xs
        return np.einsum(",".join(self.ins) + "->" + self.out, *xs)

    def backward(self, gy):
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
def sort(x, axis=-1):
    return take_along_axis(x, np.argsort(_d(x), axis=axis, kind="stable"), axis=axis)


def argsort(x, axis=-1):
    return _const(np.argsort(_d(x), axis=axis, kind="stable"))


def top_k(x, k, sorted=True):  # noqa: A002 - Keras's name
    """(values, indices) of the ``k`` largest entries along the last axis."""
    idx = np.argsort(-_d(x), axis=-1, kind="stable")[..., :k]
    return take_along_axis(x, idx, axis=-1), _const(idx)


def nonzero(x):
    return tuple(_const(i) for i in np.nonzero(_d(x)))


def searchsorted(sorted_sequence, values, side="left"):
    return _const(np.searchsorted(_d(sorted_sequence), _d(values), side=side))


def unique(x, sorted=True, return_inverse=False, return_counts=False, axis=None, size=None,
           fill_value=None):  # noqa: A002
    out = np.unique(_d(x), return_inverse=return_inverse, return_counts=return_counts,
                    axis=axis)
    return tuple(_const(o) for o in out) if isinstance(out, tuple) else _const(out)


def meshgrid(*x, indexing="xy"):
    return [_const(g) for g in np.meshgrid(*[_d(t) for t in x], indexing=indexing)]


def slice(inputs, start_indices, shape):  # noqa: A001 - Keras's name
    key = tuple(builtins.slice(int(s), int(s) + int(n)) for s, n in zip(start_indices, shape))
    return P.getitem(_t(inputs), key)


def slice_update(inputs, start_indices, updates):
    x, u = _t(inputs), _t(updates)
    key = tuple(builtins.slice(int(s), int(s) + int(n)) for s, n in zip(start_indices, u.shape))
    mask = np.ones(x.shape, x.dtype)
    mask[key] = 0
    pad = [(int(s), int(n) - int(s) - int(k)) for s, n, k in zip(start_indices, x.shape,
                                                                   u.shape)]
    return P.add(P.mul(x, _const(mask)), P.pad(u, pad))


def select(condlist, choicelist, default=0):
    out = default
    for c, v in reversed(list(zip(condlist, choicelist))):
        like = v if isinstance(v, Tensor) else None
        out = P.where(_d(c), v, out if isinstance(out, Tensor) or like is None else
                      as_tensor(out, like))
    return out


# ------------------------------------------------------------------ control flow (eager)
def cond(pred, true_fn, false_fn):
    return true_fn() if bool(np.asarray(_d(pred))) else false_fn()


def switch(index, branches, *operands):
    i = int(np.clip(int(np.asarray(_d(index))), 0, len(branches) - 1))
    return branches[i](*operands)


def fori_loop(lower, upper, body_fun, init_val):
    val = init_val
    for i in range(int(lower), int(upper)):
        val = body_fun(i, val)
    return val


def while_loop(cond, body, loop_vars, maximum_iterations=None):  # noqa: A002
    single = not isinstance(loop_vars, (list, tuple))
    vs = (loop_vars,) if single else tuple(loop_vars)
    n = 0
    while bool(np.asarray(_d(cond(*vs)))) and (maximum_iterations is None or
                                                n < maximum_iterations):
        out = body(*vs)
        vs = (out,) if single else tuple(out)
        n += 1
    return vs[0] if single else vs


def map(f, xs):  # noqa: A001 - Keras's name
    return P.stack([f(t) for t in unstack(xs)], axis=0)


def vectorized_map(function, elements):
    return map(function, elements)


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    carry, ys = init, []
    steps = unstack(xs) if xs is not None else [None] * int(length)
    for t in (reversed(steps) if reverse else steps):
        carry, y = f(carry, t)
        ys.append(y)
    if reverse:
        ys.reverse()
    return carry, (P.stack(ys, axis=0) if ys and isinstance(ys[0], Tensor) else ys)



__all__ = sorted(n for n, v in list(globals().items())
                 if not n.startswith("_") and callable(v) and getattr(v, "__module__", "")
                 == __name__ and not isinstance(v, type))
