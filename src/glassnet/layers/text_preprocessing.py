"""Lookup and text preprocessing layers: ``StringLookup``, ``IntegerLookup``,
``TextVectorization`` and ``Hashing``, with Keras 3's arguments, index layout and outputs.

Vocabularies (and tf-idf weights) are plain JSON data in the layer's config, so a saved
model carries them without any code. Index layout, as Keras: in ``"int"`` mode
``[mask_token] + [oov_token] * num_oov_indices + vocabulary``; in the other modes the mask
index is not reserved. ``adapt(data)`` orders the vocabulary by frequency (ties: the
larger token first, as Keras's ``np.lexsort(...)[::-1]``).

Hashing is Keras's, bit for bit: FarmHash Fingerprint64 of the UTF-8 text (SipHash-2-4
when salted), modulo the bins (``_hashes.py``); ``StringLookup`` with ``num_oov_indices > 1``
spreads unknown strings over the OOV indices the same way.

Strings run on the CPU (NumPy); numeric outputs follow the input's device when it is one.

Example:
    >>> vec = TextVectorization(output_sequence_length=4)
    >>> vec.adapt(["the cat sat", "the dog"]); vec(["the dog ran"]).data
    array([[2, 4, 1, 0]])
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import backend
from .._tape import Pure
from ..tensor import Tensor
from ._hashes import fingerprint64, siphash24
from .base import Layer, _is_symbolic, register
from .preprocessing import encode_categorical

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["StringLookup", "IntegerLookup", "TextVectorization", "Hashing"]

_PUNCT = re.compile(r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']')
_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")


def hash_bucket(token: Any, num_bins: int, salt: Sequence[int] | None = None) -> int:
    """Keras's bucket of ``token`` in ``[0, num_bins)``: FarmHash Fingerprint64 of its UTF-8
    text (``tf.strings.to_hash_bucket_fast``), or SipHash-2-4 keyed by ``salt = (k0, k1)``
    (``to_hash_bucket_strong``)."""
    data = str(token).encode("utf-8")
    h = fingerprint64(data) if salt is None else siphash24(salt[0], salt[1], data)
    return h % num_bins


def _raw(x: Any) -> tuple[Any, bool]:
    """A layer input as a host array (strings stay strings; numbers keep their dtype)."""
    if isinstance(x, Tensor):
        x = x.data
    if backend.is_gpu_array(x):
        return backend.asnumpy(x), True
    a = np.asarray(x)
    if a.dtype.kind == "O":
        a = a.astype(str)
    return a, False


class _StringInputLayer(Layer):
    """Layers whose inputs may be strings: the base class's numeric check is skipped."""

    _accepts_text = True

    def __call__(self, x: Any, *args: Any, training: bool | None = None,
                 **kwargs: Any) -> Any:
        if args:  # more inputs, or the training flag, by position
            return self._positional_call(x, args, training, kwargs)
        if _is_symbolic(x):
            return super().__call__(x, training=training, **kwargs)
        self.built = True  # no weights to build
        if isinstance(x, Tensor):  # one recorded op: a replayed step maps each batch afresh
            return Pure(lambda a: self._apply(a, training, kwargs))(x)
        return Tensor._make(self._apply(x, training, kwargs))

    def _apply(self, x: Any, training: bool | None, kwargs: dict[str, Any]) -> Any:
        """The layer on one raw batch, as an array (on the GPU when the input was)."""
        a, on_gpu = _raw(x)
        y = self.call(a, training=bool(training), **kwargs)
        # a Tensor, or with invert=True the tokens as an array (whose .data is a memoryview)
        y = y.data if isinstance(y, Tensor) else y
        if on_gpu and y.dtype.kind in "biuf":
            y = backend.to_device(y, "gpu")
        return y


