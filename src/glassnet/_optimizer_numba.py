"""numba kernels of the optimizers, imported only when they run (see
:mod:`glassnet._optimizer_kernels`, which keeps the NumPy reference and chooses).

Module-level and ``cache=True``, so the next process loads them from disk instead of
compiling. ``error_model="numpy"``: numba's default model tests every float division for
zero (to raise ``ZeroDivisionError``), a branch that stops LLVM's vectoriser; measured on a
2-vCPU Xeon, Adam on 670k float32: 1.25 ms with the test, 0.47 ms without it, where NumPy's
eleven passes take 1.9 ms. Division by zero then gives inf/NaN, as NumPy does.

Subnormal moments are flushed to zero, as TensorFlow's flush-to-zero mode does for Keras.
Where a weight's gradient stays zero (a dead ReLU unit), m decays by β₁ each step until
``m·(1−β₁)`` rounds to nothing: m then sticks at a subnormal value for good, and every
arithmetic operation on it takes a microcode assist. The MNIST MLP at batch 1 went from 3.3
to 10.6 ms a step after ~900 steps, with a quarter of m subnormal. The flush cannot change
a weight: such a step, ``α·m/(√v + ε)``, is below 1e-30 of the weight, so the weights stay
the bits of the NumPy reference's (tested); only those slots hold 0 instead of ~1e-39.
Multiplying by 0 keeps the sign, and a NaN stays NaN.

For the same reason ``g·g`` is taken as 0 where ``|g| < √tiny`` (1.1e-19 in float32), as
flush-to-zero would make it: a small conv classifier had 32,769 of its 328k gradients
between 1e-25 and 1e-19, and its update took 1.7 ms instead of 0.21 ms (2-vCPU Xeon). The
flushed part of ``v`` is below 1e-41; with ``ε = 1e-7``, ``√v + ε`` keeps its bits, and so
does the step.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._numba import njit

_OPTS: dict[str, Any] = {"cache": True, "nogil": True, "error_model": "numpy"}


@njit(inline="always", **_OPTS)
def _adam_element(gi: Any, mi: Any, vi: Any, c1: Any, c2: Any, eps: Any, alpha: Any,
                  tiny: Any, root: Any) -> tuple[Any, Any, Any]:  # pragma: no cover
    """One element's Adam update: (new m, new v, step); ``root`` = √tiny."""
    mi += (gi - mi) * c1
    # g*g computed only where it is a normal number (0 elsewhere, as flush-to-zero
    # gives): a subnormal or underflowing product takes a microcode assist per element
    # (see the module's docstring)
    gs = gi * (np.abs(gi) >= root)
    vi += (gs * gs - vi) * c2
    # a subnormal moment is flushed to zero (see the module's docstring); a multiply by
    # the comparison, not a branch, so the loop still vectorises (1.04 -> 0.42 ms)
    mi = mi * (np.abs(mi) >= tiny)
    vi = vi * (vi >= tiny)
    return mi, vi, mi / (np.sqrt(vi) + eps) * alpha


@njit(inline="always", **_OPTS)
def _adam_span(g: Any, m: Any, v: Any, d: Any, c1: Any, c2: Any, eps: Any, alpha: Any,
               tiny: Any, lo: int, hi: int) -> None:  # pragma: no cover - compiled
    root = np.sqrt(tiny)  # below it, g*g is subnormal or underflows
    for i in range(lo, hi):
        m[i], v[i], d[i] = _adam_element(g[i], m[i], v[i], c1, c2, eps, alpha, tiny, root)


@njit(inline="always", **_OPTS)
def _adam_span_subtract(g: Any, m: Any, v: Any, w: Any, c1: Any, c2: Any, eps: Any,
                        alpha: Any, tiny: Any, lo: int,
                        hi: int) -> None:  # pragma: no cover - compiled
    """:func:`_adam_span` with each step subtracted from ``w`` in the same loop: four
    arrays, three written, as many as :func:`_adam_span` touches, so LLVM still vectorises
    it (670k float32: 0.21 -> 0.19 ms against the step written to a chunk buffer and
    subtracted in a second loop; AMD EPYC Zen 5)."""
    root = np.sqrt(tiny)
    for i in range(lo, hi):
        m[i], v[i], d = _adam_element(g[i], m[i], v[i], c1, c2, eps, alpha, tiny, root)
        w[i] -= d


