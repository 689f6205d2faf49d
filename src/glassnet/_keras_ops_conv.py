"""Keras 3's convolution and pooling ops: ``keras.ops.conv``, ``conv_transpose``,
``depthwise_conv``, ``separable_conv``, ``max_pool`` and ``average_pool``.

Each runs the layers' own kernels (the ones ``Conv2D``, ``Conv2DTranspose``,
``DepthwiseConv2D`` and the pooling layers call), so a custom layer written with ops (a
``Conv2D`` subclass overriding ``convolution_op``, as keras.io's recipe does) trains
through the same code. The rank of ``inputs`` picks the 1-D, 2-D or 3-D form; 1-D runs as
2-D over one row. ``data_format="channels_first"`` is taken by moving the channels last
and back. Kernels are laid out as Keras's: (*spatial, in, out) for ``conv`` (``in`` may be
``channels / groups``: a grouped convolution), (*spatial, out, in) for
``conv_transpose``, (*spatial, in, multiplier) for ``depthwise_conv``. Part of
:mod:`glassnet.keras_ops`.

Example:
    >>> conv(np.ones((1, 5, 5, 1), "float32"), np.ones((3, 3, 1, 2), "float32")).shape
    (1, 3, 3, 2)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import ops as P
from ._keras_ops_array import _t
from .layers._conv_kernels import conv2d, conv2d_transpose, normalize_padding, normalize_tuple
from .layers.conv_depthwise import depthwise_conv2d
from .layers.conv_volumetric import conv3d, pool3d
from .layers.pooling import avg_pool2d, max_pool2d

if TYPE_CHECKING:
    from collections.abc import Callable

    from ._typing import TensorLike
    from .tensor import Tensor

__all__ = ["conv", "conv_transpose", "depthwise_conv", "separable_conv", "max_pool",
           "average_pool"]


def _rank(x: Tensor, name: str, ranks: tuple[int, ...] = (3, 4, 5)) -> int:
    if x.ndim not in ranks:
        raise ValueError(f"{name}: inputs must have rank {' or '.join(map(str, ranks))} "
                         f"(batch, *spatial, channels). Received: shape {tuple(x.shape)}")
    return x.ndim - 2


def _channels_last(name: str, data_format: str | None, x: Tensor,
                   run: Callable[[Tensor], Tensor]) -> Tensor:
    """``run`` on channels-last ``x``: channels-first data moved there and back."""
    if data_format in (None, "channels_last"):
        return run(x)
    if data_format != "channels_first":
        raise ValueError(f"{name}: data_format must be 'channels_last' or 'channels_first'. "
                         f"Received: {data_format!r}")
    nd = x.ndim
    y = run(P.transpose(x, (0, *range(2, nd), 1)))
    return P.transpose(y, (0, nd - 1, *range(1, nd - 1)))


def _row(x: Tensor) -> Tensor:
    """(N, L, C) as (N, 1, L, C): a 1-D op as its 2-D kernel over one row."""
    return P.reshape(x, (x.shape[0], 1, x.shape[1], x.shape[2]))


def _unrow(y: Tensor) -> Tensor:
    return P.reshape(y, (y.shape[0], y.shape[2], y.shape[3]))


def _pair1(v: Any, name: str, arg: str) -> tuple[int, int]:
    (a,) = normalize_tuple(v, 1, arg, name)
    return 1, a


def _planar(name: str, kernel2d: Callable[..., Tensor], rank: int, x: Tensor, w: Tensor,
            strides: Any, padding: str, dilation_rate: Any, **extra: Any) -> Tensor:
    """``kernel2d(x, w, None, ...)`` (one of the layers' 2-D kernels) on channels-last
    ``x``: directly in 2-D, over one row (its tuples padded with a 1) in 1-D."""
    if rank == 2:
        return kernel2d(x, w, None, strides=strides, padding=padding,
                        dilation_rate=dilation_rate, **extra)
    one = {k: None if v is None else _pair1(v, name, k) for k, v in extra.items()}
    return _unrow(kernel2d(_row(x), P.reshape(w, (1, *w.shape)), None,
                           strides=_pair1(strides, name, "strides"), padding=padding,
                           dilation_rate=_pair1(dilation_rate, name, "dilation_rate"),
                           **one))


def _planar_op(name: str, kernel2d: Callable[..., Tensor], inputs: TensorLike,
               kernel: TensorLike, strides: Any, padding: str, data_format: str | None,
               dilation_rate: Any, **extra: Any) -> Tensor:
    """A 1-D or 2-D op on one of the layers' 2-D kernels: its checks, then :func:`_planar`
    on channels-last data."""
    x, w = _t(inputs), _t(kernel)
    rank = _rank(x, name, (3, 4))
    pad = normalize_padding(padding, name)
    return _channels_last(name, data_format, x, lambda x: _planar(
        name, kernel2d, rank, x, w, strides, pad, dilation_rate, **extra))


def conv(inputs: TensorLike, kernel: TensorLike, strides: Any = 1, padding: str = "valid",
         data_format: str | None = None, dilation_rate: Any = 1) -> Tensor:
    """N-D convolution (cross-correlation) of ``inputs`` (batch, *spatial, channels) with
    ``kernel`` (*spatial, channels / groups, filters); ``padding`` 'valid' or 'same'.

    Example:
        >>> conv(np.ones((2, 7, 3), "float32"), np.ones((3, 3, 4), "float32"),
        ...      padding="same").shape
        (2, 7, 4)
    """
    x, w = _t(inputs), _t(kernel)
    rank = _rank(x, "conv")
    pad = normalize_padding(padding, "conv")
    if w.ndim != rank + 2:
        raise ValueError(f"conv: a {rank}-D convolution needs a kernel of rank {rank + 2}. "
                         f"Received: kernel shape {tuple(w.shape)}")

    def run(x: Tensor) -> Tensor:
        c, cin = x.shape[-1], w.shape[-2]
        if cin < 1 or c % cin:
            raise ValueError(f"conv: the inputs' {c} channels must be a multiple of the "
                             f"kernel's {cin} input channels. Received: inputs shape "
                             f"{tuple(x.shape)}, kernel shape {tuple(w.shape)}")
        groups, f = c // cin, w.shape[-1]
        if f % groups:
            raise ValueError(f"conv: {groups} groups need filters divisible by {groups}. "
                             f"Received: kernel shape {tuple(w.shape)}")
        parts = []
        for g in range(groups):  # a grouped convolution: each group its own slice
            xg = x if groups == 1 else x[..., g * cin:(g + 1) * cin]
            wg = w if groups == 1 else w[..., g * (f // groups):(g + 1) * (f // groups)]
            if rank == 3:
                parts.append(conv3d(xg, wg, None, strides, pad, dilation_rate))
            else:
                parts.append(_planar("conv", conv2d, rank, xg, wg, strides, pad,
                                     dilation_rate))
        return parts[0] if groups == 1 else P.concatenate(parts, axis=-1)

    return _channels_last("conv", data_format, x, run)


def conv_transpose(inputs: TensorLike, kernel: TensorLike, strides: Any = 1,
                   padding: str = "valid", output_padding: Any = None,
                   data_format: str | None = None, dilation_rate: Any = 1) -> Tensor:
    """Transposed 1-D or 2-D convolution of ``inputs`` with ``kernel`` (*spatial, filters,
    channels), with Keras's output sizes (``output_padding`` adds rows at the end).

    Example:
        >>> conv_transpose(np.ones((1, 3, 3, 2), "float32"), np.ones((3, 3, 1, 2), "float32"),
        ...                strides=2, padding="same").shape
        (1, 6, 6, 1)
    """
    return _planar_op("conv_transpose", conv2d_transpose, inputs, kernel, strides, padding,
                      data_format, dilation_rate, output_padding=output_padding)


def depthwise_conv(inputs: TensorLike, kernel: TensorLike, strides: Any = 1,
                   padding: str = "valid", data_format: str | None = None,
                   dilation_rate: Any = 1) -> Tensor:
    """Depthwise 1-D or 2-D convolution: each channel convolved with its own
    ``multiplier`` filters, ``kernel`` (*spatial, channels, multiplier).

    Example:
        >>> depthwise_conv(np.ones((1, 5, 5, 2), "float32"), np.ones((3, 3, 2, 1), "float32")
        ...                ).shape
        (1, 3, 3, 2)
    """
    return _planar_op("depthwise_conv", depthwise_conv2d, inputs, kernel, strides, padding,
                      data_format, dilation_rate)


def separable_conv(inputs: TensorLike, depthwise_kernel: TensorLike,
                   pointwise_kernel: TensorLike, strides: Any = 1, padding: str = "valid",
                   data_format: str | None = None, dilation_rate: Any = 1) -> Tensor:
    """:func:`depthwise_conv`, then a 1x1 :func:`conv` with ``pointwise_kernel``
    (1[, 1], channels · multiplier, filters).

    Example:
        >>> separable_conv(np.ones((1, 5, 5, 2), "float32"), np.ones((3, 3, 2, 1), "float32"),
        ...                np.ones((1, 1, 2, 4), "float32")).shape
        (1, 3, 3, 4)
    """
    y = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format, dilation_rate)
    return conv(y, pointwise_kernel, 1, "valid", data_format)


def _pool(name: str, mode: str, inputs: TensorLike, pool_size: Any, strides: Any,
          padding: str, data_format: str | None) -> Tensor:
    x = _t(inputs)
    rank = _rank(x, name)
    pad = normalize_padding(padding, name)
    size = normalize_tuple(pool_size, rank, "pool_size", name)
    step = size if strides is None else normalize_tuple(strides, rank, "strides", name)
    two = max_pool2d if mode == "max" else avg_pool2d

    def run(x: Tensor) -> Tensor:
        if rank == 1:
            return _unrow(two(_row(x), (1, size[0]), (1, step[0]), pad))
        if rank == 2:
            return two(x, size, step, pad)
        return pool3d(x, mode, size, step, pad)

    return _channels_last(name, data_format, x, run)


def max_pool(inputs: TensorLike, pool_size: Any, strides: Any = None, padding: str = "valid",
             data_format: str | None = None) -> Tensor:
    """Max over windows of ``pool_size`` (strides default to it), 1-D to 3-D.

    Example:
        >>> max_pool(np.arange(8.0).reshape(1, 8, 1), 2).data[0, :, 0].tolist()
        [1.0, 3.0, 5.0, 7.0]
    """
    return _pool("max_pool", "max", inputs, pool_size, strides, padding, data_format)


def average_pool(inputs: TensorLike, pool_size: Any, strides: Any = None,
                 padding: str = "valid", data_format: str | None = None) -> Tensor:
    """Mean over windows of ``pool_size``, 1-D to 3-D ('same' leaves the padded cells out
    of the mean, as Keras).

    Example:
        >>> average_pool(np.arange(8.0).reshape(1, 8, 1), 2).data[0, :, 0].tolist()
        [0.5, 2.5, 4.5, 6.5]
    """
    return _pool("average_pool", "avg", inputs, pool_size, strides, padding, data_format)
