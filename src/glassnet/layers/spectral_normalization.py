"""``SpectralNormalization`` (Keras 3): keep a wrapped layer's kernel at spectral norm 1
(Miyato et al., 2018, the GAN discriminator's Lipschitz constraint), by power iteration."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend, initializers
from ..tensor import Tensor
from .base import Layer, register
from .wrapper import Wrapper

__all__ = ["SpectralNormalization"]


def _unit(a: Any) -> Any:
    """``a`` over its L2 norm, as Keras's ``ops.normalize(axis=None)``: times
    ``min(1/sqrt(sum a²), 1/epsilon)``."""
    inv = np.minimum(1.0 / np.sqrt(np.sum(a * a)), 1.0 / 1e-7)
    return a * a.dtype.type(inv)


@register
class SpectralNormalization(Wrapper):
    """Divide the wrapped layer's kernel by its largest singular value at every training
    call, estimated by ``power_iterations`` steps of power iteration from a kept vector.

    As Keras 3 does: in training, before the wrapped layer runs, ``u`` and the kernel are
    replaced by ``u'`` and ``kernel / sigma`` (``sigma = v·W·u'``, both vectors without a
    gradient); the gradient then reaches the kernel the layer used. At inference the
    kernel is used as it stands.

    Args:
        layer: a layer with a ``kernel`` (Dense, convolutions) or ``embeddings``.
        power_iterations: power-iteration steps per training call (>= 1).

    Weights: the wrapped layer's, then ``vector_u`` (1, kernel's last size), not trained,
    drawn from a truncated normal of stddev 0.02.

    Example:
        >>> sn = SpectralNormalization(gn.layers.Dense(3))
        >>> sn(np.ones((2, 4), "float32"), training=True).shape
        (2, 3)
    """

    def __init__(self, layer: Layer | dict[str, Any], power_iterations: int = 1,
                 **kwargs: Any) -> None:
        super().__init__(layer, **kwargs)
        if isinstance(power_iterations, bool) or not isinstance(
                power_iterations, (int, np.integer)) or power_iterations <= 0:
            raise ValueError(f"Layer '{self.name}': power_iterations must be a positive int. "
                             f"Received: power_iterations={power_iterations!r}")
        self.power_iterations = int(power_iterations)

    def build(self, input_shape: Any) -> None:
        super().build(input_shape)
        kernel = getattr(self.layer, "kernel", None)
        if not isinstance(kernel, Tensor):
            kernel = getattr(self.layer, "embeddings", None)
        if not isinstance(kernel, Tensor):
            raise ValueError(f"Layer '{self.name}': {type(self.layer).__name__} has neither a "
                             "'kernel' nor 'embeddings' to normalize")
        self.kernel = kernel
        self.vector_u = self.add_weight("vector_u", (1, kernel.shape[-1]),
                                        initializers.TruncatedNormal(stddev=0.02),
                                        trainable=False)

    def _weight_flags(self, state: bool = False) -> list[tuple[Tensor, bool]]:
        # Keras tracks the wrapped kernel as the wrapper's own (``self.kernel = ...``), so
        # its weights list reads kernel, vector_u, then the wrapped layer's others
        pairs = super()._weight_flags(state)
        k = next((p for p in pairs if p[0] is self.__dict__.get("kernel")), None)
        return pairs if k is None else [k] + [p for p in pairs if p is not k]

    def call(self, x: Tensor, training: bool = False) -> Any:
        if training:
            self._normalize()
        return self.layer(x, training=training)

    def _normalize(self) -> None:
        """One training call's update of ``vector_u`` and the kernel (in place: a step
        that assigns runs the ordinary way, as a replay would skip it)."""
        w = backend.asnumpy(self.kernel.data)
        if not np.any(w):  # Keras leaves an all-zero kernel (and u) as they are
            return
        w2 = w.reshape(-1, w.shape[-1])
        u = backend.asnumpy(self.vector_u.data)
        v = u
        for _ in range(self.power_iterations):
            v = _unit(u @ w2.T)
            u = _unit(v @ w2)
        sigma = (v @ w2 @ u.T).reshape(())
        self.vector_u.assign(u)
        self.kernel.assign(w / sigma)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return self.layer.compute_output_shape(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "power_iterations": self.power_iterations}
