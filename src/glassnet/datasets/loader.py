"""Batch iteration over arrays and a PNG image-folder loader."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .. import backend

__all__ = ["ArrayLoader", "image_dataset_from_directory"]


class ArrayLoader:
    """Iterable of ``(x_batch, y_batch)`` (or ``x_batch`` when y is None) mini-batches.

    Args:
        x: array (n, ...). y: array (n, ...) or None.
        batch_size: rows per batch (the last may be smaller).
        shuffle: reshuffle at every iteration with ``backend.rng()`` or the own ``seed``.

    Example:
        >>> loader = ArrayLoader(np.arange(10), np.arange(10), batch_size=4)
        >>> [len(xb) for xb, _ in loader]
        [4, 4, 2]
    """

    def __init__(self, x: Any, y: Any = None, batch_size: int = 32, shuffle: bool = False,
                 seed: int | None = None) -> None:
        if y is not None and len(x) != len(y):
            raise ValueError(f"ArrayLoader: x and y lengths differ: received {len(x)} and {len(y)}")
        if int(batch_size) < 1:
            raise ValueError(f"ArrayLoader: batch_size must be >= 1; received {batch_size}")
        self.x, self.y = x, y
        self.class_names: list[str] | None = None  # set by image_dataset_from_directory
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self._rng = np.random.default_rng(seed) if seed is not None else None

    def __len__(self) -> int:
        return math.ceil(len(self.x) / self.batch_size)

    def __iter__(self) -> Iterator[Any]:  # x batches, or (x, y) batches
        n = len(self.x)
        if self.shuffle:
            idx = (self._rng or backend.rng()).permutation(n)
        for start in range(0, n, self.batch_size):
            if self.shuffle:
                sel: Any = idx[start : start + self.batch_size]
            else:
                sel = slice(start, start + self.batch_size)
            yield self.x[sel] if self.y is None else (self.x[sel], self.y[sel])


def image_dataset_from_directory(
    path: str | Path,
    image_size: tuple[int, int] | None = None,
    color_mode: str = "grayscale",
    batch_size: int | None = 32,
    shuffle: bool = True,
    seed: int | None = None,
) -> Any:  # an ArrayLoader, or (x, y, class_names)
    """Read ``path/<class_name>/*.png`` into float32 images in [0, 1] and int labels.

    Class indices follow the sorted subfolder names. Images must share a size unless
    ``image_size`` is given (then nearest-neighbour resized). Returns an ``ArrayLoader`` with
    ``class_names`` attached, or ``(x, y, class_names)`` when ``batch_size`` is None.
    Shapes: x (n, h, w, 1) for grayscale, (n, h, w, 3) for rgb.
    """
    import matplotlib.image as mpimg

    if color_mode not in ("grayscale", "rgb"):
        raise ValueError(f"color_mode must be 'grayscale' or 'rgb'; received {color_mode!r}")
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"image_dataset_from_directory: {root} is not a directory")
    class_names = sorted(d.name for d in root.iterdir() if d.is_dir())
    if not class_names:
        raise ValueError(f"image_dataset_from_directory: {root} has no class subfolders")
    xs, ys = [], []
    for label, name in enumerate(class_names):
        for f in sorted((root / name).glob("*.png")):
            img = np.asarray(mpimg.imread(f), dtype=np.float32)
            if img.ndim == 2:
                img = img[..., None]
            img = img[..., :3]  # drop alpha
            if color_mode == "grayscale" and img.shape[-1] == 3:
                img = (img @ np.array([0.299, 0.587, 0.114], np.float32))[..., None]
            elif color_mode == "rgb" and img.shape[-1] == 1:
                img = np.repeat(img, 3, axis=-1)
            if image_size is not None and img.shape[:2] != tuple(image_size):
                h, w = image_size
                ri = (np.arange(h) * img.shape[0] / h).astype(int)
                ci = (np.arange(w) * img.shape[1] / w).astype(int)
                img = img[ri][:, ci]
            xs.append(img)
            ys.append(label)
    shapes = {x.shape for x in xs}
    if len(shapes) > 1:
        raise ValueError(f"Images differ in size {sorted(shapes)}; pass image_size=(h, w)")
    x = np.stack(xs) if xs else np.zeros((0, 0, 0, 1), np.float32)
    y = np.array(ys, dtype=np.int64)
    if batch_size is None:
        return x, y, class_names
    loader = ArrayLoader(x, y, batch_size=batch_size, shuffle=shuffle, seed=seed)
    loader.class_names = class_names
    return loader
