"""Keras 3's ``ops`` for attention and normalization written by hand in model code:
``dot_product_attention`` (multi-head, grouped-query and multi-query), ``layer_normalization``
and ``batch_normalization``. Compositions of differentiable ops (their gradients are the
ops' own); part of :mod:`glassnet.keras_ops`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import backend
from . import ops as P
from ._keras_ops_array import repeat
from .tensor import Tensor, as_tensor

if TYPE_CHECKING:
    from ._typing import TensorLike

__all__ = ["dot_product_attention", "layer_normalization", "batch_normalization"]


def _arr(a: Any) -> Any:
    return a.data if isinstance(a, Tensor) else a


def dot_product_attention(query: TensorLike, key: TensorLike, value: TensorLike,
                          bias: TensorLike | None = None, mask: Any = None,
                          scale: float | None = None, is_causal: bool = False,
                          flash_attention: bool | None = None,
                          attn_logits_soft_cap: float | None = None) -> Tensor:
    """``softmax(q·kᵀ·scale + bias, where mask) · v`` per head (Keras 3's op).

    Shapes: query (B, T, N, H); key and value (B, S, K, H) with N a multiple of K (K = N:
    multi-head; K = 1: multi-query; else grouped-query, each key/value head serving N/K
    query heads); ``bias`` and ``mask`` (True = attend) broadcast to (B, N, T, S). Returns
    (B, T, N, H). ``scale`` defaults to 1/√H; ``is_causal`` lets query step t attend to
    key steps <= t. ``flash_attention`` is accepted for Keras's signature (a CPU
    composition of ops either way); ``attn_logits_soft_cap`` caps the logits with
    ``cap·tanh(logits/cap)``.

    Example:
        >>> q = np.ones((1, 2, 2, 4), "float32")
        >>> dot_product_attention(q, q, q).shape
        (1, 2, 2, 4)
    """
    from .layers.activation_layers import masked_softmax

    if bias is not None and mask is not None:  # as Keras 3 (its PyTorch backend) refuses
        raise ValueError("dot_product_attention: only one of `bias` and `mask` can be "
                         "provided (an additive mask belongs in `bias`). Received both.")
    q, k, v = as_tensor(query), as_tensor(key), as_tensor(value)
    if q.ndim != 4 or k.ndim != 4 or v.ndim != 4 or k.shape != v.shape:
        raise ValueError("dot_product_attention: expected query (B, T, N, H) and key, value "
                         "(B, S, K, H) of one shape. Received: query "
                         f"{tuple(q.shape)}, key {tuple(k.shape)}, value {tuple(v.shape)}")
    n, kh = q.shape[2], k.shape[2]
    if n % kh or q.shape[3] != k.shape[3] or q.shape[0] != k.shape[0]:
        raise ValueError("dot_product_attention: query heads must be a multiple of key heads "
                         "and the batch and head sizes must agree. Received: query "
                         f"{tuple(q.shape)}, key {tuple(k.shape)}")
    if n != kh:  # grouped-query: each key/value head serves n // kh query heads
        k = repeat(k, n // kh, axis=2)
        v = repeat(v, n // kh, axis=2)
    qh = P.transpose(q, (0, 2, 1, 3))  # (B, N, T, H)
    kh_ = P.transpose(k, (0, 2, 3, 1))  # (B, N, H, S)
    vh = P.transpose(v, (0, 2, 1, 3))  # (B, N, S, H)
    s = float(1.0 / np.sqrt(q.shape[3])) if scale is None else float(scale)
    logits = P.mul(P.matmul(qh, kh_), q.dtype.type(s))
    if attn_logits_soft_cap is not None:
        cap = q.dtype.type(attn_logits_soft_cap)
        logits = P.mul(P.tanh(P.mul(logits, q.dtype.type(1.0 / cap))), cap)
    if bias is not None:
        logits = P.add(logits, bias)
    t, sk = q.shape[1], k.shape[1]
    xp = backend.get_array_module(q.data)
    keep = None if mask is None else xp.asarray(_arr(mask), dtype=bool)
    if is_causal:
        causal = xp.asarray(np.tril(np.ones((t, sk), dtype=bool)))
        keep = causal if keep is None else keep & causal
    probs = masked_softmax(logits, keep, axis=-1, static=mask is None)
    return P.transpose(P.matmul(probs, vh), (0, 2, 1, 3))


def _axes(axis: int | Sequence[int], nd: int) -> list[int]:
    return sorted(a % nd for a in ([axis] if isinstance(axis, int) else axis))


def _shaped(v: Any, axes: list[int], shape: tuple[int, ...]) -> Any:
    """A per-feature parameter reshaped to broadcast over ``shape`` along ``axes``."""
    if v is None:
        return None
    t = as_tensor(v)
    if t.ndim == len(shape) or axes == [len(shape) - 1]:
        return t
    return P.reshape(t, tuple(shape[i] if i in axes else 1 for i in range(len(shape))))


def layer_normalization(x: TensorLike, gamma: TensorLike | None = None,
                        beta: TensorLike | None = None, axis: int | Sequence[int] = -1,
                        epsilon: float | None = None, rms_scaling: bool = False) -> Tensor:
    """Normalize each sample over ``axis``: ``(x − mean)/√(var + ε)·gamma + beta`` (Keras
    3's op; ``rms_scaling``: ``x/√(var + ε)·gamma``, no centring).

    Example:
        >>> layer_normalization(np.array([[1.0, 3.0]], "float32")).data.round(3)
        array([[-1.,  1.]], dtype=float32)
    """
    t = as_tensor(x)
    axes = _axes(axis, t.ndim)
    eps = t.dtype.type(1e-7 if epsilon is None else epsilon)
    ax = tuple(axes)
    mean = P.mean(t, axis=ax, keepdims=True)
    d = P.sub(t, mean)
    var = P.mean(P.mul(d, d), axis=ax, keepdims=True)
    inv = P.div(1.0, P.sqrt(P.add(var, eps)))
    y = P.mul(t if rms_scaling else d, inv)
    g, b = _shaped(gamma, axes, tuple(t.shape)), _shaped(beta, axes, tuple(t.shape))
    if g is not None:
        y = P.mul(y, g)
    if b is not None and not rms_scaling:
        y = P.add(y, b)
    return y


def batch_normalization(x: TensorLike, mean: TensorLike, variance: TensorLike, axis: int,
                        offset: TensorLike | None = None, scale: TensorLike | None = None,
                        epsilon: float = 1e-3) -> Tensor:
    """``(x − mean)/√(variance + ε)·scale + offset`` with per-feature statistics along
    ``axis`` (Keras 3's op; the statistics are given, not computed).

    Example:
        >>> batch_normalization(np.array([[2.0, 4.0]], "float32"), [1.0, 2.0], [1.0, 4.0],
        ...                     axis=-1, epsilon=0.0).data
        array([[1., 1.]], dtype=float32)
    """
    t = as_tensor(x)
    axes = _axes(axis, t.ndim)
    shape = tuple(t.shape)
    y = P.sub(t, _shaped(as_tensor(np.asarray(_arr(mean), t.dtype))
                         if not isinstance(mean, Tensor) else mean, axes, shape))
    var = (variance if isinstance(variance, Tensor)
           else as_tensor(np.asarray(_arr(variance), t.dtype)))
    y = P.div(y, P.sqrt(P.add(_shaped(var, axes, shape), t.dtype.type(epsilon))))
    if scale is not None:
        y = P.mul(y, _shaped(scale, axes, shape))
    if offset is not None:
        y = P.add(y, _shaped(offset, axes, shape))
    return y
