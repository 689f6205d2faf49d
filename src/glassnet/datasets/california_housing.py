"""California housing (20,640 block groups, 8 features), as Keras returns it (Keras's
``california_housing.npz``, pinned SHA-256, numeric arrays only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._fetch import fetch
from ._housing import split_npz

if TYPE_CHECKING:
    import numpy as np

__all__ = ["load_data"]

URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/california_housing.npz"
DIGEST = "1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f"


def load_data(version: str = "large", path: str = "california_housing.npz",
              test_split: float = 0.2, seed: int = 113, download: bool = True,
              ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``(x_train, y_train), (x_test, y_test)``: features (N, 8) and median house values.

    Args:
        version: ``"large"`` (all 20,640 rows) or ``"small"`` (the first 600, as Keras).
        test_split: held-out fraction in [0, 1). seed: Keras's shuffle seed.

    Example:
        >>> (x, y), _ = gn.datasets.california_housing.load_data("small")  # doctest: +SKIP
    """
    if version not in ("large", "small"):
        raise ValueError("california_housing: version must be 'large' or 'small'. "
                         f"Received: version={version!r}")
    return split_npz(fetch(f"california_housing/{path}", URL, DIGEST, download), test_split,
                     seed, "california_housing", rows=600 if version == "small" else None)
