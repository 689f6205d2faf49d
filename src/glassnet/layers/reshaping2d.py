"""Spatial reshaping layers, channels-last: ``UpSampling2D``, ``ZeroPadding2D``, ``Cropping2D``
(and their sequence versions ``UpSampling1D``, ``ZeroPadding1D``, ``Cropping1D``), and the
channel-dropping ``SpatialDropout1D``/``SpatialDropout2D``.

``UpSampling2D``'s bilinear mode matches Keras/TensorFlow's ``resize`` (half-pixel centres,
no antialiasing) and PyTorch's ``interpolate(mode="bilinear", align_corners=False)``. It is
one fused kernel: two small interpolation matrices applied along height then width, so the
backward pass is the same two GEMMs transposed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import backend, ops
from ..autograd import Function
from .base import Layer, register
from .conv import check_data_format, normalize_tuple
from .core import Dropout

if TYPE_CHECKING:
    from numpy.typing import DTypeLike

    from ..tensor import Tensor

__all__ = ["UpSampling2D", "ZeroPadding2D", "Cropping2D", "SpatialDropout1D",
           "SpatialDropout2D", "UpsampleNearest2D", "ResizeBilinear2D", "UpSampling1D",
           "ZeroPadding1D", "Cropping1D"]


class _RankChecked(Layer):
    """Checks the input's rank before the base class builds (so errors show the real shape)."""

    _axes = "(batch, height, width, channels)"

    def _check_rank(self, shape: Sequence[int | None]) -> None:
        rank = self._axes.count(",") + 1
        if len(tuple(shape)) != rank:
            raise ValueError(
                f"{type(self).__name__} '{self.name}' expects input of rank {rank} "
                f"{self._axes}. Received: input shape {tuple(shape)}"
            )

    def __call__(self, x: Any, *args: Any, training: bool | None = False,
                 **kwargs: Any) -> Any:
        if args:  # more inputs, or the training flag, by position
            return self._positional_call(x, args, training, kwargs)
        if hasattr(x, "shape"):
            self._check_rank(x.shape)
        return super().__call__(x, training=training, **kwargs)


class _Spatial(_RankChecked):
    _axes = "(batch, height, width, channels)"


# ------------------------------------------------------------------ kernels
class UpsampleNearest2D(Function):
    """Repeat each pixel (sh, sw) times: (N, H, W, C) → (N, H*sh, W*sw, C)."""

    rowwise = "data"  # each sample alone; the other inputs are weights

    def __init__(self, size: Sequence[int]) -> None:
        self.size = tuple(size)

    def forward(self, x: Any) -> Any:
        xp = backend.get_array_module(x)
        n, h, w, c = x.shape
        sh, sw = self.size
        self.x_shape = x.shape
        y = xp.broadcast_to(x[:, :, None, :, None, :], (n, h, sh, w, sw, c))
        return y.reshape(n, h * sh, w * sw, c)

    def backward(self, gy: Any) -> Any:
        n, h, w, c = self.x_shape
        sh, sw = self.size
        return gy.reshape(n, h, sh, w, sw, c).sum(axis=(2, 4))


def _linear_matrix(n_in: int, scale: int, dtype: DTypeLike) -> np.ndarray:
    """(n_in*scale, n_in) half-pixel linear interpolation weights (TF/PyTorch convention)."""
    n_out = n_in * scale
    src = (np.arange(n_out) + 0.5) / scale - 0.5
    src = np.clip(src, 0.0, n_in - 1)
    i0 = np.floor(src).astype(np.int64)
    i1 = np.minimum(i0 + 1, n_in - 1)
    lam = src - i0
    a = np.zeros((n_out, n_in), dtype=dtype)
    rows = np.arange(n_out)
    np.add.at(a, (rows, i0), 1.0 - lam)
    np.add.at(a, (rows, i1), lam)
    return a


class ResizeBilinear2D(Function):
    """Bilinear upsampling by integer factors with half-pixel centres, NHWC."""

    rowwise = "data"  # each sample alone; the other inputs are weights

    def __init__(self, size: Sequence[int]) -> None:
        self.size = tuple(size)

    def forward(self, x: Any) -> Any:
        xp = backend.get_array_module(x)
        n, h, w, c = x.shape
        sh, sw = self.size
        self.x_shape = x.shape
        self.ah = xp.asarray(_linear_matrix(h, sh, x.dtype))
        self.aw = xp.asarray(_linear_matrix(w, sw, x.dtype))
        t = self.ah @ x.reshape(n, h, w * c)                      # (N, OH, W*C)
        y = self.aw @ t.reshape(n * h * sh, w, c)                 # (N*OH, OW, C)
        return y.reshape(n, h * sh, w * sw, c)

    def backward(self, gy: Any) -> Any:
        n, h, w, c = self.x_shape
        sh, sw = self.size
        g = self.aw.T @ gy.reshape(n * h * sh, w * sw, c)         # (N*OH, W, C)
        return (self.ah.T @ g.reshape(n, h * sh, w * c)).reshape(self.x_shape)


