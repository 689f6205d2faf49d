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
from collections.abc import Iterator

import numpy as np

__all__ = ["unpack"]


def is_batch_source(x) -> bool:
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


def unpack(batch, what: str = "data"):
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
    """

    def __init__(self, x, steps: int | None, what: str):
        self.x, self.what = x, what
        self.indexed = (hasattr(x, "__getitem__") and hasattr(x, "__len__")
                        and not isinstance(x, Iterator))
        self.steps = None if steps is None else int(steps)
        if self.indexed:
            n = len(x)
            self.steps = n if self.steps is None else min(self.steps, n)
        self._it = None if self.indexed else iter(x)

    def epoch(self):
        """Yield ``(x, y, sample_weight)`` batches for one epoch."""
        if self.indexed:
            for i in range(self.steps):
                yield unpack(self.x[i], self.what)
            end = getattr(self.x, "on_epoch_end", None)
            if callable(end):
                end()
            return
        k = 0
        while self.steps is None or k < self.steps:
            try:
                batch = next(self._it)
            except StopIteration:
                return
            yield unpack(batch, self.what)
            k += 1
