"""Reuters newswires (11,228, 46 topics) as word-index sequences, as Keras returns them.
Read from Keras's ``reuters.npz`` (pinned SHA-256) without unpickling anything but NumPy
arrays (:mod:`glassnet.datasets._npz_safe`)."""

from __future__ import annotations

import json
import os

import numpy as np

from . import _sequences as S
from ._fetch import fetch
from ._npz_safe import load_npz

__all__ = ["load_data", "get_word_index", "get_label_names", "read_npz"]

_BASE = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
URL = _BASE + "reuters.npz"
DIGEST = "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"
WORD_INDEX_URL = _BASE + "reuters_word_index.json"
WORD_INDEX_DIGEST = "md5:4d44cc38712099c9e383dc6e5f11a921"
LABEL_NAMES = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply",
    "coffee", "sugar", "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas",
    "cpi", "money-fx", "interest", "gnp", "meal-feed", "alum", "oilseed", "gold", "tin",
    "strategic-metal", "livestock", "retail", "ipi", "iron-steel", "rubber", "heat", "jobs",
    "lei", "bop", "zinc", "orange", "pet-chem", "dlr", "gas", "silver", "wpi", "hog", "lead",
)


def read_npz(path: str | os.PathLike, num_words: int | None = None, skip_top: int = 0,
             maxlen: int | None = None, test_split: float = 0.2, seed: int = 113,
             start_char: int | None = 1, oov_char: int | None = 2, index_from: int = 3,
             ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Parse a ``reuters.npz`` (members x, y) with Keras's rules; see :func:`load_data`."""
    test_split = S.check_split(test_split, "reuters")
    f = load_npz(path)
    if "x" not in f or "y" not in f:
        raise ValueError(f"{path} is not Keras's reuters.npz: it needs members x and y. "
                         f"Received: {sorted(f)}")
    raw, labels = S.shuffled(np.random.RandomState(seed), f["x"], f["y"])
    xs = S.index_words(raw, start_char, index_from)
    if maxlen:
        xs, labels = S.drop_long(maxlen, xs, labels)
    xs = S.cap_vocabulary(xs, num_words, skip_top, oov_char)
    idx = int(len(xs) * (1 - test_split))
    labels = np.asarray(labels)
    return ((S.as_object_array(xs[:idx]), labels[:idx]),
            (S.as_object_array(xs[idx:]), labels[idx:]))


def load_data(path: str = "reuters.npz", num_words: int | None = None, skip_top: int = 0,
              maxlen: int | None = None, test_split: float = 0.2, seed: int = 113,
              start_char: int | None = 1, oov_char: int | None = 2, index_from: int = 3,
              download: bool = True,
              ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Reuters topics: ``(x_train, y_train), (x_test, y_test)`` as Keras returns them.

    Args: as :func:`glassnet.datasets.imdb.load_data`, plus ``test_split`` (fraction held
    out after the seeded shuffle, in [0, 1)).

    Shapes: x object arrays of lists of ints; y int arrays of topic ids in [0, 46).

    Example:
        >>> (x, y), (xt, yt) = gn.datasets.reuters.load_data(num_words=10000)  # doctest: +SKIP
    """
    return read_npz(fetch(f"reuters/{path}", URL, DIGEST, download), num_words, skip_top,
                    maxlen, test_split, seed, start_char, oov_char, index_from)


def get_word_index(path: str = "reuters_word_index.json", download: bool = True) -> dict:
    """``{word: index}``; add ``index_from`` (3) to match the ids of :func:`load_data`."""
    p = fetch(f"reuters/{path}", WORD_INDEX_URL, WORD_INDEX_DIGEST, download)
    return json.loads(p.read_text(encoding="utf-8"))


def get_label_names() -> tuple:
    """The 46 topic names, indexed by label id."""
    return LABEL_NAMES
