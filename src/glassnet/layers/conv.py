"""Convolution layers, channels-last like Keras: ``Conv1D``, ``Conv2D``, ``Conv2DTranspose``.

Kernels use Keras's layouts — Conv2D ``(kh, kw, in, out)``, Conv1D ``(k, in, out)``,
Conv2DTranspose ``(kh, kw, out, in)`` — so weights move between Keras and glassnet.
The maths (shape helpers, im2col/col2im, the fused kernels, functional ``conv2d``) is in
:mod:`glassnet.layers._conv_kernels`, re-exported here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .. import activations, constraints, initializers, ops, regularizers
from ._conv_kernels import (  # noqa: F401  (re-exported: pooling, reshaping, tests use them)
    Conv2DKernel,
    Conv2DTransposeKernel,
    check_data_format,
    conv2d,
    conv2d_transpose,
    conv_output_length,
    deconv_output_length,
    normalize_padding,
    normalize_tuple,
    same_pads,
    transpose_kernel,
)
from .base import Layer, register
from .core import kernel_layer_config

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..autograd import Function
    from ..tensor import Tensor

__all__ = [
    "Conv1D", "Conv2D", "Conv1DTranspose", "Conv2DTranspose", "Convolution1D", "Convolution2D",
    "Convolution1DTranspose", "Convolution2DTranspose",
    "Conv2DKernel", "Conv2DTransposeKernel", "conv2d", "conv2d_transpose",
]


# ------------------------------------------------------------------ layers
class _Conv(Layer):
    """Shared plumbing of Conv1D/Conv2D/Conv2DTranspose: arguments, weights, checks."""

    rank = 2
    transpose = False
    paddings: tuple[str, ...] = ("valid", "same")
    # each subclass's convolution of x (relu=True only where _fuse_relu says so)
    _convolve: Callable[..., Tensor]

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = 1, groups: int = 1,
                 activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        n = self.rank
        if isinstance(filters, bool) or not isinstance(filters, (int, np.integer)) or filters <= 0:
            raise ValueError(
                f"Layer '{self.name}': filters must be a positive int. Received: "
                f"filters={filters!r}"
            )
        self.filters = int(filters)
        self.kernel_size = normalize_tuple(kernel_size, n, "kernel_size", self.name)
        self.strides = normalize_tuple(strides, n, "strides", self.name)
        self.padding = normalize_padding(padding, self.name, self.paddings)
        check_data_format(data_format, self.name)
        self.dilation_rate = normalize_tuple(dilation_rate, n, "dilation_rate", self.name)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                f"Layer '{self.name}': strides > 1 together with dilation_rate > 1 is not "
                f"supported (as in Keras). Received: strides={self.strides}, "
                f"dilation_rate={self.dilation_rate}"
            )
        if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups <= 0:
            raise ValueError(
                f"Layer '{self.name}': groups must be a positive int. Received: groups={groups!r}"
            )
        if self.transpose and groups != 1:
            raise ValueError(
                f"Layer '{self.name}': grouped transposed convolution is not supported. "
                f"Received: groups={groups!r}"
            )
        if self.filters % groups:
            raise ValueError(
                f"Layer '{self.name}': filters must be divisible by groups. Received: "
                f"filters={self.filters}, groups={groups}"
            )
        self.groups = int(groups)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    # -------------------------------------------------------------- checks
    def _axes_text(self) -> str:
        return "(batch, height, width, channels)" if self.rank == 2 else \
            "(batch, steps, channels)"

    def _check_input(self, shape: Any) -> None:
        shape = tuple(shape)
        cls = type(self).__name__
        if len(shape) != self.rank + 2:
            raise ValueError(
                f"{cls} '{self.name}' expects input of rank {self.rank + 2} "
                f"{self._axes_text()}. Received: input shape {shape}"
            )
        if shape[-1] is None:
            raise ValueError(
                f"{cls} '{self.name}' needs a known channel axis. Received: input shape {shape}"
            )
        if self.built and shape[-1] != self._in_channels:
            raise ValueError(
                f"{cls} '{self.name}' expects {self._in_channels} input channels. "
                f"Received: input shape {shape}"
            )
        if not self.transpose and self.padding == "valid":
            spatial = shape[1:-1]
            keff = [(k - 1) * d + 1 for k, d in zip(self.kernel_size, self.dilation_rate)]
            if any(s is not None and s < k for s, k in zip(spatial, keff)):
                raise ValueError(
                    f"{cls} '{self.name}': the kernel {'x'.join(map(str, keff))} (after "
                    f"dilation) is larger than the input's spatial size "
                    f"{'x'.join(map(str, spatial))} with padding='valid'; use padding='same' "
                    f"or a smaller kernel. Received: input shape {shape}"
                )

    # -------------------------------------------------------------- lifecycle
    def __call__(self, x: Any, *args: Any, training: bool | None = False,
                 **kwargs: Any) -> Any:
        if args:  # more inputs, or the training flag, by position
            return self._positional_call(x, args, training, kwargs)
        # checked before the base class builds, so errors show the real batch size
        if hasattr(x, "shape"):
            self._check_input(tuple(x.shape))
        return super().__call__(x, training=training, **kwargs)

    def build(self, input_shape: Any) -> None:
        self._check_input(input_shape)
        cin = int(input_shape[-1])
        if cin % self.groups:
            raise ValueError(
                f"{type(self).__name__} '{self.name}': the input channels must be divisible "
                f"by groups={self.groups}. Received: input shape {tuple(input_shape)}"
            )
        self._in_channels = cin
        ks = self.kernel_size
        kshape = ks + ((self.filters, cin) if self.transpose else
                       (cin // self.groups, self.filters))
        self.kernel = self.add_weight("kernel", kshape, self.kernel_initializer,
                                      self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = (self.add_weight("bias", (self.filters,), self.bias_initializer,
                                     self.bias_regularizer, constraint=self.bias_constraint)
                     if self.use_bias else None)
        self.built = True

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        if type(self).convolution_op is not _Conv.convolution_op:
            # a subclass's own convolution (keras.io's weight-standardized Conv2D): its
            # result, then the bias and the activation, as Keras's call does
            y = self.convolution_op(x, self.kernel)
            if self.bias is not None:
                y = ops.add(y, self.bias)
            return self.activation(y)
        if self._fuse_relu():
            y = self._convolve(x, relu=True)
        else:
            y = self.activation(self._convolve(x))
        return y

    def convolution_op(self, inputs: Tensor, kernel: Any) -> Tensor:
        """The layer's convolution of ``inputs`` with ``kernel``, without bias or activation
        (Keras's hook: a subclass may override it, and ``call`` then adds the bias and the
        activation to what it returns).

        Example:
            >>> layer = Conv2D(2, 3); _ = layer(np.zeros((1, 5, 5, 1), "float32"))
            >>> layer.convolution_op(np.ones((1, 5, 5, 1), "float32"), layer.kernel).shape
            (1, 3, 3, 2)
        """
        from .. import keras_ops

        if self.transpose:
            return keras_ops.conv_transpose(inputs, kernel, self.strides, self.padding,
                                            getattr(self, "output_padding", None),
                                            dilation_rate=self.dilation_rate)
        x, padding = inputs, self.padding
        if padding == "causal":  # Conv1D: the left padding, then a valid convolution
            left = (self.kernel_size[0] - 1) * self.dilation_rate[0]
            x = ops.pad(inputs, ((0, 0), (left, 0), (0, 0)))
            padding = "valid"
        return keras_ops.conv(x, kernel, self.strides, padding,
                              dilation_rate=self.dilation_rate)

    def _fuse_relu(self) -> bool:
        return False

    def _grouped(self, fn_factory: Callable[[], Function], x4: Any, w4: Any,
                 b: Any) -> Tensor:
        """``fn(x, w[, b])`` with a fresh kernel Function; with ``groups`` > 1 once per group
        (input channels and filters split into ``groups`` equal slices, outputs concatenated
        along channels, as Keras/TensorFlow order them)."""
        g = self.groups
        if g == 1:
            fn = fn_factory()
            return fn(x4, w4) if b is None else fn(x4, w4, b)
        cg, fg = w4.shape[2], self.filters // g
        ys = []
        for i in range(g):
            fn = fn_factory()
            xi, wi = x4[..., i * cg:(i + 1) * cg], w4[..., i * fg:(i + 1) * fg]
            ys.append(fn(xi, wi) if b is None else fn(xi, wi, b[i * fg:(i + 1) * fg]))
        return ops.concatenate(ys, axis=-1)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": tuple(self.kernel_size),
            "strides": tuple(self.strides),
            "padding": self.padding,
            "dilation_rate": tuple(self.dilation_rate),
            **({} if self.transpose else {"groups": self.groups}),
            **kernel_layer_config(self),
        }


@register
class Conv2D(_Conv):
    """2-D convolution over channels-last images: ``activation(conv(x, kernel) + bias)``.

    Args:
        filters: number of output channels.
        kernel_size: int or (kh, kw).
        strides: int or (sh, sw).
        padding: 'valid' (no padding) or 'same' (output size ceil(in / stride); for stride > 1
            the extra padding goes bottom/right, as in Keras).
        dilation_rate: int or pair (atrous convolution); not with strides > 1.
        groups: split the input channels and the filters into this many groups, each
            convolved separately (``groups == channels``: depthwise); divides both.
        activation, use_bias, kernel/bias initializers and regularizers, activity_regularizer:
            as in :class:`~glassnet.layers.Dense`.

    Shapes: (batch, H, W, C) → (batch, OH, OW, filters). Weights ``kernel`` (kh, kw,
    C / groups, filters), ``bias`` (filters,).

    Example:
        >>> Conv2D(8, 3, activation="relu")(np.zeros((2, 28, 28, 1), "float32")).shape
        (2, 26, 26, 8)
    """

    rank = 2

    def _fuse_relu(self) -> bool:
        # the kernel applies ReLU in place on its GEMM output (one array less per call)
        return self.activation is activations.relu

    def _convolve(self, x: Tensor, relu: bool = False) -> Tensor:
        s, d = self.strides, self.dilation_rate
        ks = self.kernel_size
        pads = ((0, 0), (0, 0))
        if self.padding == "same":
            pads = (same_pads(x.shape[1], ks[0], s[0], d[0]),
                    same_pads(x.shape[2], ks[1], s[1], d[1]))
        return self._grouped(lambda: Conv2DKernel(s, d, pads, relu=relu), x, self.kernel,
                             self.bias)

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        self._check_input(input_shape)
        out = [conv_output_length(n, k, self.padding, s, d) for n, k, s, d in zip(
            input_shape[1:3], self.kernel_size, self.strides, self.dilation_rate)]
        return (input_shape[0], *out, self.filters)


@register
class Conv1D(_Conv):
    """1-D convolution over sequences (batch, steps, channels).

    Args:
        filters, kernel_size, strides, dilation_rate, groups: as for :class:`Conv2D`, ints.
        padding: 'valid', 'same' or 'causal' (left padding only: output t sees inputs <= t).

    Shapes: (batch, L, C) → (batch, OL, filters). Weights ``kernel`` (k, C / groups,
    filters).

    Example:
        >>> Conv1D(4, 3, padding="same")(np.zeros((2, 10, 3), "float32")).shape
        (2, 10, 4)
    """

    rank = 1
    paddings = ("valid", "same", "causal")

    def _fuse_relu(self) -> bool:
        # as Conv2D: ReLU in place on the kernel's GEMM output, no separate Relu node
        return self.activation is activations.relu

    def _convolve(self, x: Tensor, relu: bool = False) -> Tensor:
        (k,), (s,), (d,) = self.kernel_size, self.strides, self.dilation_rate
        n, length, c = x.shape
        if self.padding == "same":
            pad = same_pads(length, k, s, d)
        elif self.padding == "causal":
            pad = ((k - 1) * d, 0)
        else:
            pad = (0, 0)
        x4 = ops.reshape(x, (n, 1, length, c))
        w4 = ops.reshape(self.kernel, (1, k, c // self.groups, self.filters))
        y = self._grouped(lambda: Conv2DKernel((1, s), (1, d), ((0, 0), pad), relu=relu),
                          x4, w4, self.bias)
        return ops.reshape(y, (n, y.shape[2], self.filters))

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        self._check_input(input_shape)
        out = conv_output_length(input_shape[1], self.kernel_size[0], self.padding,
                                 self.strides[0], self.dilation_rate[0])
        return (input_shape[0], out, self.filters)


class _ConvTranspose(_Conv):
    """What the transposed convolutions share: Keras's ``output_padding`` and the fused
    ReLU (a decoder's hidden layers)."""

    transpose = True

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 output_padding: Any = None, data_format: str | None = None,
                 dilation_rate: Any = 1, **kwargs: Any) -> None:
        super().__init__(filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate, **kwargs)
        if output_padding is None:
            self.output_padding = None
        else:
            self.output_padding = normalize_tuple(output_padding, self.rank, "output_padding",
                                                  self.name, allow_zero=True)
            if any(p >= s for p, s in zip(self.output_padding, self.strides)):
                raise ValueError(
                    f"Layer '{self.name}': output_padding must be smaller than strides. "
                    f"Received: output_padding={self.output_padding}, strides={self.strides}"
                )

    def _fuse_relu(self) -> bool:
        # as Conv2D: ReLU in place on the kernel's output (a decoder's hidden layers)
        return self.activation is activations.relu

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        self._check_input(input_shape)
        pads = self.output_padding or (None,) * self.rank
        out = [deconv_output_length(n, k, self.padding, s, d, p) for n, k, s, d, p in zip(
            input_shape[1:1 + self.rank], self.kernel_size, self.strides, self.dilation_rate,
            pads)]
        return (input_shape[0], *out, self.filters)

    def get_config(self) -> dict[str, Any]:
        op = None if self.output_padding is None else tuple(self.output_padding)
        return {**super().get_config(), "output_padding": op}