class _IndexLookup(_StringInputLayer):
    """The shared table of ``StringLookup`` and ``IntegerLookup``."""

    _kind = "str"

    def __init__(self, max_tokens: int | None = None, num_oov_indices: int = 1,
                 mask_token: Any = None, oov_token: Any = None, vocabulary: Any = None,
                 idf_weights: Any = None, invert: bool = False, output_mode: str = "int",
                 pad_to_max_tokens: bool = False, sparse: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if output_mode == "binary":  # Keras's deprecated name, still accepted there
            output_mode = "multi_hot"
        if output_mode == "tf-idf":
            output_mode = "tf_idf"
        if output_mode not in _MODES:
            raise ValueError(f"Layer '{self.name}': output_mode must be one of {_MODES}. "
                             f"Received: output_mode={output_mode!r}")
        if max_tokens is not None and (isinstance(max_tokens, bool) or int(max_tokens) <= 1):
            raise ValueError(f"Layer '{self.name}': max_tokens must be > 1 or None. "
                             f"Received: max_tokens={max_tokens!r}")
        if int(num_oov_indices) < 0:
            raise ValueError(f"Layer '{self.name}': num_oov_indices must be >= 0. "
                             f"Received: num_oov_indices={num_oov_indices!r}")
        if invert and output_mode != "int":
            raise ValueError(f"Layer '{self.name}': invert=True needs output_mode='int'. "
                             f"Received: output_mode={output_mode!r}")
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(f"Layer '{self.name}': idf_weights are only used with "
                             f"output_mode='tf_idf'. Received: output_mode={output_mode!r}")
        if sparse:
            raise ValueError(f"Layer '{self.name}': sparse outputs are not supported")
        self.max_tokens = None if max_tokens is None else int(max_tokens)
        self.num_oov_indices = int(num_oov_indices)
        self.mask_token = self._token(mask_token)
        self.oov_token = self._token(oov_token)
        self.invert = bool(invert)
        self.output_mode = output_mode
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        self.idf_weights: list[float] | None = None
        self._tokens: list = []
        self._index: dict = {}
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        elif idf_weights is not None:
            raise ValueError(f"Layer '{self.name}': idf_weights need a vocabulary")

    def _token(self, t: Any) -> Any:
        if t is None:
            return None
        return str(t) if self._kind == "str" else int(t)

    # ------------------------------------------------------------ vocabulary
    def _oov_start(self) -> int:
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start(self) -> int:
        return self._oov_start() + self.num_oov_indices

    def _special(self) -> list:
        return [self.mask_token] * self._oov_start() + [self.oov_token] * self.num_oov_indices

    def set_vocabulary(self, vocabulary: Any, idf_weights: Any = None) -> None:
        """Set the vocabulary (and, for ``tf_idf``, one idf weight per entry). A leading run
        of the special tokens (mask, OOV) is recognised and kept in place."""
        vocab = [self._token(t) for t in (vocabulary.tolist() if isinstance(
            vocabulary, np.ndarray) else list(vocabulary))]
        if not vocab:
            raise ValueError(f"Layer '{self.name}': cannot set an empty vocabulary")
        special = self._special()
        found = vocab[:len(special)] == special
        tokens = vocab[len(special):] if found else vocab
        if len(set(tokens)) != len(tokens):
            rep = sorted({t for t in tokens if tokens.count(t) > 1}, key=str)
            raise ValueError(f"Layer '{self.name}': the vocabulary repeats {rep}")
        if self.mask_token is not None and self.mask_token in tokens:
            raise ValueError(f"Layer '{self.name}': the mask token {self.mask_token!r} may only "
                             f"appear first. Expected special tokens first: {special}")
        if self.max_tokens is not None and self._token_start() + len(tokens) > self.max_tokens:
            raise ValueError(f"Layer '{self.name}': vocabulary of size "
                             f"{self._token_start() + len(tokens)} exceeds max_tokens="
                             f"{self.max_tokens}")
        self._set_tokens(tokens)
        if self.output_mode == "tf_idf":
            if idf_weights is None:
                raise ValueError(f"Layer '{self.name}': output_mode='tf_idf' needs idf_weights")
            w = np.asarray(idf_weights, dtype=np.float64).reshape(-1)
            if len(w) != len(vocab):
                raise ValueError(f"Layer '{self.name}': idf_weights must match the vocabulary's "
                                 f"length {len(vocab)}. Received: {len(w)}")
            if not found:  # OOV (and mask) weights: the mean idf, as Keras
                w = np.concatenate([np.full(self._token_start(), w.mean()), w])
            self.idf_weights = w.tolist()

    def _set_tokens(self, tokens: Iterable[Any]) -> None:
        self._tokens = list(tokens)
        start = self._token_start()
        self._index = {t: i + start for i, t in enumerate(self._tokens)}

    def get_vocabulary(self, include_special_tokens: bool = True) -> list:
        """The tokens by index (specials first unless ``include_special_tokens=False``)."""
        return (self._special() if include_special_tokens else []) + list(self._tokens)

    def vocabulary_size(self) -> int:
        """Number of indices the layer produces (specials included)."""
        return self._token_start() + len(self._tokens)

    def adapt(self, data: Any) -> None:
        """Learn the vocabulary (most frequent first) and, for ``tf_idf``, idf weights.

        ``data``: an array or list (a 1-D one is one token per document), or an iterable
        of such batches; a 2-D array's rows are documents.
        """
        from .preprocessing import _batches

        counts: dict = {}
        docs: dict = {}
        n_docs = 0
        for b in _batches(data):
            a = np.asarray(b)
            if a.dtype.kind == "O":
                a = a.astype(str)
            rows = a.reshape(-1, 1) if a.ndim <= 1 else a.reshape(a.shape[0], -1)
            for row in rows:
                toks = [self._token(t) for t in row.tolist()]
                for t in toks:
                    counts[t] = counts.get(t, 0) + 1
                for t in set(toks):
                    docs[t] = docs.get(t, 0) + 1
                n_docs += 1
        self._learn(counts, docs, n_docs)

    def _learn(self, counts: dict, docs: dict, n_docs: int) -> None:
        for special in (self.mask_token, self.oov_token):
            counts.pop(special, None)
        if not counts:
            raise ValueError(f"Layer '{self.name}': adapt() found no tokens")
        toks = list(counts)
        keys = np.array(toks, dtype=str if self._kind == "str" else np.int64)
        order = np.lexsort((keys, np.array([counts[t] for t in toks])))[::-1]
        if self.max_tokens is not None:
            order = order[:self.max_tokens - self._token_start()]
        tokens = [toks[i] for i in order]
        self._set_tokens(tokens)
        if self.output_mode == "tf_idf":
            w = np.log(1 + n_docs / (1 + np.array([docs[t] for t in tokens], np.float64)))
            self.idf_weights = np.concatenate([np.full(self._token_start(), w.mean()),
                                               w]).tolist()

    # ------------------------------------------------------------ lookup
    def _oov_index(self, t: Any) -> int:
        if self.num_oov_indices == 0:
            raise ValueError(f"Layer '{self.name}': {t!r} is not in the vocabulary and "
                             "num_oov_indices=0")
        if self.num_oov_indices == 1:
            return self._oov_start()
        b = (int(t) % self.num_oov_indices if self._kind == "int"
             else hash_bucket(t, self.num_oov_indices))
        return self._oov_start() + b

    def lookup(self, a: np.ndarray) -> np.ndarray:
        """Indices of the tokens in ``a`` (host array), as int64."""
        index, mask = self._index, self.mask_token
        mask_id = 0 if self._oov_start() else None
        flat = [self._token(t) for t in a.reshape(-1).tolist()]
        out = np.empty(len(flat), np.int64)
        for i, t in enumerate(flat):
            j = index.get(t)
            if j is None:
                j = mask_id if (mask_id is not None and t == mask) else self._oov_index(t)
            out[i] = j
        return out.reshape(a.shape)

    def _depth(self) -> int:
        return self.max_tokens if self.pad_to_max_tokens and self.max_tokens else \
            self.vocabulary_size()

    def _encode(self, ids: np.ndarray) -> Tensor:
        if self.output_mode == "int":
            return Tensor._make(ids)
        if not self._tokens:
            raise ValueError(f"Layer '{self.name}': set a vocabulary or call adapt() first")
        dt = self.dtype or np.dtype(backend.floatx())
        mode = "count" if self.output_mode == "tf_idf" else self.output_mode
        y = encode_categorical(ids, mode, self._depth(), dt)
        if self.output_mode == "tf_idf":
            idf: list = self.idf_weights or []
            w = np.zeros(self._depth())
            w[:len(idf)] = idf
            y = (y * w.astype(dt)).astype(dt)
        return Tensor._make(y)

    def call(self, x: Any, training: bool = False) -> Tensor | np.ndarray:
        a = x if isinstance(x, np.ndarray) else _raw(x)[0]
        if self.invert:
            return self._invert(a)
        return self._encode(self.lookup(a))

    def _invert(self, a: Any) -> np.ndarray:
        vocab = self.get_vocabulary()
        ids = np.asarray(a)
        if ids.dtype.kind not in "iuf":
            raise TypeError(f"Layer '{self.name}': invert=True takes integer indices. "
                            f"Received: dtype {ids.dtype}")
        ids = ids.astype(np.int64)
        oov = self.oov_token
        out = [vocab[i] if 0 <= i < len(vocab) else oov for i in ids.reshape(-1).tolist()]
        return np.array(out).reshape(ids.shape)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(), "max_tokens": self.max_tokens,
            "num_oov_indices": self.num_oov_indices, "mask_token": self.mask_token,
            "oov_token": self.oov_token, "vocabulary": list(self._tokens) or None,
            "idf_weights": self.idf_weights, "invert": self.invert,
            "output_mode": self.output_mode, "pad_to_max_tokens": self.pad_to_max_tokens,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Self:
        cfg = dict(config)
        if cfg.get("idf_weights") is not None and cfg.get("vocabulary"):
            # the saved idf weights include the special entries: put their tokens back first
            mode = cfg.get("output_mode", "int")
            mask = cfg.get("mask_token")
            oov = cfg.get("oov_token", "[UNK]" if cls._kind == "str" else -1)
            specials = ([mask] if mask is not None and mode == "int" else []) + \
                [oov] * int(cfg.get("num_oov_indices", 1))
            cfg["vocabulary"] = specials + list(cfg["vocabulary"])
        return cls(**cfg)


@register
class StringLookup(_IndexLookup):
    """Map strings to integer indices (or one/multi-hot, counts, tf-idf) by a vocabulary.

    Args:
        max_tokens: cap on the vocabulary size, special tokens included.
        num_oov_indices: indices for out-of-vocabulary strings (default 1).
        mask_token: a token meaning "padding" (index 0 in int mode), default None.
        oov_token: the OOV token's text (for ``get_vocabulary`` and ``invert``).
        vocabulary: a list of strings (or call ``adapt``).
        idf_weights: one weight per vocabulary entry (``tf_idf`` only).
        invert: map indices back to strings.
        output_mode: ``"int"``, ``"one_hot"``, ``"multi_hot"``, ``"count"``, ``"tf_idf"``.
        pad_to_max_tokens: non-int outputs are ``max_tokens`` wide.

    Example:
        >>> StringLookup(vocabulary=["a", "b", "c"])(np.array([["a", "c", "z"]])).data
        array([[1, 3, 0]])
    """

    def __init__(self, max_tokens: int | None = None, num_oov_indices: int = 1,
                 mask_token: str | None = None, oov_token: str = "[UNK]", vocabulary: Any = None,
                 idf_weights: Any = None, invert: bool = False, output_mode: str = "int",
                 pad_to_max_tokens: bool = False, sparse: bool = False,
                 encoding: str = "utf-8", **kwargs: Any) -> None:
        super().__init__(max_tokens, num_oov_indices, mask_token, oov_token, vocabulary,
                         idf_weights, invert, output_mode, pad_to_max_tokens, sparse, **kwargs)
        self.encoding = encoding

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "encoding": self.encoding}


