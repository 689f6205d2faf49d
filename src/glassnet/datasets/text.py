"""Text corpora (tiny Shakespeare) and a character vocabulary helper."""

from __future__ import annotations

from ._fetch import fetch

__all__ = ["load_data", "char_vocab", "CORPORA"]

CORPORA = {
    "tinyshakespeare": (
        "text/tinyshakespeare.txt",
        "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
        "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
    ),
}


def load_data(name: str = "tinyshakespeare", download: bool = True) -> str:
    """A corpus as one string (UTF-8).

    Example:
        >>> text = gn.datasets.text.load_data("tinyshakespeare")  # doctest: +SKIP
    """
    if name not in CORPORA:
        raise ValueError(f"Unknown corpus: expected one of {sorted(CORPORA)}, received {name!r}")
    rel, url, sha = CORPORA[name]
    return fetch(rel, url, sha, download).read_text(encoding="utf-8")


def char_vocab(text: str) -> tuple[list[str], dict[str, int]]:
    """Sorted distinct characters and their indices.

    Example:
        >>> char_vocab("abca")
        (['a', 'b', 'c'], {'a': 0, 'b': 1, 'c': 2})
    """
    chars = sorted(set(text))
    return chars, {c: i for i, c in enumerate(chars)}
