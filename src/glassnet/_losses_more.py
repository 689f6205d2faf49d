"""More Keras 3 losses, composed from primitive ops (so their gradients come from the ops'
own backward passes): focal cross-entropies, Poisson, cosine similarity, categorical hinge,
MSLE, MAPE, Tversky and Dice, with their lowercase function forms.

Registered in :mod:`glassnet.losses` (``gn.losses.Poisson``, ``loss="poisson"``). Each loss's
``call(y_true, y_pred)`` returns the per-sample Tensor (shape (N,)); Tversky and Dice with
``axis=None`` return one value for the whole batch, as Keras.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from . import backend, functional, ops
from .backend import get_array_module
from .config import epsilon
from .losses import Loss, _fn, _pred, _reduce_last, _target
from .tensor import Tensor, set_mask

if TYPE_CHECKING:
    from ._typing import TensorLike

__all__ = [
    "BinaryFocalCrossentropy", "CategoricalFocalCrossentropy", "Poisson", "CosineSimilarity",
    "CategoricalHinge", "MeanSquaredLogarithmicError", "MeanAbsolutePercentageError",
    "Tversky", "Dice", "binary_focal_crossentropy", "categorical_focal_crossentropy",
    "poisson", "cosine_similarity", "categorical_hinge", "mean_squared_logarithmic_error",
    "msle", "mean_absolute_percentage_error", "mape", "tversky", "dice", "CTC", "ctc",
    "CategoricalGeneralizedCrossEntropy", "categorical_generalized_cross_entropy", "Circle",
    "circle",
]


def _const(x: Tensor, v: Any) -> Tensor:
    return Tensor._make(get_array_module(x.data).asarray(v, dtype=x.data.dtype))


def _mean_axis(t: Tensor, axis: int) -> Tensor:
    return ops.mean(t, axis=axis) if t.ndim >= 2 else t


class BinaryFocalCrossentropy(Loss):
    """Focal loss (Lin et al. 2017) on binary targets, as Keras:
    mean over ``axis`` of (1 − p_t)^γ · BCE(y, p), p_t = y·p + (1−y)(1−p);
    with ``apply_class_balancing`` also weighted by α (class 1) / 1 − α (class 0).

    Args:
        apply_class_balancing: weight the classes by alpha.
        alpha: weight of class 1 (0.25). gamma: focusing exponent (2.0; 0 = plain BCE).
        from_logits: y_pred are logits (a sigmoid is applied first).
        label_smoothing: squeeze targets toward 0.5. axis: the averaged axis.

    Shapes: y_true, y_pred (N, ...) → per-sample (N,).

    Example:
        >>> loss = BinaryFocalCrossentropy(gamma=2.0)([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])
        >>> round(float(loss), 4)
        0.2678
    """

    name = "binary_focal_crossentropy"

    def __init__(self, apply_class_balancing: bool = False, alpha: float = 0.25,
                 gamma: float = 2.0, from_logits: bool = False, label_smoothing: float = 0.0,
                 axis: int = -1, name: str | None = None, reduction: str | None = None) -> None:
        super().__init__(name, reduction)
        if not float(gamma) >= 0:
            raise ValueError(f"BinaryFocalCrossentropy: gamma must be >= 0. Received: {gamma}")
        self.apply_class_balancing = bool(apply_class_balancing)
        self.alpha, self.gamma = float(alpha), float(gamma)
        self.from_logits, self.label_smoothing = bool(from_logits), float(label_smoothing)
        self.axis = int(axis)

    def call(self, y_true: TensorLike, y_pred: TensorLike) -> Tensor:
        y_pred = _pred(y_pred)
        tt = _target(y_true, y_pred, self.name)
        if self.label_smoothing:
            tt = tt * (1 - self.label_smoothing) + 0.5 * self.label_smoothing
        p = ops.sigmoid(y_pred) if self.from_logits else y_pred
        pc = ops.clip(p, epsilon(), 1 - epsilon())
        bce = -(tt * ops.log(pc) + (1.0 - tt) * ops.log(1.0 - pc))
        p_t = tt * p + (1.0 - tt) * (1.0 - p)
        focal = (1.0 - p_t) ** self.gamma * bce
        if self.apply_class_balancing:
            focal = (tt * self.alpha + (1.0 - tt) * (1 - self.alpha)) * focal
        return _mean_axis(focal, self.axis)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "apply_class_balancing": self.apply_class_balancing,
                "alpha": self.alpha, "gamma": self.gamma, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


class CategoricalFocalCrossentropy(Loss):
    """Focal categorical cross-entropy, as Keras: Σ over classes of
    α·(1 − p)^γ · (−y·log p), with p renormalized to sum 1 and clipped to [ε, 1−ε].

    Args:
        alpha: a float or one weight per class (0.25). gamma: focusing exponent (2.0).
        from_logits: y_pred are logits (softmax first). label_smoothing: toward 1/C.
        axis: the class axis.

    Shapes: y_true one-hot (N, C), y_pred (N, C) → (N,).

    Example:
        >>> round(float(CategoricalFocalCrossentropy()([[0, 1, 0]], [[0.05, 0.9, 0.05]])), 4)
        0.0003
    """

    name = "categorical_focal_crossentropy"

    def __init__(self, alpha: float | list[float] | tuple[float, ...] | np.ndarray = 0.25,
                 gamma: float = 2.0, from_logits: bool = False,
                 label_smoothing: float = 0.0, axis: int = -1, name: str | None = None,
                 reduction: str | None = None) -> None:
        super().__init__(name, reduction)
        if not float(gamma) >= 0:
            raise ValueError(
                f"CategoricalFocalCrossentropy: gamma must be >= 0. Received: {gamma}")
        self.alpha: list[float] | float = (
            [float(a) for a in alpha] if isinstance(alpha, (list, tuple, np.ndarray))
            else float(alpha))
        self.gamma = float(gamma)
        self.from_logits, self.label_smoothing = bool(from_logits), float(label_smoothing)
        self.axis = int(axis)

    def call(self, y_true: TensorLike, y_pred: TensorLike) -> Tensor:
        y_pred = _pred(y_pred)
        t = _target(y_true, y_pred, self.name)
        if self.label_smoothing:
            t = t * (1 - self.label_smoothing) + self.label_smoothing / y_pred.shape[-1]
        p = functional.softmax(y_pred, axis=self.axis) if self.from_logits else y_pred
        p = p / ops.sum(p, axis=self.axis, keepdims=True)
        p = ops.clip(p, epsilon(), 1 - epsilon())
        ce = -t * ops.log(p)
        w = (1.0 - p) ** self.gamma * _const(p, self.alpha)
        return ops.sum(w * ce, axis=self.axis)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "alpha": self.alpha, "gamma": self.gamma,
                "from_logits": self.from_logits, "label_smoothing": self.label_smoothing,
                "axis": self.axis}


class Poisson(Loss):
    """mean(ŷ − y·log(ŷ + ε)) over the last axis (Keras).

    Example:
        >>> round(float(Poisson()([[1.0, 0.0]], [[1.0, 0.5]])), 4)
        0.75
    """

    name = "poisson"

    def call(self, y_true: TensorLike, y_pred: TensorLike) -> Tensor:
        y_pred = _pred(y_pred)
        t = _target(y_true, y_pred, self.name)
        return _reduce_last(y_pred - t * ops.log(y_pred + epsilon()))


class CosineSimilarity(Loss):
    """−Σ (y/‖y‖)·(ŷ/‖ŷ‖) over ``axis`` (norms floored at ε, as Keras): −1 when aligned.

    Example:
        >>> round(float(CosineSimilarity()([[0.0, 1.0]], [[0.0, 2.0]])), 4)
        -1.0
    """

    name = "cosine_similarity"

    def __init__(self, axis: int = -1, name: str | None = None,
                 reduction: str | None = None) -> None:
        super().__init__(name, reduction)
        self.axis = int(axis)

    def _unit(self, x: Tensor) -> Tensor:
        n = ops.sqrt(ops.sum(x * x, axis=self.axis, keepdims=True))
        return x / ops.maximum(n, _const(n, epsilon()))

    def call(self, y_true: TensorLike, y_pred: TensorLike) -> Tensor:
        y_pred = _pred(y_pred)
        t = _target(y_true, y_pred, self.name)
        return -ops.sum(self._unit(t) * self._unit(y_pred), axis=self.axis)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


class CategoricalHinge(Loss):
    """max(neg − pos + 1, 0) with pos = Σ y·ŷ and neg = max((1 − y)·ŷ) (Keras).

    Example:
        >>> round(float(CategoricalHinge()([[0, 1, 0]], [[0.2, 0.7, 0.1]])), 4)
        0.5
    """

    name = "categorical_hinge"

    def call(self, y_true: TensorLike, y_pred: TensorLike) -> Tensor:
        y_pred = _pred(y_pred)
        t = _target(y_true, y_pred, self.name)
        pos = ops.sum(t * y_pred, axis=-1)
        neg = ops.max((1.0 - t) * y_pred, axis=-1)
        return ops.relu(neg - pos + 1.0)


class MeanSquaredLogarithmicError(Loss):
    """mean((log(max(ŷ, ε) + 1) − log(max(y, ε) + 1))²) over the last axis (Keras).

    Example:
        >>> round(float(MeanSquaredLogarithmicError()([[1.0]], [[3.0]])), 4)
        0.4805
    """

    name = "mean_squared_logarithmic_error"

    def call(self, y_true: TensorLike, y_pred: TensorLike) -> Tensor:
        y_pred = _pred(y_pred)
        t = _target(y_true, y_pred, self.name)
        lt = ops.log(ops.maximum(t, _const(t, epsilon())) + 1.0)
        d = ops.log(ops.maximum(y_pred, _const(y_pred, epsilon())) + 1.0) - lt
        return _reduce_last(d * d)


class MeanAbsolutePercentageError(Loss):
    """100 · mean(|y − ŷ| / max(|y|, ε)) over the last axis (Keras).

    Example:
        >>> round(float(MeanAbsolutePercentageError()([[2.0]], [[3.0]])), 4)
        50.0
    """

    name = "mean_absolute_percentage_error"

    def call(self, y_true: TensorLike, y_pred: TensorLike) -> Tensor:
        y_pred = _pred(y_pred)
        t = _target(y_true, y_pred, self.name)
        scale = 100.0 / ops.maximum(ops.abs(t), _const(t, epsilon()))
        return _reduce_last(ops.abs(t - y_pred) * scale)


def _axis(axis: int | list[int] | tuple[int, ...] | None) -> int | tuple[int, ...] | None:
    if axis is None:
        return None
    return tuple(int(a) for a in axis) if isinstance(axis, (list, tuple)) else int(axis)


class Tversky(Loss):
    """1 − TP / (TP + α·Σ y(1−ŷ) + β·Σ (1−y)ŷ + ε), sums over ``axis`` (Keras's formula:
    α weighs the missed positives, β the false alarms; α = β = ½ is Dice).

    Args:
        alpha, beta: the two weights (0.5 each).
        axis: axes summed per sample, e.g. (1, 2, 3) for images; None: one value for the
            whole batch.

    Example:
        >>> round(float(Tversky(alpha=0.7, beta=0.3, axis=(1,))([[1, 0]], [[0.8, 0.4]])), 4)
        0.2453
    """

    name = "tversky"

    def __init__(self, alpha: float = 0.5, beta: float = 0.5, reduction: str | None = None,
                 name: str | None = None,
                 axis: int | list[int] | tuple[int, ...] | None = None) -> None:
        super().__init__(name, reduction)
        self.alpha, self.beta, self.axis = float(alpha), float(beta), _axis(axis)

    def call(self, y_true: TensorLike, y_pred: TensorLike) -> Tensor:
        y_pred = _pred(y_pred)
        tt = _target(y_true, y_pred, self.name)
        tp = ops.sum(tt * y_pred, axis=self.axis)
        fn = ops.sum((1.0 - y_pred) * tt, axis=self.axis)
        fp = ops.sum(y_pred * (1.0 - tt), axis=self.axis)
        return 1.0 - tp / (tp + fn * self.alpha + fp * self.beta + epsilon())

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "alpha": self.alpha, "beta": self.beta,
                "axis": list(self.axis) if isinstance(self.axis, tuple) else self.axis}


class CategoricalGeneralizedCrossEntropy(Loss):
    """Generalized cross-entropy (Zhang & Sabuncu 2018, Keras 3's loss): per sample
    ``(1 − p_yᵠ) / q`` of the true class's probability p_y — cross-entropy as q → 0, mean
    absolute error at q = 1; robust to noisy labels. Integer labels, probabilities.

    Example:
        >>> float(CategoricalGeneralizedCrossEntropy(q=0.5)([0], np.array([[0.25, 0.75]])).data)
        1.0
    """

    name = "categorical_generalized_cross_entropy"

    def __init__(self, q: float = 0.5, reduction: str | None = None,
                 name: str | None = None) -> None:
        if not 0 < float(q) < 1:
            raise ValueError(f"CategoricalGeneralizedCrossEntropy: q must be in (0, 1). "
                             f"Received: q={q}")
        super().__init__(name, reduction)
        self.q = float(q)

    def call(self, y_true: TensorLike, y_pred: TensorLike) -> Tensor:
        from .losses import _sparse_labels

        y_pred = _pred(y_pred)
        t = _sparse_labels(y_true, y_pred, self.name)
        p = ops.take_along_axis(y_pred, Tensor._make(t[..., None]), axis=-1)
        p = ops.reshape(p, p.shape[:-1])
        return ops.mul(ops.sub(1.0, ops.power(p, self.q)), 1.0 / self.q)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "q": self.q}


class Circle(Loss):
    """Circle loss (Sun et al. 2020, Keras 3's form) for metric learning: integer labels
    (batch,) and L2-normalized embeddings (batch, dim); pairs of one label are pulled
    together and the others pushed apart, each weighted by how far it is from its optimum.

    With d the pairwise cosine distances ``max(1 − e·eᵀ, 0)`` (the diagonal pairs left out
    with ``remove_diagonal``) and m the margin, per sample:
    ``softplus(lse_pos(−γ·max(m + d, 0)·(m − d)) + lse_neg(γ·max(1 + m − d, 0)·(1 − m − d)))``.
    Samples whose loss is 0 (no positive pair) are left out of the mean, as Keras masks them.

    Example:
        >>> e = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
        >>> round(float(Circle(gamma=1.0)([0, 0, 1], e).data), 4)
        0.5459
    """

    name = "circle"

    def __init__(self, gamma: float = 80.0, margin: float = 0.4, remove_diagonal: bool = True,
                 reduction: str | None = None, name: str | None = None) -> None:
        super().__init__(name, reduction)
        self.gamma, self.margin = float(gamma), float(margin)
        self.remove_diagonal = bool(remove_diagonal)

    def call(self, y_true: TensorLike, y_pred: TensorLike) -> Tensor:
        y_pred = _pred(y_pred)
        xp = get_array_module(y_pred.data)
        lab = xp.asarray(y_true.data if isinstance(y_true, Tensor) else y_true).reshape(-1)
        if y_pred.ndim != 2 or lab.shape[0] != y_pred.shape[0]:
            raise ValueError(f"{self.name}: expected integer labels (batch,) and embeddings "
                             f"(batch, dim). Received: y_true shape {lab.shape}, y_pred "
                             f"shape {tuple(y_pred.shape)}")
        lab = lab.astype(np.int64)
        pos = lab[:, None] == lab[None, :]
        neg = ~pos
        if self.remove_diagonal:
            pos &= ~xp.eye(lab.shape[0], dtype=bool)
        m, g = self.margin, self.gamma
        d = ops.maximum(ops.sub(1.0, ops.matmul(y_pred, ops.transpose(y_pred))), 0.0)
        pos_w = ops.maximum(ops.mul(ops.add(d, m), _const(d, pos)), 0.0)
        neg_w = ops.maximum(ops.mul(ops.sub(1.0 + m, d), _const(d, neg)), 0.0)
        pos_d = ops.mul(ops.mul(pos_w, ops.sub(m, d)), -g)
        neg_d = ops.mul(ops.mul(neg_w, ops.sub(1.0 - m, d)), g)
        # excluded pairs: a large negative stand-in for -inf (a row without any pair sums to
        # about -1e30 and its softplus to 0, with zero gradient, not NaN)
        far = _const(d, -1e30)
        p_loss = functional.logsumexp(ops.where(pos, pos_d, far), axis=1)
        n_loss = functional.logsumexp(ops.where(neg, neg_d, far), axis=1)
        z = ops.add(p_loss, n_loss)
        loss = ops.add(ops.maximum(z, 0.0), ops.log(ops.add(1.0, ops.exp(ops.neg(ops.abs(z))))))
        set_mask(loss, loss.data > 0)  # Keras: samples without a loss leave the mean
        return loss

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "gamma": self.gamma, "margin": self.margin,
                "remove_diagonal": self.remove_diagonal}


class Dice(Loss):
    """1 − 2·Σ y·ŷ / (Σ y + Σ ŷ + ε), sums over ``axis`` (None: the whole batch), as Keras.

    Example:
        >>> round(float(Dice(axis=(1,))([[1, 0]], [[0.8, 0.4]])), 4)
        0.2727
    """

    name = "dice"

    def __init__(self, reduction: str | None = None, name: str | None = None,
                 axis: int | list[int] | tuple[int, ...] | None = None) -> None:
        super().__init__(name, reduction)
        self.axis = _axis(axis)

    def call(self, y_true: TensorLike, y_pred: TensorLike) -> Tensor:
        y_pred = _pred(y_pred)
        tt = _target(y_true, y_pred, self.name)
        inter = ops.sum(tt * y_pred, axis=self.axis)
        den = ops.sum(y_pred, axis=self.axis) + (ops.sum(tt, axis=self.axis) + epsilon())
        return 1.0 - inter * 2.0 / den

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(),
                "axis": list(self.axis) if isinstance(self.axis, tuple) else self.axis}


class CTC(Loss):
    """Connectionist temporal classification loss (Keras 3's ``losses.CTC``): per sample,
    −log p(labels | logits) summed over every alignment of the labels to the steps.

    ``y_true`` (batch, max_label_length) integer labels, 0 the blank and the padding (each
    label sequence's length is its count of non-zero entries); ``y_pred`` (batch, steps,
    classes) logits (not a softmax: ``log_softmax`` is applied, as Keras does), every step
    used. The OCR and speech-recognition examples of keras.io train with it.

    Example:
        >>> round(float(CTC()(np.array([[1]]), np.zeros((1, 2, 2), "float32")).data), 4)
        0.2877
    """

    name = "ctc"

    def call(self, y_true: TensorLike, y_pred: TensorLike) -> Tensor:
        from ._ctc import ctc_loss

        y_pred = _pred(y_pred)
        t = np.asarray(backend.asnumpy(y_true.data if isinstance(y_true, Tensor) else y_true))
        if t.ndim != 2 or y_pred.ndim != 3:
            raise ValueError(f"{self.name}: expected y_true (batch, max_length) integer labels "
                             "and y_pred (batch, steps, classes) logits. Received: y_true "
                             f"shape {t.shape}, y_pred shape {tuple(y_pred.shape)}")
        b, steps = y_pred.shape[0], y_pred.shape[1]
        return ctc_loss(t.astype(np.int64), y_pred, (t != 0).sum(axis=-1),
                        np.full(b, steps, np.int64), mask_index=0)


binary_focal_crossentropy = _fn(BinaryFocalCrossentropy)
categorical_generalized_cross_entropy = _fn(CategoricalGeneralizedCrossEntropy)
circle = _fn(Circle)
ctc = _fn(CTC)
categorical_focal_crossentropy = _fn(CategoricalFocalCrossentropy)
poisson = _fn(Poisson)
cosine_similarity = _fn(CosineSimilarity)
categorical_hinge = _fn(CategoricalHinge)
mean_squared_logarithmic_error = msle = _fn(MeanSquaredLogarithmicError)
mean_absolute_percentage_error = mape = _fn(MeanAbsolutePercentageError)
tversky = _fn(Tversky)
dice = _fn(Dice)

# names glassnet.losses.get() resolves (merged into its table)
_TABLE: dict[str, type] = {
    "binary_focal_crossentropy": BinaryFocalCrossentropy,
    "categorical_generalized_cross_entropy": CategoricalGeneralizedCrossEntropy,
    "circle": Circle,
    "ctc": CTC,
    "categorical_focal_crossentropy": CategoricalFocalCrossentropy,
    "poisson": Poisson,
    "cosine_similarity": CosineSimilarity,
    "categorical_hinge": CategoricalHinge,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
    "msle": MeanSquaredLogarithmicError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "mape": MeanAbsolutePercentageError,
    "tversky": Tversky,
    "dice": Dice,
}
_FN_TO_CLASS = {
    binary_focal_crossentropy: BinaryFocalCrossentropy,
    categorical_focal_crossentropy: CategoricalFocalCrossentropy, poisson: Poisson,
    cosine_similarity: CosineSimilarity, categorical_hinge: CategoricalHinge,
    mean_squared_logarithmic_error: MeanSquaredLogarithmicError,
    mean_absolute_percentage_error: MeanAbsolutePercentageError, tversky: Tversky, dice: Dice,
}


def _register() -> None:
    """Put this module's names into :mod:`glassnet.losses` (its attributes, ``__all__`` and
    the tables ``get``/``serialize`` read)."""
    from . import losses as L

    for n in __all__:
        setattr(L, n, globals()[n])
    L.__all__ += [n for n in __all__ if n not in L.__all__]
    L._TABLE.update(_TABLE)
    L._BY_CLASS.update({cls.__name__: cls for cls in _TABLE.values()})
    L._FN_TO_CLASS.update(_FN_TO_CLASS)


_register()