@register
class IntegerLookup(_IndexLookup):
    """Map arbitrary integers (ids, codes, years) to contiguous indices by a vocabulary.

    Args as ``StringLookup``, with ``oov_token=-1`` and integer tokens; with
    ``num_oov_indices > 1`` an unknown value ``v`` goes to OOV index ``v % num_oov_indices``.

    Example:
        >>> IntegerLookup(vocabulary=[12, 36, 1138])(np.array([[12, 1138, 7]])).data
        array([[1, 3, 0]])
    """

    _kind = "int"

    def __init__(self, max_tokens: int | None = None, num_oov_indices: int = 1,
                 mask_token: int | None = None, oov_token: int = -1, vocabulary: Any = None,
                 vocabulary_dtype: str = "int64", idf_weights: Any = None, invert: bool = False,
                 output_mode: str = "int", pad_to_max_tokens: bool = False,
                 sparse: bool = False, **kwargs: Any) -> None:
        super().__init__(max_tokens, num_oov_indices, mask_token, oov_token, vocabulary,
                         idf_weights, invert, output_mode, pad_to_max_tokens, sparse, **kwargs)


def standardize_text(a: np.ndarray, mode: str | None) -> np.ndarray:
    """Keras's built-in standardizations on an array of strings."""
    lower = mode in ("lower", "lower_and_strip_punctuation")
    strip = mode in ("strip_punctuation", "lower_and_strip_punctuation")
    flat = [str(s) for s in a.reshape(-1).tolist()]
    if lower:
        flat = [s.lower() for s in flat]
    if strip:
        flat = [_PUNCT.sub("", s) for s in flat]
    return np.array(flat, dtype=object).reshape(a.shape)


