"""Activation layers and small utility layers, with Keras 3's names, arguments and defaults.

``Softmax``, ``ReLU`` (``max_value``, ``negative_slope``, ``threshold``), ``LeakyReLU``,
``ELU``; ``Identity``, ``Masking``, ``ActivityRegularization``, ``AlphaDropout``,
``UnitNormalization`` and ``GroupNormalization``. Each is a composition of differentiable ops
(or the fused normalisation kernel), so its gradient comes from the ops' own backward passes.

Example:
    >>> from glassnet.layers import ReLU
    >>> ReLU(max_value=6.0)(np.array([[0.5, 3.0, 9.0]], "float32")).data
    array([[0.5, 3. , 6. ]], dtype=float32)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import activations, backend, constraints, functional, initializers, ops, regularizers
from .._tape import constant
from ..autograd import Function
from ..tensor import Tensor
from .base import Layer, register
from .core import _check_rate
from .embedding import set_mask
from .normalization import Normalize

__all__ = [
    "Softmax", "ReLU", "LeakyReLU", "ELU", "Identity", "Masking", "ActivityRegularization",
    "AlphaDropout", "UnitNormalization", "GroupNormalization",
]

_LARGE_NEGATIVE = -1e9  # what Keras adds to masked logits before a softmax (float32)


def _const(x: Tensor, value: Any) -> Tensor:
    """A constant (no-gradient) tensor on ``x``'s device with ``x``'s dtype."""
    xp = backend.get_array_module(x.data)
    return Tensor._make(xp.asarray(value, dtype=x.dtype))


class _Elementwise(Layer):
    supports_masking = True  # same shape out as in: the time axis stays

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)


def masked_softmax(x: Tensor, mask: Any = None, axis: int | list[int] | tuple[int, ...] = -1,
                   subtract: bool = False, static: bool = False) -> Tensor:
    """Softmax of ``x`` along ``axis`` where ``mask`` (broadcastable booleans) is True.

    As Keras 3's ``Softmax``: masked logits are replaced by ``-1e9`` and masked outputs are
    set to 0 (so a fully masked row is all zeros). ``subtract=True`` is the rule of Keras's
    ``Attention`` layers instead: ``1e9`` is subtracted from masked logits, outputs kept.
    ``static=True`` says the mask depends only on shapes (a causal mask): it then enters as
    constants a recorded training step may replay (``glassnet._tape.constant``). Otherwise
    the mask (an array or tensor) enters through ops (``_masks.mask_op``): a replayed step
    reads each batch's.
    """
    if mask is None:
        return _softmax_over(x, axis)
    xp, shape, dt = backend.get_array_module(x.data), x.shape, x.dtype
    big = dt.type(_LARGE_NEGATIVE)
    if static:
        m = xp.broadcast_to(xp.asarray(mask, dtype=bool), shape)
        if subtract:
            return _softmax_over(ops.add(x, _mask_const((~m).astype(dt) * big, True)), axis)
        # x * m + (1 - m) * -1e9: the same numbers as where(m, x, -1e9)
        x = ops.add(ops.mul(x, _mask_const(m.astype(dt), True)),
                    _mask_const((~m).astype(dt) * big, True))
        return ops.mul(_softmax_over(x, axis), _mask_const(m.astype(dt), True))
    from ._masks import mask_op

    mt = mask_op(lambda a: xp.broadcast_to(xp.asarray(a, dtype=bool), shape), mask)
    if subtract:
        return _softmax_over(ops.add(x, mask_op(lambda m: (~m).astype(dt) * big, mt)), axis)
    y = _softmax_over(ops.where(mt, x, constant(_const(x, _LARGE_NEGATIVE))), axis)
    return ops.mul(y, mask_op(lambda m: m.astype(dt), mt))


def _softmax_over(x: Tensor, axis: int | list[int] | tuple[int, ...]) -> Tensor:
    if isinstance(axis, (list, tuple)):  # Keras: exp(x - logsumexp(x, axes))
        return ops.exp(ops.sub(x, functional.logsumexp(x, axis=tuple(axis), keepdims=True)))
    return functional.softmax(x, axis=axis)


def _mask_const(a: Any, static: bool) -> Tensor:
    t = Tensor._make(a)
    return constant(t) if static else t


@register
class Softmax(_Elementwise):
    """Softmax along ``axis``; an optional boolean ``mask`` (True = keep) excludes entries.

    Args:
        axis: the axis (or axes) normalised, default the last.

    Example:
        >>> Softmax()(np.zeros((1, 4), "float32")).data
        array([[0.25, 0.25, 0.25, 0.25]], dtype=float32)
    """

    def __init__(self, axis: int | list[int] | tuple[int, ...] = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = [int(a) for a in axis] if isinstance(axis, (list, tuple)) else int(axis)

    def call(self, x: Tensor, training: bool = False, mask: Any = None) -> Tensor:
        return masked_softmax(x, mask, self.axis)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


@register
class ReLU(_Elementwise):
    """Rectified linear unit with Keras's options.

    ``f(x) = min(x, max_value)`` for ``x > threshold``, ``negative_slope * (x - threshold)``
    otherwise (so the default is ``max(x, 0)``).

    Args:
        max_value: cap on the output (None: no cap); >= 0.
        negative_slope: slope below the threshold; >= 0.
        threshold: where the unit switches on.

    Example:
        >>> ReLU(negative_slope=0.1)(np.array([[-2.0, 2.0]], "float32")).data
        array([[-0.2,  2. ]], dtype=float32)
    """

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0,
                 threshold: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if max_value is not None and not float(max_value) >= 0:
            raise ValueError(f"Layer '{self.name}': max_value must be >= 0 or None. "
                             f"Received: max_value={max_value!r}")
        if negative_slope is None or not float(negative_slope) >= 0:
            raise ValueError(f"Layer '{self.name}': negative_slope must be >= 0. "
                             f"Received: negative_slope={negative_slope!r}")
        if threshold is None:
            raise ValueError(f"Layer '{self.name}': threshold must be a number. "
                             "Received: threshold=None")
        self.max_value = None if max_value is None else float(max_value)
        self.negative_slope = float(negative_slope)
        self.threshold = float(threshold)

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        t = self.threshold
        if t != 0.0:  # x * (x > t): the 0/1 factor is 1 - step(t - x), an op (zero gradient)
            on = ops.sub(x.dtype.type(1), activations.binary_step(ops.sub(x.dtype.type(t), x)))
            pos = ops.mul(x, on)
        else:
            pos = ops.relu(x)
        if self.max_value is not None:
            pos = ops.clip(pos, x.dtype.type(0), x.dtype.type(self.max_value))
        if self.negative_slope == 0.0:
            return pos
        neg = ops.relu(ops.sub(x.dtype.type(t), x))
        return ops.sub(pos, ops.mul(neg, x.dtype.type(self.negative_slope)))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "max_value": self.max_value,
                "negative_slope": self.negative_slope, "threshold": self.threshold}


@register
class LeakyReLU(_Elementwise):
    """``max(x, negative_slope * x)``; Keras 3's default slope is 0.3.

    Example:
        >>> LeakyReLU()(np.array([[-1.0, 1.0]], "float32")).data
        array([[-0.3,  1. ]], dtype=float32)
    """

    def __init__(self, negative_slope: float = 0.3, **kwargs: Any) -> None:
        if "alpha" in kwargs:  # Keras 2's name, still accepted by Keras 3
            negative_slope = kwargs.pop("alpha")
        super().__init__(**kwargs)
        if negative_slope is None or not float(negative_slope) >= 0:
            raise ValueError(f"Layer '{self.name}': negative_slope must be >= 0. "
                             f"Received: negative_slope={negative_slope!r}")
        self.negative_slope = float(negative_slope)

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        return activations.leaky_relu(x, alpha=self.negative_slope)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "negative_slope": self.negative_slope}


@register
class ELU(_Elementwise):
    """Exponential linear unit: ``x`` for x > 0, ``alpha * (exp(x) - 1)`` otherwise.

    Example:
        >>> ELU()(np.array([[0.0, 1.0]], "float32")).data
        array([[0., 1.]], dtype=float32)
    """

    def __init__(self, alpha: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.alpha = float(alpha)

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        return activations.elu(x, alpha=self.alpha)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "alpha": self.alpha}


@register
class Identity(_Elementwise):
    """Return the input unchanged (a placeholder layer).

    Example:
        >>> Identity()(np.ones((1, 2), "float32")).shape
        (1, 2)
    """

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        return x


@register
class Masking(_Elementwise):
    """Mark time steps whose features all equal ``mask_value`` as padding.

    The output is the input with masked steps zeroed, and it carries a (batch, timesteps)
    mask that recurrent and attention layers respect (``embedding.get_mask``).

    Args:
        mask_value: the padding value.

    Shapes: (B, T, features) → (B, T, features).

    Example:
        >>> from glassnet.layers.embedding import get_mask
        >>> y = Masking()(np.array([[[1.0], [0.0]]], "float32")); get_mask(y)
        array([[ True, False]])
    """

    def __init__(self, mask_value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mask_value = float(mask_value)

    def compute_mask(self, x: Any, mask: Any = None) -> Any:
        """The (B, T) boolean mask: True where some feature differs from ``mask_value``."""
        a = x.data if isinstance(x, Tensor) else x
        return (a != a.dtype.type(self.mask_value)).any(axis=-1)

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        from ._masks import mask_op, step_weights

        keep = mask_op(self.compute_mask, x)  # an op: a replayed step masks each batch
        y = ops.mul(x, step_weights(keep, x.dtype))
        set_mask(y, keep.data)
        return y

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mask_value": self.mask_value}


@register
class ActivityRegularization(_Elementwise):
    """Identity that adds ``(l1 * sum|x| + l2 * sum(x²)) / batch_size`` of its output to
    ``layer.losses`` (Keras 3 divides activity penalties by the batch size).

    Example:
        >>> layer = ActivityRegularization(l2=0.1); _ = layer(np.ones((2, 2), "float32"))
        >>> round(float(layer.losses[0].data), 6)
        0.2
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.l1, self.l2 = float(l1), float(l2)

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        penalty = None
        if self.l1:
            penalty = ops.mul(ops.sum(ops.abs(x)), x.dtype.type(self.l1))
        if self.l2:
            p2 = ops.mul(ops.sum(ops.mul(x, x)), x.dtype.type(self.l2))
            penalty = p2 if penalty is None else ops.add(penalty, p2)
        if penalty is not None:
            n = x.shape[0] if x.ndim else 1
            self._activity_losses.append(ops.mul(penalty, x.dtype.type(1.0 / max(n, 1))))
        return x

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "l1": self.l1, "l2": self.l2}


