"""What follows a GEMM in a layer: the bias and the ReLU in one pass, and the ReLU's
gradient, compiled with numba where the ``numba`` extra is installed.

``Dense`` (``functional.Linear``), ``Conv2D``/``Conv1D`` and ``Conv2DTranspose`` end their
forward with ``y + b`` and a ReLU on the fresh product. In NumPy that is two passes over the
output, and NumPy's ``maximum`` is slow even in cache (it checks for NaN element by element:
about 0.2 ns an element on a 2-vCPU Xeon, against 0.05 for a multiply). The compiled loop
reads and writes each element once: the MNIST convnet's (43264, 32) half-batch output
0.67 -> 0.20 ms, the MNIST MLP's (1024, 512) hidden layer 0.21 -> 0.05 ms (one thread).
Two threads barely help a NumPy pass on these machines (a copy or an add over 1 MB
arrays runs 1.2-1.4x faster on two Python threads), so fewer passes is the way to use
them: the output a GEMM leaves behind is read once.

Both paths give the same values as NumPy's ``maximum(y + b, 0)`` (NaN stays NaN; a zero is
``+0.0`` on both, where :class:`glassnet.ops.Relu`'s ``v * (v > 0)`` leaves ``-0.0``: equal
values) and the same gradient, ``g * (y > 0)``, bit for bit (tested). The compiled kernel runs when
:func:`glassnet._optimizer_kernels.fused_available` says so (numba installed and loaded,
or an output large enough to pay for loading it; ``GLASSNET_NUMBA=0`` never) on C-ordered
float arrays of one dtype with at least ``MIN_COMPILED`` elements; NumPy runs everywhere
else. The kernels release the GIL, so batch slices on :mod:`glassnet._parallel`'s threads
run them at once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend
from ._optimizer_kernels import compiled, fused_available

__all__ = ["bias_relu", "relu_grad", "relu_mask"]

# below this many elements NumPy's two ufunc calls (~1 us each) beat numba's dispatch
MIN_COMPILED = 1 << 12
# the NumPy relu_grad's block: the 0/1 mask is still in cache when it is scaled
_MASK_BLOCK = 1 << 18


def _bias_relu_k(y: np.ndarray, b: np.ndarray) -> None:  # pragma: no cover - numba
    n, f = y.shape
    for i in range(n):
        for j in range(f):
            v = y[i, j] + b[j]
            y[i, j] = 0 if v <= 0 else v  # NaN stays NaN, as in maximum(v, 0)


def _relu_k(y: np.ndarray) -> None:  # pragma: no cover - compiled by numba
    for i in range(y.size):
        v = y[i]
        y[i] = 0 if v <= 0 else v


def _relu_grad_k(g: np.ndarray, y: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover
    for i in range(g.size):
        out[i] = g[i] if y[i] > 0 else g[i] * 0


def _kernel(name: str) -> Any:
    return compiled(globals()[name])


def applies(*arrays: Any) -> bool:
    """Whether the compiled kernels take these arrays (one float dtype, C-ordered, at least
    ``MIN_COMPILED`` elements, numba usable: see the module's docstring)."""
    a = arrays[0]
    if type(a) is not np.ndarray or a.dtype.char not in "fd" or a.size < MIN_COMPILED:
        return False
    for o in arrays:
        if type(o) is not np.ndarray or o.dtype != a.dtype or not o.flags.c_contiguous:
            return False
    return fused_available(a.size)


def bias_relu(y: Any, b: Any = None) -> Any:
    """``relu(y + b)`` in place on a fresh product ``y`` (rows of channels), returned.

    Args:
        y: (..., F) array the caller owns (a GEMM's output). b: (F,) or None.

    Shapes: y (..., F), b (F,) → y (a new array only for a bias of another dtype, which
    promotes as NumPy does).

    Example:
        >>> import numpy as np
        >>> bias_relu(np.array([[1.0, -2.0]]), np.array([0.5, 0.5]))
        array([[1.5, 0. ]])
    """
    if b is not None and b.dtype != y.dtype:  # a promoting bias: a new array (NumPy's rule)
        y = y + b
        b = None
    if y.ndim and applies(y, *(() if b is None else (b,))):
        if b is None:
            _kernel("_relu_k")(y.reshape(-1))
        else:
            _kernel("_bias_relu_k")(y.reshape(-1, y.shape[-1]), b)
        return y
    if b is not None:
        y = backend.per_channel(np.add, y, b, out=y)
    backend.get_array_module(y).maximum(y, 0, out=y)
    return y


def relu_mask(a: Any) -> Any:
    """``a > 0`` as 0/1 in ``a``'s own (float) dtype: the mask a ReLU keeps for its backward.

    A float mask makes both products a same-type multiply: on a 2-vCPU Xeon, (32, 64)
    float32, ``a * mask`` 0.39 us against 0.96 us with NumPy's bool mask (a cast loop), and
    the comparison writing floats costs 0.6 us more once; the values are the same bits
    (``1.0``/``0.0`` where the bool multiplies as ``True``/``False``).

    Example:
        >>> import numpy as np
        >>> relu_mask(np.array([2.0, -1.0, 0.0]))
        array([1., 0., 0.])
    """
    if type(a) is np.ndarray and a.dtype.char in "efdg":
        m = np.empty(a.shape, a.dtype)
        np.greater(a, 0, out=m)
        return m
    return a > 0


def relu_grad(g: Any, y: Any) -> Any:
    """``g * (y > 0)``: the gradient through a ReLU whose output was ``y``, as a new array.

    The NumPy path writes the 0/1 mask straight in g's dtype and scales it in place, 2^18
    elements at a time so the mask is still in cache when it is scaled: 2.7x faster than
    ``g * (y > 0)`` (a bool array and a mixed-type multiply) on 4M elements, (86528, 32)
    float32 2.1 -> 1.8 ms.

    Shapes: g and y of one shape (..., F) → (..., F).

    Example:
        >>> import numpy as np
        >>> relu_grad(np.array([2.0, 3.0]), np.array([1.0, 0.0]))
        array([2., 0.])
    """
    if g.shape == y.shape and applies(g, y):
        out = np.empty(g.shape, dtype=g.dtype)
        _kernel("_relu_grad_k")(g.reshape(-1), y.reshape(-1), out.reshape(-1))
        return out
    xp = backend.get_array_module(g)
    dt = g.dtype if g.dtype == y.dtype else (g.ravel()[:1] * y.ravel()[:1]).dtype
    if xp is not np or g.ndim != 2 or g.shape != y.shape:
        return g * (y > 0).astype(dt)
    mask = np.empty(g.shape, dtype=dt)
    step = max(1, _MASK_BLOCK // max(g.shape[1], 1))
    for r0 in range(0, g.shape[0], step):
        m = mask[r0:r0 + step]
        np.greater(y[r0:r0 + step], 0, out=m)
        m *= g[r0:r0 + step]
    return mask
