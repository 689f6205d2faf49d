"""Keras 3's newer shape-driven layers: ``RMSNormalization`` and adaptive pooling (1-D, 2-D,
3-D, average and max), channels-last. Compositions of ops, so their gradients are the ops'
own; ``ops.rms_normalization``, ``ops.adaptive_average_pool`` and ``ops.adaptive_max_pool``
are the same functions.

Adaptive pooling cuts each spatial axis of length L into ``n`` bins, bin i covering
``[floor(i·L/n), ceil((i+1)·L/n))`` (PyTorch's and Keras's rule: bins may overlap when n
does not divide L), and averages or takes the maximum of each bin. A mean or a maximum over
a box is the same taken one axis at a time, so each axis is pooled in turn.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .. import ops
from ..tensor import Tensor, as_tensor
from ._conv_kernels import check_data_format
from .base import Layer, register

if TYPE_CHECKING:
    from .._typing import TensorLike

__all__ = ["RMSNormalization", "AdaptiveAveragePooling1D", "AdaptiveAveragePooling2D",
           "AdaptiveAveragePooling3D", "AdaptiveMaxPooling1D", "AdaptiveMaxPooling2D",
           "AdaptiveMaxPooling3D", "rms_normalization", "adaptive_average_pool",
           "adaptive_max_pool"]


def rms_normalization(x: TensorLike, scale: TensorLike | float | None = None,
                      axis: int | Sequence[int] = -1, epsilon: float | None = None) -> Tensor:
    """``x / sqrt(mean(x², axis) + epsilon) · scale`` (Keras 3's ``ops.rms_normalization``).

    Example:
        >>> rms_normalization(np.array([[3.0, 4.0]], "float32"), epsilon=0.0).data.round(4)
        array([[0.8485, 1.1314]], dtype=float32)
    """
    t = as_tensor(x)
    ax = tuple(axis) if isinstance(axis, (list, tuple)) else axis
    eps = t.dtype.type(1e-7 if epsilon is None else epsilon)
    ms = ops.mean(ops.mul(t, t), axis=ax, keepdims=True)
    y = ops.div(t, ops.sqrt(ops.add(ms, eps)))
    return y if scale is None else ops.mul(y, scale)


@register
class RMSNormalization(Layer):
    """Root-mean-square normalization (Zhang & Sennrich 2019): ``x / rms(x) · scale`` over
    ``axis``, without centring (Keras 3's layer; the norm of many recent transformers).

    Args:
        axis: the axis or axes normalized (default the last).
        epsilon: added to the mean square.

    Weight ``scale`` (the normalized axes' sizes), initialised to ones.

    Example:
        >>> RMSNormalization()(np.ones((2, 3), "float32")).data.round(3)
        array([[1., 1., 1.],
               [1., 1., 1.]], dtype=float32)
    """

    supports_masking = True

    def __init__(self, axis: int | Sequence[int] = -1, epsilon: float = 1e-6,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis: int | list[int] = (
            [int(a) for a in axis] if isinstance(axis, (list, tuple))
            else int(axis))  # type: ignore[arg-type]  # an int-like (NumPy int too)
        self.epsilon = float(epsilon)

    def build(self, input_shape: tuple) -> None:
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        nd = len(input_shape)
        if any(not -nd <= a < nd or a % nd == 0 for a in axes):
            raise ValueError(f"Layer '{self.name}': axis {self.axis} is out of range (or the "
                             f"batch axis) for input shape {tuple(input_shape)}")
        shape = tuple(int(input_shape[a]) for a in sorted(a % nd for a in axes))
        # scale broadcasts against x: its axes in place, 1 on the others
        self._bshape = tuple(input_shape[i] if i in {a % nd for a in axes} else 1
                             for i in range(1, nd))
        self.scale = self.add_weight("scale", shape, initializer="ones")
        self.built = True

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        scale = ops.reshape(self.scale, self._bshape)
        return rms_normalization(x, scale, tuple(axes), self.epsilon)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon}


# ------------------------------------------------------------------ adaptive pooling
def _bins(length: int, n: int) -> list[tuple[int, int]]:
    return [((i * length) // n, math.ceil((i + 1) * length / n)) for i in range(n)]


def _sizes(output_size: int | Sequence[int], rank: int, where: str) -> tuple[int, ...]:
    sizes = (output_size,) * rank if isinstance(output_size, int) else tuple(output_size)
    if len(sizes) != rank or any(not isinstance(s, int) or s < 1 for s in sizes):
        raise ValueError(f"{where}: output_size must be a positive int or {rank} of them. "
                         f"Received: output_size={output_size!r}")
    return sizes


def _adaptive(x: TensorLike, output_size: int | Sequence[int], mode: str,
              data_format: str | None, where: str) -> Tensor:
    check_data_format(data_format, where)
    t = as_tensor(x)
    rank = t.ndim - 2
    if rank not in (1, 2, 3):
        raise ValueError(f"{where}: expected a 3-D, 4-D or 5-D input (batch, ..., channels). "
                         f"Received: input shape {tuple(t.shape)}")
    reduce = ops.mean if mode == "avg" else ops.max
    for axis, n in zip(range(1, rank + 1), _sizes(output_size, rank, where)):
        length = t.shape[axis]
        if n > length:
            raise ValueError(f"{where}: output_size {n} exceeds the input's length {length} "
                             f"on axis {axis}")
        parts = []
        for a, b in _bins(length, n):
            idx = (slice(None),) * axis + (slice(a, b),)
            parts.append(reduce(t[idx], axis=axis, keepdims=True))
        t = parts[0] if n == 1 else ops.concatenate(parts, axis=axis)
    return t


def adaptive_average_pool(inputs: TensorLike, output_size: int | Sequence[int],
                          data_format: str | None = None) -> Tensor:
    """Mean of each of ``output_size`` bins per spatial axis (Keras 3's op).

    Example:
        >>> adaptive_average_pool(np.arange(5.0).reshape(1, 5, 1), 2).data.ravel()
        array([1., 3.], dtype=float32)
    """
    return _adaptive(inputs, output_size, "avg", data_format, "adaptive_average_pool")


def adaptive_max_pool(inputs: TensorLike, output_size: int | Sequence[int],
                      data_format: str | None = None) -> Tensor:
    """Maximum of each of ``output_size`` bins per spatial axis (Keras 3's op).

    Example:
        >>> adaptive_max_pool(np.arange(5.0).reshape(1, 5, 1), 2).data.ravel()
        array([2., 4.], dtype=float32)
    """
    return _adaptive(inputs, output_size, "max", data_format, "adaptive_max_pool")


class _Adaptive(Layer):
    mode, rank = "avg", 1

    def __init__(self, output_size: int | Sequence[int], data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        check_data_format(data_format, self.name)
        self.output_size = _sizes(output_size, self.rank, f"Layer '{self.name}'")
        self.data_format = data_format

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        if x.ndim != self.rank + 2:
            raise ValueError(f"Layer '{self.name}': expected a {self.rank + 2}-D input (batch, "
                             f"{self.rank} spatial axes, channels). Received: input shape "
                             f"{tuple(x.shape)}")
        return _adaptive(x, self.output_size, self.mode, self.data_format,
                         f"Layer '{self.name}'")

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return (input_shape[0], *self.output_size, input_shape[-1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "output_size": list(self.output_size),
                "data_format": self.data_format}


@register
class AdaptiveAveragePooling1D(_Adaptive):
    """Average over ``output_size`` bins of the steps: (B, L, C) → (B, output_size, C).

    Example:
        >>> AdaptiveAveragePooling1D(2)(np.ones((1, 5, 3), "float32")).shape
        (1, 2, 3)
    """


@register
class AdaptiveAveragePooling2D(_Adaptive):
    """Average over an ``output_size`` grid of bins: (B, H, W, C) → (B, h, w, C)."""

    rank = 2


@register
class AdaptiveAveragePooling3D(_Adaptive):
    """Average over an ``output_size`` grid of bins: (B, D, H, W, C) → (B, d, h, w, C)."""

    rank = 3


@register
class AdaptiveMaxPooling1D(_Adaptive):
    """Maximum over ``output_size`` bins of the steps: (B, L, C) → (B, output_size, C)."""

    mode = "max"


@register
class AdaptiveMaxPooling2D(_Adaptive):
    """Maximum over an ``output_size`` grid of bins: (B, H, W, C) → (B, h, w, C)."""

    mode, rank = "max", 2


@register
class AdaptiveMaxPooling3D(_Adaptive):
    """Maximum over an ``output_size`` grid of bins: (B, D, H, W, C) → (B, d, h, w, C)."""

    mode, rank = "max", 3
