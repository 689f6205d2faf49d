"""Stateful metrics (Keras style), computed on NumPy arrays with no graph.

    >>> m = gn.metrics.get("accuracy")
    >>> m.update_state(y_true, y_pred); m.result()   # float
    >>> m.reset_state()

``"accuracy"`` / ``"acc"`` resolves on the first update, as Keras does, from the shapes:
y_pred with one output → binary accuracy (threshold 0.5); y_true with one label per sample
(and several outputs) → sparse categorical accuracy; otherwise categorical accuracy.
"""

from __future__ import annotations

import numpy as np

from .backend import asnumpy

__all__ = [
    "Metric", "Mean", "Sum", "Accuracy", "BinaryAccuracy", "CategoricalAccuracy",
    "SparseCategoricalAccuracy", "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy",
    "Precision", "Recall", "AUC",
    "MeanSquaredError", "MeanAbsoluteError", "get", "serialize", "deserialize",
]


def _np(a) -> np.ndarray:
    if a is None:
        return None
    if hasattr(a, "data") and not isinstance(a, np.ndarray):
        a = a.data
    return asnumpy(a)


def _weights(sample_weight, n, name):
    if sample_weight is None:
        return None
    w = _np(sample_weight).astype(np.float64).reshape(-1)
    if w.shape[0] != n:
        raise ValueError(
            f"{name}: sample_weight must have one entry per sample ({n}). "
            f"Received: sample_weight shape {w.shape}"
        )
    return w


def _per_sample(a: np.ndarray) -> np.ndarray:
    """Mean over every axis but the first (cheap paths for (N,) and (N, 1))."""
    if a.ndim <= 1:
        return a
    n = a.shape[0]
    k = a.size // max(n, 1)
    if k == 1:
        return a.reshape(n)
    return a.reshape(n, k).sum(axis=1, dtype=np.float64) / k


def _match(y_true, y_pred, name):
    """Bring y_true to y_pred's shape where they only differ by a trailing 1 (Keras)."""
    if y_true.shape != y_pred.shape:
        if y_true.size == y_pred.size and (
            y_true.shape + (1,) == y_pred.shape or y_true.shape == y_pred.shape + (1,)
        ):
            y_true = y_true.reshape(y_pred.shape)
        else:
            raise ValueError(
                f"{name}: y_true and y_pred shapes do not match. "
                f"Received: y_true shape {y_true.shape}, y_pred shape {y_pred.shape}"
            )
    return y_true


class Metric:
    """Base class: ``update_state(y_true, y_pred, sample_weight=None)``, ``result()``,
    ``reset_state()``, ``name``."""

    name = "metric"

    def __init__(self, name: str | None = None):
        if name is not None:
            self.name = name
        self.reset_state()

    def reset_state(self) -> None:
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        raise NotImplementedError

    def result(self) -> float:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __call__(self, y_true, y_pred, sample_weight=None) -> float:
        """Update with one batch and return the running result."""
        self.update_state(y_true, y_pred, sample_weight)
        return self.result()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class _MeanMetric(Metric):
    """Weighted running mean of per-sample values from ``_values(y_true, y_pred)``."""

    def reset_state(self):
        self.total, self.count = 0.0, 0.0

    def _values(self, y_true, y_pred) -> np.ndarray:
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None):
        v = self._values(_np(y_true), _np(y_pred)).reshape(-1)
        w = _weights(sample_weight, v.shape[0], self.name)
        if w is None:
            self.total += float(v.sum(dtype=np.float64))
            self.count += v.shape[0]
        else:
            self.total += float((v * w).sum())
            self.count += float(w.sum())

    def result(self):
        return self.total / self.count if self.count else 0.0


