"""Weight constraints (Keras names and formulas): projections applied after each update.

A constraint is called on a weight and returns the projected weight; the optimizer writes
it back into the weight after every step that updated it (Keras:
``variable.assign(variable.constraint(variable))``)::

    >>> c = gn.constraints.get("max_norm")            # MaxNorm(max_value=2, axis=0)
    >>> c(np.array([[3.0], [4.0]], "float32")).ravel().round(4)
    array([1.2, 1.6], dtype=float32)

Norms are taken over ``axis`` (for a Dense kernel ``(in, units)``, ``axis=0``: each unit's
incoming weights; for a Conv2D kernel, ``axis=[0, 1, 2]``: each filter), with Keras's
``epsilon`` (``gn.config.epsilon()``, 1e-7) in the denominator.
"""

from __future__ import annotations

from typing import Any

from . import config
from ._config import Configurable
from ._registry import Registry
from .backend import get_array_module
from .tensor import Tensor

__all__ = ["Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "max_norm",
           "min_max_norm", "non_neg", "unit_norm", "get", "serialize", "deserialize"]

_Axis = int | list[int] | tuple[int, ...]


def _number(cls: str, name: str, v: Any, low: float = 0.0, high: float | None = None) -> Any:
    ok = isinstance(v, (int, float)) and not isinstance(v, bool)
    if not ok or not low <= v or (high is not None and v > high):
        bound = f">= {low}" + (f" and <= {high}" if high is not None else "")
        raise ValueError(f"{cls}: {name} must be a number {bound}. Received: {name}={v!r}")
    return v


def _axis(cls: str, axis: Any) -> _Axis:
    if isinstance(axis, int) and not isinstance(axis, bool):
        return axis
    if isinstance(axis, (list, tuple)) and axis and all(
            isinstance(a, int) and not isinstance(a, bool) for a in axis):
        return axis
    raise ValueError(f"{cls}: axis must be an int or a list of ints. Received: axis={axis!r}")


class Constraint(Configurable):
    """Base class: ``constraint(w) -> projected w`` (the identity here); subclasses override
    :meth:`__call__` and :meth:`get_config`.

    Called on a NumPy/CuPy array it returns an array; on a tensor, a tensor.

    Example:
        >>> class NonNegative(gn.constraints.Constraint):
        ...     def __call__(self, w):
        ...         return w * (w >= 0)
        >>> NonNegative()(np.array([-1.0, 1.0]))
        array([-0.,  1.])
    """

    def __call__(self, w: Any) -> Any:
        if isinstance(w, Tensor):
            return Tensor._make(self._project(w.data))
        return self._project(w)

    def _project(self, w: Any) -> Any:
        """The projection of the array ``w`` (the identity in the base class)."""
        return w


def _norms(w: Any, axis: _Axis) -> Any:
    xp = get_array_module(w)
    ax = tuple(axis) if isinstance(axis, (list, tuple)) else axis
    return xp.sqrt(xp.sum(xp.square(w), axis=ax, keepdims=True))


class MaxNorm(Constraint):
    """Scale each unit's incoming weights down to a norm of at most ``max_value``.

    ``w * clip(norms, 0, max_value) / (epsilon + norms)``.

    Args:
        max_value: the largest norm allowed (>= 0).
        axis: the axis (or list of axes) the norms are taken over: 0 for a Dense kernel
            ``(in, units)``, ``[0, 1, 2]`` for a Conv2D kernel ``(kh, kw, in, filters)``.

    Example:
        >>> MaxNorm(1.0)(np.array([[3.0, 0.5], [4.0, 0.0]], "float32")).round(4)
        array([[0.6, 0.5],
               [0.8, 0. ]], dtype=float32)
    """

    def __init__(self, max_value: float = 2, axis: _Axis = 0) -> None:
        self.max_value = _number("MaxNorm", "max_value", max_value)
        self.axis = _axis("MaxNorm", axis)

    def _project(self, w: Any) -> Any:
        xp = get_array_module(w)
        norms = _norms(w, self.axis)
        desired = xp.clip(norms, 0, self.max_value)
        return (w * (desired / (config.epsilon() + norms))).astype(w.dtype, copy=False)

    def get_config(self) -> dict:
        return {"max_value": self.max_value, "axis": self.axis}


