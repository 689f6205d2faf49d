"""More of Keras 3's ``keras.ops``: ``psnr``, ``cdist``, ``cross``, ``erfinv``,
``histogram``, ``saturate_cast``, ``sparsemax``, ``extract_sequences``, ``view``,
``correlate``, ``vectorize``, ``associative_scan``, ``rearrange`` and ``i0``.

The differentiable ones are composed from the primitive ops (``psnr``, ``cdist``,
``cross``) or are one elementwise op with its derivative (``erfinv``); ``histogram`` and
``saturate_cast`` return constants, as their Keras counterparts have no useful gradient.
Part of :mod:`glassnet.keras_ops`.

Example:
    >>> cross(np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])).data.tolist()
    [0.0, 0.0, 1.0]
"""

from __future__ import annotations

import builtins
import functools
import math
import re
from typing import TYPE_CHECKING, Any

import numpy as np

from . import backend
from . import ops as P
from ._keras_ops_array import _const, _d, _t, moveaxis
from .autograd import Function
from .keras_ops import _unary

if TYPE_CHECKING:
    from collections.abc import Callable

    from numpy.typing import DTypeLike

    from ._typing import TensorLike
    from .tensor import Tensor

__all__: list[str] = ["psnr", "cdist", "cross", "erfinv", "histogram", "saturate_cast",
                      "sparsemax", "extract_sequences", "view", "correlate", "vectorize",
                      "associative_scan", "rearrange", "i0"]


def psnr(x1: TensorLike, x2: TensorLike, max_val: float) -> Tensor:
    """Peak signal-to-noise ratio of two images, in dB: 20·log10(max_val) − 10·log10(mse)
    with the mean squared error over all values (keras.io's super-resolution metric).

    Example:
        >>> round(float(psnr(np.zeros(4), np.full(4, 0.1), 1.0).data), 4)
        20.0
    """
    a, b = _t(x1), _t(x2)
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(f"psnr: x1 and x2 must have the same shape. Received: "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")
    d = P.sub(a, b)
    mse = P.mean(P.mul(d, d))
    return P.sub(20 * math.log10(max_val), P.mul(P.log(mse), 10 / math.log(10)))


def cdist(x: TensorLike, y: TensorLike) -> Tensor:
    """Pairwise Euclidean distances between the rows of ``x`` (..., P, M) and of ``y``
    (..., R, M): (..., P, R).

    Example:
        >>> cdist(np.array([[0.0, 0.0]]), np.array([[3.0, 4.0], [0.0, 1.0]])).data.tolist()
        [[5.0, 1.0]]
    """
    a, b = _t(x), _t(y)
    if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-1]:
        raise ValueError(f"cdist: x and y must be (..., P, M) and (..., R, M). Received: "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")
    d = P.sub(P.expand_dims(a, -2), P.expand_dims(b, -3))  # (..., P, R, M)
    return P.sqrt(P.sum(P.mul(d, d), axis=-1))


def cross(x1: TensorLike, x2: TensorLike, axisa: int = -1, axisb: int = -1, axisc: int = -1,
          axis: int | None = None) -> Tensor:
    """Cross product of 3-vectors along ``axisa`` of ``x1`` and ``axisb`` of ``x2`` (or
    ``axis`` for all three), the result's vectors along ``axisc``.

    Example:
        >>> cross(np.array([[0.0, 1.0, 0.0]]), np.array([[0.0, 0.0, 1.0]])).data.tolist()
        [[1.0, 0.0, 0.0]]
    """
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = moveaxis(_t(x1), axisa, -1), moveaxis(_t(x2), axisb, -1)
    if a.shape[-1] != 3 or b.shape[-1] != 3:
        raise ValueError(f"cross: the vectors must have 3 components. Received: shapes "
                         f"{tuple(_t(x1).shape)} and {tuple(_t(x2).shape)}")
    ax = [a[..., i] for i in range(3)]
    bx = [b[..., i] for i in range(3)]
    c = P.stack([P.sub(P.mul(ax[1], bx[2]), P.mul(ax[2], bx[1])),
                 P.sub(P.mul(ax[2], bx[0]), P.mul(ax[0], bx[2])),
                 P.sub(P.mul(ax[0], bx[1]), P.mul(ax[1], bx[0]))], axis=-1)
    return moveaxis(c, -1, axisc)


def _erfinv(y: Any, xp: Any) -> Any:
    """Inverse error function: Giles's single-precision approximation, then two Newton
    steps on erf (to float64 rounding); ±1 give ±inf, beyond them NaN."""
    from .activations import _erf

    y64 = y.astype(np.float64)
    w = -xp.log(xp.maximum((1.0 - y64) * (1.0 + y64), 1e-300))
    small = w < 5.0
    ws = w - 2.5
    p1 = 2.81022636e-08
    for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
              -0.00125372503, -0.00417768164, 0.246640727, 1.50140941):
        p1 = c + p1 * ws
    wl = xp.sqrt(w) - 3.0
    p2 = -0.000200214257
    for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
              -0.0076224613, 0.00943887047, 1.00167406, 2.83297682):
        p2 = c + p2 * wl
    x = xp.where(small, p1, p2) * y64
    for _ in range(2):  # Newton on erf(x) = y: erf' = 2/sqrt(pi) exp(-x²)
        x = x - (_erf(x, xp) - y64) / (2 / math.sqrt(math.pi) * xp.exp(-x * x))
    x = xp.where(xp.abs(y64) == 1, xp.sign(y64) * xp.inf, x)
    return xp.where(xp.abs(y64) > 1, xp.nan, x).astype(y.dtype)


