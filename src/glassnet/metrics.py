"""Stateful metrics (Keras style), computed on NumPy arrays with no graph.

    >>> m = gn.metrics.get("accuracy")
    >>> m.update_state(y_true, y_pred); m.result()   # float
    >>> m.reset_state()

``"accuracy"`` / ``"acc"`` resolves on the first update, as Keras does, from the shapes:
y_pred with one output → binary accuracy (threshold 0.5); y_true with one label per sample
(and several outputs) → sparse categorical accuracy; otherwise categorical accuracy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._losses_more import (  # noqa: F401 - Keras exports the losses' functions as metrics
    binary_focal_crossentropy,
    categorical_focal_crossentropy,
    categorical_hinge,
    poisson,
)
from ._metric_base import (  # noqa: F401
    Metric,
    _accumulate,
    _mask_of,
    _match,
    _MeanMetric,
    _np,
    _per_sample,
    _weights,
    masked_weights,
)
from ._metrics_curves import (  # noqa: F401
    AUC,
    FalseNegatives,
    FalsePositives,
    Precision,
    PrecisionAtRecall,
    Recall,
    RecallAtPrecision,
    SensitivityAtSpecificity,
    SpecificityAtSensitivity,
    TrueNegatives,
    TruePositives,
)
from ._metrics_losses import (  # noqa: F401
    BinaryCrossentropy,
    CategoricalCrossentropy,
    CategoricalHinge,
    Hinge,
    KLDivergence,
    Poisson,
    SparseCategoricalCrossentropy,
    SquaredHinge,
)
from ._metrics_more import (  # noqa: F401
    BinaryIoU,
    ConcordanceCorrelation,
    CosineSimilarity,
    F1Score,
    FBetaScore,
    IoU,
    LogCoshError,
    MeanAbsolutePercentageError,
    MeanIoU,
    MeanSquaredLogarithmicError,
    OneHotIoU,
    OneHotMeanIoU,
    PearsonCorrelation,
    R2Score,
    RootMeanSquaredError,
    binary_accuracy,
    categorical_accuracy,
    concordance_correlation,
    mae,
    mape,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    mse,
    msle,
    pearson_correlation,
    sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)
from ._registry import Registry
from .losses import (  # noqa: F401
    binary_crossentropy,
    categorical_crossentropy,
    hinge,
    huber,
    kl_divergence,
    log_cosh,
    sparse_categorical_crossentropy,
    squared_hinge,
)

__all__ = [
    "MeanMetricWrapper",
    "Metric", "Mean", "Sum", "Accuracy", "BinaryAccuracy", "CategoricalAccuracy",
    "SparseCategoricalAccuracy", "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy",
    "Precision", "Recall", "AUC", "TruePositives", "FalsePositives", "TrueNegatives",
    "FalseNegatives", "PrecisionAtRecall", "RecallAtPrecision", "SensitivityAtSpecificity",
    "SpecificityAtSensitivity", "F1Score", "FBetaScore", "MeanIoU", "R2Score",
    "MeanSquaredError", "MeanAbsoluteError", "RootMeanSquaredError",
    "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError", "LogCoshError",
    "CosineSimilarity", "binary_accuracy", "categorical_accuracy",
    "sparse_categorical_accuracy", "top_k_categorical_accuracy",
    "sparse_top_k_categorical_accuracy", "mean_squared_error", "mean_absolute_error",
    "mean_absolute_percentage_error", "mean_squared_logarithmic_error", "mse", "mae", "mape",
    "msle", "BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy",
    "KLDivergence", "Poisson", "Hinge", "SquaredHinge", "CategoricalHinge", "IoU", "BinaryIoU",
    "OneHotIoU", "OneHotMeanIoU", "PearsonCorrelation", "ConcordanceCorrelation",
    "pearson_correlation", "concordance_correlation",
    # the losses' per-sample functions, which Keras exports here too
    "binary_crossentropy", "binary_focal_crossentropy", "categorical_crossentropy",
    "categorical_focal_crossentropy", "sparse_categorical_crossentropy", "hinge",
    "squared_hinge", "categorical_hinge", "huber", "kl_divergence", "log_cosh", "poisson",
    "get", "serialize", "deserialize",
]


class Mean(Metric):
    """Running (weighted) mean of the values given to ``update_state(values)``.

    The training loop uses it for the loss.

    Example:
        >>> m = Mean(); m.update_state([1, 3]); m.result()
        2.0
    """

    name = "mean"

    def reset_state(self) -> None:
        self.total, self.count = 0.0, 0.0

    # Keras's Mean takes the values to average, not (y_true, y_pred)
    def update_state(self, values: Any, sample_weight: Any = None,  # type: ignore[override]
                     *args: Any) -> None:
        if isinstance(values, (float, int)) and sample_weight is None:  # the per-batch loss
            self.total += float(values)
            self.count += 1
            return
        v = _np(values)
        _accumulate(self, v if v.ndim else v.reshape(1), sample_weight)

    def result(self) -> float:
        return self.total / self.count if self.count else 0.0

    def __call__(self, values: Any, sample_weight: Any = None) -> float:  # type: ignore[override]
        self.update_state(values, sample_weight)
        return self.result()


class Sum(Mean):
    """Running sum of values."""

    name = "sum"

    def result(self) -> float:
        return self.total


class Accuracy(_MeanMetric):
    """Fraction of exact matches y_pred == y_true (Keras's ``Accuracy`` class)."""

    name = "accuracy"

    def _values(self, y_true: Any, y_pred: Any) -> np.ndarray:
        y_true = _match(y_true, y_pred, self.name)
        return _per_sample(y_true == y_pred)


class BinaryAccuracy(_MeanMetric):
    """Fraction of (y_pred > threshold) equal to y_true; mean over outputs per sample."""

    name = "binary_accuracy"

    def __init__(self, name: str | None = None, threshold: float = 0.5):
        self.threshold = float(threshold)
        super().__init__(name)

    def _values(self, y_true: Any, y_pred: Any) -> np.ndarray:
        y_true = _match(y_true, y_pred, self.name)
        return _per_sample((y_pred > self.threshold) == (y_true > 0.5))

    def get_config(self) -> dict:
        return {**super().get_config(), "threshold": self.threshold}


class CategoricalAccuracy(_MeanMetric):
    """argmax(y_pred) == argmax(y_true) with one-hot y_true."""

    name = "categorical_accuracy"

    def _values(self, y_true: Any, y_pred: Any) -> np.ndarray:
        if y_true.shape != y_pred.shape:
            raise ValueError(
                f"{self.name}: y_true must be one-hot with y_pred's shape. "
                f"Received: y_true shape {y_true.shape}, y_pred shape {y_pred.shape}"
            )
        return y_true.argmax(axis=-1) == y_pred.argmax(axis=-1)


class SparseCategoricalAccuracy(_MeanMetric):
    """argmax(y_pred) == integer label y_true ((N,) or (N, 1))."""

    name = "sparse_categorical_accuracy"

    def _values(self, y_true: Any, y_pred: Any) -> np.ndarray:
        t = y_true
        if t.ndim == y_pred.ndim and t.shape[-1] == 1:
            t = t.reshape(t.shape[:-1])
        if t.shape != y_pred.shape[:-1]:
            raise ValueError(
                f"{self.name}: y_true must hold one label per sample, shape {y_pred.shape[:-1]}. "
                f"Received: y_true shape {y_true.shape}, y_pred shape {y_pred.shape}"
            )
        return y_pred.argmax(axis=-1) == t.astype(np.int64, copy=False)


class TopKCategoricalAccuracy(_MeanMetric):
    """1 when the true class is among the k highest scores (one-hot y_true)."""

    name = "top_k_categorical_accuracy"

    def __init__(self, k: int = 5, name: str | None = None):
        if int(k) < 1:
            raise ValueError(f"TopKCategoricalAccuracy: k must be >= 1. Received: k={k}")
        self.k = int(k)
        super().__init__(name)

    def _labels(self, y_true: Any, y_pred: Any) -> np.ndarray:
        return y_true.argmax(axis=-1)

    def _values(self, y_true: Any, y_pred: Any) -> np.ndarray:
        t = self._labels(y_true, y_pred).astype(np.int64)
        true_score = np.take_along_axis(y_pred, t[..., None], axis=-1)
        # rank = number of classes scoring strictly higher than the true one
        rank = (y_pred > true_score).sum(axis=-1)
        return rank < self.k

    def get_config(self) -> dict:
        return {**super().get_config(), "k": self.k}


class SparseTopKCategoricalAccuracy(TopKCategoricalAccuracy):
    """Top-k accuracy with integer labels."""

    name = "sparse_top_k_categorical_accuracy"

    def _labels(self, y_true: Any, y_pred: Any) -> np.ndarray:
        return y_true.reshape(y_pred.shape[:-1])


class MeanSquaredError(_MeanMetric):
    """Running mean of mean((y − ŷ)²) per sample."""

    name = "mean_squared_error"

    def _values(self, y_true: Any, y_pred: Any) -> np.ndarray:
        d = _match(y_true, y_pred, self.name).astype(np.float64) - y_pred
        return _per_sample(d * d)


class MeanAbsoluteError(_MeanMetric):
    """Running mean of mean(|y − ŷ|) per sample."""

    name = "mean_absolute_error"

    def _values(self, y_true: Any, y_pred: Any) -> np.ndarray:
        return _per_sample(np.abs(_match(y_true, y_pred, self.name).astype(np.float64) - y_pred))


class _AutoAccuracy(_MeanMetric):
    """``"accuracy"``: binary / sparse categorical / categorical, chosen from the shapes."""

    name = "accuracy"

    def reset_state(self) -> None:
        super().reset_state()
        if not hasattr(self, "_kind"):
            self._kind: Any = None  # the accuracy the first batch's shapes choose

    def _resolve(self, y_true: Any, y_pred: Any) -> Metric:
        if y_pred.ndim <= 1 or y_pred.shape[-1] == 1:
            return BinaryAccuracy()
        if y_true.ndim < y_pred.ndim or y_true.shape[-1] == 1:
            return SparseCategoricalAccuracy()
        return CategoricalAccuracy()

    def _values(self, y_true: Any, y_pred: Any) -> np.ndarray:
        if self._kind is None:
            self._kind = self._resolve(y_true, y_pred)
        return self._kind._values(y_true, y_pred)


_TABLE: dict[str, type] = {
    "accuracy": _AutoAccuracy,
    "acc": _AutoAccuracy,
    "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "precision": Precision,
    "recall": Recall,
    "auc": AUC,
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError,
    "mae": MeanAbsoluteError,
    "mean": Mean,
    "sum": Sum,
    "true_positives": TruePositives,
    "false_positives": FalsePositives,
    "true_negatives": TrueNegatives,
    "false_negatives": FalseNegatives,
    "f1_score": F1Score,
    "fbeta_score": FBetaScore,
    "r2_score": R2Score,
    "root_mean_squared_error": RootMeanSquaredError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "mape": MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
    "msle": MeanSquaredLogarithmicError,
    "logcosh": LogCoshError,
    "cosine_similarity": CosineSimilarity,
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "kl_divergence": KLDivergence,
    "kld": KLDivergence,
    "poisson": Poisson,
    "hinge": Hinge,
    "squared_hinge": SquaredHinge,
    "categorical_hinge": CategoricalHinge,
    "binary_io_u": BinaryIoU,
    "pearson_correlation": PearsonCorrelation,
    "concordance_correlation": ConcordanceCorrelation,
}
# need a constructor argument, so reachable by class name / config only (as in Keras)
_NEEDS_ARGS = (PrecisionAtRecall, RecallAtPrecision, SensitivityAtSpecificity,
               SpecificityAtSensitivity, MeanIoU, IoU, OneHotIoU, OneHotMeanIoU)
_BY_CLASS = {cls.__name__: cls for cls in _TABLE.values() if cls is not _AutoAccuracy}
_BY_CLASS["Accuracy"] = Accuracy
_BY_CLASS.update({cls.__name__: cls for cls in _NEEDS_ARGS})


class MeanMetricWrapper(Metric):
    """Running mean of ``fn(y_true, y_pred)``: a plain function used as a metric (Keras's
    ``MeanMetricWrapper``; ``compile(metrics=[my_fn])`` wraps it).

    Args:
        fn: ``fn(y_true, y_pred, **kwargs)`` returning one value per sample (or one value);
            it receives NumPy arrays and may return an array or a glassnet Tensor.
        name: the name in the logs (default: the function's name).

    Example:
        >>> m = MeanMetricWrapper(lambda t, p: abs(p - t), name="err")
        >>> m.update_state(np.zeros(2), np.array([1.0, 3.0])); m.result()
        2.0
    """

    def __init__(self, fn: Any, name: str | None = None, **kwargs: Any) -> None:
        self._fn, self._kwargs = fn, kwargs
        super().__init__(name or getattr(fn, "__name__", "metric"))

    def reset_state(self) -> None:
        self.total, self.count = 0.0, 0.0

    uses_mask = True  # the training loop gives it the outputs' masks as weights

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        if not isinstance(y_pred, np.ndarray):
            sample_weight = masked_weights(sample_weight, _mask_of(y_pred))
        v = _np(self._fn(_np(y_true), _np(y_pred), **self._kwargs)).astype(np.float64)
        _accumulate(self, _per_sample(v) if v.ndim else v.reshape(1), sample_weight)

    def result(self) -> float:
        return self.total / self.count if self.count else 0.0

    def get_config(self) -> dict:
        return {"name": self.name}


# a name resolves through _TABLE first ("accuracy" is the auto-picking accuracy), a config's
# class name through _BY_CLASS first ("Accuracy" is the class); a plain function is wrapped in
# its running mean, as Keras wraps it
_REGISTRY = Registry("metric", _TABLE, _BY_CLASS, Metric, wrap=MeanMetricWrapper,
                     keep_names=True, expected="a name, config dict or Metric")


def get(identifier: Any) -> Metric:
    """Resolve a metric: name, class name, ``{"class_name", "config"}`` or instance.

    Example:
        >>> get("accuracy").name   # "acc" keeps the name "acc" in logs, as Keras
        'accuracy'
    """
    m = _REGISTRY.get(identifier)
    if isinstance(identifier, str) and identifier.lower() == "acc":
        m.name = "acc"
    return m


def serialize(metric: Any) -> str | dict:
    """Name (for ``"accuracy"``) or ``{"class_name", "config"}`` of a metric."""
    if isinstance(metric, _AutoAccuracy):
        return metric.name
    return _REGISTRY.serialize(metric)


deserialize = get
