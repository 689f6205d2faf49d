"""Volumetric layers, channels-last as Keras: ``Conv3D``, ``MaxPooling3D``,
``AveragePooling3D``, ``UpSampling3D``.

All are compositions of existing kernels, so their gradients come from those kernels'
backward passes:

* ``Conv3D``: :class:`Conv3DKernel`, im2col + one GEMM as the 2-D convolution (the column
  matrix is filled by ``kd·kh·kw`` strided copies; backward adds the column gradient back
  with as many strided adds).
* 3-D pooling is separable: :class:`Pool2DKernel` pools height×width on every depth slice,
  then pools depth with a (pd, 1) window (max of maxima is the max; 'same' averages count
  only real cells, and those counts factor per axis).
* ``UpSampling3D``: nearest neighbour, one broadcast.

Shapes: (batch, depth, height, width, channels); Conv3D kernel ``(kd, kh, kw, C/groups, F)``.
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
from .core import kernel_layer_config
from .pooling import Pool2DKernel

if TYPE_CHECKING:
    from ..tensor import Tensor

__all__ = ["Conv3D", "Convolution3D", "MaxPooling3D", "AveragePooling3D", "MaxPool3D",
           "AvgPool3D", "UpSampling3D", "conv3d", "Conv3DKernel"]

_AXES = "(batch, depth, height, width, channels)"


def _check5(layer: Layer, shape: Any) -> tuple[Any, ...]:
    shape = tuple(shape)
    if len(shape) != 5 or shape[-1] is None:
        raise ValueError(f"{type(layer).__name__} '{layer.name}' expects input of rank 5 "
                         f"{_AXES} with known channels. Received: input shape {shape}")
    return shape


class Conv3DKernel(Function):
    """3-D convolution (cross-correlation), x (N, D, H, W, C), w (kd, kh, kw, C, F), b (F,)
    → (N, OD, OH, OW, F): im2col (one strided copy per kernel offset) and one GEMM.

    Args:
        strides, dilation: triples. pads: three (before, after) pairs of zero padding.
    """

    rowwise = "data"  # each sample alone; the other inputs are weights

    def __init__(self, strides: Sequence[int] = (1, 1, 1), dilation: Sequence[int] = (1, 1, 1),
                 pads: Sequence[Sequence[int]] = ((0, 0),) * 3) -> None:
        self.strides, self.dilation = tuple(strides), tuple(dilation)
        self.pads = tuple(tuple(p) for p in pads)

    def _offsets(self, ks: Sequence[int],
                 out: Sequence[int]) -> Iterator[tuple[tuple[int, int, int], tuple[slice, ...]]]:
        (sd, sh, sw), (dd, dh, dw) = self.strides, self.dilation
        od, oh, ow = out
        for a in range(ks[0]):
            for i in range(ks[1]):
                for j in range(ks[2]):
                    yield (a, i, j), (slice(None),
                                      slice(a * dd, a * dd + (od - 1) * sd + 1, sd),
                                      slice(i * dh, i * dh + (oh - 1) * sh + 1, sh),
                                      slice(j * dw, j * dw + (ow - 1) * sw + 1, sw),
                                      slice(None))

    def forward(self, x: Any, w: Any, b: Any = None) -> Any:
        xp = backend.get_array_module(x)
        kd, kh, kw, c, f = w.shape
        if x.ndim != 5 or x.shape[4] != c:
            raise ValueError(f"conv3d: expected input (N, D, H, W, {c}) for kernel shape "
                             f"{w.shape}. Received: input shape {x.shape}")
        self.x_shape = x.shape
        if any(p != (0, 0) for p in self.pads):
            x = xp.pad(x, ((0, 0), *self.pads, (0, 0)))
        out = tuple((n - (k - 1) * d - 1) // s + 1 for n, k, d, s in zip(
            x.shape[1:4], (kd, kh, kw), self.dilation, self.strides))
        if min(out) <= 0:
            raise ValueError(f"conv3d: the (dilated) kernel is larger than the padded input "
                             f"{x.shape[1:4]}. Received: input shape {self.x_shape}")
        n = x.shape[0]
        col = xp.empty((n, *out, kd, kh, kw, c), dtype=x.dtype)
        for (a, i, j), sl in self._offsets((kd, kh, kw), out):
            col[:, :, :, :, a, i, j] = x[sl]
        col = col.reshape(n * out[0] * out[1] * out[2], kd * kh * kw * c)
        y = backend.matmul(col, w.reshape(-1, f))
        if b is not None:
            y += b
        self.col, self.w, self.out, self.padded_shape = col, w, out, x.shape
        self.has_b = b is not None
        return y.reshape(n, *out, f)

    def backward(self, gy: Any) -> tuple[Any, ...]:
        xp = backend.get_array_module(gy)
        w = self.w
        kd, kh, kw, c, f = w.shape
        need = self.needs_input_grad
        g2 = gy.reshape(-1, f)
        gx = gw = gb = None
        if need[1]:
            gw = backend.matmul(self.col.T, g2).reshape(w.shape)
        if self.has_b and need[2]:
            gb = g2.sum(axis=0)
        if need[0]:
            n = self.padded_shape[0]
            gcol = backend.matmul(g2, w.reshape(-1, f).T).reshape(
                n, *self.out, kd, kh, kw, c)
            gxp = xp.zeros(self.padded_shape, dtype=gy.dtype)
            for (a, i, j), sl in self._offsets((kd, kh, kw), self.out):
                gxp[sl] += gcol[:, :, :, :, a, i, j]
            lo = [p[0] for p in self.pads]
            d, h, wd = self.x_shape[1:4]
            gx = xp.ascontiguousarray(gxp[:, lo[0]:lo[0] + d, lo[1]:lo[1] + h,
                                          lo[2]:lo[2] + wd])
        return (gx, gw, gb) if self.has_b else (gx, gw)

    def describe(self) -> str:
        return f"Conv3D(strides={self.strides}, dilation={self.dilation}, pads={self.pads})"


def conv3d(x: Any, kernel: Any, bias: Any = None, strides: Any = 1, padding: str = "valid",
           dilation_rate: Any = 1) -> Tensor:
    """Functional 3-D convolution (cross-correlation), channels-last, Keras padding.

    Args:
        x: (N, D, H, W, C). kernel: (kd, kh, kw, C, F). bias: (F,) or None.

    Example:
        >>> conv3d(np.ones((1, 4, 5, 5, 1), "float32"),
        ...        np.ones((2, 3, 3, 1, 2), "float32")).shape
        (1, 3, 3, 3, 2)
    """
    s = normalize_tuple(strides, 3, "strides", "conv3d")
    d = normalize_tuple(dilation_rate, 3, "dilation_rate", "conv3d")
    p = normalize_padding(padding, "conv3d")
    ks = tuple(int(k) for k in kernel.shape[:3])
    if p == "same":
        pads = tuple(same_pads(int(v), k, ss, dd) for v, k, ss, dd in zip(
            x.shape[1:4], ks, s, d))
    else:
        pads = ((0, 0),) * 3
    fn = Conv3DKernel(s, d, pads)
    return fn(x, kernel) if bias is None else fn(x, kernel, bias)


@register
class Conv3D(Layer):
    """3-D convolution over volumes: ``activation(conv3d(x, kernel) + bias)``.

    Args:
        filters: output channels. kernel_size, strides, dilation_rate: int or triple.
        padding: 'valid' or 'same'. groups: split channels into independent groups.

    Shapes: (N, D, H, W, C) → (N, OD, OH, OW, filters); kernel (kd, kh, kw, C/groups,
    filters), bias (filters,).

    Example:
        >>> Conv3D(4, 3, padding="same")(np.zeros((1, 6, 6, 6, 2), "float32")).shape
        (1, 6, 6, 6, 4)
    """

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = 1, groups: int = 1,
                 activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(filters, bool) or not isinstance(filters, (int, np.integer)) or \
                filters <= 0:
            raise ValueError(f"Layer '{self.name}': filters must be a positive int. "
                             f"Received: filters={filters!r}")
        if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or \
                groups <= 0 or filters % groups:
            raise ValueError(f"Layer '{self.name}': groups must be a positive int dividing "
                             f"filters={filters}. Received: groups={groups!r}")
        self.filters, self.groups = int(filters), int(groups)
        self.kernel_size = normalize_tuple(kernel_size, 3, "kernel_size", self.name)
        self.strides = normalize_tuple(strides, 3, "strides", self.name)
        self.padding = normalize_padding(padding, self.name)
        check_data_format(data_format, self.name)
        self.dilation_rate = normalize_tuple(dilation_rate, 3, "dilation_rate", self.name)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"Layer '{self.name}': strides > 1 together with dilation_rate > 1 "
                             f"is not supported (as in Keras). Received: strides={self.strides},"
                             f" dilation_rate={self.dilation_rate}")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def _check_input(self, shape: Any) -> None:
        shape = _check5(self, shape)
        if self.built and shape[-1] != self._in_channels:
            raise ValueError(f"Conv3D '{self.name}' expects {self._in_channels} input channels. "
                             f"Received: input shape {shape}")
        if self.padding == "valid":
            keff = [(k - 1) * d + 1 for k, d in zip(self.kernel_size, self.dilation_rate)]
            if any(s is not None and s < k for s, k in zip(shape[1:4], keff)):
                raise ValueError(f"Conv3D '{self.name}': the kernel (after dilation) is larger "
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
        c = int(input_shape[-1])
        if c % self.groups:
            raise ValueError(f"Conv3D '{self.name}': the input channels must be divisible by "
                             f"groups={self.groups}. Received: input shape "
                             f"{tuple(input_shape)}")
        self._in_channels = c
        self.kernel = self.add_weight("kernel", self.kernel_size + (c // self.groups,
                                                                     self.filters),
                                      self.kernel_initializer, self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = (self.add_weight("bias", (self.filters,), self.bias_initializer,
                                     self.bias_regularizer, constraint=self.bias_constraint)
                     if self.use_bias else None)
        self.built = True

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        g = self.groups
        if g == 1:
            y = conv3d(x, self.kernel, self.bias, self.strides, self.padding,
                       self.dilation_rate)
        else:
            cg, fg = self._in_channels // g, self.filters // g
            ys = [conv3d(x[..., i * cg:(i + 1) * cg], self.kernel[..., i * fg:(i + 1) * fg],
                         None, self.strides, self.padding, self.dilation_rate)
                  for i in range(g)]
            y = ops.concatenate(ys, axis=-1)
            if self.bias is not None:
                y = y + self.bias
        y = self.activation(y)
        return y

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        self._check_input(input_shape)
        out = [conv_output_length(n, k, self.padding, s, d) for n, k, s, d in zip(
            input_shape[1:4], self.kernel_size, self.strides, self.dilation_rate)]
        return (input_shape[0], *out, self.filters)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": tuple(self.kernel_size), "strides": tuple(self.strides),
                "padding": self.padding, "dilation_rate": tuple(self.dilation_rate),
                "groups": self.groups, **kernel_layer_config(self)}


def pool3d(x: Tensor, mode: str, pool_size: Sequence[int], strides: Sequence[int],
           padding: str) -> Tensor:
    """Max (``mode="max"``) or average pooling of (N, D, H, W, C) in two passes of the 2-D
    kernel: over height and width, then over depth ('same' averages exclude the padded
    cells: the window's valid cells are a box, so the mean of means is their mean).

    Example:
        >>> pool3d(gn.tensor(np.ones((1, 4, 4, 4, 2))), "max", (2, 2, 2), (2, 2, 2),
        ...        "valid").shape
        (1, 2, 2, 2, 2)
    """
    n, d, h, w, c = x.shape
    (pd, ph, pw), (sd, sh, sw) = pool_size, strides
    same = padding == "same"
    pads_hw = ((same_pads(h, ph, sh), same_pads(w, pw, sw)) if same
               else ((0, 0), (0, 0)))
    y = Pool2DKernel(mode, (ph, pw), (sh, sw), pads_hw)(ops.reshape(x, (n * d, h, w, c)))
    oh, ow = y.shape[1], y.shape[2]
    pads_d = (same_pads(d, pd, sd) if same else (0, 0), (0, 0))
    y = Pool2DKernel(mode, (pd, 1), (sd, 1), pads_d)(ops.reshape(y, (n, d, oh * ow, c)))
    return ops.reshape(y, (n, y.shape[1], oh, ow, c))


class _Pooling3D(Layer):
    mode = "max"

    def __init__(self, pool_size: Any = (2, 2, 2), strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pool_size = normalize_tuple(pool_size, 3, "pool_size", self.name)
        self.strides = self.pool_size if strides is None else normalize_tuple(
            strides, 3, "strides", self.name)
        self.padding = normalize_padding(padding, self.name)
        check_data_format(data_format, self.name)

    def _check_input(self, shape: Any) -> None:
        shape = _check5(self, shape)
        if self.padding == "valid" and any(
                s is not None and s < p for s, p in zip(shape[1:4], self.pool_size)):
            raise ValueError(f"{type(self).__name__} '{self.name}': pool size "
                             f"{'x'.join(map(str, self.pool_size))} is larger than the input "
                             f"with padding='valid'. Received: input shape {shape}")

    def __call__(self, x: Any, *args: Any, training: bool | None = False,
                 **kwargs: Any) -> Any:
        if args:  # more inputs, or the training flag, by position
            return self._positional_call(x, args, training, kwargs)
        if hasattr(x, "shape"):
            self._check_input(tuple(x.shape))
        return super().__call__(x, training=training, **kwargs)

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        return pool3d(x, self.mode, self.pool_size, self.strides, self.padding)

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        self._check_input(input_shape)
        out = [conv_output_length(v, p, self.padding, s) for v, p, s in zip(
            input_shape[1:4], self.pool_size, self.strides)]
        return (input_shape[0], *out, input_shape[-1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "pool_size": tuple(self.pool_size),
                "strides": tuple(self.strides), "padding": self.padding}


@register
class MaxPooling3D(_Pooling3D):
    """Max over (pd, ph, pw) windows of a volume (strides default to pool_size).

    Example:
        >>> MaxPooling3D()(np.zeros((1, 4, 4, 4, 2), "float32")).shape
        (1, 2, 2, 2, 2)
    """

    mode = "max"


@register
class AveragePooling3D(_Pooling3D):
    """Mean over (pd, ph, pw) windows; 'same' averages only the real (unpadded) cells.

    Example:
        >>> AveragePooling3D(2, padding="same")(np.zeros((1, 5, 5, 5, 2), "float32")).shape
        (1, 3, 3, 3, 2)
    """

    mode = "avg"


@register
class UpSampling3D(Layer):
    """Repeat every voxel ``size`` = (sd, sh, sw) times along depth, height and width.

    Example:
        >>> UpSampling3D(2)(np.zeros((1, 2, 3, 4, 5), "float32")).shape
        (1, 4, 6, 8, 5)
    """

    def __init__(self, size: Any = (2, 2, 2), data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.size = normalize_tuple(size, 3, "size", self.name)
        check_data_format(data_format, self.name)

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        n, d, h, w, c = _check5(self, x.shape)
        a, b, e = self.size
        y = ops.reshape(x, (n, d, 1, h, 1, w, 1, c))
        y = ops.broadcast_to(y, (n, d, a, h, b, w, e, c))
        return ops.reshape(y, (n, d * a, h * b, w * e, c))

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        s = _check5(self, input_shape)
        return (s[0], *(None if v is None else v * k for v, k in zip(s[1:4], self.size)),
                s[4])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "size": tuple(self.size)}


Convolution3D, MaxPool3D, AvgPool3D = Conv3D, MaxPooling3D, AveragePooling3D
