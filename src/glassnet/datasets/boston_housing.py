"""Boston housing prices (506 rows, 13 features), as Keras returns them (Keras's
``boston_housing.npz``, pinned SHA-256, numeric arrays only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._fetch import fetch
from ._housing import split_npz

if TYPE_CHECKING:
    import numpy as np

__all__ = ["load_data"]

URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/boston_housing.npz"
DIGEST = "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"


def load_data(path: str = "boston_housing.npz", test_split: float = 0.2, seed: int = 113,
              download: bool = True,
              ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``(x_train, y_train), (x_test, y_test)``: float64 (404, 13) / (102, 13) features and
    median prices in k$ (404,) / (102,), split after Keras's seeded shuffle.

    Note: the data set encodes racial and other biases; Keras keeps it for compatibility.

    Example:
        >>> (x, y), (xt, yt) = gn.datasets.boston_housing.load_data()  # doctest: +SKIP
    """
    return split_npz(fetch(f"boston_housing/{path}", URL, DIGEST, download), test_split, seed,
                     "boston_housing")
