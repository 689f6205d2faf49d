"""Optimizers with Keras's names, defaults and update formulas, updating arrays in place.

Custom training loop (the same three calls ``fit`` makes)::

    >>> opt = gn.optimizers.Adam(learning_rate=1e-3)
    >>> params = model.trainable_weights
    >>> loss = loss_fn(y, model(x, training=True))
    >>> loss.backward()          # fills p.grad
    >>> opt.step(params)         # p.data updated in place from p.grad (None grads skipped)
    >>> opt.zero_grad(params)    # p.grad = None before the next backward

``learning_rate`` is a float or a schedule (any ``callable(step) -> float``, see
:mod:`glassnet.schedules`), evaluated at ``opt.iterations`` (0 on the first step).
Gradient clipping: ``clipnorm`` (per parameter), ``global_clipnorm`` (all together) or
``clipvalue`` (elementwise), as Keras.

State (moments, accumulators, iteration count) is exported by :meth:`Optimizer.get_state`
as a flat dict of NumPy arrays named ``"<param index>/<slot>"`` (index = order in which
parameters were first stepped) and restored by :meth:`Optimizer.set_state`, so training
resumes exactly.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._optimizer_base import Optimizer, _check_nonneg, _check_unit
from ._optimizer_kernels import adam_compiled, adam_delta, adam_reduced, adam_step
from ._registry import Registry
from ._typing import LearningRate
from .backend import get_array_module

__all__ = [
    "Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "Nadam", "Adadelta", "Adamax",
    "Lion", "Ftrl", "Adafactor", "Lamb", "ScheduleFreeAdamW", "Muon", "MultiOptimizer",
    "OptimizerMap", "get", "serialize", "deserialize",
]


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum, as Keras.

    v ← momentum·v − lr·g;  w ← w + v  (Nesterov: w ← w + momentum·v − lr·g).

    Example:
        >>> opt = SGD(learning_rate=0.01, momentum=0.9)
    """

    _default_lr = 0.01

    def __init__(self, learning_rate: LearningRate = 0.01,
                 momentum: float = 0.0, nesterov: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(learning_rate, **kwargs)
        self.momentum = _check_unit("momentum", momentum, "SGD")
        self.nesterov = bool(nesterov)
        self._slot_names = ("momentum",) if self.momentum else ()

    def _delta(self, g: Any, s: Any) -> Any:
        xp = get_array_module(g)
        lr, m, tmp = self._lr, self.momentum, s[-1]
        xp.multiply(g, lr, out=tmp)
        if not m:
            return tmp
        v = s[0]
        v *= m
        v -= tmp
        if self.nesterov:  # w += m·v − lr·g
            tmp -= v * m
        else:  # w += v
            xp.negative(v, out=tmp)
        return tmp

    def get_config(self) -> dict:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adagrad(Optimizer):
    """Adagrad (Keras): acc ← acc + g²;  w ← w − lr·g / sqrt(acc + ε).

    Args:
        initial_accumulator_value: starting value of acc (Keras default 0.1).
    """

    _slot_names = ("accumulator",)

    def __init__(self, learning_rate: LearningRate = 0.001,
                 initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7, **kwargs: Any) -> None:
        super().__init__(learning_rate, **kwargs)
        self.initial_accumulator_value = _check_nonneg(
            "initial_accumulator_value", initial_accumulator_value, "Adagrad")
        self.epsilon = _check_nonneg("epsilon", epsilon, "Adagrad")

    def _init_slot(self, name: str, w: Any) -> Any:
        return get_array_module(w).full_like(w, self.initial_accumulator_value)

    def _delta(self, g: Any, s: Any) -> Any:
        acc, tmp = s
        xp = get_array_module(g)
        xp.multiply(g, g, out=tmp)
        acc += tmp
        xp.add(acc, self.epsilon, out=tmp)
        xp.sqrt(tmp, out=tmp)
        xp.divide(g, tmp, out=tmp)
        tmp *= self._lr
        return tmp

    def get_config(self) -> dict:
        return {**super().get_config(),
                "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


class RMSprop(Optimizer):
    """RMSprop (Keras): v ← ρv + (1−ρ)g²;  w ← w − lr·g / sqrt(v + ε).

    ``centered`` subtracts the squared running mean of g; ``momentum`` accumulates the step.
    """

    def __init__(self, learning_rate: LearningRate = 0.001,
                 rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False, **kwargs: Any) -> None:
        super().__init__(learning_rate, **kwargs)
        self.rho = _check_unit("rho", rho, "RMSprop")
        self.momentum = _check_unit("momentum", momentum, "RMSprop")
        self.epsilon = _check_nonneg("epsilon", epsilon, "RMSprop")
        self.centered = bool(centered)
        names = ["velocity"]
        if self.momentum:
            names.append("momentum")
        if self.centered:
            names.append("average_gradient")
        self._slot_names = tuple(names)

    def _delta(self, g: Any, s: Any) -> Any:
        xp = get_array_module(g)
        rho, tmp = self.rho, s[-1]
        v = s[0]
        v *= rho
        xp.multiply(g, g, out=tmp)
        tmp *= 1 - rho
        v += tmp
        if self.centered:
            ag = s[-2]
            ag *= rho
            xp.multiply(g, 1 - rho, out=tmp)
            ag += tmp
            xp.multiply(ag, ag, out=tmp)
            xp.subtract(v, tmp, out=tmp)
            tmp += self.epsilon
        else:
            xp.add(v, self.epsilon, out=tmp)
        xp.sqrt(tmp, out=tmp)
        xp.divide(g, tmp, out=tmp)
        tmp *= self._lr
        if self.momentum:
            mom = s[1]
            mom *= self.momentum
            mom += tmp
            return mom
        return tmp

    def get_config(self) -> dict:
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}


class Adam(Optimizer):
    """Adam (Keras form): m ← m + (g − m)(1−β₁);  v ← v + (g² − v)(1−β₂);
    w ← w − α·m / (sqrt(v) + ε) with α = lr·sqrt(1−β₂ᵗ)/(1−β₁ᵗ).

    Keras puts ε outside the bias correction of v (PyTorch puts it inside); with the default
    ε = 1e-7 the two differ by < 1e-6 relative. ``amsgrad`` uses the running max of v.

    Example:
        >>> opt = Adam(learning_rate=0.001)
    """

    def __init__(self, learning_rate: LearningRate = 0.001,
                 beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, **kwargs: Any) -> None:
        super().__init__(learning_rate, **kwargs)
        cls = type(self).__name__
        self.beta_1 = _check_unit("beta_1", beta_1, cls)
        self.beta_2 = _check_unit("beta_2", beta_2, cls)
        self.epsilon = _check_nonneg("epsilon", epsilon, cls)
        self.amsgrad = bool(amsgrad)
        self._slot_names = ("m", "v", "vhat") if self.amsgrad else ("m", "v")

    def _prepare(self, lr: float) -> None:
        t = self.iterations + 1
        self._lr = lr
        self._alpha = lr * math.sqrt(1 - self.beta_2**t) / (1 - self.beta_1**t)

    def _compiled(self, site: str, g: Any, m: Any, v: Any, out: Any) -> bool:
        """:func:`adam_compiled` for these buffers, kept per call site until the buffers or
        numba's presence change: the question reads ``GLASSNET_NUMBA`` from the environment
        (about 2 us, twice a step: 5 % of a small model's step), so it is read when the
        optimizer first updates a set of buffers. The entry holds the buffers themselves
        (compared by identity: an id alone could be reused by a later buffer)."""
        loaded = "numba" in sys.modules
        cache: dict[str, tuple[Any, ...]] | None = self.__dict__.get("_compiled_cache")
        if cache is None:
            cache = {}
            self._compiled_cache = cache
        hit = cache.get(site)
        if (hit is None or hit[0] is not g or hit[1] is not m or hit[2] is not v
                or hit[3] is not out or hit[4] is not loaded):
            hit = cache[site] = (g, m, v, out, loaded, adam_compiled(g, m, v, out))
        return hit[5]

    def _one_pass(self, g: Any, s: Any) -> bool:
        return not self.amsgrad and self._compiled("delta", g, s[0], s[1], s[-1])

    def _step_into(self, g: Any, w: Any) -> bool:
        if self.amsgrad:
            return False
        m, v = self._flats[0], self._flats[1]
        return adam_step(g, m, v, w, self.beta_1, self.beta_2, self.epsilon, self._alpha,
                         compiled=self._compiled("step", g, m, v, w))

    def _reduced_step(self, sh: Any, ranges: Sequence[tuple[int, int]], w: Any) -> bool:
        if self.amsgrad:
            return False
        grads, scale, inv = sh.reduction(self._gflat)
        m, v = self._flats[0], self._flats[1]
        return adam_reduced(grads, scale, inv, ranges, m, v, w, self.beta_1, self.beta_2,
                            self.epsilon, self._alpha)

    def _delta(self, g: Any, s: Any) -> Any:
        m, v, tmp = s[0], s[1], s[-1]
        if not self.amsgrad:  # one compiled pass with the numba extra, else the same ufuncs
            return adam_delta(g, m, v, tmp, self.beta_1, self.beta_2, self.epsilon,
                              self._alpha, compiled=self._compiled("delta", g, m, v, tmp))
        xp = get_array_module(g)
        xp.subtract(g, m, out=tmp)
        tmp *= 1 - self.beta_1
        m += tmp
        xp.multiply(g, g, out=tmp)
        tmp -= v
        tmp *= 1 - self.beta_2
        v += tmp
        if self.amsgrad:
            vhat = s[2]
            xp.maximum(vhat, v, out=vhat)
            v = vhat
        xp.sqrt(v, out=tmp)
        tmp += self.epsilon
        xp.divide(m, tmp, out=tmp)
        tmp *= self._alpha
        return tmp

    def get_config(self) -> dict:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay (Keras/PyTorch): w ← w − lr·wd·w, then Adam."""

    def __init__(self, learning_rate: LearningRate = 0.001,
                 weight_decay: float = 0.004, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, amsgrad: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad,
                         weight_decay=weight_decay, **kwargs)


class Nadam(Optimizer):
    """Nesterov Adam with Keras 3's momentum schedule μₜ = β₁(1 − ½·0.96ᵗ).

    (PyTorch's ``NAdam`` gives the same with ``momentum_decay=1.0``; its default, 0.004,
    is the older μₜ = β₁(1 − ½·0.96^(0.004·t)).)
    """

    _slot_names = ("m", "v")

    def __init__(self, learning_rate: LearningRate = 0.001,
                 beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, **kwargs: Any) -> None:
        super().__init__(learning_rate, **kwargs)
        self.beta_1 = _check_unit("beta_1", beta_1, "Nadam")
        self.beta_2 = _check_unit("beta_2", beta_2, "Nadam")
        self.epsilon = _check_nonneg("epsilon", epsilon, "Nadam")
        self._u_product = 1.0

    def _prepare(self, lr: float) -> None:
        t = self.iterations + 1
        b1 = self.beta_1
        mu_t = b1 * (1 - 0.5 * 0.96**t)
        mu_t1 = b1 * (1 - 0.5 * 0.96 ** (t + 1))
        u_t = self._u_product * mu_t
        u_t1 = u_t * mu_t1
        self._u_product = u_t
        self._lr = lr
        self._c_m = mu_t1 / (1 - u_t1)          # weight of m in m̂
        self._c_g = (1 - mu_t) / (1 - u_t)      # weight of g in m̂
        self._bc2 = 1 - self.beta_2**t

    def _delta(self, g: Any, s: Any) -> Any:
        xp = get_array_module(g)
        m, v, tmp = s
        xp.subtract(g, m, out=tmp)
        tmp *= 1 - self.beta_1
        m += tmp
        xp.multiply(g, g, out=tmp)
        tmp -= v
        tmp *= 1 - self.beta_2
        v += tmp
        # denominator sqrt(v / (1−β₂ᵗ)) + ε
        xp.multiply(v, 1.0 / self._bc2, out=tmp)
        xp.sqrt(tmp, out=tmp)
        tmp += self.epsilon
        num = m * self._c_m
        num += g * self._c_g
        num /= tmp
        num *= self._lr
        return num

    def _extra_state(self) -> dict:
        return {"u_product": np.asarray(self._u_product, dtype=np.float64)}

    def _set_extra_state(self, state: dict) -> None:
        if "u_product" in state:
            self._u_product = float(np.asarray(state["u_product"]))

    def get_config(self) -> dict:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


class Adadelta(Optimizer):
    """Adadelta (Keras): step = −sqrt(Δacc + ε)/sqrt(gacc + ε)·g, scaled by lr."""

    _slot_names = ("accumulated_grad", "accumulated_delta")

    def __init__(self, learning_rate: LearningRate = 0.001,
                 rho: float = 0.95, epsilon: float = 1e-7,
                 **kwargs: Any) -> None:
        super().__init__(learning_rate, **kwargs)
        self.rho = _check_unit("rho", rho, "Adadelta")
        self.epsilon = _check_nonneg("epsilon", epsilon, "Adadelta")

    def _delta(self, g: Any, s: Any) -> Any:
        xp = get_array_module(g)
        ag, ad, tmp = s
        rho, eps = self.rho, self.epsilon
        ag *= rho
        xp.multiply(g, g, out=tmp)
        tmp *= 1 - rho
        ag += tmp
        delta = xp.sqrt(ad + eps)
        xp.add(ag, eps, out=tmp)
        xp.sqrt(tmp, out=tmp)
        delta /= tmp
        delta *= g          # delta = sqrt(ad+eps)/sqrt(ag+eps)·g (sign applied below)
        ad *= rho
        xp.multiply(delta, delta, out=tmp)
        tmp *= 1 - rho
        ad += tmp
        delta *= self._lr
        return delta

    def get_config(self) -> dict:
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


from . import schedules  # noqa: E402,F401 - Keras: keras.optimizers.schedules
from ._optimizer_multi import MultiOptimizer, OptimizerMap  # noqa: E402
from ._optimizers_more import (  # noqa: E402
    Adafactor,
    Adamax,
    Ftrl,
    Lamb,
    Lion,
    Muon,
    ScheduleFreeAdamW,
)

_TABLE: dict[str, type] = {
    "sgd": SGD,
    "adagrad": Adagrad,
    "rmsprop": RMSprop,
    "adam": Adam,
    "adamw": AdamW,
    "nadam": Nadam,
    "adadelta": Adadelta,
    "adamax": Adamax,
    "lion": Lion,
    "ftrl": Ftrl,
    "adafactor": Adafactor,
    "lamb": Lamb,
    "schedulefreeadamw": ScheduleFreeAdamW,
    "muon": Muon,
}
_BY_CLASS = {cls.__name__: cls for cls in _TABLE.values()}
# from a config only: a MultiOptimizer has no default form a name could make
_BY_CLASS["MultiOptimizer"] = MultiOptimizer
_REGISTRY = Registry("optimizer", _TABLE, _BY_CLASS, Optimizer,
                     expected="a name, config dict or Optimizer")


def get(identifier: Any) -> Optimizer:
    """Resolve an optimizer: name (Keras defaults), ``{"class_name", "config"}`` or instance.

    Example:
        >>> get("adam").learning_rate
        0.001
    """
    return _REGISTRY.get(identifier)


def serialize(opt: Optimizer | str) -> dict:
    """``{"class_name", "config"}`` of an optimizer (state is separate: get_state)."""
    return _REGISTRY.serialize(opt)


deserialize = get
