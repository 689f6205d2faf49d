"""Fashion-MNIST (Zalando article images), as ``keras.datasets.fashion_mnist``."""

from __future__ import annotations

import numpy as np

from .mnist import _load

__all__ = ["load_data", "CLASS_NAMES"]

# Zalando's own copy, checked against the MD5s its README publishes (also torchvision's).
BASE_URL = "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"
FILES: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "md5:8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "md5:25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "md5:bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "md5:bb300cfdad3c16e7a12a480ee83cd310",
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
