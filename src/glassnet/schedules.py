"""Learning-rate schedules: callables ``schedule(step) -> learning rate`` (Keras semantics).

Pass one as an optimizer's ``learning_rate``; the optimizer calls it with its iteration
count (0 on the first step). Any plain ``callable(step) -> float`` works too.

    >>> lr = ExponentialDecay(0.1, decay_steps=100, decay_rate=0.5)
    >>> opt = gn.optimizers.SGD(learning_rate=lr)
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from typing import Any

from ._config import Configurable
from ._registry import Registry

__all__ = [
    "LearningRateSchedule", "ExponentialDecay", "PiecewiseConstantDecay", "CosineDecay",
    "InverseTimeDecay", "get", "serialize", "deserialize",
]


def _pos(name: str, v: float, allow_zero: bool = False) -> float:
    v = float(v)
    if v < 0 or (v == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}. Received: {v}")
    return v


class LearningRateSchedule(Configurable):
    """Base class: ``__call__(step) -> float`` and ``get_config()``."""

    def __call__(self, step: float) -> float:
        raise NotImplementedError


class ExponentialDecay(LearningRateSchedule):
    """lr₀ · rate^(step / decay_steps); ``staircase`` floors the exponent."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float,
                 staircase: bool = False):
        self.initial_learning_rate = _pos("initial_learning_rate", initial_learning_rate, True)
        self.decay_steps = _pos("decay_steps", decay_steps)
        self.decay_rate = _pos("decay_rate", decay_rate)
        self.staircase = bool(staircase)

    def __call__(self, step: float) -> float:
        p = float(step) / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_learning_rate * self.decay_rate**p

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase}


class PiecewiseConstantDecay(LearningRateSchedule):
    """values[i] while boundaries[i−1] < step ≤ boundaries[i] (Keras's inclusive bounds)."""

    def __init__(self, boundaries: Sequence[float], values: Sequence[float]) -> None:
        boundaries, values = list(boundaries), [float(v) for v in values]
        if len(values) != len(boundaries) + 1:
            raise ValueError(
                "PiecewiseConstantDecay needs len(values) == len(boundaries) + 1. "
                f"Received: {len(boundaries)} boundaries, {len(values)} values"
            )
        if boundaries != sorted(boundaries):
            raise ValueError(f"boundaries must be increasing. Received: {boundaries}")
        self.boundaries, self.values = boundaries, values

    def __call__(self, step: float) -> float:
        return self.values[bisect.bisect_left(self.boundaries, step)]

    def get_config(self) -> dict:
        return {"boundaries": self.boundaries, "values": self.values}


class CosineDecay(LearningRateSchedule):
    """Cosine from lr₀ down to alpha·lr₀ over ``decay_steps``, optional linear warmup first."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, alpha: float = 0.0,
                 warmup_target: float | None = None, warmup_steps: int = 0):
        self.initial_learning_rate = _pos("initial_learning_rate", initial_learning_rate, True)
        self.decay_steps = _pos("decay_steps", decay_steps)
        self.alpha = float(alpha)
        self.warmup_target = warmup_target
        self.warmup_steps = int(warmup_steps)

    def __call__(self, step: float) -> float:
        step = float(step)
        lr0 = self.initial_learning_rate
        if self.warmup_target is not None and step < self.warmup_steps:
            return lr0 + (self.warmup_target - lr0) * step / self.warmup_steps
        top = lr0 if self.warmup_target is None else self.warmup_target
        s = min(max(step - self.warmup_steps, 0.0), self.decay_steps)
        cos = 0.5 * (1 + math.cos(math.pi * s / self.decay_steps))
        return top * ((1 - self.alpha) * cos + self.alpha)

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


class InverseTimeDecay(LearningRateSchedule):
    """lr₀ / (1 + rate · step / decay_steps); ``staircase`` floors step / decay_steps."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float,
                 staircase: bool = False):
        self.initial_learning_rate = _pos("initial_learning_rate", initial_learning_rate, True)
        self.decay_steps = _pos("decay_steps", decay_steps)
        self.decay_rate = _pos("decay_rate", decay_rate, True)
        self.staircase = bool(staircase)

    def __call__(self, step: float) -> float:
        p = float(step) / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_learning_rate / (1 + self.decay_rate * p)

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase}


_TABLE: dict[str, type] = {
    "ExponentialDecay": ExponentialDecay,
    "PiecewiseConstantDecay": PiecewiseConstantDecay,
    "CosineDecay": CosineDecay,
    "InverseTimeDecay": InverseTimeDecay,
}


# by class name only (no short names, as Keras); any callable(step) is a schedule as it is
_REGISTRY = Registry("learning-rate schedule", _TABLE, _TABLE, LearningRateSchedule,
                     wrap=lambda fn: fn, strings=False, expected="a config dict or callable")


def get(identifier: Any) -> Callable[[Any], float]:
    """Resolve a schedule from ``{"class_name", "config"}``, an instance, or a callable.

    Example:
        >>> get({"class_name": "InverseTimeDecay",
        ...      "config": {"initial_learning_rate": 0.1, "decay_steps": 10,
        ...                 "decay_rate": 1.0}})(10)
        0.05
    """
    return _REGISTRY.get(identifier)


def serialize(schedule: LearningRateSchedule) -> dict:
    """``{"class_name", "config"}`` of a schedule."""
    return _REGISTRY.serialize(schedule)


deserialize = get
