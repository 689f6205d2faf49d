"""Weight initializers (Keras names and semantics), all drawing from ``backend.rng()``.

An initializer is called with a shape and returns a NumPy array::

    >>> gn.set_seed(0)
    >>> w = gn.initializers.get("glorot_uniform")((11, 6))   # float32 (11, 6)

Fans follow Keras: a 2-D kernel ``(in, out)`` has fan_in = in, fan_out = out; a conv kernel
``(kh, kw, in, out)`` multiplies both by the receptive field kh·kw. ``"uniform"`` is Keras's
RandomUniform(−0.05, 0.05) and ``"normal"`` is RandomNormal(0, 0.05).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from . import backend
from ._config import Configurable
from ._registry import Registry

_Shape = int | Sequence[int]  # an int, or a tuple/list of ints

__all__ = [
    "Initializer", "Zeros", "Ones", "Constant", "RandomUniform", "RandomNormal",
    "TruncatedNormal", "VarianceScaling", "GlorotUniform", "GlorotNormal", "HeUniform",
    "HeNormal", "LecunUniform", "LecunNormal", "Orthogonal", "Identity", "compute_fans",
    "get", "serialize", "deserialize",
]


def compute_fans(shape: Sequence[int]) -> tuple[float, float]:
    """(fan_in, fan_out) of a weight shape, as Keras computes them."""
    shape = tuple(int(s) for s in shape)
    if len(shape) == 0:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    if len(shape) == 2:
        return float(shape[0]), float(shape[1])
    receptive = math.prod(shape[:-2])
    return float(shape[-2] * receptive), float(shape[-1] * receptive)


def _dtype(dtype: DTypeLike | None) -> np.dtype:
    return np.dtype(dtype) if dtype is not None else backend.floatx()


def _shape(shape: Any) -> tuple:
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        shape = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise ValueError(
            f"initializer shape must be a tuple of non-negative ints. Received: {shape!r}"
        ) from None
    if any(s < 0 for s in shape):
        raise ValueError(f"initializer shape must be non-negative. Received: {shape}")
    return shape


class Initializer(Configurable):
    """Base class: ``init(shape, dtype=None) -> np.ndarray``; ``get_config()`` for saving."""

    def __call__(self, shape: _Shape, dtype: DTypeLike | None = None) -> np.ndarray:
        raise NotImplementedError


class Zeros(Initializer):
    """All zeros."""

    def __call__(self, shape: _Shape, dtype: DTypeLike | None = None) -> np.ndarray:
        return np.zeros(_shape(shape), dtype=_dtype(dtype))


class Ones(Initializer):
    """All ones."""

    def __call__(self, shape: _Shape, dtype: DTypeLike | None = None) -> np.ndarray:
        return np.ones(_shape(shape), dtype=_dtype(dtype))


class Constant(Initializer):
    """Every entry equal to ``value``: a number, or an array broadcast to the shape (as
    Keras multiplies it into ones: PointNet's identity-matrix bias).

    Example:
        >>> Constant(np.eye(2).flatten())((4,)).tolist()
        [1.0, 0.0, 0.0, 1.0]
    """

    def __init__(self, value: Any = 0.0):
        if isinstance(value, dict) and value.get("class_name") == "__numpy__":
            value = value["config"]["value"]  # Keras's serialized array
        a = np.asarray(value)
        if a.dtype.kind not in "biuf":
            raise TypeError(f"Constant: value must be a number or a numeric array. "
                            f"Received: {value!r}")
        self.value: Any = float(a) if a.ndim == 0 else a

    def __call__(self, shape: _Shape, dtype: DTypeLike | None = None) -> np.ndarray:
        shape = _shape(shape)
        if isinstance(self.value, float):
            return np.full(shape, self.value, dtype=_dtype(dtype))
        try:
            return np.broadcast_to(self.value.astype(_dtype(dtype)), shape).copy()
        except ValueError:
            raise ValueError(f"Constant: a value of shape {self.value.shape} does not "
                             f"broadcast to the weight's shape {shape}") from None

    def get_config(self) -> dict:
        return {"value": self.value if isinstance(self.value, float)
                else self.value.tolist()}


class RandomUniform(Initializer):
    """Uniform on [minval, maxval). Defaults (−0.05, 0.05), as Keras's ``'uniform'``."""

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None):
        if maxval < minval:
            raise ValueError(
                f"RandomUniform needs minval <= maxval. Received: minval={minval}, "
                f"maxval={maxval}"
            )
        self.minval, self.maxval, self.seed = float(minval), float(maxval), seed

    def __call__(self, shape: _Shape, dtype: DTypeLike | None = None) -> np.ndarray:
        r = _gen(self.seed)
        return r.uniform(self.minval, self.maxval, _shape(shape)).astype(_dtype(dtype))

    def get_config(self) -> dict:
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class RandomNormal(Initializer):
    """Normal(mean, stddev). Defaults (0, 0.05), as Keras's ``'normal'``."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        if stddev < 0:
            raise ValueError(f"RandomNormal needs stddev >= 0. Received: stddev={stddev}")
        self.mean, self.stddev, self.seed = float(mean), float(stddev), seed

    def __call__(self, shape: _Shape, dtype: DTypeLike | None = None) -> np.ndarray:
        r = _gen(self.seed)
        return r.normal(self.mean, self.stddev, _shape(shape)).astype(_dtype(dtype))

    def get_config(self) -> dict:
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


def _truncated_normal(r: np.random.Generator, shape: tuple, mean: float,
                      stddev: float) -> np.ndarray:
    """Normal draws re-drawn until within 2 standard deviations (as Keras/TF)."""
    out = r.standard_normal(shape)
    bad = np.abs(out) > 2
    while bad.any():
        out[bad] = r.standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2
    return out * stddev + mean


class TruncatedNormal(Initializer):
    """Normal(mean, stddev) truncated to mean ± 2·stddev."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        if stddev < 0:
            raise ValueError(f"TruncatedNormal needs stddev >= 0. Received: stddev={stddev}")
        self.mean, self.stddev, self.seed = float(mean), float(stddev), seed

    def __call__(self, shape: _Shape, dtype: DTypeLike | None = None) -> np.ndarray:
        r = _gen(self.seed)
        return _truncated_normal(r, _shape(shape), self.mean, self.stddev).astype(_dtype(dtype))

    def get_config(self) -> dict:
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


