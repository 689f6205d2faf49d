"""``Autoencoder(encoder, decoder)``: a model that reconstructs its input through a code.

The course: an autoencoder encodes inputs into compressed vectors and decodes them back. It
is an ordinary glassnet model — train it with ``compile`` and ``fit(x, x)`` — plus
``encode``/``decode``/``reconstruction_error``. A *denoising* autoencoder puts
``GaussianNoise`` or ``Dropout`` first in the encoder: those layers corrupt the input only
while training, so the network learns to reconstruct clean inputs from noisy ones, and
inference (``encode``, ``predict``) sees the clean input.

:func:`dense_autoencoder` and :func:`conv_autoencoder` build the usual architectures from
ordinary layers.

Example:
    >>> enc = Sequential([Dense(32, activation="relu", input_shape=(784,)), Dense(2)])
    >>> dec = Sequential([Dense(32, activation="relu", input_shape=(2,)),
    ...                   Dense(784, activation="sigmoid")])
    >>> ae = Autoencoder(enc, dec)
    >>> ae.compile("adam", "binary_crossentropy")
    >>> ae.fit(x, x, epochs=5); codes = ae.encode(x)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import backend
from ..autograd import no_grad
from ..layers.base import Layer
from ..tensor import Tensor
from .model import Model

__all__ = ["Autoencoder", "dense_autoencoder", "conv_autoencoder"]


class Autoencoder(Model):
    """Encoder + decoder trained end to end to reproduce the input.

    Args:
        encoder: layer or model mapping inputs (N, ...) to codes (N, ...).
        decoder: layer or model mapping codes back to the inputs' shape.
        name: model name.

    Shapes: x (N, *input_shape) → ``encode`` (N, *code_shape) → ``decode`` (N, *input_shape).

    Saving: ``ae.save(path)`` / ``gn.models.load_model(path)`` round-trips when encoder and
    decoder are ``Sequential`` models or glassnet layers (the safe loader builds nothing else).

    Example:
        >>> ae = dense_autoencoder(784, hidden=(128,), code_dim=16)
        >>> ae.compile("adam", "mse"); ae.fit(x, x, epochs=3)
        >>> ae.reconstruction_error(x_test).mean()
    """

    def __init__(self, encoder: Layer, decoder: Layer, name: str | None = None,
                 **kwargs: Any) -> None:
        for what, part in (("encoder", encoder), ("decoder", decoder)):
            if not isinstance(part, Layer):
                raise TypeError(f"Autoencoder: {what} must be a glassnet Layer or Model. "
                                f"Received: {type(part).__name__}")
        if encoder is decoder:
            raise ValueError("Autoencoder: encoder and decoder must be two different models")
        super().__init__(name=name, **kwargs)
        self.encoder = encoder
        self.decoder = decoder

    # ------------------------------------------------------------------ forward
    def call(self, x: Any, training: bool = False) -> Any:
        return self.decoder(self.encoder(x, training=training), training=training)

    @property
    def input_shape(self) -> tuple[int | None, ...] | None:
        """Input shape with the batch axis (``None``), if known."""
        if self.input_shape_built is not None:
            return tuple(self.input_shape_built)
        if self.input_spec_shape is not None:
            return (None, *self.input_spec_shape)
        return getattr(self.encoder, "input_shape", None)

    def _build_from(self, shape: Sequence[int | None]) -> None:
        with no_grad():
            self(Tensor._make(np.zeros((1, *shape[1:]), dtype=backend.floatx())))

    def _run(self, part: Layer, x: Any, what: str, batch_size: int) -> np.ndarray:
        from .data_adapter import _to_array

        if not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
            raise ValueError(f"Autoencoder.{what}: batch_size must be a positive int. "
                             f"Received: {batch_size!r}")
        x = _to_array(x, "x")
        if x.ndim < 2 or len(x) == 0:
            raise ValueError(f"Autoencoder.{what}: expected a non-empty batch (N, ...). "
                             f"Received: shape {x.shape}")
        outs = []
        with no_grad():  # inference mode: noise and dropout layers are the identity
            for i in range(0, len(x), batch_size):
                out = part(Tensor._make(x[i:i + batch_size]), training=False)
                outs.append(backend.asnumpy(out.data))
        return np.concatenate(outs)

    def encode(self, x: Any, batch_size: int = 256) -> np.ndarray:
        """Codes of ``x`` (inference mode), as a NumPy array."""
        return self._run(self.encoder, x, "encode", batch_size)

    def decode(self, z: Any, batch_size: int = 256) -> np.ndarray:
        """Reconstructions from codes ``z`` (inference mode), as a NumPy array."""
        return self._run(self.decoder, z, "decode", batch_size)

    def reconstruction_error(self, x: Any, batch_size: int = 256) -> np.ndarray:
        """Per-sample mean squared error between ``x`` and its reconstruction, shape (N,)."""
        from .data_adapter import _to_array

        x = _to_array(x, "x")
        r = self._run(self, x, "reconstruction_error", batch_size)
        if r.shape != x.shape:
            raise ValueError(f"Autoencoder: the decoder's output shape {r.shape[1:]} differs "
                             f"from the input shape {x.shape[1:]}")
        d = (r - backend.asnumpy(x)).reshape(len(x), -1)
        return (d * d).mean(axis=1)

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        from .saving import serialize_layer

        cfg = super().get_config()
        if "input_shape" not in cfg and self.input_shape_built is not None:
            # lets load_model build the model even when the encoder declared no input shape
            cfg["input_shape"] = list(self.input_shape_built[1:])
        return {**cfg, "encoder": serialize_layer(self.encoder),
                "decoder": serialize_layer(self.decoder)}

    @classmethod
    def from_config(cls, config: dict[str, Any],
                    custom_objects: dict[str, Any] | None = None) -> Autoencoder:
        from .saving import deserialize_layer

        cfg = dict(config)
        try:
            enc, dec = cfg.pop("encoder"), cfg.pop("decoder")
        except KeyError as e:
            raise ValueError(f"Autoencoder config lacks {e}") from None
        return cls(deserialize_layer(enc), deserialize_layer(dec), **cfg)


def _check_sizes(fn: str, **sizes: Any) -> None:
    for k, v in sizes.items():
        vals = v if isinstance(v, (list, tuple)) else [v]
        if not all(isinstance(s, (int, np.integer)) and s > 0 for s in vals):
            raise ValueError(f"{fn}: {k} must be positive int(s). Received: {k}={v!r}")


class _FirstShape:
    # hands ``input_shape`` to the first layer built, nothing to the later ones
    def __init__(self, shape: tuple[int, ...] | None) -> None:
        self.shape = shape

    def __call__(self) -> dict[str, Any]:
        shape, self.shape = self.shape, None
        return {} if shape is None else {"input_shape": shape}


def dense_autoencoder(input_dim: int, hidden: Sequence[int] = (128,), code_dim: int = 32,
                      activation: str = "relu", code_activation: Any = None,
                      output_activation: str | None = "sigmoid", noise_stddev: float = 0.0,
                      dropout: float = 0.0, name: str | None = None) -> Autoencoder:
    """A symmetric MLP autoencoder: input → hidden… → code → …hidden reversed → input.

    Args:
        input_dim: features per sample (784 for flattened MNIST).
        hidden: encoder hidden sizes; the decoder mirrors them.
        code_dim: size of the code (2 for a plottable latent space).
        activation: hidden activation. code_activation: activation of the code (linear).
        output_activation: ``"sigmoid"`` for data in [0, 1] (pair with binary
            cross-entropy), ``None`` for standardized data (pair with MSE).
        noise_stddev, dropout: > 0 makes it a denoising autoencoder (GaussianNoise /
            Dropout on the input, active only while training).

    Example:
        >>> ae = dense_autoencoder(784, hidden=(256, 64), code_dim=2, noise_stddev=0.3)
    """
    from ..layers import Dense, Dropout, GaussianNoise
    from .model import Sequential

    _check_sizes("dense_autoencoder", input_dim=input_dim, hidden=list(hidden),
                 code_dim=code_dim)
    first = _FirstShape((int(input_dim),))
    enc: list = []
    if noise_stddev > 0:
        enc.append(GaussianNoise(noise_stddev, **first()))
    if dropout > 0:
        enc.append(Dropout(dropout, **first()))
    for h in hidden:
        enc.append(Dense(int(h), activation=activation, **first()))
    enc.append(Dense(int(code_dim), activation=code_activation, **first()))
    first = _FirstShape((int(code_dim),))
    dec = [Dense(int(h), activation=activation, **first()) for h in reversed(list(hidden))]
    dec.append(Dense(int(input_dim), activation=output_activation, **first()))
    return Autoencoder(Sequential(enc), Sequential(dec), name=name)


def conv_autoencoder(input_shape: Sequence[int] = (28, 28, 1), filters: Sequence[int] = (16, 8),
                     activation: str = "relu", output_activation: str = "sigmoid",
                     noise_stddev: float = 0.0, name: str | None = None) -> Autoencoder:
    """A convolutional autoencoder on channels-last images.

    Encoder: per entry of ``filters`` a 3×3 ``Conv2D`` (same padding) + 2×2 ``MaxPooling2D``;
    decoder: mirrored 3×3 ``Conv2D`` + 2×2 ``UpSampling2D`` blocks and a final 3×3
    ``Conv2D`` back to the input's channels. Height and width must be divisible by
    ``2 ** len(filters)``; the code has shape (h / 2^k, w / 2^k, filters[-1]).

    Example:
        >>> ae = conv_autoencoder((28, 28, 1), filters=(16, 8))   # code (7, 7, 8)
    """
    from ..layers import Conv2D, GaussianNoise, MaxPooling2D, UpSampling2D
    from .model import Sequential

    shape = tuple(int(s) for s in input_shape)
    if len(shape) != 3:
        raise ValueError(f"conv_autoencoder: input_shape must be (height, width, channels). "
                         f"Received: {input_shape!r}")
    _check_sizes("conv_autoencoder", filters=list(filters), input_shape=list(shape))
    k = 2 ** len(filters)
    if shape[0] % k or shape[1] % k:
        raise ValueError(f"conv_autoencoder: height and width must be divisible by {k} for "
                         f"{len(filters)} pooling steps. Received: input_shape {shape}")
    first = _FirstShape(shape)
    enc: list = [GaussianNoise(noise_stddev, **first())] if noise_stddev > 0 else []
    for f in filters:
        enc += [Conv2D(int(f), 3, padding="same", activation=activation, **first()),
                MaxPooling2D(2)]
    first = _FirstShape((shape[0] // k, shape[1] // k, int(filters[-1])))
    dec: list = []
    for f in reversed(list(filters)):
        dec += [Conv2D(int(f), 3, padding="same", activation=activation, **first()),
                UpSampling2D(2)]
    dec.append(Conv2D(shape[2], 3, padding="same", activation=output_activation))
    return Autoencoder(Sequential(enc), Sequential(dec), name=name)