# ------------------------------------------------------------------ layers
@register
class UpSampling2D(_Spatial):
    """Upsample images by integer factors (rows, cols).

    Args:
        size: int or (sh, sw) (default 2).
        interpolation: 'nearest' (repeat pixels) or 'bilinear' (half-pixel centres, as Keras).

    Shapes: (batch, H, W, C) → (batch, H*sh, W*sw, C).

    Example:
        >>> UpSampling2D(2)(np.zeros((1, 7, 7, 3), "float32")).shape
        (1, 14, 14, 3)
    """

    def __init__(self, size: int | Sequence[int] = (2, 2), data_format: str | None = None,
                 interpolation: str = "nearest", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.size = normalize_tuple(size, 2, "size", self.name)
        check_data_format(data_format, self.name)
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError(
                f"Layer '{self.name}': interpolation must be 'nearest' or 'bilinear'. "
                f"Received: interpolation={interpolation!r}"
            )
        self.interpolation = interpolation

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        kernel = UpsampleNearest2D if self.interpolation == "nearest" else ResizeBilinear2D
        return kernel(self.size)(x)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        self._check_rank(input_shape)
        b, h, w, c = input_shape
        return (b, None if h is None else h * self.size[0],
                None if w is None else w * self.size[1], c)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "size": tuple(self.size),
                "interpolation": self.interpolation}