def _gen(seed: int | None) -> np.random.Generator:
    # a per-initializer seed gives a fixed draw (Keras semantics); else the library generator
    return np.random.default_rng(seed) if seed is not None else backend.rng()


class VarianceScaling(Initializer):
    """Variance ``scale / n`` with n = fan_in, fan_out or their mean (``mode``).

    ``distribution``: ``"truncated_normal"`` (stddev corrected for the truncation, as Keras),
    ``"untruncated_normal"`` or ``"uniform"`` (limit sqrt(3·scale/n)).
    """

    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTS = ("truncated_normal", "untruncated_normal", "normal", "uniform")

    def __init__(self, scale: float = 1.0, mode: str = "fan_in",
                 distribution: str = "truncated_normal", seed: int | None = None):
        if scale <= 0:
            raise ValueError(f"VarianceScaling needs scale > 0. Received: scale={scale}")
        if mode not in self._MODES:
            raise ValueError(f"VarianceScaling mode must be one of {self._MODES}. "
                             f"Received: mode={mode!r}")
        if distribution not in self._DISTS:
            raise ValueError(f"VarianceScaling distribution must be one of {self._DISTS}. "
                             f"Received: distribution={distribution!r}")
        self.scale, self.mode, self.distribution, self.seed = (
            float(scale), mode, distribution, seed)

    def __call__(self, shape: _Shape, dtype: DTypeLike | None = None) -> np.ndarray:
        shape = _shape(shape)
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        var = self.scale / max(1.0, n)
        r = _gen(self.seed)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * var)
            out = r.uniform(-limit, limit, shape)
        elif self.distribution == "truncated_normal":
            # std of a unit normal truncated to ±2 is 0.8796...; divide it out
            out = _truncated_normal(r, shape, 0.0, math.sqrt(var) / 0.87962566103423978)
        else:
            out = r.normal(0.0, math.sqrt(var), shape)
        return out.astype(_dtype(dtype))

    def get_config(self) -> dict:
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed}


class _Preset(VarianceScaling):
    _preset: tuple = ()

    def __init__(self, seed: int | None = None):
        scale, mode, dist = self._preset
        super().__init__(scale, mode, dist, seed)

    def get_config(self) -> dict:
        return {"seed": self.seed}


