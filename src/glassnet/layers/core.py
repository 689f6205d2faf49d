"""Core layers: ``Input``, ``Dense``, ``Activation``, noise/dropout, reshaping, ``PReLU``,
``Maxout`` and the merge layers (``Add``, ``Multiply``, ``Average``, ``Concatenate``).

Keras names, arguments and weight layouts: ``Dense`` kernel ``(in, out)``, bias ``(out,)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import activations, backend, constraints, functional, initializers, ops, regularizers
from ._symbolic_ops import SymbolicArithmetic
from .base import Layer, _shape_tuple, register

if TYPE_CHECKING:
    from ..tensor import Tensor

__all__ = [
    "Input", "InputLayer", "Dense", "Activation", "Dropout", "GaussianNoise",
    "GaussianDropout", "Flatten", "Reshape", "Permute", "RepeatVector", "PReLU", "Maxout",
    "Add", "Multiply", "Average", "Concatenate",
]


def _positive_int(layer: str, arg: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(
            f"Layer '{layer}': {arg} must be a positive integer. Received: {arg}={value!r}"
        )
    return int(value)


def _check_rate(layer: str, rate: Any) -> float:
    if not isinstance(rate, (int, float, np.floating)) or not 0.0 <= float(rate) < 1.0:
        raise ValueError(f"Layer '{layer}': rate must be in [0, 1). Received: rate={rate!r}")
    return float(rate)


# ------------------------------------------------------------------ input marker
@register
class InputLayer(SymbolicArithmetic, Layer):
    """Marker for the model input: declares the shape of one sample, passes data through.

    Args:
        shape: shape of one sample, without the batch axis (``(784,)``, ``(28, 28, 1)``).

    Example:
        >>> model = gn.models.Sequential([gn.layers.Input((4,)), gn.layers.Dense(2)])
    """

    # also stands for its own output in the functional API: Dense(3)(Input((4,)))
    _glassnet_symbolic = True
    _accepts_text = True  # an Input(dtype="string") passes raw text on

    def __init__(self, shape: Any = None, batch_size: int | None = None,
                 batch_shape: Sequence[int | None] | None = None, sparse: bool | None = None,
                 **kwargs: Any) -> None:
        if batch_shape is not None:
            batch_shape = tuple(batch_shape)
            if shape is not None:
                raise ValueError("InputLayer: pass shape or batch_shape, not both. Received: "
                                 f"shape={shape!r}, batch_shape={batch_shape!r}")
            batch_size, shape = batch_shape[0], batch_shape[1:]
        if shape is None and kwargs.get("input_shape") is None:
            raise ValueError("InputLayer: shape is required. Received: shape=None")
        if sparse:
            raise ValueError("InputLayer: sparse inputs are not supported. Received: "
                             "sparse=True")
        if shape is not None:
            kwargs["input_shape"] = shape
        super().__init__(**kwargs)
        if batch_size is not None:
            batch_size = _positive_int(self.name, "batch_size", batch_size)
        self.batch_size = batch_size
        # the symbolic tensor's shape, batch axis first, as Keras's Input(...).shape
        self.shape = (batch_size, *(self.input_spec_shape or ()))

    @property
    def batch_shape(self) -> tuple:
        return self.shape

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def input(self) -> Any:
        """The symbolic tensor this input stands for (as :attr:`output`)."""
        return self.output

    @property
    def output(self) -> Any:
        """The symbolic tensor this input stands for (the functional graph's start)."""
        from ._symbolic import as_symbolic

        return as_symbolic(self)

    def __call__(self, x: Any, *args: Any, training: bool | None = None,
                 **kwargs: Any) -> Any:
        if args:  # more inputs, or the training flag, by position
            return self._positional_call(x, args, training, kwargs)
        if (self.dtype is not None and self.dtype.kind in "USO"
                and not getattr(x, "_glassnet_symbolic", False)):
            x = np.asarray(x)  # a string input (TextVectorization) passes through as an array
            self._check_spec((None,) + tuple(x.shape[1:]))
            return x
        return super().__call__(x, training=training, **kwargs)

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        # the base class checks the declared shape only when building; inputs repeat calls
        self._check_spec((None,) + tuple(x.shape[1:]))
        return x

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        cfg = super().get_config()
        cfg.pop("input_shape", None)
        cfg = {**cfg, "shape": list(self.input_spec_shape or ())}  # set by __init__
        if self.batch_size is not None:
            cfg["batch_size"] = self.batch_size
        return cfg


def Input(shape: Any = None, batch_size: int | None = None, dtype: Any = None,  # noqa: N802
          sparse: bool | None = None, batch_shape: Sequence[int | None] | None = None,
          name: str | None = None, tensor: Any = None,
          optional: bool = False) -> InputLayer:
    """A model input, Keras's ``keras.Input``: one sample's shape, without the batch axis.

    Args:
        shape: shape of one sample, e.g. ``(784,)``, ``(28, 28, 1)``; ``None`` entries are
            variable (``(None,)`` for sequences of any length).
        batch_size: optional fixed batch size; batch_shape: the shape with the batch first.
        dtype: input dtype (e.g. ``"int64"`` for token ids); name: layer name.

    Returns an ``InputLayer`` that stands for its own output: ``.shape`` is
    ``(batch_size, *shape)``, e.g. ``(None, 28, 28, 1)``; call layers on it (functional API)
    or put it first in ``Sequential``.

    Example:
        >>> gn.Input(shape=(28, 28, 1)).shape
        (None, 28, 28, 1)
    """
    if tensor is not None or optional:
        raise ValueError("Input: tensor= and optional= are not supported. Received: "
                         f"tensor={type(tensor).__name__}, optional={optional!r}")
    return InputLayer(shape=shape, batch_size=batch_size, batch_shape=batch_shape,
                      sparse=sparse, name=name, dtype=dtype)


# ------------------------------------------------------------------ dense
_FUSED_ACTS = {activations.relu: "relu", activations.tanh: "tanh"}


@register
class Dense(Layer):
    """Fully connected layer: ``activation(x @ kernel + bias)`` over the last axis.

    Args:
        units: output size (> 0).
        activation: name, callable or None (linear).
        use_bias: add a bias vector.
        kernel_initializer, bias_initializer: initializer ids.
        kernel_regularizer, bias_regularizer: penalties on the weights (in ``layer.losses``).
        activity_regularizer: penalty on the output.
        kernel_constraint, bias_constraint: projections applied to the weights after each
            optimizer update (:mod:`glassnet.constraints`).

    Shapes: (batch, ..., in) → (batch, ..., units). Weights ``kernel`` (in, units),
    ``bias`` (units,).

    Example:
        >>> Dense(3, activation="relu")(np.ones((2, 4), "float32")).shape
        (2, 3)
    """

    supports_masking = True

    def __init__(self, units: int, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.units = _positive_int(self.name, "units", units)
        self.use_bias = bool(use_bias)
        (self.activation, self.kernel_initializer, self.bias_initializer,
         self.kernel_regularizer, self.bias_regularizer, self.activity_regularizer) = kernel_args(
            activation, kernel_initializer, bias_initializer, kernel_regularizer,
            bias_regularizer, activity_regularizer)

    def build(self, input_shape: tuple) -> None:
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(
                f"Layer '{self.name}': needs inputs with a known last axis (features). "
                f"Received: input shape {input_shape}"
            )
        self.kernel = self.add_weight("kernel", (input_shape[-1], self.units),
                                      self.kernel_initializer, self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = (self.add_weight("bias", (self.units,), self.bias_initializer,
                                     self.bias_regularizer, constraint=self.bias_constraint)
                     if self.use_bias else None)
        self.built = True

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        n_in = self.kernel.shape[0]
        if x.ndim < 2 or x.shape[-1] != n_in:
            raise ValueError(
                f"Layer '{self.name}': expected input shape (None, ..., {n_in}). "
                f"Received: input shape {tuple(x.shape)}"
            )
        act = self.activation
        fused = _FUSED_ACTS.get(act)
        if fused is not None:  # relu/tanh inside the linear node (one node, not two)
            y = functional.linear(x, self.kernel, self.bias, fused)
        else:
            y = act(functional.linear(x, self.kernel, self.bias))
        return y

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "units": self.units,
            **kernel_layer_config(self),
        }


def kernel_args(activation: Any, kernel_initializer: Any, bias_initializer: Any,
                kernel_regularizer: Any, bias_regularizer: Any,
                activity_regularizer: Any) -> tuple[Any, ...]:
    """The arguments every kernel+bias layer shares (Dense, EinsumDense), resolved in this
    order: what :func:`kernel_layer_config` writes back."""
    return (activations.get(activation), initializers.get(kernel_initializer),
            initializers.get(bias_initializer), regularizers.get(kernel_regularizer),
            regularizers.get(bias_regularizer), regularizers.get(activity_regularizer))


def kernel_layer_config(layer: Any) -> dict[str, Any]:
    """The config entries every kernel+bias layer shares (Dense, Conv*): activation, bias
    (where the layer has ``use_bias``), initializers, regularizers and constraints,
    serialized by name."""
    return {
        "activation": activations.serialize(layer.activation),
        **({"use_bias": layer.use_bias} if hasattr(layer, "use_bias") else {}),
        "kernel_initializer": initializers.serialize(layer.kernel_initializer),
        "bias_initializer": initializers.serialize(layer.bias_initializer),
        "kernel_regularizer": regularizers.serialize(layer.kernel_regularizer),
        "bias_regularizer": regularizers.serialize(layer.bias_regularizer),
        "activity_regularizer": regularizers.serialize(layer.activity_regularizer),
        "kernel_constraint": constraints.serialize(layer.kernel_constraint),
        "bias_constraint": constraints.serialize(layer.bias_constraint),
    }


@register
class Activation(Layer):
    """Apply an activation function: ``Activation("relu")``.

    Example:
        >>> Activation("tanh")(np.zeros((1, 2), "float32")).shape
        (1, 2)
    """

    supports_masking = True

    def __init__(self, activation: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        return self.activation(x)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


# ------------------------------------------------------------------ noise / dropout
class _Noise(Layer):
    """Shared plumbing: identity at inference, a random multiplier or offset in training."""

    supports_masking = True

    def __init__(self, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seed = None if seed is None else int(seed)
        # a per-layer seed gives a reproducible stream of its own; otherwise the global one
        self._rng = None if seed is None else np.random.default_rng(self.seed)

    def _gen(self) -> np.random.Generator:
        return self._rng if self._rng is not None else backend.rng()

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)


@register
class Dropout(_Noise):
    """Inverted dropout: in training zero each unit with probability ``rate`` and scale the
    kept ones by ``1/(1 - rate)``; at inference the layer is the identity.

    Why identity at inference: the course's dropout keeps each unit with probability
    ``q = 1 - rate`` during training and multiplies the weights by ``q`` at test time so that
    every unit's expected input matches training. Scaling the kept units by ``1/q`` during
    training instead gives the same expectation, so the test-time network needs no change.

    Args:
        rate: fraction dropped, in [0, 1).
        noise_shape: shape of the binary mask, broadcast against the input (``None`` entries
            take the input's size; e.g. ``(None, 1, None)`` drops whole timesteps' features).
        seed: optional seed of a layer-private generator.

    Example:
        >>> Dropout(0.5)(np.ones((2, 3), "float32"), training=False).shape
        (2, 3)
    """

    def __init__(self, rate: float, noise_shape: Any = None, seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        self.rate = _check_rate(self.name, rate)
        self.noise_shape = None if noise_shape is None else _shape_tuple(noise_shape)

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        if not training or self.rate == 0.0:
            return x
        shape = x.shape
        if self.noise_shape is not None:
            if len(self.noise_shape) != x.ndim:
                raise ValueError(
                    f"Layer '{self.name}': noise_shape must have {x.ndim} entries. "
                    f"Received: noise_shape={self.noise_shape}"
                )
            shape = tuple(s if n is None else n for n, s in zip(self.noise_shape, x.shape))
        gen, rate = self._gen, self.rate  # the generator is looked up at each draw

        def draw(a: Any) -> Any:  # a NumPy or CuPy array
            return functional.keep_mask(gen(), shape, rate, a.dtype,
                                        backend.get_array_module(a))

        return functional.RandomScale(draw)(x)

    def get_config(self) -> dict[str, Any]:
        ns = None if self.noise_shape is None else tuple(self.noise_shape)
        return {**super().get_config(), "rate": self.rate, "noise_shape": ns, "seed": self.seed}


@register
class GaussianNoise(_Noise):
    """Add zero-mean Gaussian noise of std ``stddev`` in training (a regulariser).

    Example:
        >>> GaussianNoise(0.1)(np.ones((2, 3), "float32"), training=True).shape
        (2, 3)
    """

    def __init__(self, stddev: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        if not float(stddev) >= 0:
            raise ValueError(
                f"Layer '{self.name}': stddev must be >= 0. Received: stddev={stddev!r}"
            )
        self.stddev = float(stddev)

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        if not training or self.stddev == 0.0:
            return x
        gen, std = self._gen, self.stddev

        def draw(a: Any) -> Any:  # a NumPy or CuPy array
            xp = backend.get_array_module(a)
            return xp.asarray(gen().normal(0.0, std, a.shape), dtype=a.dtype)

        return functional.RandomShift(draw)(x)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


@register
class GaussianDropout(_Noise):
    """Multiply by Gaussian noise of mean 1 and std ``sqrt(rate / (1 - rate))`` in training.

    Example:
        >>> GaussianDropout(0.2)(np.ones((2, 3), "float32")).shape
        (2, 3)
    """

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        self.rate = _check_rate(self.name, rate)

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        if not training or self.rate == 0.0:
            return x
        std = np.sqrt(self.rate / (1.0 - self.rate))
        gen = self._gen

        def draw(a: Any) -> Any:  # a NumPy or CuPy array
            xp = backend.get_array_module(a)
            return xp.asarray(gen().normal(1.0, std, a.shape), dtype=a.dtype)

        return functional.RandomScale(draw)(x)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


# ------------------------------------------------------------------ reshaping
@register
class Flatten(Layer):
    """Flatten every axis but the batch axis: (B, d1, d2, ...) → (B, d1*d2*...)."""

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        return ops.reshape(x, (x.shape[0], -1))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        rest = input_shape[1:]
        n = None if any(s is None for s in rest) else int(np.prod(rest, dtype=np.int64))
        return (input_shape[0], n)


@register
class Reshape(Layer):
    """Reshape each sample to ``target_shape`` (one entry may be -1).

    Example:
        >>> Reshape((2, 3))(np.zeros((4, 6), "float32")).shape
        (4, 2, 3)
    """

    def __init__(self, target_shape: Sequence[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target_shape = tuple(int(s) for s in target_shape)
        if sum(s == -1 for s in self.target_shape) > 1 or any(
            s == 0 or s < -1 for s in self.target_shape
        ):
            raise ValueError(
                f"Layer '{self.name}': target_shape needs positive sizes and at most one -1. "
                f"Received: target_shape={self.target_shape}"
            )

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        n = int(np.prod(x.shape[1:], dtype=np.int64))
        known = int(np.prod([s for s in self.target_shape if s != -1], dtype=np.int64))
        if (-1 in self.target_shape and n % known) or (
            -1 not in self.target_shape and n != known
        ):
            raise ValueError(
                f"Layer '{self.name}': cannot reshape samples of shape {tuple(x.shape[1:])} "
                f"to {self.target_shape}. Received: input shape {tuple(x.shape)}"
            )
        return ops.reshape(x, (x.shape[0],) + self.target_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "target_shape": tuple(self.target_shape)}


@register
class Permute(Layer):
    """Permute the non-batch axes; ``dims`` is 1-based as in Keras: ``Permute((2, 1))``."""

    def __init__(self, dims: Sequence[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dims = tuple(int(d) for d in dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(
                f"Layer '{self.name}': dims must be a permutation of 1..{len(self.dims)}. "
                f"Received: dims={self.dims}"
            )

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        if x.ndim != len(self.dims) + 1:
            raise ValueError(
                f"Layer '{self.name}': expected inputs of rank {len(self.dims) + 1}. "
                f"Received: input shape {tuple(x.shape)}"
            )
        return ops.transpose(x, (0,) + self.dims)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "dims": tuple(self.dims)}


@register
class RepeatVector(Layer):
    """Repeat a (B, features) input ``n`` times: → (B, n, features)."""

    def __init__(self, n: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.n = _positive_int(self.name, "n", n)

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        if x.ndim != 2:
            raise ValueError(
                f"Layer '{self.name}': expected inputs of rank 2 (batch, features). "
                f"Received: input shape {tuple(x.shape)}"
            )
        return ops.broadcast_to(ops.reshape(x, (x.shape[0], 1, x.shape[1])),
                                (x.shape[0], self.n, x.shape[1]))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "n": self.n}


# ------------------------------------------------------------------ learned activations
@register
class PReLU(Layer):
    """Parametric ReLU: ``max(0, x) + alpha * min(0, x)`` with a learned ``alpha``.

    Args:
        alpha_initializer: default "zeros" (starts as ReLU, as Keras).
        alpha_regularizer: optional penalty on alpha.
        alpha_constraint: a projection of alpha after each update (:mod:`glassnet.constraints`).
        shared_axes: 1-based axes along which alpha is shared (e.g. ``(1, 2)`` for one
            alpha per channel of an image).

    Weight ``alpha`` has the sample shape, with 1 on shared axes.

    Example:
        >>> PReLU()(np.ones((2, 3), "float32")).shape
        (2, 3)
    """

    supports_masking = True

    def __init__(self, alpha_initializer: Any = "zeros", alpha_regularizer: Any = None,
                 shared_axes: int | Sequence[int] | None = None, alpha_constraint: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        self.shared_axes: tuple[int, ...]
        if shared_axes is None:
            self.shared_axes = ()
        elif isinstance(shared_axes, (int, np.integer)):
            self.shared_axes = (int(shared_axes),)
        else:
            self.shared_axes = tuple(int(a) for a in shared_axes)

    def build(self, input_shape: tuple) -> None:
        shape = list(input_shape[1:])
        for a in self.shared_axes:
            if not 1 <= a <= len(shape):
                raise ValueError(
                    f"Layer '{self.name}': shared_axes entries must be in 1..{len(shape)}. "
                    f"Received: shared_axes={self.shared_axes}"
                )
            shape[a - 1] = 1
        if any(s is None for s in shape):
            raise ValueError(
                f"Layer '{self.name}': non-shared axes need known sizes. "
                f"Received: input shape {input_shape}"
            )
        self.alpha = self.add_weight("alpha", tuple(shape), self.alpha_initializer,
                                     self.alpha_regularizer,
                                     constraint=self.alpha_constraint)
        self.built = True

    def _input_spec(self) -> dict | None:
        """Every axis alpha is not shared along keeps the size it was built for (Keras)."""
        nd = len(self.alpha.shape) + 1
        return {i - nd: int(n) for i, n in enumerate(self.alpha.shape, 1)
                if i not in self.shared_axes} or None

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        zero = x.dtype.type(0)
        return ops.add(ops.maximum(x, zero), ops.mul(self.alpha, ops.minimum(x, zero)))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "alpha_initializer": initializers.serialize(self.alpha_initializer),
            "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
            "alpha_constraint": constraints.serialize(self.alpha_constraint),
            "shared_axes": list(self.shared_axes) or None,
        }


@register
class Maxout(Layer):
    """Maxout unit (Goodfellow et al. 2013): an affine map to ``units * pieces`` values, then
    the max over each unit's ``pieces``.

    Weights ``kernel`` (in, units*pieces), ``bias`` (units*pieces,); piece ``j`` of unit ``u``
    is column ``u * pieces + j``.

    Example:
        >>> Maxout(4, pieces=3)(np.ones((2, 5), "float32")).shape
        (2, 4)
    """

    def __init__(self, units: int, pieces: int = 2, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units = _positive_int(self.name, "units", units)
        self.pieces = _positive_int(self.name, "pieces", pieces)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

    def build(self, input_shape: tuple) -> None:
        m = self.units * self.pieces
        self.kernel = self.add_weight("kernel", (input_shape[-1], m), self.kernel_initializer)
        self.bias = (self.add_weight("bias", (m,), self.bias_initializer)
                     if self.use_bias else None)
        self.built = True

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        if x.shape[-1] != self.kernel.shape[0]:
            raise ValueError(
                f"Layer '{self.name}': expected input shape (None, ..., {self.kernel.shape[0]})."
                f" Received: input shape {tuple(x.shape)}"
            )
        z = functional.linear(x, self.kernel, self.bias)
        z = ops.reshape(z, tuple(x.shape[:-1]) + (self.units, self.pieces))
        return ops.max(z, axis=-1)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(), "units": self.units, "pieces": self.pieces,
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
        }


# ------------------------------------------------------------------ merge layers
class _Merge(Layer):
    """Merge a list of tensors of the same shape."""

    def _inputs(self, xs: Any) -> list[Tensor]:
        if not isinstance(xs, (list, tuple)) or len(xs) < 2:
            raise ValueError(
                f"Layer '{self.name}': expects a list of at least 2 tensors. "
                f"Received: {type(xs).__name__}"
            )
        from .base import as_tensor_input

        return [as_tensor_input(x, self.name) for x in xs]

    def _same_shapes(self, xs: Sequence[Tensor]) -> None:
        shapes = [tuple(x.shape) for x in xs]
        if len(set(shapes)) != 1:
            raise ValueError(
                f"Layer '{self.name}': inputs must have the same shape. Received: {shapes}"
            )

    def call(self, xs: Sequence[Tensor], training: bool = False) -> Tensor:
        xs = self._inputs(xs)
        self._same_shapes(xs)
        return self._merge(xs)

    def _merge(self, xs: list[Tensor]) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement _merge()")

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """A step is kept where any input keeps it; no mask where an input has none
        (Keras 3's merges)."""
        if not isinstance(mask, (list, tuple)) or any(m is None for m in mask):
            return None
        from ._masks import mask_op

        return mask_op(_any_kept, *mask).data  # an op: a replayed step ORs each batch's


def _any_kept(*masks: Any) -> Any:
    out = masks[0]
    for m in masks[1:]:
        out = out | m
    return out


@register
class Add(_Merge):
    """Elementwise sum of a list of tensors: ``Add()([a, b])``."""

    def _merge(self, xs: list[Tensor]) -> Tensor:
        y = xs[0]
        for x in xs[1:]:
            y = ops.add(y, x)
        return y


@register
class Multiply(_Merge):
    """Elementwise product of a list of tensors."""

    def _merge(self, xs: list[Tensor]) -> Tensor:
        y = xs[0]
        for x in xs[1:]:
            y = ops.mul(y, x)
        return y


@register
class Average(_Merge):
    """Elementwise mean of a list of tensors."""

    def _merge(self, xs: list[Tensor]) -> Tensor:
        y = xs[0]
        for x in xs[1:]:
            y = ops.add(y, x)
        return ops.mul(y, y.dtype.type(1.0 / len(xs)))


@register
class Concatenate(_Merge):
    """Concatenate a list of tensors along ``axis`` (default the last)."""

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = int(axis)

    def call(self, xs: Sequence[Tensor], training: bool = False) -> Tensor:
        xs = self._inputs(xs)
        shapes = [tuple(x.shape) for x in xs]
        nd = len(shapes[0])
        ax = self.axis % nd if -nd <= self.axis < nd else None
        if ax is None or any(len(s) != nd or s[:ax] + s[ax + 1:] != shapes[0][:ax]
                             + shapes[0][ax + 1:] for s in shapes):
            raise ValueError(f"Layer '{self.name}': inputs must have the same shape except "
                             f"along axis {self.axis}. Received: input shapes {shapes}")
        return ops.concatenate(xs, axis=self.axis)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The inputs' masks joined along ``axis`` (an input without one: all kept), then
        reduced over the last axis, as Keras 3 does: joined along the time axis, the steps'
        masks follow one another; along the features, a step is kept where any input keeps
        it."""
        from ..tensor import Tensor
        from ._masks import mask_op

        if not isinstance(mask, (list, tuple)) or all(m is None for m in mask):
            return None
        arrays = [x.data if isinstance(x, Tensor) else x for x in inputs]
        shapes = [a.shape for a in arrays]
        xp = backend.get_array_module(arrays[0])
        given = [m is not None for m in mask]
        axis = self.axis

        def join(*ms: Any) -> Any:  # the given masks, in order; the shapes are fixed
            it = iter(ms)
            full = []
            for shape, has in zip(shapes, given):
                m = next(it) if has else xp.ones(shape, bool)
                if m.ndim < len(shape):
                    m = xp.broadcast_to(xp.asarray(m, bool)[..., None], shape)
                full.append(m)
            return xp.concatenate(full, axis=axis).any(axis=-1)

        # an op of the masks: a replayed step joins each batch's
        return mask_op(join, *[m for m in mask if m is not None]).data

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}
