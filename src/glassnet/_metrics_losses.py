"""Loss functions as running-mean metrics, Keras's ``keras.metrics.BinaryCrossentropy`` and
kin: each batch's per-sample losses (the loss's own ``call``, in float64, no graph) are
averaged, sample-weighted, over everything seen since ``reset_state``. Exported from
:mod:`glassnet.metrics`."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._metric_base import _MeanMetric, _np, _per_sample

__all__ = ["BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy",
           "KLDivergence", "Poisson", "Hinge", "SquaredHinge", "CategoricalHinge"]


class _LossMetric(_MeanMetric):
    _loss = ""          # class name in glassnet.losses
    _args: tuple = ()   # constructor arguments forwarded to the loss (also the config)

    def __init__(self, name: str | None = None, **kwargs: Any) -> None:
        unknown = set(kwargs) - set(self._args)
        if unknown:
            raise TypeError(f"{type(self).__name__}: unexpected arguments {sorted(unknown)}; "
                            f"it takes {list(self._args) or 'only name'}")
        defaults = dict(self._defaults())
        defaults.update(kwargs)
        for k, v in defaults.items():
            setattr(self, k, v)
        super().__init__(name)

    def _defaults(self) -> dict:
        return {}

    def _values(self, y_true: Any, y_pred: Any) -> np.ndarray:
        from . import losses
        from .tensor import Tensor

        loss = getattr(losses, self._loss)(**{k: getattr(self, k) for k in self._args})
        p = Tensor._make(np.asarray(_np(y_pred), dtype=np.float64))
        per = loss.call(np.asarray(y_true), p).data
        return _per_sample(np.asarray(per, dtype=np.float64))

    def get_config(self) -> dict:
        return {**super().get_config(), **{k: getattr(self, k) for k in self._args}}


class BinaryCrossentropy(_LossMetric):
    """Running mean of the binary cross-entropy (Keras's metric; ``from_logits``,
    ``label_smoothing`` as the loss).

    Example:
        >>> round(BinaryCrossentropy()([[0, 1]], [[0.4, 0.6]]), 3)
        0.511
    """

    name, _loss, _args = "binary_crossentropy", "BinaryCrossentropy", (
        "from_logits", "label_smoothing")

    def _defaults(self) -> dict:
        return {"from_logits": False, "label_smoothing": 0.0}


class CategoricalCrossentropy(_LossMetric):
    """Running mean of the categorical cross-entropy (one-hot targets)."""

    name, _loss, _args = "categorical_crossentropy", "CategoricalCrossentropy", (
        "from_logits", "label_smoothing", "axis")

    def _defaults(self) -> dict:
        return {"from_logits": False, "label_smoothing": 0.0, "axis": -1}


class SparseCategoricalCrossentropy(_LossMetric):
    """Running mean of the sparse categorical cross-entropy (integer labels)."""

    name, _loss, _args = ("sparse_categorical_crossentropy", "SparseCategoricalCrossentropy",
                          ("from_logits",))

    def _defaults(self) -> dict:
        return {"from_logits": False}


class KLDivergence(_LossMetric):
    """Running mean of Σ y·log(y/ŷ)."""

    name, _loss = "kl_divergence", "KLDivergence"


class Poisson(_LossMetric):
    """Running mean of mean(ŷ − y·log(ŷ + ε))."""

    name, _loss = "poisson", "Poisson"


class Hinge(_LossMetric):
    """Running mean of the hinge loss (0/1 labels become −1/+1)."""

    name, _loss = "hinge", "Hinge"


class SquaredHinge(_LossMetric):
    """Running mean of the squared hinge loss."""

    name, _loss = "squared_hinge", "SquaredHinge"


class CategoricalHinge(_LossMetric):
    """Running mean of the categorical hinge loss."""

    name, _loss = "categorical_hinge", "CategoricalHinge"
