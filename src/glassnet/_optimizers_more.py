"""Adamax, Lion, Ftrl, Lamb, ScheduleFreeAdamW, Muon and Adafactor: Keras 3's update rules
on the :class:`Optimizer` base.

Exported from :mod:`glassnet.optimizers` (``gn.optimizers.Lion`` etc., names ``"adamax"``,
``"lion"``, ``"ftrl"``, ``"adafactor"``). Every option of the base (clipping, weight decay,
``use_ema``, ``gradient_accumulation_steps``, schedules, get_state/set_state) applies.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

import numpy as np

from ._optimizer_base import Optimizer, _check_nonneg, _check_unit
from .backend import get_array_module

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ._typing import LearningRate
    from .tensor import Tensor


class Adamax(Optimizer):
    """Adamax (Keras): m ← m + (g − m)(1−β₁);  u ← max(β₂u, |g|);
    w ← w − lr·m / ((1−β₁ᵗ)(u + ε)).

    PyTorch's Adamax adds ε inside the max instead; with a tiny ε the two agree.

    Args:
        learning_rate: step size (default 0.001).
        beta_1: decay of the first moment. beta_2: decay of the infinity norm.
        epsilon: added to u.

    Example:
        >>> opt = gn.optimizers.Adamax(learning_rate=0.002)
    """

    _slot_names = ("m", "u")

    def __init__(self, learning_rate: LearningRate = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, **kwargs: Any) -> None:
        super().__init__(learning_rate, **kwargs)
        self.beta_1 = _check_unit("beta_1", beta_1, "Adamax")
        self.beta_2 = _check_unit("beta_2", beta_2, "Adamax")
        self.epsilon = _check_nonneg("epsilon", epsilon, "Adamax")

    def _prepare(self, lr: float) -> None:
        self._lr = lr
        self._alpha = lr / (1 - self.beta_1 ** (self.iterations + 1))

    def _delta(self, g: Any, s: Any) -> Any:
        xp = get_array_module(g)
        m, u, tmp = s
        xp.subtract(g, m, out=tmp)
        tmp *= 1 - self.beta_1
        m += tmp
        u *= self.beta_2
        xp.abs(g, out=tmp)
        xp.maximum(u, tmp, out=u)
        xp.add(u, self.epsilon, out=tmp)
        xp.divide(m, tmp, out=tmp)
        tmp *= self._alpha
        return tmp

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


class Lion(Optimizer):
    """Lion (Chen et al. 2023, as Keras): w ← w − lr·sign(β₁m + (1−β₁)g);
    m ← β₂m + (1−β₂)g.

    Use a learning rate 3-10x smaller than Adam's (and a larger weight decay).

    Example:
        >>> opt = gn.optimizers.Lion(learning_rate=1e-4, weight_decay=0.01)
    """

    _slot_names = ("momentum",)

    def __init__(self, learning_rate: LearningRate = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.99, **kwargs: Any) -> None:
        super().__init__(learning_rate, **kwargs)
        self.beta_1 = _check_unit("beta_1", beta_1, "Lion")
        self.beta_2 = _check_unit("beta_2", beta_2, "Lion")
        if self.beta_1 == 0:
            raise ValueError("Lion: beta_1 must be in (0, 1]. Received: beta_1=0")

    def _delta(self, g: Any, s: Any) -> Any:
        xp = get_array_module(g)
        m, tmp = s
        xp.multiply(m, self.beta_1, out=tmp)
        tmp += (1 - self.beta_1) * g
        xp.sign(tmp, out=tmp)
        tmp *= self._lr
        m *= self.beta_2
        m += (1 - self.beta_2) * g
        return tmp

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}


class Ftrl(Optimizer):
    """Follow-the-regularized-leader (McMahan et al. 2013), Keras's form.

    n ← acc + g²;  z ← z + g̃ − (n^(−p) − acc^(−p))/lr · w  with g̃ = g + 2·λ₂ₛ·w;
    w ← (clip(z, −λ₁, λ₁) − z) / (n^(−p)/lr + 2λ₂);  acc ← n  (p = learning_rate_power).

    Args:
        learning_rate_power: p, <= 0 (default −0.5).
        initial_accumulator_value: starting acc, >= 0.
        l1_regularization_strength, l2_regularization_strength: λ₁, λ₂ (>= 0).
        l2_shrinkage_regularization_strength: λ₂ₛ, an L2 penalty on the gradient only.
        beta: adds beta/(2·lr) to λ₂.

    Example:
        >>> opt = gn.optimizers.Ftrl(0.1, l1_regularization_strength=0.01)
    """

    _slot_names = ("accumulator", "linear")

    def __init__(self, learning_rate: LearningRate = 0.001, learning_rate_power: float = -0.5,
                 initial_accumulator_value: float = 0.1,
                 l1_regularization_strength: float = 0.0,
                 l2_regularization_strength: float = 0.0,
                 l2_shrinkage_regularization_strength: float = 0.0, beta: float = 0.0,
                 **kwargs: Any) -> None:
        super().__init__(learning_rate, **kwargs)
        c = "Ftrl"
        if not float(learning_rate_power) <= 0:
            raise ValueError(f"{c}: learning_rate_power must be <= 0. "
                             f"Received: learning_rate_power={learning_rate_power}")
        self.learning_rate_power = float(learning_rate_power)
        self.initial_accumulator_value = _check_nonneg(
            "initial_accumulator_value", initial_accumulator_value, c)
        self.l1_regularization_strength = _check_nonneg(
            "l1_regularization_strength", l1_regularization_strength, c)
        self.l2_regularization_strength = _check_nonneg(
            "l2_regularization_strength", l2_regularization_strength, c)
        self.l2_shrinkage_regularization_strength = _check_nonneg(
            "l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength, c)
        self.beta = _check_nonneg("beta", beta, c)

    def _init_slot(self, name: str, w: Any) -> Any:
        xp = get_array_module(w)
        return (xp.full_like(w, self.initial_accumulator_value) if name == "accumulator"
                else xp.zeros_like(w))

    def _rule(self, params: Sequence[Tensor]) -> None:
        acc, lin, tmp = self._flats
        g, lr, p = self._gflat, self._lr, -self.learning_rate_power
        if not lr > 0:
            raise ValueError(f"Ftrl: learning rate must be > 0. Received: {lr}")
        xp = get_array_module(g)
        w = xp.concatenate([q.data.reshape(-1) for q in params]).astype(g.dtype, copy=False)
        new = acc + g * g
        pn, pa = new ** p, acc ** p
        lin += g
        if self.l2_shrinkage_regularization_strength:
            lin += (2 * self.l2_shrinkage_regularization_strength) * w
        lin -= (pn - pa) / lr * w
        quad = pn / lr + 2 * (self.l2_regularization_strength + self.beta / (2.0 * lr))
        l1 = self.l1_regularization_strength
        xp.clip(lin, -l1, l1, out=tmp)
        tmp -= lin
        tmp /= quad
        acc[...] = new
        for q, (a, b) in zip(params, self._spans):
            q.data[...] = tmp[a:b].reshape(q.data.shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "learning_rate_power": self.learning_rate_power,
                "initial_accumulator_value": self.initial_accumulator_value,
                "l1_regularization_strength": self.l1_regularization_strength,
                "l2_regularization_strength": self.l2_regularization_strength,
                "l2_shrinkage_regularization_strength":
                    self.l2_shrinkage_regularization_strength,
                "beta": self.beta}


class Lamb(Optimizer):
    """LAMB (You et al. 2019, Keras's form): Adam's bias-corrected step, rescaled per weight
    tensor by the trust ratio ‖w‖ / ‖step‖ (1 where either norm is 0), so every layer
    moves by a similar fraction of its own size (large-batch training).

    m ← m + (g − m)(1−β₁);  v ← v + (g² − v)(1−β₂);
    u = (m / (1−β₁ᵗ)) / (√(v / (1−β₂ᵗ)) + ε);  w ← w − lr · ‖w‖/‖u‖ · u.

    Example:
        >>> opt = gn.optimizers.Lamb(learning_rate=0.01)
    """

    _slot_names = ("momentum", "velocity")

    def __init__(self, learning_rate: LearningRate = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, **kwargs: Any) -> None:
        super().__init__(learning_rate, **kwargs)
        self.beta_1 = _check_unit("beta_1", beta_1, "Lamb")
        self.beta_2 = _check_unit("beta_2", beta_2, "Lamb")
        self.epsilon = _check_nonneg("epsilon", epsilon, "Lamb")

    def _rule(self, params: Sequence[Tensor]) -> None:
        t = float(self.iterations + 1)
        c1, c2 = 1 - self.beta_1 ** t, 1 - self.beta_2 ** t
        for p, g in zip(params, self._gviews):
            xp = get_array_module(g)
            m, v = self._slots[id(p)][:2]
            m += (g - m) * (1 - self.beta_1)
            v += (g * g - v) * (1 - self.beta_2)
            u = (m / c1) / (xp.sqrt(v / c2) + self.epsilon)
            w = p.data
            w_norm = float(xp.sqrt((w * w).sum()))
            u_norm = float(xp.sqrt((u * u).sum()))
            ratio = w_norm / u_norm if w_norm > 0 and u_norm > 0 else 1.0
            u *= ratio * self._lr
            w -= u.astype(w.dtype, copy=False)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


class ScheduleFreeAdamW(Optimizer):
    """Schedule-Free AdamW (Defazio et al. 2024, Keras's form): trains without a learning
    rate schedule. The weights y are an interpolation between the sequence z the Adam-scaled
    steps move (slot ``momentum``, starting at the weights) and z's running average x:

    v ← v + (g² − v)(1−β₂);  z' = z − lr·g / (√(v / (1−β₂ᵗ)) + ε);
    x = (y − (1−β₁)·z) / β₁;  x' = (1 − 1/t)·x + z'/t;  y ← (1−β₁)·z' + β₁·x'.

    ``warmup_steps`` ramps the learning rate up linearly from 0 over that many steps.
    Decoupled weight decay (``weight_decay``) applies to y first, as in every optimizer.

    Example:
        >>> opt = gn.optimizers.ScheduleFreeAdamW(learning_rate=0.0025, warmup_steps=100)
    """

    _slot_names = ("momentum", "velocity")

    def __init__(self, learning_rate: LearningRate = 0.0025, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-8, warmup_steps: int = 0,
                 **kwargs: Any) -> None:
        super().__init__(learning_rate, **kwargs)
        c = "ScheduleFreeAdamW"
        self.beta_1 = _check_unit("beta_1", beta_1, c)
        if self.beta_1 == 0:  # x is recovered from y by dividing by β₁
            raise ValueError(f"{c}: beta_1 must be in (0, 1]. Received: beta_1=0")
        self.beta_2 = _check_unit("beta_2", beta_2, c)
        self.epsilon = _check_nonneg("epsilon", epsilon, c)
        if (isinstance(warmup_steps, bool) or not isinstance(warmup_steps, (int, np.integer))
                or warmup_steps < 0):
            raise ValueError(f"{c}: warmup_steps must be a whole number >= 0. Received: "
                             f"warmup_steps={warmup_steps!r}")
        self.warmup_steps = int(warmup_steps)

    def _init_slot(self, name: str, w: Any) -> Any:
        return w.copy() if name == "momentum" else get_array_module(w).zeros_like(w)

    def _rule(self, params: Sequence[Tensor]) -> None:
        t = float(self.iterations + 1)
        lr = self._lr
        if self.warmup_steps > 0:
            lr *= min(t / self.warmup_steps, 1.0)
        b1, b2, weight = self.beta_1, self.beta_2, 1.0 / t
        for p, g in zip(params, self._gviews):
            xp = get_array_module(g)
            z, v = self._slots[id(p)][:2]
            v += (g * g - v) * (1 - b2)
            z_old = z.copy()
            z -= lr * g / (xp.sqrt(v / (1 - b2 ** t)) + self.epsilon)
            y = p.data
            x = (y - (1 - b1) * z_old) / b1
            x = (1 - weight) * x + weight * z
            y[...] = (1 - b1) * z + b1 * x

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "warmup_steps": self.warmup_steps}


class Muon(Optimizer):
    """Muon (Jordan et al. 2024; Keras's form): for 2-D weights, momentum whose update is
    orthogonalised by a Newton-Schulz iteration, then scaled by √max(n, m)·``rms_rate``
    (Liu et al. 2025) so that Adam's learning rate and weight decay fit it; every other
    weight takes AdamW's step.

    Muon step: m ← m + g + (μ − 1)·m (μ = ``momentum``); u = g + μ·m (Nesterov) or m;
    u ← NS(u), five steps of X ← aX + (bA + cA²)X with A = XXᵀ, from X = u/(‖u‖_F + 1e-7)
    (taken on uᵀ when u has more rows than columns); w ← w − lr·u·√max(n, m)·rms_rate.
    AdamW step (weights that are not 2-D, embeddings with ``exclude_embeddings``, paths
    matching an ``exclude_layers`` pattern): Adam with ``adam_beta_1``/``adam_beta_2``,
    ``epsilon`` and the learning rate times ``adam_lr_ratio``. Decoupled weight decay:
    ``weight_decay`` on Muon's weights, ``adam_weight_decay`` on AdamW's.

    Example:
        >>> opt = gn.optimizers.Muon(learning_rate=0.01, exclude_layers=["output"])
    """

    _slot_names = ("momentum", "velocity")

    def __init__(self, learning_rate: LearningRate = 0.001, adam_beta_1: float = 0.9,
                 adam_beta_2: float = 0.999, adam_weight_decay: float | None = 0.004,
                 epsilon: float = 1e-7, weight_decay: float | None = 0.004,
                 exclude_layers: Sequence[str] | None = None, exclude_embeddings: bool = True,
                 muon_a: float = 3.4445, muon_b: float = -4.7750, muon_c: float = 2.0315,
                 adam_lr_ratio: float = 1.0, momentum: float = 0.95, ns_steps: int = 5,
                 nesterov: bool = True, rms_rate: float | None = 0.2, **kwargs: Any) -> None:
        super().__init__(learning_rate, weight_decay=weight_decay, **kwargs)
        c = "Muon"
        self._decay = 0.0  # each family's decay is applied in _rule, as Keras's Muon does
        self.adam_beta_1 = _check_unit("adam_beta_1", adam_beta_1, c)
        self.adam_beta_2 = _check_unit("adam_beta_2", adam_beta_2, c)
        self.adam_weight_decay = (None if adam_weight_decay is None
                                  else _check_nonneg("adam_weight_decay", adam_weight_decay, c))
        self.epsilon = _check_nonneg("epsilon", epsilon, c)
        if exclude_layers is not None and (isinstance(exclude_layers, str) or not all(
                isinstance(k, str) for k in exclude_layers)):
            raise ValueError(f"{c}: exclude_layers must be a list of strings (patterns of "
                             f"weight paths). Received: {exclude_layers!r}")
        self.exclude_layers = list(exclude_layers or [])
        for k in self.exclude_layers:
            try:
                re.compile(k)
            except re.error as e:
                raise ValueError(f"{c}: exclude_layers holds {k!r}, not a regular expression "
                                 f"({e})") from None
        self.exclude_embeddings = bool(exclude_embeddings)
        self.muon_a, self.muon_b, self.muon_c = float(muon_a), float(muon_b), float(muon_c)
        self.adam_lr_ratio = _check_nonneg("adam_lr_ratio", adam_lr_ratio, c)
        self.momentum = _check_unit("momentum", momentum, c)
        if (isinstance(ns_steps, bool) or not isinstance(ns_steps, (int, np.integer))
                or ns_steps < 0):
            raise ValueError(f"{c}: ns_steps must be a whole number >= 0. Received: "
                             f"ns_steps={ns_steps!r}")
        self.ns_steps = int(ns_steps)
        self.nesterov = bool(nesterov)
        self.rms_rate = None if rms_rate is None else _check_nonneg("rms_rate", rms_rate, c)

    def uses_adamw(self, w: Tensor) -> bool:
        """Whether ``w`` takes the AdamW step (not 2-D, an embedding table with
        ``exclude_embeddings``, or its path matches an ``exclude_layers`` pattern)."""
        if w.ndim != 2:
            return True
        path = str(getattr(w, "path", None) or getattr(w, "name", None) or "")
        if self.exclude_embeddings and "embedding" in path.lower():
            return True
        return any(re.search(k, path) for k in self.exclude_layers)

    def _keras_slots(self, w: Tensor) -> tuple[str, ...]:
        """The slots Keras keeps for ``w``, in its file order (no velocity for Muon's)."""
        return ("momentum", "velocity") if self.uses_adamw(w) else ("momentum",)

    def _orthogonalised(self, u: Any) -> Any:
        """The Newton-Schulz iteration's near-orthogonal matrix U·S'·Vᵀ of ``u`` (Keras's
        quintic coefficients, ``ns_steps`` steps)."""
        xp = get_array_module(u)
        tall = u.shape[-2] > u.shape[-1]
        x = u.T if tall else u
        x = x / (xp.sqrt((x * x).sum()) + 1e-7)
        a, b, c = self.muon_a, self.muon_b, self.muon_c
        for _ in range(self.ns_steps):
            s = x @ x.T
            x = a * x + (b * s + c * s @ s) @ x
        return x.T if tall else x

    def _rule(self, params: Sequence[Tensor]) -> None:
        lr = self._lr
        t = float(self.iterations + 1)
        b1, b2 = self.adam_beta_1, self.adam_beta_2
        for p, g in zip(params, self._gviews):
            xp = get_array_module(g)
            m, v = self._slots[id(p)][:2]
            w = p.data
            adam = self.uses_adamw(p)
            wd = self.adam_weight_decay if adam else self.weight_decay
            if wd:
                w -= w * wd * lr
            if adam:
                alpha = lr * self.adam_lr_ratio * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
                m += (g - m) * (1 - b1)
                v += (g * g - v) * (1 - b2)
                w -= (m * alpha) / (xp.sqrt(v) + self.epsilon)
                continue
            m += g + m * (self.momentum - 1)
            u = self._orthogonalised(g + self.momentum * m if self.nesterov else m)
            step = lr * u
            if self.rms_rate is not None:
                step = step * math.sqrt(max(w.shape)) * self.rms_rate
            w -= step.astype(w.dtype, copy=False)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "adam_beta_1": self.adam_beta_1,
                "adam_beta_2": self.adam_beta_2, "epsilon": self.epsilon,
                "exclude_layers": list(self.exclude_layers), "muon_a": self.muon_a,
                "muon_b": self.muon_b, "muon_c": self.muon_c,
                "adam_lr_ratio": self.adam_lr_ratio, "momentum": self.momentum,
                "ns_steps": self.ns_steps, "nesterov": self.nesterov,
                "exclude_embeddings": self.exclude_embeddings,
                "adam_weight_decay": self.adam_weight_decay, "rms_rate": self.rms_rate}


class Adafactor(Optimizer):
    """Adafactor (Shazeer & Stern 2018, Keras's form): second moments factored over the last
    two axes of every weight with ndim >= 2 (row means r, column means c), full for others.

    With t the step, ρ = min(lr, 1/√t), α = max(ε₂, rms(w))·ρ, β̂ = 1 − t^beta_2_decay:
    r ← β̂r + (1−β̂)·mean(g²+ε₁, −1);  c ← β̂c + (1−β̂)·mean(g²+ε₁, −2);
    v = (r / mean(r)) ⊗ c  (or v ← β̂v + (1−β̂)(g²+ε₁) when not factored);
    u = g/√v;  w ← w − α·u / max(1, rms(u)/clip_threshold).

    State: slots ``"velocity"``, ``"velocity_hat_r"`` and ``"velocity_hat_c"``, each kept at
    the weight's shape (r repeated along the last axis, c along the second last) so that the
    safe model file checks and restores them like any other slot; this spends the memory that
    factoring would save (only r and c are read).

    Example:
        >>> opt = gn.optimizers.Adafactor(learning_rate=0.01)
    """

    _slot_names = ("velocity", "velocity_hat_r", "velocity_hat_c")

    def __init__(self, learning_rate: LearningRate = 0.001, beta_2_decay: float = -0.8,
                 epsilon_1: float = 1e-30, epsilon_2: float = 1e-3,
                 clip_threshold: float = 1.0, relative_step: bool = True, **kwargs: Any) -> None:
        super().__init__(learning_rate, **kwargs)
        c = "Adafactor"
        if not float(beta_2_decay) < 0:
            raise ValueError(f"{c}: beta_2_decay must be < 0. Received: {beta_2_decay}")
        self.beta_2_decay = float(beta_2_decay)
        self.epsilon_1 = _check_nonneg("epsilon_1", epsilon_1, c)
        self.epsilon_2 = _check_nonneg("epsilon_2", epsilon_2, c)
        self.clip_threshold = _check_nonneg("clip_threshold", clip_threshold, c)
        if self.clip_threshold == 0:
            raise ValueError(f"{c}: clip_threshold must be > 0. Received: 0")
        # Keras clips lr to 1/sqrt(t) either way (rho_t); the flag is kept for its config
        self.relative_step = bool(relative_step)

    def _rule(self, params: Sequence[Tensor]) -> None:
        t = float(self.iterations + 1)
        rho = min(self._lr, 1 / np.sqrt(t))
        b = 1 - t ** self.beta_2_decay
        for p, g in zip(params, self._gviews):
            xp = get_array_module(g)
            w = p.data
            v, r_full, c_full = self._slots[id(p)][:3]
            alpha = max(self.epsilon_2, float(xp.sqrt(xp.mean(w * w)))) * rho
            g2 = g * g
            g2 += self.epsilon_1
            if w.ndim >= 2:
                r = b * r_full[..., 0] + (1 - b) * g2.mean(axis=-1)
                c = b * c_full[..., 0, :] + (1 - b) * g2.mean(axis=-2)
                r_full[...] = r[..., None]
                c_full[...] = c[..., None, :]
                v[...] = (r / r.mean(axis=-1, keepdims=True))[..., None] * c[..., None, :]
            else:
                v *= b
                v += (1 - b) * g2
            u = g / xp.sqrt(v)
            scale = max(1.0, float(xp.sqrt(xp.mean(u * u))) / self.clip_threshold)
            u *= alpha / scale
            w -= u

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_2_decay": self.beta_2_decay,
                "epsilon_1": self.epsilon_1, "epsilon_2": self.epsilon_2,
                "clip_threshold": self.clip_threshold, "relative_step": self.relative_step}