@register
class Conv2DTranspose(_ConvTranspose):
    """Transposed 2-D convolution ("deconvolution"): upsamples, as in conv autoencoders/DCGAN.

    It is the gradient of :class:`Conv2D` with respect to its input, so
    ``Conv2DTranspose(f, k, strides=2, padding="same")`` doubles the height and width.

    Args:
        filters, kernel_size, strides, padding, dilation_rate: as for :class:`Conv2D`.
        output_padding: None (Keras's rule infers the size) or int/pair < stride: extra
            rows/columns added at the bottom/right of the output.

    Shapes: (batch, H, W, Cin) → (batch, OH, OW, filters); with ``output_padding=None``,
    ``OH = H * stride`` for 'same' and ``H * stride + max(k - stride, 0)`` for 'valid'.
    Weights ``kernel`` (kh, kw, filters, Cin) — Keras's layout — and ``bias`` (filters,).

    Example:
        >>> up = Conv2DTranspose(4, 3, strides=2, padding="same")
        >>> up(np.zeros((1, 7, 7, 8), "float32")).shape
        (1, 14, 14, 4)
    """

    rank = 2

    def _convolve(self, x: Tensor, relu: bool = False) -> Tensor:
        fn = transpose_kernel(x.shape, self.kernel.shape, self.strides, self.padding,
                              self.output_padding, self.dilation_rate, relu=relu)
        return fn(x, self.kernel) if self.bias is None else fn(x, self.kernel, self.bias)


