"""What every loss does with its arguments before and after its formula: ``y_true``
checked and shaped against ``y_pred`` (integer labels range-checked; a ``y_true`` that
records gradients kept as a tensor), sample weights and a padded sequence's mask made into
per-value weights, and the weighted per-value losses reduced as the loss's ``reduction``
says (Keras 3's semantics). Part of :mod:`glassnet.losses`, which imports every name here.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from . import ops
from .backend import get_array_module
from .tensor import Tensor, as_tensor

if TYPE_CHECKING:
    from ._typing import TensorLike


def _pred(y_pred: TensorLike) -> Tensor:
    return y_pred if isinstance(y_pred, Tensor) else as_tensor(y_pred)


def _true(y_true: TensorLike, y_pred: Tensor, name: str, sparse: bool = False) -> Any:
    """y_true as a raw array on y_pred's device, reshaped to y_pred's shape where Keras would."""
    d = y_true.data if isinstance(y_true, Tensor) else y_true
    p = y_pred.data
    if type(d) is not np.ndarray or type(p) is not np.ndarray:
        d = get_array_module(p).asarray(d)
    ps = p.shape  # a tuple
    if sparse:
        if d.ndim == len(ps) and d.ndim > 0 and d.shape[-1] == 1:
            d = d.reshape(d.shape[:-1])
        if d.shape != ps[:-1]:
            raise ValueError(
                f"{name}: y_true must hold one integer label per sample, shape {ps[:-1]} "
                f"for y_pred of shape {ps}. Received: y_true shape {d.shape}"
            )
        return d
    if d.shape != tuple(ps):
        # (N,) against (N, 1) and the reverse are the same targets (as Keras)
        if d.size == math.prod(ps) and (
            d.shape + (1,) == tuple(ps) or d.shape == tuple(ps) + (1,)
        ):
            d = d.reshape(ps)
        else:
            raise ValueError(
                f"{name}: y_true and y_pred shapes do not match. "
                f"Received: y_true shape {d.shape}, y_pred shape {tuple(ps)}"
            )
    if d.dtype != y_pred.data.dtype:
        d = d.astype(y_pred.data.dtype)
    return d


def _target(y_true: TensorLike, y_pred: Tensor, name: str) -> Tensor:
    """y_true as a tensor for a loss's composition, checked and shaped as :func:`_true`
    does: the tensor itself (reshaped, cast) where it records gradients — a teacher's
    predictions in knowledge distillation, the other branch of a two-tower model: Keras
    differentiates a loss in both arguments — else the checked array as a constant."""
    t = _true(y_true, y_pred, name)
    if isinstance(y_true, Tensor) and y_true.requires_grad:
        g = y_true if tuple(y_true.shape) == tuple(t.shape) else ops.reshape(y_true, t.shape)
        return g if g.data.dtype == t.dtype else ops.cast(g, t.dtype)
    return Tensor._make(t)


def _grad_target(y_true: Any) -> bool:
    """Whether y_true records gradients: the loss then runs its composition (the fused
    nodes treat targets as constants)."""
    return isinstance(y_true, Tensor) and y_true.requires_grad


def _sparse_labels(y_true: TensorLike, y_pred: Tensor, name: str) -> Any:
    """Integer class labels (one per prediction row) as int64 on y_pred's device, checked:
    whole numbers in [0, classes), else a ValueError naming the loss."""
    t = _true(y_true, y_pred, name, sparse=True)
    c = y_pred.data.shape[-1]
    if t.dtype.kind == "f":
        if t.size and not bool((t == get_array_module(t).round(t)).all()):
            raise ValueError(f"{name}: labels must be integers in [0, {c}). "
                             "Received: non-integer values")
    t = t.astype(np.int64, copy=False)
    # on the CPU one pass clears the common case: seen as unsigned, a negative label is
    # larger than any class (argmax, not a max reduction: half the cost on a small batch)
    if t.size and not (type(t) is np.ndarray
                       and (u := t.view(np.uint64)).flat[u.argmax()] < c):
        lo, hi = int(t.min()), int(t.max())
        if lo < 0 or hi >= c:
            bad = lo if lo < 0 else hi
            raise ValueError(f"{name}: labels must be in [0, {c}) for y_pred with {c} "
                             f"classes. Received: label {bad}")
    return t


_REDUCTIONS = ("sum_over_batch_size", "mean", "sum", "none", "mean_with_sample_weight")
_MEAN = ("sum_over_batch_size", "mean")


def _mask_weights(sample_weight: Any, mask: Any, shape: tuple[int, ...], reduction: str,
                  name: str, dtype: Any = np.float32) -> Any:
    """Sample weights with a (batch, steps) mask merged in, as Keras 3's ``apply_mask``:
    a masked value weighs 0; for a mean, each kept one weighs ``total / kept`` so that the
    mean runs over the kept values only (and is 0 where none is kept). Per-sample weights
    (batch,) spread over the steps. ``shape`` is the per-value losses' shape. The metrics
    use it too (reduction "sum": the mask as 0/1 weights, in float64).

    Example:
        >>> _mask_weights(None, np.array([[True, False]]), (1, 2), "sum_over_batch_size", "l")
        array([[2., 0.]], dtype=float32)
    """
    xp = get_array_module(mask)
    m = xp.asarray(mask.data if isinstance(mask, Tensor) else mask).astype(bool)
    if m.shape != tuple(shape) and shape:  # () : a loss that averaged itself, see _reduce
        if m.size == math.prod(shape):  # a trailing axis of 1 on either side
            m = m.reshape(shape)
        else:
            raise ValueError(f"{name}: the predictions' mask must have the losses' shape "
                             f"{tuple(shape)}. Received: mask shape {m.shape}")
    w = m.astype(dtype)
    if reduction in _MEAN:
        kept = int(m.sum())
        w *= w.dtype.type(m.size / kept if kept else 0)
    if sample_weight is None:
        return w
    sw = xp.asarray(sample_weight.data if isinstance(sample_weight, Tensor) else sample_weight,
                    dtype=dtype)
    if sw.shape != w.shape:
        if sw.size == w.shape[0]:  # one weight per sample, on each of its steps
            sw = sw.reshape((w.shape[0],) + (1,) * (w.ndim - 1))
        elif sw.size == w.size:
            sw = sw.reshape(w.shape)
        else:
            raise ValueError(f"{name}: sample_weight must have one entry per sample "
                             f"({w.shape[0]}) or per step {w.shape}. Received: "
                             f"sample_weight shape {sw.shape}")
    return w * sw


def _reduce(per: Tensor, sample_weight: TensorLike | None, name: str,
            reduction: str = "sum_over_batch_size") -> Tensor:
    """Weight per-sample losses, then sum / divide by N / keep them, as ``reduction`` says."""
    if sample_weight is None:
        if reduction == "none" or not per.ndim:
            return per
        return ops.sum(per) if reduction == "sum" else ops.mean(per)
    xp = get_array_module(per.data)
    sw = sample_weight.data if isinstance(sample_weight, Tensor) else sample_weight
    sw = xp.asarray(sw, dtype=per.data.dtype)
    if not per.ndim and sw.ndim:  # a loss that reduced itself (a function returning a
        # mean): Keras broadcasts it against the weights, so a mean reduction scales it by
        # their mean (by 1 for a mask's weights alone)
        per = per * Tensor._make(xp.ones(sw.shape, dtype=per.data.dtype))
    n = per.shape[0] if per.ndim else 1
    if sw.size != n and sw.shape != per.shape:
        raise ValueError(
            f"{name}: sample_weight must have one entry per sample ({n}). "
            f"Received: sample_weight shape {sw.shape}"
        )
    if sw.size == n and per.ndim > 1 and sw.shape != per.shape:
        # one weight per sample on each of its values (an image's per-pixel losses)
        sw = sw.reshape((n,) + (1,) * (per.ndim - 1))
    else:
        sw = sw.reshape(per.shape)
    weighted = per * Tensor._make(sw)
    if reduction == "none":
        return weighted
    if reduction == "sum":
        return ops.sum(weighted)
    if reduction == "mean_with_sample_weight":  # Σ w·loss / Σ w (0 where Σ w = 0)
        total = float(xp.broadcast_to(sw, per.shape).sum()) if per.ndim else float(sw.sum())
        return ops.sum(weighted) / total if total else ops.sum(weighted) * 0.0
    # Keras's sum_over_batch_size: over every value the loss keeps (N, or N·T for a
    # sequence's per-step losses with per-step weights), as without weights
    return ops.sum(weighted) / float(max(math.prod(per.shape), 1))


def _sw_array(sample_weight: TensorLike | None, y_pred: Tensor, name: str) -> Any:
    """Per-sample weights as a flat array on y_pred's device (None stays None)."""
    if sample_weight is None:
        return None
    xp = get_array_module(y_pred.data)
    sw = sample_weight.data if isinstance(sample_weight, Tensor) else sample_weight
    sw = xp.asarray(sw, dtype=y_pred.data.dtype).reshape(-1)
    n = y_pred.shape[0] if y_pred.ndim else 1
    if sw.shape[0] != n:
        raise ValueError(
            f"{name}: sample_weight must have one entry per sample ({n}). "
            f"Received: sample_weight shape {sw.shape}"
        )
    return sw


