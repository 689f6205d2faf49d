"""``Wrapper``: the base of a layer that wraps another (Keras 3's class) — the wrapped layer's
weights are the wrapper's, it is built with the wrapper, and the wrapper's config holds the
wrapped layer's, so a wrapper of one's own saves and loads like any layer."""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from .base import Layer, register
from .recurrent import _layer_config, _layer_from

__all__ = ["Wrapper"]


@register
class Wrapper(Layer):
    """Wrap ``layer``: subclass it and write ``call`` around ``self.layer`` (the default
    ``call`` is the wrapped layer's own).

    Args:
        layer: the layer to wrap (or its ``{"class_name", "config"}``).

    Example:
        >>> class Doubled(Wrapper):
        ...     def call(self, x):
        ...         return self.layer(x) * 2.0
        >>> Doubled(gn.layers.Dense(3))(np.ones((2, 4), "float32")).shape
        (2, 3)
    """

    def __init__(self, layer: Layer | dict[str, Any], **kwargs: Any) -> None:
        if not isinstance(layer, (Layer, dict)):
            raise ValueError(f"Layer {layer!r} supplied to Wrapper isn't a supported layer "
                             "type. Please ensure wrapped layer is a valid layer.")
        super().__init__(**kwargs)
        self.layer = _layer_from(layer)

    def build(self, input_shape: Any) -> None:
        if not self.layer.built:
            self.layer.build(input_shape)
            self.layer.built = True
        self.built = True

    def call(self, x: Tensor, training: bool = False) -> Any:
        return self.layer(x, training=training)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "layer": _layer_config(self.layer)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Wrapper:
        cfg = dict(config)
        return cls(_layer_from(cfg.pop("layer")), **cfg)
