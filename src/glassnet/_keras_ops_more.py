"""More of Keras 3's ``keras.ops``: the NumPy-like long tail and the small activations.

Part of :mod:`glassnet.keras_ops` (split for size). Float results that a model may train
through are composed from differentiable ops; the rest (NaN-aware statistics, splits of
index ranges, counting) return constants, as their Keras counterparts have no useful
gradient either.
"""

from __future__ import annotations

import numpy as np

from . import backend
from . import ops as P
from ._keras_ops_array import _const, _d, _t, flip, take
from .activations import _erf
from .keras_ops import _Elementwise, _nograd, _unary

# ------------------------------------------------------------------ elementwise
erf = _unary("erf", lambda x: _erf(x, np).astype(x.dtype),
             lambda x, y: (2 / np.sqrt(np.pi) * np.exp(-x * x)).astype(x.dtype))
deg2rad = _unary("deg2rad", np.deg2rad, lambda x, y: np.full_like(x, np.pi / 180))
rad2deg = _unary("rad2deg", np.rad2deg, lambda x, y: np.full_like(x, 180 / np.pi))
sinc = _unary("sinc", np.sinc, lambda x, y: np.where(
    x == 0, 0.0, (np.cos(np.pi * x) - np.sinc(x)) / np.where(x == 0, 1, x)).astype(x.dtype))
isneginf = _nograd("isneginf", np.isneginf)
isposinf = _nograd("isposinf", np.isposinf)


def erfc(x):
    return P.sub(1.0, erf(x))


def hypot(x1, x2):
    x1 = _t(x1)
    return P.sqrt(P.add(P.mul(x1, x1), P.mul(_t(x2, x1), _t(x2, x1))))


def fmax(x1, x2):
    return P.maximum(_t(x1), _t(x2, _t(x1)))


def fmin(x1, x2):
    return P.minimum(_t(x1), _t(x2, _t(x1)))


def fmod(x1, x2):
    """Remainder with the sign of the dividend (C's fmod)."""
    q = np.trunc(_d(x1) / _d(x2))
    return P.sub(_t(x1), P.mul(x2, _const(q.astype(_d(x1).dtype))))


def heaviside(x1, x2):
    return _const(np.heaviside(_d(x1), _d(x2)))


def logaddexp2(x1, x2):
    from .keras_ops import logaddexp

    ln2 = float(np.log(2.0))
    return P.div(logaddexp(P.mul(_t(x1), ln2), P.mul(_t(x2, _t(x1)), ln2)), ln2)


def isin(x1, x2, assume_unique=False, invert=False):
    return _const(np.isin(_d(x1), _d(x2), assume_unique=assume_unique, invert=invert))


def allclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    return bool(np.allclose(_d(x1), _d(x2), rtol=rtol, atol=atol, equal_nan=equal_nan))


# ------------------------------------------------------------------ small activations
def celu(x, alpha=1.0):
    x = _t(x)
    neg = P.mul(alpha, P.sub(P.exp(P.div(P.minimum(x, 0.0), alpha)), 1.0))
    return P.add(P.maximum(x, 0.0), neg)


def hard_tanh(x):
    return P.clip(_t(x), -1.0, 1.0)


def hard_silu(x):
    from .keras_ops import hard_sigmoid

    return P.mul(_t(x), hard_sigmoid(x))


hard_swish = hard_silu


def hard_shrink(x, threshold=0.5):
    x = _t(x)
    return P.mul(x, _const((np.abs(_d(x)) > threshold).astype(x.dtype)))


def soft_shrink(x, threshold=0.5):
    x = _t(x)
    d = _d(x)
    return P.where(d > threshold, P.sub(x, threshold),
                   P.where(d < -threshold, P.add(x, threshold), P.mul(x, 0.0)))


def tanh_shrink(x):
    return P.sub(_t(x), P.tanh(_t(x)))


def threshold(x, threshold, default_value):
    x = _t(x)
    return P.where(_d(x) > threshold, x, _const(np.full_like(_d(x), default_value)))


def squareplus(x, b=4):
    x = _t(x)
    return P.mul(P.add(x, P.sqrt(P.add(P.mul(x, x), float(b)))), 0.5)


def sparse_plus(x):
    x = _t(x)
    d = _d(x)
    mid = P.mul(P.mul(P.add(x, 1.0), P.add(x, 1.0)), 0.25)
    return P.where(d <= -1, P.mul(x, 0.0), P.where(d >= 1, x, mid))


