"""``Lambda``: wrap a Python function written in the same script as a layer.

The function runs on tensors (use glassnet's ops, ``gn.ops`` / tensor operators, so
gradients flow). A model file never stores code, so saving a model that contains a
``Lambda`` is refused with an error that names the layer; rebuild the model in code and move
its weights with ``save_weights`` / ``load_weights`` instead.

Example:
    >>> double = Lambda(lambda x: x * 2.0)
    >>> double(np.ones((1, 2), "float32")).data
    array([[2., 2.]], dtype=float32)
"""

from __future__ import annotations

from collections.abc import Callable

from .base import Layer, register

__all__ = ["Lambda"]


@register
class Lambda(Layer):
    """Apply ``function(x, **arguments)`` as a layer (no weights).

    Args:
        function: a callable on one tensor (or a list, for list inputs).
        output_shape: optional output shape without the batch axis (otherwise traced).
        mask: unsupported (None only).
        arguments: extra keyword arguments passed to ``function``.

    Saving a model holding a ``Lambda`` raises ``ValueError`` naming the layer: glassnet
    model files never contain code.
    """

    def __init__(self, function: Callable, output_shape=None, mask=None,
                 arguments: dict | None = None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Layer '{self.name}': function must be callable. "
                            f"Received: {type(function).__name__}")
        if mask is not None:
            raise ValueError(f"Layer '{self.name}': mask is not supported. "
                             f"Received: mask={mask!r}")
        self.function = function
        self.arguments = dict(arguments or {})
        self._output_shape = None if output_shape is None else tuple(output_shape)

    def call(self, x, training=False):
        return self.function(x, **self.arguments)

    def compute_output_shape(self, input_shape):
        if self._output_shape is not None:
            return (input_shape[0],) + self._output_shape
        return super().compute_output_shape(input_shape)

    def get_config(self):
        fn = getattr(self.function, "__name__", type(self.function).__name__)
        raise ValueError(
            f"Layer '{self.name}' (Lambda wrapping {fn!r}) holds Python code, and glassnet "
            "model files never store or execute code. Replace the Lambda with a built-in "
            "layer, or rebuild the model in code and use model.save_weights / "
            "model.load_weights."
        )
