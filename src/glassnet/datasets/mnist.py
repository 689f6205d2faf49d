"""MNIST handwritten digits, as ``keras.datasets.mnist``."""

from __future__ import annotations

import numpy as np

from ._fetch import fetch
from ._idx import load_idx_pair

__all__ = ["load_data"]

BASE_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
FILES = {  # fmt: skip
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",  # noqa: E501
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",  # noqa: E501
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",  # noqa: E501
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",  # noqa: E501
}


def _load(
    subdir: str, base_url: str, files: dict[str, str], download: bool
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    p = {n: fetch(f"{subdir}/{n}", base_url + n, sha, download) for n, sha in files.items()}
    train = load_idx_pair(p["train-images-idx3-ubyte.gz"], p["train-labels-idx1-ubyte.gz"])
    test = load_idx_pair(p["t10k-images-idx3-ubyte.gz"], p["t10k-labels-idx1-ubyte.gz"])
    return train, test


def load_data(
    download: bool = True,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """MNIST: ``(x_train, y_train), (x_test, y_test)``.

    Shapes: x uint8 (60000, 28, 28) / (10000, 28, 28), y uint8 (60000,) / (10000,) in 0..9.
    Files come from the data dir (``GLASSNET_DATA_DIR``), downloaded once and SHA-256 checked.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = gn.datasets.mnist.load_data()  # doctest: +SKIP
    """
    return _load("mnist", BASE_URL, FILES, download)