def sparse_sigmoid(x):
    x = _t(x)
    return P.clip(P.mul(P.add(x, 1.0), 0.5), 0.0, 1.0)


# ------------------------------------------------------------------ creation
def empty(shape, dtype=None):
    return _const(np.zeros(shape, np.dtype(dtype or backend.floatx())))


def empty_like(x, dtype=None):
    return _const(np.zeros_like(_d(x), dtype=dtype))


def tri(N, M=None, k=0, dtype=None):  # noqa: N803 - Keras's names
    return _const(np.tri(N, M, k, dtype=np.dtype(dtype or backend.floatx())))


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    return _const(np.geomspace(start, stop, num, endpoint, np.dtype(dtype or backend.floatx()),
                               axis))


def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    return _const(np.logspace(start, stop, num, endpoint, base,
                              np.dtype(dtype or backend.floatx()), axis))


def diagflat(x, k=0):
    from ._keras_ops_array import diag

    return diag(P.reshape(_t(x), (-1,)), k)


# ------------------------------------------------------------------ shapes
def fliplr(x):
    return flip(x, 1)


def flipud(x):
    return flip(x, 0)


def rot90(array, k=1, axes=(0, 1)):
    x = _t(array)
    k %= 4
    for _ in range(k):
        x = P.swapaxes(flip(x, axes[1]), axes[0], axes[1])
    return x


def append(x1, x2, axis=None):
    x1, x2 = _t(x1), _t(x2)
    if axis is None:
        return P.concatenate([P.reshape(x1, (-1,)), P.reshape(x2, (-1,))], axis=0)
    return P.concatenate([x1, x2], axis=axis)


def array_split(x, indices_or_sections, axis=0):
    x = _t(x)
    parts = np.array_split(np.arange(x.shape[axis]), indices_or_sections)
    return [take(x, p, axis=axis) for p in parts]


def hsplit(x, indices_or_sections):
    return P.split(_t(x), indices_or_sections, axis=1 if _t(x).ndim > 1 else 0)


def vsplit(x, indices_or_sections):
    return P.split(_t(x), indices_or_sections, axis=0)


def dsplit(x, indices_or_sections):
    return P.split(_t(x), indices_or_sections, axis=2)


def dstack(xs):
    ts = [_t(x) for x in xs]
    ts = [P.reshape(t, (1, -1, 1)) if t.ndim == 1 else
          (P.reshape(t, (*t.shape, 1)) if t.ndim == 2 else t) for t in ts]
    return P.concatenate(ts, axis=2)


def diff(a, n=1, axis=-1):
    x = _t(a)
    for _ in range(n):
        m = x.shape[axis]
        x = P.sub(take(x, np.arange(1, m), axis=axis), take(x, np.arange(m - 1), axis=axis))
    return x


def inner(x1, x2):
    from ._keras_ops_array import tensordot

    x1, x2 = _t(x1), _t(x2)
    if x1.ndim == 0 or x2.ndim == 0:
        return P.mul(x1, x2)
    return tensordot(x1, x2, axes=([-1], [-1]))


def vdot(x1, x2):
    return P.sum(P.mul(P.reshape(_t(x1), (-1,)), P.reshape(_t(x2), (-1,))))


# ------------------------------------------------------------------ statistics
def ptp(x, axis=None, keepdims=False):
    x = _t(x)
    return P.sub(P.max(x, axis=axis, keepdims=keepdims), P.min(x, axis=axis, keepdims=keepdims))


def percentile(x, q, axis=None, method="linear", keepdims=False):
    return _const(np.percentile(_d(x), q, axis=axis, method=method, keepdims=keepdims))


def argpartition(x, kth, axis=-1):
    return _const(np.argpartition(_d(x), kth, axis=axis))


def bincount(x, weights=None, minlength=0, sparse=False):
    d = np.asarray(_d(x)).astype(np.int64)
    w = None if weights is None else np.asarray(_d(weights))
    if d.ndim == 2:
        return _const(np.stack([np.bincount(r, None if w is None else w[i], minlength)
                                for i, r in enumerate(d)]))
    return _const(np.bincount(d, w, minlength))


def _nan(name, f):
    def op(x, *args, **kwargs):
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

__all__: list[str] = sorted(n for n, v in list(globals().items())
                 if not n.startswith("_") and callable(v) and n not in
                 {"flip", "take", "annotations"} and getattr(v, "__module__", "") in
                 (__name__, "glassnet.keras_ops"))
