"""Convolution layers, channels-last like Keras: ``Conv1D``, ``Conv2D``, ``Conv2DTranspose``.

Kernels use Keras's layouts — Conv2D ``(kh, kw, in, out)``, Conv1D ``(k, in, out)``,
Conv2DTranspose ``(kh, kw, out, in)`` — so weights move between Keras and glassnet.

The math lives in two fused kernels (one :class:`~glassnet.autograd.Function` each):

* :class:`Conv2DKernel` — im2col through a strided *view* of the (padded) input, copied once
  into a ``(N*OH*OW, kh*kw*C)`` matrix, then one GEMM with the kernel reshaped to
  ``(kh*kw*C, F)``. Backward: ``gw = col.T @ gy``; ``gx`` by ``gy @ w.T`` and col2im, which
  loops only over the ``kh*kw`` kernel offsets, adding one strided slice each.
* :class:`Conv2DTransposeKernel` — exactly the adjoint: its forward is Conv2D's input
  gradient (GEMM then col2im), its backward uses Conv2D's forward (im2col then GEMM).

Conv1D runs the 2-D kernels on a height-1 view. 'same' padding follows Keras/TensorFlow:
for stride > 1 the extra padding goes to the bottom/right.
"""

from __future__ import annotations

import numpy as np

from .. import activations, backend, initializers, ops, regularizers
from ..autograd import Function, is_grad_enabled
from ..tensor import Tensor
from .base import Layer, register
from .core import kernel_layer_config

__all__ = [
    "Conv1D", "Conv2D", "Conv2DTranspose", "Convolution1D", "Convolution2D",
    "Conv2DKernel", "Conv2DTransposeKernel", "conv2d", "conv2d_transpose",
]


# ------------------------------------------------------------------ shape helpers
def normalize_tuple(value, n: int, arg: str, layer: str, allow_zero: bool = False) -> tuple:
    """``3`` → ``(3, 3)``; validates positive (or non-negative) ints, naming the layer."""
    vals = (value,) * n if isinstance(value, (int, np.integer)) else value
    try:
        vals = tuple(vals)
    except TypeError:
        vals = None
    lo = 0 if allow_zero else 1
    if (vals is None or len(vals) != n or any(
            isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo for v in vals)):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(
            f"Layer '{layer}': {arg} must be a {kind} int or a tuple of {n} {kind} ints. "
            f"Received: {arg}={value!r}"
        )
    return tuple(int(v) for v in vals)


def normalize_padding(value, layer: str, allowed=("valid", "same")) -> str:
    p = str(value).lower() if isinstance(value, str) else value
    if p not in allowed:
        raise ValueError(
            f"Layer '{layer}': padding must be one of {list(allowed)}. Received: padding={value!r}"
        )
    return p


def check_data_format(value, layer: str) -> None:
    if value not in (None, "channels_last"):
        raise ValueError(
            f"Layer '{layer}': only data_format='channels_last' (batch, ..., channels) is "
            f"supported. Received: data_format={value!r}"
        )


