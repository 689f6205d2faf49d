"""The metric base: ``Metric``, the running-mean base and the array helpers every metric
module shares (NumPy on the host: metrics read ``asnumpy`` of GPU arrays)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._config import Configurable
from .backend import asnumpy
from .variables import Variable


def _np(a: Any) -> Any:  # an ndarray; None passes through (no sample_weight)
    if type(a) is np.ndarray or a is None:  # the common case first: every batch pays
        return a
    if hasattr(a, "data") and not isinstance(a, np.ndarray):
        a = a.data
    return asnumpy(a)


def _weights(sample_weight: Any, n: int, name: str) -> np.ndarray | None:
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
    """The values as they are, a trailing axis of 1 dropped ((N, 1) → (N,), (N, T, 1) →
    (N, T)): :func:`_accumulate` averages what is left per sample, after any per-step
    weights or mask."""
    if a.ndim >= 2 and a.shape[-1] == 1:
        return a.reshape(a.shape[:-1])
    return a


def _mask_of(y_pred: Any) -> Any:
    """The mask a masking layer attached to a prediction tensor (Keras's ``_keras_mask``)."""
    from .tensor import Tensor, get_mask

    m = get_mask(y_pred)
    return None if m is None else asnumpy(m.data if isinstance(m, Tensor) else m)


def masked_weights(sample_weight: Any, mask: Any) -> Any:
    """``sample_weight`` with a (batch, steps) mask merged in (Keras 3's ``apply_mask`` for
    metrics): the mask itself where there are no weights; per-sample weights spread over the
    steps. None stays None when there is no mask either."""
    if mask is None:
        return sample_weight
    from .losses import _mask_weights  # the loss's rule, without its mean's rescaling

    m = np.asarray(mask)
    return _mask_weights(None if sample_weight is None else _np(sample_weight), m, m.shape,
                         "sum", "metric", np.float64)


def _accumulate(metric: Any, v: np.ndarray, sample_weight: Any) -> None:
    """Add values ``v`` (one or more per sample) to a running mean's ``total`` and
    ``count``, as Keras 3's ``Mean`` does: each sample's values averaged, then weighted by
    its weight; weights with a time axis (a mask, per-step weights) weigh each step, the
    values averaged over the axes the weights do not have.

    Example:
        >>> class M: total = count = 0.0
        >>> m = M(); _accumulate(m, np.array([[1.0, 3.0], [5.0, 7.0]]), [[1, 0], [1, 1]])
        >>> m.total / m.count
        4.333333333333333
    """
    n = v.shape[0] if v.ndim else 1
    if sample_weight is None:
        if v.ndim > 1:
            v = v.reshape(n, -1).mean(axis=1, dtype=np.float64)
        # a hit/miss array (the accuracies) is counted: exact, and 4x faster than a sum
        metric.total += float(np.count_nonzero(v) if v.dtype == np.bool_
                              else v.sum(dtype=np.float64))
        metric.count += n
        return
    w = _np(sample_weight).astype(np.float64)
    if w.size == v.size:
        w = w.reshape(v.shape)
    else:
        while w.ndim > 1 and w.shape[-1] == 1:
            w = w.reshape(w.shape[:-1])
        if not (w.ndim and w.ndim < v.ndim and v.shape[:w.ndim] == w.shape):
            raise ValueError(
                f"{metric.name}: sample_weight must have one entry per sample ({n}) or "
                f"per value {v.shape}. Received: sample_weight shape {w.shape}"
            )
        v = v.mean(axis=tuple(range(w.ndim, v.ndim)), dtype=np.float64)
    vw = v * w
    if w.ndim > 1:  # per step: each sample's mean, as Keras reduces both
        metric.total += float(vw.reshape(n, -1).mean(axis=1).sum())
        metric.count += float(w.reshape(n, -1).mean(axis=1).sum())
    else:
        metric.total += float(vw.sum())
        metric.count += float(w.sum())


def _match(y_true: np.ndarray, y_pred: np.ndarray, name: str) -> np.ndarray:
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


def _track(self: Metric, name: str, value: Any) -> None:
    """``__setattr__`` of a metric of your own: a keras.Variable made by hand is state too,
    as in Keras 3 (reset_state puts it back to its first value). Built-in metrics keep
    plain attributes and skip this (it costs each attribute write ~0.4 us)."""
    if type(value) is Variable and "_state_variables" in self.__dict__ and not any(
            t is value for t, _ in self._state_variables):
        self._state_variables.append((value, np.array(value.data)))
    object.__setattr__(self, name, value)


class Metric(Configurable):
    """Base class: ``update_state(y_true, y_pred, sample_weight=None)``, ``result()``,
    ``reset_state()``, ``name``; ``get_config``/``from_config``/repr from ``Configurable``."""

    name = "metric"

    def __init__(self, name: str | None = None, dtype: Any = None, **kwargs: Any) -> None:
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected arguments {sorted(kwargs)}")
        if name is not None:
            self.name = name
        self._state_variables: list[tuple[Any, np.ndarray]] = []
        # glassnet's metrics make their state in reset_state; a metric written as Keras's
        # guides write one makes it with add_variable after this __init__, so its own
        # reset_state finds nothing yet (an AttributeError here, and only here, is that)
        try:
            self.reset_state()
        except AttributeError:
            if getattr(type(self).reset_state, "__module__", "").startswith("glassnet."):
                raise

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__module__.startswith("glassnet."):  # your own metric: see _track
            cls.__setattr__ = _track  # type: ignore[method-assign,assignment]

    def add_variable(self, shape: Any = (), initializer: Any = "zeros", dtype: Any = None,
                     name: str | None = None, **kwargs: Any) -> Any:
        """A state variable (Keras's ``Metric.add_variable``): a tensor to update with
        ``assign``/``assign_add``, put back to its initial value by the default
        :meth:`reset_state`.

        Example:
            >>> class Count(Metric):
            ...     def __init__(self):
            ...         super().__init__(name="count")
            ...         self.n = self.add_variable(shape=(), name="n")
            ...     def update_state(self, y_true, y_pred, sample_weight=None):
            ...         self.n.assign_add(len(y_true))
            ...     def result(self):
            ...         return self.n
            >>> c = Count(); c.update_state([1, 2], [1, 2]); float(c.result())
            2.0
        """
        from . import initializers
        from .tensor import Tensor

        shape = tuple(int(d) for d in (shape if isinstance(shape, (list, tuple)) else
                                       (() if shape is None else (shape,))))
        init = initializers.get(initializer)
        value = np.asarray(init(shape, dtype or "float32")
                           if shape else init((1,), dtype or "float32").reshape(()))
        t = Tensor._make(np.array(value))
        t.name = name
        self._state_variables.append((t, value.copy()))
        return t

    add_weight = add_variable  # Keras 2's name for it

    @property
    def variables(self) -> list[Any]:
        """The state variables made with :meth:`add_variable`."""
        return [t for t, _ in self._state_variables]

    def reset_state(self) -> None:
        """Put every :meth:`add_variable` variable back to its initial value."""
        for t, v0 in self.__dict__.get("_state_variables", ()):
            t.assign(v0)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        raise NotImplementedError

    def result(self) -> float | np.ndarray:
        """The running value: a float, or an array for a metric with one value per class
        or threshold (``F1Score(average=None)``, ``Precision(thresholds=[...])`` ...)."""
        raise NotImplementedError

    def get_config(self) -> dict:
        return {"name": self.name}

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None
                 ) -> float | np.ndarray:
        """Update with one batch and return the running result."""
        self.update_state(y_true, y_pred, sample_weight)
        return self.result()



class _MeanMetric(Metric):
    """Weighted running mean of per-sample values from ``_values(y_true, y_pred)``.

    A prediction tensor's mask (a padded sequence's) weighs its steps, as in Keras 3's
    ``MeanMetricWrapper``: the padded ones count for nothing.
    """

    uses_mask = True  # the training loop gives it the outputs' masks as weights

    def reset_state(self) -> None:
        self.total, self.count = 0.0, 0.0

    def _values(self, y_true: Any, y_pred: Any) -> np.ndarray:
        raise NotImplementedError

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        if self.uses_mask and not isinstance(y_pred, np.ndarray):
            sample_weight = masked_weights(sample_weight, _mask_of(y_pred))
        _accumulate(self, self._values(_np(y_true), _np(y_pred)), sample_weight)

    def result(self) -> float:
        return self.total / self.count if self.count else 0.0
