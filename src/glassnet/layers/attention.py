"""Attention layers: ``Attention`` (Luong dot-product), ``AdditiveAttention`` (Bahdanau) and
``MultiHeadAttention`` (Vaswani et al.), with Keras 3's arguments, masks and weight layouts.

All three are compositions of differentiable ops (matmul, softmax, tanh, ...), so their
gradients come from the ops' backward passes; ``tests/test_attention.py`` checks forward
and gradients against PyTorch's ``scaled_dot_product_attention`` and
``nn.MultiheadAttention`` with the weights mapped.

Masks: a boolean ``True`` means "attend / keep". Masks attached to the inputs by
``Embedding(mask_zero=True)`` or ``Masking`` are used automatically, as in Keras.

Example:
    >>> x = np.random.rand(2, 5, 16).astype("float32")
    >>> MultiHeadAttention(num_heads=2, key_dim=8)(x, x).shape
    (2, 5, 16)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, cast, overload

import numpy as np

from .. import backend, constraints, functional, initializers, ops, regularizers
from ..tensor import Tensor
from ._masks import mask_op, step_weights
from ._masks import mask_view as _steps
from .activation_layers import masked_softmax
from .base import Layer, _is_symbolic, as_tensor_input, register
from .embedding import get_mask, set_mask

__all__ = ["Attention", "AdditiveAttention", "MultiHeadAttention"]


def _dropout(layer: _BaseDenseAttention | MultiHeadAttention, w: Tensor, rate: float,
             training: bool) -> Tensor:
    """Inverted dropout of attention weights (training only). The mask is drawn inside the
    op's forward (``functional.RandomScale``) from the layer's own generator, or the seeded
    global one, so a replayed training step draws afresh."""
    if not training or rate == 0.0:
        return w

    def draw(a: Any) -> Any:
        gen = layer._rng if layer._rng is not None else backend.rng()
        return functional.keep_mask(gen, a.shape, rate, a.dtype, backend.get_array_module(a))

    return functional.RandomScale(draw)(w)


def _causal(t: int, s: int) -> np.ndarray:
    """(1, T, S) lower-triangular boolean mask: query i sees keys j <= i."""
    return np.tril(np.ones((t, s), dtype=bool))[None]


def _bool_mask(m: Any, like: Tensor) -> Any:
    """A mask argument (array, Tensor or None) as a boolean array on ``like``'s device."""
    if m is None:
        return None
    a = m.data if isinstance(m, Tensor) else m
    xp = backend.get_array_module(like.data)
    return xp.asarray(backend.asnumpy(a) if xp is not np else np.asarray(a)).astype(bool)


def _mask_in(m: Any, like: Tensor) -> Tensor | None:
    """A mask argument as a boolean tensor on ``like``'s device, made by an op
    (``_masks.mask_op``): a replayed step converts each batch's."""
    if m is None:
        return None
    return mask_op(lambda a: _bool_mask(a, like), m)


def _and(a: Tensor | None, b: Tensor | None) -> Tensor | None:
    if a is None:
        return b
    if b is None:
        return a
    return mask_op(lambda x, y: x & y, a, b, rows=True)


def _with_causal(mask: Tensor | None, causal: Any) -> tuple[Any, bool]:
    """(the mask softmax reads, whether it is the causal mask alone: shapes only, static)."""
    if mask is None:
        return causal, causal is not None
    if causal is None:
        return mask, False
    return mask_op(lambda m: m & causal, mask), False