erfinv = _unary("erfinv", lambda x: _erfinv(x, backend.get_array_module(x)),
                lambda x, y: (math.sqrt(math.pi) / 2 * np.exp(y.astype(np.float64) ** 2)
                              ).astype(x.dtype))


def _i1(x: Any) -> Any:
    """The modified Bessel function I₁ (float64): its power series Σ (x/2)^(2k+1)/(k!(k+1)!)
    up to |x| = 30 (60 terms reach float64 rounding there), the asymptotic series
    e^|x|/√(2π|x|)·Σ (−1)^k a_k/|x|^k beyond (eight terms), odd in x."""
    x = np.asarray(x, np.float64)
    a = np.abs(x)
    term = a / 2
    small = term.copy()
    for k in builtins.range(1, 60):
        term = term * (a / 2) ** 2 / (k * (k + 1))
        small = small + term
    big = np.ones_like(a)
    coef = np.ones_like(a)
    safe = np.maximum(a, 30.0)
    for k in builtins.range(1, 9):  # a_k(1) = Π_j (4 − (2j − 1)²) / (k! 8^k)
        coef = coef * (4 - (2 * k - 1) ** 2) / (k * 8 * safe) * -1
        big = big + coef
    with np.errstate(over="ignore"):
        big = big * np.exp(safe) / np.sqrt(2 * np.pi * safe)
    return np.sign(x) * np.where(a <= 30.0, small, big)


i0 = _unary("i0", np.i0, lambda x, y: _i1(x).astype(x.dtype))
i0.__doc__ = """The modified Bessel function of the first kind of order 0 (keras.ops.i0, NumPy's
    values); differentiable, its derivative I₁.

    Example:
        >>> round(float(i0(np.array([1.0])).data[0]), 6)
        1.266066
    """


def histogram(x: TensorLike, bins: int = 10, range: tuple[float, float] | None = None
              ) -> tuple[Tensor, Tensor]:
    """Counts of the values of a 1-D ``x`` in ``bins`` equal bins over ``range`` (the
    values' own by default): (counts, bin edges), as NumPy's ``histogram``.

    Example:
        >>> [t.data.tolist() for t in histogram(np.array([0.0, 1.0, 1.0]), bins=2)]
        [[1, 2], [0.0, 0.5, 1.0]]
    """
    a = np.asarray(backend.asnumpy(_d(x)))
    if a.ndim != 1:
        raise ValueError(f"histogram: x must be 1-D. Received: shape {a.shape}")
    counts, edges = np.histogram(a, bins=bins, range=range)
    dtype = a.dtype if a.dtype.kind == "f" else backend.floatx()
    return _const(counts.astype(np.int32)), _const(edges.astype(dtype))