def conv_output_length(length, k: int, padding: str, stride: int, dilation: int = 1):
    """Keras's output length of a convolution/pooling window along one axis (None stays)."""
    if length is None:
        return None
    keff = (k - 1) * dilation + 1
    if padding == "same":
        return -(-length // stride)
    if padding == "causal":
        return -(-length // stride)
    return max(length - keff, -1) // stride + 1


def same_pads(length: int, k: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow's 'same' padding: total split with the extra element after (bottom/right)."""
    out = -(-length // stride)
    total = max((out - 1) * stride + (k - 1) * dilation + 1 - length, 0)
    return total // 2, total - total // 2


def deconv_output_length(length, k: int, padding: str, stride: int, dilation: int = 1,
                         output_padding: int | None = None):
    """Keras's output length of a transposed convolution along one axis (None stays)."""
    if length is None:
        return None
    keff = (k - 1) * dilation + 1
    if output_padding is None:
        if padding == "valid":
            return length * stride + max(keff - stride, 0)
        return length * stride
    pad = keff // 2 if padding == "same" else 0
    return (length - 1) * stride + keff - 2 * pad + output_padding


# ------------------------------------------------------------------ im2col / col2im
def _windows(a, kh: int, kw: int, sh: int, sw: int, dh: int, dw: int, oh: int, ow: int):
    """Strided view (N, oh, ow, kh, kw, C) of every window of ``a`` (N, H, W, C); no copy."""
    xp = backend.get_array_module(a)
    s0, s1, s2, s3 = a.strides
    return xp.lib.stride_tricks.as_strided(
        a, shape=(a.shape[0], oh, ow, kh, kw, a.shape[3]),
        strides=(s0, s1 * sh, s2 * sw, s1 * dh, s2 * dw, s3),
    )


def _im2col(a, kh, kw, sh, sw, dh, dw, oh, ow):
    """One contiguous copy of the windows as a (N*oh*ow, kh*kw*C) matrix."""
    n, c = a.shape[0], a.shape[3]
    if kh == kw == 1 and sh == sw == 1:
        return a[:, :oh, :ow].reshape(n * oh * ow, c)  # 1x1 conv: a view when contiguous
    xp = backend.get_array_module(a)
    if c >= 8 or xp is not np:
        view = _windows(a, kh, kw, sh, sw, dh, dw, oh, ow)
        return xp.ascontiguousarray(view).reshape(n * oh * ow, kh * kw * c)
    # few channels (the first layer on grey/RGB images): copying the 6-D view runs NumPy's
    # inner loop over only C elements; kh*kw slice copies run it over whole rows (3.5x faster
    # measured for C=1)
    col = xp.empty((n, oh, ow, kh, kw, c), dtype=a.dtype)
    for i in range(kh):
        for j in range(kw):
            r0, c0 = i * dh, j * dw
            col[:, :, :, i, j, :] = a[:, r0:r0 + (oh - 1) * sh + 1:sh, c0:c0 + (ow - 1) * sw + 1:sw]
    return col.reshape(n * oh * ow, kh * kw * c)


def _col2im_gemm(buf, a2d, wk, oh: int, ow: int, sh, sw, dh, dw) -> None:
    """``buf`` (N, Hp, Wp, C) += col2im(a2d @ wk2d.T), one kernel offset at a time, in place.

    ``a2d`` is (N*oh*ow, K) and ``wk`` (kh, kw, C, K). For each of the kh*kw offsets one GEMM
    ``a2d @ wk[i, j].T`` gives that offset's (N, oh, ow, C) contribution contiguously, which
    is added to one strided slice of ``buf``. Adding from the (N, oh, ow, kh, kw, C) column
    matrix instead would read with a stride on every C-row: measured 3-5x slower.
    """
    xp = backend.get_array_module(buf)
    n, c = buf.shape[0], buf.shape[3]
    kh, kw = wk.shape[0], wk.shape[1]
    tmp = xp.empty((a2d.shape[0], c), dtype=buf.dtype)
    for i in range(kh):
        r0 = i * dh
        for j in range(kw):
            c0 = j * dw
            xp.matmul(a2d, wk[i, j].T, out=tmp)
            buf[:, r0:r0 + (oh - 1) * sh + 1:sh, c0:c0 + (ow - 1) * sw + 1:sw, :] += \
                tmp.reshape(n, oh, ow, c)


_COL_BUDGET = 16 << 20  # bytes of im2col matrix per chunk when no backward will need it


def _result_dtype(a, b):
    return a.dtype if a.dtype == b.dtype else (a.ravel()[:1] * b.ravel()[:1]).dtype


def _add_bias(y, b):
    if b.dtype == y.dtype:
        y += b  # in place: y is a fresh GEMM result
        return y
    return y + b


# ------------------------------------------------------------------ fused kernels
class Conv2DKernel(Function):
    """2-D convolution (cross-correlation), NHWC input, kernel (kh, kw, in, out).

    Args:
        strides: (sh, sw). dilation: (dh, dw).
        pads: ((top, bottom), (left, right)) zero padding.

    Shapes: x (N, H, W, C), w (kh, kw, C, F), b (F,) → (N, OH, OW, F) with
    ``OH = (H + top + bottom - (kh-1)*dh - 1) // sh + 1``.
    """

    def __init__(self, strides=(1, 1), dilation=(1, 1), pads=((0, 0), (0, 0)),
                 relu: bool = False):
        self.strides, self.dilation = tuple(strides), tuple(dilation)
        self.pads = tuple(tuple(p) for p in pads)
        self.relu = bool(relu)

    def forward(self, x, w, b=None):
        xp = backend.get_array_module(x)
        (pt, pb), (pl, pr) = self.pads
        sh, sw = self.strides
        dh, dw = self.dilation
        kh, kw, c, f = w.shape
        if x.ndim != 4 or x.shape[3] != c:
            raise ValueError(
                f"conv2d: expected input (N, H, W, {c}) for kernel shape {w.shape}. "
                f"Received: input shape {x.shape}"
            )
        self.x_shape = x.shape
        if pt or pb or pl or pr:
            x = xp.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
        hp, wp = x.shape[1], x.shape[2]
        oh = (hp - (kh - 1) * dh - 1) // sh + 1
        ow = (wp - (kw - 1) * dw - 1) // sw + 1
        if oh <= 0 or ow <= 0:
            raise ValueError(
                f"conv2d: the (dilated) kernel {(kh - 1) * dh + 1}x{(kw - 1) * dw + 1} is "
                f"larger than the padded input {hp}x{wp}. Received: input shape {self.x_shape}"
            )
        self.padded_shape, self.out_hw = x.shape, (oh, ow)
        n = x.shape[0]
        per_sample = oh * ow * kh * kw * c * x.dtype.itemsize
        if not is_grad_enabled() and n > 1 and n * per_sample > _COL_BUDGET:
            # inference keeps no column matrix for backward: build it a slice of the batch at
            # a time (peak memory of a batch-1024 MNIST CNN forward 238 -> ~110 MB)
            step = max(1, _COL_BUDGET // per_sample)
            y = xp.empty((n * oh * ow, f), dtype=_result_dtype(x, w))
            w2d = w.reshape(kh * kw * c, f)
            for s in range(0, n, step):
                e = min(s + step, n)
                xp.matmul(_im2col(x[s:e], kh, kw, sh, sw, dh, dw, oh, ow), w2d,
                          out=y[s * oh * ow:e * oh * ow])
            return self._finish(y, b).reshape(n, oh, ow, f)
        col = _im2col(x, kh, kw, sh, sw, dh, dw, oh, ow)
        self.col, self.w, self.has_b = col, w, b is not None
        y = self._finish(col @ w.reshape(kh * kw * c, f), b)
        if self.relu:
            self.y = y
        return y.reshape(x.shape[0], oh, ow, f)

    def _finish(self, y, b):
        """Bias and the fused ReLU, in place on the fresh GEMM result (no extra activation
        array: a batch-1024 MNIST CNN forward peaks 88 MB lower)."""
        if b is not None:
            y = _add_bias(y, b)
        if self.relu:
            backend.get_array_module(y).maximum(y, 0, out=y)
        return y

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        w = self.w
        kh, kw, c, f = w.shape
        need = self.needs_input_grad
        gy2d = gy.reshape(-1, f)
        if self.relu:
            gy2d = gy2d * (self.y > 0)
        gx = gw = gb = None
        if need[1]:
            gw = (self.col.T @ gy2d).reshape(w.shape)
        if self.has_b and need[2]:
            gb = gy2d.sum(axis=0)
        if need[0]:
            oh, ow = self.out_hw
            sh, sw = self.strides
            (pt, _), (pl, _) = self.pads
            h, wd = self.x_shape[1], self.x_shape[2]
            if kh == kw == 1 and sh == sw == 1 and self.padded_shape == self.x_shape:
                gx = (gy2d @ w.reshape(c, f).T).reshape(self.x_shape)
            else:
                buf = xp.zeros(self.padded_shape, dtype=_result_dtype(gy2d, w))
                _col2im_gemm(buf, gy2d, w, oh, ow, sh, sw, *self.dilation)
                gx = buf if buf.shape == self.x_shape else buf[:, pt:pt + h, pl:pl + wd]
        return (gx, gw, gb) if self.has_b else (gx, gw)

    def describe(self):
        act = ", relu" if self.relu else ""
        return (f"Conv2D(strides={self.strides}, dilation={self.dilation}, "
                f"pads={self.pads}{act})")


class Conv2DTransposeKernel(Function):
    """Transposed 2-D convolution (the adjoint of :class:`Conv2DKernel`), NHWC.

    Args:
        strides, dilation: as for Conv2D.
        out_hw: output (height, width).
        crop: (top, left) offset of the output inside the full ``(H-1)*s + keff`` result.

    Shapes: x (N, H, W, Cin), w (kh, kw, Cout, Cin) (Keras's layout), b (Cout,)
    → (N, OH, OW, Cout).
    """

    def __init__(self, strides=(1, 1), dilation=(1, 1), out_hw=None, crop=(0, 0)):
        self.strides, self.dilation = tuple(strides), tuple(dilation)
        self.out_hw, self.crop = tuple(out_hw), tuple(crop)

    def _full_shape(self, n, h, wd, kh, kw, cout):
        sh, sw = self.strides
        dh, dw = self.dilation
        oh, ow = self.out_hw
        th, tw = self.crop
        fh = max((h - 1) * sh + (kh - 1) * dh + 1, th + oh)
        fw = max((wd - 1) * sw + (kw - 1) * dw + 1, tw + ow)
        return (n, fh, fw, cout)

    def forward(self, x, w, b=None):
        xp = backend.get_array_module(x)
        kh, kw, cout, cin = w.shape
        if x.ndim != 4 or x.shape[3] != cin:
            raise ValueError(
                f"conv2d_transpose: expected input (N, H, W, {cin}) for kernel shape {w.shape}. "
                f"Received: input shape {x.shape}"
            )
        n, h, wd, _ = x.shape
        self.x, self.w, self.has_b = x, w, b is not None
        self.full = self._full_shape(n, h, wd, kh, kw, cout)
        buf = xp.zeros(self.full, dtype=_result_dtype(x, w))
        _col2im_gemm(buf, x.reshape(-1, cin), w, h, wd, *self.strides, *self.dilation)
        oh, ow = self.out_hw
        th, tw = self.crop
        y = buf if buf.shape[1:3] == (oh, ow) else buf[:, th:th + oh, tw:tw + ow]
        if b is not None:
            return y + b
        return xp.ascontiguousarray(y)

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        x, w = self.x, self.w
        kh, kw, cout, cin = w.shape
        n, h, wd, _ = x.shape
        need = self.needs_input_grad
        oh, ow = self.out_hw
        th, tw = self.crop
        if self.full[1:3] == (oh, ow):
            gfull = gy
        else:
            gfull = xp.zeros(self.full, dtype=gy.dtype)
            gfull[:, th:th + oh, tw:tw + ow] = gy
        gcol = _im2col(gfull, kh, kw, *self.strides, *self.dilation, h, wd)
        w2d = w.reshape(kh * kw * cout, cin)
        gx = (gcol @ w2d).reshape(x.shape) if need[0] else None
        gw = (gcol.T @ x.reshape(-1, cin)).reshape(w.shape) if need[1] else None
        if self.has_b:
            gb = gy.reshape(-1, cout).sum(axis=0) if need[2] else None
            return gx, gw, gb
        return gx, gw

    def describe(self):
        return f"Conv2DTranspose(strides={self.strides}, out={self.out_hw})"


def conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1) -> Tensor:
    """Functional 2-D convolution, channels-last, Keras padding semantics.

    Args:
        x: (N, H, W, C). kernel: (kh, kw, C, F). bias: (F,) or None.
        strides, dilation_rate: int or pair. padding: 'valid' or 'same'.

    Example:
        >>> conv2d(np.ones((1, 5, 5, 1), "float32"), np.ones((3, 3, 1, 2), "float32")).shape
        (1, 3, 3, 2)
    """
    s = normalize_tuple(strides, 2, "strides", "conv2d")
    d = normalize_tuple(dilation_rate, 2, "dilation_rate", "conv2d")
    p = normalize_padding(padding, "conv2d")
    shape_x, shape_w = tuple(x.shape), tuple(kernel.shape)
    if len(shape_x) != 4 or len(shape_w) != 4:
        raise ValueError(
            f"conv2d: expects x of rank 4 and kernel of rank 4. Received: input shape "
            f"{shape_x}, kernel shape {shape_w}"
        )
    pads = ((0, 0), (0, 0))
    if p == "same":
        pads = (same_pads(shape_x[1], shape_w[0], s[0], d[0]),
                same_pads(shape_x[2], shape_w[1], s[1], d[1]))
    fn = Conv2DKernel(s, d, pads)
    return fn(x, kernel) if bias is None else fn(x, kernel, bias)


def conv2d_transpose(x, kernel, bias=None, strides=1, padding="valid", output_padding=None,
                     dilation_rate=1) -> Tensor:
    """Functional transposed 2-D convolution with Keras's output size rules.

    Args:
        x: (N, H, W, Cin). kernel: (kh, kw, Cout, Cin). bias: (Cout,) or None.
        output_padding: None or int/pair, extra rows/cols on the bottom/right.

    Example:
        >>> conv2d_transpose(np.ones((1, 3, 3, 2), "float32"), np.ones((3, 3, 1, 2), "float32"),
        ...                  strides=2, padding="same").shape
        (1, 6, 6, 1)
    """
    s = normalize_tuple(strides, 2, "strides", "conv2d_transpose")
    d = normalize_tuple(dilation_rate, 2, "dilation_rate", "conv2d_transpose")
    p = normalize_padding(padding, "conv2d_transpose")
    op = None if output_padding is None else normalize_tuple(
        output_padding, 2, "output_padding", "conv2d_transpose", allow_zero=True)
    kh, kw = int(kernel.shape[0]), int(kernel.shape[1])
    h, w = int(x.shape[1]), int(x.shape[2])
    out, crop = [], []
    for length, k, si, di, opi in zip((h, w), (kh, kw), s, d, op or (None, None)):
        o = deconv_output_length(length, k, p, si, di, opi)
        full = (length - 1) * si + (k - 1) * di + 1
        out.append(o)
        crop.append(max(full - o, 0) // 2 if p == "same" else 0)
    fn = Conv2DTransposeKernel(s, d, out, crop)
    return fn(x, kernel) if bias is None else fn(x, kernel, bias)


# ------------------------------------------------------------------ layers
class _Conv(Layer):
    """Shared plumbing of Conv1D/Conv2D/Conv2DTranspose: arguments, weights, checks."""

    rank = 2
    transpose = False
    paddings = ("valid", "same")

    def __init__(self, filters: int, kernel_size, strides=1, padding="valid",
                 data_format=None, dilation_rate=1, groups: int = 1, activation=None,
                 use_bias: bool = True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
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
        if groups != 1:
            raise ValueError(
                f"Layer '{self.name}': grouped convolution is not supported. "
                f"Received: groups={groups!r}"
            )
        if kernel_constraint is not None or bias_constraint is not None:
            raise ValueError(
                f"Layer '{self.name}': weight constraints are not supported. Received: "
                f"kernel_constraint={kernel_constraint!r}, bias_constraint={bias_constraint!r}"
            )
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)

    # -------------------------------------------------------------- checks
    def _axes_text(self) -> str:
        return "(batch, height, width, channels)" if self.rank == 2 else \
            "(batch, steps, channels)"

    def _check_input(self, shape) -> None:
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
    def __call__(self, x, training=False, **kwargs):
        # checked before the base class builds, so errors show the real batch size
        if hasattr(x, "shape"):
            self._check_input(tuple(x.shape))
        return super().__call__(x, training=training, **kwargs)

    def build(self, input_shape):
        self._check_input(input_shape)
        cin = int(input_shape[-1])
        self._in_channels = cin
        ks = self.kernel_size
        kshape = ks + ((self.filters, cin) if self.transpose else (cin, self.filters))
        self.kernel = self.add_weight("kernel", kshape, self.kernel_initializer,
                                      self.kernel_regularizer)
        self.bias = (self.add_weight("bias", (self.filters,), self.bias_initializer,
                                     self.bias_regularizer) if self.use_bias else None)
        self.built = True

    def call(self, x, training=False):
        if self._fuse_relu():
            y = self._convolve(x, relu=True)
        else:
            y = self.activation(self._convolve(x))
        if self.activity_regularizer is not None:
            self._activity_losses.append(self.activity_regularizer(y))
        return y

    def _fuse_relu(self) -> bool:
        return False

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "dilation_rate": list(self.dilation_rate),
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
        activation, use_bias, kernel/bias initializers and regularizers, activity_regularizer:
            as in :class:`~glassnet.layers.Dense`.

    Shapes: (batch, H, W, C) → (batch, OH, OW, filters). Weights ``kernel`` (kh, kw, C,
    filters), ``bias`` (filters,).

    Example:
        >>> Conv2D(8, 3, activation="relu")(np.zeros((2, 28, 28, 1), "float32")).shape
        (2, 26, 26, 8)
    """

    rank = 2

    def _fuse_relu(self) -> bool:
        # the kernel applies ReLU in place on its GEMM output (one array less per call)
        return self.activation is activations.relu

    def _convolve(self, x, relu: bool = False):
        s, d = self.strides, self.dilation_rate
        ks = self.kernel_size
        pads = ((0, 0), (0, 0))
        if self.padding == "same":
            pads = (same_pads(x.shape[1], ks[0], s[0], d[0]),
                    same_pads(x.shape[2], ks[1], s[1], d[1]))
        fn = Conv2DKernel(s, d, pads, relu=relu)
        return fn(x, self.kernel) if self.bias is None else fn(x, self.kernel, self.bias)

    def compute_output_shape(self, input_shape):
        self._check_input(input_shape)
        out = [conv_output_length(n, k, self.padding, s, d) for n, k, s, d in zip(
            input_shape[1:3], self.kernel_size, self.strides, self.dilation_rate)]
        return (input_shape[0], *out, self.filters)


@register
class Conv1D(_Conv):
    """1-D convolution over sequences (batch, steps, channels).

    Args:
        filters, kernel_size, strides, dilation_rate: as for :class:`Conv2D`, ints.
        padding: 'valid', 'same' or 'causal' (left padding only: output t sees inputs <= t).

    Shapes: (batch, L, C) → (batch, OL, filters). Weights ``kernel`` (k, C, filters).

    Example:
        >>> Conv1D(4, 3, padding="same")(np.zeros((2, 10, 3), "float32")).shape
        (2, 10, 4)
    """

    rank = 1
    paddings = ("valid", "same", "causal")

    def _convolve(self, x):
        (k,), (s,), (d,) = self.kernel_size, self.strides, self.dilation_rate
        n, length, c = x.shape
        if self.padding == "same":
            pad = same_pads(length, k, s, d)
        elif self.padding == "causal":
            pad = ((k - 1) * d, 0)
        else:
            pad = (0, 0)
        fn = Conv2DKernel((1, s), (1, d), ((0, 0), pad))
        x4 = ops.reshape(x, (n, 1, length, c))
        w4 = ops.reshape(self.kernel, (1, k, c, self.filters))
        y = fn(x4, w4) if self.bias is None else fn(x4, w4, self.bias)
        return ops.reshape(y, (n, y.shape[2], self.filters))

    def compute_output_shape(self, input_shape):
        self._check_input(input_shape)
        out = conv_output_length(input_shape[1], self.kernel_size[0], self.padding,
                                 self.strides[0], self.dilation_rate[0])
        return (input_shape[0], out, self.filters)


@register
class Conv2DTranspose(_Conv):
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
    transpose = True

    def __init__(self, filters: int, kernel_size, strides=1, padding="valid",
                 output_padding=None, data_format=None, dilation_rate=1, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate, **kwargs)
        if output_padding is None:
            self.output_padding = None
        else:
            self.output_padding = normalize_tuple(output_padding, 2, "output_padding",
                                                  self.name, allow_zero=True)
            if any(p >= s for p, s in zip(self.output_padding, self.strides)):
                raise ValueError(
                    f"Layer '{self.name}': output_padding must be smaller than strides. "
                    f"Received: output_padding={self.output_padding}, strides={self.strides}"
                )

    def _convolve(self, x):
        b = self.bias
        return conv2d_transpose(x, self.kernel, b, self.strides, self.padding,
                                self.output_padding, self.dilation_rate)

    def compute_output_shape(self, input_shape):
        self._check_input(input_shape)
        ops_ = self.output_padding or (None, None)
        out = [deconv_output_length(n, k, self.padding, s, d, p) for n, k, s, d, p in zip(
            input_shape[1:3], self.kernel_size, self.strides, self.dilation_rate, ops_)]
        return (input_shape[0], *out, self.filters)

    def get_config(self):
        op = None if self.output_padding is None else list(self.output_padding)
        return {**super().get_config(), "output_padding": op}


Convolution1D = Conv1D
Convolution2D = Conv2D
