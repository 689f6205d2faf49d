"""The word-index sequence preparation shared by the IMDB and Reuters loaders (Keras's
``start_char``/``oov_char``/``index_from``/``num_words``/``skip_top``/``maxlen`` rules)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from numpy.typing import ArrayLike


def check_split(test_split: float, name: str) -> float:
    if not 0 <= float(test_split) < 1:
        raise ValueError(f"{name}: test_split must be in [0, 1). Received: "
                         f"test_split={test_split!r}")
    return float(test_split)


def shuffled(rng: np.random.RandomState, *arrays: np.ndarray) -> list[np.ndarray]:
    """Keras's shuffle: ``rng.shuffle`` of the indices, applied to every array (Keras uses
    one ``np.random.RandomState(seed)`` for all the shuffles of a loader, in order)."""
    idx = np.arange(len(arrays[0]))
    rng.shuffle(idx)
    return [a[idx] for a in arrays]


def index_words(xs: Iterable[Iterable[int]], start_char: int | None,
                index_from: int) -> list[list[int]]:
    if start_char is not None:
        return [[start_char] + [w + index_from for w in x] for x in xs]
    if index_from:
        return [[w + index_from for w in x] for x in xs]
    return [list(x) for x in xs]


def drop_long(maxlen: int, xs: list[list[int]],
              labels: ArrayLike) -> tuple[list[list[int]], np.ndarray]:
    keep = [i for i, x in enumerate(xs) if len(x) < maxlen]
    return [xs[i] for i in keep], np.asarray(labels)[keep]


def cap_vocabulary(xs: list[list[int]], num_words: int | None, skip_top: int,
                   oov_char: int | None) -> list[list[int]]:
    if not num_words:
        num_words = max(max(x) for x in xs if len(x)) if any(len(x) for x in xs) else 0
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    return [[w for w in x if skip_top <= w < num_words] for x in xs]


def as_object_array(xs: Sequence[Iterable[int]]) -> np.ndarray:
    out = np.empty(len(xs), dtype=object)
    for i, x in enumerate(xs):
        out[i] = list(x)
    return out