class Mean(Metric):
    """Running (weighted) mean of the values given to ``update_state(values)``.

    The training loop uses it for the loss.

    Example:
        >>> m = Mean(); m.update_state([1, 3]); m.result()
        2.0
    """

    name = "mean"

    def reset_state(self):
        self.total, self.count = 0.0, 0.0

    def update_state(self, values, sample_weight=None, *args):
        if isinstance(values, (float, int)) and sample_weight is None:  # the per-batch loss
            self.total += float(values)
            self.count += 1
            return
        v = _np(values).reshape(-1)
        w = _weights(sample_weight, v.shape[0], self.name) if sample_weight is not None else None
        if w is None:
            self.total += float(v.sum(dtype=np.float64))
            self.count += v.shape[0]
        else:
            self.total += float((v * w).sum())
            self.count += float(w.sum())

    def result(self):
        return self.total / self.count if self.count else 0.0

    def __call__(self, values, sample_weight=None):
        self.update_state(values, sample_weight)
        return self.result()


class Sum(Mean):
    """Running sum of values."""

    name = "sum"

    def result(self):
        return self.total


class Accuracy(_MeanMetric):
    """Fraction of exact matches y_pred == y_true (Keras's ``Accuracy`` class)."""

    name = "accuracy"

    def _values(self, y_true, y_pred):
        y_true = _match(y_true, y_pred, self.name)
        return _per_sample(y_true == y_pred)


class BinaryAccuracy(_MeanMetric):
    """Fraction of (y_pred > threshold) equal to y_true; mean over outputs per sample."""

    name = "binary_accuracy"

    def __init__(self, name: str | None = None, threshold: float = 0.5):
        self.threshold = float(threshold)
        super().__init__(name)

    def _values(self, y_true, y_pred):
        y_true = _match(y_true, y_pred, self.name)
        return _per_sample((y_pred > self.threshold) == (y_true > 0.5))

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold}


class CategoricalAccuracy(_MeanMetric):
    """argmax(y_pred) == argmax(y_true) with one-hot y_true."""

    name = "categorical_accuracy"

    def _values(self, y_true, y_pred):
        if y_true.shape != y_pred.shape:
            raise ValueError(
                f"{self.name}: y_true must be one-hot with y_pred's shape. "
                f"Received: y_true shape {y_true.shape}, y_pred shape {y_pred.shape}"
            )
        return y_true.argmax(axis=-1) == y_pred.argmax(axis=-1)


class SparseCategoricalAccuracy(_MeanMetric):
    """argmax(y_pred) == integer label y_true ((N,) or (N, 1))."""

    name = "sparse_categorical_accuracy"

    def _values(self, y_true, y_pred):
        t = y_true
        if t.ndim == y_pred.ndim and t.shape[-1] == 1:
            t = t.reshape(t.shape[:-1])
        if t.shape != y_pred.shape[:-1]:
            raise ValueError(
                f"{self.name}: y_true must hold one label per sample, shape {y_pred.shape[:-1]}. "
                f"Received: y_true shape {y_true.shape}, y_pred shape {y_pred.shape}"
            )
        return y_pred.argmax(axis=-1) == t.astype(np.int64)


class TopKCategoricalAccuracy(_MeanMetric):
    """1 when the true class is among the k highest scores (one-hot y_true)."""

    name = "top_k_categorical_accuracy"

    def __init__(self, k: int = 5, name: str | None = None):
        if int(k) < 1:
            raise ValueError(f"TopKCategoricalAccuracy: k must be >= 1. Received: k={k}")
        self.k = int(k)
        super().__init__(name)

    def _labels(self, y_true, y_pred):
        return y_true.argmax(axis=-1)

    def _values(self, y_true, y_pred):
        t = self._labels(y_true, y_pred).astype(np.int64)
        true_score = np.take_along_axis(y_pred, t[..., None], axis=-1)
        # rank = number of classes scoring strictly higher than the true one
        rank = (y_pred > true_score).sum(axis=-1)
        return rank < self.k

    def get_config(self):
        return {**super().get_config(), "k": self.k}


class SparseTopKCategoricalAccuracy(TopKCategoricalAccuracy):
    """Top-k accuracy with integer labels."""

    name = "sparse_top_k_categorical_accuracy"

    def _labels(self, y_true, y_pred):
        return y_true.reshape(y_pred.shape[:-1])