@register
class TextVectorization(_StringInputLayer):
    """Turn raw strings into token indices (or multi-hot, counts, tf-idf vectors).

    Pipeline, as Keras: standardize → split → (n-grams) → vocabulary lookup → shape.

    Args:
        max_tokens: vocabulary cap, the mask ("") and OOV ("[UNK]") entries included.
        standardize: ``"lower_and_strip_punctuation"`` (default), ``"lower"``,
            ``"strip_punctuation"`` or None.
        split: ``"whitespace"`` (default), ``"character"`` or None.
        ngrams: None, an int n (all 1..n-grams) or a tuple of n-gram sizes.
        output_mode: ``"int"`` (default), ``"multi_hot"``, ``"count"``, ``"tf_idf"``.
        output_sequence_length: int mode: pad with 0 / truncate every row to this length
            (None: to the batch's longest).
        pad_to_max_tokens: non-int outputs are ``max_tokens`` wide.
        vocabulary, idf_weights: a fixed vocabulary (else call ``adapt``).

    Callables for ``standardize``/``split`` are refused: a model file holds no code.

    Shapes: (B,) or (B, 1) strings → int (B, length) / other modes (B, vocabulary size).

    Example:
        >>> vec = TextVectorization(output_mode="multi_hot", vocabulary=["cat", "dog"])
        >>> vec(["Dog, cat!", "bird"]).data
        array([[0., 1., 1.],
               [1., 0., 0.]], dtype=float32)
    """

    def __init__(self, max_tokens: int | None = None,
                 standardize: str | None = "lower_and_strip_punctuation",
                 split: str | None = "whitespace", ngrams: Any = None,
                 output_mode: str = "int", output_sequence_length: int | None = None,
                 pad_to_max_tokens: bool = False, vocabulary: Any = None,
                 idf_weights: Any = None, sparse: bool = False, ragged: bool = False,
                 encoding: str = "utf-8", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if callable(standardize) or callable(split):
            raise ValueError(f"Layer '{self.name}': callable standardize/split would be code "
                             "in the model file, which glassnet never stores; standardize "
                             "the text before the layer instead")
        if standardize not in (None, "lower", "strip_punctuation",
                               "lower_and_strip_punctuation"):
            raise ValueError(f"Layer '{self.name}': unknown standardize={standardize!r}")
        if split not in (None, "whitespace", "character"):
            raise ValueError(f"Layer '{self.name}': unknown split={split!r}")
        if output_mode not in ("int", "multi_hot", "count", "tf_idf", "tf-idf"):
            raise ValueError(f"Layer '{self.name}': output_mode must be 'int', 'multi_hot', "
                             f"'count' or 'tf_idf'. Received: output_mode={output_mode!r}")
        if output_sequence_length is not None and output_mode != "int":
            raise ValueError(f"Layer '{self.name}': output_sequence_length needs "
                             f"output_mode='int'. Received: output_mode={output_mode!r}")
        if ragged or sparse:
            raise ValueError(f"Layer '{self.name}': ragged and sparse outputs are not "
                             "supported")
        if isinstance(ngrams, (int, np.integer)) and not isinstance(ngrams, bool):
            ngrams = tuple(range(1, int(ngrams) + 1))
        self.ngrams = None if ngrams is None else tuple(int(n) for n in ngrams)
        self.standardize, self.split = standardize, split
        self.output_sequence_length = (None if output_sequence_length is None
                                       else int(output_sequence_length))
        self.encoding = encoding
        self._lookup_layer = StringLookup(
            max_tokens=max_tokens, vocabulary=vocabulary, idf_weights=idf_weights,
            pad_to_max_tokens=pad_to_max_tokens, mask_token="", output_mode=output_mode,
            name=f"{self.name}_lookup")

    # ------------------------------------------------------------ pipeline
    def _tokens(self, a: np.ndarray) -> list[list[str]]:
        a = np.asarray(a)
        if a.dtype.kind not in "USO":
            raise TypeError(f"Layer '{self.name}': inputs must be strings. "
                            f"Received: dtype {a.dtype}")
        if self.split is not None and a.ndim > 1:
            if a.shape[-1] != 1:
                raise ValueError(f"Layer '{self.name}': string inputs must have shape (batch,)"
                                 f" or (batch, 1). Received: shape {a.shape}")
            a = a[..., 0]
        a = standardize_text(a, self.standardize)
        if self.split is None:
            return [[s] for s in a.reshape(-1).tolist()]
        rows = [s.split() if self.split == "whitespace" else list(s)
                for s in a.reshape(-1).tolist()]
        if self.ngrams:
            rows = [[" ".join(r[i:i + n]) for n in self.ngrams for i in range(len(r) - n + 1)]
                    for r in rows]
        return rows

    def adapt(self, data: Any) -> None:
        """Learn the vocabulary (and idf weights) from strings or batches of strings."""
        from .preprocessing import _batches

        lk = self._lookup_layer
        counts: dict = {}
        docs: dict = {}
        n = 0
        for b in _batches(data):
            for row in self._tokens(np.asarray(b)):
                for t in row:
                    counts[t] = counts.get(t, 0) + 1
                for t in set(row):
                    docs[t] = docs.get(t, 0) + 1
                n += 1
        lk._learn(counts, docs, n)

    def call(self, x: Any, training: bool = False) -> Tensor:
        rows = self._tokens(x)
        lk = self._lookup_layer
        if lk.output_mode != "int":
            width = max((len(r) for r in rows), default=0)
            ids = np.full((len(rows), max(width, 1)), -1, np.int64)  # -1: encodes to nothing
            for i, r in enumerate(rows):
                if r:
                    ids[i, :len(r)] = lk.lookup(np.array(r, dtype=object))
            return lk._encode(ids)
        length = self.output_sequence_length
        if length is None:
            length = max((len(r) for r in rows), default=0)
        ids = np.zeros((len(rows), length), np.int64)
        for i, r in enumerate(rows):
            r = r[:length]
            if r:
                ids[i, :len(r)] = lk.lookup(np.array(r, dtype=object))
        return Tensor._make(ids)

    def get_vocabulary(self, include_special_tokens: bool = True) -> list:
        """The tokens by index ("" and "[UNK]" first in int mode)."""
        return self._lookup_layer.get_vocabulary(include_special_tokens)

    def vocabulary_size(self) -> int:
        return self._lookup_layer.vocabulary_size()

    def set_vocabulary(self, vocabulary: Any, idf_weights: Any = None) -> None:
        self._lookup_layer.set_vocabulary(vocabulary, idf_weights)

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        if self._lookup_layer.output_mode == "int":
            return (input_shape[0], self.output_sequence_length)
        return (input_shape[0], self._lookup_layer._depth())

    def get_config(self) -> dict[str, Any]:
        lk = self._lookup_layer
        return {
            **super().get_config(), "max_tokens": lk.max_tokens,
            "standardize": self.standardize, "split": self.split,
            "ngrams": None if self.ngrams is None else list(self.ngrams),
            "output_mode": lk.output_mode,
            "output_sequence_length": self.output_sequence_length,
            "pad_to_max_tokens": lk.pad_to_max_tokens,
            "vocabulary": lk.get_vocabulary() if lk._tokens else None,
            "idf_weights": lk.idf_weights, "encoding": self.encoding,
        }


@register
class Hashing(_StringInputLayer):
    """Hash strings or integers into ``num_bins`` buckets (the hashing trick).

    Args:
        num_bins: number of buckets, the mask bucket included.
        mask_value: a value that maps to bucket 0 (others then go to 1..num_bins-1).
        salt: None (FarmHash), or an int or a pair of ints keying SipHash-2-4 (an int k
            means (k, k)), as Keras.
        output_mode: ``"int"``, ``"one_hot"``, ``"multi_hot"``, ``"count"``.

    Values are hashed as text (integers as their decimal digits), so the buckets are
    Keras's, bit for bit, on every machine.

    Example:
        >>> Hashing(num_bins=3)(np.array([["a"], ["b"]])).shape
        (2, 1)
    """

    def __init__(self, num_bins: int, mask_value: Any = None, salt: Any = None,
                 output_mode: str = "int", sparse: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(num_bins, bool) or not isinstance(num_bins, (int, np.integer)) or \
                num_bins <= 0:
            raise ValueError(f"Layer '{self.name}': num_bins must be a positive integer. "
                             f"Received: num_bins={num_bins!r}")
        if output_mode not in ("int", "one_hot", "multi_hot", "count"):
            raise ValueError(f"Layer '{self.name}': output_mode must be 'int', 'one_hot', "
                             f"'multi_hot' or 'count'. Received: output_mode={output_mode!r}")
        if sparse:
            raise ValueError(f"Layer '{self.name}': sparse outputs are not supported")
        if salt is not None:
            if isinstance(salt, (int, np.integer)) and not isinstance(salt, bool):
                salt = [int(salt), int(salt)]
            elif not (isinstance(salt, (list, tuple)) and len(salt) == 2 and all(
                    isinstance(s, (int, np.integer)) for s in salt)):
                raise ValueError(f"Layer '{self.name}': salt must be an int or a pair of ints. "
                                 f"Received: salt={salt!r}")
            salt = [int(s) for s in salt]
        self.num_bins, self.mask_value, self.salt = int(num_bins), mask_value, salt
        self.output_mode = output_mode

    def _text(self, v: Any) -> str:
        if isinstance(v, float) and v.is_integer():
            v = int(v)  # ids that came through a float array hash as the integers they are
        return str(v)

    def call(self, x: Any, training: bool = False) -> Tensor:
        a = np.asarray(x)
        mask = None if self.mask_value is None else self._text(self.mask_value)
        n = self.num_bins - (0 if mask is None else 1)
        flat = [self._text(v) for v in a.reshape(-1).tolist()]
        out = np.array([0 if t == mask else hash_bucket(t, n, self.salt) +
                        (0 if mask is None else 1) for t in flat], np.int64).reshape(a.shape)
        dt = self.dtype or np.dtype(backend.floatx())
        return Tensor._make(encode_categorical(out, self.output_mode, self.num_bins, dt))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_bins": self.num_bins,
                "mask_value": self.mask_value, "salt": self.salt,
                "output_mode": self.output_mode}
