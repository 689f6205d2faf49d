"""IDX (MNIST format) parser for gzipped files: magic and shape validated, np.frombuffer."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

__all__ = ["read_idx", "load_idx_pair"]

_cache: dict[tuple[str, int], np.ndarray] = {}


def read_idx(path: str | Path, ndim: int) -> np.ndarray:
    """Read a gzipped IDX file of unsigned bytes with ``ndim`` dimensions (cached in-process)."""
    path = Path(path)
    key = (str(path.resolve()), path.stat().st_mtime_ns)
    if key in _cache:
        return _cache[key]
    with gzip.open(path, "rb") as f:
        buf = f.read()
    if len(buf) < 4 + 4 * ndim:
        raise ValueError(f"{path} is not an IDX file: only {len(buf)} bytes")
    magic = int.from_bytes(buf[:4], "big")
    expected_magic = 0x0800 | ndim  # 0x08 = unsigned byte
    if magic != expected_magic:
        raise ValueError(
            f"{path} is not an IDX uint8 file with {ndim} dims: expected magic "
            f"{expected_magic:#06x}, received {magic:#06x}"
        )
    shape = tuple(int.from_bytes(buf[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    n = int(np.prod(shape))
    if len(buf) - offset != n:
        raise ValueError(
            f"{path}: header says shape {shape} ({n} bytes) but {len(buf) - offset} bytes follow"
        )
    arr = np.frombuffer(buf, dtype=np.uint8, count=n, offset=offset).reshape(shape)
    arr.flags.writeable = False  # shared through the cache; callers get copies
    _cache[key] = arr
    return arr


def load_idx_pair(images: Path, labels: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images (n, rows, cols) and labels (n,) as fresh uint8 arrays, counts checked."""
    x = read_idx(images, 3)
    y = read_idx(labels, 1)
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"{images.name} holds {x.shape[0]} images but {labels.name} {y.shape[0]} labels"
        )
    return x.copy(), y.copy()