def saturate_cast(x: TensorLike, dtype: DTypeLike) -> Tensor:
    """``x`` clipped to the range of ``dtype``, then cast to it (no wrap-around: 300 as
    uint8 is 255).

    Example:
        >>> saturate_cast(np.array([-5.0, 300.0]), "uint8").data.tolist()
        [0, 255]
    """
    a = _d(x)
    xp = backend.get_array_module(a)
    to = np.dtype(dtype)
    info = np.iinfo(to) if to.kind in "iu" else np.finfo(to) if to.kind == "f" else None
    if info is not None and a.dtype.kind == "f":
        a = xp.clip(a, info.min, info.max)
    elif info is not None and a.dtype.kind in "iu":  # in int64 (no overflow at the bounds)
        wide = np.iinfo(np.int64)
        a = xp.clip(a.astype(np.int64), max(int(info.min), wide.min),
                    min(int(info.max), wide.max))
    return _const(xp.asarray(a).astype(to))


def sparsemax(x: TensorLike, axis: int = -1) -> Tensor:
    """keras.ops.sparsemax: :func:`glassnet.activations.sparsemax` (the published
    threshold; Keras 3.15's outputs did not sum to 1, keras-team/keras#23425)."""
    from .activations import sparsemax as _sparsemax

    return _sparsemax(x, axis=axis)


def extract_sequences(x: TensorLike, sequence_length: int, sequence_stride: int) -> Tensor:
    """Frames of ``sequence_length`` values every ``sequence_stride`` along the last axis:
    (..., num_frames, sequence_length), num_frames = 1 + (n − length) // stride (an
    audio signal cut into overlapping windows); the gradient sums over the frames.

    Example:
        >>> extract_sequences(np.arange(5.0), 3, 2).data.tolist()
        [[0.0, 1.0, 2.0], [2.0, 3.0, 4.0]]
    """
    from ._tape import constant_array

    t = _t(x)
    n = t.shape[-1] if t.ndim else 0
    if not (isinstance(sequence_length, int) and isinstance(sequence_stride, int)
            and 0 < sequence_length <= n and sequence_stride > 0):
        raise ValueError(f"extract_sequences: sequence_length must be in [1, {n}] (the "
                         "last axis) and sequence_stride >= 1. Received: "
                         f"{sequence_length!r}, {sequence_stride!r}")
    frames = 1 + (n - sequence_length) // sequence_stride
    # the frames' positions depend on the shape alone: a recorded step may replay them
    idx = constant_array(np.arange(frames)[:, None] * sequence_stride
                         + np.arange(sequence_length))
    return P.getitem(t, (Ellipsis, idx))


def view(x: TensorLike, dtype: DTypeLike | None = None) -> Tensor:
    """The same bytes read as ``dtype`` (keras.ops.view; the last axis rescaled by the
    itemsizes' ratio, as NumPy's ``view``); a new array, without a gradient.

    Example:
        >>> view(np.array([1.0], "float32"), "int32").data.tolist()
        [1065353216]
    """
    a = _d(x)
    if dtype is None:
        return _const(a.copy())
    return _const(a.view(np.dtype(dtype)).copy())


