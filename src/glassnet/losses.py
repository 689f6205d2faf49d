"""Loss functions (Keras names and semantics).

A loss object is called as ``loss(y_true, y_pred, sample_weight=None)`` and returns a scalar
tensor: the (weighted) per-sample losses summed and divided by the number of samples, as
Keras's default ``"sum_over_batch_size"``. ``loss.call(y_true, y_pred)`` returns the
per-sample tensor of shape (N,). ``y_true`` may be a NumPy array, a list or a Tensor.

    >>> loss = gn.losses.get("binary_crossentropy")
    >>> p = gn.tensor([[0.9]], requires_grad=True)
    >>> value = loss(np.array([[1.0]]), p); value.backward()
    >>> round(float(value.data), 4), round(float(p.grad[0, 0]), 4)   # -log 0.9, -1/0.9
    (0.1054, -1.1111)

Cross-entropies go through the fused, stable kernels in :mod:`glassnet.functional`
(``from_logits=True`` never computes a sigmoid/softmax it would then take the log of).
On probabilities they clip to [1e-7, 1 − 1e-7] as Keras does.

``sum_squared_error`` / ``"sse"`` is the course's cost J = ½ Σ (y − ŷ)², summed over the
samples too (not averaged).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from . import functional, ops
from ._config import Configurable
from ._loss_inputs import (  # noqa: F401  (also imported from here by other modules)
    _MEAN,
    _REDUCTIONS,
    _grad_target,
    _mask_weights,
    _pred,
    _reduce,
    _row_weights,
    _sparse_labels,
    _sw_array,
    _target,
    _true,
    _value_weights,
)
from ._registry import Registry
from .backend import get_array_module
from .config import epsilon
from .tensor import Tensor, get_mask

if TYPE_CHECKING:
    from collections.abc import Callable

    from ._typing import TensorLike
    from .autograd import Function

__all__ = [
    "Loss", "MeanSquaredError", "SumSquaredError", "MeanAbsoluteError", "Huber",
    "BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy",
    "Hinge", "SquaredHinge", "PerceptronCriterion", "KLDivergence", "LogCosh",
    "mean_squared_error", "mse", "sum_squared_error", "sse", "mean_absolute_error", "mae",
    "huber", "binary_crossentropy", "categorical_crossentropy",
    "sparse_categorical_crossentropy", "hinge", "squared_hinge", "perceptron", "kl_divergence",
    "kld", "log_cosh", "logcosh", "get", "serialize", "deserialize",
]


def _reduce_last(t: Tensor) -> Tensor:
    """Per-sample value: mean over the last axis (for ndim >= 2)."""
    return ops.mean(t, axis=-1) if t.ndim >= 2 else t


class Loss(Configurable):
    """Base class. Subclasses implement ``call(y_true, y_pred) -> per-sample Tensor``.

    ``__call__`` applies sample weights, then reduces as ``reduction`` says:
    ``"sum_over_batch_size"`` (default, Keras: Σ w·loss / N), ``"sum"`` or ``"none"``
    (the weighted per-sample tensor).
    """

    name = "loss"
    reduction = "sum_over_batch_size"

    def __init__(self, name: str | None = None, reduction: str | None = None) -> None:
        if name is not None:
            self.name = name
        if reduction is not None:
            if reduction not in _REDUCTIONS:
                raise ValueError(
                    f"{type(self).__name__}: reduction must be one of {_REDUCTIONS}. "
                    f"Received: reduction={reduction!r}"
                )
            self.reduction = reduction

    def kernel(self, y_true: TensorLike, y_pred: Tensor,
               sample_weight: TensorLike | None = None) -> Function | None:
        """The loss as ONE fused autograd node for these targets, or None (general path).

        The targets are checked here (shapes, label range) exactly as ``__call__`` checks
        them; the node's ``forward(y_pred.data)`` returns the mean loss and its
        ``backward(1)`` the gradient for ``y_pred``. ``__call__`` uses it when it exists,
        and so does the replayed training step (``glassnet.models.step``), which
        calls forward and backward directly without recording a graph. Losses without a
        fused kernel (and reductions other than the mean) return None.

        Args:
            y_true: targets, shaped as ``__call__`` accepts them.
            y_pred: the predictions (logits for ``from_logits=True``), shape (N, C) or
                (N, ..., C).
            sample_weight: optional weights, per sample (N,) or, for predictions of three
                or more dimensions, per averaged value (``y_pred.shape[:-1]``).

        Example:
            >>> loss = SparseCategoricalCrossentropy(from_logits=True)
            >>> node = loss.kernel(np.array([0, 2]), gn.tensor(np.zeros((2, 3))))
            >>> round(float(node.forward(np.zeros((2, 3)))), 6)  # log(3)
            1.098612
        """
        return None

    def has_kernel(self, ndim: int) -> bool:
        """Whether :meth:`kernel` returns a node for predictions of rank ``ndim``."""
        return False

    def fused(self, y_true: TensorLike, y_pred: Tensor,
              sample_weight: TensorLike | None = None) -> Function:
        """:meth:`kernel` for ``y_pred`` with its mask (a padded sequence's kept steps)
        merged into the weights, as ``__call__`` applies it (Keras's ``apply_mask``): the
        one node ``__call__``, evaluation and the replayed step all use. Only where
        :meth:`has_kernel` holds."""
        mask = get_mask(y_pred)
        if mask is not None:
            shape = tuple(y_pred.shape[:-1]) if y_pred.ndim > 1 else tuple(y_pred.shape)
            sample_weight = _mask_weights(sample_weight, mask, shape, self.reduction,
                                          self.name, y_pred.data.dtype)
        return self.kernel(y_true, y_pred, sample_weight)  # type: ignore[return-value]

    def call(self, y_true: TensorLike, y_pred: TensorLike) -> Tensor:
        raise NotImplementedError

    def __call__(self, y_true: TensorLike, y_pred: TensorLike,
                 sample_weight: TensorLike | None = None) -> Tensor:
        mask = get_mask(y_pred)
        if (self.has_kernel(np.ndim(y_pred.data if isinstance(y_pred, Tensor) else y_pred))
                and not _grad_target(y_true)):
            y_pred = _pred(y_pred)
            return self.fused(y_true, y_pred, sample_weight)(y_pred)
        per = self.call(y_true, y_pred)
        # Keras 3: the predictions' mask (a padded sequence's kept steps) and a mask the
        # loss puts on its own values (Circle: the samples that have one) weigh the values
        own = get_mask(per)
        if own is not None:
            mask = own if mask is None else (own & get_array_module(own).asarray(
                mask.data if isinstance(mask, Tensor) else mask).astype(bool).reshape(
                    own.shape))
        if mask is not None:
            return _reduce(per, _mask_weights(sample_weight, mask, tuple(per.shape),
                                             self.reduction, self.name),
                           self.name, self.reduction)
        return _reduce(per, sample_weight, self.name, self.reduction)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "reduction": self.reduction}


class MeanSquaredError(Loss):
    """mean((y − ŷ)²) over the last axis, averaged over samples."""

    name = "mean_squared_error"

    def has_kernel(self, ndim: int) -> bool:
        # a subclass that rewrites call() keeps its own formula
        return (ndim >= 1 and self.reduction in _MEAN
                and type(self).call is MeanSquaredError.call)

    def kernel(self, y_true: TensorLike, y_pred: Tensor,
               sample_weight: TensorLike | None = None) -> Function | None:
        """The squared error as one fused node (functional.RegressionLoss)."""
        if not self.has_kernel(y_pred.ndim):
            return None
        return functional.RegressionLoss("mse", _true(y_true, y_pred, self.name),
                                         _value_weights(sample_weight, y_pred, self.name))

    def call(self, y_true: TensorLike, y_pred: TensorLike) -> Tensor:
        y_pred = _pred(y_pred)
        d = y_pred - _target(y_true, y_pred, self.name)
        return _reduce_last(d * d)


class SumSquaredError(Loss):
    """The course's cost ½ Σ (y − ŷ)², summed over outputs AND samples (default
    ``reduction="sum"``: no averaging)."""

    name = "sum_squared_error"
    reduction = "sum"

    def call(self, y_true: TensorLike, y_pred: TensorLike) -> Tensor:
        y_pred = _pred(y_pred)
        d = y_pred - _target(y_true, y_pred, self.name)
        sq = d * d * 0.5
        return ops.sum(sq, axis=-1) if sq.ndim >= 2 else sq


class MeanAbsoluteError(Loss):
    """mean(|y − ŷ|) over the last axis."""

    name = "mean_absolute_error"

    def call(self, y_true: TensorLike, y_pred: TensorLike) -> Tensor:
        y_pred = _pred(y_pred)
        return _reduce_last(ops.abs(y_pred - _target(y_true, y_pred, self.name)))


class Huber(Loss):
    """½x² for |x| ≤ delta, delta·(|x| − ½delta) beyond (x = ŷ − y); mean over last axis."""

    name = "huber_loss"

    def __init__(self, delta: float = 1.0, name: str | None = None,
                 reduction: str | None = None) -> None:
        if delta <= 0:
            raise ValueError(f"Huber: delta must be > 0. Received: delta={delta}")
        super().__init__(name, reduction)
        self.delta = float(delta)

    def has_kernel(self, ndim: int) -> bool:
        return ndim >= 1 and self.reduction in _MEAN and type(self).call is Huber.call

    def kernel(self, y_true: TensorLike, y_pred: Tensor,
               sample_weight: TensorLike | None = None) -> Function | None:
        """The Huber loss as one fused node (functional.RegressionLoss)."""
        if not self.has_kernel(y_pred.ndim):
            return None
        return functional.RegressionLoss("huber", _true(y_true, y_pred, self.name),
                                         _value_weights(sample_weight, y_pred, self.name),
                                         self.delta)

    def call(self, y_true: TensorLike, y_pred: TensorLike) -> Tensor:
        y_pred = _pred(y_pred)
        a = ops.abs(y_pred - _target(y_true, y_pred, self.name))
        q = ops.minimum(a, Tensor._make(get_array_module(a.data).asarray(self.delta, a.dtype)))
        # quadratic part up to delta, linear beyond: 0.5 q² + delta (a − q)
        return _reduce_last(q * q * 0.5 + (a - q) * self.delta)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "delta": self.delta}


class BinaryCrossentropy(Loss):
    """−[y log p + (1−y) log(1−p)], mean over the last axis.

    Args:
        from_logits: y_pred are logits (stable fused sigmoid-BCE kernel).
        label_smoothing: squeeze targets toward 0.5 by this amount.
    """

    name = "binary_crossentropy"

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0,
                 name: str | None = None, reduction: str | None = None) -> None:
        super().__init__(name, reduction)
        self.from_logits, self.label_smoothing = bool(from_logits), float(label_smoothing)

    def _smooth(self, t: Any) -> Any:
        """The targets with label smoothing (an array, or a tensor that records grads)."""
        if self.label_smoothing:
            t = t * (1 - self.label_smoothing) + 0.5 * self.label_smoothing
        return t

    def has_kernel(self, ndim: int) -> bool:
        return self.reduction in _MEAN

    def kernel(self, y_true: TensorLike, y_pred: Tensor,
               sample_weight: TensorLike | None = None) -> Function | None:
        """Sigmoid-BCE (logits) or clipped BCE node; see :meth:`Loss.kernel`."""
        if not self.has_kernel(y_pred.ndim):
            return None
        t = self._smooth(_true(y_true, y_pred, self.name))
        sw = _row_weights(sample_weight, y_pred, self.name)
        if self.from_logits:
            return functional.SigmoidBinaryCrossEntropy(t, sw)
        return functional.BinaryCrossEntropy(t, sw, epsilon())

    def call(self, y_true: TensorLike, y_pred: TensorLike) -> Tensor:
        y_pred = _pred(y_pred)
        t = self._smooth(_target(y_true, y_pred, self.name))
        if self.from_logits:
            # max(z,0) − z·t + log(1 + e^−|z|), composed (per-sample path only)
            per = ops.relu(y_pred) - y_pred * t + ops.log(ops.exp(-ops.abs(y_pred)) + 1.0)
        else:
            p = ops.clip(y_pred, epsilon(), 1 - epsilon())
            per = -(t * ops.log(p) + (1.0 - t) * ops.log(1.0 - p))
        return _reduce_last(per)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing}


class CategoricalCrossentropy(Loss):
    """−Σ y·log p over the classes (last axis); y one-hot or soft.

    On probabilities, y_pred is renormalized to sum to 1 and clipped to [1e-7, 1−1e-7]
    (Keras). ``from_logits=True`` uses the fused softmax cross-entropy kernel.
    """

    name = "categorical_crossentropy"

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0,
                 axis: int = -1, name: str | None = None, reduction: str | None = None) -> None:
        super().__init__(name, reduction)
        self.from_logits, self.label_smoothing = bool(from_logits), float(label_smoothing)
        self.axis = axis

    def _smooth(self, t: Any, y_pred: Tensor) -> Any:
        """The targets with label smoothing (an array, or a tensor that records grads)."""
        if self.label_smoothing:
            c = y_pred.shape[-1]
            t = t * (1 - self.label_smoothing) + self.label_smoothing / c
        return t

    def has_kernel(self, ndim: int) -> bool:
        return (self.from_logits and self.axis in (-1, ndim - 1) and ndim >= 2
                and self.reduction in _MEAN)

    def kernel(self, y_true: TensorLike, y_pred: Tensor,
               sample_weight: TensorLike | None = None) -> Function | None:
        """Softmax cross-entropy node for one-hot/soft targets; see :meth:`Loss.kernel`."""
        if not self.has_kernel(y_pred.ndim):
            return None
        t = self._smooth(_true(y_true, y_pred, self.name), y_pred)
        return functional.SoftmaxCrossEntropy(t, _row_weights(sample_weight, y_pred,
                                                              self.name))

    def call(self, y_true: TensorLike, y_pred: TensorLike) -> Tensor:
        y_pred = _pred(y_pred)
        t = self._smooth(_target(y_true, y_pred, self.name), y_pred)
        if self.from_logits:
            logp = functional.log_softmax(y_pred, axis=self.axis)
        else:
            p = y_pred / ops.sum(y_pred, axis=self.axis, keepdims=True)
            logp = ops.log(ops.clip(p, epsilon(), 1 - epsilon()))
        return -ops.sum(t * logp, axis=self.axis)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


class SparseCategoricalCrossentropy(Loss):
    """−log p[label] with integer labels (N,) or (N, 1); ``from_logits`` uses the fused kernel.

    Labels outside [0, C) raise ``ValueError`` naming the range and the bad value.
    """

    name = "sparse_categorical_crossentropy"

    def __init__(self, from_logits: bool = False, ignore_class: int | None = None,
                 name: str | None = None, reduction: str | None = None) -> None:
        super().__init__(name, reduction)
        self.from_logits = bool(from_logits)
        self.ignore_class = ignore_class

    def _labels(self, y_true: TensorLike, y_pred: Tensor) -> Any:
        return _sparse_labels(y_true, y_pred, self.name)

    def has_kernel(self, ndim: int) -> bool:
        return (self.from_logits and ndim >= 2 and self.ignore_class is None
                and self.reduction in _MEAN)

    def kernel(self, y_true: TensorLike, y_pred: Tensor,
               sample_weight: TensorLike | None = None) -> Function | None:
        """Softmax cross-entropy node for integer labels; see :meth:`Loss.kernel`."""
        if not self.has_kernel(y_pred.ndim):
            return None
        t = self._labels(y_true, y_pred)
        return functional.SoftmaxCrossEntropy(t, _row_weights(sample_weight, y_pred,
                                                              self.name))

    def _per(self, t: Any, y_pred: Tensor) -> Tensor:
        xp = get_array_module(y_pred.data)
        onehot = xp.zeros(y_pred.shape, dtype=y_pred.data.dtype)
        xp.put_along_axis(onehot, t[..., None], 1, axis=-1)
        if self.from_logits:
            logp = functional.log_softmax(y_pred, axis=-1)
        else:
            logp = ops.log(ops.clip(y_pred, epsilon(), 1 - epsilon()))
        per = -ops.sum(logp * Tensor._make(onehot), axis=-1)
        if self.ignore_class is not None:
            per = per * Tensor._make((t != self.ignore_class).astype(y_pred.data.dtype))
        return per

    def call(self, y_true: TensorLike, y_pred: TensorLike) -> Tensor:
        y_pred = _pred(y_pred)
        return self._per(self._labels(y_true, y_pred), y_pred)

    def __call__(self, y_true: TensorLike, y_pred: TensorLike,
                 sample_weight: TensorLike | None = None) -> Tensor:
        if self.ignore_class is None:
            return super().__call__(y_true, y_pred, sample_weight)
        # Keras: the ignored labels are a mask on the losses (and the predictions' own
        # mask, if any, too): a mean runs over the labels it keeps
        mask = get_mask(y_pred)
        y_pred = _pred(y_pred)
        t = self._labels(y_true, y_pred)
        per = self._per(t, y_pred)
        keep = t != self.ignore_class
        if mask is not None:
            keep = keep & get_array_module(keep).asarray(
                mask.data if isinstance(mask, Tensor) else mask).astype(bool).reshape(keep.shape)
        return _reduce(per, _mask_weights(sample_weight, keep, tuple(per.shape),
                                         self.reduction, self.name),
                       self.name, self.reduction)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "from_logits": self.from_logits,
                "ignore_class": self.ignore_class}


def _pm1(t: Any) -> Any:
    """Keras hinge convention: 0/1 labels become −1/+1."""
    xp = get_array_module(t)
    if t.size and bool(xp.all((t == 0) | (t == 1))):
        return 2 * t - 1
    return t


class Hinge(Loss):
    """mean(max(1 − y·ŷ, 0)); labels −1/+1 (0/1 are converted)."""

    name = "hinge"

    def call(self, y_true: TensorLike, y_pred: TensorLike) -> Tensor:
        y_pred = _pred(y_pred)
        t = Tensor._make(_pm1(_true(y_true, y_pred, self.name)))
        return _reduce_last(ops.relu(1.0 - t * y_pred))


class SquaredHinge(Loss):
    """mean(max(1 − y·ŷ, 0)²); labels −1/+1 (0/1 are converted)."""

    name = "squared_hinge"

    def call(self, y_true: TensorLike, y_pred: TensorLike) -> Tensor:
        y_pred = _pred(y_pred)
        t = Tensor._make(_pm1(_true(y_true, y_pred, self.name)))
        h = ops.relu(1.0 - t * y_pred)
        return _reduce_last(h * h)


class PerceptronCriterion(Loss):
    """Rosenblatt's rule as a loss: −y·ŷ on the samples the unit step misclassifies, else 0.

    The unit step predicts +1 where ŷ ≥ 0 (as the course's ``predict``); labels are −1/+1
    (0/1 are converted). The gradient is −y for a misclassified sample and 0 otherwise, so SGD
    with ``learning_rate = 2·eta`` and ``batch_size=1`` is exactly the perceptron update
    w ← w + eta·(y − step(ŷ))·x of :class:`glassnet.classic.Perceptron`.

    Example:
        >>> X = np.array([[2.0, 1.0], [-1.0, -2.0]], "float32"); y = np.array([1.0, -1.0])
        >>> model = Sequential([Dense(1, input_dim=2)])
        >>> model.compile(optimizer=gn.optimizers.SGD(0.2), loss="perceptron")
        >>> _ = model.fit(X, y, batch_size=1, epochs=10, shuffle=False, verbose=0)
        >>> np.where(model.predict(X, verbose=0)[:, 0] >= 0, 1.0, -1.0).tolist()
        [1.0, -1.0]
    """

    name = "perceptron"

    def call(self, y_true: TensorLike, y_pred: TensorLike) -> Tensor:
        y_pred = _pred(y_pred)
        t = _pm1(_true(y_true, y_pred, self.name))
        # The misclassification mask is a constant: the step itself has no useful derivative.
        wrong = (y_pred.data >= 0) != (t > 0)
        return _reduce_last(Tensor._make(-(wrong * t)) * y_pred)


class KLDivergence(Loss):
    """Σ y·log(y/ŷ) over the last axis, both clipped to [1e-7, 1]."""

    name = "kl_divergence"

    def call(self, y_true: TensorLike, y_pred: TensorLike) -> Tensor:
        y_pred = _pred(y_pred)
        t = ops.clip(_target(y_true, y_pred, self.name), epsilon(), 1.0)
        p = ops.clip(y_pred, epsilon(), 1.0)
        per = t * (ops.log(t) - ops.log(p))
        return ops.sum(per, axis=-1) if per.ndim >= 2 else per


class LogCosh(Loss):
    """mean(log cosh(ŷ − y)) over the last axis, computed as x + softplus(−2x) − log 2."""

    name = "log_cosh"

    def call(self, y_true: TensorLike, y_pred: TensorLike) -> Tensor:
        from .activations import softplus

        y_pred = _pred(y_pred)
        x = y_pred - _target(y_true, y_pred, self.name)
        return _reduce_last(x + softplus(x * -2.0) - math.log(2.0))


def _fn(cls: type[Loss], **fixed: Any) -> Callable[..., Tensor]:
    def loss_fn(y_true: TensorLike, y_pred: TensorLike, **kwargs: Any) -> Tensor:
        return cls(**{**fixed, **kwargs}).call(y_true, y_pred)

    loss_fn.__name__ = cls.name
    loss_fn.__doc__ = f"Per-sample {cls.__name__} (shape (N,)). See :class:`{cls.__name__}`."
    return loss_fn


mean_squared_error = mse = _fn(MeanSquaredError)
sum_squared_error = sse = _fn(SumSquaredError)
mean_absolute_error = mae = _fn(MeanAbsoluteError)
huber = _fn(Huber)
binary_crossentropy = _fn(BinaryCrossentropy)
categorical_crossentropy = _fn(CategoricalCrossentropy)
sparse_categorical_crossentropy = _fn(SparseCategoricalCrossentropy)
hinge = _fn(Hinge)
squared_hinge = _fn(SquaredHinge)
perceptron = _fn(PerceptronCriterion)
kl_divergence = kld = _fn(KLDivergence)
log_cosh = logcosh = _fn(LogCosh)

_TABLE: dict[str, type] = {
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
    "sum_squared_error": SumSquaredError,
    "sse": SumSquaredError,
    "mean_absolute_error": MeanAbsoluteError,
    "mae": MeanAbsoluteError,
    "huber": Huber,
    "huber_loss": Huber,
    "binary_crossentropy": BinaryCrossentropy,
    "bce": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "hinge": Hinge,
    "squared_hinge": SquaredHinge,
    "perceptron": PerceptronCriterion,
    "kl_divergence": KLDivergence,
    "kld": KLDivergence,
    "kullback_leibler_divergence": KLDivergence,
    "log_cosh": LogCosh,
    "logcosh": LogCosh,
}
_BY_CLASS = {cls.__name__: cls for cls in _TABLE.values()}
_FN_TO_CLASS = {
    mean_squared_error: MeanSquaredError, sum_squared_error: SumSquaredError,
    mean_absolute_error: MeanAbsoluteError, huber: Huber,
    binary_crossentropy: BinaryCrossentropy, categorical_crossentropy: CategoricalCrossentropy,
    sparse_categorical_crossentropy: SparseCategoricalCrossentropy, hinge: Hinge,
    squared_hinge: SquaredHinge, perceptron: PerceptronCriterion, kl_divergence: KLDivergence,
    log_cosh: LogCosh,
}

# the Keras losses added for [keras-layers] live in _losses_more (built on Loss above); it
# adds its names to this module and its tables when it finishes importing, whichever of the
# two modules is imported first
from . import _losses_more  # noqa: E402,F401


class _FunctionLoss(Loss):
    """Wraps a user function ``fn(y_true, y_pred) -> per-sample Tensor`` as a Loss."""

    def __init__(self, fn: Callable[[Any, Tensor], Tensor], name: str | None = None,
                 reduction: str | None = None) -> None:
        super().__init__(name or getattr(fn, "__name__", "loss"), reduction)
        self.fn = fn

    def call(self, y_true: TensorLike, y_pred: TensorLike) -> Tensor:
        return self.fn(*_same_rank(y_true, _pred(y_pred)))


def _same_rank(y_true: Any, y_pred: Tensor) -> tuple[Any, Tensor]:
    """Keras's ``squeeze_or_expand_to_same_rank`` before a loss function sees its arguments:
    where the ranks differ by one and the longer one ends in a size-1 axis, labels (N,) meet
    predictions (N, 1) as (N, 1) (a rank-1 side gains the axis; otherwise the longer side
    loses it). Without it, ``y_true - y_pred`` would broadcast to (N, N).

    Example:
        >>> t, p = _same_rank(np.zeros(4), gn.tensor(np.zeros((4, 1))))
        >>> t.shape
        (4, 1)
    """
    rt, rp = np.ndim(y_true.data if isinstance(y_true, Tensor) else y_true), y_pred.ndim

    def last_axis(a: Any, add: bool) -> Any:
        if isinstance(a, Tensor):
            return ops.expand_dims(a, -1) if add else ops.squeeze(a, -1)
        a = get_array_module(a).asarray(a)
        return a[..., None] if add else a.reshape(a.shape[:-1])

    if rt == rp + 1 and np.shape(getattr(y_true, "data", y_true))[-1] == 1:
        if rp == 1:
            y_pred = last_axis(y_pred, True)
        else:
            y_true = last_axis(y_true, False)
    elif rp == rt + 1 and y_pred.shape[-1] == 1:
        if rt == 1:
            y_true = last_axis(y_true, True)
        else:
            y_pred = last_axis(y_pred, False)
    return y_true, y_pred


# the tables are shared by reference, so the names _losses_more adds resolve too; a loss
# function of this module becomes its class, any other function a _FunctionLoss
_REGISTRY = Registry("loss", _TABLE, _BY_CLASS, Loss, fn_to_class=_FN_TO_CLASS,
                     wrap=_FunctionLoss, expected="a name, config dict, Loss or callable",
                     refusal="; custom functions are not")


def get(identifier: Any) -> Loss:
    """Resolve a loss: name, class name, ``{"class_name", "config"}``, Loss or function.

    Example:
        >>> get("mse").name
        'mean_squared_error'
    """
    return _REGISTRY.get(identifier)


def serialize(loss: Any) -> dict:
    """``{"class_name", "config"}`` of a loss (JSON-able)."""
    return _REGISTRY.serialize(loss)


deserialize = get
