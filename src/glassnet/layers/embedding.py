"""``Embedding``: integer ids → dense vectors (a lookup whose gradient is a scatter-add).

With ``mask_zero=True`` id 0 means padding: the layer attaches a (batch, timesteps) mask to
its output tensor, and the recurrent layers that receive that tensor skip the padded steps
(they keep the previous state). :func:`get_mask` reads such a mask.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import backend, constraints, initializers, regularizers
from ..autograd import Function
from ..tensor import (  # noqa: F401 - get_mask: the layers import it from here too
    Tensor,
    get_mask,
    set_mask,
)
from . import _embed_numba
from .base import Layer, _call_context, register

__all__ = ["Embedding"]


def _nonzero(ids: Any) -> Any:
    return ids != 0



def embedding_grad(ids: np.ndarray, rows: np.ndarray, vocab: int) -> np.ndarray:
    """The embedding table's gradient: ``gw[ids[i]] += rows[i]`` summed over repeats (NumPy).

    Args:
        ids: (N,) int ids in ``[0, vocab)``. rows: (N, D) float gradients. vocab: table rows.

    Returns: (vocab, D) array of ``rows``'s dtype.

    One ``np.bincount`` per column, over a transposed copy of ``rows`` made in cache-sized
    blocks: each is a single pass over the ids. A stable argsort plus ``reduceat`` measured
    4x slower (51,200 ids, vocab 10,000), ``np.add.at`` slower still. When the ids are far
    fewer than the table rows, ``np.add.at`` into zeros is cheaper (no pass over the whole
    table per column).

    Example:
        >>> embedding_grad(np.array([1, 1]), np.ones((2, 3), "float32"), 3)[1]
        array([2., 2., 2.], dtype=float32)
    """
    n, d = rows.shape
    if n * 4 < vocab or d == 0:
        gw = np.zeros((vocab, d), dtype=rows.dtype)
        np.add.at(gw, ids, rows)
        return gw
    cols = np.empty((d, n), dtype=rows.dtype)
    step = max(1, 16384 // d)  # transpose in cache-sized blocks: 3-5x faster than one copy
    for s in range(0, n, step):
        cols[:, s:s + step] = rows[s:s + step].T
    return _bincount_columns(ids, cols, vocab)


def _bincount_columns(ids: np.ndarray, cols: np.ndarray, vocab: int) -> np.ndarray:
    """(vocab, D) table whose column j is ``bincount(ids, weights=cols[j])``."""
    gw_t = np.empty((cols.shape[0], vocab), dtype=cols.dtype)
    for j in range(cols.shape[0]):
        gw_t[j] = np.bincount(ids, weights=cols[j], minlength=vocab)
    return gw_t.T


class EmbeddingLookup(Function):
    """``W[ids]``; backward scatter-adds the incoming rows into a zero table.

    Inputs ``(w, ids)``: the ids are an input, not a setting, so a replayed step
    (``glassnet._tape``) looks up each batch's own ids.
    """

    def rows_apart(self, shapes: list[tuple[int, ...]], batched: list[bool],
                   out: tuple[int, ...]) -> bool:
        return not batched[0] and batched[1]  # the table, then the ids

    def forward(self, w: Any, ids: Any) -> Any:
        self.shape, self.ids = w.shape, ids
        if type(w) is np.ndarray:  # take: 3x faster than w[ids] for 51,200 ids
            return np.take(w, ids, axis=0)
        return w[ids]

    def backward(self, gy: Any) -> tuple[Any, None]:
        xp = backend.get_array_module(gy)
        flat = self.ids.reshape(-1)
        vocab = self.shape[0]
        if xp is np and _embed_numba.applies(self.ids, gy, vocab):
            # the compiled scatter: one pass over the ids, not one bincount per column
            if gy.ndim == 3 and gy.strides[1] == 0 and self.ids.shape == gy.shape[:2]:
                return _embed_numba.grad_broadcast(self.ids, gy[:, 0, :], vocab), None
            return _embed_numba.grad(flat, gy.reshape(flat.size, self.shape[1]), vocab), None
        if xp is np and gy.ndim == 3 and gy.strides[1] == 0 and gy.shape[1] > 1:
            # one row per sample broadcast over the steps (GlobalAveragePooling1D's
            # gradient): the transposed per-id weights in one repeat, no (B*T, D) copy
            cols = np.repeat(np.ascontiguousarray(gy[:, 0, :].T), gy.shape[1], axis=1)
            return _bincount_columns(flat, cols, self.shape[0]), None
        rows = gy.reshape(flat.size, self.shape[1])
        if xp is np:
            return embedding_grad(flat, rows, self.shape[0]), None
        gw = xp.zeros(self.shape, dtype=gy.dtype)
        backend.scatter_add(gw, flat, rows)
        return gw, None


class _Ids(Function):
    """The layer's id check and int64 conversion as an op (it runs on every replayed step)."""

    def __init__(self, check: Callable[[Any], Any]) -> None:
        self.check = check

    def rows_apart(self, shapes: list[tuple[int, ...]], batched: list[bool],
                   out: tuple[int, ...]) -> bool:
        return True  # the ids, checked one by one

    def forward(self, a: Any) -> Any:
        return self.check(a)

    def backward(self, gy: Any) -> None:
        return None

    def describe(self) -> str:
        ids = getattr(self, "ids", None)
        return "EmbeddingLookup" if ids is None else f"EmbeddingLookup(ids{tuple(ids.shape)})"


