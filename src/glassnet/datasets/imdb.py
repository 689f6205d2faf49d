"""IMDB movie reviews (25,000 train / 25,000 test), as word-index sequences, as Keras returns
them. Read from Keras's ``imdb.npz`` (pinned SHA-256) without unpickling anything but NumPy
arrays (:mod:`glassnet.datasets._npz_safe`)."""

from __future__ import annotations

import json
import os

import numpy as np

from . import _sequences as S
from ._fetch import fetch
from ._npz_safe import load_npz

__all__ = ["load_data", "get_word_index", "read_npz"]

_BASE = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
URL = _BASE + "imdb.npz"
DIGEST = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
WORD_INDEX_URL = _BASE + "imdb_word_index.json"
WORD_INDEX_DIGEST = "md5:bfafd718b763782e994055a2d397834f"


def read_npz(path: str | os.PathLike, num_words: int | None = None, skip_top: int = 0,
             maxlen: int | None = None, seed: int = 113, start_char: int | None = 1,
             oov_char: int | None = 2, index_from: int = 3,
             ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Parse an ``imdb.npz`` (members x_train, y_train, x_test, y_test) with Keras's rules;
    see :func:`load_data`."""
    f = load_npz(path)
    missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in f]
    if missing:
        raise ValueError(f"{path} is not Keras's imdb.npz: missing members {missing}")
    rng = np.random.RandomState(seed)
    raw_train, y_train = S.shuffled(rng, f["x_train"], f["y_train"])
    raw_test, y_test = S.shuffled(rng, f["x_test"], f["y_test"])
    x_train = S.index_words(raw_train, start_char, index_from)
    x_test = S.index_words(raw_test, start_char, index_from)
    if maxlen:
        x_train, y_train = S.drop_long(maxlen, x_train, y_train)
        x_test, y_test = S.drop_long(maxlen, x_test, y_test)
        if not x_train or not x_test:
            raise ValueError(f"imdb: no sequence is shorter than maxlen={maxlen}; "
                             "increase maxlen")
    xs = S.cap_vocabulary(x_train + x_test, num_words, skip_top, oov_char)
    n = len(x_train)
    return ((S.as_object_array(xs[:n]), np.asarray(y_train)),
            (S.as_object_array(xs[n:]), np.asarray(y_test)))


def load_data(path: str = "imdb.npz", num_words: int | None = None, skip_top: int = 0,
              maxlen: int | None = None, seed: int = 113, start_char: int | None = 1,
              oov_char: int | None = 2, index_from: int = 3, download: bool = True,
              ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """IMDB sentiment: ``(x_train, y_train), (x_test, y_test)`` as Keras returns them.

    Args:
        path: file name in the cache (``<data dir>/imdb/<path>``).
        num_words: keep the most frequent words (ids < num_words); others become oov_char.
        skip_top: also replace the skip_top most frequent words.
        maxlen: drop sequences of maxlen words or more.
        seed: shuffle seed (Keras's RandomState shuffle). start_char: id prepended to each
            review. oov_char: id of replaced words (None: drop them). index_from: offset
            added to every word id.
        download: allow the download when the file is not cached.

    Shapes: x object arrays of 25,000 lists of ints; y int arrays (25,000,) of 0/1.

    Example:
        >>> (x, y), (xt, yt) = gn.datasets.imdb.load_data(num_words=10000)  # doctest: +SKIP
    """
    return read_npz(fetch(f"imdb/{path}", URL, DIGEST, download), num_words, skip_top,
                    maxlen, seed, start_char, oov_char, index_from)


def get_word_index(path: str = "imdb_word_index.json", download: bool = True) -> dict:
    """``{word: index}`` (index 1 = the most frequent word; add ``index_from`` = 3 to match
    the ids in :func:`load_data`).

    Example:
        >>> gn.datasets.imdb.get_word_index()["the"]  # doctest: +SKIP
        1
    """
    p = fetch(f"imdb/{path}", WORD_INDEX_URL, WORD_INDEX_DIGEST, download)
    return json.loads(p.read_text(encoding="utf-8"))