@register
class Conv1DTranspose(_ConvTranspose):
    """Transposed 1-D convolution: upsamples sequences (a timeseries autoencoder's decoder).

    The 2-D kernel on a height of one, as :class:`Conv1D` is :class:`Conv2D`'s: the same
    size rules as :class:`Conv2DTranspose`, along the steps.

    Args:
        filters, kernel_size, strides, padding ('valid' or 'same'), dilation_rate: ints.
        output_padding: None or an int < strides: extra steps at the end of the output.

    Shapes: (batch, L, Cin) → (batch, OL, filters), ``OL = L * stride`` for 'same'. Weights
    ``kernel`` (k, filters, Cin) — Keras's layout — and ``bias`` (filters,).

    Example:
        >>> Conv1DTranspose(4, 7, strides=2, padding="same")(np.zeros((2, 5, 3), "float32")).shape
        (2, 10, 4)
    """

    rank = 1

    def _convolve(self, x: Tensor, relu: bool = False) -> Tensor:
        n, length, c = x.shape
        (k,), (s,), (d,) = self.kernel_size, self.strides, self.dilation_rate
        x4 = ops.reshape(x, (n, 1, length, c))
        w4 = ops.reshape(self.kernel, (1, k, self.filters, c))
        op = None if self.output_padding is None else (0, self.output_padding[0])
        fn = transpose_kernel(x4.shape, w4.shape, (1, s), self.padding, op, (1, d), relu=relu)
        y = fn(x4, w4) if self.bias is None else fn(x4, w4, self.bias)
        return ops.reshape(y, (n, y.shape[2], self.filters))


Convolution1D = Conv1D
Convolution2D = Conv2D
Convolution1DTranspose = Conv1DTranspose
Convolution2DTranspose = Conv2DTranspose
