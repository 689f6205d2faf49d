"""Depthwise and separable convolutions, channels-last as Keras: ``DepthwiseConv1D``,
``DepthwiseConv2D``, ``SeparableConv1D``, ``SeparableConv2D``.

One fused kernel, :class:`DepthwiseConv2DKernel`, convolves every input channel with its own
``depth_multiplier`` filters; forward and backward loop only over the ``kh·kw`` kernel
offsets, each touching one strided slice of the whole (padded) batch. A separable
convolution is that kernel followed by a 1x1 pointwise convolution (one matmul). The 1-D
layers run on a height-1 view.

Weight layouts (Keras): depthwise_kernel ``(kh, kw, C, depth_multiplier)`` (1-D:
``(k, C, depth_multiplier)``), pointwise_kernel ``(1, 1, C·depth_multiplier, filters)``
(1-D: ``(1, C·depth_multiplier, filters)``); output channel ``c·depth_multiplier + m``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import activations, backend, constraints, initializers, ops, regularizers
from ..autograd import Function
from ._conv_kernels import (
    check_data_format,
    conv_output_length,
    normalize_padding,
    normalize_tuple,
    same_pads,
)
from .base import Layer, register

if TYPE_CHECKING:
    from ..tensor import Tensor

__all__ = ["DepthwiseConv2DKernel", "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D",
           "SeparableConv2D", "SeparableConvolution1D", "SeparableConvolution2D",
           "depthwise_conv2d"]


class DepthwiseConv2DKernel(Function):
    """Depthwise 2-D convolution: x (N, H, W, C), w (kh, kw, C, M), b (C·M,) or none
    → (N, OH, OW, C·M), output channel c·M + m = Σ_ij x[.., c]·w[i, j, c, m].

    Args:
        strides: (sh, sw). dilation: (dh, dw). pads: ((top, bottom), (left, right)) zeros.
    """

    rowwise = "data"  # each sample alone; the other inputs are weights

    def __init__(self, strides: Sequence[int] = (1, 1), dilation: Sequence[int] = (1, 1),
                 pads: Sequence[Sequence[int]] = ((0, 0), (0, 0))) -> None:
        self.strides, self.dilation = tuple(strides), tuple(dilation)
        self.pads = tuple(tuple(p) for p in pads)

    def _slices(self, kh: int, kw: int, oh: int,
                ow: int) -> Iterator[tuple[int, int, tuple[slice, ...]]]:
        (sh, sw), (dh, dw) = self.strides, self.dilation
        for i in range(kh):
            for j in range(kw):
                yield i, j, (slice(None), slice(i * dh, i * dh + (oh - 1) * sh + 1, sh),
                             slice(j * dw, j * dw + (ow - 1) * sw + 1, sw), slice(None))

    def forward(self, x: Any, w: Any, b: Any = None) -> Any:
        xp = backend.get_array_module(x)
        kh, kw, c, m = w.shape
        if x.ndim != 4 or x.shape[3] != c:
            raise ValueError(f"depthwise_conv2d: expected input (N, H, W, {c}) for kernel "
                             f"shape {w.shape}. Received: input shape {x.shape}")
        (pt, pb), (pl, pr) = self.pads
        self.x_shape = x.shape
        if pt or pb or pl or pr:
            x = xp.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
        (sh, sw), (dh, dw) = self.strides, self.dilation
        oh = (x.shape[1] - (kh - 1) * dh - 1) // sh + 1
        ow = (x.shape[2] - (kw - 1) * dw - 1) // sw + 1
        if oh <= 0 or ow <= 0:
            raise ValueError(f"depthwise_conv2d: the (dilated) kernel is larger than the "
                             f"padded input. Received: input shape {self.x_shape}")
        self.out_hw, self.x, self.w, self.has_b = (oh, ow), x, w, b is not None
        y = xp.zeros((x.shape[0], oh, ow, c, m), dtype=np.result_type(x.dtype, w.dtype))
        for i, j, s in self._slices(kh, kw, oh, ow):
            y += x[s][..., None] * w[i, j]
        y = y.reshape(x.shape[0], oh, ow, c * m)
        if b is not None:
            y += b
        return y

    def backward(self, gy: Any) -> tuple[Any, ...]:
        xp = backend.get_array_module(gy)
        x, w = self.x, self.w
        kh, kw, c, m = w.shape
        oh, ow = self.out_hw
        g5 = gy.reshape(gy.shape[0], oh, ow, c, m)
        need = self.needs_input_grad
        gx = xp.zeros(x.shape, dtype=gy.dtype) if need[0] else None
        gw = xp.empty(w.shape, dtype=gy.dtype) if need[1] else None
        for i, j, s in self._slices(kh, kw, oh, ow):
            if gw is not None:
                gw[i, j] = xp.einsum("nhwc,nhwcm->cm", x[s], g5)
            if gx is not None:
                gx[s] += xp.einsum("nhwcm,cm->nhwc", g5, w[i, j])
        if gx is not None:
            (pt, _), (pl, _) = self.pads
            h, wd = self.x_shape[1], self.x_shape[2]
            gx = xp.ascontiguousarray(gx[:, pt:pt + h, pl:pl + wd])
        if not self.has_b:
            return gx, gw
        gb = gy.reshape(-1, c * m).sum(axis=0) if need[2] else None
        return gx, gw, gb

    def describe(self) -> str:
        return (f"DepthwiseConv2D(strides={self.strides}, dilation={self.dilation}, "
                f"pads={self.pads})")


def _pads2(hw: Sequence[int], k: Sequence[int], s: Sequence[int], d: Sequence[int],
           padding: str) -> tuple[tuple[int, int], ...]:
    if padding != "same":
        return ((0, 0), (0, 0))
    return tuple(same_pads(n, kk, ss, dd) for n, kk, ss, dd in zip(hw, k, s, d))


def depthwise_conv2d(x: Any, kernel: Any, bias: Any = None, strides: Any = 1,
                     padding: str = "valid", dilation_rate: Any = 1) -> Tensor:
    """Functional depthwise convolution (channels-last, Keras padding).

    Args:
        x: (N, H, W, C). kernel: (kh, kw, C, M). bias: (C·M,) or None.

    Example:
        >>> depthwise_conv2d(np.ones((1, 5, 5, 2), "float32"),
        ...                  np.ones((3, 3, 2, 2), "float32")).shape
        (1, 3, 3, 4)
    """
    s = normalize_tuple(strides, 2, "strides", "depthwise_conv2d")
    d = normalize_tuple(dilation_rate, 2, "dilation_rate", "depthwise_conv2d")
    p = normalize_padding(padding, "depthwise_conv2d")
    fn = DepthwiseConv2DKernel(s, d, _pads2(tuple(x.shape[1:3]), tuple(kernel.shape[:2]),
                                            s, d, p))
    return fn(x, kernel) if bias is None else fn(x, kernel, bias)


class _DepthwiseBase(Layer):
    """Arguments, checks and weights shared by the depthwise and separable layers."""

    rank = 2
    separable = False

    def __init__(self, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 depth_multiplier: int = 1, data_format: str | None = None,
                 dilation_rate: Any = 1, activation: Any = None, use_bias: bool = True,
                 depthwise_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 depthwise_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, depthwise_constraint: Any = None,
                 bias_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        n = self.rank
        if isinstance(depth_multiplier, bool) or not isinstance(
                depth_multiplier, (int, np.integer)) or depth_multiplier <= 0:
            raise ValueError(f"Layer '{self.name}': depth_multiplier must be a positive int. "
                             f"Received: depth_multiplier={depth_multiplier!r}")
        self.kernel_size = normalize_tuple(kernel_size, n, "kernel_size", self.name)
        self.strides = normalize_tuple(strides, n, "strides", self.name)
        self.padding = normalize_padding(padding, self.name)
        check_data_format(data_format, self.name)
        self.dilation_rate = normalize_tuple(dilation_rate, n, "dilation_rate", self.name)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"Layer '{self.name}': strides > 1 together with dilation_rate > 1 "
                             f"is not supported (as in Keras). Received: strides={self.strides},"
                             f" dilation_rate={self.dilation_rate}")
        self.depth_multiplier = int(depth_multiplier)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def _check_input(self, shape: Any) -> None:
        shape = tuple(shape)
        cls = type(self).__name__
        axes = "(batch, height, width, channels)" if self.rank == 2 else \
            "(batch, steps, channels)"
        if len(shape) != self.rank + 2 or shape[-1] is None:
            raise ValueError(f"{cls} '{self.name}' expects input of rank {self.rank + 2} "
                             f"{axes} with known channels. Received: input shape {shape}")
        if self.built and shape[-1] != self._in_channels:
            raise ValueError(f"{cls} '{self.name}' expects {self._in_channels} input channels. "
                             f"Received: input shape {shape}")
        if self.padding == "valid":
            keff = [(k - 1) * d + 1 for k, d in zip(self.kernel_size, self.dilation_rate)]
            if any(s is not None and s < k for s, k in zip(shape[1:-1], keff)):
                raise ValueError(f"{cls} '{self.name}': the kernel (after dilation) is larger "
                                 f"than the input with padding='valid'. Received: input shape "
                                 f"{shape}")

    def __call__(self, x: Any, *args: Any, training: bool | None = False,
                 **kwargs: Any) -> Any:
        if args:  # more inputs, or the training flag, by position
            return self._positional_call(x, args, training, kwargs)
        if hasattr(x, "shape"):
            self._check_input(tuple(x.shape))
        return super().__call__(x, training=training, **kwargs)

    def build(self, input_shape: Any) -> None:
        self._check_input(input_shape)
        c = self._in_channels = int(input_shape[-1])
        self.depthwise_kernel = self.add_weight(
            "depthwise_kernel", self.kernel_size + (c, self.depth_multiplier),
            self.depthwise_initializer, self.depthwise_regularizer,
            constraint=self.depthwise_constraint)
        self._build_more(c)
        n_out = self._out_channels(c)
        self.bias = (self.add_weight("bias", (n_out,), self.bias_initializer,
                                     self.bias_regularizer, constraint=self.bias_constraint)
                     if self.use_bias else None)
        self.built = True

    def _build_more(self, c: int) -> None:
        pass

    def _out_channels(self, c: int) -> int:
        return c * self.depth_multiplier

    def _depthwise(self, x: Tensor, bias: Tensor | None) -> Tensor:
        """The depthwise step on (N, H, W, C) or a height-1 view of (N, L, C)."""
        if self.rank == 1:
            n, length, c = x.shape
            x4 = ops.reshape(x, (n, 1, length, c))
            w4 = ops.reshape(self.depthwise_kernel, (1,) + tuple(self.depthwise_kernel.shape))
            k, s, d = (1,) + self.kernel_size, (1,) + self.strides, (1,) + self.dilation_rate
        else:
            x4, w4 = x, self.depthwise_kernel
            k, s, d = self.kernel_size, self.strides, self.dilation_rate
        fn = DepthwiseConv2DKernel(s, d, _pads2(tuple(x4.shape[1:3]), k, s, d, self.padding))
        return fn(x4, w4) if bias is None else fn(x4, w4, bias)

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        y = self._forward(x)
        if self.rank == 1:
            y = ops.reshape(y, (y.shape[0], y.shape[2], y.shape[3]))
        y = self.activation(y)
        return y

    def _forward(self, x: Tensor) -> Tensor:
        return self._depthwise(x, self.bias)

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        self._check_input(input_shape)
        out = [conv_output_length(n, k, self.padding, s, d) for n, k, s, d in zip(
            input_shape[1:-1], self.kernel_size, self.strides, self.dilation_rate)]
        return (input_shape[0], *out, self._out_channels(int(input_shape[-1])))

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(), "kernel_size": tuple(self.kernel_size),
            "strides": tuple(self.strides), "padding": self.padding,
            "depth_multiplier": self.depth_multiplier,
            "dilation_rate": tuple(self.dilation_rate),
            "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
            "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "depthwise_constraint": constraints.serialize(self.depthwise_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }


@register
class DepthwiseConv2D(_DepthwiseBase):
    """Convolve each input channel with its own ``depth_multiplier`` filters (no mixing).

    Args:
        kernel_size, strides, dilation_rate: int or pair. padding: 'valid' or 'same'.
        depth_multiplier: filters per input channel (output channels C·depth_multiplier).

    Shapes: (N, H, W, C) → (N, OH, OW, C·depth_multiplier). Weights ``depthwise_kernel``
    (kh, kw, C, depth_multiplier), ``bias`` (C·depth_multiplier,).

    Example:
        >>> DepthwiseConv2D(3, padding="same")(np.zeros((2, 8, 8, 3), "float32")).shape
        (2, 8, 8, 3)
    """


@register
class DepthwiseConv1D(_DepthwiseBase):
    """1-D depthwise convolution over (batch, steps, channels); kernel (k, C, multiplier).

    Example:
        >>> DepthwiseConv1D(3, depth_multiplier=2)(np.zeros((2, 10, 3), "float32")).shape
        (2, 8, 6)
    """

    rank = 1


class _SeparableBase(_DepthwiseBase):
    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = 1,
                 depth_multiplier: int = 1, activation: Any = None, use_bias: bool = True,
                 depthwise_initializer: Any = "glorot_uniform",
                 pointwise_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 depthwise_regularizer: Any = None, pointwise_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None,
                 depthwise_constraint: Any = None, pointwise_constraint: Any = None,
                 bias_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(kernel_size, strides, padding, depth_multiplier, data_format,
                         dilation_rate, activation, use_bias, depthwise_initializer,
                         bias_initializer, depthwise_regularizer, bias_regularizer,
                         activity_regularizer, depthwise_constraint, bias_constraint, **kwargs)
        if isinstance(filters, bool) or not isinstance(filters, (int, np.integer)) or \
                filters <= 0:
            raise ValueError(f"Layer '{self.name}': filters must be a positive int. "
                             f"Received: filters={filters!r}")
        self.filters = int(filters)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.pointwise_constraint = constraints.get(pointwise_constraint)

    def _build_more(self, c: int) -> None:
        shape = (1,) * self.rank + (c * self.depth_multiplier, self.filters)
        self.pointwise_kernel = self.add_weight("pointwise_kernel", shape,
                                                self.pointwise_initializer,
                                                self.pointwise_regularizer,
                                                constraint=self.pointwise_constraint)

    def _out_channels(self, c: int) -> int:
        return self.filters

    def _forward(self, x: Tensor) -> Tensor:
        y = self._depthwise(x, None)
        pw = ops.reshape(self.pointwise_kernel, (-1, self.filters))
        y = ops.matmul(y, pw)
        return y if self.bias is None else y + self.bias

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "filters": self.filters,
                "pointwise_initializer": initializers.serialize(self.pointwise_initializer),
                "pointwise_regularizer": regularizers.serialize(self.pointwise_regularizer),
                "pointwise_constraint": constraints.serialize(self.pointwise_constraint)}


@register
class SeparableConv2D(_SeparableBase):
    """Depthwise convolution then a 1x1 pointwise convolution mixing channels (Keras).

    Args:
        filters: output channels. kernel_size, strides, dilation_rate, padding,
            depth_multiplier: as :class:`DepthwiseConv2D`.

    Shapes: (N, H, W, C) → (N, OH, OW, filters). Weights ``depthwise_kernel``
    (kh, kw, C, M), ``pointwise_kernel`` (1, 1, C·M, filters), ``bias`` (filters,).

    Example:
        >>> SeparableConv2D(8, 3)(np.zeros((2, 8, 8, 3), "float32")).shape
        (2, 6, 6, 8)
    """


@register
class SeparableConv1D(_SeparableBase):
    """1-D separable convolution; ``pointwise_kernel`` (1, C·M, filters).

    Example:
        >>> SeparableConv1D(4, 3, padding="same")(np.zeros((2, 10, 3), "float32")).shape
        (2, 10, 4)
    """

    rank = 1


SeparableConvolution1D, SeparableConvolution2D = SeparableConv1D, SeparableConv2D
