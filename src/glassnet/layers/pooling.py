"""Pooling layers, channels-last like Keras: max/average over windows, and global pooling.

The window poolings run :class:`~glassnet.layers._pool_kernels.Pool2DKernel` (the maths,
one fused kernel for max and average pooling; 1-D pooling on a height-1 view); the global
poolings reduce with :mod:`glassnet.ops`.
"""

from __future__ import annotations

from typing import Any

from .. import backend, ops
from ..tensor import Tensor
from ._pool_kernels import Pool2DKernel, _pool_pads, avg_pool2d, max_pool2d
from .base import Layer, register
from .conv import (
    check_data_format,
    conv_output_length,
    normalize_padding,
    normalize_tuple,
)

__all__ = [
    "MaxPooling2D", "AveragePooling2D", "MaxPooling1D", "AveragePooling1D",
    "GlobalAveragePooling2D", "GlobalMaxPooling2D", "GlobalAveragePooling1D",
    "GlobalMaxPooling1D", "MaxPool2D", "AvgPool2D", "MaxPool1D", "AvgPool1D",
    "GlobalAvgPool2D", "GlobalMaxPool2D", "GlobalAvgPool1D", "GlobalMaxPool1D",
    "Pool2DKernel", "max_pool2d", "avg_pool2d",
]


def _check_rank(layer: Layer, shape: Any, rank: int) -> None:
    axes = "(batch, height, width, channels)" if rank == 4 else "(batch, steps, channels)"
    if len(tuple(shape)) != rank:
        raise ValueError(
            f"{type(layer).__name__} '{layer.name}' expects input of rank {rank} {axes}. "
            f"Received: input shape {tuple(shape)}"
        )