def _pairs(value: Any, arg: str, layer: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """Keras's forms: int, (sym_h, sym_w), or ((top, bottom), (left, right))."""
    out: tuple[tuple[int, int], tuple[int, int]] | None
    try:
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            v = int(value)
            out = ((v, v), (v, v))
        elif len(value) == 2 and all(isinstance(v, (int, np.integer)) for v in value):
            out = ((int(value[0]),) * 2, (int(value[1]),) * 2)
        elif len(value) == 2 and all(len(v) == 2 for v in value):
            out = ((int(value[0][0]), int(value[0][1])), (int(value[1][0]), int(value[1][1])))
        else:
            out = None
    except TypeError:
        out = None
    if out is None or any(a < 0 for v in out for a in v):
        raise ValueError(
            f"Layer '{layer}': {arg} must be a non-negative int, a pair of ints or "
            f"((top, bottom), (left, right)). Received: {arg}={value!r}"
        )
    return out


@register
class ZeroPadding2D(_Spatial):
    """Pad images with zero rows/columns.

    Args:
        padding: int, (sym_h, sym_w) or ((top, bottom), (left, right)).

    Example:
        >>> ZeroPadding2D(((1, 0), (2, 2)))(np.ones((1, 3, 3, 1), "float32")).shape
        (1, 4, 7, 1)
    """

    def __init__(self, padding: Any = (1, 1), data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.padding = _pairs(padding, "padding", self.name)
        check_data_format(data_format, self.name)

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        return ops.pad(x, ((0, 0), *self.padding, (0, 0)))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        self._check_rank(input_shape)
        b, h, w, c = input_shape
        (t, bo), (lf, r) = self.padding
        return (b, None if h is None else h + t + bo, None if w is None else w + lf + r, c)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "padding": tuple(tuple(p) for p in self.padding)}


@register
class Cropping2D(_Spatial):
    """Remove rows/columns from the image borders.

    Args:
        cropping: int, (sym_h, sym_w) or ((top, bottom), (left, right)).

    Example:
        >>> Cropping2D(((2, 2), (4, 4)))(np.ones((1, 28, 28, 1), "float32")).shape
        (1, 24, 20, 1)
    """

    def __init__(self, cropping: Any = ((0, 0), (0, 0)), data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cropping = _pairs(cropping, "cropping", self.name)
        check_data_format(data_format, self.name)

    def _check(self, shape: Sequence[int | None]) -> None:
        (t, b), (lf, r) = self.cropping
        h, w = shape[1], shape[2]
        if (h is not None and t + b >= h) or (w is not None and lf + r >= w):
            raise ValueError(
                f"Cropping2D '{self.name}': cropping {self.cropping} leaves nothing of the "
                f"input. Received: input shape {tuple(shape)}"
            )

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        self._check(x.shape)
        (t, b), (lf, r) = self.cropping
        return ops.getitem(x, (slice(None), slice(t, x.shape[1] - b),
                               slice(lf, x.shape[2] - r)))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        self._check_rank(input_shape)
        self._check(input_shape)
        b, h, w, c = input_shape
        (t, bo), (lf, r) = self.cropping
        return (b, None if h is None else h - t - bo, None if w is None else w - lf - r, c)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cropping": tuple(tuple(p) for p in self.cropping)}


# ------------------------------------------------------------------ sequence versions
class _Sequence(_RankChecked):
    _axes = "(batch, steps, channels)"


def _int_pair(value: Any, arg: str, layer: str) -> tuple[int, int]:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (value, value)
    try:
        out = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        out = ()
    if len(out) != 2 or min(out) < 0:
        raise ValueError(
            f"Layer '{layer}': {arg} must be a non-negative int or a pair (before, after). "
            f"Received: {arg}={value!r}"
        )
    return out


@register
class UpSampling1D(_Sequence):
    """Repeat each step ``size`` times: (batch, L, C) → (batch, L*size, C).

    Example:
        >>> UpSampling1D(3)(np.zeros((2, 4, 5), "float32")).shape
        (2, 12, 5)
    """

    def __init__(self, size: int = 2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.size = normalize_tuple(size, 1, "size", self.name)[0]

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        n, length, c = x.shape
        y = UpsampleNearest2D((1, self.size))(ops.reshape(x, (n, 1, length, c)))
        return ops.reshape(y, (n, length * self.size, c))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        self._check_rank(input_shape)
        b, length, c = input_shape
        return (b, None if length is None else length * self.size, c)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "size": self.size}


@register
class ZeroPadding1D(_Sequence):
    """Add zero steps at the start and end of sequences.

    Args:
        padding: int (both ends) or (before, after).

    Example:
        >>> ZeroPadding1D((1, 2))(np.ones((2, 4, 3), "float32")).shape
        (2, 7, 3)
    """

    def __init__(self, padding: int | Sequence[int] = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.padding = _int_pair(padding, "padding", self.name)

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        return ops.pad(x, ((0, 0), self.padding, (0, 0)))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        self._check_rank(input_shape)
        b, length, c = input_shape
        return (b, None if length is None else length + sum(self.padding), c)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "padding": tuple(self.padding)}


@register
class Cropping1D(_Sequence):
    """Remove steps from the start and end of sequences.

    Args:
        cropping: int (both ends) or (before, after).

    Example:
        >>> Cropping1D((1, 2))(np.ones((2, 6, 3), "float32")).shape
        (2, 3, 3)
    """

    def __init__(self, cropping: int | Sequence[int] = (1, 1), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cropping = _int_pair(cropping, "cropping", self.name)

    def _check(self, shape: Sequence[int | None]) -> None:
        if shape[1] is not None and sum(self.cropping) >= shape[1]:
            raise ValueError(
                f"Cropping1D '{self.name}': cropping {self.cropping} leaves nothing of the "
                f"input. Received: input shape {tuple(shape)}"
            )

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        self._check(x.shape)
        a, b = self.cropping
        return ops.getitem(x, (slice(None), slice(a, x.shape[1] - b)))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        self._check_rank(input_shape)
        self._check(input_shape)
        b, length, c = input_shape
        return (b, None if length is None else length - sum(self.cropping), c)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cropping": tuple(self.cropping)}


class _SpatialDropout(Dropout):
    rank = 4

    def __init__(self, rate: float, seed: int | None = None, data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(rate, noise_shape=None, seed=seed, **kwargs)
        check_data_format(data_format, self.name)

    def __call__(self, x: Any, *args: Any, training: bool | None = False,
                 **kwargs: Any) -> Any:
        if args:  # more inputs, or the training flag, by position
            return self._positional_call(x, args, training, kwargs)
        if hasattr(x, "shape") and len(tuple(x.shape)) != self.rank:
            axes = "(batch, height, width, channels)" if self.rank == 4 else \
                "(batch, steps, channels)"
            raise ValueError(
                f"{type(self).__name__} '{self.name}' expects input of rank {self.rank} "
                f"{axes}. Received: input shape {tuple(x.shape)}"
            )
        return super().__call__(x, training=training, **kwargs)

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        # one draw per (sample, channel): whole feature maps are kept or dropped together
        self.noise_shape = (None,) + (1,) * (self.rank - 2) + (None,)
        return super().call(x, training=training)

    def get_config(self) -> dict[str, Any]:
        cfg = super().get_config()
        cfg.pop("noise_shape", None)
        return cfg


@register
class SpatialDropout2D(_SpatialDropout):
    """Dropout of whole feature maps: each (sample, channel) is zeroed with probability
    ``rate`` in training (kept maps scaled by 1/(1-rate)); identity at inference.

    Adjacent pixels of a feature map are strongly correlated, so per-pixel dropout barely
    regularizes a conv net; dropping the whole map does (Tompson et al., 2015).

    Args:
        rate: fraction of channels dropped, in [0, 1). seed: optional private seed.

    Example:
        >>> SpatialDropout2D(0.5)(np.ones((2, 4, 4, 3), "float32"), training=True).shape
        (2, 4, 4, 3)
    """

    rank = 4


@register
class SpatialDropout1D(_SpatialDropout):
    """Dropout of whole channels of a sequence (batch, steps, channels), as Keras.

    Example:
        >>> SpatialDropout1D(0.5)(np.ones((2, 5, 3), "float32"), training=True).shape
        (2, 5, 3)
    """

    rank = 3

