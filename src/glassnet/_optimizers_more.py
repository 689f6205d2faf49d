"""Adamax, Lion, Ftrl, Lamb, ScheduleFreeAdamW and Adafactor: Keras 3's update rules on the
:class:`Optimizer` base.

Exported from :mod:`glassnet.optimizers` (``gn.optimizers.Lion`` etc., names ``"adamax"``,
``"lion"``, ``"ftrl"``, ``"adafactor"``). Every option of the base (clipping, weight decay,
``use_ema``, ``gradient_accumulation_steps``, schedules, get_state/set_state) applies.
"""

from __future__ import annotations

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
        if isinstance(warmup_steps, bool) or int(warmup_steps) != warmup_steps or warmup_steps < 0:
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
