"""The seeded split Keras's boston_housing and california_housing loaders share."""

from __future__ import annotations

import os

import numpy as np

from ._sequences import check_split, shuffled


def split_npz(
    path: str | os.PathLike, test_split: float, seed: int, name: str, rows: int | None = None
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    test_split = check_split(test_split, name)
    with np.load(path, allow_pickle=False) as f:
        if "x" not in f or "y" not in f:
            raise ValueError(f"{path} is not Keras's {name} file: it needs arrays x and y. "
                             f"Received: {sorted(f.files)}")
        x, y = f["x"], f["y"]
    if len(x) != len(y):
        raise ValueError(f"{path}: x has {len(x)} rows but y has {len(y)}")
    if rows is not None:
        x, y = x[:rows], y[:rows]
    x, y = shuffled(np.random.RandomState(seed), x, y)
    k = int(len(x) * (1 - test_split))
    return (np.array(x[:k]), np.array(y[:k])), (np.array(x[k:]), np.array(y[k:]))
