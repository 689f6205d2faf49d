"""Threshold metrics with Keras 3's names, arguments and formulas: Precision/Recall at
``thresholds``, ``top_k`` and ``class_id``; the four counts; PrecisionAtRecall and its family;
AUC (ROC/PR, three summation methods, ``multi_label``). Exported from :mod:`glassnet.metrics`.

A metric given a list of thresholds returns a NumPy array (one value each), as Keras.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ._metric_base import Metric, _match, _np, _weights
from .config import epsilon

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import ArrayLike

    _Thresholds = float | list[float] | tuple[float, ...] | None

_NEG_INF = -1e10   # Keras's metrics_utils.NEG_INF


def _div(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """Keras's divide_no_nan: a / b, 0 where b == 0."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.divide(a, b, out=np.zeros(np.broadcast(a, b).shape), where=b != 0)


def _filter_top_k(p: np.ndarray, k: int) -> np.ndarray:
    """Keep the k largest scores of the last axis, set the others to NEG_INF (as Keras)."""
    idx = np.argsort(-p, axis=-1, kind="stable")[..., :k]
    out = np.full_like(p, _NEG_INF)
    np.put_along_axis(out, idx, np.take_along_axis(p, idx, axis=-1), axis=-1)
    return out


def _check_thresholds(thresholds: Sequence[float], cls: str) -> None:
    for t in thresholds:
        if not 0 <= t <= 1:
            raise ValueError(f"{cls}: thresholds must be in [0, 1]. Received: thresholds="
                             f"{thresholds}")


