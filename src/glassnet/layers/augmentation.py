"""Image augmentation layers (Keras's names and semantics) and the array-level ``augment``.

Every layer draws one random transform per image in training (``training=True``) and is the
identity at inference (``RandomCrop`` takes the central window there). Images are
channels-last ``(batch, height, width, channels)``, or one unbatched ``(height, width,
channels)`` image, as in Keras.

Geometric layers build one 3×3 matrix per image that maps each *output* pixel ``(x, y, 1)``
to the input position it reads from, then resample the whole batch with one vectorized
gather (bilinear: 4 taps; nearest: 1 tap). Positions outside the image are filled by
``fill_mode``: ``"constant"`` (``fill_value``), ``"nearest"`` (edge pixel), ``"reflect"``
(``d c b a | a b c d | d c b a``) or ``"wrap"`` (``a b c d | a b c d``).

Unlike Keras, where these are preprocessing layers without a gradient, every layer here is
differentiable with respect to its input: resampling is a linear map of the pixels, and its
backward pass scatters the gradient through the same taps. So an augmentation layer may sit
in the middle of a network (e.g. after an encoder); it has no weights.

Example:
    >>> model = Sequential([RandomTranslation(0.1, 0.1, fill_mode="constant",
    ...                                       input_shape=(28, 28, 1)),
    ...                     Conv2D(32, 3, activation="relu"), ...])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import backend, ops
from .._tape import Eager
from ..autograd import Function
from ..tensor import Tensor
from .base import Layer, register
from .conv import check_data_format

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

__all__ = ["RandomTranslation", "RandomFlip", "RandomRotation", "RandomZoom", "RandomCrop",
           "RandomContrast", "augment"]

_FILL_MODES = ("constant", "nearest", "reflect", "wrap")
_INTERPOLATIONS = ("bilinear", "nearest")
_FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")
# positions within this distance of an integer are snapped to it, so that a shift of exactly
# one pixel (or a rotation by 90°) copies pixels instead of blending them with float noise
_SNAP = 1e-6
_AUGMENT_CHUNK = 1024  # images resampled together by augment()


# ------------------------------------------------------------------ resampling kernel
class AffineResample(Function):
    """Gather ``out[n, i, j, :] = Σ_k w_k · x[n, src_k(i, j), :] + const`` (linear in ``x``).

    ``idx`` (K, N, Ho, Wo) holds flat indices into the ``(N·H·W, C)`` view of the input and
    ``wts`` (K, N, Ho, Wo) their weights; ``const`` (N, Ho, Wo) is the constant-fill share.
    Backward scatters ``gy`` through the same taps (the transpose of the linear map).
    """

    def __init__(self, idx: Any, wts: Any, const: Any = None) -> None:
        self.idx, self.wts, self.const = idx, wts, const

    def forward(self, x: Any) -> Any:
        n, h, w, c = x.shape
        self.in_shape = x.shape
        flat = x.reshape(n * h * w, c)
        out = None
        for k in range(len(self.idx)):
            term = flat[self.idx[k]] * self.wts[k][..., None].astype(x.dtype)
            out = term if out is None else out + term
        if self.const is not None:
            out += self.const[..., None].astype(x.dtype)
        return out

    def backward(self, gy: Any) -> Any:
        xp = backend.get_array_module(gy)
        n, h, w, c = self.in_shape
        gx = xp.zeros((n * h * w, c), dtype=gy.dtype)
        for k in range(len(self.idx)):
            contrib = (gy * self.wts[k][..., None].astype(gy.dtype)).reshape(-1, c)
            backend.scatter_add(gx, self.idx[k].ravel(), contrib)
        return gx.reshape(self.in_shape)


def _fold(i: Any, size: int, mode: str, xp: Any) -> Any:
    """Map integer positions ``i`` into ``[0, size)`` by the fill mode (not ``constant``)."""
    if mode == "nearest":
        return xp.clip(i, 0, size - 1)
    outside = (i < 0) | (i >= size)
    if not outside.any():
        return i
    j = i[outside]  # usually a thin border: fold only those (integer mod is slow)
    if mode == "wrap":
        j = xp.mod(j, size)
    else:
        m = xp.mod(j, 2 * size)  # reflect: period 2·size, the edge pixel repeated
        j = xp.where(m >= size, 2 * size - 1 - m, m)
    i = i.copy()
    i[outside] = j
    return i


def resample(x: Tensor, mats: ArrayLike, out_hw: tuple[int, int] | None = None,
             interpolation: str = "bilinear",
             fill_mode: str = "reflect", fill_value: float = 0.0) -> Tensor:
    """Resample a batch of images by one output→input 3×3 matrix per image.

    Args:
        x: images, shape (N, H, W, C).
        mats: (N, 3, 3) matrices mapping output ``(col, row, 1)`` to input ``(col, row, 1)``.
        out_hw: output (height, width); default the input's.
        interpolation: ``"bilinear"`` or ``"nearest"``.
        fill_mode, fill_value: how positions outside the input are read.

    Returns:
        Tensor (N, Ho, Wo, C), differentiable with respect to ``x``.
    """
    xp = backend.get_array_module(x.data)
    n, h, w, _ = x.shape
    ho, wo = (h, w) if out_hw is None else out_hw
    rows, cols = np.meshgrid(np.arange(ho), np.arange(wo), indexing="ij")
    grid = np.stack([cols.ravel(), rows.ravel(), np.ones(ho * wo)]).astype(np.float64)
    src = np.asarray(mats, dtype=np.float64) @ grid  # (N, 3, P)
    sx = (src[:, 0] / src[:, 2]).reshape(n, ho, wo)
    sy = (src[:, 1] / src[:, 2]).reshape(n, ho, wo)
    for s in (sx, sy):
        r = np.rint(s)
        np.copyto(s, r, where=np.abs(s - r) < _SNAP)
    if interpolation == "nearest":
        taps = [(np.floor(sx + 0.5).astype(np.int64), np.floor(sy + 0.5).astype(np.int64),
                 np.ones_like(sx))]
    else:
        x0, y0 = np.floor(sx), np.floor(sy)
        fx, fy = sx - x0, sy - y0
        x0, y0 = x0.astype(np.int64), y0.astype(np.int64)
        taps = [(x0, y0, (1 - fx) * (1 - fy)), (x0 + 1, y0, fx * (1 - fy)),
                (x0, y0 + 1, (1 - fx) * fy), (x0 + 1, y0 + 1, fx * fy)]
    base = (np.arange(n) * (h * w))[:, None, None]
    idx, wts = [], []
    const = np.zeros((n, ho, wo)) if fill_mode == "constant" and fill_value != 0 else None
    for ix, iy, wt in taps:
        if fill_mode == "constant":
            inside = (ix >= 0) & (ix < w) & (iy >= 0) & (iy < h)
            if const is not None:
                const += fill_value * wt * ~inside
            wt = wt * inside
            ix, iy = np.clip(ix, 0, w - 1), np.clip(iy, 0, h - 1)
        else:
            ix, iy = _fold(ix, w, fill_mode, np), _fold(iy, h, fill_mode, np)
        idx.append(base + iy * w + ix)
        wts.append(wt)
    idx_a, wts_a = xp.asarray(np.stack(idx)), xp.asarray(np.stack(wts))
    return AffineResample(idx_a, wts_a, None if const is None else xp.asarray(const))(x)


# ------------------------------------------------------------------ transform matrices
def _centered(m2: np.ndarray, h: int, w: int) -> np.ndarray:
    """(N, 2, 2) linear maps about the image centre → (N, 3, 3) pixel-coordinate matrices."""
    n = len(m2)
    c = np.array([(w - 1) / 2.0, (h - 1) / 2.0])
    out = np.zeros((n, 3, 3))
    out[:, :2, :2] = m2
    out[:, :2, 2] = c - m2 @ c
    out[:, 2, 2] = 1.0
    return out


def translation_matrices(dy: ArrayLike, dx: ArrayLike) -> np.ndarray:
    """Output→input matrices that shift images by ``dy`` rows down and ``dx`` columns right."""
    dy, dx = np.asarray(dy, np.float64), np.asarray(dx, np.float64)
    m = np.tile(np.eye(3), (len(dy), 1, 1))
    m[:, 0, 2], m[:, 1, 2] = -dx, -dy
    return m


def rotation_matrices(theta: ArrayLike, h: int, w: int) -> np.ndarray:
    """Output→input matrices rotating images counter-clockwise (as displayed) by ``theta``."""
    c, s = np.cos(theta), np.sin(theta)
    return _centered(np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], 1), h, w)


def zoom_matrices(zy: ArrayLike, zx: ArrayLike, h: int, w: int) -> np.ndarray:
    """Output→input matrices; a zoom ``z > 1`` reads a larger window (zooms out)."""
    zy, zx = np.asarray(zy, np.float64), np.asarray(zx, np.float64)
    m2 = np.zeros((len(zy), 2, 2))
    m2[:, 0, 0], m2[:, 1, 1] = zx, zy
    return _centered(m2, h, w)


def flip_matrices(flip_h: np.ndarray, flip_v: np.ndarray, h: int, w: int) -> np.ndarray:
    """Output→input matrices mirroring left-right where ``flip_h``, top-bottom where ``flip_v``."""
    m2 = np.zeros((len(flip_h), 2, 2))
    m2[:, 0, 0] = np.where(flip_h, -1.0, 1.0)
    m2[:, 1, 1] = np.where(flip_v, -1.0, 1.0)
    return _centered(m2, h, w)


# ------------------------------------------------------------------ argument checks
def _range(layer: str, arg: str, value: Any, lo: float | None = None, hi: float | None = None,
           symmetric: bool = True) -> tuple[float, float]:
    """A factor as (lower, upper): a float ``f`` means (-f, f) (or (f, f)), a pair is kept."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        pair = (-float(value), float(value)) if symmetric else (float(value), float(value))
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(
        isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
        for v in value
    ):
        pair = (float(value[0]), float(value[1]))
    else:
        raise ValueError(
            f"Layer '{layer}': `{arg}` must be a float or a (lower, upper) pair. "
            f"Received: {arg}={value!r}"
        )
    if pair[0] > pair[1]:
        raise ValueError(
            f"Layer '{layer}': `{arg}` lower bound must not exceed the upper bound. "
            f"Received: {arg}={value!r}"
        )
    if (lo is not None and pair[0] < lo) or (hi is not None and pair[1] > hi):
        raise ValueError(
            f"Layer '{layer}': `{arg}` must have values in [{lo}, {hi}]. "
            f"Received: {arg}={value!r}"
        )
    if not all(math.isfinite(v) for v in pair):
        raise ValueError(f"Layer '{layer}': `{arg}` must be finite. Received: {arg}={value!r}")
    return pair