class _BaseDenseAttention(Layer):
    """``Attention`` and ``AdditiveAttention``: ``inputs=[query, value]`` or
    ``[query, value, key]`` (key defaults to value); ``mask=[query_mask, value_mask]``."""

    _scores: Callable[[Tensor, Tensor], Tensor]  # each subclass's scores of (query, key)

    supports_masking = True

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The query's mask (Keras 3): each output step answers one query step."""
        return mask[0] if isinstance(mask, (list, tuple)) else None

    def __init__(self, use_scale: bool, dropout: float = 0.0, seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.use_scale = bool(use_scale)
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"Layer '{self.name}': dropout must be in [0, 1). "
                             f"Received: dropout={dropout!r}")
        self.dropout = float(dropout)
        self.seed = None if seed is None else int(seed)
        self._rng = None if seed is None else np.random.default_rng(self.seed)

    def _split(self, inputs: Any) -> tuple[Tensor, Tensor, Tensor]:
        if not isinstance(inputs, (list, tuple)) or len(inputs) not in (2, 3):
            raise ValueError(f"Layer '{self.name}': inputs must be a list [query, value] or "
                             f"[query, value, key]. Received: {type(inputs).__name__}"
                             + (f" of length {len(inputs)}"
                                if isinstance(inputs, (list, tuple)) else ""))
        q, v = inputs[0], inputs[1]
        k = inputs[2] if len(inputs) == 3 else v
        for n, t in (("query", q), ("value", v), ("key", k)):
            if t.ndim != 3:
                raise ValueError(f"Layer '{self.name}': {n} must have shape (batch, steps, "
                                 f"dim). Received: {n} shape {tuple(t.shape)}")
        if v.shape[1] != k.shape[1]:
            raise ValueError(f"Layer '{self.name}': value and key must have the same number "
                             f"of steps. Received: value shape {tuple(v.shape)}, key shape "
                             f"{tuple(k.shape)}")
        if q.shape[-1] != k.shape[-1]:
            raise ValueError(f"Layer '{self.name}': query and key must have the same last "
                             f"dimension. Received: query shape {tuple(q.shape)}, key shape "
                             f"{tuple(k.shape)}")
        return q, v, k

    def __call__(self, inputs: Any,  # type: ignore[override]  # Keras's (inputs, mask, ...)
                 mask: Any = None, training: bool | None = None,
                 return_attention_scores: bool = False, use_causal_mask: bool = False) -> Any:
        if _is_symbolic(inputs):
            if mask is not None:
                raise TypeError(f"Layer '{self.name}': in the functional API the masks come "
                                "from the inputs (Embedding(mask_zero=True), Masking); "
                                "received an explicit mask")
            kw = {k: True for k, v in (("return_attention_scores", return_attention_scores),
                                       ("use_causal_mask", use_causal_mask)) if v}
            return super().__call__(inputs, training=training, **kw)
        training = bool(training)
        if not isinstance(inputs, (list, tuple)):
            self._split(inputs)  # raises the message about the expected list
        inputs = [as_tensor_input(t, self.name) for t in inputs]
        masks = list(mask) if mask is not None else [get_mask(inputs[0]), get_mask(inputs[1])]
        return super().__call__(inputs, training=training, mask=masks,
                                return_attention_scores=return_attention_scores,
                                use_causal_mask=use_causal_mask)

    def call(self, inputs: Sequence[Tensor], training: bool = False, mask: Any = None,
             return_attention_scores: bool = False, use_causal_mask: bool = False) -> Any:
        q, v, k = self._split(inputs)
        q_mask = _mask_in(mask[0] if mask else None, q)
        v_mask = _mask_in(mask[1] if mask else None, q)
        scores = self._scores(q, k)
        smask = None if v_mask is None else mask_op(_steps(np.s_[:, None, :]), v_mask)
        causal = _bool_mask(_causal(q.shape[1], k.shape[1]), q) if use_causal_mask else None
        smask, static = _with_causal(smask, causal)
        weights = masked_softmax(scores, smask, axis=-1, subtract=True, static=static)
        y = ops.matmul(_dropout(self, weights, self.dropout, training), v)
        if q_mask is not None:
            y = ops.mul(y, step_weights(q_mask, y.dtype))
            set_mask(y, q_mask.data)
        return (y, weights) if return_attention_scores else y

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        return tuple(input_shape[0][:-1]) + (input_shape[1][-1],)