@register
class AlphaDropout(_Elementwise):
    """Dropout that keeps SELU's self-normalising mean and variance (Klambauer et al. 2017).

    In training, dropped units are set to SELU's negative saturation ``-alpha * scale`` and
    the result is affinely rescaled (``a * x + b``) so mean and variance are preserved;
    identity at inference.

    Args:
        rate: fraction dropped, in [0, 1).
        noise_shape: shape of the mask, broadcast against the input (None = input's).
        seed: optional seed of a layer-private generator.

    Example:
        >>> AlphaDropout(0.1)(np.ones((2, 3), "float32")).shape
        (2, 3)
    """

    def __init__(self, rate: float, noise_shape: Sequence[int | None] | None = None,
                 seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rate = _check_rate(self.name, rate)
        self.noise_shape = None if noise_shape is None else tuple(
            None if s is None else int(s) for s in noise_shape)
        self.seed = None if seed is None else int(seed)
        self._rng = None if seed is None else np.random.default_rng(self.seed)

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        if not training or self.rate == 0.0:
            return x
        shape = x.shape
        if self.noise_shape is not None:
            shape = tuple(s if n is None else n for n, s in zip(self.noise_shape, x.shape))
        return _AlphaDrop(self, shape)(x)

    def get_config(self) -> dict[str, Any]:
        ns = None if self.noise_shape is None else tuple(self.noise_shape)
        return {**super().get_config(), "rate": self.rate, "noise_shape": ns, "seed": self.seed}


class _AlphaDrop(Function):
    """``a * (x * keep + alpha' * (1 - keep)) + b`` with ``keep`` drawn inside ``forward``
    (a replayed step draws afresh); the gradient is ``gy * a * keep``."""

    _ALPHA_P = -1.6732632423543772848170429916717 * 1.0507009873554804934193349852946
    random = True

    def __init__(self, layer: AlphaDropout, shape: tuple) -> None:
        self.layer, self.shape = layer, shape

    def forward(self, x: Any) -> Any:
        r, ap = self.layer.rate, self._ALPHA_P
        a = ((1.0 - r) * (1.0 + r * ap**2)) ** -0.5
        b = -a * ap * r
        gen = self.layer._rng if self.layer._rng is not None else backend.rng()
        xp = backend.get_array_module(x)
        keep = xp.asarray(functional.keep_draw(gen, self.shape, r), dtype=x.dtype)
        self.k = keep * x.dtype.type(a)
        return x * self.k + (x.dtype.type(a * ap) * (1 - keep) + x.dtype.type(b))

    def backward(self, gy: Any) -> Any:
        return gy * self.k


@register
class UnitNormalization(_Elementwise):
    """Scale each sample to unit L2 norm along ``axis``: ``x / sqrt(max(sum(x²), 1e-12))``.

    Example:
        >>> UnitNormalization()(np.array([[3.0, 4.0]], "float32")).data
        array([[0.6, 0.8]], dtype=float32)
    """

    def __init__(self, axis: int | list[int] | tuple[int, ...] = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = [int(a) for a in axis] if isinstance(axis, (list, tuple)) else int(axis)

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        axis = tuple(self.axis) if isinstance(self.axis, list) else self.axis
        sq = ops.sum(ops.mul(x, x), axis=axis, keepdims=True)
        return ops.div(x, ops.sqrt(ops.maximum(sq, x.dtype.type(1e-12))))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


@register
class GroupNormalization(Layer):
    """Group normalization (Wu & He 2018): normalise each sample over groups of channels.

    The ``axis`` channels are split into ``groups`` equal groups; each group is normalised
    over its channels and all non-batch axes, then scaled by ``gamma`` and shifted by
    ``beta`` (one per channel). ``groups=-1`` is instance normalisation, ``groups=1`` layer
    normalisation over all axes.

    Args:
        groups: number of groups; must divide the channel count (-1: one per channel).
        axis: the channel axis (default last).
        epsilon, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
        gamma_regularizer: as in ``LayerNormalization``.

    Weights ``gamma`` (channels,), ``beta`` (channels,).

    Example:
        >>> GroupNormalization(groups=2)(np.random.rand(2, 5, 4).astype("float32")).shape
        (2, 5, 4)
    """

    supports_masking = True

    def __init__(self, groups: int = 32, axis: int = -1, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True, beta_initializer: Any = "zeros",
                 gamma_initializer: Any = "ones", beta_regularizer: Any = None,
                 gamma_regularizer: Any = None, beta_constraint: Any = None,
                 gamma_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or (
                groups == 0 or groups < -1):
            raise ValueError(f"Layer '{self.name}': groups must be a positive int or -1. "
                             f"Received: groups={groups!r}")
        self.groups, self.axis, self.epsilon = int(groups), int(axis), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)

    def build(self, input_shape: tuple) -> None:
        nd = len(input_shape)
        if not -nd < self.axis < nd or self.axis % nd == 0 or input_shape[self.axis] is None:
            raise ValueError(f"Layer '{self.name}': axis {self.axis} must be a non-batch axis "
                             f"of known size. Received: input shape {tuple(input_shape)}")
        c = int(input_shape[self.axis])
        g = c if self.groups == -1 else self.groups
        if g > c or c % g:
            raise ValueError(f"Layer '{self.name}': groups ({g}) must divide the number of "
                             f"channels ({c}). Received: input shape {tuple(input_shape)}")
        self._g, self._c, self._nd = g, c, nd
        self.gamma = (self.add_weight("gamma", (c,), self.gamma_initializer,
                                      self.gamma_regularizer,
                                      constraint=self.gamma_constraint) if self.scale else None)
        self.beta = (self.add_weight("beta", (c,), self.beta_initializer,
                                     self.beta_regularizer,
                                     constraint=self.beta_constraint) if self.center else None)
        self.built = True

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        ax = self.axis % x.ndim
        if x.ndim != self._nd or x.shape[ax] != self._c:
            raise ValueError(f"Layer '{self.name}': built for rank {self._nd} inputs with "
                             f"{self._c} channels on axis {self.axis}. "
                             f"Received: input shape {tuple(x.shape)}")
        shape = tuple(x.shape)
        grouped = shape[:ax] + (self._g, self._c // self._g) + shape[ax + 1:]
        norm_axes = tuple(i for i in range(1, len(grouped)) if i != ax)
        y = Normalize(norm_axes, self.epsilon, scale=False, center=False)(
            ops.reshape(x, grouped))
        y = ops.reshape(y, shape)
        pshape = tuple(self._c if i == ax else 1 for i in range(x.ndim))
        if self.scale and self.gamma is not None:  # gamma exists when scale (build)
            y = ops.mul(y, ops.reshape(self.gamma, pshape))
        if self.center and self.beta is not None:
            y = ops.add(y, ops.reshape(self.beta, pshape))
        return y

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(), "groups": self.groups, "axis": self.axis,
            "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
        }