@register
class Embedding(Layer):
    """Turn non-negative integer ids into dense vectors of size ``output_dim``.

    Args:
        input_dim: vocabulary size (ids must lie in ``[0, input_dim)``).
        output_dim: vector size.
        embeddings_initializer: default "uniform" (U(-0.05, 0.05), as Keras).
        embeddings_regularizer: optional regularizer of the table.
        embeddings_constraint: a projection of the table after each update
            (:mod:`glassnet.constraints`).
        mask_zero: id 0 is padding; the output carries a mask recurrent layers respect.

    Shapes: ids (B, ...) → (B, ..., output_dim). Weight ``embeddings`` (input_dim, output_dim).

    Example:
        >>> e = Embedding(100, 8); e(np.array([[1, 2, 0]])).shape
        (1, 3, 8)
    """

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer: Any = "uniform",
                 embeddings_regularizer: Any = None, mask_zero: bool = False,
                 input_length: int | None = None, embeddings_constraint: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for arg, v in (("input_dim", input_dim), ("output_dim", output_dim)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v <= 0:
                raise ValueError(
                    f"Layer '{self.name}': {arg} must be a positive int. Received: {arg}={v!r}"
                )
        self.input_dim = int(input_dim)
        self.output_dim = int(output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = bool(mask_zero)
        self.input_length = input_length

    def build(self, input_shape: Any) -> None:
        self.embeddings = self.add_weight("embeddings", (self.input_dim, self.output_dim),
                                          self.embeddings_initializer,
                                          self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint)
        self.built = True

    def _ids(self, x: Any) -> Any:
        a = x.data if isinstance(x, Tensor) else x
        xp = backend.get_array_module(a)
        a = xp.asarray(a)
        if a.dtype.kind == "f":
            ids = a.astype(np.int64)
            if not bool(xp.all(ids == a)):
                raise ValueError(
                    f"Layer '{self.name}': inputs must be integer ids. Received: "
                    f"non-integer values of dtype {a.dtype}"
                )
        elif a.dtype.kind in "iub":
            ids = a.astype(np.int64, copy=False)
        else:
            raise TypeError(
                f"Layer '{self.name}': inputs must be integer ids. Received: dtype {a.dtype}"
            )
        if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= self.input_dim):
            if _call_context.tracing:  # stand-in positions (arange over a traced length
                # of 32) for an Embedding(sequence_length): the shape is what counts
                return backend.get_array_module(ids).clip(ids, 0, self.input_dim - 1)
            raise ValueError(
                f"Layer '{self.name}': ids must lie in [0, {self.input_dim}). Received: "
                f"ids in [{int(ids.min())}, {int(ids.max())}]"
            )
        return ids

    def __call__(self, x: Any, *args: Any, training: bool | None = None,
                 **kwargs: Any) -> Any:
        if args:  # more inputs, or the training flag, by position
            return self._positional_call(x, args, training, kwargs)
        if getattr(x, "_glassnet_symbolic", False):  # functional API: gn.Input / layer output
            return super().__call__(x, training=training, **kwargs)
        ids = self._ids(x)
        if not self.built:
            shape = (None,) + tuple(ids.shape[1:])
            self._check_spec(shape)
            self.input_shape_built = shape
            self.build(shape)
            if backend.is_gpu_array(ids):
                self.to("gpu")  # weights live where the first input did
        self._activity_losses = []
        return self.call(x if isinstance(x, Tensor) else ids, training=training)

    def call(self, x: Any, training: bool | None = False) -> Tensor:
        ids = _Ids(self._ids)(x) if isinstance(x, Tensor) else Tensor._make(self._ids(x))
        y = EmbeddingLookup()(self.embeddings, ids)
        if self.mask_zero:  # made by an op: a replayed step makes it from each batch
            from ._masks import mask_op

            set_mask(y, mask_op(_nonzero, ids, rows=True).data)
        return y

    def compute_mask(self, x: Any, mask: Any = None) -> Any:
        """The (batch, timesteps) mask of ``x`` (ids != 0) when ``mask_zero``, else None."""
        return (self._ids(x) != 0) if self.mask_zero else None

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
            "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
            "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
            "mask_zero": self.mask_zero,
            "input_length": self.input_length,
        }