class _Correlate(Function):
    """The cross-correlation of two vectors: the full one (every overlap, PyTorch's conv1d
    of ``x1`` padded by len(x2) − 1), then the slice ``mode`` keeps."""

    def __init__(self, mode: str) -> None:
        self.mode = mode

    def _span(self, n: int, m: int) -> tuple[int, int]:
        full = n + m - 1
        if self.mode == "full":
            return 0, full
        size = max(n, m) - min(n, m) + 1 if self.mode == "valid" else n
        start = (full - size) // 2
        return start, start + size

    def forward(self, a: Any, v: Any) -> Any:
        xp = backend.get_array_module(a)
        n, m = a.shape[0], v.shape[0]
        self.a, self.v = a, v
        ap = xp.pad(a, (m - 1, m - 1))
        full = xp.stack([ap[k:k + m] @ v for k in range(n + m - 1)]) if n + m > 1 else (
            xp.zeros(0, a.dtype))
        lo, hi = self._span(n, m)
        return full[lo:hi]

    def backward(self, gy: Any) -> Any:
        xp = backend.get_array_module(gy)
        a, v = self.a, self.v
        n, m = a.shape[0], v.shape[0]
        g = xp.zeros(n + m - 1, gy.dtype)
        lo, hi = self._span(n, m)
        g[lo:hi] = gy
        # full[k] = Σ_j ap[k + j]·v[j]: ap's gradient is g convolved with v, v's the
        # correlation of ap with g
        ga = xp.convolve(g, v)[m - 1:m - 1 + n]
        gv = xp.correlate(xp.pad(a, (m - 1, m - 1)), g, "valid")
        return ga.astype(a.dtype, copy=False), gv.astype(v.dtype, copy=False)


def correlate(x1: TensorLike, x2: TensorLike, mode: str = "valid") -> Tensor:
    """The cross-correlation of two 1-D tensors (keras.ops.correlate, as Keras's PyTorch
    backend computes it): ``"full"`` every overlap (len(x1) + len(x2) − 1 values),
    ``"valid"`` the max − min + 1 central ones, ``"same"`` the len(x1) central ones.
    Differentiable in both.

    Example:
        >>> correlate(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 0.5]), "full").data
        array([0.5, 2. , 3.5, 3. , 0. ])
    """
    a, v = _t(x1), _t(x2)
    if mode not in ("valid", "same", "full"):
        raise ValueError(f"correlate: mode must be 'valid', 'same' or 'full'. Received: "
                         f"{mode!r}")
    if a.ndim != 1 or v.ndim != 1 or not a.shape[0] or not v.shape[0]:
        raise ValueError(f"correlate: x1 and x2 must be non-empty 1-D tensors. Received: "
                         f"shapes {tuple(a.shape)} and {tuple(v.shape)}")
    dt = np.result_type(a.data.dtype, v.data.dtype)
    if dt.kind != "f":  # integers correlate in float64, as Keras
        dt = np.dtype("float64")
    a = a if a.data.dtype == dt else P.cast(a, dt)
    v = v if v.data.dtype == dt else P.cast(v, dt)
    out = _Correlate(mode)(a, v)
    # one value comes back as a scalar, as Keras squeezes the result
    return P.reshape(out, ()) if out.shape[0] == 1 else out


def _core_dims(signature: str) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    """``"(m,n),(n)->(m)"`` as ([("m", "n"), ("n",)], [("m",)]) (NumPy's gufunc form)."""
    arg = r"\((?:\w+(?:\s*,\s*\w+)*)?\)"
    if not re.fullmatch(rf"\s*{arg}(?:\s*,\s*{arg})*\s*->\s*{arg}(?:\s*,\s*{arg})*\s*",
                        signature):
        raise ValueError(f"vectorize: signature must look like '(m,n),(n)->(m)'. Received: "
                         f"{signature!r}")
    ins, outs = signature.split("->")

    def dims(side: str) -> list[tuple[str, ...]]:
        return [tuple(d for d in re.split(r"\s*,\s*", g.strip()) if d)
                for g in re.findall(r"\(([^)]*)\)", side)]

    return dims(ins), dims(outs)


