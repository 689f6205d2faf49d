"""The window functions of Keras 3's ``keras.ops`` (``bartlett``, ``blackman``,
``hamming``, ``hanning``, ``kaiser``): NumPy's, as constants of the default float dtype.
Part of :mod:`glassnet.keras_ops`.

Example:
    >>> hanning(3).data.tolist()
    [0.0, 1.0, 0.0]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from . import backend
from ._keras_ops_array import _const

if TYPE_CHECKING:
    from ._typing import TensorLike
    from .tensor import Tensor

__all__: list[str] = ["bartlett", "blackman", "hamming", "hanning", "kaiser"]


def _window(name: str, x: TensorLike, fn: Any, *args: Any) -> Tensor:
    d = np.asarray(x.data if hasattr(x, "data") else x)
    if d.ndim or d.dtype.kind not in "iuf" or d != int(d) or int(d) < 0:
        raise ValueError(f"{name}: x must be the number of points, a whole number >= 0. "
                         f"Received: {x!r}")
    return _const(fn(int(d), *args).astype(backend.floatx()))


def bartlett(x: TensorLike) -> Tensor:
    """The Bartlett (triangular) window of ``x`` points (keras.ops.bartlett).

    Example:
        >>> bartlett(5).data.tolist()
        [0.0, 0.5, 1.0, 0.5, 0.0]
    """
    return _window("bartlett", x, np.bartlett)


def blackman(x: TensorLike) -> Tensor:
    """The Blackman window of ``x`` points (keras.ops.blackman)."""
    return _window("blackman", x, np.blackman)


def hamming(x: TensorLike) -> Tensor:
    """The Hamming window of ``x`` points (keras.ops.hamming)."""
    return _window("hamming", x, np.hamming)


def hanning(x: TensorLike) -> Tensor:
    """The Hann window of ``x`` points (keras.ops.hanning)."""
    return _window("hanning", x, np.hanning)


def kaiser(x: TensorLike, beta: float) -> Tensor:
    """The Kaiser window of ``x`` points and shape ``beta`` (keras.ops.kaiser)."""
    return _window("kaiser", x, np.kaiser, float(beta))