class _Confusion(Metric):
    """Counts of true/false positives and negatives at ``thresholds``."""

    def __init__(self, thresholds: float = 0.5, name: str | None = None):
        self.thresholds = float(thresholds)
        super().__init__(name)

    def reset_state(self):
        self.tp = self.fp = self.fn = 0.0

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = _np(y_pred)
        y_true = _match(_np(y_true), y_pred, self.name)
        pred = (y_pred > self.thresholds).reshape(y_pred.shape[0] if y_pred.ndim else 1, -1)
        true = (y_true > 0.5).reshape(pred.shape)
        w = _weights(sample_weight, pred.shape[0], self.name)
        w = np.ones(pred.shape[0]) if w is None else w
        w = w[:, None]
        self.tp += float((w * (pred & true)).sum())
        self.fp += float((w * (pred & ~true)).sum())
        self.fn += float((w * (~pred & true)).sum())

    def get_config(self):
        return {**super().get_config(), "thresholds": self.thresholds}


class Precision(_Confusion):
    """TP / (TP + FP) with predictions thresholded at ``thresholds`` (0.5)."""

    name = "precision"

    def result(self):
        d = self.tp + self.fp
        return self.tp / d if d else 0.0


class Recall(_Confusion):
    """TP / (TP + FN) with predictions thresholded at ``thresholds`` (0.5)."""

    name = "recall"

    def result(self):
        d = self.tp + self.fn
        return self.tp / d if d else 0.0


class AUC(Metric):
    """Area under the ROC (or PR) curve from ``num_thresholds`` evenly spaced thresholds
    (Keras's trapezoid approximation; matches sklearn's exact AUC to ~1e-3 for 200).

    Args:
        num_thresholds: number of thresholds in [0, 1] (≥ 2).
        curve: ``"ROC"`` or ``"PR"``.
    """

    name = "auc"

    def __init__(self, num_thresholds: int = 200, curve: str = "ROC",
                 name: str | None = None):
        if int(num_thresholds) < 2:
            raise ValueError(f"AUC: num_thresholds must be > 1. Received: {num_thresholds}")
        if curve.upper() not in ("ROC", "PR"):
            raise ValueError(f"AUC: curve must be 'ROC' or 'PR'. Received: curve={curve!r}")
        self.num_thresholds, self.curve = int(num_thresholds), curve.upper()
        eps = 1e-7
        inner = np.arange(1, self.num_thresholds - 1) / (self.num_thresholds - 1)
        self._thresholds = np.concatenate([[-eps], inner, [1 + eps]])
        super().__init__(name)

    def reset_state(self):
        n = self.num_thresholds
        self.tp, self.fp, self.tn, self.fn = (np.zeros(n) for _ in range(4))

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = _np(y_pred).astype(np.float64)
        y_true = _match(_np(y_true), y_pred, self.name)
        n = y_pred.shape[0] if y_pred.ndim else 1
        w = _weights(sample_weight, n, self.name)
        p = y_pred.reshape(n, -1)
        t = (y_true.reshape(n, -1) > 0.5)
        w = np.ones_like(p) if w is None else np.broadcast_to(w[:, None], p.shape)
        p, t, w = p.ravel(), t.ravel(), w.ravel()
        # bucket each prediction: counts above threshold j are suffix sums (no loop over data)
        idx = np.searchsorted(self._thresholds, p, side="left")  # thresholds < p
        pos = np.bincount(idx, weights=w * t, minlength=self.num_thresholds + 1)
        neg = np.bincount(idx, weights=w * ~t, minlength=self.num_thresholds + 1)
        pos_above = np.cumsum(pos[::-1])[::-1][1:]  # p > threshold j
        neg_above = np.cumsum(neg[::-1])[::-1][1:]
        tot_pos, tot_neg = pos.sum(), neg.sum()
        self.tp += pos_above
        self.fp += neg_above
        self.fn += tot_pos - pos_above
        self.tn += tot_neg - neg_above

    def result(self):
        tp, fp, tn, fn = self.tp, self.fp, self.tn, self.fn
        if self.curve == "ROC":
            tpr = np.divide(tp, tp + fn, out=np.zeros_like(tp), where=(tp + fn) > 0)
            fpr = np.divide(fp, fp + tn, out=np.zeros_like(fp), where=(fp + tn) > 0)
            return float(np.sum((fpr[:-1] - fpr[1:]) * (tpr[:-1] + tpr[1:]) / 2))
        prec = np.divide(tp, tp + fp, out=np.ones_like(tp), where=(tp + fp) > 0)
        rec = np.divide(tp, tp + fn, out=np.zeros_like(tp), where=(tp + fn) > 0)
        return float(np.sum((rec[:-1] - rec[1:]) * (prec[:-1] + prec[1:]) / 2))

    def get_config(self):
        return {**super().get_config(), "num_thresholds": self.num_thresholds,
                "curve": self.curve}