@njit(**_OPTS)
def adam(g: Any, m: Any, v: Any, d: Any, c1: Any, c2: Any, eps: Any, alpha: Any,
         tiny: Any) -> None:  # pragma: no cover - compiled
    """Adam's update of one flat buffer in one pass, on the calling thread; ``tiny`` is the
    dtype's smallest normal number (moments below it are flushed to zero)."""
    _adam_span(g, m, v, d, c1, c2, eps, alpha, tiny, 0, g.size)


@njit(**_OPTS)
def _weighted_first(g: Any, s: Any, acc: Any) -> None:  # pragma: no cover - compiled
    for i in range(acc.size):
        acc[i] = g[i] * s


@njit(**_OPTS)
def _weighted_add(g: Any, s: Any, acc: Any) -> None:  # pragma: no cover - compiled
    for i in range(acc.size):
        acc[i] += g[i] * s


@njit(**_OPTS)
def _weighted_pair(g0: Any, s0: Any, g1: Any, s1: Any, inv: Any,
                   acc: Any) -> None:  # pragma: no cover - compiled
    """Two ranks' average in one loop: the arithmetic of :func:`_weighted_first`,
    :func:`_weighted_add` and :func:`_scale` in turn, element by element."""
    for i in range(acc.size):
        acc[i] = (g0[i] * s0 + g1[i] * s1) * inv


@njit(**_OPTS)
def _scale(acc: Any, s: Any) -> None:  # pragma: no cover - compiled
    for i in range(acc.size):
        acc[i] *= s


@njit(**_OPTS)
def adam_reduced(grads: Any, scale: Any, inv: Any, ranges: Any, m: Any, v: Any, w: Any,
                 c1: Any, c2: Any, eps: Any, alpha: Any,
                 tiny: Any) -> None:  # pragma: no cover - compiled
    """A data-parallel rank's elements (rows ``[lo, hi)`` of ``ranges``) in one sweep of
    cache-sized chunks: the
    ranks' gradients (rows of ``grads``) times ``scale``, summed in rank order, times
    ``inv`` (``DataParallel.reduce_range``'s arithmetic), then Adam's update of ``m`` and
    ``v`` (:func:`adam`) and the step subtracted from the weights ``w``. Two compiled loops
    over each chunk, the average, then Adam with the subtraction: one loop doing all of it
    did not vectorise (1.23 ms for 335k elements against 0.32 ms in five loops, 2-vCPU
    Xeon; NumPy's blocks 0.59 ms), and two loops take 0.12 ms where five took 0.14 ms
    (AMD EPYC Zen 5)."""
    acc = np.empty(2048, m.dtype)
    for j in range(ranges.shape[0]):
        lo, hi = ranges[j, 0], ranges[j, 1]
        for a in range(lo, hi, 2048):
            b = min(a + 2048, hi)
            k = b - a
            if grads.shape[0] == 2:  # (the common case: two ranks on one machine)
                _weighted_pair(grads[0, a:b], scale[0], grads[1, a:b], scale[1], inv,
                               acc[:k])
            else:
                _weighted_first(grads[0, a:b], scale[0], acc[:k])
                for r in range(1, grads.shape[0]):
                    _weighted_add(grads[r, a:b], scale[r], acc[:k])
                _scale(acc[:k], inv)
            _adam_span_subtract(acc[:k], m[a:b], v[a:b], w[a:b], c1, c2, eps, alpha, tiny,
                                0, k)


@njit(**_OPTS)
def adam_step(g: Any, m: Any, v: Any, w: Any, c1: Any, c2: Any, eps: Any, alpha: Any,
              tiny: Any) -> None:  # pragma: no cover - compiled
    """:func:`adam`'s update with its step subtracted from the flat weights ``w`` in the
    same loop: the step is never written and read back (the same bits as :func:`adam`
    followed by ``w -= d``)."""
    _adam_span_subtract(g, m, v, w, c1, c2, eps, alpha, tiny, 0, g.size)