def vectorize(pyfunc: Callable[..., Any], *, excluded: Any = None,
              signature: str | None = None) -> Callable[..., Any]:
    """``pyfunc`` applied over the leading (broadcast) axes of its tensor arguments, as
    NumPy's ``vectorize`` (keras.ops.vectorize): scalars by default, or the core shapes a
    ``signature`` names ("(m,n),(n)->(m)"); arguments at the positions in ``excluded``
    pass as they are. The results are stacked, so gradients flow through ``pyfunc``'s ops.

    Example:
        >>> vectorize(lambda a, b: a + b)(np.array([1.0, 2.0]), 2.0).data.tolist()
        [3.0, 4.0]
    """
    if not callable(pyfunc):
        raise ValueError(f"vectorize: pyfunc must be callable. Received: {pyfunc!r}")
    skip = set(excluded or ())
    cores = _core_dims(signature) if signature is not None else None

    @functools.wraps(pyfunc)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        at = [i for i, a in enumerate(args) if i not in skip and a is not None]
        ts = [_t(args[i]) for i in at]
        core = cores[0] if cores else [()] * len(ts)
        if len(core) != len(ts):
            raise ValueError(f"vectorize: the signature {signature!r} names {len(core)} "
                             f"inputs; {len(ts)} were given")
        sizes: dict[str, int] = {}
        for t, dims in zip(ts, core):
            if t.ndim < len(dims):
                raise ValueError(f"vectorize: an input of shape {tuple(t.shape)} has fewer "
                                 f"axes than its core dimensions {dims}")
            for d, n in zip(dims, t.shape[t.ndim - len(dims):]):
                if sizes.setdefault(d, n) != n:
                    raise ValueError(f"vectorize: core dimension {d!r} is {sizes[d]} and "
                                     f"{n} in the inputs")
        loop = np.broadcast_shapes(*[tuple(t.shape[:t.ndim - len(d)])
                                     for t, d in zip(ts, core)])
        ts = [P.broadcast_to(t, loop + tuple(t.shape[t.ndim - len(d):]))
              if tuple(t.shape[:t.ndim - len(d)]) != loop else t for t, d in zip(ts, core)]
        results = []
        for idx in np.ndindex(*loop):
            call = list(args)
            for i, t in zip(at, ts):
                call[i] = P.getitem(t, idx) if idx else t
            results.append(pyfunc(*call, **kwargs))
        if not loop:
            return results[0]

        def gather(rs: list[Any]) -> Tensor:
            s = P.stack([_t(r) for r in rs])
            return P.reshape(s, loop + tuple(s.shape[1:]))

        if isinstance(results[0], tuple):
            return tuple(gather([r[k] for r in results]) for k in range(len(results[0])))
        return gather(results)

    return wrapped


def _flatten(tree: Any) -> tuple[list[Any], Callable[[list[Any]], Any]]:
    """The leaves of a tuple/list/dict tree, and a function packing leaves back into it."""
    if isinstance(tree, (tuple, list)):
        parts = [_flatten(t) for t in tree]
        counts = [len(leaves) for leaves, _ in parts]

        def pack_seq(leaves: list[Any]) -> Any:
            out, k = [], 0
            for (_, pack), c in zip(parts, counts):
                out.append(pack(leaves[k:k + c]))
                k += c
            return type(tree)(out)

        return [leaf for leaves, _ in parts for leaf in leaves], pack_seq
    if isinstance(tree, dict):
        keys = list(tree)
        leaves, pack = _flatten([tree[k] for k in keys])
        return leaves, lambda ls: dict(zip(keys, pack(ls)))
    return [tree], lambda ls: ls[0]


