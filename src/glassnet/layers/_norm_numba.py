"""BatchNormalization over channels-last features, and LayerNormalization over the last
axis, compiled with numba (the ``numba`` extra).

BatchNormalization: the statistics, the normalisation and the backward's sums in three
passes forward and two backward, where the NumPy kernel in
:mod:`glassnet.layers.normalization` (the reference, tested against these to float32
rounding) makes about ten whole-array passes each way. On a (32, 28, 28, 16) conv output
that was 1.7 ms a step, more than the convolution itself. LayerNormalization: two passes
over each row forward (its sum, then the centred values and their squares) and one
backward, where the NumPy kernel makes ten and eleven calls, four and five of them
broadcasting a per-row or per-feature vector (0.9-1.0 us each on a (32, 64) input, twice a
same-shape multiply's cost): 9.4 + 11.9 us became 4.9 + 4.1 us there, hot loop, 2-vCPU Xeon; its
row sums are reassociated (vectorised), as the NumPy kernel's matrix-vector products are.

Rows are summed in blocks of ``ROWS`` (the partial sums in float64, added in block order),
so the sums, and every bit, are the same whatever the thread count. The blocks run on
numba's thread pool only where the products thread on the same GNU OpenMP team
(:func:`glassnet._optimizer_kernels.numba_threads`' rule, see ``_blocks`` there); else on
the calling thread. It runs where :func:`glassnet._optimizer_kernels.fused_available`
says so (numba loaded, or an input of ``AUTO_WORK`` elements that pays for loading it).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numba import prange

from .._optimizer_kernels import compiled

ROWS = 1024  # rows per block of the sums


def _forward(x: Any, gamma: Any, beta: Any, eps: Any, y: Any, mean: Any, var: Any,
             inv: Any, mm: Any, mv: Any, m: Any, m1: Any,
             move: bool) -> None:  # pragma: no cover - compiled by numba
    r, c = x.shape
    nb = (r + ROWS - 1) // ROWS
    part = np.zeros((nb, c))
    for b in prange(nb):
        for i in range(b * ROWS, min(r, (b + 1) * ROWS)):
            for j in range(c):
                part[b, j] += x[i, j]
    for j in range(c):
        s = 0.0
        for b in range(nb):
            s += part[b, j]
        mean[j] = s / r
    part[:] = 0.0
    for b in prange(nb):
        for i in range(b * ROWS, min(r, (b + 1) * ROWS)):
            for j in range(c):
                d = x[i, j] - mean[j]
                part[b, j] += d * d
    for j in range(c):
        s = 0.0
        for b in range(nb):
            s += part[b, j]
        var[j] = s / r
        inv[j] = 1.0 / np.sqrt(var[j] + eps)
    if move:  # the moving statistics, NumPy's ufuncs' arithmetic (x's dtype, no FMA)
        for j in range(c):
            mm[j] = mm[j] * m + mean[j] * m1
            mv[j] = mv[j] * m + var[j] * m1
    f = inv * gamma
    for b in prange(nb):
        for i in range(b * ROWS, min(r, (b + 1) * ROWS)):
            for j in range(c):
                y[i, j] = (x[i, j] - mean[j]) * f[j] + beta[j]


def _backward(gy: Any, x: Any, mean: Any, inv: Any, gamma: Any, gx: Any, s1: Any,
              s2: Any, need_x: bool) -> None:  # pragma: no cover - compiled by numba
    r, c = x.shape
    nb = (r + ROWS - 1) // ROWS
    p1 = np.zeros((nb, c))
    p2 = np.zeros((nb, c))
    for b in prange(nb):
        for i in range(b * ROWS, min(r, (b + 1) * ROWS)):
            for j in range(c):
                g = gy[i, j]
                p1[b, j] += g
                p2[b, j] += g * (x[i, j] - mean[j])
    for j in range(c):
        a = 0.0
        t = 0.0
        for b in range(nb):
            a += p1[b, j]
            t += p2[b, j]
        s1[j] = a
        s2[j] = t
    if not need_x:
        return
    m1 = s1 / r
    k2 = inv * inv * s2 / r
    k3 = inv * gamma
    for b in prange(nb):
        for i in range(b * ROWS, min(r, (b + 1) * ROWS)):
            for j in range(c):
                gx[i, j] = (gy[i, j] - m1[j] - (x[i, j] - mean[j]) * k2[j]) * k3[j]


def _ln_forward(x: Any, gamma: Any, beta: Any, eps: Any, ic: Any, zero: Any, one: Any,
                y: Any, xhat: Any, mean: Any, var: Any,
                inv: Any) -> None:  # pragma: no cover - compiled
    # zero, one, ic = 1/C, eps: scalars of x's dtype, so float32 stays float32
    r, c = x.shape
    for i in range(r):
        s = zero
        for j in range(c):
            s += x[i, j]
        m = s * ic
        v = zero
        for j in range(c):
            d = x[i, j] - m
            xhat[i, j] = d
            v += d * d
        v *= ic
        iv = one / np.sqrt(v + eps)
        mean[i], var[i], inv[i] = m, v, iv
        for j in range(c):
            h = xhat[i, j] * iv
            xhat[i, j] = h
            y[i, j] = h * gamma[j] + beta[j]


def _ln_backward(gy: Any, xhat: Any, inv: Any, gamma: Any, ic: Any, zero: Any, gx: Any,
                 gg: Any, gb: Any, need_x: bool) -> None:  # pragma: no cover - compiled
    r, c = gy.shape
    for j in range(c):
        gg[j] = zero
        gb[j] = zero
    for i in range(r):
        m1 = zero
        m2 = zero
        for j in range(c):
            g = gy[i, j]
            h = xhat[i, j]
            t = g * gamma[j]
            m1 += t
            m2 += t * h
            gg[j] += g * h
            gb[j] += g
        if need_x:
            m1 *= ic
            m2 *= ic
            iv = inv[i]
            for j in range(c):
                gx[i, j] = iv * (gy[i, j] * gamma[j] - m1 - xhat[i, j] * m2)


class LayerPlan(NamedTuple):
    """LayerNormalization's kernels and the scalars they take, made once per input signature
    (``Normalize._plan``)."""

    forward: Any  # _ln_forward, compiled
    backward: Any  # _ln_backward, compiled
    eps: Any  # epsilon, 1/C, 0 and 1 as scalars of x's dtype
    ic: Any
    zero: Any
    one: Any
    ones: np.ndarray  # gamma for scale=False
    zeros: np.ndarray  # beta for center=False
    no_gx: np.ndarray  # the (0, C) stand-in for an input gradient nobody needs


def layer_plan(dtype: Any, eps: float, c: int) -> LayerPlan:
    """:class:`LayerPlan` for rows of ``c`` values of ``dtype``."""
    dt = np.dtype(dtype)
    return LayerPlan(compiled(_ln_forward, reassociate=True),
                     compiled(_ln_backward, reassociate=True), dt.type(eps),
                     dt.type(1.0 / c), dt.type(0), dt.type(1), np.ones(c, dt),
                     np.zeros(c, dt), np.empty((0, c), dt))


def _kernel(name: str, parallel: bool) -> Any:
    # the threaded and the one-thread compilations are cached under two names (see
    # _optimizer_kernels._cache_name); below 2 * ROWS rows the one-thread one runs
    return compiled(globals()[name], parallel)


def _parallel(rows: int) -> bool:
    if rows < 2 * ROWS:  # (asked first: a small batch, the common case, skips the import)
        return False
    from .._optimizer_kernels import _blocks

    return _blocks(1 << 30) > 1


def forward(x2: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: Any,
            moving: tuple[Any, ...] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(y, stats) of a (rows, C) array normalised per column: ``stats`` (3, C) holds the
    mean, the variance and 1/sqrt(var + eps) (``eps`` a scalar of x2's dtype).
    ``moving``: (moving_mean, moving_var, momentum, 1 - momentum), the statistics (C,
    contiguous, x2's dtype) moved toward the batch's in the same call, as
    ``moving * momentum + batch * (1 - momentum)``."""
    y = np.empty_like(x2)
    st = np.empty((3, x2.shape[1]), x2.dtype)
    mm, mv, m, m1 = moving if moving is not None else (st[0], st[1], eps, eps)
    _kernel("_forward", _parallel(x2.shape[0]))(x2, gamma, beta, eps, y, st[0], st[1], st[2],
                                                mm, mv, m, m1, moving is not None)
    return y, st


def backward(gy2: np.ndarray, x2: np.ndarray, mean: np.ndarray, inv: np.ndarray,
             gamma: np.ndarray, need_x: bool) -> tuple[Any, np.ndarray, np.ndarray]:
    """(gx or None, sum(gy), sum(gy * (x - mean))) per column, for :func:`forward`'s
    statistics."""
    c, dt = x2.shape[1], x2.dtype
    gx = np.empty_like(x2) if need_x else np.empty((0, c), dt)
    s1, s2 = np.empty(c, dt), np.empty(c, dt)
    _kernel("_backward", _parallel(x2.shape[0]))(np.ascontiguousarray(gy2, dtype=dt), x2,
                                                 mean, inv, gamma, gx, s1, s2, need_x)
    return (gx if need_x else None), s1, s2
