"""Weight regularizers: penalties added to the loss (Keras names, default factor 0.01).

A regularizer is called on a weight tensor and returns a scalar tensor::

    >>> reg = gn.regularizers.get("l2")          # L2(0.01): 0.01 * sum(w**2)
    >>> penalty = reg(layer.kernel)
"""

from __future__ import annotations

from typing import Any

from . import ops
from ._config import Configurable
from ._registry import Registry
from .tensor import Tensor, as_tensor

__all__ = ["Regularizer", "L1", "L2", "L1L2", "l1", "l2", "l1_l2", "get", "serialize",
           "deserialize"]


def _factor(name: str, v: float) -> float:
    try:
        v = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number. Received: {v!r}") from None
    if v < 0:
        raise ValueError(f"{name} must be >= 0. Received: {name}={v}")
    return v


class Regularizer(Configurable):
    """Base class: ``reg(w: Tensor) -> scalar Tensor``; ``get_config()`` for saving."""

    def __call__(self, w: Tensor) -> Tensor:
        raise NotImplementedError


class L1L2(Regularizer):
    """l1·Σ|w| + l2·Σw². Defaults to no penalty (as Keras's L1L2 class)."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1, self.l2 = _factor("l1", l1), _factor("l2", l2)

    def __call__(self, w: Tensor) -> Tensor:
        w = w if isinstance(w, Tensor) else as_tensor(w)
        out = None
        if self.l1:
            out = ops.sum(ops.abs(w)) * self.l1
        if self.l2:
            t = ops.sum(w * w) * self.l2
            out = t if out is None else out + t
        if out is None:
            out = ops.sum(w) * 0.0
        return out

    def get_config(self) -> dict:
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """l1·Σ|w| (lasso; drives weights to exactly zero). Default l1 = 0.01."""

    def __init__(self, l1: float = 0.01):
        super().__init__(l1=l1)

    def get_config(self) -> dict:
        return {"l1": self.l1}


class L2(L1L2):
    """l2·Σw² (weight decay / ridge). Default l2 = 0.01."""

    def __init__(self, l2: float = 0.01):
        super().__init__(l2=l2)

    def get_config(self) -> dict:
        return {"l2": self.l2}


def l1(l1: float = 0.01) -> L1:  # noqa: D103 - Keras alias
    return L1(l1)


def l2(l2: float = 0.01) -> L2:  # noqa: D103
    return L2(l2)


def l1_l2(l1: float = 0.01, l2: float = 0.01) -> L1L2:
    """Both penalties; the name ``"l1_l2"`` uses 0.01 for each (as Keras)."""
    return L1L2(l1, l2)


_TABLE: dict[str, type] = {"l1": L1, "l2": L2, "l1_l2": L1L2, "l1l2": L1L2}
_BY_CLASS = {"L1": L1, "L2": L2, "L1L2": L1L2}
_REGISTRY = Registry("regularizer", _TABLE, _BY_CLASS, Regularizer, wrap=lambda fn: fn,
                     default=lambda: None,
                     expected="None, a name, config dict, Regularizer or callable")


def get(identifier: Any) -> Regularizer | None:
    """Resolve a regularizer: None, name, ``{"class_name", "config"}``, instance or callable."""
    if isinstance(identifier, str) and identifier.lower() in ("l1_l2", "l1l2"):
        return L1L2(0.01, 0.01)  # the name is l1_l2()'s 0.01 each; the class defaults to 0
    return _REGISTRY.get(identifier)


def serialize(reg: Regularizer | None) -> dict | None:
    """``{"class_name", "config"}`` of a regularizer, or None."""
    if reg is None:
        return None
    return _REGISTRY.serialize(get(reg) if isinstance(reg, str) else reg)


deserialize = get
