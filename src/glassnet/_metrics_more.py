"""F1/Fβ, MeanIoU, R2Score, the regression running means and the lowercase metric functions,
with Keras 3's names, arguments and formulas. Exported from :mod:`glassnet.metrics`.

``F1Score(average=None)`` and ``R2Score(class_aggregation=None)`` return NumPy arrays (one
value per class or output), as Keras.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ._metric_base import Metric, _match, _MeanMetric, _np, _per_sample, _weights
from ._metrics_curves import _div
from .config import epsilon

if TYPE_CHECKING:
    from ._typing import TensorLike

    _ClassIds = int | list[int] | tuple[int, ...]


class FBetaScore(Metric):
    """Fβ = (1+β²)·P·R / (β²·P + R) per class, over (N, C) one-hot / multi-hot labels.

    Args:
        average: None (one score per class, an array), ``"micro"``, ``"macro"`` or
            ``"weighted"`` (by each class's true count).
        beta: weight of recall (> 0).
        threshold: y_pred > threshold is positive; None: the argmax of each row is.

    Example:
        >>> round(F1Score(average="macro")(np.eye(3), np.eye(3) * 0.9), 4)
        1.0
    """

    name = "fbeta_score"
    # weighted counts, one per class; None until the first batch sizes them
    tp: Any
    fp: Any
    fn: Any
    support: Any

    def __init__(self, average: str | None = None, beta: float = 1.0,
                 threshold: float | None = None, name: str | None = None) -> None:
        cls = type(self).__name__
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError(f"{cls}: average must be None, 'micro', 'macro' or 'weighted'. "
                             f"Received: average={average!r}")
        if not float(beta) > 0:
            raise ValueError(f"{cls}: beta must be > 0. Received: beta={beta}")
        if threshold is not None and not 0 < float(threshold) <= 1:
            raise ValueError(f"{cls}: threshold must be in (0, 1]. Received: {threshold}")
        self.average, self.beta = average, float(beta)
        self.threshold = None if threshold is None else float(threshold)
        super().__init__(name)

    def reset_state(self) -> None:
        self.tp = self.fp = self.fn = self.support = None

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        p = _np(y_pred).astype(np.float64)
        t = _np(y_true).astype(np.float64)
        if p.ndim != 2 or t.shape != p.shape:
            raise ValueError(f"{self.name}: y_true and y_pred must both be (N, classes). "
                             f"Received: y_true shape {t.shape}, y_pred shape {p.shape}")
        if self.threshold is None:
            p = (p == p.max(axis=-1, keepdims=True)).astype(np.float64)
        else:
            p = (p > self.threshold).astype(np.float64)
        w = _weights(sample_weight, p.shape[0], self.name)
        w = np.ones((p.shape[0], 1)) if w is None else w[:, None]
        vals = ((p * t * w).sum(0), (p * (1 - t) * w).sum(0), ((1 - p) * t * w).sum(0),
                (t * w).sum(0))
        if self.tp is None:
            self.tp, self.fp, self.fn, self.support = vals
        else:
            for a, v in zip((self.tp, self.fp, self.fn, self.support), vals):
                if a.shape != v.shape:
                    raise ValueError(f"{self.name}: expected {a.shape[0]} classes. "
                                     f"Received: y_pred shape {p.shape}")
                a += v

    def result(self) -> float | np.ndarray:
        if self.tp is None:
            return 0.0
        tp, fp, fn = self.tp, self.fp, self.fn
        if self.average == "micro":
            tp, fp, fn = tp.sum(), fp.sum(), fn.sum()
        prec = tp / (tp + fp + epsilon())
        rec = tp / (tp + fn + epsilon())
        b2 = self.beta ** 2
        f = (1 + b2) * (prec * rec) / (b2 * prec + rec + epsilon())
        if self.average == "weighted":
            return float(np.sum(f * self.support / self.support.sum()))
        if self.average is not None:
            return float(np.mean(f))
        return f

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "average": self.average, "beta": self.beta,
                "threshold": self.threshold}


class F1Score(FBetaScore):
    """F1 = 2·P·R / (P + R): :class:`FBetaScore` with β = 1."""

    name = "f1_score"

    def __init__(self, average: str | None = None, threshold: float | None = None,
                 name: str | None = None) -> None:
        super().__init__(average, 1.0, threshold, name)

    def get_config(self) -> dict[str, Any]:
        c = super().get_config()
        del c["beta"]
        return c


class MeanIoU(Metric):
    """Mean intersection-over-union over classes, from a running confusion matrix (Keras).

    Args:
        num_classes: number of classes (labels 0..num_classes−1).
        ignore_class: a label whose entries are skipped (e.g. void pixels).
        sparse_y_true / sparse_y_pred: labels are integer ids; False: take the argmax over
            ``axis``.

    Example:
        >>> round(MeanIoU(2)([0, 0, 1, 1], [0, 1, 0, 1]), 4)
        0.3333
    """

    name = "mean_io_u"

    def __init__(self, num_classes: int, name: str | None = None,
                 ignore_class: int | None = None, sparse_y_true: bool = True,
                 sparse_y_pred: bool = True, axis: int = -1) -> None:
        if int(num_classes) < 1:
            raise ValueError(f"MeanIoU: num_classes must be >= 1. Received: {num_classes}")
        self.num_classes = int(num_classes)
        self.ignore_class = None if ignore_class is None else int(ignore_class)
        self.sparse_y_true, self.sparse_y_pred = bool(sparse_y_true), bool(sparse_y_pred)
        self.axis = int(axis)
        super().__init__(name)

    def reset_state(self) -> None:
        self.total_cm = np.zeros((self.num_classes, self.num_classes))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        t, p = _np(y_true), _np(y_pred)
        if not self.sparse_y_true:
            t = t.argmax(axis=self.axis)
        if not self.sparse_y_pred:
            p = p.argmax(axis=self.axis)
        n = t.shape[0] if t.ndim else 1
        w = _weights(sample_weight, n, self.name)
        t, p = t.reshape(n, -1), p.reshape(n, -1)
        if t.shape != p.shape:
            raise ValueError(f"{self.name}: y_true and y_pred hold different numbers of labels. "
                             f"Received: shapes {_np(y_true).shape} and {_np(y_pred).shape}")
        w = np.ones(t.shape) if w is None else np.broadcast_to(w[:, None], t.shape)
        t, p, w = t.ravel().astype(np.int64), p.ravel().astype(np.int64), w.ravel()
        if self.ignore_class is not None:
            keep = t != self.ignore_class
            t, p, w = t[keep], p[keep], w[keep]
        k = self.num_classes
        if t.size and (t.min() < 0 or p.min() < 0 or t.max() >= k or p.max() >= k):
            raise ValueError(f"{self.name}: labels must be in [0, {k}). Received: y_true in "
                             f"[{t.min()}, {t.max()}], y_pred in [{p.min()}, {p.max()}]")
        self.total_cm += np.bincount(t * k + p, weights=w, minlength=k * k).reshape(k, k)

    _targets: tuple | None = None   # IoU: the classes averaged (None: all)

    def result(self) -> float:
        cm = self.total_cm
        tp = np.diag(cm)
        denom = cm.sum(0) + cm.sum(1) - tp
        if self._targets is not None:
            idx = list(self._targets)
            tp, denom = tp[idx], denom[idx]
        valid = (denom > 1e-9).sum()
        return float(_div(_div(tp, denom).sum(), valid))

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "num_classes": self.num_classes,
                "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


def _class_ids(ids: _ClassIds, num_classes: int, cls: str) -> tuple[int, ...]:
    ids = tuple(int(i) for i in (ids if isinstance(ids, (list, tuple)) else [ids]))
    if not ids or any(not 0 <= i < num_classes for i in ids):
        raise ValueError(f"{cls}: target_class_ids must be class ids in [0, {num_classes}). "
                         f"Received: target_class_ids={ids}")
    return ids


class IoU(MeanIoU):
    """Intersection-over-union averaged over ``target_class_ids`` (Keras's ``IoU``).

    Example:
        >>> round(IoU(2, target_class_ids=[0])([0, 0, 1, 1], [0, 1, 0, 1]), 4)
        0.3333
    """

    name = "io_u"
    _targets: tuple[int, ...]   # set by __init__

    def __init__(self, num_classes: int, target_class_ids: _ClassIds, name: str | None = None,
                 ignore_class: int | None = None, sparse_y_true: bool = True,
                 sparse_y_pred: bool = True, axis: int = -1) -> None:
        self._targets = _class_ids(target_class_ids, int(num_classes), type(self).__name__)
        super().__init__(num_classes, name, ignore_class, sparse_y_true, sparse_y_pred, axis)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "target_class_ids": list(self._targets)}


class BinaryIoU(IoU):
    """IoU of binary predictions thresholded at ``threshold`` (ŷ >= threshold is class 1),
    averaged over ``target_class_ids`` (both classes by default).

    Example:
        >>> BinaryIoU(target_class_ids=[1])([0, 1, 1], [0.2, 0.7, 0.4])
        0.5
    """

    name = "binary_io_u"

    def __init__(self, target_class_ids: _ClassIds = (0, 1), threshold: float = 0.5,
                 name: str | None = None) -> None:
        self.threshold = float(threshold)
        super().__init__(2, target_class_ids, name)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        p = (np.asarray(_np(y_pred), dtype=np.float64) >= self.threshold).astype(np.int64)
        super().update_state(y_true, p, sample_weight)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "target_class_ids": list(self._targets),
                "threshold": self.threshold}


class OneHotIoU(IoU):
    """:class:`IoU` for one-hot labels and per-class scores (argmax over ``axis``)."""

    name = "one_hot_io_u"

    def __init__(self, num_classes: int, target_class_ids: _ClassIds, name: str | None = None,
                 ignore_class: int | None = None, sparse_y_pred: bool = False,
                 axis: int = -1) -> None:
        super().__init__(num_classes, target_class_ids, name, ignore_class, False,
                         sparse_y_pred, axis)

    def get_config(self) -> dict[str, Any]:
        cfg = super().get_config()
        cfg.pop("sparse_y_true")
        return cfg


class OneHotMeanIoU(MeanIoU):
    """:class:`MeanIoU` for one-hot labels and per-class scores (argmax over ``axis``)."""

    name = "one_hot_mean_io_u"

    def __init__(self, num_classes: int, name: str | None = None,
                 ignore_class: int | None = None, sparse_y_pred: bool = False,
                 axis: int = -1) -> None:
        super().__init__(num_classes, name, ignore_class, False, sparse_y_pred, axis)

    def get_config(self) -> dict[str, Any]:
        cfg = super().get_config()
        cfg.pop("sparse_y_true")
        return cfg


class R2Score(Metric):
    """Coefficient of determination R² = 1 − SS_res/SS_tot per output column (Keras).

    Args:
        class_aggregation: ``"uniform_average"`` (mean over columns),
            ``"variance_weighted_average"`` or None (one score per column, an array).
        num_regressors: p > 0 gives the adjusted R², 1 − (1−R²)(n−1)/(n−p−1), with n the
            number of entries seen (rows × outputs, as Keras counts it).

    Example:
        >>> R2Score()([[1.0], [2.0], [3.0]], [[1.0], [2.0], [4.0]])
        0.5
    """

    name = "r2_score"
    # running sums, one per output column; None until the first batch sizes them
    sum: Any
    squared_sum: Any
    total_mse: Any
    count: Any

    def __init__(self, class_aggregation: str | None = "uniform_average",
                 num_regressors: int = 0, name: str | None = None) -> None:
        if class_aggregation not in (None, "uniform_average", "variance_weighted_average"):
            raise ValueError("R2Score: class_aggregation must be None, 'uniform_average' or "
                             f"'variance_weighted_average'. Received: {class_aggregation!r}")
        if int(num_regressors) < 0:
            raise ValueError(f"R2Score: num_regressors must be >= 0. Received: {num_regressors}")
        self.class_aggregation, self.num_regressors = class_aggregation, int(num_regressors)
        super().__init__(name)

    def reset_state(self) -> None:
        self.sum = self.squared_sum = self.total_mse = self.count = None
        self.num_samples = 0

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        p = _np(y_pred).astype(np.float64)
        t = _match(_np(y_true), p, self.name).astype(np.float64)
        if p.ndim == 1:
            t, p = t[:, None], p[:, None]
        if p.ndim != 2:
            raise ValueError(f"{self.name}: y_pred must be (N,) or (N, outputs). "
                             f"Received: y_pred shape {p.shape}")
        w = _weights(sample_weight, p.shape[0], self.name)
        w = np.ones((p.shape[0], 1)) if w is None else w[:, None]
        vals = ((t * w).sum(0), (t * t * w).sum(0), ((t - p) ** 2 * w).sum(0),
                np.broadcast_to(w, p.shape).sum(0))
        if self.sum is None:
            self.sum, self.squared_sum, self.total_mse, self.count = (v.copy() for v in vals)
        else:
            for a, v in zip((self.sum, self.squared_sum, self.total_mse, self.count), vals):
                a += v
        self.num_samples += p.size   # Keras counts entries, not rows (n of the adjustment)

    def result(self) -> float | np.ndarray:
        if self.sum is None:
            return 0.0
        mean = self.sum / self.count
        total = self.squared_sum - self.sum * mean
        raw = 1 - _div(self.total_mse, total)
        raw = np.where(total == 0, 0.0, raw)       # Keras: inf (constant target) -> 0
        r2: float | np.ndarray
        if self.class_aggregation == "uniform_average":
            r2 = float(np.mean(raw))
        elif self.class_aggregation == "variance_weighted_average":
            r2 = float(np.sum(total * raw) / np.sum(total))
        else:
            r2 = raw
        n, k = self.num_samples, self.num_regressors
        if k and k < n - 1:
            r2 = 1 - (1 - r2) * (n - 1) / (n - k - 1)
        return r2

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}


# ---------------------------------------------------------------- regression running means
def _f64(y_true: Any, y_pred: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(y_pred, np.float64)
    return _match(np.asarray(y_true), p, name).astype(np.float64), p


class RootMeanSquaredError(_MeanMetric):
    """sqrt of the running mean of squared errors (Keras).

    Example:
        >>> round(RootMeanSquaredError()([[0.0], [0.0]], [[3.0], [4.0]]), 4)   # √12.5
        3.5355
    """

    name = "root_mean_squared_error"
    uses_mask = False  # Keras's is a Mean of its own, which reads no mask

    def _values(self, y_true: Any, y_pred: Any) -> np.ndarray:
        t, p = _f64(y_true, y_pred, self.name)
        return _per_sample((t - p) ** 2)

    def result(self) -> float:
        return float(np.sqrt(super().result()))


class MeanAbsolutePercentageError(_MeanMetric):
    """Running mean of 100·|y − ŷ| / max(|y|, ε) per sample."""

    name = "mean_absolute_percentage_error"

    def _values(self, y_true: Any, y_pred: Any) -> np.ndarray:
        return mean_absolute_percentage_error(y_true, y_pred)


class MeanSquaredLogarithmicError(_MeanMetric):
    """Running mean of (log(1+max(ŷ,ε)) − log(1+max(y,ε)))² per sample."""

    name = "mean_squared_logarithmic_error"

    def _values(self, y_true: Any, y_pred: Any) -> np.ndarray:
        return mean_squared_logarithmic_error(y_true, y_pred)


class LogCoshError(_MeanMetric):
    """Running mean of log(cosh(ŷ − y)) per sample."""

    name = "logcosh"

    def _values(self, y_true: Any, y_pred: Any) -> np.ndarray:
        t, p = _f64(y_true, y_pred, self.name)
        d = p - t
        return _per_sample(d + np.log1p(np.exp(-2 * d)) - np.log(2.0))


class CosineSimilarity(_MeanMetric):
    """Running mean of the cosine similarity along ``axis`` (Keras's metric: +1 = aligned)."""

    name = "cosine_similarity"

    def __init__(self, name: str | None = None, axis: int = -1) -> None:
        self.axis = int(axis)
        super().__init__(name)

    def _values(self, y_true: Any, y_pred: Any) -> np.ndarray:
        t, p = _f64(y_true, y_pred, self.name)
        tn = t / np.maximum(np.linalg.norm(t, axis=self.axis, keepdims=True), 1e-12)
        pn = p / np.maximum(np.linalg.norm(p, axis=self.axis, keepdims=True), 1e-12)
        return _per_sample(np.sum(tn * pn, axis=self.axis))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


def _centered(a: np.ndarray, axis: int) -> np.ndarray:
    return a - a.mean(axis=axis, keepdims=True)


def pearson_correlation(y_true: TensorLike, y_pred: TensorLike, axis: int = -1
                        ) -> np.ndarray:
    """Per sample: Pearson's r between y_true and y_pred along ``axis`` (Keras 3).

    Example:
        >>> pearson_correlation([[0, 1, 0.5], [1, 1, 0.2]], [[0.1, 0.9, 0.5], [1, 0.9, 0.2]])
        array([1.        , 0.99339927])
    """
    t, p = _f64(_np(y_true), _np(y_pred), "pearson_correlation")
    tn, pn = _centered(t, axis), _centered(p, axis)
    tn = tn / tn.std(axis=axis, keepdims=True)
    pn = pn / pn.std(axis=axis, keepdims=True)
    return np.mean(tn * pn, axis=axis)


def concordance_correlation(y_true: TensorLike, y_pred: TensorLike, axis: int = -1
                            ) -> np.ndarray:
    """Per sample: Lin's concordance correlation along ``axis``,
    2·cov(y, ŷ) / (var y + var ŷ + (mean y − mean ŷ)² + ε).

    Keras 3.15 centres y_true on ŷ's mean in the covariance (``(y − mean ŷ)(ŷ − mean ŷ)``),
    which is not the coefficient (it is not even symmetric); this is Lin's formula, equal
    to Keras's where the two means agree.

    Example:
        >>> concordance_correlation([[0, 1, 0.5]], [[0, 1, 0.5]]).round(6)
        array([1.])
    """
    t, p = _f64(_np(y_true), _np(y_pred), "concordance_correlation")
    tm, pm = t.mean(axis=axis, keepdims=True), p.mean(axis=axis, keepdims=True)
    cov = ((t - tm) * (p - pm)).mean(axis=axis, keepdims=True)
    norm = t.var(axis=axis, keepdims=True) + p.var(axis=axis, keepdims=True) + (tm - pm) ** 2
    return np.squeeze(2 * cov / (norm + epsilon()), axis=axis)


class PearsonCorrelation(_MeanMetric):
    """Running mean of each sample's Pearson r along ``axis`` (Keras's metric).

    Example:
        >>> round(PearsonCorrelation()([[0, 1, 0.5], [1, 1, 0.2]],
        ...                            [[0.1, 0.9, 0.5], [1, 0.9, 0.2]]), 6)
        0.9967
    """

    name = "pearson_correlation"

    def __init__(self, name: str | None = None, axis: int = -1) -> None:
        self.axis = int(axis)
        super().__init__(name)

    def _values(self, y_true: Any, y_pred: Any) -> np.ndarray:
        return pearson_correlation(y_true, y_pred, self.axis)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


class ConcordanceCorrelation(PearsonCorrelation):
    """Running mean of each sample's concordance correlation along ``axis`` (Lin's; see
    :func:`concordance_correlation` for where Keras 3.15's differs)."""

    name = "concordance_correlation"

    def _values(self, y_true: Any, y_pred: Any) -> np.ndarray:
        return concordance_correlation(y_true, y_pred, self.axis)


# ---------------------------------------------------------------- lowercase functions
def binary_accuracy(y_true: TensorLike, y_pred: TensorLike, threshold: float = 0.5
                    ) -> np.ndarray:
    """Per-sample mean of (y_pred > threshold) == y_true over the last axis.

    Example:
        >>> binary_accuracy([[1], [0]], [[0.7], [0.6]])
        array([1., 0.])
    """
    p = _np(y_pred)
    t = _match(_np(y_true), p, "binary_accuracy")
    if p.ndim > 1:
        return np.asarray(np.mean((p > threshold) == (t > 0.5), axis=-1, dtype=np.float64))
    return ((p > threshold) == (t > 0.5)).astype(np.float64)


def categorical_accuracy(y_true: TensorLike, y_pred: TensorLike) -> np.ndarray:
    """Per sample: 1.0 where argmax(y_pred) == argmax(y_true) (one-hot labels)."""
    return (_np(y_true).argmax(-1) == _np(y_pred).argmax(-1)).astype(np.float64)


def sparse_categorical_accuracy(y_true: TensorLike, y_pred: TensorLike) -> np.ndarray:
    """Per sample: 1.0 where argmax(y_pred) equals the integer label."""
    p = _np(y_pred)
    t = _np(y_true).reshape(p.shape[:-1])
    return (p.argmax(-1) == t.astype(np.int64)).astype(np.float64)


def top_k_categorical_accuracy(y_true: TensorLike, y_pred: TensorLike, k: int = 5
                               ) -> np.ndarray:
    """Per sample: 1.0 where the true class (one-hot) is among the k highest scores."""
    return sparse_top_k_categorical_accuracy(_np(y_true).argmax(-1), y_pred, k)


def sparse_top_k_categorical_accuracy(y_true: TensorLike, y_pred: TensorLike, k: int = 5
                                      ) -> np.ndarray:
    """Per sample: 1.0 where the integer label is among the k highest scores."""
    p = _np(y_pred)
    t = _np(y_true).reshape(p.shape[:-1]).astype(np.int64)
    true_score = np.take_along_axis(p, t[..., None], axis=-1)
    return ((p > true_score).sum(-1) < k).astype(np.float64)


def mean_squared_error(y_true: TensorLike, y_pred: TensorLike) -> np.ndarray:
    """Per-sample mean of (y − ŷ)² over the last axis."""
    t, p = _f64(_np(y_true), _np(y_pred), "mean_squared_error")
    return np.mean((t - p) ** 2, axis=-1)


def mean_absolute_error(y_true: TensorLike, y_pred: TensorLike) -> np.ndarray:
    """Per-sample mean of |y − ŷ| over the last axis."""
    t, p = _f64(_np(y_true), _np(y_pred), "mean_absolute_error")
    return np.mean(np.abs(t - p), axis=-1)


def mean_absolute_percentage_error(y_true: TensorLike, y_pred: TensorLike) -> np.ndarray:
    """Per-sample mean of 100·|y − ŷ| / max(|y|, ε) over the last axis (Keras)."""
    t, p = _f64(_np(y_true), _np(y_pred), "mean_absolute_percentage_error")
    return 100.0 * np.mean(np.abs(t - p) / np.maximum(np.abs(t), epsilon()), axis=-1)


def mean_squared_logarithmic_error(y_true: TensorLike, y_pred: TensorLike) -> np.ndarray:
    """Per-sample mean of (log1p(max(ŷ,ε)) − log1p(max(y,ε)))² over the last axis (Keras)."""
    t, p = _f64(_np(y_true), _np(y_pred), "mean_squared_logarithmic_error")
    d = np.log1p(np.maximum(p, epsilon())) - np.log1p(np.maximum(t, epsilon()))
    return np.mean(d * d, axis=-1)


mse, mae, mape, msle = (mean_squared_error, mean_absolute_error,
                        mean_absolute_percentage_error, mean_squared_logarithmic_error)
