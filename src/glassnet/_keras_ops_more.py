"""More of Keras 3's ``keras.ops``: the NumPy-like long tail and the small activations.

Part of :mod:`glassnet.keras_ops` (split for size). Float results that a model may train
through are composed from differentiable ops; the rest (NaN-aware statistics, splits of
index ranges, counting) return constants, as their Keras counterparts have no useful
gradient either.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from . import backend
from . import ops as P
from ._keras_ops_array import _const, _d, _t, flip, take
from .activations import _erf
from .keras_ops import _Elementwise, _nograd, _unary

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from numpy.typing import DTypeLike

    from ._keras_ops_array import _QuantileMethod
    from ._typing import Axis, Shape, TensorLike
    from .tensor import Tensor

# ------------------------------------------------------------------ elementwise
erf = _unary("erf", lambda x: _erf(x, np).astype(x.dtype),
             lambda x, y: (2 / np.sqrt(np.pi) * np.exp(-x * x)).astype(x.dtype))
deg2rad = _unary("deg2rad", np.deg2rad, lambda x, y: np.full_like(x, np.pi / 180))
rad2deg = _unary("rad2deg", np.rad2deg, lambda x, y: np.full_like(x, 180 / np.pi))
sinc = _unary("sinc", np.sinc, lambda x, y: np.where(
    x == 0, 0.0, (np.cos(np.pi * x) - np.sinc(x)) / np.where(x == 0, 1, x)).astype(x.dtype))
isneginf = _nograd("isneginf", np.isneginf)
isposinf = _nograd("isposinf", np.isposinf)


def erfc(x: TensorLike) -> Tensor:
    return P.sub(1.0, erf(x))


def hypot(x1: TensorLike, x2: TensorLike) -> Tensor:
    x1 = _t(x1)
    return P.sqrt(P.add(P.mul(x1, x1), P.mul(_t(x2, x1), _t(x2, x1))))


def fmax(x1: TensorLike, x2: TensorLike) -> Tensor:
    return P.maximum(_t(x1), _t(x2, _t(x1)))


def fmin(x1: TensorLike, x2: TensorLike) -> Tensor:
    return P.minimum(_t(x1), _t(x2, _t(x1)))


def fmod(x1: TensorLike, x2: TensorLike) -> Tensor:
    """Remainder with the sign of the dividend (C's fmod)."""
    q = np.trunc(_d(x1) / _d(x2))
    return P.sub(_t(x1), P.mul(x2, _const(q.astype(_d(x1).dtype))))


def heaviside(x1: TensorLike, x2: TensorLike) -> Tensor:
    return _const(np.heaviside(_d(x1), _d(x2)))


def logaddexp2(x1: TensorLike, x2: TensorLike) -> Tensor:
    from .keras_ops import logaddexp

    ln2 = float(np.log(2.0))
    return P.div(logaddexp(P.mul(_t(x1), ln2), P.mul(_t(x2, _t(x1)), ln2)), ln2)


def isin(x1: TensorLike, x2: TensorLike, assume_unique: bool = False, invert: bool = False
         ) -> Tensor:
    return _const(np.isin(_d(x1), _d(x2), assume_unique=assume_unique, invert=invert))


def allclose(x1: TensorLike, x2: TensorLike, rtol: float = 1e-5, atol: float = 1e-8,
             equal_nan: bool = False) -> bool:
    return bool(np.allclose(_d(x1), _d(x2), rtol=rtol, atol=atol, equal_nan=equal_nan))


# ------------------------------------------------------------------ small activations
def celu(x: TensorLike, alpha: float = 1.0) -> Tensor:
    x = _t(x)
    neg = P.mul(alpha, P.sub(P.exp(P.div(P.minimum(x, 0.0), alpha)), 1.0))
    return P.add(P.maximum(x, 0.0), neg)


def hard_tanh(x: TensorLike) -> Tensor:
    return P.clip(_t(x), -1.0, 1.0)


def hard_silu(x: TensorLike) -> Tensor:
    from .keras_ops import hard_sigmoid

    return P.mul(_t(x), hard_sigmoid(x))


hard_swish = hard_silu


def hard_shrink(x: TensorLike, threshold: float = 0.5) -> Tensor:
    x = _t(x)
    return P.mul(x, _const((np.abs(_d(x)) > threshold).astype(x.dtype)))


def soft_shrink(x: TensorLike, threshold: float = 0.5) -> Tensor:
    x = _t(x)
    d = _d(x)
    return P.where(d > threshold, P.sub(x, threshold),
                   P.where(d < -threshold, P.add(x, threshold), P.mul(x, 0.0)))


def tanh_shrink(x: TensorLike) -> Tensor:
    return P.sub(_t(x), P.tanh(_t(x)))


def threshold(x: TensorLike, threshold: float, default_value: float) -> Tensor:
    x = _t(x)
    return P.where(_d(x) > threshold, x, _const(np.full_like(_d(x), default_value)))


def squareplus(x: TensorLike, b: float = 4) -> Tensor:
    x = _t(x)
    return P.mul(P.add(x, P.sqrt(P.add(P.mul(x, x), float(b)))), 0.5)


def sparse_plus(x: TensorLike) -> Tensor:
    x = _t(x)
    d = _d(x)
    mid = P.mul(P.mul(P.add(x, 1.0), P.add(x, 1.0)), 0.25)
    return P.where(d <= -1, P.mul(x, 0.0), P.where(d >= 1, x, mid))


def sparse_sigmoid(x: TensorLike) -> Tensor:
    x = _t(x)
    return P.clip(P.mul(P.add(x, 1.0), 0.5), 0.0, 1.0)


# ------------------------------------------------------------------ creation
def empty(shape: Shape, dtype: DTypeLike | None = None) -> Tensor:
    return _const(np.zeros(shape, np.dtype(dtype or backend.floatx())))


def empty_like(x: TensorLike, dtype: DTypeLike | None = None) -> Tensor:
    return _const(np.zeros_like(_d(x), dtype=dtype))


def tri(N: int, M: int | None = None, k: int = 0,  # noqa: N803 - Keras's names
        dtype: DTypeLike | None = None) -> Tensor:
    return _const(np.tri(N, M, k, dtype=np.dtype(dtype or backend.floatx())))


def geomspace(start: float | np.ndarray, stop: float | np.ndarray, num: int = 50,
              endpoint: bool = True, dtype: DTypeLike | None = None, axis: int = 0) -> Tensor:
    return _const(np.geomspace(start, stop, num, endpoint, np.dtype(dtype or backend.floatx()),
                               axis))


def logspace(start: float | np.ndarray, stop: float | np.ndarray, num: int = 50,
             endpoint: bool = True, base: float = 10, dtype: DTypeLike | None = None,
             axis: int = 0) -> Tensor:
    return _const(np.logspace(start, stop, num, endpoint, base,
                              np.dtype(dtype or backend.floatx()), axis))


def diagflat(x: TensorLike, k: int = 0) -> Tensor:
    from ._keras_ops_array import diag

    return diag(P.reshape(_t(x), (-1,)), k)


# ------------------------------------------------------------------ shapes
def fliplr(x: TensorLike) -> Tensor:
    return flip(x, 1)


def flipud(x: TensorLike) -> Tensor:
    return flip(x, 0)


def rot90(array: TensorLike, k: int = 1, axes: tuple[int, int] = (0, 1)) -> Tensor:
    x = _t(array)
    k %= 4
    for _ in range(k):
        x = P.swapaxes(flip(x, axes[1]), axes[0], axes[1])
    return x


def append(x1: TensorLike, x2: TensorLike, axis: int | None = None) -> Tensor:
    x1, x2 = _t(x1), _t(x2)
    if axis is None:
        return P.concatenate([P.reshape(x1, (-1,)), P.reshape(x2, (-1,))], axis=0)
    return P.concatenate([x1, x2], axis=axis)


def array_split(x: TensorLike, indices_or_sections: int | Sequence[int], axis: int = 0
                ) -> list[Tensor]:
    x = _t(x)
    parts = np.array_split(np.arange(x.shape[axis]), indices_or_sections)
    return [take(x, p, axis=axis) for p in parts]


def hsplit(x: TensorLike, indices_or_sections: int | Sequence[int]) -> list[Tensor]:
    return P.split(_t(x), indices_or_sections, axis=1 if _t(x).ndim > 1 else 0)


def vsplit(x: TensorLike, indices_or_sections: int | Sequence[int]) -> list[Tensor]:
    return P.split(_t(x), indices_or_sections, axis=0)


def dsplit(x: TensorLike, indices_or_sections: int | Sequence[int]) -> list[Tensor]:
    return P.split(_t(x), indices_or_sections, axis=2)


def dstack(xs: Sequence[TensorLike]) -> Tensor:
    ts = [_t(x) for x in xs]
    ts = [P.reshape(t, (1, -1, 1)) if t.ndim == 1 else
          (P.reshape(t, (*t.shape, 1)) if t.ndim == 2 else t) for t in ts]
    return P.concatenate(ts, axis=2)


def diff(a: TensorLike, n: int = 1, axis: int = -1) -> Tensor:
    x = _t(a)
    for _ in range(n):
        m = x.shape[axis]
        x = P.sub(take(x, np.arange(1, m), axis=axis), take(x, np.arange(m - 1), axis=axis))
    return x


def inner(x1: TensorLike, x2: TensorLike) -> Tensor:
    from ._keras_ops_array import tensordot

    x1, x2 = _t(x1), _t(x2)
    if x1.ndim == 0 or x2.ndim == 0:
        return P.mul(x1, x2)
    return tensordot(x1, x2, axes=([-1], [-1]))


def vdot(x1: TensorLike, x2: TensorLike) -> Tensor:
    return P.sum(P.mul(P.reshape(_t(x1), (-1,)), P.reshape(_t(x2), (-1,))))


# ------------------------------------------------------------------ statistics
def ptp(x: TensorLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
    x = _t(x)
    return P.sub(P.max(x, axis=axis, keepdims=keepdims), P.min(x, axis=axis, keepdims=keepdims))


def percentile(x: TensorLike, q: float | Sequence[float] | np.ndarray, axis: Axis = None,
               method: _QuantileMethod = "linear", keepdims: bool = False) -> Tensor:
    return _const(np.percentile(_d(x), q, axis=axis, method=method, keepdims=keepdims))


def argpartition(x: TensorLike, kth: int | Sequence[int], axis: int = -1) -> Tensor:
    return _const(np.argpartition(_d(x), kth, axis=axis))


def bincount(x: TensorLike, weights: TensorLike | None = None, minlength: int = 0,
             sparse: bool = False) -> Tensor:
    d = np.asarray(_d(x)).astype(np.int64)
    w = None if weights is None else np.asarray(_d(weights))
    if d.ndim == 2:
        return _const(np.stack([np.bincount(r, None if w is None else w[i], minlength)
                                for i, r in enumerate(d)]))
    return _const(np.bincount(d, w, minlength))


def _nan(name: str, f: Callable[..., Any]) -> Callable[..., Tensor]:
    def op(x: TensorLike, *args: Any, **kwargs: Any) -> Tensor:
        return _const(np.asarray(f(_d(x), *args, **kwargs)))

    op.__name__ = name
    op.__doc__ = f"NumPy's ``{name}``: ignores NaNs (no gradient)."
    return op


nanmax, nanmin, nanmean = _nan("nanmax", np.nanmax), _nan("nanmin", np.nanmin), \
    _nan("nanmean", np.nanmean)
nansum, nanprod = _nan("nansum", np.nansum), _nan("nanprod", np.nanprod)
nanstd, nanvar = _nan("nanstd", np.nanstd), _nan("nanvar", np.nanvar)
nanmedian = _nan("nanmedian", np.nanmedian)
nanpercentile, nanquantile = _nan("nanpercentile", np.nanpercentile), \
    _nan("nanquantile", np.nanquantile)
nanargmax, nanargmin = _nan("nanargmax", np.nanargmax), _nan("nanargmin", np.nanargmin)
nancumsum, nancumprod = _nan("nancumsum", np.nancumsum), _nan("nancumprod", np.nancumprod)

_ = _Elementwise  # re-exported helpers are shared with keras_ops

# ------------------------------------------------------------------ integers (no gradient)
_INT = "integers (or the next float), not a smooth function"
bitwise_and = _nograd("bitwise_and", np.bitwise_and, _INT)
bitwise_or = _nograd("bitwise_or", np.bitwise_or, _INT)
bitwise_xor = _nograd("bitwise_xor", np.bitwise_xor, _INT)
bitwise_left_shift = _nograd("bitwise_left_shift", np.left_shift, _INT)
bitwise_right_shift = _nograd("bitwise_right_shift", np.right_shift, _INT)
left_shift = _nograd("left_shift", np.left_shift, _INT)
right_shift = _nograd("right_shift", np.right_shift, _INT)
gcd = _nograd("gcd", np.gcd, _INT)
lcm = _nograd("lcm", np.lcm, _INT)
nextafter = _nograd("nextafter", np.nextafter, _INT)
bitwise_invert = _nograd("bitwise_invert", np.invert)
bitwise_not = _nograd("bitwise_not", np.invert)


def digitize(x: TensorLike, bins: TensorLike) -> Tensor:
    """The index of the bin each value of ``x`` falls in (NumPy's ``digitize``, as Keras):
    ``bins[i-1] <= x < bins[i]`` for increasing bins; int32, no gradient.

    Example:
        >>> digitize(np.array([0.5, 1.5]), np.array([1.0, 2.0])).data
        array([0, 1], dtype=int32)
    """
    return _const(np.digitize(_d(x), _d(bins)).astype(np.int32))


def unravel_index(indices: TensorLike, shape: Sequence[int]) -> tuple[Tensor, ...]:
    """Flat indices into arrays of ``shape`` as one tensor of coordinates per axis."""
    return tuple(_const(c) for c in np.unravel_index(_d(indices), tuple(shape)))


# ------------------------------------------------------------------ composed, differentiable
def glu(x: TensorLike, axis: int = -1) -> Tensor:
    """Gated linear unit: ``a * sigmoid(b)`` of ``x`` split in two halves along ``axis``.

    Example:
        >>> glu(np.array([[1.0, 0.0]])).data
        array([[0.5]])
    """
    x = _t(x)
    n = x.shape[axis]
    if n % 2:
        raise ValueError(f"glu: the size of axis {axis} must be even. Received: shape "
                         f"{tuple(x.shape)}")
    a, b = P.split(x, [n // 2], axis=axis)
    return P.mul(a, P.sigmoid(b))


def kron(x1: TensorLike, x2: TensorLike) -> Tensor:
    """Kronecker product (NumPy's ``kron``): every element of ``x1`` times the whole
    ``x2``, blocks laid out like ``x1``; composed from a broadcast product and a reshape."""
    a, b = _t(x1), _t(x2, _t(x1))
    nd = max(a.ndim, b.ndim)
    a = P.reshape(a, (1,) * (nd - a.ndim) + tuple(a.shape))
    b = P.reshape(b, (1,) * (nd - b.ndim) + tuple(b.shape))
    # (a0, 1, a1, 1, ...) * (1, b0, 1, b1, ...) -> (a0*b0, a1*b1, ...)
    ea = P.reshape(a, tuple(d for s in a.shape for d in (s, 1)))
    eb = P.reshape(b, tuple(d for s in b.shape for d in (1, s)))
    return P.reshape(P.mul(ea, eb), tuple(p * q for p, q in zip(a.shape, b.shape)))


def trapezoid(y: TensorLike, x: TensorLike | None = None, dx: float = 1.0,
              axis: int = -1) -> Tensor:
    """The integral of ``y`` along ``axis`` by the trapezoidal rule (NumPy's
    ``trapezoid``), at points ``x`` or spaced ``dx``."""
    y = _t(y)
    ax = axis % y.ndim
    n = y.shape[ax]

    def part(lo: int, hi: int, t: Tensor) -> Tensor:
        idx = [slice(None)] * t.ndim
        idx[ax % t.ndim] = slice(lo, hi)
        return P.getitem(t, tuple(idx))

    mids = P.mul(P.add(part(1, n, y), part(0, n - 1, y)), 0.5)
    if x is None:
        return P.mul(P.sum(mids, axis=ax), float(dx))
    xt = _t(x, y)
    d = P.sub(part(1, n, xt), part(0, n - 1, xt))
    if xt.ndim == 1 and y.ndim > 1:  # spacing along the axis, broadcast over the others
        d = P.reshape(d, tuple(n - 1 if i == ax else 1 for i in range(y.ndim)))
    return P.sum(P.mul(mids, d), axis=ax)


def ldexp(x1: TensorLike, x2: TensorLike) -> Tensor:
    """``x1 * 2**x2`` with integer exponents ``x2``; differentiable in ``x1``."""
    x1 = _t(x1)
    return P.mul(x1, _const(np.ldexp(np.ones((), _d(x1).dtype), _d(x2))))


def vander(x: TensorLike, N: int | None = None,  # noqa: N803 - Keras's argument name
           increasing: bool = False) -> Tensor:
    """The Vandermonde matrix of a 1-D ``x``: columns ``x**(N-1), ..., x, 1`` (or increasing
    powers), composed from products so that it is differentiable in ``x``."""
    x = _t(x)
    if x.ndim != 1:
        raise ValueError(f"vander: x must be 1-D. Received: shape {tuple(x.shape)}")
    n = x.shape[0] if N is None else int(N)
    cols = [P.mul(x, 0.0) + 1.0] if n else []
    for _ in range(1, n):
        cols.append(P.mul(cols[-1], x))
    if not increasing:
        cols = cols[::-1]
    return P.stack(cols, axis=1) if cols else _const(np.zeros((x.shape[0], 0), _d(x).dtype))


def corrcoef(x: TensorLike) -> Tensor:
    """Pearson correlation coefficients between the rows of ``x`` (variables × observations,
    NumPy's ``corrcoef``), composed: differentiable."""
    x = _t(x)
    if x.ndim == 1:
        x = P.reshape(x, (1, x.shape[0]))
    xc = P.sub(x, P.mean(x, axis=1, keepdims=True))
    cov = P.matmul(xc, P.transpose(xc, (1, 0)))
    d = P.sqrt(P.sum(P.mul(xc, xc), axis=1, keepdims=True))
    return P.clip(P.div(cov, P.matmul(d, P.transpose(d, (1, 0)))), -1.0, 1.0)


__all__: list[str] = sorted(n for n, v in list(globals().items())
                 if not n.startswith("_") and callable(v) and n not in
                 {"flip", "take", "annotations"} and getattr(v, "__module__", "") in
                 (__name__, "glassnet.keras_ops"))
