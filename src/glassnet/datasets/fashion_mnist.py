"""Fashion-MNIST (Zalando article images), as ``keras.datasets.fashion_mnist``."""

from __future__ import annotations

import numpy as np

from .mnist import _load

__all__ = ["load_data", "CLASS_NAMES"]

BASE_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
# Not pinned: no verified SHA-256 of these four files was available offline when this was
# written; downloads are used as served (pooch still checks transport integrity).
FILES: dict[str, str | None] = {
    "train-images-idx3-ubyte.gz": None,
    "train-labels-idx1-ubyte.gz": None,
    "t10k-images-idx3-ubyte.gz": None,
    "t10k-labels-idx1-ubyte.gz": None,
}
CLASS_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip


def load_data(
    download: bool = True,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Fashion-MNIST: ``(x_train, y_train), (x_test, y_test)``, shapes as MNIST.

    Cached under ``<data_dir>/fashion_mnist/``; labels index ``CLASS_NAMES``.

    Example:
        >>> (x, y), _ = gn.datasets.fashion_mnist.load_data()  # doctest: +SKIP
    """
    return _load("fashion_mnist", BASE_URL, FILES, download)
