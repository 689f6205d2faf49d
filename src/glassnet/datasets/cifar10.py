"""CIFAR-10 from its *binary* version (fixed 3073-byte records), read without unpickling."""

from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np

from ._fetch import fetch

__all__ = ["load_data", "read_archive", "CLASS_NAMES"]

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
DIGEST = "md5:c32a1d4ab5d03f1284b67883e8d87530"  # the MD5 the CIFAR page publishes
RECORD = 1 + 32 * 32 * 3
CLASS_NAMES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip
_TRAIN = [f"data_batch_{i}.bin" for i in range(1, 6)]
_TEST = ["test_batch.bin"]


def _parse(buf: bytes, name: str) -> tuple[np.ndarray, np.ndarray]:
    if len(buf) % RECORD:
        raise ValueError(
            f"CIFAR-10 batch {name}: {len(buf)} bytes is not a multiple of the {RECORD}-byte record"
        )
    rec = np.frombuffer(buf, dtype=np.uint8).reshape(-1, RECORD)
    y = rec[:, :1].copy()
    # Stored channel-major (3, 32, 32) per image; Keras returns channels-last.
    x = rec[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy()
    if y.size and y.max() > 9:
        raise ValueError(f"CIFAR-10 batch {name}: label {int(y.max())} outside 0..9")
    return x, y


def read_archive(
    path: str | Path,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Parse a ``cifar-10-binary.tar.gz``: ``(x_train, y_train), (x_test, y_test)``.

    Members are matched by base name (``data_batch_1.bin`` .. ``data_batch_5.bin``,
    ``test_batch.bin``); nothing is executed or unpickled.
    """
    with tarfile.open(path, "r:gz") as tar:
        members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
        missing = [n for n in _TRAIN + _TEST if n not in members]
        if missing:
            raise ValueError(f"{path} is not the CIFAR-10 binary archive: missing {missing}")

        def load(names: list[str]) -> tuple[np.ndarray, np.ndarray]:
            # members holds regular files only (isfile() above): extractfile gives a file
            parts = [_parse(tar.extractfile(members[n]).read(), n)  # type: ignore[union-attr]
                     for n in names]
            return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

        return load(_TRAIN), load(_TEST)


def load_data(
    download: bool = True,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """CIFAR-10: ``(x_train, y_train), (x_test, y_test)`` as Keras returns them.

    Shapes: x uint8 (50000, 32, 32, 3) / (10000, 32, 32, 3), y uint8 (50000, 1) / (10000, 1).

    Example:
        >>> (x, y), (xt, yt) = gn.datasets.cifar10.load_data()  # doctest: +SKIP
    """
    return read_archive(fetch("cifar10/cifar-10-binary.tar.gz", URL, DIGEST, download))