def associative_scan(f: Callable[[Any, Any], Any], elems: Any, reverse: bool = False,
                     axis: int = 0) -> Any:
    """Inclusive scan of ``elems`` (a tensor, or a tuple/list/dict of them, all of one
    length along ``axis``) with the associative ``f`` (keras.ops.associative_scan, as
    ``jax.lax.associative_scan``): result[i] = f(…f(f(e[0], e[1]), e[2])…, e[i]).

    ``f`` is called on slices that keep ``axis`` (of length one here), as JAX calls it on
    slices of any length; ``reverse`` scans from the end. Values are the same as JAX's
    parallel order up to floating-point rounding; gradients flow through ``f``'s ops.

    Example:
        >>> associative_scan(lambda a, b: a + b, np.array([1.0, 2.0, 3.0])).data.tolist()
        [1.0, 3.0, 6.0]
    """
    if not callable(f):
        raise TypeError(f"associative_scan: f must be callable. Received: {f!r}")
    leaves, pack = _flatten(elems)
    ts = [_t(t) for t in leaves]
    if not ts or any(t.ndim == 0 for t in ts):
        raise ValueError("associative_scan: elems must hold tensors of at least one axis")
    n = ts[0].shape[axis]
    if any(t.shape[axis] != n for t in ts):
        raise ValueError(f"associative_scan: every array must have the same length along "
                         f"axis {axis}. Received: shapes {[tuple(t.shape) for t in ts]}")

    def at(t: Tensor, i: int) -> Tensor:
        return P.getitem(t, (builtins.slice(None),) * (axis % t.ndim)
                         + (builtins.slice(i, i + 1),))

    order = range(n - 1, -1, -1) if reverse else range(n)
    acc: list[Tensor] | None = None
    steps: list[list[Tensor]] = []
    for i in order:
        cur = [at(t, i) for t in ts]
        acc = cur if acc is None else _flatten(f(pack(acc), pack(cur)))[0]
        acc = [_t(a) for a in acc]
        steps.append(acc)
    if reverse:
        steps.reverse()
    return pack([P.concatenate([s[k] for s in steps], axis=axis) for k in range(len(ts))])


def rearrange(tensor: TensorLike, pattern: str, **axes_lengths: int) -> Tensor:
    """Reorder, merge and split axes by an einops pattern (keras.ops.rearrange):
    ``"b h w c -> b c h w"``, ``"b h w c -> b (h w) c"``, ``"b (h1 h) w c -> (b h1) h w c"``
    with ``h1=2``; one reshape, one transpose, one reshape, so differentiable.

    Example:
        >>> rearrange(np.zeros((2, 6, 4, 3)), "b (h1 h) w c -> (b h1) h w c", h1=2).shape
        (4, 3, 4, 3)
    """
    t = _t(tensor)
    sides = re.split(r"\s*->\s*", pattern.strip())
    token = r"\w+|\([\w\s]*\)"
    if (len(sides) != 2 or any(re.sub(token, "", s).strip() for s in sides)):
        raise ValueError(f"rearrange: pattern must look like 'b h w c -> b (h w) c'. "
                         f"Received: {pattern!r}")
    groups_in, groups_out = ([re.findall(r"\w+", a) for a in re.findall(token, s)]
                             for s in sides)
    if len(groups_in) != t.ndim:
        raise ValueError(f"rearrange: the pattern's input {sides[0]!r} names {len(groups_in)} "
                         f"axes; the tensor has shape {tuple(t.shape)}")
    names_in = [a for g in groups_in for a in g]
    names_out = [a for g in groups_out for a in g]
    if sorted(names_in) != sorted(names_out) or len(set(names_in)) != len(names_in):
        raise ValueError(f"rearrange: each axis must appear once on each side of {pattern!r}")
    sizes = dict(axes_lengths)
    for group, dim in zip(groups_in, t.shape):
        unknown = [a for a in group if a not in sizes]
        known = math.prod(sizes[a] for a in group if a in sizes)
        if len(unknown) > 1 or (not unknown and known != dim) or (unknown and dim % known):
            raise ValueError(f"rearrange: axis ({' '.join(group)}) of length {dim} cannot be "
                             f"split with {axes_lengths}")
        if unknown:
            sizes[unknown[0]] = dim // known
    t = P.reshape(t, tuple(sizes[a] for a in names_in))
    t = P.transpose(t, tuple(names_in.index(a) for a in names_out))
    return P.reshape(t, tuple(math.prod(sizes[a] for a in g) for g in groups_out))
