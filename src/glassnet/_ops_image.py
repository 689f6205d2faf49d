"""``glassnet.ops.image``: the Keras 3 image ops that model code calls, channels-last —
``extract_patches`` (the Vision Transformer's patches), ``resize``, ``pad_images``,
``crop_images`` and ``rgb_to_grayscale``. Compositions of differentiable ops.

Example:
    >>> from glassnet.ops import image
    >>> image.extract_patches(np.zeros((1, 4, 4, 3), "float32"), 2).shape
    (1, 2, 2, 12)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import ops as P
from ._tape import constant_array
from .layers._conv_kernels import check_data_format
from .tensor import Tensor, as_tensor

if TYPE_CHECKING:
    from ._typing import TensorLike

__all__ = ["extract_patches", "resize", "pad_images", "crop_images", "rgb_to_grayscale"]


def _images(x: TensorLike, where: str, data_format: str | None) -> tuple[Tensor, bool]:
    """(a 4-D tensor, whether a single 3-D image was given)."""
    check_data_format(data_format, where)
    t = as_tensor(x)
    if t.ndim not in (3, 4):
        raise ValueError(f"{where}: expected images (batch, height, width, channels) or one "
                         f"image (height, width, channels). Received: shape {tuple(t.shape)}")
    return (P.reshape(t, (1, *t.shape)) if t.ndim == 3 else t), t.ndim == 3


def _pair(v: int | Sequence[int], name: str) -> tuple[int, int]:
    a = (v, v) if isinstance(v, int) else tuple(v)
    if len(a) != 2 or any(int(i) < 1 for i in a):
        raise ValueError(f"extract_patches: {name} must be a positive int or two of them. "
                         f"Received: {v!r}")
    return int(a[0]), int(a[1])


def extract_patches(images: TensorLike, size: int | Sequence[int],
                    strides: int | Sequence[int] | None = None,
                    dilation_rate: int | Sequence[int] = 1, padding: str = "valid",
                    data_format: str | None = None) -> Tensor:
    """Each (size × size) window of the images, flattened: (B, H, W, C) →
    (B, rows, cols, size_h·size_w·C), each patch in (row, column, channel) order (Keras 3's
    op; ``strides`` default to ``size``, ``padding`` "valid" or "same", ``dilation_rate``).

    Example:
        >>> extract_patches(np.arange(16.0).reshape(1, 4, 4, 1), 2).data[0, 0, 1]
        array([2., 3., 6., 7.], dtype=float32)
    """
    x, single = _images(images, "extract_patches", data_format)
    kh, kw = _pair(size, "size")
    sh, sw = _pair(strides if strides is not None else (kh, kw), "strides")
    dh, dw = _pair(dilation_rate, "dilation_rate")
    if padding not in ("valid", "same"):
        raise ValueError('extract_patches: padding must be "valid" or "same". '
                         f"Received: {padding!r}")
    h, w = x.shape[1], x.shape[2]
    eh, ew = (kh - 1) * dh + 1, (kw - 1) * dw + 1  # the dilated window
    if padding == "same":
        oh, ow = -(-h // sh), -(-w // sw)
        ph, pw = max((oh - 1) * sh + eh - h, 0), max((ow - 1) * sw + ew - w, 0)
        x = P.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
    else:
        oh, ow = (h - eh) // sh + 1, (w - ew) // sw + 1
        if oh < 1 or ow < 1:
            raise ValueError(f"extract_patches: a {kh}x{kw} window (dilation {dh}x{dw}) does "
                             f"not fit images of {h}x{w}")
    rows = np.arange(oh)[:, None] * sh + np.arange(kh)[None, :] * dh  # (oh, kh)
    cols = np.arange(ow)[:, None] * sw + np.arange(kw)[None, :] * dw  # (ow, kw)
    # indices of the shapes alone: a replayed step may gather with them again
    ri, ci = constant_array(rows[:, None, :, None]), constant_array(cols[None, :, None, :])
    p = x[:, ri, ci, :]  # (B, oh, ow, kh, kw, C)
    out = P.reshape(p, (x.shape[0], oh, ow, kh * kw * x.shape[3]))
    return P.reshape(out, out.shape[1:]) if single else out


def resize(images: TensorLike, size: Sequence[int], interpolation: str = "bilinear",
           antialias: bool = False, crop_to_aspect_ratio: bool = False,
           pad_to_aspect_ratio: bool = False, fill_mode: str = "constant",
           fill_value: float = 0.0, data_format: str | None = None) -> Tensor:
    """Images resized to ``size`` = (height, width) (Keras 3's op, the ``Resizing`` layer's
    arithmetic): ``"bilinear"`` or ``"nearest"``, optionally cropping or padding to the
    target's aspect ratio first. ``antialias`` is refused (not implemented).

    Example:
        >>> resize(np.ones((1, 4, 4, 3), "float32"), (2, 6)).shape
        (1, 2, 6, 3)
    """
    from .layers.preprocessing import resize_images

    if antialias:
        raise ValueError("resize: antialias=True is not implemented")
    if fill_mode != "constant":
        raise ValueError(f'resize: only fill_mode="constant" is supported. Received: '
                         f"{fill_mode!r}")
    x, single = _images(images, "resize", data_format)
    if len(tuple(size)) != 2:
        raise ValueError(f"resize: size must be (height, width). Received: {size!r}")
    y = resize_images(x, int(size[0]), int(size[1]), interpolation,
                      crop_to_aspect_ratio=crop_to_aspect_ratio,
                      pad_to_aspect_ratio=pad_to_aspect_ratio, fill_value=fill_value)
    return P.reshape(y, y.shape[1:]) if single else y


def _sides(total: int, first: int | None, last: int | None, target: int | None,
           name: str, grow: bool) -> tuple[int, int]:
    """(before, after) amounts from any two of before/after/target, as Keras."""
    given = [v is not None for v in (first, last, target)]
    if sum(given) != 2 and not (sum(given) == 0):
        raise ValueError(f"{name}: give exactly two of the {('top', 'bottom')}/target "
                         "(or left/right/target) amounts for each axis")
    if not any(given):
        return 0, 0
    if target is None:
        return int(first or 0), int(last or 0)
    change = (target - total) if grow else (total - target)
    if first is None:
        first = change - int(last or 0)
    return int(first), int(change - first)


def pad_images(images: TensorLike, top_padding: int | None = None,
               left_padding: int | None = None, bottom_padding: int | None = None,
               right_padding: int | None = None, target_height: int | None = None,
               target_width: int | None = None, data_format: str | None = None) -> Tensor:
    """Zero-pad images (Keras 3's op): per axis, two of before / after / target size.

    Example:
        >>> pad_images(np.ones((1, 2, 2, 1), "float32"), 1, 0, target_height=5,
        ...            target_width=3).shape
        (1, 5, 3, 1)
    """
    x, single = _images(images, "pad_images", data_format)
    t, b = _sides(x.shape[1], top_padding, bottom_padding, target_height, "pad_images", True)
    lf, r = _sides(x.shape[2], left_padding, right_padding, target_width, "pad_images", True)
    if min(t, b, lf, r) < 0:
        raise ValueError("pad_images: the padding amounts come out negative (a target "
                         "smaller than the images?)")
    y = P.pad(x, ((0, 0), (t, b), (lf, r), (0, 0)))
    return P.reshape(y, y.shape[1:]) if single else y


def crop_images(images: TensorLike, top_cropping: int | None = None,
                left_cropping: int | None = None, bottom_cropping: int | None = None,
                right_cropping: int | None = None, target_height: int | None = None,
                target_width: int | None = None, data_format: str | None = None) -> Tensor:
    """Crop images (Keras 3's op): per axis, two of before / after / target size.

    Example:
        >>> crop_images(np.ones((1, 5, 5, 1), "float32"), 1, 2, target_height=3,
        ...             target_width=2).shape
        (1, 3, 2, 1)
    """
    x, single = _images(images, "crop_images", data_format)
    h, w = x.shape[1], x.shape[2]
    t, b = _sides(h, top_cropping, bottom_cropping, target_height, "crop_images", False)
    lf, r = _sides(w, left_cropping, right_cropping, target_width, "crop_images", False)
    if min(t, b, lf, r) < 0 or t + b >= h or lf + r >= w:
        raise ValueError(f"crop_images: cropping ({t}, {b}) x ({lf}, {r}) does not fit "
                         f"images of {h}x{w}")
    y = x[:, t:h - b, lf:w - r, :]
    return P.reshape(y, y.shape[1:]) if single else y


def rgb_to_grayscale(images: TensorLike, data_format: str | None = None) -> Tensor:
    """Luma of RGB images, one channel: 0.2989 R + 0.587 G + 0.114 B (Keras 3's weights).

    Example:
        >>> rgb_to_grayscale(np.ones((1, 2, 2, 3), "float32")).shape
        (1, 2, 2, 1)
    """
    x, single = _images(images, "rgb_to_grayscale", data_format)
    if x.shape[3] != 3:
        raise ValueError(f"rgb_to_grayscale: expected 3 channels. Received: {x.shape[3]}")
    wts = Tensor._make(np.asarray([[0.2989], [0.587], [0.114]], dtype=x.dtype))
    y = P.matmul(x, wts)
    return P.reshape(y, y.shape[1:]) if single else y


def __getattr__(name: str) -> Any:  # a clear error for Keras's other image ops
    raise AttributeError(f"glassnet.ops.image has no {name!r}: only {', '.join(__all__)} "
                         "of Keras 3's image ops are implemented")
