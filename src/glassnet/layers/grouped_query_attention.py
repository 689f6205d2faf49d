"""``GroupedQueryAttention`` (Keras 3's ``GroupQueryAttention``): fewer key/value heads than
query heads, each shared by a group of query heads (Ainslie et al., 2023).

It is :class:`~glassnet.layers.MultiHeadAttention` with three differences, each a hook of
that layer: the key and value projections have ``num_key_value_heads`` heads, repeated so
that query head ``u`` reads key/value head ``u // (num_query_heads // num_key_value_heads)``
(Keras's ``ops.repeat`` on the head axis); an optional ``sliding_window`` keeps each query
within ``sliding_window - 1`` steps of the keys it sees; and ``use_gate`` multiplies the
heads' outputs by a sigmoid projection of the query before the output projection.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import constraints, initializers, ops, regularizers
from .._keras_ops_array import repeat
from ..tensor import Tensor
from .attention import MultiHeadAttention, _bool_mask
from .base import Layer, register

__all__ = ["GroupedQueryAttention", "GroupQueryAttention"]


@register
class GroupedQueryAttention(MultiHeadAttention):
    """Attention with ``num_query_heads`` query heads sharing ``num_key_value_heads``
    key/value heads (``num_key_value_heads=1``: multi-query attention; equal: multi-head).

    Args:
        head_dim: size of every head.
        num_query_heads: query heads; a multiple of ``num_key_value_heads``.
        num_key_value_heads: key and value heads.
        dropout: dropout on the attention weights (training only).
        use_bias: biases on the projections.
        sliding_window: None, or a positive int: query step i sees key steps j with
            ``|i - j| < sliding_window`` (with ``use_causal_mask``, the causal band of
            Mistral and Llama 3).
        flash_attention: accepted for Keras's signature (a CPU composition of ops either
            way); True with ``dropout`` is refused, as Keras does.
        use_gate: gate the heads' outputs with ``sigmoid(query · gate)`` (Gated Attention).
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer, seed:
            as for ``MultiHeadAttention``.

    Call: ``layer(query, value, key=None, attention_mask=None,
    return_attention_scores=False, training=False, use_causal_mask=False)``; masks from
    ``Embedding(mask_zero=True)`` or ``Masking`` apply as for ``MultiHeadAttention``.

    Shapes: query (B, T, d), value and key (B, S, ·) → (B, T, d); scores
    (B, num_query_heads, T, S). Weights (Keras's order and layout): ``query/kernel``
    (d, num_query_heads, head_dim), ``query/bias``, ``key/kernel`` (dk, num_key_value_heads,
    head_dim), ``key/bias``, [``gate/kernel``, ``gate/bias``], ``value/kernel``,
    ``value/bias``, ``attention_output/kernel`` (num_query_heads, head_dim, d),
    ``attention_output/bias`` (d,).

    Example:
        >>> gqa = GroupedQueryAttention(head_dim=4, num_query_heads=4, num_key_value_heads=2)
        >>> gqa(np.ones((1, 3, 8), "float32"), np.ones((1, 5, 8), "float32")).shape
        (1, 3, 8)
    """

    def __init__(self, head_dim: int, num_query_heads: int, num_key_value_heads: int,
                 dropout: float = 0.0, use_bias: bool = True, sliding_window: int | None = None,
                 flash_attention: bool | None = None, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None,
                 use_gate: bool = False, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(num_heads=num_query_heads, key_dim=head_dim, value_dim=head_dim,
                         dropout=dropout, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
                         seed=seed, **kwargs)
        # Keras's GroupQueryAttention penalises its own outputs too (the attention scores
        # included, where returned), besides the four projections MultiHeadAttention does
        self.activity_regularizer = self.projection_activity
        kv = num_key_value_heads
        if isinstance(kv, bool) or not isinstance(kv, (int, np.integer)) or kv <= 0 \
                or self.num_heads % kv:
            raise ValueError(f"Layer '{self.name}': num_query_heads must be a multiple of "
                             f"num_key_value_heads, a positive int. Received: num_query_heads="
                             f"{num_query_heads}, num_key_value_heads={kv!r}")
        self.num_key_value_heads = int(kv)
        if sliding_window is not None and (isinstance(sliding_window, bool) or not isinstance(
                sliding_window, (int, np.integer)) or sliding_window <= 0):
            raise ValueError(f"Layer '{self.name}': sliding_window must be None or a positive "
                             f"int. Received: sliding_window={sliding_window!r}")
        self.sliding_window = None if sliding_window is None else int(sliding_window)
        if flash_attention and self.dropout > 0:  # Keras refuses this pair too
            raise ValueError(f"Layer '{self.name}': dropout is not supported with flash "
                             f"attention. Received: dropout={dropout}, flash_attention=True")
        self.flash_attention = flash_attention
        self.use_gate = bool(use_gate)

    @property
    def head_dim(self) -> int:
        return self.key_dim

    @property
    def num_query_heads(self) -> int:
        return self.num_heads

    def build(self, input_shape: Any) -> None:
        q_shape, v_shape, k_shape = input_shape
        n, kv, hd, d = self.num_heads, self.num_key_value_heads, self.key_dim, q_shape[-1]
        self._query = self._proj("query", d, n, hd)  # Keras's order of creation
        self._key = self._proj("key", k_shape[-1], kv, hd)
        self._gate = self._proj("gate", d, n, hd) if self.use_gate else None
        self._value = self._proj("value", v_shape[-1], kv, hd)
        self._out_kernel = self.add_weight("attention_output/kernel", (n, hd, d),
                                           self.kernel_initializer, self.kernel_regularizer,
                                           constraint=self.kernel_constraint)
        self._out_bias = (self.add_weight("attention_output/bias", (d,), self.bias_initializer,
                                          self.bias_regularizer,
                                          constraint=self.bias_constraint)
                          if self.use_bias else None)
        self.built = True

    def _heads(self, x: Tensor) -> Tensor:
        r = self.num_heads // self.num_key_value_heads
        return repeat(x, r, axis=1) if r > 1 else x  # head u reads key/value head u // r

    def _gated(self, ctx: Tensor, q: Tensor) -> Tensor:
        if self._gate is None:
            return ctx
        return ops.mul(ctx, ops.sigmoid(self._project(q, self._gate)))

    def _shape_mask(self, t: int, s: int, causal: bool, like: Tensor) -> Any:
        mask = super()._shape_mask(t, s, causal, like)
        if self.sliding_window is None:
            return mask
        band = np.abs(np.arange(t)[:, None] - np.arange(s)[None, :]) < self.sliding_window
        band = _bool_mask(band[None], like)
        return band if mask is None else mask & band

    def compute_output_shape(self, query_shape: Any, value_shape: Any = None,
                             key_shape: Any = None) -> tuple[int | None, ...]:
        return tuple(query_shape)

    def get_config(self) -> dict[str, Any]:
        return {
            **Layer.get_config(self), "head_dim": self.key_dim,
            "num_query_heads": self.num_heads, "num_key_value_heads": self.num_key_value_heads,
            "use_bias": self.use_bias, "use_gate": self.use_gate,
            "sliding_window": self.sliding_window, "dropout": self.dropout,
            "flash_attention": self.flash_attention,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "seed": self.seed,
        }


GroupQueryAttention = GroupedQueryAttention  # the name Keras exports (and its files hold)