def _prepare(metric: Metric, y_true: Any, y_pred: Any, sample_weight: Any,
             top_k: int | None = None, class_id: int | None = None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """y_true as bool, y_pred, weights broadcast to y_pred: Keras's confusion preamble."""
    y_pred = _np(y_pred).astype(np.float64)
    y_true = _match(_np(y_true), y_pred, metric.name)
    if y_pred.ndim == 0:
        y_pred, y_true = y_pred.reshape(1), y_true.reshape(1)
    n = y_pred.shape[0]
    w = _weights(sample_weight, n, metric.name)
    w = (np.ones(y_pred.shape) if w is None
         else np.broadcast_to(w.reshape((n,) + (1,) * (y_pred.ndim - 1)), y_pred.shape))
    if top_k is not None:
        y_pred = _filter_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim < 2 or not 0 <= class_id < y_pred.shape[-1]:
            raise ValueError(f"{metric.name}: class_id {class_id} is out of range for "
                             f"y_pred shape {y_pred.shape}")
        y_true, y_pred, w = y_true[..., class_id], y_pred[..., class_id], w[..., class_id]
    return y_true != 0, y_pred, w


def _counts_sorted(t: np.ndarray, p: np.ndarray, w: np.ndarray, thresholds: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Weighted tp, fp, tn, fn at each of the ascending ``thresholds`` (pred > threshold)."""
    t, p, w = t.ravel(), p.ravel(), w.ravel()
    m = len(thresholds)
    idx = np.searchsorted(thresholds, p, side="left")  # how many thresholds are < p
    pos = np.bincount(idx, weights=w * t, minlength=m + 1)
    neg = np.bincount(idx, weights=w * ~t, minlength=m + 1)
    tp = np.cumsum(pos[::-1])[::-1][1:]   # p > threshold j  <=>  idx > j
    fp = np.cumsum(neg[::-1])[::-1][1:]
    return tp, fp, neg.sum() - fp, pos.sum() - tp


class _Thresholded(Metric):
    """tp/fp/tn/fn at ``thresholds`` (float or list), after ``top_k`` and ``class_id``."""

    def __init__(self, thresholds: _Thresholds = None, top_k: int | None = None,
                 class_id: int | None = None, name: str | None = None) -> None:
        cls = type(self).__name__
        if top_k is not None and int(top_k) < 1:
            raise ValueError(f"{cls}: top_k must be >= 1. Received: top_k={top_k}")
        self.init_thresholds = thresholds
        ts = [0.5 if top_k is None else _NEG_INF] if thresholds is None else (
            [float(t) for t in thresholds] if isinstance(thresholds, (list, tuple))
            else [float(thresholds)])
        if thresholds is not None:
            _check_thresholds(ts, cls)
        self._t = np.asarray(ts)
        self._order = np.argsort(self._t, kind="stable")
        self.top_k = None if top_k is None else int(top_k)
        self.class_id = None if class_id is None else int(class_id)
        super().__init__(name)

    def reset_state(self) -> None:
        self.tp, self.fp, self.tn, self.fn = (np.zeros(len(self._t)) for _ in range(4))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        t, p, w = _prepare(self, y_true, y_pred, sample_weight, self.top_k, self.class_id)
        c = _counts_sorted(t, p, w, self._t[self._order])
        for acc, v in zip((self.tp, self.fp, self.tn, self.fn), c):
            acc[self._order] += v

    def _out(self, r: np.ndarray) -> float | np.ndarray:
        return float(r[0]) if len(self._t) == 1 and not isinstance(
            self.init_thresholds, (list, tuple)) else r

    def get_config(self) -> dict[str, Any]:
        t = self.init_thresholds
        return {**super().get_config(), "thresholds": list(t) if isinstance(t, tuple) else t,
                "top_k": self.top_k, "class_id": self.class_id}


class Precision(_Thresholded):
    """TP / (TP + FP) at ``thresholds`` (default 0.5), as Keras.

    Args:
        thresholds: float or list of floats in [0, 1]; a list gives one result each.
        top_k: only the k highest scores of each sample count as predicted positive.
        class_id: the column to score (one class of a multi-label output).

    Example:
        >>> Precision(thresholds=[0.3, 0.7])([0, 1, 1], [0.4, 0.8, 0.5]).round(3)
        array([0.667, 1.   ])
    """

    name = "precision"

    def result(self) -> float | np.ndarray:
        return self._out(_div(self.tp, self.tp + self.fp))


class Recall(_Thresholded):
    """TP / (TP + FN) at ``thresholds`` (default 0.5), with ``top_k`` and ``class_id`` as
    :class:`Precision`."""

    name = "recall"

    def result(self) -> float | np.ndarray:
        return self._out(_div(self.tp, self.tp + self.fn))


class _Count(_Thresholded):
    _which = "tp"

    def __init__(self, thresholds: _Thresholds = None, name: str | None = None) -> None:
        super().__init__(thresholds, name=name)

    def result(self) -> float | np.ndarray:
        return self._out(getattr(self, self._which).copy())

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "thresholds": self.init_thresholds}


class TruePositives(_Count):
    """Weighted count of true positives at ``thresholds`` (default 0.5)."""

    name, _which = "true_positives", "tp"


class FalsePositives(_Count):
    """Weighted count of false positives at ``thresholds`` (default 0.5)."""

    name, _which = "false_positives", "fp"


class TrueNegatives(_Count):
    """Weighted count of true negatives at ``thresholds`` (default 0.5)."""

    name, _which = "true_negatives", "tn"


class FalseNegatives(_Count):
    """Weighted count of false negatives at ``thresholds`` (default 0.5)."""

    name, _which = "false_negatives", "fn"


def _even_thresholds(n: int) -> np.ndarray:
    inner = [(i + 1) / (n - 1) for i in range(n - 2)]
    return np.asarray([0.0 - epsilon()] + inner + [1.0 + epsilon()])


class _AtConstraint(Metric):
    """Keras's SensitivitySpecificityBase: counts at ``num_thresholds`` even thresholds."""

    _arg = "value"

    def __init__(self, value: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None) -> None:
        cls = type(self).__name__
        if not 0 <= float(value) <= 1:
            raise ValueError(f"{cls}: {self._arg} must be in [0, 1]. Received: {value}")
        if int(num_thresholds) < 1:
            raise ValueError(f"{cls}: num_thresholds must be > 0. Received: {num_thresholds}")
        self.value = float(value)
        self.num_thresholds = int(num_thresholds)
        self.class_id = None if class_id is None else int(class_id)
        self._t = (np.asarray([0.5]) if self.num_thresholds == 1
                   else _even_thresholds(self.num_thresholds))
        super().__init__(name)

    def reset_state(self) -> None:
        self.tp, self.fp, self.tn, self.fn = (np.zeros(len(self._t)) for _ in range(4))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        t, p, w = _prepare(self, y_true, y_pred, sample_weight, None, self.class_id)
        for acc, v in zip((self.tp, self.fp, self.tn, self.fn),
                          _counts_sorted(t, p, w, self._t)):
            acc += v

    def _max_where(self, constrained: np.ndarray, dependent: np.ndarray, ge: bool = True
                   ) -> float:
        ok = constrained >= self.value if ge else constrained <= self.value
        return float(np.max(np.where(ok, dependent, 0.0))) if ok.any() else 0.0

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, self._arg: self.value,
                "num_thresholds": self.num_thresholds, "class_id": self.class_id}


class PrecisionAtRecall(_AtConstraint):
    """Best precision over the thresholds whose recall is >= ``recall`` (Keras).

    Example:
        >>> round(PrecisionAtRecall(0.8)([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9]), 3)
        0.667
    """

    name, _arg = "precision_at_recall", "recall"

    def __init__(self, recall: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None) -> None:
        super().__init__(recall, num_thresholds, class_id, name)

    def result(self) -> float:
        return self._max_where(_div(self.tp, self.tp + self.fn),
                               _div(self.tp, self.tp + self.fp))


class RecallAtPrecision(_AtConstraint):
    """Best recall over the thresholds whose precision is >= ``precision`` (Keras)."""

    name, _arg = "recall_at_precision", "precision"

    def __init__(self, precision: float, num_thresholds: int = 200,
                 class_id: int | None = None, name: str | None = None) -> None:
        super().__init__(precision, num_thresholds, class_id, name)

    def result(self) -> float:
        return self._max_where(_div(self.tp, self.tp + self.fp),
                               _div(self.tp, self.tp + self.fn))


class SensitivityAtSpecificity(_AtConstraint):
    """Best sensitivity (recall) where specificity >= ``specificity`` (Keras)."""

    name, _arg = "sensitivity_at_specificity", "specificity"

    def __init__(self, specificity: float, num_thresholds: int = 200,
                 class_id: int | None = None, name: str | None = None) -> None:
        super().__init__(specificity, num_thresholds, class_id, name)

    def result(self) -> float:
        return self._max_where(_div(self.tn, self.tn + self.fp),
                               _div(self.tp, self.tp + self.fn))


class SpecificityAtSensitivity(_AtConstraint):
    """Best specificity where sensitivity (recall) >= ``sensitivity`` (Keras)."""

    name, _arg = "specificity_at_sensitivity", "sensitivity"

    def __init__(self, sensitivity: float, num_thresholds: int = 200,
                 class_id: int | None = None, name: str | None = None) -> None:
        super().__init__(sensitivity, num_thresholds, class_id, name)

    def result(self) -> float:
        return self._max_where(_div(self.tp, self.tp + self.fn),
                               _div(self.tn, self.tn + self.fp))


class AUC(Metric):
    """Area under the ROC or precision-recall curve, Keras's Riemann sum over thresholds.

    Args:
        num_thresholds: evenly spaced thresholds in [0, 1] (> 1); ignored with ``thresholds``.
        curve: ``"ROC"`` or ``"PR"``.
        summation_method: ``"interpolation"`` (trapezoids; PR: Davis & Goadrich's
            interpolation), ``"minoring"`` or ``"majoring"``.
        thresholds: explicit thresholds in [0, 1] (0−ε and 1+ε are added).
        multi_label: one curve per column (y: (N, L)), averaged (``label_weights``-weighted);
            otherwise all columns are pooled into one curve.
        num_labels: L, optional (taken from the first batch).
        label_weights: per-column weights (pooled: weights of the entries).
        from_logits: apply a sigmoid to y_pred first.

    Example:
        >>> round(AUC()([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 3)
        0.75
    """

    name = "auc"
    # the counts, one row per threshold (and a column per label with multi_label); None
    # until the first batch sizes them when multi_label has no num_labels
    tp: Any
    fp: Any
    tn: Any
    fn: Any

    def __init__(self, num_thresholds: int = 200, curve: str = "ROC",
                 summation_method: str = "interpolation", name: str | None = None,
                 thresholds: Sequence[float] | None = None, multi_label: bool = False,
                 num_labels: int | None = None, label_weights: ArrayLike | None = None,
                 from_logits: bool = False) -> None:
        if str(curve).upper() not in ("ROC", "PR"):
            raise ValueError(f"AUC: curve must be 'ROC' or 'PR'. Received: curve={curve!r}")
        if str(summation_method).lower() not in ("interpolation", "minoring", "majoring"):
            raise ValueError("AUC: summation_method must be 'interpolation', 'minoring' or "
                             f"'majoring'. Received: summation_method={summation_method!r}")
        if thresholds is not None:
            ts = sorted(float(t) for t in thresholds)
            _check_thresholds(ts, "AUC")
            self._t = np.asarray([0.0 - epsilon()] + ts + [1.0 + epsilon()])
            self.num_thresholds = len(ts) + 2
        else:
            if int(num_thresholds) <= 1:
                raise ValueError(f"AUC: num_thresholds must be > 1. Received: {num_thresholds}")
            self.num_thresholds = int(num_thresholds)
            self._t = _even_thresholds(self.num_thresholds)
        self.curve, self.summation_method = str(curve).upper(), str(summation_method).lower()
        self.multi_label, self.from_logits = bool(multi_label), bool(from_logits)
        self.num_labels = None if num_labels is None else int(num_labels)
        self.label_weights = (None if label_weights is None
                              else np.asarray(label_weights, np.float64).reshape(-1))
        self._init_thresholds = None if thresholds is None else [float(t) for t in thresholds]
        super().__init__(name)

    @property
    def thresholds(self) -> list:
        return self._t.tolist()

    def reset_state(self) -> None:
        shape = (self.num_thresholds,) + (
            (self.num_labels,) if self.multi_label and self.num_labels else ())
        if self.multi_label and not self.num_labels:
            self.tp = self.fp = self.tn = self.fn = None   # sized by the first batch
        else:
            self.tp, self.fp, self.tn, self.fn = (np.zeros(shape) for _ in range(4))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        t, p, w = _prepare(self, y_true, y_pred, sample_weight)
        if self.from_logits:
            p = 1 / (1 + np.exp(-p))
        lw = self.label_weights
        if self.multi_label:
            if p.ndim != 2:
                raise ValueError(f"{self.name}: multi_label needs y_pred of shape (N, labels). "
                                 f"Received: y_pred shape {p.shape}")
            L = p.shape[1]
            if self.tp is None:
                self.num_labels = L
                self.reset_state()
            if self.tp.shape[1] != L:
                raise ValueError(f"{self.name}: expected {self.tp.shape[1]} labels. Received: "
                                 f"y_pred shape {p.shape}")
            for j in range(L):
                for acc, v in zip((self.tp, self.fp, self.tn, self.fn),
                                  _counts_sorted(t[:, j], p[:, j], w[:, j], self._t)):
                    acc[:, j] += v
            return
        if lw is not None:
            w = w * np.broadcast_to(lw, p.shape)
        for acc, v in zip((self.tp, self.fp, self.tn, self.fn),
                          _counts_sorted(t, p, w, self._t)):
            acc += v

    def _aggregate(self, per_label: np.ndarray) -> float:
        if not self.multi_label:
            return float(per_label)
        by_label = per_label
        if self.label_weights is None:
            return float(np.mean(by_label))
        return float(_div(np.sum(by_label * self.label_weights), np.sum(self.label_weights)))

    def _interpolate_pr(self) -> float:
        tp, fp, fn = self.tp, self.fp, self.fn
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = _div(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        both = (p[:-1] > 0) & (p[1:] > 0)
        ratio = np.where(both, _div(p[:-1], np.maximum(p[1:], 0)), 1.0)
        inc = _div(slope * (dtp + intercept * np.log(np.where(ratio > 0, ratio, 1.0))),
                   np.maximum(tp[1:] + fn[1:], 0))
        return self._aggregate(np.sum(inc, axis=0))

    def result(self) -> float:
        if self.tp is None:
            return 0.0
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolate_pr()
        tp, fp, tn, fn = self.tp, self.fp, self.tn, self.fn
        recall = _div(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _div(fp, fp + tn), recall
        else:
            x, y = recall, _div(tp, tp + fp)
        if self.summation_method == "interpolation":
            h = (y[:-1] + y[1:]) / 2
        elif self.summation_method == "minoring":
            h = np.minimum(y[:-1], y[1:])
        else:
            h = np.maximum(y[:-1], y[1:])
        return self._aggregate(np.sum((x[:-1] - x[1:]) * h, axis=0))

    def get_config(self) -> dict[str, Any]:
        lw = None if self.label_weights is None else self.label_weights.tolist()
        return {"name": self.name, "num_thresholds": self.num_thresholds, "curve": self.curve,
                "summation_method": self.summation_method,
                "thresholds": self._init_thresholds, "multi_label": self.multi_label,
                "num_labels": self.num_labels, "label_weights": lw,
                "from_logits": self.from_logits}