class MeanSquaredError(_MeanMetric):
    """Running mean of mean((y − ŷ)²) per sample."""

    name = "mean_squared_error"

    def _values(self, y_true, y_pred):
        d = _match(y_true, y_pred, self.name).astype(np.float64) - y_pred
        return _per_sample(d * d)


class MeanAbsoluteError(_MeanMetric):
    """Running mean of mean(|y − ŷ|) per sample."""

    name = "mean_absolute_error"

    def _values(self, y_true, y_pred):
        return _per_sample(np.abs(_match(y_true, y_pred, self.name).astype(np.float64) - y_pred))


class _AutoAccuracy(_MeanMetric):
    """``"accuracy"``: binary / sparse categorical / categorical, chosen from the shapes."""

    name = "accuracy"

    def reset_state(self):
        super().reset_state()
        if not hasattr(self, "_kind"):
            self._kind = None

    def _resolve(self, y_true, y_pred) -> Metric:
        if y_pred.ndim <= 1 or y_pred.shape[-1] == 1:
            return BinaryAccuracy()
        if y_true.ndim < y_pred.ndim or y_true.shape[-1] == 1:
            return SparseCategoricalAccuracy()
        return CategoricalAccuracy()

    def _values(self, y_true, y_pred):
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
}
_BY_CLASS = {cls.__name__: cls for cls in _TABLE.values() if cls is not _AutoAccuracy}
_BY_CLASS["Accuracy"] = Accuracy


def get(identifier) -> Metric:
    """Resolve a metric: name, class name, ``{"class_name", "config"}`` or instance.

    Example:
        >>> get("accuracy").name   # "acc" keeps the name "acc" in logs, as Keras
        'accuracy'
    """
    from .activations import _unknown

    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        cls = _TABLE.get(identifier.lower()) or _BY_CLASS.get(identifier)
        if cls is None:
            raise _unknown("metric", identifier, _TABLE)
        m = cls()
        if identifier.lower() == "acc":
            m.name = "acc"
        return m
    if isinstance(identifier, dict):
        name = identifier.get("class_name")
        cls = _BY_CLASS.get(name) or _TABLE.get(str(name).lower())
        if cls is None:
            raise _unknown("metric", name, _TABLE)
        return cls(**(identifier.get("config") or {}))
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    raise TypeError(
        "metric must be a name, config dict or Metric. "
        f"Received: {type(identifier).__name__} {identifier!r}"
    )


def serialize(metric) -> str | dict:
    """Name (for ``"accuracy"``) or ``{"class_name", "config"}`` of a metric."""
    if isinstance(metric, str):
        get(metric)
        return metric
    if isinstance(metric, _AutoAccuracy):
        return metric.name
    if not isinstance(metric, Metric) or type(metric).__name__ not in _BY_CLASS:
        raise ValueError(f"Only glassnet metrics can be serialized. Received: {metric!r}")
    return {"class_name": type(metric).__name__, "config": metric.get_config()}


deserialize = get