def _choice(layer: str, arg: str, value: Any, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ValueError(
            f"Layer '{layer}': `{arg}` must be one of {list(allowed)}. Received: {arg}={value!r}"
        )
    return value


# ------------------------------------------------------------------ layers
class _Augmentation(Layer):
    """Shared plumbing: seed, 4-D image check, identity at inference."""

    def __init__(self, seed: int | None = None, data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        check_data_format(data_format, self.name)
        self.seed = None if seed is None else int(seed)
        # a per-layer seed gives the layer a reproducible stream of its own
        self._rng = None if seed is None else np.random.default_rng(self.seed)

    def _gen(self) -> np.random.Generator:
        return self._rng if self._rng is not None else backend.rng()

    def _images(self, x: Tensor) -> tuple[Tensor, bool]:
        """(batch of images, whether the input was one unbatched image (h, w, c))."""
        if x.ndim not in (3, 4):
            raise ValueError(
                f"Layer '{self.name}': expected images of shape (batch, height, width, "
                f"channels) or one image (height, width, channels). Received: input shape "
                f"{tuple(x.shape)}"
            )
        if x.dtype.kind != "f":  # Keras's augmentation layers output floats too
            x = ops.cast(x, backend.floatx())
        if x.ndim == 3:
            return ops.reshape(x, (1, *x.shape)), True
        return x, False

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        if not training:
            return x
        x, single = self._images(x)
        # one op that draws its transforms afresh at every call, replayed steps included
        y = Eager(self._augment)(x)
        return y[0] if single else y

    def _augment(self, x: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "seed": self.seed}


class _Geometric(_Augmentation):
    def __init__(self, fill_mode: str = "reflect", interpolation: str = "bilinear",
                 fill_value: float = 0.0, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        self.fill_mode = _choice(self.name, "fill_mode", fill_mode, _FILL_MODES)
        self.interpolation = _choice(self.name, "interpolation", interpolation,
                                     _INTERPOLATIONS)
        self.fill_value = float(fill_value)

    def _resample(self, x: Tensor, mats: ArrayLike) -> Tensor:
        return resample(x, mats, interpolation=self.interpolation, fill_mode=self.fill_mode,
                        fill_value=self.fill_value)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "fill_mode": self.fill_mode,
                "interpolation": self.interpolation, "fill_value": self.fill_value}


@register
class RandomTranslation(_Geometric):
    """Shift each image by a random fraction of its height and width (training only).

    Args:
        height_factor: float ``f`` (shift in [-f, f]·height) or (lower, upper), each in
            [-1, 1]; positive shifts move the image down.
        width_factor: the same for the width; positive shifts move the image right.
        fill_mode: ``"reflect"`` (default, as Keras), ``"constant"``, ``"nearest"``, ``"wrap"``.
        interpolation: ``"bilinear"`` or ``"nearest"``.
        fill_value: value outside the image for ``fill_mode="constant"``.
        seed: optional seed of a layer-private generator (default: ``gn.set_seed``'s).

    Shapes: (N, H, W, C) → (N, H, W, C).

    Example:
        >>> y = RandomTranslation(0.1, 0.1, fill_mode="constant")(x, training=True)
    """

    def __init__(self, height_factor: Any, width_factor: Any, fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: int | None = None,
                 fill_value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(fill_mode, interpolation, fill_value, seed=seed, **kwargs)
        self.height_factor = _range(self.name, "height_factor", height_factor, -1.0, 1.0)
        self.width_factor = _range(self.name, "width_factor", width_factor, -1.0, 1.0)

    def _augment(self, x: Tensor) -> Tensor:
        n, h, w, _ = x.shape
        g = self._gen()
        dy = g.uniform(*self.height_factor, size=n) * h
        dx = g.uniform(*self.width_factor, size=n) * w
        return self._resample(x, translation_matrices(dy, dx))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "height_factor": list(self.height_factor),
                "width_factor": list(self.width_factor)}


@register
class RandomFlip(_Augmentation):
    """Mirror each image with probability 1/2 per axis (training only).

    Args:
        mode: ``"horizontal"`` (left-right), ``"vertical"`` (top-bottom) or
            ``"horizontal_and_vertical"`` (each axis drawn independently).
        seed: optional seed of a layer-private generator.

    Shapes: (N, H, W, C) → (N, H, W, C).

    Example:
        >>> y = RandomFlip("horizontal")(x, training=True)
    """

    def __init__(self, mode: str = "horizontal_and_vertical", seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        self.mode = _choice(self.name, "mode", mode, _FLIP_MODES)

    def _augment(self, x: Tensor) -> Tensor:
        n = x.shape[0]
        g = self._gen()
        xp = backend.get_array_module(x.data)
        if self.mode in ("horizontal", "horizontal_and_vertical"):
            flip = g.random(n) < 0.5
            x = ops.where(xp.asarray(flip[:, None, None, None]), x[:, :, ::-1], x)
        if self.mode in ("vertical", "horizontal_and_vertical"):
            flip = g.random(n) < 0.5
            x = ops.where(xp.asarray(flip[:, None, None, None]), x[:, ::-1], x)
        return x

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mode": self.mode}


@register
class RandomRotation(_Geometric):
    """Rotate each image by a random fraction of a full turn (training only).

    Args:
        factor: float ``f`` (angle in [-f, f]·2π) or (lower, upper); positive values rotate
            counter-clockwise, e.g. ``(0.25, 0.25)`` is exactly ``np.rot90``.
        fill_mode, interpolation, fill_value, seed: as :class:`RandomTranslation`.

    Shapes: (N, H, W, C) → (N, H, W, C).

    Example:
        >>> y = RandomRotation(0.05)(x, training=True)   # up to ±18°
    """

    def __init__(self, factor: Any, fill_mode: str = "reflect", interpolation: str = "bilinear",
                 seed: int | None = None, fill_value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(fill_mode, interpolation, fill_value, seed=seed, **kwargs)
        self.factor = _range(self.name, "factor", factor)

    def _augment(self, x: Tensor) -> Tensor:
        n, h, w, _ = x.shape
        theta = self._gen().uniform(*self.factor, size=n) * 2.0 * np.pi
        return self._resample(x, rotation_matrices(theta, h, w))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": tuple(self.factor)}


@register
class RandomZoom(_Geometric):
    """Zoom each image in or out by a random fraction (training only).

    Args:
        height_factor: float ``f`` (zoom in [-f, f]) or (lower, upper), lower ≥ -1; positive
            values zoom out (the image shrinks), negative zoom in.
        width_factor: the same for the width; ``None`` (default) keeps the aspect ratio by
            reusing the height's zoom.
        fill_mode, interpolation, fill_value, seed: as :class:`RandomTranslation`.

    Shapes: (N, H, W, C) → (N, H, W, C).

    Example:
        >>> y = RandomZoom(0.1)(x, training=True)
    """

    def __init__(self, height_factor: Any, width_factor: Any = None, fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: int | None = None,
                 fill_value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(fill_mode, interpolation, fill_value, seed=seed, **kwargs)
        self.height_factor = _range(self.name, "height_factor", height_factor, -1.0)
        self.width_factor = (None if width_factor is None
                             else _range(self.name, "width_factor", width_factor, -1.0))

    def _augment(self, x: Tensor) -> Tensor:
        n, h, w, _ = x.shape
        g = self._gen()
        zy = 1.0 + g.uniform(*self.height_factor, size=n)
        zx = zy if self.width_factor is None else 1.0 + g.uniform(*self.width_factor, size=n)
        return self._resample(x, zoom_matrices(zy, zx, h, w))

    def get_config(self) -> dict[str, Any]:
        wf = None if self.width_factor is None else list(self.width_factor)
        return {**super().get_config(), "height_factor": list(self.height_factor),
                "width_factor": wf}


@register
class RandomCrop(_Augmentation):
    """Crop a random ``height × width`` window in training, the central one at inference.

    Args:
        height, width: output size; must not exceed the input's (unlike Keras, smaller
            inputs are an error rather than silently resized).
        seed: optional seed of a layer-private generator.

    Shapes: (N, H, W, C) → (N, height, width, C).

    Example:
        >>> RandomCrop(24, 24)(np.zeros((2, 28, 28, 1), "float32")).shape
        (2, 24, 24, 1)
    """

    def __init__(self, height: int, width: int, seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        for arg, v in (("height", height), ("width", width)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v <= 0:
                raise ValueError(
                    f"Layer '{self.name}': `{arg}` must be a positive int. "
                    f"Received: {arg}={v!r}"
                )
        self.height, self.width = int(height), int(width)

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        x, single = self._images(x)
        if training:  # random offsets drawn afresh at every call, replayed steps included
            y = Eager(lambda t: self._crop(t, True))(x)
        else:
            y = self._crop(x, False)
        return y[0] if single else y

    def _crop(self, x: Tensor, training: bool) -> Tensor:
        n, h, w, _ = x.shape
        if h < self.height or w < self.width:
            raise ValueError(
                f"Layer '{self.name}': crop {self.height}x{self.width} is larger than the "
                f"images. Received: input shape {tuple(x.shape)}"
            )
        if not training:
            top, left = (h - self.height) // 2, (w - self.width) // 2
            return x[:, top:top + self.height, left:left + self.width]
        g = self._gen()
        tops = g.integers(0, h - self.height + 1, size=n)
        lefts = g.integers(0, w - self.width + 1, size=n)
        return resample(x, translation_matrices(-tops, -lefts), (self.height, self.width),
                        interpolation="nearest", fill_mode="nearest")

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (*input_shape[:-3], self.height, self.width, input_shape[-1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "height": self.height, "width": self.width}


@register
class RandomContrast(_Augmentation):
    """Scale each image's channels about their mean by a random factor (training only).

    For each image and channel: ``y = (x - mean) * f + mean``, ``mean`` over height and
    width, ``f`` uniform in ``[1 - lower, 1 + upper]``; the result is clipped to
    ``value_range`` (as Keras 3).

    Args:
        factor: float (lower = upper = factor) or (lower, upper), each in [0, 1].
        value_range: (min, max) of the pixel values, used for clipping; default (0, 255).
        seed: optional seed of a layer-private generator.

    Shapes: (N, H, W, C) → (N, H, W, C).

    Example:
        >>> y = RandomContrast(0.2, value_range=(0, 1))(x, training=True)
    """

    def __init__(self, factor: Any, value_range: Sequence[float] = (0, 255),
                 seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        self.factor = _range(self.name, "factor", factor, 0.0, 1.0, symmetric=False)
        vr = _range(self.name, "value_range", value_range, symmetric=False)
        self.value_range = (vr[0], vr[1])

    def _augment(self, x: Tensor) -> Tensor:
        n, _, _, c = x.shape
        xp = backend.get_array_module(x.data)
        f = self._gen().uniform(1.0 - self.factor[0], 1.0 + self.factor[1], size=(n, 1, 1, c))
        mean = ops.mean(x, axis=(1, 2), keepdims=True)
        y = (x - mean) * Tensor._make(xp.asarray(f, dtype=x.dtype)) + mean
        return ops.clip(y, *self.value_range)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": list(self.factor),
                "value_range": list(self.value_range)}


# ------------------------------------------------------------------ array-level function
def _pair(arg: str, value: Any) -> tuple:
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"augment: `{arg}` must be a float or a (height, width) pair. "
                             f"Received: {arg}={value!r}")
        return value[0], value[1]
    return value, value


def augment(images: ArrayLike, translation: Any = None, rotation: Any = None,
            zoom: Any = None, flip: str | None = None, contrast: Any = None,
            fill_mode: str = "reflect", fill_value: float = 0.0,
            interpolation: str = "bilinear", value_range: Sequence[float] | None = None,
            seed: int | None = None) -> np.ndarray:
    """Randomly augment an array of images outside a model (one combined transform each).

    Each image gets its own random flip, zoom, rotation and translation composed into one
    matrix and resampled once (so quality is not lost to repeated interpolation), then a
    random contrast change. Factors follow the layers: ``translation=0.1`` shifts by up to
    10 % of the height and width, ``rotation=0.05`` turns by up to ±0.05·360°, ``zoom=0.1``
    zooms by up to ±10 %, ``contrast=0.2`` scales contrast by [0.8, 1.2].

    Args:
        images: (N, H, W) grayscale or (N, H, W, C) channels-last array.
        translation: None, float or (height_factor, width_factor); each factor is a float
            ``f`` (symmetric, [-f, f]) or a (lower, upper) pair in [-1, 1].
        rotation: None or float fraction of a full turn.
        zoom: None, float or (height_factor, width_factor).
        flip: None, ``"horizontal"``, ``"vertical"`` or ``"horizontal_and_vertical"``.
        contrast: None or float in [0, 1].
        fill_mode, fill_value, interpolation: as :class:`RandomTranslation`.
        value_range: clip range for contrast; default the dtype's range for integer images,
            (0, 255) for floats (as Keras).
        seed: seed of a private generator; default the library's (``gn.set_seed``).

    Returns:
        An array of the input's shape and dtype (integer images are rounded and clipped).

    Example:
        >>> x_aug = augment(x_train[:64], translation=0.1, rotation=0.03, seed=0)
    """
    a = np.asarray(backend.asnumpy(images))
    if a.ndim not in (3, 4):
        raise ValueError(
            f"augment: images must be (N, H, W) or (N, H, W, C). Received: shape {a.shape}"
        )
    if a.dtype.kind not in "biuf":
        raise TypeError(f"augment: images must be numeric. Received: dtype {a.dtype}")
    x = a[..., None] if a.ndim == 3 else a
    n: int  # so that g.random(n) is typed as an array, not a float
    n, h, w, _ = x.shape
    xf = x.astype(np.float32) if x.dtype.kind != "f" else x
    g = np.random.default_rng(seed) if seed is not None else backend.rng()
    _choice("augment", "fill_mode", fill_mode, _FILL_MODES)
    _choice("augment", "interpolation", interpolation, _INTERPOLATIONS)
    mats = np.tile(np.eye(3), (n, 1, 1))
    if flip is not None:
        _choice("augment", "flip", flip, _FLIP_MODES)
        fh = (g.random(n) < 0.5) & (flip != "vertical")
        fv = (g.random(n) < 0.5) & (flip != "horizontal")
        mats = mats @ flip_matrices(fh, fv, h, w)
    if zoom is not None:
        zh, zw = (_range("augment", "zoom", v, -1.0) for v in _pair("zoom", zoom))
        mats = mats @ zoom_matrices(1 + g.uniform(*zh, size=n), 1 + g.uniform(*zw, size=n),
                                    h, w)
    if rotation is not None:
        r = _range("augment", "rotation", rotation)
        mats = mats @ rotation_matrices(g.uniform(*r, size=n) * 2 * np.pi, h, w)
    if translation is not None:
        th, tw = (_range("augment", "translation", v, -1.0, 1.0)
                  for v in _pair("translation", translation))
        mats = mats @ translation_matrices(g.uniform(*th, size=n) * h, g.uniform(*tw, size=n) * w)
    out = xf
    if any(v is not None for v in (flip, zoom, rotation, translation)):
        # in chunks: the gather plan (4 taps of indices and weights per pixel) of a whole
        # dataset at once would need gigabytes and run slower, not faster
        step = _AUGMENT_CHUNK
        out = np.concatenate([
            resample(Tensor._make(xf[i:i + step]), mats[i:i + step],
                     interpolation=interpolation, fill_mode=fill_mode,
                     fill_value=fill_value).data
            for i in range(0, n, step)
        ])
    if contrast is not None:
        lo, hi = _range("augment", "contrast", contrast, 0.0, 1.0, symmetric=False)
        if value_range is None:
            info = np.iinfo(a.dtype) if a.dtype.kind in "iu" else None
            value_range = (info.min, info.max) if info is not None else (0, 255)
        f = g.uniform(1 - lo, 1 + hi, size=(n, 1, 1, x.shape[-1])).astype(out.dtype)
        mean = out.mean(axis=(1, 2), keepdims=True)
        out = np.clip((out - mean) * f + mean, *value_range)
    if a.dtype.kind in "iub":
        lim = (0, 1) if a.dtype.kind == "b" else (np.iinfo(a.dtype).min, np.iinfo(a.dtype).max)
        out = np.clip(np.rint(out), *lim)
    out = out.astype(a.dtype, copy=False)
    return out[..., 0] if a.ndim == 3 else out
