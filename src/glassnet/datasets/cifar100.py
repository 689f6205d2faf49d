"""CIFAR-100 from its *binary* version (3074-byte records: coarse label, fine label, image),
read without unpickling, as Keras returns it."""

from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np

from ._fetch import fetch

__all__ = ["load_data", "read_archive"]

URL = "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz"
DIGEST = "md5:03b5dce01913d631647c71ecec9e9cb8"  # the MD5 the CIFAR page publishes
RECORD = 2 + 32 * 32 * 3


def _parse(buf: bytes, name: str, label_mode: str) -> tuple[np.ndarray, np.ndarray]:
    if len(buf) % RECORD:
        raise ValueError(f"CIFAR-100 file {name}: {len(buf)} bytes is not a multiple of the "
                         f"{RECORD}-byte record")
    rec = np.frombuffer(buf, dtype=np.uint8).reshape(-1, RECORD)
    coarse, fine = rec[:, 0], rec[:, 1]
    if coarse.size and (coarse.max() > 19 or fine.max() > 99):
        raise ValueError(f"CIFAR-100 file {name}: labels outside coarse 0..19 / fine 0..99")
    y = (fine if label_mode == "fine" else coarse).astype(np.int64).reshape(-1, 1)
    x = rec[:, 2:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy()
    return x, y


def read_archive(
    path: str | Path, label_mode: str = "fine"
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Parse a ``cifar-100-binary.tar.gz``: ``(x_train, y_train), (x_test, y_test)``.

    Members are matched by base name (``train.bin``, ``test.bin``); nothing is executed.
    """
    if label_mode not in ("fine", "coarse"):
        raise ValueError("cifar100: label_mode must be 'fine' or 'coarse'. "
                         f"Received: label_mode={label_mode!r}")
    with tarfile.open(path, "r:gz") as tar:
        members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
        missing = [n for n in ("train.bin", "test.bin") if n not in members]
        if missing:
            raise ValueError(f"{path} is not the CIFAR-100 binary archive: missing {missing}")
        train, test = (_parse(tar.extractfile(members[n]).read(),  # type: ignore[union-attr]
                              n, label_mode) for n in ("train.bin", "test.bin"))
        return train, test


def load_data(
    label_mode: str = "fine", download: bool = True
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """CIFAR-100: ``(x_train, y_train), (x_test, y_test)`` as Keras returns them.

    Args:
        label_mode: ``"fine"`` (100 classes) or ``"coarse"`` (20 superclasses).

    Shapes: x uint8 (50000, 32, 32, 3) / (10000, 32, 32, 3); y int64 (50000, 1) / (10000, 1).

    Example:
        >>> (x, y), _ = gn.datasets.cifar100.load_data("coarse")  # doctest: +SKIP
    """
    if label_mode not in ("fine", "coarse"):
        raise ValueError("cifar100: label_mode must be 'fine' or 'coarse'. "
                         f"Received: label_mode={label_mode!r}")
    return read_archive(fetch("cifar100/cifar-100-binary.tar.gz", URL, DIGEST, download),
                        label_mode)
