"""Batches that come from Python rather than from arrays: generators, iterators, ``PyDataset``.

``fit``/``evaluate``/``predict`` take, besides arrays, what Keras takes:

- a Python generator or iterator of batches ``x``, ``(x, y)`` or ``(x, y, sample_weight)``
  (``steps_per_epoch`` bounds an endless one; a finite one ends the epoch when exhausted —
  then it is exhausted for the next epoch too, as in Keras, so pass a ``PyDataset`` for
  several epochs);
- a ``keras.utils.PyDataset`` (``glassnet.utils.PyDataset``) or any object with ``__len__``
  and ``__getitem__(i)`` returning a batch, read in order each epoch, with its
  ``on_epoch_end()`` called after each;
- an iterable of batches (anything with ``__iter__`` that is not an array, a list, a tuple
  or a dict: e.g. a ``zip`` or a data loader).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterator
from typing import Any, cast

import numpy as np

from .. import backend, config
from ..tensor import Tensor

__all__ = ["unpack"]


def is_batch_source(x: Any) -> bool:
    """True for a generator, iterator, iterable of batches or PyDataset-like object."""
    if x is None or isinstance(x, (np.ndarray, list, tuple, dict, str, bytes)):
        return False
    if hasattr(x, "to_numpy") or hasattr(x, "shape") or hasattr(x, "__array__"):
        return False  # pandas, tensors, array-likes: data, not batches
    if isinstance(x, Iterator) or inspect.isgenerator(x):
        return True
    if hasattr(x, "__getitem__") and hasattr(x, "__len__"):
        return True
    return hasattr(x, "__iter__")


def unpack(batch: Any, what: str = "data") -> tuple[Any, Any, Any]:
    """``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)`` as three values, missing parts
    None (Keras's ``unpack_x_y_sample_weight``; the one copy glassnet has)."""
    if isinstance(batch, list):
        batch = tuple(batch)
    if not isinstance(batch, tuple):
        return batch, None, None
    if len(batch) == 1:
        return batch[0], None, None
    if len(batch) == 2:
        return batch[0], batch[1], None
    if len(batch) == 3:
        return batch
    raise ValueError(f"{what}: a batch must be x, (x, y) or (x, y, sample_weight). "
                     f"Received: a tuple of {len(batch)} items")


class BatchSource:
    """One epoch of batches at a time from ``x`` (see the module doc).

    Args:
        x: the source.
        steps: the batches per epoch (``steps_per_epoch``); None = all of it.
        what: the calling method, for messages.
        shuffle: visit an indexed source's batches in a new random order each epoch (from
            ``gn.set_seed``), as Keras's ``fit(PyDataset, shuffle=True)`` does; a generator
            keeps its own order.
    """

    def __init__(self, x: Any, steps: int | None, what: str, shuffle: bool = False) -> None:
        self.x, self.what, self.shuffle = x, what, bool(shuffle)
        self.indexed = (hasattr(x, "__getitem__") and hasattr(x, "__len__")
                        and not isinstance(x, Iterator))
        self.steps = None if steps is None else int(steps)
        if self.indexed:
            n = len(x)
            self.steps = n if self.steps is None else min(self.steps, n)
        self.steps = config._limit_steps(self.steps)  # gn.config's cap, where set
        self._it: Iterator[Any] | None = None if self.indexed else iter(x)

    def epoch(self) -> Iterator[tuple[Any, Any, Any]]:
        """Yield ``(x, y, sample_weight)`` batches for one epoch."""
        if self.indexed:
            order: Any = range(len(self.x))
            if self.shuffle:
                order = backend.rng().permutation(len(self.x))
            for i in order[:cast(int, self.steps)]:  # steps: set from len(x) when indexed
                yield unpack(self.x[int(i)], self.what)
            end = getattr(self.x, "on_epoch_end", None)
            if callable(end):
                end()
            return
        k = 0
        while self.steps is None or k < self.steps:
            try:
                batch = next(cast(Iterator[Any], self._it))  # set when not indexed
            except StopIteration:
                return
            yield unpack(batch, self.what)
            k += 1


# Arrays: the checks and conversions fit/evaluate/predict apply to array inputs.


def _to_array(x: Any, name: str, allow_int: bool = False) -> Any:
    """Validate and convert one input (array, list, DataFrame/Series, Tensor) for the loop."""
    if x is None:
        return None
    if type(x) is np.ndarray:  # the common case, checked first: a step pays for every test
        a = x
    else:
        if isinstance(x, dict):
            raise TypeError(f"{name}: a dict of arrays is not supported here; pass an array "
                            "(or a list of arrays, one per model input)")
        if isinstance(x, Iterator) or inspect.isgenerator(x):
            raise TypeError(f"{name}: a generator or iterator is taken only as fit/evaluate/"
                            f"predict's x, yielding whole batches; pass an array here. "
                            f"Received: {type(x).__name__}")
        if hasattr(x, "to_numpy"):  # pandas DataFrame / Series
            x = x.to_numpy()
        if isinstance(x, Tensor):
            x = x.data
        a = x if backend.is_gpu_array(x) else np.asarray(x)
    kind = a.dtype.kind
    if kind not in "biuf":
        if name.startswith("x") and _is_text(a):  # raw text for a TextVectorization/lookup
            return a
        raise TypeError(f"{name} must be numeric. Received: array of dtype {a.dtype}")
    if kind == "f":
        xp = np if type(a) is np.ndarray else backend.get_array_module(a)
        # one BLAS pass first: a finite sum of squares means every element is finite (the
        # common case); only when it is not (NaN, Inf, or overflow) is each element checked
        if a.size and not (math.isfinite(xp.vdot(a, a)) or xp.isfinite(a).all()):
            raise ValueError(f"{name} contains NaN or Inf values")
        if a.dtype != backend.floatx():
            with np.errstate(over="ignore"):  # overflow is reported just below, by name
                a = a.astype(backend.floatx())
            # a finite float64 such as 1e39 becomes inf in float32: check again after the cast
            if a.size and not (math.isfinite(xp.vdot(a, a)) or xp.isfinite(a).all()):
                raise ValueError(f"{name} has values too large for {backend.floatx()} "
                                 f"(|x| > {float(np.finfo(backend.floatx()).max):.3g}); scale "
                                 "the data")
    elif not allow_int:
        a = a.astype(backend.floatx())
    return a


class _Arrays:
    """One array per model input (or output), indexed together: ``xs[idx]`` indexes each."""

    def __init__(self, arrays: Any) -> None:
        self.arrays = list(arrays)

    def __getitem__(self, i: Any) -> _Arrays:
        return _Arrays([a[i] for a in self.arrays])

    def __len__(self) -> int:
        return len(self.arrays[0])

    @property
    def ndim(self) -> int:
        return min(a.ndim for a in self.arrays)

    @property
    def shape(self) -> tuple:
        return tuple(tuple(a.shape) for a in self.arrays)


def _is_text(a: Any) -> bool:
    """Strings (``str``/``bytes`` arrays, or object arrays holding only them): the raw input
    of a model that starts with a text preprocessing layer."""
    if a.dtype.kind in "US":
        return True
    return a.dtype.kind == "O" and all(isinstance(v, (str, bytes)) for v in a.reshape(-1))


def _check_xy(x: Any, y: Any, sw: Any = None) -> None:
    if x.ndim == 0 or len(x) == 0:
        raise ValueError(f"x is empty: there are no samples. Received: x shape {x.shape}")
    if y is not None and (y.ndim == 0 or len(x) != len(y)):
        raise ValueError(f"x and y must have the same number of samples. "
                         f"Received: x has {len(x)}, y has shape {y.shape}")
    if sw is not None and len(sw) != len(x):
        raise ValueError(f"sample_weight must have one entry per sample ({len(x)}). "
                         f"Received: {len(sw)}")
    if sw is not None and sw.size and float(sw.min()) < 0:
        raise ValueError(f"sample_weight must be >= 0. Received: a minimum of {sw.min()}")


def _class_weights(y: Any, class_weight: dict[Any, Any]) -> np.ndarray:
    """Per-sample weights from ``{class: weight}`` (labels as ints, one-hot or one column)."""
    if isinstance(y, _Arrays):
        raise ValueError("class_weight needs a model with one output; pass sample_weight")
    if not isinstance(class_weight, dict):
        raise TypeError(f"class_weight must be a dict {{class: weight}}. "
                        f"Received: {type(class_weight).__name__}")
    yi = backend.asnumpy(y).reshape(len(y), -1)
    cls = yi.argmax(1) if yi.shape[1] > 1 else np.rint(yi[:, 0]).astype(np.int64)
    # classes a key may name: the one-hot columns, else every label up to the largest in y
    n = yi.shape[1] if yi.shape[1] > 1 else max(int(cls.max()) + 1, 2)
    for k in class_weight:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k < n:
            raise ValueError(f"class_weight names an unknown class {k!r}; y has classes "
                             f"0..{n - 1}")
    table = np.ones(max(int(cls.max()) + 1, *(int(k) + 1 for k in class_weight)), np.float64)
    for k, v in class_weight.items():
        table[int(k)] = float(v)
    return table[cls].astype(backend.floatx())


def _check_binary_targets(y: Any) -> None:
    """Binary cross-entropy's targets are probabilities: a label 2 is a mistake, not data."""
    if y.size:
        lo, hi = float(y.min()), float(y.max())
        if lo < 0 or hi > 1:
            raise ValueError(f"binary_crossentropy needs targets in [0, 1]. Received: y from "
                             f"{lo:g} to {hi:g} (for class ids use "
                             "sparse_categorical_crossentropy)")


def _positive_batch(batch_size: Any, what: str) -> int:
    if batch_size is None:
        return 32
    if (isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
            or batch_size <= 0):
        raise ValueError(f"{what}: batch_size must be a positive int. Received: {batch_size!r}")
    return int(batch_size)