@register
class Attention(_BaseDenseAttention):
    """Dot-product (Luong-style) attention: ``softmax(q·kᵀ)·v``.

    Args:
        use_scale: learn a scalar ``scale`` multiplying the scores (initialised to 1).
        score_mode: ``"dot"`` (q·kᵀ) or ``"concat"`` (``Σ tanh(scale·(q + k))`` times a
            learned scalar ``concat_score_weight``).
        dropout: dropout rate on the attention weights (training only).
        seed: optional seed of a layer-private generator for the dropout.

    Call: ``layer([query, value])`` or ``layer([query, value, key])``; optional
    ``mask=[query_mask, value_mask]`` (booleans (B, Tq), (B, Tv)), ``use_causal_mask``,
    ``return_attention_scores`` (then returns ``(output, weights)``).

    Shapes: query (B, Tq, dim), value/key (B, Tv, dim) → (B, Tq, dim); weights (B, Tq, Tv).

    Example:
        >>> q, v = np.ones((2, 3, 4), "float32"), np.ones((2, 5, 4), "float32")
        >>> Attention()([q, v]).shape
        (2, 3, 4)
    """

    def __init__(self, use_scale: bool = False, score_mode: str = "dot",
                 dropout: float = 0.0, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(use_scale=use_scale, dropout=dropout, seed=seed, **kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError(f"Layer '{self.name}': score_mode must be 'dot' or 'concat'. "
                             f"Received: score_mode={score_mode!r}")
        self.score_mode = score_mode

    def build(self, input_shape: Any) -> None:
        self.scale = self.add_weight("scale", (), "ones") if self.use_scale else None
        self.concat_score_weight = (self.add_weight("concat_score_weight", (), "ones")
                                    if self.score_mode == "concat" else None)
        self.built = True

    def _scores(self, q: Tensor, k: Tensor) -> Tensor:
        if self.score_mode == "dot":
            s = ops.matmul(q, ops.swapaxes(k, -2, -1))
            return ops.mul(s, self.scale) if self.scale is not None else s
        z = ops.add(ops.expand_dims(q, -2), ops.expand_dims(k, -3))  # (B, Tq, Tv, dim)
        if self.scale is not None:
            z = ops.mul(self.scale, z)
        w = cast(Tensor, self.concat_score_weight)  # built for score_mode='concat'
        return ops.mul(w, ops.sum(ops.tanh(z), axis=-1))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "use_scale": self.use_scale,
                "score_mode": self.score_mode, "dropout": self.dropout, "seed": self.seed}


@register
class AdditiveAttention(_BaseDenseAttention):
    """Additive (Bahdanau-style) attention: scores ``Σ scale · tanh(q + k)`` over features.

    Args:
        use_scale: learn a per-feature ``scale`` vector (dim,) (glorot_uniform), else 1.
        dropout, seed: as in ``Attention``.

    Call and shapes as ``Attention``.

    Example:
        >>> q = np.ones((2, 3, 4), "float32")
        >>> AdditiveAttention()([q, q]).shape
        (2, 3, 4)
    """

    def __init__(self, use_scale: bool = True, dropout: float = 0.0,
                 seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(use_scale=use_scale, dropout=dropout, seed=seed, **kwargs)

    def build(self, input_shape: Any) -> None:
        dim = input_shape[0][-1]
        self.scale = (self.add_weight("scale", (dim,), "glorot_uniform")
                      if self.use_scale else None)
        self.built = True

    def _scores(self, q: Tensor, k: Tensor) -> Tensor:
        t = ops.tanh(ops.add(ops.expand_dims(q, -2), ops.expand_dims(k, -3)))
        if self.scale is not None:
            t = ops.mul(self.scale, t)
        return ops.sum(t, axis=-1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "use_scale": self.use_scale,
                "dropout": self.dropout, "seed": self.seed}


@overload
def _positive(layer: str, arg: str, v: Any, allow_none: Literal[False] = False) -> int: ...
@overload
def _positive(layer: str, arg: str, v: Any, allow_none: bool) -> int | None: ...
def _positive(layer: str, arg: str, v: Any, allow_none: bool = False) -> int | None:
    if allow_none and v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
        raise ValueError(f"Layer '{layer}': {arg} must be a positive integer. "
                         f"Received: {arg}={v!r}")
    return int(v)


@register
class MultiHeadAttention(Layer):
    """Multi-head attention (Vaswani et al. 2017), Keras 3's layer and weight layout.

    Each head projects query, key and value (``key_dim``, ``key_dim``, ``value_dim``
    features), attends with ``softmax(q·kᵀ / sqrt(key_dim))``, and the heads' outputs are
    projected back to the query's feature size (or ``output_shape``).

    Args:
        num_heads: number of heads.
        key_dim: size of each head for query and key.
        value_dim: size of each head for value (default ``key_dim``).
        dropout: dropout on the attention weights (training only).
        use_bias: biases on the four projections.
        output_shape: last-axis size of the output (default: the query's).
        attention_axes: only ``None`` / ``(1,)`` (attention over the steps axis).
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer.
        seed: optional seed of a layer-private generator for the dropout.

    Call: ``layer(query, value, key=None, attention_mask=None,
    return_attention_scores=False, training=False, use_causal_mask=False)``;
    ``attention_mask`` is boolean (B, T, S), True = attend. In the functional API:
    ``layer(query, value)`` or ``layer(query, value, key)`` on symbolic inputs.

    Shapes: query (B, T, dq), value (B, S, dv), key (B, S, dk) → (B, T, dq); scores
    (B, num_heads, T, S). Weights (Keras order and layout): ``query/kernel``
    (dq, heads, key_dim), ``query/bias`` (heads, key_dim), ``key/kernel``, ``key/bias``,
    ``value/kernel`` (dv, heads, value_dim), ``value/bias``, ``attention_output/kernel``
    (heads, value_dim, out), ``attention_output/bias`` (out,).

    Example:
        >>> mha = MultiHeadAttention(num_heads=2, key_dim=4)
        >>> y, w = mha(np.ones((1, 3, 8), "float32"), np.ones((1, 5, 8), "float32"),
        ...            return_attention_scores=True); y.shape, w.shape
        ((1, 3, 8), (1, 2, 3, 5))
    """

    supports_masking = True

    def __init__(self, num_heads: int, key_dim: int, value_dim: int | None = None,
                 dropout: float = 0.0, use_bias: bool = True, output_shape: Any = None,
                 attention_axes: Any = None, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None,
                 seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.num_heads = _positive(self.name, "num_heads", num_heads)
        self.key_dim = _positive(self.name, "key_dim", key_dim)
        self.value_dim = _positive(self.name, "value_dim", value_dim, allow_none=True)
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"Layer '{self.name}': dropout must be in [0, 1). "
                             f"Received: dropout={dropout!r}")
        self.dropout = float(dropout)
        self.use_bias = bool(use_bias)
        if isinstance(output_shape, (list, tuple)):
            if len(output_shape) != 1:
                raise ValueError(f"Layer '{self.name}': output_shape must be one size. "
                                 f"Received: output_shape={output_shape!r}")
            output_shape = output_shape[0]
        self.output_shape_arg = _positive(self.name, "output_shape", output_shape,
                                          allow_none=True)
        if attention_axes not in (None, 1, (1,), [1]):
            raise ValueError(f"Layer '{self.name}': only attention over axis 1 is supported. "
                             f"Received: attention_axes={attention_axes!r}")
        # as Keras: a penalty on each projection's output (query, key, value, output), not
        # on the layer's outputs (the attention scores go free)
        self.projection_activity = regularizers.get(activity_regularizer)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.seed = None if seed is None else int(seed)
        self._rng = None if seed is None else np.random.default_rng(self.seed)

    # ------------------------------------------------------------ weights
    def _proj(self, name: str, d_in: int, heads: int, size: int) -> tuple[Tensor, Tensor | None]:
        k = self.add_weight(f"{name}/kernel", (d_in, heads, size), self.kernel_initializer,
                            self.kernel_regularizer, constraint=self.kernel_constraint)
        b = (self.add_weight(f"{name}/bias", (heads, size), self.bias_initializer,
                             self.bias_regularizer, constraint=self.bias_constraint)
             if self.use_bias else None)
        return k, b

    def build(self, input_shape: Any) -> None:
        q_shape, v_shape, k_shape = input_shape
        n, kd = self.num_heads, self.key_dim
        vd = self.value_dim or kd
        out = self.output_shape_arg or q_shape[-1]
        self._query = self._proj("query", q_shape[-1], n, kd)
        self._key = self._proj("key", k_shape[-1], n, kd)
        self._value = self._proj("value", v_shape[-1], n, vd)
        self._out_kernel = self.add_weight("attention_output/kernel", (n, vd, out),
                                           self.kernel_initializer, self.kernel_regularizer,
                                           constraint=self.kernel_constraint)
        self._out_bias = (self.add_weight("attention_output/bias", (out,),
                                          self.bias_initializer, self.bias_regularizer,
                                          constraint=self.bias_constraint)
                          if self.use_bias else None)
        self.built = True

    # ------------------------------------------------------------ call
    def __call__(self, query: Any,  # type: ignore[override]  # Keras's (query, value, ...)
                 value: Any = None, key: Any = None, query_mask: Any = None,
                 value_mask: Any = None, key_mask: Any = None, attention_mask: Any = None,
                 return_attention_scores: bool = False, training: bool | None = None,
                 use_causal_mask: bool = False, _layout: str | None = None) -> Any:
        if isinstance(query, (list, tuple)) and value is None:  # a functional replay
            items = dict(zip(_layout or "qvk", query))  # q, v, then key / attention_mask
            query, value = items.get("q"), items.get("v")
            key, attention_mask = items.get("k", key), items.get("m", attention_mask)
        if value is None:
            raise TypeError(f"Layer '{self.name}': call with (query, value). "
                            "Received: no value")
        parts = [query, value] + ([key] if key is not None else [])
        if _is_symbolic(parts + ([attention_mask] if attention_mask is not None else [])):
            given = sorted(k for k, v in (("query_mask", query_mask), ("value_mask", value_mask),
                                          ("key_mask", key_mask)) if v is not None)
            if given:
                raise TypeError(f"Layer '{self.name}': in the functional API the masks come "
                                f"from the inputs. Received: {given}")
            layout = "qv" + ("k" if key is not None else "")
            if attention_mask is not None:  # a symbolic (B, T, S) input joins the call
                parts.append(attention_mask)
                layout += "m"
            kw: dict[str, object] = {
                k: True for k, v in (("return_attention_scores", return_attention_scores),
                                     ("use_causal_mask", use_causal_mask)) if v}
            if layout not in ("qv", "qvk"):
                kw["_layout"] = layout
            return super().__call__(parts, training=training, **kw)
        training = bool(training)
        t = [as_tensor_input(p, self.name) for p in parts]
        q, v = t[0], t[1]
        k = t[2] if len(t) == 3 else v
        masks = (query_mask if query_mask is not None else get_mask(q),
                 value_mask if value_mask is not None else get_mask(v),
                 None if len(t) == 2 or key is value else
                 (key_mask if key_mask is not None else get_mask(k)))
        return super().__call__([q, v, k], training=training, masks=masks,
                                attention_mask=attention_mask,
                                return_attention_scores=return_attention_scores,
                                use_causal_mask=use_causal_mask)

    def _check(self, q: Tensor, v: Tensor, k: Tensor) -> None:
        for n, x in (("query", q), ("value", v), ("key", k)):
            if x.ndim != 3:
                raise ValueError(f"Layer '{self.name}': {n} must have shape (batch, steps, "
                                 f"features). Received: {n} shape {tuple(x.shape)}")
        if v.shape[1] != k.shape[1] or q.shape[0] != v.shape[0] or v.shape[0] != k.shape[0]:
            raise ValueError(f"Layer '{self.name}': value and key need the same steps and all "
                             f"three the same batch. Received: query {tuple(q.shape)}, value "
                             f"{tuple(v.shape)}, key {tuple(k.shape)}")
        for n, x, w in (("query", q, self._query[0]), ("value", v, self._value[0]),
                        ("key", k, self._key[0])):
            if x.shape[-1] != w.shape[0]:
                raise ValueError(f"Layer '{self.name}': built for {n} with {w.shape[0]} "
                                 f"features. Received: {n} shape {tuple(x.shape)}")

    def _shape_mask(self, t: int, s: int, causal: bool, like: Tensor) -> Any:
        """The (1, T, S) mask the shapes alone give (causal here), or None."""
        return _bool_mask(_causal(t, s), like) if causal else None

    def _heads(self, x: Tensor) -> Tensor:
        """Key or value heads (B, heads, S, size) as the query heads use them."""
        return x

    def _gated(self, ctx: Tensor, q: Tensor) -> Tensor:
        """The heads' outputs (B, heads, T, size) before the output projection."""
        return ctx

    def _project(self, x: Tensor, proj: tuple[Tensor, Tensor | None]) -> Tensor:
        """(B, L, d) → (B, heads, L, size) through a (d, heads, size) kernel."""
        kernel, bias = proj
        d, h, s = kernel.shape
        y = functional.linear(x, ops.reshape(kernel, (d, h * s)),
                              None if bias is None else ops.reshape(bias, (h * s,)))
        return ops.transpose(ops.reshape(y, (x.shape[0], x.shape[1], h, s)), (0, 2, 1, 3))

    def call(self, inputs: Sequence[Tensor], training: bool = False,
             masks: Sequence[Any] = (None, None, None), attention_mask: Any = None,
             return_attention_scores: bool = False, use_causal_mask: bool = False) -> Any:
        q, v, k = inputs
        self._check(q, v, k)
        b, t, s = q.shape[0], q.shape[1], v.shape[1]
        # the masks through ops (a replayed step reads each batch's), combined as one
        # (B, T, S) mask: queries, values, keys, the attention mask, the causal one
        qm, vm, km = (_mask_in(m, q) for m in masks)
        mask = None if qm is None else mask_op(_steps(np.s_[:, :, None]), qm)
        mask = _and(mask, None if vm is None else mask_op(_steps(np.s_[:, None, :]), vm))
        mask = _and(mask, None if km is None else mask_op(_steps(np.s_[:, None, :]), km))
        am = _mask_in(attention_mask, q)
        if am is not None:
            if am.ndim == 2:
                am = mask_op(_steps(None), am)
            # Keras broadcasts it: (batch, 1, S) masks keys for every query
            if am.ndim != 3 or any(a not in (1, d) for a, d in zip(am.shape, (b, t, s))):
                raise ValueError(f"Layer '{self.name}': attention_mask must have shape "
                                 f"(batch, {t}, {s}) or one that broadcasts to it. "
                                 f"Received: {tuple(am.shape)}")
            mask = _and(am, mask)
        mask, static = _with_causal(mask, self._shape_mask(t, s, use_causal_mask, q))
        qh = qh_raw = self._project(q, self._query)  # (B, N, T, kd)
        kp, vp = self._project(k, self._key), self._project(v, self._value)
        kh, vh = self._heads(kp), self._heads(vp)  # (B, N, S, kd), (B, N, S, vd)
        qh = ops.mul(qh, q.dtype.type(1.0 / np.sqrt(self.key_dim)))
        scores = ops.matmul(qh, ops.swapaxes(kh, -1, -2))  # (B, N, T, S)
        if mask is not None:  # one mask for every head
            mask = mask[:, None] if static else mask_op(_steps(np.s_[:, None]), mask)
        weights = masked_softmax(scores, mask, axis=-1, static=static)
        ctx = ops.matmul(_dropout(self, weights, self.dropout, training), vh)  # (B,N,T,vd)
        ctx = self._gated(ctx, q)
        n, vd, out = self._out_kernel.shape
        ctx = ops.reshape(ops.transpose(ctx, (0, 2, 1, 3)), (b, t, n * vd))
        y = functional.linear(ctx, ops.reshape(self._out_kernel, (n * vd, out)),
                              self._out_bias)
        if self.projection_activity is not None:
            self._penalize_activity([qh_raw, kp, vp, y], self.projection_activity)
        if qm is not None:
            set_mask(y, qm.data)
        return (y, weights) if return_attention_scores else y

    def compute_output_shape(self, query_shape: Any, value_shape: Any = None,
                             key_shape: Any = None) -> tuple[int | None, ...]:
        out = self.output_shape_arg or query_shape[-1]
        return tuple(query_shape[:-1]) + (out,)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim,
            "value_dim": self.value_dim, "dropout": self.dropout, "use_bias": self.use_bias,
            "output_shape": self.output_shape_arg,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.projection_activity),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "seed": self.seed,
        }