class MinMaxNorm(Constraint):
    """Rescale each unit's incoming weights towards a norm in ``[min_value, max_value]``.

    ``desired = rate * clip(norms, min_value, max_value) + (1 - rate) * norms``, then
    ``w * desired / (epsilon + norms)``.

    Args:
        min_value: the smallest norm (>= 0); max_value: the largest (>= min_value).
        rate: how far to move each step, in [0, 1] (1: onto the interval).
        axis: the axis (or list of axes) the norms are taken over (see :class:`MaxNorm`).

    Example:
        >>> MinMaxNorm(1.0, 2.0)(np.array([[0.3], [0.4]], "float32")).ravel().round(4)
        array([0.6, 0.8], dtype=float32)
    """

    def __init__(self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0,
                 axis: _Axis = 0) -> None:
        self.min_value = _number("MinMaxNorm", "min_value", min_value)
        self.max_value = _number("MinMaxNorm", "max_value", max_value, low=self.min_value)
        self.rate = _number("MinMaxNorm", "rate", rate, high=1.0)
        self.axis = _axis("MinMaxNorm", axis)

    def _project(self, w: Any) -> Any:
        xp = get_array_module(w)
        norms = _norms(w, self.axis)
        desired = (self.rate * xp.clip(norms, self.min_value, self.max_value)
                   + (1 - self.rate) * norms)
        return (w * (desired / (config.epsilon() + norms))).astype(w.dtype, copy=False)

    def get_config(self) -> dict:
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}


class NonNeg(Constraint):
    """Set the negative weights to zero: ``maximum(w, 0)``.

    Example:
        >>> NonNeg()(np.array([-1.0, 2.0], "float32"))
        array([0., 2.], dtype=float32)
    """

    def _project(self, w: Any) -> Any:
        return get_array_module(w).maximum(w, 0).astype(w.dtype, copy=False)


class UnitNorm(Constraint):
    """Scale each unit's incoming weights to norm 1: ``w / (epsilon + norms)``.

    Args:
        axis: the axis (or list of axes) the norms are taken over (see :class:`MaxNorm`).

    Example:
        >>> UnitNorm()(np.array([[3.0], [4.0]], "float32")).ravel().round(4)
        array([0.6, 0.8], dtype=float32)
    """

    def __init__(self, axis: _Axis = 0) -> None:
        self.axis = _axis("UnitNorm", axis)

    def _project(self, w: Any) -> Any:
        return (w / (config.epsilon() + _norms(w, self.axis))).astype(w.dtype, copy=False)

    def get_config(self) -> dict:
        return {"axis": self.axis}


# Keras's lowercase aliases are the classes themselves
max_norm, min_max_norm, non_neg, unit_norm = MaxNorm, MinMaxNorm, NonNeg, UnitNorm

_TABLE: dict[str, type] = {"max_norm": MaxNorm, "min_max_norm": MinMaxNorm,
                           "non_neg": NonNeg, "unit_norm": UnitNorm, "constraint": Constraint}
_BY_CLASS = {c.__name__: c for c in (Constraint, MaxNorm, MinMaxNorm, NonNeg, UnitNorm)}
_REGISTRY = Registry("constraint", _TABLE, _BY_CLASS, Constraint, wrap=lambda fn: fn,
                     default=lambda: None,
                     expected="None, a name, config dict, Constraint or callable")


def get(identifier: Any) -> Constraint | Any | None:
    """Resolve a constraint: None, a name (``"max_norm"``, ``"NonNeg"``), a config dict
    (``{"class_name", "config"}``, Keras's serialized form too), an instance, or a callable
    (returned as-is).

    Example:
        >>> get({"class_name": "MaxNorm", "config": {"max_value": 3}}).max_value
        3
    """
    return _REGISTRY.get(identifier)


def serialize(constraint: Constraint | str | None) -> dict | None:
    """``{"class_name", "config"}`` of a constraint, or None.

    Example:
        >>> serialize(NonNeg())
        {'class_name': 'NonNeg', 'config': {}}
    """
    if constraint is None:
        return None
    return _REGISTRY.serialize(constraint)


deserialize = get
