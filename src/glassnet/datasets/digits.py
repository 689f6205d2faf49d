"""scikit-learn's bundled 8x8 digits (1797 images), no download needed."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend

__all__ = ["load_data", "train_test_split"]


def train_test_split(
    x: np.ndarray, y: np.ndarray, test_size: float = 0.2, seed: int | None = None
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Shuffled split ``(x_train, y_train), (x_test, y_test)`` (Keras-style tuple layout).

    Uses ``backend.rng()`` unless ``seed`` is given.
    """
    if len(x) != len(y):
        raise ValueError(f"x and y lengths differ: received {len(x)} and {len(y)}")
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must be in (0, 1); received {test_size}")
    g = np.random.default_rng(seed) if seed is not None else backend.rng()
    idx = g.permutation(len(x))
    n_test = int(round(len(x) * test_size))
    te, tr = idx[:n_test], idx[n_test:]
    return (x[tr], y[tr]), (x[te], y[te])


def load_data(
    test_size: float | None = None, flatten: bool = False, seed: int | None = None
) -> Any:  # (x, y), or ((x_train, y_train), (x_test, y_test)) with test_size
    """Digits: ``(x, y)`` with x uint8 (1797, 8, 8) in 0..16 and y int64 0..9.

    With ``test_size`` returns ``(x_train, y_train), (x_test, y_test)`` instead.
    ``flatten=True`` gives x as (n, 64).

    Example:
        >>> x, y = load_data()
        >>> x.shape, int(x.max())
        ((1797, 8, 8), 16)
    """
    from sklearn.datasets import load_digits

    b = load_digits()
    x = b.images.astype(np.uint8)
    if flatten:
        x = x.reshape(len(x), -1)
    y = b.target.astype(np.int64)
    if test_size is None:
        return x, y
    return train_test_split(x, y, test_size, seed)
