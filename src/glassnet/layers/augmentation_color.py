"""Photometric augmentation layers of Keras 3: ``RandomBrightness``, ``RandomGrayscale``,
``RandomInvert``. Training only (the identity at inference), one random draw per image, on
(batch, height, width, channels) images or one (height, width, channels) image, with
Keras's arguments and value conventions; the geometric ones and ``RandomContrast`` are in
:mod:`glassnet.layers.augmentation`, whose plumbing (seeds, shapes, the replayed step's
fresh draws) these share.

Example:
    >>> y = RandomBrightness(0.2, value_range=(0, 1))(x, training=True)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import backend, ops
from ..tensor import Tensor
from .augmentation import _Augmentation, _range
from .base import register

__all__ = ["RandomBrightness", "RandomGrayscale", "RandomInvert"]


def _keras_factor(layer: str, value: Any) -> tuple[float, float]:
    """Keras's factor in [-1, 1]: a number f draws from (-|f|, |f|), a pair from itself
    (sorted)."""
    if isinstance(value, (tuple, list)) and len(value) == 2:
        lo, hi = sorted(_range(layer, "factor", tuple(value), symmetric=False))
    else:
        lo, hi = _range(layer, "factor", abs(value) if isinstance(value, (int, float))
                        and not isinstance(value, bool) else value)
    if lo < -1.0 or hi > 1.0:
        raise ValueError(f"Layer '{layer}': `factor` must be a number or a pair of numbers in "
                         f"[-1, 1]. Received: factor={value!r}")
    return lo, hi


def _value_range(layer: str, value: Any) -> tuple[float, float]:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"Layer '{layer}': `value_range` must be a (min, max) pair. "
                         f"Received: value_range={value!r}")
    lo, hi = sorted(float(v) for v in value)
    return lo, hi


def _per_image(gen: np.random.Generator, lo: float, hi: float, n: int) -> np.ndarray:
    return gen.uniform(lo, hi, size=(n, 1, 1, 1))


@register
class RandomBrightness(_Augmentation):
    """Shift each image's pixels by one random amount (training only; Keras 3).

    The shift is ``delta · (max − min)`` of ``value_range``, ``delta`` uniform in the
    factor's range, the same for every pixel and channel of an image; the result is
    clipped to ``value_range``.

    Args:
        factor: a number f in [-1, 1] (delta in (−|f|, |f|)) or a (lower, upper) pair.
        value_range: (min, max) of the pixel values; default (0, 255).
        seed: optional seed of a layer-private generator.

    Shapes: (N, H, W, C) → (N, H, W, C).

    Example:
        >>> layer = RandomBrightness((0.1, 0.1), value_range=(0, 1))
        >>> round(float(layer(np.full((1, 2, 2, 3), 0.5), training=True).data[0, 0, 0, 0]), 6)
        0.6
    """

    def __init__(self, factor: Any, value_range: Sequence[float] = (0, 255),
                 seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        self.factor = _keras_factor(self.name, factor)
        self.value_range = _value_range(self.name, value_range)

    def _augment(self, x: Tensor) -> Tensor:
        lo, hi = self.value_range
        delta = _per_image(self._gen(), *self.factor, x.shape[0]) * (hi - lo)
        xp = backend.get_array_module(x.data)
        return ops.clip(x + Tensor._make(xp.asarray(delta, dtype=x.dtype)), lo, hi)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": list(self.factor),
                "value_range": list(self.value_range)}


@register
class RandomGrayscale(_Augmentation):
    """Turn each RGB image to grey with probability ``factor`` (training only; Keras 3):
    every channel becomes the luma 0.2989 R + 0.587 G + 0.114 B, so the shape stays.

    Args:
        factor: the probability, in [0, 1]; default 0.5.
        seed: optional seed of a layer-private generator.

    Shapes: (N, H, W, 3) → (N, H, W, 3).

    Example:
        >>> y = RandomGrayscale(1.0)(np.ones((1, 2, 2, 3)), training=True)
        >>> y.shape
        (1, 2, 2, 3)
    """

    def __init__(self, factor: float = 0.5, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        self.factor = _range(self.name, "factor", factor, 0.0, 1.0, symmetric=False)[0]

    def _augment(self, x: Tensor) -> Tensor:
        if x.shape[3] != 3:
            raise ValueError(f"Layer '{self.name}': expected RGB images (3 channels). "
                             f"Received: input shape {tuple(x.shape)}")
        from .._ops_image import rgb_to_grayscale  # (it imports the layers package)

        xp = backend.get_array_module(x.data)
        pick = self._gen().uniform(0.0, 1.0, size=(x.shape[0], 1, 1, 1)) < self.factor
        grey = ops.broadcast_to(rgb_to_grayscale(x), x.shape)
        return ops.where(Tensor._make(xp.asarray(pick)), grey, x)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor}


@register
class RandomInvert(_Augmentation):
    """Invert some images, ``max − x`` of ``value_range`` (training only; Keras 3).

    As Keras draws it: each image gets a probability p uniform in the factor's range and
    is inverted when a uniform draw falls below p (so ``factor=1.0``, the range (−1, 1),
    inverts a quarter of the images on average; ``(1.0, 1.0)`` inverts all).

    Args:
        factor: a number f in [-1, 1] (p in (−|f|, |f|)) or a (lower, upper) pair.
        value_range: (min, max) of the pixel values; default (0, 255).
        seed: optional seed of a layer-private generator.

    Shapes: (N, H, W, C) → (N, H, W, C).

    Example:
        >>> RandomInvert((1.0, 1.0), value_range=(0, 1))(np.zeros((1, 1, 1, 1)),
        ...                                               training=True).data.ravel()
        array([1.], dtype=float32)
    """

    def __init__(self, factor: Any = 1.0, value_range: Sequence[float] = (0, 255),
                 seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        self.factor = _keras_factor(self.name, factor)
        self.value_range = _value_range(self.name, value_range)

    def _augment(self, x: Tensor) -> Tensor:
        gen, n = self._gen(), x.shape[0]
        p = gen.uniform(*self.factor, size=n)
        pick = (gen.uniform(0.0, 1.0, size=n) < p).reshape(n, 1, 1, 1)
        xp = backend.get_array_module(x.data)
        return ops.where(Tensor._make(xp.asarray(pick)), self.value_range[1] - x, x)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": list(self.factor),
                "value_range": list(self.value_range)}
