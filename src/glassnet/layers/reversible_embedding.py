"""``ReversibleEmbedding`` (Keras 3): an ``Embedding`` that also projects hidden states back
to vocabulary logits, ``layer(h, reverse=True)`` — through the transposed table (tied
weights, Press and Wolf, 2016) or a table of its own."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from ..tensor import Tensor
from .base import Layer, register
from .embedding import Embedding

__all__ = ["ReversibleEmbedding"]


@register
class ReversibleEmbedding(Embedding):
    """Ids → vectors as ``Embedding``; with ``reverse=True``, vectors → vocabulary logits.

    Args:
        input_dim, output_dim, embeddings_initializer, embeddings_regularizer, mask_zero: as
            for ``Embedding``.
        tie_weights: the reverse projection is the transposed ``embeddings`` (default), or a
            trainable ``reverse_embeddings`` (output_dim, input_dim) of its own.
        reverse_dtype: the dtype the reverse product is computed in (default: the inputs').
        logit_soft_cap: None, or c > 0: reverse logits become ``c · tanh(logits / c)``.

    Call: ``layer(ids)`` (B, ...) → (B, ..., output_dim); ``layer(h, reverse=True)``
    (B, ..., output_dim) → (B, ..., input_dim).

    Example:
        >>> e = ReversibleEmbedding(10, 4)
        >>> e(e(np.array([[1, 2]])), reverse=True).shape
        (1, 2, 10)
    """

    def __init__(self, input_dim: int, output_dim: int, tie_weights: bool = True,
                 embeddings_initializer: Any = "uniform", embeddings_regularizer: Any = None,
                 embeddings_constraint: Any = None, mask_zero: bool = False,
                 reverse_dtype: Any = None, logit_soft_cap: float | None = None,
                 **kwargs: Any) -> None:
        super().__init__(input_dim, output_dim, embeddings_initializer=embeddings_initializer,
                         embeddings_regularizer=embeddings_regularizer, mask_zero=mask_zero,
                         embeddings_constraint=embeddings_constraint, **kwargs)
        if logit_soft_cap is not None and not float(logit_soft_cap) > 0:
            raise ValueError(f"Layer '{self.name}': logit_soft_cap must be None or positive. "
                             f"Received: logit_soft_cap={logit_soft_cap!r}")
        self.tie_weights = bool(tie_weights)
        self.reverse_dtype = None if reverse_dtype is None else np.dtype(reverse_dtype).name
        self.logit_soft_cap = None if logit_soft_cap is None else float(logit_soft_cap)

    def build(self, input_shape: Any) -> None:
        super().build(input_shape)
        self.reverse_embeddings: Tensor | None = None
        if not self.tie_weights:
            self.reverse_embeddings = self.add_weight(
                "reverse_embeddings", (self.output_dim, self.input_dim),
                self.embeddings_initializer, self.embeddings_regularizer)

    def __call__(self, x: Any, *args: Any, training: bool | None = None,
                 reverse: bool = False, **kwargs: Any) -> Any:
        if not reverse:
            return super().__call__(x, *args, training=training, **kwargs)
        # hidden states, not ids: the layer's ordinary call (no id checks), its mask none
        return Layer.__call__(self, x, *args, training=training, reverse=True, **kwargs)

    def call(self, x: Any, training: bool | None = False, reverse: bool = False) -> Tensor:
        if not reverse:
            return super().call(x, training=training)
        if x.shape[-1] != self.output_dim:
            raise ValueError(f"Layer '{self.name}': reverse=True takes vectors of size "
                             f"{self.output_dim}. Received: input shape {tuple(x.shape)}")
        kernel: Tensor = (ops.transpose(self.embeddings, (1, 0))
                          if self.reverse_embeddings is None else self.reverse_embeddings)
        if self.reverse_dtype is not None:
            x, kernel = ops.cast(x, self.reverse_dtype), ops.cast(kernel, self.reverse_dtype)
        logits = ops.matmul(x, kernel)
        if self.logit_soft_cap is not None:
            c = self.logit_soft_cap
            logits = ops.mul(ops.tanh(ops.mul(logits, 1.0 / c)), c)
        return logits

    def _input_spec(self) -> Any:
        return None  # ids one call, vectors the next: no single input shape to hold to

    def compute_mask(self, x: Any, mask: Any = None) -> Any:
        return None  # the forward call attaches its own (mask_zero); logits carry none

    def compute_output_shape(self, input_shape: Any, reverse: bool = False
                             ) -> tuple[int | None, ...]:
        if reverse:
            return tuple(input_shape)[:-1] + (self.input_dim,)
        return super().compute_output_shape(input_shape)

    def get_config(self) -> dict[str, Any]:
        cfg = {**super().get_config(), "tie_weights": self.tie_weights,
               "reverse_dtype": self.reverse_dtype, "logit_soft_cap": self.logit_soft_cap}
        cfg.pop("input_length", None)
        return cfg