class GlorotUniform(_Preset):
    """Glorot/Xavier uniform: U(±sqrt(6/(fan_in+fan_out))). The default kernel initializer."""

    _preset = (1.0, "fan_avg", "uniform")


class GlorotNormal(_Preset):
    """Glorot normal: truncated normal, stddev sqrt(2/(fan_in+fan_out))."""

    _preset = (1.0, "fan_avg", "truncated_normal")


class HeUniform(_Preset):
    """He uniform: U(±sqrt(6/fan_in)), for ReLU nets."""

    _preset = (2.0, "fan_in", "uniform")


class HeNormal(_Preset):
    """He normal: truncated normal, stddev sqrt(2/fan_in)."""

    _preset = (2.0, "fan_in", "truncated_normal")


class LecunUniform(_Preset):
    """LeCun uniform: U(±sqrt(3/fan_in))."""

    _preset = (1.0, "fan_in", "uniform")


class LecunNormal(_Preset):
    """LeCun normal: truncated normal, stddev sqrt(1/fan_in) (for SELU)."""

    _preset = (1.0, "fan_in", "truncated_normal")


class Orthogonal(Initializer):
    """Random orthogonal matrix (QR of a Gaussian) times ``gain``; N-D shapes are flattened
    to (prod(shape[:-1]), shape[-1]) as Keras does."""

    def __init__(self, gain: float = 1.0, seed: int | None = None):
        self.gain, self.seed = float(gain), seed

    def __call__(self, shape: _Shape, dtype: DTypeLike | None = None) -> np.ndarray:
        shape = _shape(shape)
        if len(shape) < 2:
            raise ValueError(
                f"Orthogonal initializer needs a shape with at least 2 axes. Received: {shape}"
            )
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = _gen(self.seed).normal(0.0, 1.0, (max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))  # makes the distribution uniform over orthogonal matrices
        if rows < cols:
            q = q.T
        return np.ascontiguousarray((self.gain * q).reshape(shape), dtype=_dtype(dtype))

    def get_config(self) -> dict:
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    """``gain`` times the identity matrix (2-D shapes only; rectangular allowed)."""

    def __init__(self, gain: float = 1.0):
        self.gain = float(gain)

    def __call__(self, shape: _Shape, dtype: DTypeLike | None = None) -> np.ndarray:
        shape = _shape(shape)
        if len(shape) != 2:
            raise ValueError(f"Identity initializer needs a 2-D shape. Received: {shape}")
        return (self.gain * np.eye(*shape)).astype(_dtype(dtype))

    def get_config(self) -> dict:
        return {"gain": self.gain}


_TABLE: dict[str, type] = {
    "zeros": Zeros,
    "ones": Ones,
    "constant": Constant,
    "uniform": RandomUniform,
    "random_uniform": RandomUniform,
    "normal": RandomNormal,
    "random_normal": RandomNormal,
    "truncated_normal": TruncatedNormal,
    "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform,
    "xavier_uniform": GlorotUniform,
    "glorot_normal": GlorotNormal,
    "xavier_normal": GlorotNormal,
    "he_uniform": HeUniform,
    "he_normal": HeNormal,
    "lecun_uniform": LecunUniform,
    "lecun_normal": LecunNormal,
    "orthogonal": Orthogonal,
    "identity": Identity,
}
_BY_CLASS = {cls.__name__: cls for cls in _TABLE.values()}
# None is Keras's default kernel initializer; a plain callable(shape, dtype) is used as-is
_REGISTRY = Registry("initializer", _TABLE, _BY_CLASS, Initializer, wrap=lambda fn: fn,
                     default=lambda: GlorotUniform(),
                     expected="a name, config dict, Initializer or callable")


def get(identifier: Any) -> Initializer:
    """Resolve an initializer: name, class name, ``{"class_name", "config"}``, instance, callable.

    Example:
        >>> get("uniform").get_config()
        {'minval': -0.05, 'maxval': 0.05, 'seed': None}
    """
    return _REGISTRY.get(identifier)


def serialize(init: Initializer | str) -> dict:
    """``{"class_name": ..., "config": ...}`` of an initializer (JSON-able)."""
    return _REGISTRY.serialize(init)


deserialize = get