# ------------------------------------------------------------------ window pooling layers
class _Pooling(Layer):
    """Shared arguments of the window pooling layers (1-D runs on a height-1 view)."""

    mode = "max"
    rank = 2

    def __init__(self, pool_size: Any = 2, strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        n = self.rank
        self.pool_size = normalize_tuple(pool_size, n, "pool_size", self.name)
        self.strides = self.pool_size if strides is None else normalize_tuple(
            strides, n, "strides", self.name)
        self.padding = normalize_padding(padding, self.name)
        check_data_format(data_format, self.name)

    def _check_input(self, shape: Any) -> None:
        _check_rank(self, shape, self.rank + 2)
        if self.padding == "valid":
            spatial = tuple(shape)[1:-1]
            if any(s is not None and s < p for s, p in zip(spatial, self.pool_size)):
                raise ValueError(
                    f"{type(self).__name__} '{self.name}': pool size "
                    f"{'x'.join(map(str, self.pool_size))} is larger than the input's spatial "
                    f"size {'x'.join(map(str, spatial))} with padding='valid'. "
                    f"Received: input shape {tuple(shape)}"
                )

    def __call__(self, x: Any, *args: Any, training: bool | None = False,
                 **kwargs: Any) -> Any:
        if args:  # more inputs, or the training flag, by position
            return self._positional_call(x, args, training, kwargs)
        if hasattr(x, "shape"):
            self._check_input(tuple(x.shape))
        return super().__call__(x, training=training, **kwargs)

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        if self.rank == 2:
            pads = _pool_pads(tuple(x.shape[1:3]), self.pool_size, self.strides, self.padding)
            return Pool2DKernel(self.mode, self.pool_size, self.strides, pads)(x)
        n, length, c = x.shape
        pads = _pool_pads((1, length), (1,) + self.pool_size, (1,) + self.strides,
                          self.padding)
        y = Pool2DKernel(self.mode, (1,) + self.pool_size, (1,) + self.strides, pads)(
            ops.reshape(x, (n, 1, length, c)))
        return ops.reshape(y, (n, y.shape[2], c))

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        self._check_input(input_shape)
        out = [conv_output_length(n, p, self.padding, s) for n, p, s in zip(
            input_shape[1:-1], self.pool_size, self.strides)]
        return (input_shape[0], *out, input_shape[-1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "pool_size": tuple(self.pool_size),
                "strides": tuple(self.strides), "padding": self.padding}


@register
class MaxPooling2D(_Pooling):
    """Max over (ph, pw) windows of channels-last images.

    Args:
        pool_size: int or (ph, pw) (default 2).
        strides: int or pair; default ``pool_size`` (non-overlapping windows).
        padding: 'valid' or 'same' (output ceil(in / stride); padding never wins the max).

    Shapes: (batch, H, W, C) → (batch, OH, OW, C). Ties route the gradient to the first
    maximum of each window (as PyTorch).

    Example:
        >>> MaxPooling2D()(np.zeros((2, 26, 26, 8), "float32")).shape
        (2, 13, 13, 8)
    """

    mode, rank = "max", 2


@register
class AveragePooling2D(_Pooling):
    """Mean over (ph, pw) windows; with 'same' padding only real cells are averaged (Keras).

    Args:
        pool_size, strides, padding: as for :class:`MaxPooling2D`.

    Example:
        >>> AveragePooling2D(3, strides=1, padding="same")(np.ones((1, 5, 5, 2), "float32")).shape
        (1, 5, 5, 2)
    """

    mode, rank = "avg", 2


@register
class MaxPooling1D(_Pooling):
    """Max over windows of sequences (batch, steps, channels).

    Args:
        pool_size: int (default 2). strides: int (default pool_size). padding: 'valid'/'same'.

    Example:
        >>> MaxPooling1D()(np.zeros((2, 10, 3), "float32")).shape
        (2, 5, 3)
    """

    mode, rank = "max", 1


@register
class AveragePooling1D(_Pooling):
    """Mean over windows of sequences (batch, steps, channels).

    Example:
        >>> AveragePooling1D(3)(np.zeros((2, 9, 3), "float32")).shape
        (2, 3, 3)
    """

    mode, rank = "avg", 1


# ------------------------------------------------------------------ global pooling
class _GlobalPooling(Layer):
    """Global pooling: channels last (batch, ..., C) by default; ``data_format=
    "channels_first"`` takes (batch, C, ...) and pools over the axes after the channels, as
    Keras does (keras.io's timeseries Transformer pools its (batch, steps, 1) output that
    way, averaging each step's features)."""

    mode = "avg"
    rank = 2

    def __init__(self, data_format: str | None = None, keepdims: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last", "channels_first"):
            raise ValueError(f"Layer '{self.name}': data_format must be 'channels_last' or "
                             f"'channels_first'. Received: data_format={data_format!r}")
        self.data_format = data_format or "channels_last"
        self.keepdims = bool(keepdims)

    def _axes(self) -> tuple[int, ...]:
        first = self.data_format == "channels_first"
        return tuple(range(2, self.rank + 2)) if first else tuple(range(1, self.rank + 1))

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        _check_rank(self, x.shape, self.rank + 2)
        fn = ops.mean if self.mode == "avg" else ops.max
        return fn(x, axis=self._axes(), keepdims=self.keepdims)

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        _check_rank(self, input_shape, self.rank + 2)
        first = self.data_format == "channels_first"
        c = input_shape[1] if first else input_shape[-1]
        if self.keepdims:
            ones = (1,) * self.rank
            return (input_shape[0], c, *ones) if first else (input_shape[0], *ones, c)
        return (input_shape[0], c)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format,
                "keepdims": self.keepdims}


@register
class GlobalAveragePooling2D(_GlobalPooling):
    """Mean over height and width: (batch, H, W, C) → (batch, C) (or (batch, 1, 1, C)).

    Args:
        keepdims: keep the spatial axes with size 1.

    Example:
        >>> GlobalAveragePooling2D()(np.ones((2, 4, 4, 3), "float32")).shape
        (2, 3)
    """

    mode, rank = "avg", 2


@register
class GlobalMaxPooling2D(_GlobalPooling):
    """Max over height and width: (batch, H, W, C) → (batch, C) (or (batch, 1, 1, C)).

    Example:
        >>> GlobalMaxPooling2D(keepdims=True)(np.ones((2, 4, 4, 3), "float32")).shape
        (2, 1, 1, 3)
    """

    mode, rank = "max", 2


@register
class GlobalAveragePooling1D(_GlobalPooling):
    """Mean over steps: (batch, steps, C) → (batch, C).

    With a mask (``Embedding(mask_zero=True)``, ``Masking``, or ``mask=``), the mean over
    the kept steps only, as Keras 3; the mask ends here.

    Example:
        >>> GlobalAveragePooling1D()(np.ones((2, 7, 3), "float32")).shape
        (2, 3)
    """

    mode, rank = "avg", 1
    supports_masking = True

    def call(self, x: Tensor, training: bool = False, mask: Any = None) -> Tensor:
        if mask is None:
            return super().call(x, training)
        if self.data_format == "channels_first":  # (batch, C, steps): the steps last
            y = self._masked(ops.swapaxes(x, 1, 2), mask)
            return ops.swapaxes(y, 1, 2) if self.keepdims else y
        return self._masked(x, mask)

    def _masked(self, x: Tensor, mask: Any) -> Tensor:
        """The mean over the kept steps of channels-last ``x`` (batch, steps, C)."""
        _check_rank(self, x.shape, 3)
        m = mask.data if isinstance(mask, Tensor) else mask
        xp = backend.get_array_module(x.data)
        if tuple(m.shape) != tuple(x.shape[:2]):
            raise ValueError(f"Layer '{self.name}': mask must have shape (batch, steps) = "
                             f"{tuple(x.shape[:2])}. Received: mask shape {tuple(m.shape)}")
        from ._masks import mask_op, step_weights

        keep = step_weights(m, x.dtype)  # ops on the mask: a replayed step reads each batch's
        total = ops.sum(ops.mul(x, keep), axis=1, keepdims=self.keepdims)
        kd = self.keepdims
        # a row with no kept step gives 0 (Keras: 0/0, NaN)
        count = mask_op(lambda k: xp.maximum(k.sum(axis=1, keepdims=kd), 1), keep, rows=True)
        return ops.div(total, count)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return None


@register
class GlobalMaxPooling1D(_GlobalPooling):
    """Max over steps: (batch, steps, C) → (batch, C).

    Example:
        >>> GlobalMaxPooling1D()(np.ones((2, 7, 3), "float32")).shape
        (2, 3)
    """

    mode, rank = "max", 1


MaxPool2D, AvgPool2D = MaxPooling2D, AveragePooling2D
MaxPool1D, AvgPool1D = MaxPooling1D, AveragePooling1D
GlobalAvgPool2D, GlobalMaxPool2D = GlobalAveragePooling2D, GlobalMaxPooling2D
GlobalAvgPool1D, GlobalMaxPool1D = GlobalAveragePooling1D, GlobalMaxPooling1D