def _row_weights(sample_weight: TensorLike | None, y_pred: Tensor, name: str) -> Any:
    """Weights for the cross-entropy nodes: :func:`_sw_array` for predictions (N, C); for
    (N, ..., C), one weight per averaged value (a row of the last axis), flat — given per
    value, or per sample and spread over its values (as ``_reduce`` spreads them)."""
    if sample_weight is None:
        return None
    if y_pred.ndim <= 2:
        return _sw_array(sample_weight, y_pred, name)
    sw = sample_weight.data if isinstance(sample_weight, Tensor) else sample_weight
    xp = get_array_module(y_pred.data)
    sw = xp.asarray(sw, dtype=y_pred.data.dtype).reshape(-1)
    rows = math.prod(y_pred.shape[:-1])
    if sw.size == rows:
        return sw
    if sw.size == y_pred.shape[0]:
        return xp.repeat(sw, rows // max(y_pred.shape[0], 1))
    raise ValueError(f"{name}: sample_weight must have one entry per sample "
                     f"({y_pred.shape[0]}) or per value {tuple(y_pred.shape[:-1])}. "
                     f"Received: sample_weight shape {tuple(sw.shape)}")


def _value_weights(sample_weight: TensorLike | None, y_pred: Tensor, name: str) -> Any:
    """:func:`_sw_array`, or for predictions of 3+ dimensions also one weight per value
    the loss averages (shape ``y_pred.shape[:-1]``, as :func:`_reduce` takes them)."""
    if sample_weight is not None and y_pred.ndim > 2:
        sw = sample_weight.data if isinstance(sample_weight, Tensor) else sample_weight
        sw = get_array_module(y_pred.data).asarray(sw, dtype=y_pred.data.dtype)
        if sw.size == math.prod(y_pred.shape[:-1]) and sw.size != y_pred.shape[0]:
            return sw.reshape(y_pred.shape[:-1])
    return _sw_array(sample_weight, y_pred, name)
