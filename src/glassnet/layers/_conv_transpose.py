"""The transposed 2-D convolution: :class:`Conv2DTransposeKernel`, the adjoint of
:class:`glassnet.layers._conv_kernels.Conv2DKernel` (its forward is Conv2D's input gradient,
GEMM then col2im; its backward is Conv2D's forward, im2col then GEMM), and the functional
``conv2d_transpose``. Built from the im2col/col2im helpers of
:mod:`glassnet.layers._conv_kernels`, which re-exports every name here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from .. import _epilogue, _parallel, backend
from ..autograd import Function, is_grad_enabled
from ..tensor import Tensor
from . import _col2im_numba
from ._conv_kernels import (
    _add_in_order,
    _batch_slices,
    _col2im,
    _cols,
    _few,
    _finish,
    _result_dtype,
    _weight_grad,
    deconv_output_length,
    normalize_padding,
    normalize_tuple,
)

__all__ = ["Conv2DTransposeKernel", "conv2d_transpose", "transpose_kernel"]


class Conv2DTransposeKernel(Function):
    """Transposed 2-D convolution (the adjoint of :class:`Conv2DKernel`), NHWC.

    Args:
        strides, dilation: as for Conv2D.
        out_hw: output (height, width).
        crop: (top, left) offset of the output inside the full ``(H-1)*s + keff`` result.

    Shapes: x (N, H, W, Cin), w (kh, kw, Cout, Cin) (Keras's layout), b (Cout,)
    → (N, OH, OW, Cout).
    """

    rowwise = "data"  # each sample alone; the other inputs are weights

    def __init__(self, strides: Sequence[int] = (1, 1), dilation: Sequence[int] = (1, 1),
                 out_hw: Sequence[int] | None = None, crop: Sequence[int] = (0, 0),
                 relu: bool = False) -> None:
        # (sh, sw) and (dh, dw); out_hw is required (conv2d_transpose and the layers pass it)
        self.strides = cast("tuple[int, int]", tuple(strides))
        self.dilation = cast("tuple[int, int]", tuple(dilation))
        self.out_hw, self.crop = tuple(cast("Sequence[int]", out_hw)), tuple(crop)
        self.relu = bool(relu)

    def _full_shape(self, n: int, h: int, wd: int, kh: int, kw: int,
                    cout: int) -> tuple[int, int, int, int]:
        sh, sw = self.strides
        dh, dw = self.dilation
        oh, ow = self.out_hw
        th, tw = self.crop
        fh = max((h - 1) * sh + (kh - 1) * dh + 1, th + oh)
        fw = max((wd - 1) * sw + (kw - 1) * dw + 1, tw + ow)
        return (n, fh, fw, cout)

    def forward(self, x: Any, w: Any, b: Any = None) -> Any:
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
        oh, ow = self.out_hw
        th, tw = self.crop
        (sh, sw), (dh, dw) = self.strides, self.dilation
        dt = _result_dtype(x, w)
        single = b is not None and b.dtype != dt  # a promoting bias: a fresh result
        self.sls = sls = _batch_slices(n, n * h * wd, n * h * wd * cin * kh * kw * cout, 0,
                                      single, xp)
        y = None if single or len(sls) == 1 else xp.empty((n, oh, ow, cout), dtype=dt)

        def part(sl: slice) -> Any:
            out = None if y is None else y[sl]
            few = _few(cout, xp)
            if few and _col2im_numba.applies(x, w, n * oh * ow * cout):
                # the NumPy path's product, then one compiled scatter straight into NHWC
                colst = backend.matmul(w.reshape(kh * kw * cout, cin), x[sl].reshape(-1, cin).T)
                if out is None:
                    out = xp.empty((sl.stop - sl.start, oh, ow, cout), dtype=dt)
                _col2im_numba.scatter_into(colst, out, (h, wd), (kh, kw), self.strides,
                                           self.dilation, self.crop)
                return _finish(out, b, self.relu)
            if not few and _col2im_numba.applies(x, w, n * oh * ow * cout):
                if out is None:
                    out = xp.empty((sl.stop - sl.start, oh, ow, cout), dtype=dt)
                _col2im_numba.col2im_into(x[sl].reshape(-1, cin), w, out, (h, wd),
                                          self.strides, self.dilation, self.crop)
                return _finish(out, b, self.relu)
            full = (sl.stop - sl.start, *self.full[1:])
            buf = _col2im(x[sl].reshape(-1, cin), w, full, h, wd, sh, sw, dh, dw,
                          out=out if full[1:3] == (oh, ow) else None)
            if buf is not out:
                ys = buf if buf.shape[1:3] == (oh, ow) else buf[:, th:th + oh, tw:tw + ow]
                if out is None:  # NHWC in memory (few channels build it channel-major)
                    out = xp.ascontiguousarray(ys)
                else:
                    out[...] = ys
            return _finish(out, b, self.relu)

        parts = _parallel.run(part, sls) if len(sls) > 1 else [part(sls[0])]
        y = parts[0] if y is None else y
        if self.relu and is_grad_enabled():
            self.y = y
        return y

    def backward(self, gy: Any) -> tuple[Any, ...]:
        xp = backend.get_array_module(gy)
        x, sls = self.x, self.sls
        need = self.needs_input_grad
        gx = None
        if need[0] and len(sls) > 1:
            gx = xp.empty(x.shape, dtype=_result_dtype(gy, self.w))
        parts = _parallel.run(lambda sl: self._backward_part(gy, sl, gx), sls)
        gw = _add_in_order([p[1] for p in parts]) if need[1] else None
        if need[0] and gx is None:
            gx = parts[0][0]
        if self.has_b:
            gb = _add_in_order([p[2] for p in parts]) if need[2] else None
            return gx, gw, gb
        return gx, gw

    def _backward_part(self, gy: Any, sl: slice, gx_out: Any) -> tuple[Any, Any, Any]:
        """(gx, gw, gb) of the batch slice ``sl``; its gx written into ``gx_out`` (the whole
        batch's) when there is one."""
        x, w = self.x[sl], self.w
        gy = gy[sl]
        kh, kw, cout, cin = w.shape
        if self.relu:
            gy = _epilogue.relu_grad(gy.reshape(-1, cout), self.y[sl].reshape(-1, cout)).reshape(
                gy.shape)
        n, h, wd, _ = x.shape
        need = self.needs_input_grad
        oh, ow = self.out_hw
        th, tw = self.crop
        # the gradient zero-padded to the full result (the im2col pads while it copies)
        fh, fw = self.full[1], self.full[2]
        pads = ((th, fh - th - oh), (tw, fw - tw - ow))
        gcol = _cols(gy, kh, kw, *self.strides, *self.dilation, h, wd, pads=pads)
        w2d = w.reshape(kh * kw * cout, cin)
        gx = None
        if need[0]:
            out = None if gx_out is None else gx_out[sl].reshape(-1, cin)
            gx = backend.matmul(gcol, w2d, out=out).reshape(x.shape)
        gw = _weight_grad(gcol, x.reshape(-1, cin)).reshape(w.shape) if need[1] else None
        gb = backend.sum_rows(gy.reshape(-1, cout)) if self.has_b and need[2] else None
        return gx, gw, gb

    def describe(self) -> str:
        act = ", relu" if self.relu else ""
        return f"Conv2DTranspose(strides={self.strides}, out={self.out_hw}{act})"


def conv2d_transpose(x: Any, kernel: Any, bias: Any = None, strides: int | Sequence[int] = 1,
                     padding: str = "valid", output_padding: int | Sequence[int] | None = None,
                     dilation_rate: int | Sequence[int] = 1) -> Tensor:
    """Functional transposed 2-D convolution with Keras's output size rules.

    Args:
        x: (N, H, W, Cin). kernel: (kh, kw, Cout, Cin). bias: (Cout,) or None.
        output_padding: None or int/pair, extra rows/cols on the bottom/right.

    Example:
        >>> conv2d_transpose(np.ones((1, 3, 3, 2), "float32"), np.ones((3, 3, 1, 2), "float32"),
        ...                  strides=2, padding="same").shape
        (1, 6, 6, 1)
    """
    fn = transpose_kernel(x.shape, kernel.shape, strides, padding, output_padding,
                          dilation_rate)
    return fn(x, kernel) if bias is None else fn(x, kernel, bias)


def transpose_kernel(x_shape: Sequence[int], kernel_shape: Sequence[int],
                     strides: int | Sequence[int] = 1, padding: str = "valid",
                     output_padding: int | Sequence[int] | None = None,
                     dilation_rate: int | Sequence[int] = 1,
                     relu: bool = False) -> Conv2DTransposeKernel:
    """The :class:`Conv2DTransposeKernel` of :func:`conv2d_transpose` for these shapes and
    Keras's size rules (``relu``: the fused activation ``Conv2DTranspose`` asks for)."""
    s = normalize_tuple(strides, 2, "strides", "conv2d_transpose")
    d = normalize_tuple(dilation_rate, 2, "dilation_rate", "conv2d_transpose")
    p = normalize_padding(padding, "conv2d_transpose")
    op = None if output_padding is None else normalize_tuple(
        output_padding, 2, "output_padding", "conv2d_transpose", allow_zero=True)
    kh, kw = int(kernel_shape[0]), int(kernel_shape[1])
    h, w = int(x_shape[1]), int(x_shape[2])
    out, crop = [], []
    for length, k, si, di, opi in zip((h, w), (kh, kw), s, d, op or (None, None)):
        o = deconv_output_length(length, k, p, si, di, opi)
        full = (length - 1) * si + (k - 1) * di + 1
        out.append(o)
        crop.append(max(full - o, 0) // 2 if p == "same" else 0)
    return Conv2DTransposeKernel(s, d, out, crop, relu=relu)
