"""Volumetric companions of the 3-D convolutions, channels-last as Keras:
``GlobalAveragePooling3D``, ``GlobalMaxPooling3D``, ``ZeroPadding3D``, ``Cropping3D``.
Compositions of ops (mean/max, pad, slicing), so their gradients are the ops' own."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import ops
from ._conv_kernels import check_data_format
from .base import Layer, register
from .conv_volumetric import _check5

if TYPE_CHECKING:
    from ..tensor import Tensor

__all__ = ["GlobalAveragePooling3D", "GlobalMaxPooling3D", "GlobalAvgPool3D",
           "GlobalMaxPool3D", "ZeroPadding3D", "Cropping3D"]


def _triple_pairs(value: Any, arg: str, layer: str) -> tuple[Any, ...]:
    """int → three symmetric pairs; (a, b, c) → ((a, a), (b, b), (c, c)); or three pairs."""
    out: tuple[Any, ...]
    try:
        if isinstance(value, int):
            out = ((value, value),) * 3
        else:
            v = tuple(value)
            if len(v) != 3:
                raise ValueError
            out = tuple((p, p) if isinstance(p, int) else tuple(int(q) for q in p) for p in v)
        if any(len(p) != 2 or min(p) < 0 for p in out):
            raise ValueError
    except (TypeError, ValueError):
        raise ValueError(f"Layer '{layer}': {arg} must be an int >= 0, three ints or three "
                         f"(before, after) pairs. Received: {arg}={value!r}") from None
    return out


class _GlobalPooling3D(Layer):
    mode = "avg"

    def __init__(self, data_format: str | None = None, keepdims: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        check_data_format(data_format, self.name)
        self.keepdims = bool(keepdims)

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        _check5(self, x.shape)
        fn = ops.mean if self.mode == "avg" else ops.max
        return fn(x, axis=(1, 2, 3), keepdims=self.keepdims)

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        s = _check5(self, input_shape)
        return (s[0], 1, 1, 1, s[-1]) if self.keepdims else (s[0], s[-1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "keepdims": self.keepdims}


@register
class GlobalAveragePooling3D(_GlobalPooling3D):
    """Mean over depth, height and width: (B, D, H, W, C) → (B, C) (keepdims: (B,1,1,1,C)).

    Example:
        >>> GlobalAveragePooling3D()(np.ones((2, 3, 4, 5, 6), "float32")).shape
        (2, 6)
    """

    mode = "avg"


@register
class GlobalMaxPooling3D(_GlobalPooling3D):
    """Max over depth, height and width: (B, D, H, W, C) → (B, C).

    Example:
        >>> GlobalMaxPooling3D()(np.ones((2, 3, 4, 5, 6), "float32")).shape
        (2, 6)
    """

    mode = "max"


@register
class ZeroPadding3D(Layer):
    """Pad volumes with zeros on depth, height and width.

    Args:
        padding: int, (d, h, w) symmetric, or ((front, back), (top, bottom), (left, right)).

    Example:
        >>> ZeroPadding3D(1)(np.ones((1, 2, 3, 4, 1), "float32")).shape
        (1, 4, 5, 6, 1)
    """

    def __init__(self, padding: Any = ((1, 1), (1, 1), (1, 1)), data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.padding = _triple_pairs(padding, "padding", self.name)
        check_data_format(data_format, self.name)

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        _check5(self, x.shape)
        return ops.pad(x, ((0, 0), *self.padding, (0, 0)))

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        s = _check5(self, input_shape)
        return (s[0], *(None if n is None else n + a + b
                        for n, (a, b) in zip(s[1:4], self.padding)), s[4])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "padding": tuple(tuple(p) for p in self.padding)}


@register
class Cropping3D(Layer):
    """Remove slices from the borders of depth, height and width.

    Args:
        cropping: int, (d, h, w) symmetric, or ((front, back), (top, bottom), (left, right)).

    Example:
        >>> Cropping3D(1)(np.ones((1, 4, 5, 6, 1), "float32")).shape
        (1, 2, 3, 4, 1)
    """

    def __init__(self, cropping: Any = ((1, 1), (1, 1), (1, 1)), data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cropping = _triple_pairs(cropping, "cropping", self.name)
        check_data_format(data_format, self.name)

    def _check(self, shape: Any) -> tuple[Any, ...]:
        s = _check5(self, shape)
        if any(n is not None and a + b >= n for n, (a, b) in zip(s[1:4], self.cropping)):
            raise ValueError(f"Cropping3D '{self.name}': cropping {self.cropping} leaves "
                             f"nothing of the input. Received: input shape {s}")
        return s

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        s = self._check(x.shape)
        idx = (slice(None), *(slice(a, n - b) for n, (a, b) in zip(s[1:4], self.cropping)))
        return ops.getitem(x, idx)

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        s = self._check(input_shape)
        return (s[0], *(None if n is None else n - a - b
                        for n, (a, b) in zip(s[1:4], self.cropping)), s[4])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cropping": tuple(tuple(p) for p in self.cropping)}


GlobalAvgPool3D, GlobalMaxPool3D = GlobalAveragePooling3D, GlobalMaxPooling3D
